"""Individual tutoring appointments and their append-only history.

The rules that keep the agenda sound are in the schema: on PostgreSQL two exclusion
constraints (migration 0003) forbid overlapping *active* appointments of one tutor or
one young person; on both databases the booking services run inside serialised write
transactions (`app.database.serialised_write`) and re-check overlaps and rooms there.
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


class Status:
    """Lifecycle: booked → confirmed → attended / no_show; cancelled from booked or confirmed."""

    BOOKED = "booked"
    CONFIRMED = "confirmed"
    ATTENDED = "attended"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"

    ALL = (BOOKED, CONFIRMED, ATTENDED, NO_SHOW, CANCELLED)
    # Appointments that occupy the tutor, the young person and a room.
    ACTIVE = (BOOKED, CONFIRMED, ATTENDED)


STATUS_LABELS: dict[str, object] = {
    Status.BOOKED: _l("Prenotato"),
    Status.CONFIRMED: _l("Confermato"),
    Status.ATTENDED: _l("Svolto"),
    Status.NO_SHOW: _l("Assente"),
    Status.CANCELLED: _l("Annullato"),
}

MODES: dict[str, object] = {
    "presenza": _l("In presenza"),
    "telefono": _l("Telefono"),
    "video": _l("Videochiamata"),
}

CANCELLED_BY: dict[str, object] = {
    "young_person": _l("La persona giovane"),
    "desk": _l("Lo sportello"),
    "tutor": _l("Il tutor"),
}

EVENT_KINDS = ("created", "confirmed", "attended", "no_show", "cancelled", "rescheduled", "updated")

# SQL condition shared by the exclusion constraints and the overlap queries.
ACTIVE_SQL = "status IN ('booked', 'confirmed', 'attended')"


def _in_list(column: str, values) -> str:
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


class Appointment(db.Model):
    """One session of a young person with a tutor at a desk."""

    __tablename__ = "appointments"
    __table_args__ = (
        sa.CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        sa.CheckConstraint(_in_list("status", Status.ALL), name="status_known"),
        sa.CheckConstraint(_in_list("mode", MODES), name="mode_known"),
        sa.CheckConstraint(_in_list("service", DESK_SERVICES), name="service_known"),
        sa.CheckConstraint(
            "cancelled_by_kind IS NULL OR " + _in_list("cancelled_by_kind", CANCELLED_BY), name="cancelled_by_known"
        ),
        sa.CheckConstraint(
            "(status = 'cancelled') = (cancelled_at IS NOT NULL AND cancelled_by_kind IS NOT NULL)",
            name="cancel_complete",
        ),
        sa.CheckConstraint("sequence >= 0", name="sequence_not_negative"),
        # A reschedule keeps the calendar event: same UID, higher SEQUENCE.
        sa.UniqueConstraint("uid", "sequence", name="uq_appointments_uid_sequence"),
        sa.Index("ix_appointments_tutor_start", "tutor_id", "starts_at"),
        sa.Index("ix_appointments_person_start", "young_person_id", "starts_at"),
        sa.Index("ix_appointments_desk_start", "desk_id", "starts_at"),
        # Screens (migration 0011): what overlaps a window (ends after its start) at a desk or for a tutor,
        # with what the picker's busy time reads (migration 0022: index-only on PostgreSQL);
        # the young people a desk or a tutor has seen, and a tutor's desks (index-only scans).
        sa.Index("ix_appointments_desk_end", "desk_id", "ends_at",
                 postgresql_include=["starts_at", "status", "tutor_id", "young_person_id", "id"]),
        sa.Index("ix_appointments_tutor_end", "tutor_id", "ends_at",
                 postgresql_include=["starts_at", "status", "desk_id", "young_person_id", "id"]),
        sa.Index("ix_appointments_desk_person", "desk_id", "young_person_id"),
        sa.Index("ix_appointments_tutor_desk_person", "tutor_id", "desk_id", "young_person_id"),
        # Migration 0016: has this young person met this tutor (the scope checks, one probe per person shown).
        sa.Index("ix_appointments_person_tutor", "young_person_id", "tutor_id"),
        # Migration 0017: has this young person met this desk (the register's search, one probe per candidate).
        sa.Index("ix_appointments_person_desk", "young_person_id", "desk_id"),
        # Migration 0013: the monitoring report's period read index-only, and each person's first attended session.
        sa.Index("ix_appointments_start_cover", "starts_at",
                 postgresql_include=["status", "desk_id", "young_person_id", "tutor_id", "service", "ends_at", "id"]),
        sa.Index("ix_appointments_person_attended", "young_person_id", "starts_at",
                 postgresql_where=sa.text("status = 'attended'"), sqlite_where=sa.text("status = 'attended'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    desk_id: Mapped[int] = mapped_column(sa.ForeignKey("desks.id", ondelete="RESTRICT"))
    tutor_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"))
    young_person_id: Mapped[int] = mapped_column(sa.ForeignKey("young_people.id", ondelete="RESTRICT"))
    service: Mapped[str] = mapped_column(sa.String(32))
    mode: Mapped[str] = mapped_column(sa.String(16), default="presenza")
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(sa.String(16), default=Status.BOOKED, index=True)
    cancel_reason: Mapped[str] = mapped_column(sa.String(300), default="")
    cancelled_by_kind: Mapped[str | None] = mapped_column(sa.String(16))
    cancelled_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The appointment this one replaces (a reschedule); at most one successor each.
    # NO ACTION (checked at the end of the statement), not RESTRICT, so a whole chain can be erased at once.
    rescheduled_from_id: Mapped[int | None] = mapped_column(sa.ForeignKey("appointments.id"), unique=True)
    # Written reason when an admin books outside opening hours or tutor availability.
    override_reason: Mapped[str | None] = mapped_column(sa.Text)
    # iCalendar identity for messages: stable across reschedules, SEQUENCE grows with each change.
    uid: Mapped[str] = mapped_column(sa.String(120))  # looked up through uq_appointments_uid_sequence
    sequence: Mapped[int] = mapped_column(default=0)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    desk: Mapped[Desk] = relationship(lazy="joined")
    tutor: Mapped[User] = relationship(foreign_keys=[tutor_id], lazy="joined")
    young_person: Mapped[YoungPerson] = relationship(lazy="joined")
    rescheduled_from: Mapped[Appointment | None] = relationship(
        remote_side=[id], foreign_keys=[rescheduled_from_id], back_populates="rescheduled_to"
    )
    rescheduled_to: Mapped[Appointment | None] = relationship(
        foreign_keys=[rescheduled_from_id], back_populates="rescheduled_from", uselist=False
    )
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    cancelled_by: Mapped[User | None] = relationship(foreign_keys=[cancelled_by_id])
    events: Mapped[list[AppointmentEvent]] = relationship(
        back_populates="appointment", order_by="AppointmentEvent.id", passive_deletes=True
    )

    __mapper_args__ = {"version_id_col": version}

    @property
    def is_active(self) -> bool:
        return self.status in Status.ACTIVE

    @property
    def status_label(self):
        return STATUS_LABELS[self.status]

    @property
    def mode_label(self):
        return MODES.get(self.mode, self.mode)

    @property
    def service_label(self):
        return DESK_SERVICES.get(self.service, self.service)

    def __repr__(self) -> str:
        return f"<Appointment {self.id} {self.status}>"


class AppointmentEvent(db.Model):
    """One change to an appointment: who, when, what (append-only; updates refused by a trigger)."""

    __tablename__ = "appointment_events"
    __table_args__ = (sa.CheckConstraint(_in_list("kind", EVENT_KINDS), name="kind_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_id: Mapped[int] = mapped_column(
        sa.ForeignKey("appointments.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(sa.String(16))
    from_status: Mapped[str | None] = mapped_column(sa.String(16))
    to_status: Mapped[str | None] = mapped_column(sa.String(16))
    detail: Mapped[str] = mapped_column(sa.Text, default="")

    appointment: Mapped[Appointment] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()
