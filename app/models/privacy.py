"""Consent: the versioned texts read to young people and families, and who consented to what, when.

A consent record is never deleted while its person exists: a withdrawal sets
`withdrawn_at`/`withdrawn_by_id`, so the history shows what was valid when.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import UTCDateTime, utcnow
from app.models.user import User
from app.models.young_person import YoungPerson

CONSENT_KINDS: dict[str, object] = {
    "notice": _l("Informativa resa e consenso al trattamento dei dati"),
    "special_categories": _l("Consenso al trattamento di dati particolari (salute, disagio, violenza)"),
    "guardian": _l("Consenso del genitore o tutore (minori di 14 anni)"),
}

GIVEN_BY: dict[str, object] = {
    "self": _l("La persona interessata"),
    "guardian": _l("Il genitore o tutore"),
}


def _in_list(column: str, values) -> str:
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


class ConsentText(db.Model):
    """One version of the privacy notice and consent wording read or given to the person."""

    __tablename__ = "consent_texts"
    __table_args__ = (sa.CheckConstraint("version <> ''", name="version_given"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(sa.String(20), unique=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text)
    effective_from: Mapped[date] = mapped_column(sa.Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<ConsentText {self.version}>"


class ConsentRecord(db.Model):
    """One consent given for a young person (by them or their guardian), on one text version."""

    __tablename__ = "consent_records"
    __table_args__ = (
        sa.CheckConstraint(_in_list("kind", CONSENT_KINDS), name="kind_known"),
        sa.CheckConstraint(_in_list("given_by", GIVEN_BY), name="given_by_known"),
        sa.CheckConstraint("withdrawn_at IS NULL OR withdrawn_at >= given_at", name="withdrawn_after_given"),
        sa.Index("ix_consent_records_person", "young_person_id", "given_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    young_person_id: Mapped[int] = mapped_column(sa.ForeignKey("young_people.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(24))
    text_version: Mapped[str] = mapped_column(sa.ForeignKey("consent_texts.version", ondelete="RESTRICT"))
    given_by: Mapped[str] = mapped_column(sa.String(16), default="self")
    # The guardian's name when a guardian gave it (cleared by erasure).
    given_by_name: Mapped[str] = mapped_column(sa.String(120), default="")
    collected_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    given_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))

    young_person: Mapped[YoungPerson] = relationship()
    text: Mapped[ConsentText] = relationship(foreign_keys=[text_version], primaryjoin=text_version == ConsentText.version)
    collected_by: Mapped[User | None] = relationship(foreign_keys=[collected_by_id])
    withdrawn_by: Mapped[User | None] = relationship(foreign_keys=[withdrawn_by_id])

    @property
    def is_active(self) -> bool:
        return self.withdrawn_at is None

    @property
    def kind_label(self):
        return CONSENT_KINDS.get(self.kind, self.kind)

    @property
    def given_by_label(self):
        return GIVEN_BY.get(self.given_by, self.given_by)

    def __repr__(self) -> str:
        return f"<ConsentRecord {self.id} {self.kind}>"
