"""Session notes: one per attended appointment, a draft until finalised, then locked forever.

The lock is in the schema (migration 0006): on both databases triggers refuse any change
of a final note's content columns, any change of the outcomes of a final note, and any
UPDATE or DELETE of addenda and archived PDF versions. Corrections are new addenda.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.appointment import Appointment
from app.models.base import UTCDateTime, utcnow
from app.models.user import User
from app.models.young_person import YoungPerson

# The programme's eight outcomes (BRIEF, "Outcomes"), by number.
OUTCOMES: dict[int, object] = {
    1: _l("Consapevolezza dei propri talenti, potenzialità e punti deboli"),
    2: _l("Superare l'incertezza nelle decisioni (aspettative e paure sul futuro)"),
    3: _l("Ridurre gli effetti nascosti degli stereotipi di genere sulle scelte di studio e lavoro"),
    4: _l("Conoscenza dei percorsi di studio e delle professioni possibili e desiderabili"),
    5: _l("Competenze per la ricerca attiva del lavoro e l'autoimprenditorialità"),
    6: _l("Conoscenza ed esperienza del mondo del lavoro (regole, colleghi, gerarchia, tempi, compiti)"),
    7: _l("Individuare, sostenere e accompagnare le fragilità aggravate dalla pandemia"),
    8: _l("Interventi sovracomunali per un sistema condiviso nel distretto"),
}

# The short progress mark of each outcome worked on.
PROGRESS: dict[str, object] = {
    "avviato": _l("Avviato"),
    "in_corso": _l("In corso"),
    "raggiunto": _l("Raggiunto"),
}

REFERRALS: dict[str, object] = {
    "centro_impiego": _l("Centro per l'impiego"),
    "scuola": _l("Scuola"),
    "consultorio": _l("Consultorio"),
    "centro_antiviolenza": _l("Centro antiviolenza"),
    "servizi_sociali": _l("Servizi sociali"),
    "altro": _l("Altro"),
}


class NoteStatus:
    """A note is a draft while the tutor writes it, final (locked) once finalised."""

    DRAFT = "draft"
    FINAL = "final"
    ALL = (DRAFT, FINAL)


# Columns a final note may never change (the database triggers list the same ones).
LOCKED_COLUMNS = (
    "appointment_id", "author_id", "young_person_id", "status", "topics", "summary", "agreements",
    "referrals", "referral_other", "needs_attention", "revision", "finalised_at", "finalised_by_id",
    "content_hash", "created_at",
)


# A final note flagged for attention that no coordinator has marked as seen yet.
OPEN_ATTENTION = "needs_attention AND status = 'final' AND attention_seen_at IS NULL"


def _in_list(column: str, values) -> str:
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


class Note(db.Model):
    """The tutor's structured note on one appointment."""

    __tablename__ = "notes"
    __table_args__ = (
        sa.CheckConstraint(_in_list("status", NoteStatus.ALL), name="status_known"),
        sa.CheckConstraint(
            "(status = 'final') = (finalised_at IS NOT NULL AND content_hash IS NOT NULL)", name="final_complete"
        ),
        sa.CheckConstraint("revision >= 1", name="revision_positive"),
        sa.Index("ix_notes_person_status", "young_person_id", "status"),
        # Notes list (migration 0016): each author's notes newest session first, every note the same way
        # (break-glass list), and the open attention flags.
        sa.Index("ix_notes_author_session", "author_id", "session_starts_at", "id",
                 postgresql_include=["status", "young_person_id"]),
        sa.Index("ix_notes_session", "session_starts_at", "id"),
        sa.Index("ix_notes_attention_open", "session_starts_at", postgresql_where=sa.text(OPEN_ATTENTION),
                 sqlite_where=sa.text(OPEN_ATTENTION)),
        # Monitoring (migration 0013): the final notes of the period's sessions, read from the index alone.
        sa.Index("ix_notes_final_appointment", "appointment_id", postgresql_include=["id", "referrals"],
                 postgresql_where=sa.text("status = 'final'"), sqlite_where=sa.text("status = 'final'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_id: Mapped[int] = mapped_column(
        sa.ForeignKey("appointments.id", ondelete="RESTRICT"), unique=True
    )
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    # Copied from the appointment so reads can be scoped by young person without a join.
    young_person_id: Mapped[int] = mapped_column(sa.ForeignKey("young_people.id", ondelete="RESTRICT"))
    # The appointment's start, copied by database triggers (migration 0016) so the list walks one index.
    session_starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime, server_default=sa.FetchedValue(),
                                                               server_onupdate=sa.FetchedValue())
    status: Mapped[str] = mapped_column(sa.String(8), default=NoteStatus.DRAFT)
    topics: Mapped[str] = mapped_column(sa.Text, default="")
    summary: Mapped[str] = mapped_column(sa.Text, default="")
    agreements: Mapped[str] = mapped_column(sa.Text, default="")
    # Codes from REFERRALS, comma-separated in a fixed order.
    referrals: Mapped[str] = mapped_column(sa.String(200), default="")
    referral_other: Mapped[str] = mapped_column(sa.String(200), default="")
    needs_attention: Mapped[bool] = mapped_column(default=False)
    # Optimistic version: every save sends the revision it started from (compare-and-set).
    revision: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finalised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finalised_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"))
    content_hash: Mapped[str | None] = mapped_column(sa.String(64))
    # The coordinator's "presa visione" of a note flagged for attention (may change after finalising).
    attention_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    appointment: Mapped[Appointment] = relationship(lazy="joined")
    author: Mapped[User] = relationship(foreign_keys=[author_id], lazy="joined")
    young_person: Mapped[YoungPerson] = relationship(lazy="joined")
    outcomes: Mapped[list[NoteOutcome]] = relationship(
        back_populates="note", order_by="NoteOutcome.outcome", cascade="all, delete-orphan"
    )
    addenda: Mapped[list[NoteAddendum]] = relationship(back_populates="note", order_by="NoteAddendum.id")
    versions: Mapped[list[NoteVersion]] = relationship(back_populates="note", order_by="NoteVersion.number")

    @property
    def is_final(self) -> bool:
        return self.status == NoteStatus.FINAL

    @property
    def referral_codes(self) -> list[str]:
        return [c for c in self.referrals.split(",") if c]

    @property
    def referral_labels(self) -> list[str]:
        labels = [str(REFERRALS[c]) for c in self.referral_codes if c in REFERRALS and c != "altro"]
        if "altro" in self.referral_codes:
            labels.append(f"{REFERRALS['altro']}: {self.referral_other}" if self.referral_other else str(REFERRALS["altro"]))
        return labels

    @property
    def latest_version(self) -> NoteVersion | None:
        return self.versions[-1] if self.versions else None

    def __repr__(self) -> str:
        return f"<Note {self.id} {self.status}>"


class NoteOutcome(db.Model):
    """One of the eight outcomes a session worked on, with a short progress mark."""

    __tablename__ = "note_outcomes"
    __table_args__ = (
        sa.CheckConstraint("outcome BETWEEN 1 AND 8", name="outcome_known"),
        sa.CheckConstraint(_in_list("progress", PROGRESS), name="progress_known"),
    )

    note_id: Mapped[int] = mapped_column(sa.ForeignKey("notes.id", ondelete="CASCADE"), primary_key=True)
    outcome: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    progress: Mapped[str] = mapped_column(sa.String(16))

    note: Mapped[Note] = relationship(back_populates="outcomes")

    @property
    def label(self):
        return OUTCOMES[self.outcome]

    @property
    def progress_label(self):
        return PROGRESS[self.progress]


class NoteAddendum(db.Model):
    """A dated correction or addition to a final note (append-only)."""

    __tablename__ = "note_addenda"
    __table_args__ = (sa.CheckConstraint("text <> ''", name="text_given"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    note_id: Mapped[int] = mapped_column(sa.ForeignKey("notes.id", ondelete="RESTRICT"), index=True)
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    text: Mapped[str] = mapped_column(sa.Text)

    note: Mapped[Note] = relationship(back_populates="addenda")
    author: Mapped[User] = relationship(lazy="joined")


class NoteVersion(db.Model):
    """One archived PDF of a final note: version 1 at finalisation, one more per addendum (append-only)."""

    __tablename__ = "note_versions"
    __table_args__ = (
        sa.UniqueConstraint("note_id", "number", name="uq_note_versions_note_number"),
        sa.CheckConstraint("number >= 1", name="number_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    note_id: Mapped[int] = mapped_column(sa.ForeignKey("notes.id", ondelete="RESTRICT"), index=True)
    number: Mapped[int] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"))
    addenda_count: Mapped[int] = mapped_column(default=0)
    # SHA-256 of the note's canonical content plus its addenda at this version.
    content_hash: Mapped[str] = mapped_column(sa.String(64))
    # Path relative to ARCHIVE_DIR, and the SHA-256 of the archived bytes.
    pdf_path: Mapped[str] = mapped_column(sa.String(300))
    pdf_sha256: Mapped[str] = mapped_column(sa.String(64))
    pdf_size: Mapped[int] = mapped_column()
    pdf_variant: Mapped[str] = mapped_column(sa.String(16), default="")

    note: Mapped[Note] = relationship(back_populates="versions")
    created_by: Mapped[User] = relationship()
