"""Waiting lists, no-show recall tasks, private appointment links and tutor calendar feeds.

Secrets (link and feed tokens) are stored as their sha256 only; the token itself is
shown once (in the e-mail, or on the tutor's page right after issuing it).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import UTCDateTime, utcnow
from app.models.desk import DESK_SERVICES, Desk
from app.models.user import User
from app.models.young_person import YoungPerson


def _in_list(column: str, values) -> str:
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


WAITING_STATUSES: dict[str, object] = {
    "waiting": _l("In attesa"),
    "booked": _l("Prenotato"),
    "withdrawn": _l("Ritirato"),
}

RECALL_OUTCOMES: dict[str, object] = {
    "rebooked": _l("Nuovo appuntamento fissato"),
    "unreachable": _l("Non raggiungibile"),
    "declined": _l("Non desidera un nuovo appuntamento"),
    "other": _l("Altro"),
}


class WaitingEntry(db.Model):
    """A young person waiting for a slot of a service at a desk."""

    __tablename__ = "waiting_entries"
    __table_args__ = (
        sa.CheckConstraint(_in_list("status", WAITING_STATUSES), name="status_known"),
        sa.CheckConstraint(_in_list("service", DESK_SERVICES), name="service_known"),
        sa.CheckConstraint("(status = 'waiting') = (closed_at IS NULL)", name="closed_when_not_waiting"),
        # One open entry per person, desk and service.
        sa.Index("uq_waiting_open", "young_person_id", "desk_id", "service", unique=True,
                 postgresql_where=sa.text("status = 'waiting'"), sqlite_where=sa.text("status = 'waiting'")),
        sa.Index("ix_waiting_desk_status", "desk_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    young_person_id: Mapped[int] = mapped_column(sa.ForeignKey("young_people.id", ondelete="CASCADE"), index=True)
    desk_id: Mapped[int] = mapped_column(sa.ForeignKey("desks.id", ondelete="CASCADE"))
    service: Mapped[str] = mapped_column(sa.String(32))
    preferences: Mapped[str] = mapped_column(sa.String(300), default="")
    status: Mapped[str] = mapped_column(sa.String(16), default="waiting")
    # Set when a cancellation frees a slot of this desk and service: the operators call these first.
    slot_freed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    freed_starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))

    young_person: Mapped[YoungPerson] = relationship(lazy="joined")
    desk: Mapped[Desk] = relationship(lazy="joined")

    @property
    def status_label(self):
        return WAITING_STATUSES.get(self.status, self.status)

    @property
    def service_label(self):
        return DESK_SERVICES.get(self.service, self.service)


class RecallTask(db.Model):
    """After a no-show: call the young person back (for the operators of that desk)."""

    __tablename__ = "recall_tasks"
    __table_args__ = (
        sa.CheckConstraint("outcome IS NULL OR " + _in_list("outcome", RECALL_OUTCOMES), name="outcome_known"),
        sa.CheckConstraint("(closed_at IS NULL) = (outcome IS NULL)", name="closed_with_outcome"),
        sa.CheckConstraint("attempt >= 1", name="attempt_positive"),
        sa.Index("ix_recall_desk_open", "desk_id", "closed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # One task per missed appointment.
    appointment_id: Mapped[int] = mapped_column(sa.ForeignKey("appointments.id", ondelete="CASCADE"), unique=True)
    young_person_id: Mapped[int] = mapped_column(sa.ForeignKey("young_people.id", ondelete="CASCADE"), index=True)
    desk_id: Mapped[int] = mapped_column(sa.ForeignKey("desks.id", ondelete="CASCADE"))
    # How many no-shows this young person had, this one included.
    attempt: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    outcome: Mapped[str | None] = mapped_column(sa.String(16))
    outcome_note: Mapped[str] = mapped_column(sa.String(300), default="")
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))

    young_person: Mapped[YoungPerson] = relationship(lazy="joined")
    desk: Mapped[Desk] = relationship(lazy="joined")

    @property
    def outcome_label(self):
        return RECALL_OUTCOMES.get(self.outcome, self.outcome) if self.outcome else ""


class AppointmentLink(db.Model):
    """A private link for the young person to confirm or cancel one appointment, without an account."""

    __tablename__ = "appointment_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_id: Mapped[int] = mapped_column(sa.ForeignKey("appointments.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The appointment's end: afterwards the link answers "expired".
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TutorFeedToken(db.Model):
    """A tutor's private calendar feed of their appointments (initials and code only); revocable."""

    __tablename__ = "tutor_feed_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    tutor_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    tutor: Mapped[User] = relationship()
