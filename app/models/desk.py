"""Desks (sportelli), their opening hours and exceptions, tutor availability, feed tokens.

Rules that protect data are in the schema (checks, foreign keys, and on PostgreSQL
exclusion constraints so two schedules of one desk never overlap); the services in
`app/desks/services.py` check the same rules first to give a clear Italian message.
"""

from __future__ import annotations

from datetime import date, datetime, time

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import UTCDateTime, utcnow
from app.models.organisation import Organisation
from app.models.user import User

# Fixed catalogue of the services a desk can offer: code -> label (interface language).
DESK_SERVICES: dict[str, object] = {
    "orientamento": _l("Orientamento"),
    "cv_lavoro": _l("CV e ricerca del lavoro"),
    "scelte_studio": _l("Scelte di studio"),
    "ascolto": _l("Ascolto e disagio giovanile"),
    "violenza_genere": _l("Sostegno contro la violenza di genere"),
    "peer_to_peer": _l("Peer-to-peer"),
}

# Kinds of tutor absence: code -> label.
ABSENCE_KINDS: dict[str, object] = {
    "ferie": _l("Ferie"),
    "malattia": _l("Malattia"),
    "altro": _l("Altro"),
}


class ClosureScope:
    """What a closure covers."""

    DESK = "desk"
    MUNICIPALITY = "municipality"
    ALL = "all"


class FeedScope:
    """What a calendar feed covers."""

    DESK = "desk"
    MUNICIPALITY = "municipality"


def _in_list(column: str, values) -> str:
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


desk_operators = sa.Table(
    "desk_operators",
    db.metadata,
    sa.Column("desk_id", sa.ForeignKey("desks.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True),
)

desk_tutors = sa.Table(
    "desk_tutors",
    db.metadata,
    sa.Column("desk_id", sa.ForeignKey("desks.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Desk(db.Model):
    """A desk (sportello) in a municipality, run by a partner organisation."""

    __tablename__ = "desks"
    __table_args__ = (
        sa.CheckConstraint("rooms >= 1", name="rooms_positive"),
        sa.CheckConstraint("slot_minutes > 0", name="slot_positive"),
        sa.CheckConstraint("buffer_minutes >= 0", name="buffer_not_negative"),
        sa.CheckConstraint("min_notice_minutes >= 0", name="notice_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(160), unique=True)
    municipality_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organisations.id", ondelete="RESTRICT"), index=True
    )
    partner_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id", ondelete="RESTRICT"), index=True)
    address: Mapped[str] = mapped_column(sa.String(200), default="")
    rooms: Mapped[int] = mapped_column(default=1)
    phone: Mapped[str] = mapped_column(sa.String(40), default="")
    email: Mapped[str] = mapped_column(sa.String(254), default="")
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    active: Mapped[bool] = mapped_column(default=True)
    slot_minutes: Mapped[int] = mapped_column(default=45)
    buffer_minutes: Mapped[int] = mapped_column(default=15)
    min_notice_minutes: Mapped[int] = mapped_column(default=120)
    # Optimistic concurrency: a form opened on an older version is refused (409), never saved over a newer one.
    version: Mapped[int] = mapped_column(default=1, server_default=sa.text("1"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __mapper_args__ = {"version_id_col": version}

    municipality: Mapped[Organisation] = relationship(foreign_keys=[municipality_id], lazy="joined")
    partner: Mapped[Organisation] = relationship(foreign_keys=[partner_id], lazy="joined")
    service_rows: Mapped[list[DeskService]] = relationship(
        cascade="all, delete-orphan", order_by="DeskService.service", lazy="selectin"
    )
    operators: Mapped[list[User]] = relationship(secondary=desk_operators, order_by=User.full_name)
    tutors: Mapped[list[User]] = relationship(secondary=desk_tutors, order_by=User.full_name)
    schedules: Mapped[list[OpeningSchedule]] = relationship(
        back_populates="desk", cascade="all, delete-orphan", order_by="OpeningSchedule.valid_from"
    )

    @property
    def services(self) -> list[str]:
        """Codes of the services offered, in catalogue order."""
        codes = {row.service for row in self.service_rows}
        return [code for code in DESK_SERVICES if code in codes]

    @services.setter
    def services(self, codes) -> None:
        wanted = set(codes)
        self.service_rows = [row for row in self.service_rows if row.service in wanted]
        have = {row.service for row in self.service_rows}
        for code in DESK_SERVICES:
            if code in wanted and code not in have:
                self.service_rows.append(DeskService(service=code))

    def __repr__(self) -> str:
        return f"<Desk {self.id} {self.name}>"


class DeskService(db.Model):
    """A service from the fixed catalogue offered at a desk."""

    __tablename__ = "desk_services"
    __table_args__ = (sa.CheckConstraint(_in_list("service", DESK_SERVICES), name="service_known"),)

    desk_id: Mapped[int] = mapped_column(sa.ForeignKey("desks.id", ondelete="CASCADE"), primary_key=True)
    service: Mapped[str] = mapped_column(sa.String(32), primary_key=True)


class OpeningSchedule(db.Model):
    """Weekly opening hours of a desk, valid from a date to a date (open-ended when None)."""

    __tablename__ = "opening_schedules"
    __table_args__ = (
        sa.CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="valid_range"),
        sa.Index("ix_opening_schedules_desk_from", "desk_id", "valid_from"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    desk_id: Mapped[int] = mapped_column(sa.ForeignKey("desks.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(sa.String(100))
    valid_from: Mapped[date] = mapped_column(sa.Date)
    valid_to: Mapped[date | None] = mapped_column(sa.Date)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    desk: Mapped[Desk] = relationship(back_populates="schedules")
    intervals: Mapped[list[ScheduleInterval]] = relationship(
        back_populates="schedule", cascade="all, delete-orphan",
        order_by="(ScheduleInterval.weekday, ScheduleInterval.start)", lazy="selectin",
    )
    created_by: Mapped[User | None] = relationship()


class ScheduleInterval(db.Model):
    """One opening interval of a schedule: a weekday (0 = Monday), start and end (local time)."""

    __tablename__ = "schedule_intervals"
    __table_args__ = (
        sa.CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
        sa.CheckConstraint('"end" > start', name="end_after_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    schedule_id: Mapped[int] = mapped_column(
        sa.ForeignKey("opening_schedules.id", ondelete="CASCADE"), index=True
    )
    weekday: Mapped[int] = mapped_column(sa.SmallInteger)
    start: Mapped[time] = mapped_column(sa.Time)
    end: Mapped[time] = mapped_column(sa.Time)

    schedule: Mapped[OpeningSchedule] = relationship(back_populates="intervals")


class Closure(db.Model):
    """A closure of one desk, every desk of a town, or every desk, with a reason for staff."""

    __tablename__ = "closures"
    __table_args__ = (
        sa.CheckConstraint("scope IN ('desk', 'municipality', 'all')", name="scope_known"),
        sa.CheckConstraint(
            "(scope = 'desk' AND desk_id IS NOT NULL AND municipality_id IS NULL)"
            " OR (scope = 'municipality' AND municipality_id IS NOT NULL AND desk_id IS NULL)"
            " OR (scope = 'all' AND desk_id IS NULL AND municipality_id IS NULL)",
            name="scope_target",
        ),
        sa.CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        sa.Index("ix_closures_period", "starts_at", "ends_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(sa.String(16))
    desk_id: Mapped[int | None] = mapped_column(sa.ForeignKey("desks.id", ondelete="CASCADE"), index=True)
    municipality_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(sa.String(200), default="")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    desk: Mapped[Desk | None] = relationship()
    municipality: Mapped[Organisation | None] = relationship()
    created_by: Mapped[User | None] = relationship()


class ExtraOpening(db.Model):
    """An opening of a desk on a given date outside its weekly hours (local time)."""

    __tablename__ = "extra_openings"
    __table_args__ = (
        sa.CheckConstraint('"end" > start', name="end_after_start"),
        sa.Index("ix_extra_openings_desk_day", "desk_id", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    desk_id: Mapped[int] = mapped_column(sa.ForeignKey("desks.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(sa.Date)
    start: Mapped[time] = mapped_column(sa.Time)
    end: Mapped[time] = mapped_column(sa.Time)
    note: Mapped[str] = mapped_column(sa.String(200), default="")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    desk: Mapped[Desk] = relationship()


class TutorAvailability(db.Model):
    """When a tutor works at a desk: weekly intervals valid from/to a date."""

    __tablename__ = "tutor_availabilities"
    __table_args__ = (
        sa.CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="valid_range"),
        sa.Index("ix_tutor_availabilities_tutor_desk", "tutor_id", "desk_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tutor_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    desk_id: Mapped[int] = mapped_column(sa.ForeignKey("desks.id", ondelete="CASCADE"), index=True)
    valid_from: Mapped[date] = mapped_column(sa.Date)
    valid_to: Mapped[date | None] = mapped_column(sa.Date)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    tutor: Mapped[User] = relationship(foreign_keys=[tutor_id])
    desk: Mapped[Desk] = relationship()
    intervals: Mapped[list[AvailabilityInterval]] = relationship(
        back_populates="availability", cascade="all, delete-orphan",
        order_by="(AvailabilityInterval.weekday, AvailabilityInterval.start)", lazy="selectin",
    )


class AvailabilityInterval(db.Model):
    """One weekly interval of a tutor's availability (0 = Monday, local time)."""

    __tablename__ = "availability_intervals"
    __table_args__ = (
        sa.CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
        sa.CheckConstraint('"end" > start', name="end_after_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    availability_id: Mapped[int] = mapped_column(
        sa.ForeignKey("tutor_availabilities.id", ondelete="CASCADE"), index=True
    )
    weekday: Mapped[int] = mapped_column(sa.SmallInteger)
    start: Mapped[time] = mapped_column(sa.Time)
    end: Mapped[time] = mapped_column(sa.Time)

    availability: Mapped[TutorAvailability] = relationship(back_populates="intervals")


class TutorAbsence(db.Model):
    """A tutor is away (holiday, sick leave, other) between two instants."""

    __tablename__ = "tutor_absences"
    __table_args__ = (
        sa.CheckConstraint(_in_list("kind", ABSENCE_KINDS), name="kind_known"),
        sa.CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        sa.Index("ix_tutor_absences_tutor_period", "tutor_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tutor_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(sa.String(16))
    note: Mapped[str] = mapped_column(sa.String(200), default="")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    tutor: Mapped[User] = relationship(foreign_keys=[tutor_id])


class FeedToken(db.Model):
    """A secret for a calendar feed of a desk or a town; only its sha256 is stored."""

    __tablename__ = "feed_tokens"
    __table_args__ = (
        sa.CheckConstraint("scope IN ('desk', 'municipality')", name="scope_known"),
        sa.CheckConstraint(
            "(scope = 'desk' AND desk_id IS NOT NULL AND municipality_id IS NULL)"
            " OR (scope = 'municipality' AND municipality_id IS NOT NULL AND desk_id IS NULL)",
            name="scope_target",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(sa.String(16))
    desk_id: Mapped[int | None] = mapped_column(sa.ForeignKey("desks.id", ondelete="CASCADE"), index=True)
    municipality_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    desk: Mapped[Desk | None] = relationship()
    municipality: Mapped[Organisation | None] = relationship()
