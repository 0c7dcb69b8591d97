"""The young people's register: a pseudonymous code plus the minimum personal data (GDPR)."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import UTCDateTime, utcnow
from app.models.organisation import Organisation
from app.models.user import User

# Age of digital consent in Italy: below it a guardian's consent is always required.
DIGITAL_CONSENT_AGE = 14

GENDERS: dict[str, object] = {
    "F": _l("Femmina"),
    "M": _l("Maschio"),
    "altro": _l("Altro"),
    "nd": _l("Preferisce non dirlo"),
}

STUDY_WORK_STATUSES: dict[str, object] = {
    "studente": _l("Studente"),
    "lavora": _l("Lavora"),
    "neet": _l("Né studio né lavoro (NEET)"),
    "in_cerca": _l("In cerca di lavoro"),
    "altro": _l("Altro"),
}

CHANNELS: dict[str, object] = {
    "telefono": _l("Telefono"),
    "email": _l("E-mail"),
    "sms": _l("SMS"),
}

# Age bands used by monitoring; the upper bound is inclusive.
AGE_BANDS: tuple[tuple[str, int, int], ...] = (
    ("<14", 0, 13),
    ("14-17", 14, 17),
    ("18-24", 18, 24),
    ("25-35", 25, 35),
)


def _in_list(column: str, values) -> str:
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def age_on(birth_date: date, day: date) -> int:
    """Completed years on `day`."""
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def age_band(age: int) -> str:
    """The monitoring age band of an age ("oltre 35" outside the programme's range)."""
    for label, low, high in AGE_BANDS:
        if low <= age <= high:
            return label
    return ">35"


class YoungPerson(db.Model):
    """A young person followed by the programme, known to most screens by their code only."""

    __tablename__ = "young_people"
    __table_args__ = (
        sa.CheckConstraint(_in_list("gender", GENDERS), name="gender_known"),
        sa.CheckConstraint(_in_list("study_work_status", STUDY_WORK_STATUSES), name="status_known"),
        sa.CheckConstraint(_in_list("preferred_channel", CHANNELS), name="channel_known"),
        # A protected record is visible only to its tutor (and their coordinator): it needs one.
        sa.CheckConstraint("NOT protected OR tutor_id IS NOT NULL", name="protected_has_tutor"),
        sa.CheckConstraint(
            "residence_town_id IS NOT NULL OR residence_other <> ''", name="residence_given"
        ),
        sa.Index("ix_young_people_name", "last_name", "first_name"),
        sa.Index("ix_young_people_phone", "phone"),
        # Every search by a part of a name (the register, the privacy tools) ignores accents and case:
        # hub_fold(name) LIKE '%word%' (app/text.py), the function and these trigram indexes created by
        # migration 0019 (PostgreSQL only; 0020 dropped the unfolded ones of 0012).
        *(sa.Index(f"ix_young_people_{column}_folded_trgm", sa.func.hub_fold(sa.literal_column(column)).label(column),
                   postgresql_using="gin", postgresql_ops={column: "gin_trgm_ops"}).ddl_if(dialect="postgresql")
          for column in ("last_name", "first_name")),
        # Search by the start of a code (LIKE 'HDT-2026-00%') under any collation (migration 0012).
        sa.Index("ix_young_people_code_prefix", "code",
                 postgresql_ops={"code": "text_pattern_ops"}).ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # HDT-<year>-<6 digits>, derived from the id once it is known (see bookings/people services).
    code: Mapped[str] = mapped_column(sa.String(20), unique=True)
    first_name: Mapped[str] = mapped_column(sa.String(80))
    last_name: Mapped[str] = mapped_column(sa.String(80))
    birth_date: Mapped[date] = mapped_column(sa.Date)
    gender: Mapped[str] = mapped_column(sa.String(8))
    residence_town_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organisations.id", ondelete="RESTRICT"), index=True
    )
    residence_other: Mapped[str] = mapped_column(sa.String(80), default="")
    study_work_status: Mapped[str] = mapped_column(sa.String(16))
    school: Mapped[str] = mapped_column(sa.String(160), default="")
    phone: Mapped[str] = mapped_column(sa.String(40), default="")
    email: Mapped[str] = mapped_column(sa.String(254), default="")
    preferred_channel: Mapped[str] = mapped_column(sa.String(16), default="telefono")
    guardian_name: Mapped[str] = mapped_column(sa.String(120), default="")
    guardian_contact: Mapped[str] = mapped_column(sa.String(160), default="")
    guardian_consent: Mapped[bool] = mapped_column(default=False)
    privacy_consent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    privacy_text_version: Mapped[str] = mapped_column(sa.String(20))
    privacy_collected_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    protected: Mapped[bool] = mapped_column(default=False)
    # The tutor of record (required when protected).
    tutor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    registered_desk_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("desks.id", ondelete="SET NULL"), index=True
    )
    registered_org_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organisations.id", ondelete="RESTRICT"), index=True
    )
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(default=1)
    # Erasure (GDPR art. 17, or the retention job): identity anonymised, the row kept for aggregates.
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    erased_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    erasure_reason: Mapped[str] = mapped_column(sa.String(300), default="", server_default="")

    residence_town: Mapped[Organisation | None] = relationship(foreign_keys=[residence_town_id])
    registered_org: Mapped[Organisation] = relationship(foreign_keys=[registered_org_id])
    tutor: Mapped[User | None] = relationship(foreign_keys=[tutor_id])
    privacy_collected_by: Mapped[User | None] = relationship(foreign_keys=[privacy_collected_by_id])

    __mapper_args__ = {"version_id_col": version}

    @property
    def is_erased(self) -> bool:
        return self.erased_at is not None

    @hybrid_property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @full_name.inplace.expression
    @classmethod
    def _full_name_expression(cls) -> sa.ColumnElement[str]:
        """The same name in SQL, for lists that read columns instead of whole records."""
        return (cls.first_name + " " + cls.last_name).label("full_name")

    def age(self, today: date) -> int:
        """Completed years on `today`."""
        return age_on(self.birth_date, today)

    def age_band(self, today: date) -> str:
        """The monitoring age band on `today`."""
        return age_band(self.age(today))

    @property
    def town_name(self) -> str:
        return self.residence_town.short_name if self.residence_town else self.residence_other

    def __repr__(self) -> str:
        return f"<YoungPerson {self.code}>"


def format_code(year: int, number: int) -> str:
    """The pseudonymous code, e.g. HDT-2026-000123."""
    return f"HDT-{year}-{number:06d}"
