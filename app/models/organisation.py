"""Partner organisations of the network (municipalities, associations, …)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.base import UTCDateTime, utcnow


class OrganisationKind:
    """The kinds of partner the programme knows."""

    MUNICIPALITY = "municipality"
    ASSOCIATION = "association"
    FOUNDATION = "foundation"
    METROPOLITAN_AUTHORITY = "metropolitan_authority"
    DISTRICT_OFFICE = "district_office"

    ALL = (MUNICIPALITY, ASSOCIATION, FOUNDATION, METROPOLITAN_AUTHORITY, DISTRICT_OFFICE)


class Organisation(db.Model):
    """A partner of the network: a town hall, a non-profit or a public authority."""

    __tablename__ = "organisations"
    __table_args__ = (
        sa.CheckConstraint(
            "kind IN ('municipality', 'association', 'foundation', "
            "'metropolitan_authority', 'district_office')",
            name="kind_known",
        ),
        sa.CheckConstraint(
            "istat_code IS NULL OR kind = 'municipality'", name="istat_only_for_towns"
        ),
        # Patron-saint day (a local holiday): month and day both set or both empty.
        sa.CheckConstraint(
            "(patron_month IS NULL) = (patron_day IS NULL)", name="patron_day_complete"
        ),
        sa.CheckConstraint(
            "patron_month IS NULL OR (patron_month BETWEEN 1 AND 12 AND patron_day BETWEEN 1 AND 31)",
            name="patron_day_range",
        ),
        sa.CheckConstraint(
            "patron_month IS NULL OR kind = 'municipality'", name="patron_only_for_towns"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(160), unique=True)
    short_name: Mapped[str] = mapped_column(sa.String(60))
    kind: Mapped[str] = mapped_column(sa.String(32), index=True)
    istat_code: Mapped[str | None] = mapped_column(sa.String(6), unique=True)
    role_in_programme: Mapped[str] = mapped_column(sa.String(200), default="")
    address: Mapped[str] = mapped_column(sa.String(200), default="")
    email: Mapped[str] = mapped_column(sa.String(254), default="")
    phone: Mapped[str] = mapped_column(sa.String(40), default="")
    website: Mapped[str] = mapped_column(sa.String(200), default="")
    is_lead: Mapped[bool] = mapped_column(default=False)
    # Municipalities only; left empty unless the town confirms it (never guessed).
    patron_saint: Mapped[str | None] = mapped_column(sa.String(80))
    patron_month: Mapped[int | None] = mapped_column(sa.SmallInteger)
    patron_day: Mapped[int | None] = mapped_column(sa.SmallInteger)
    active: Mapped[bool] = mapped_column(default=True)
    # Optimistic concurrency: a form opened on an older version is refused (409), never saved over a newer one.
    version: Mapped[int] = mapped_column(default=1, server_default=sa.text("1"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __mapper_args__ = {"version_id_col": version}

    @property
    def is_municipality(self) -> bool:
        return self.kind == OrganisationKind.MUNICIPALITY

    def __repr__(self) -> str:
        return f"<Organisation {self.short_name}>"
