"""Helpdesk tickets: requests from young people, families and schools, tracked until they become bookings."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.appointment import Appointment
from app.models.base import UTCDateTime, utcnow
from app.models.desk import Desk
from app.models.organisation import Organisation
from app.models.user import User
from app.models.young_person import YoungPerson


class TicketStatus:
    """Lifecycle of a request: new → in progress → waiting for the young person → booked → closed."""

    NEW = "new"
    IN_PROGRESS = "in_progress"
    WAITING = "waiting"
    BOOKED = "booked"
    CLOSED = "closed"
    ALL = (NEW, IN_PROGRESS, WAITING, BOOKED, CLOSED)
    OPEN = (NEW, IN_PROGRESS, WAITING)


TICKET_STATUSES: dict[str, object] = {
    TicketStatus.NEW: _l("Nuova"),
    TicketStatus.IN_PROGRESS: _l("In lavorazione"),
    TicketStatus.WAITING: _l("In attesa della persona"),
    TicketStatus.BOOKED: _l("Prenotata"),
    TicketStatus.CLOSED: _l("Chiusa"),
}

# How the request reached the programme.
TICKET_CHANNELS: dict[str, object] = {
    "web": _l("Modulo online"),
    "telefono": _l("Telefono"),
    "sportello": _l("Di persona allo sportello"),
    "email": _l("E-mail"),
    "scuola": _l("Segnalazione della scuola"),
}

# Why a ticket was closed (required when closed).
TICKET_OUTCOMES: dict[str, object] = {
    "prenotato": _l("Prenotato un appuntamento"),
    "risolto": _l("Risolta senza appuntamento"),
    "inviato_altro_servizio": _l("Inviata ad altro servizio"),
    "non_raggiungibile": _l("Persona non raggiungibile"),
    "rinuncia": _l("La persona ha rinunciato"),
    "duplicato": _l("Richiesta doppia"),
}

# Topics: the desk services catalogue plus "something else".
OTHER_TOPIC = "altro"

PRIORITIES: dict[str, object] = {"normal": _l("Normale"), "urgent": _l("Urgente")}


def _in_list(column: str, values) -> str:
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


ticket_appointments = sa.Table(
    "ticket_appointments",
    db.metadata,
    sa.Column("ticket_id", sa.ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("appointment_id", sa.ForeignKey("appointments.id", ondelete="CASCADE"), primary_key=True,
              index=True),
)


class Ticket(db.Model):
    """A request for help: who (minimum data), how to reach them, what about, and where it is in the queue."""

    __tablename__ = "tickets"
    __table_args__ = (
        sa.CheckConstraint(_in_list("status", TicketStatus.ALL), name="status_known"),
        sa.CheckConstraint(_in_list("channel", TICKET_CHANNELS), name="channel_known"),
        sa.CheckConstraint(_in_list("priority", PRIORITIES), name="priority_known"),
        sa.CheckConstraint("phone <> '' OR email <> ''", name="contact_given"),
        # A closed ticket says how it ended; an open one has no outcome yet.
        sa.CheckConstraint("(status = 'closed') = (outcome IS NOT NULL)", name="outcome_when_closed"),
        sa.CheckConstraint("age IS NULL OR (age BETWEEN 5 AND 99)", name="age_range"),
        sa.Index("ix_tickets_queue", "status", "priority", "received_at"),
        # "Does this desk have a ticket I can see": the queue's desk filter (migration 0012).
        sa.Index("ix_tickets_desk_assignee", "desk_id", "assignee_id"),
        # The queue's search, ILIKE '%text%' on number and contacts: pg_trgm, PostgreSQL only (0012) ...
        *(sa.Index(f"ix_tickets_{column}_trgm", column, postgresql_using="gin",
                   postgresql_ops={column: "gin_trgm_ops"}).ddl_if(dialect="postgresql")
          for column in ("reference", "email", "phone")),
        # ... and the name without case or accents, hub_fold(first_name) LIKE '%word%' (0019, 0020).
        sa.Index("ix_tickets_first_name_folded_trgm", sa.func.hub_fold(sa.literal_column("first_name"))
                 .label("first_name"), postgresql_using="gin",
                 postgresql_ops={"first_name": "gin_trgm_ops"}).ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # RIC-<year>-<6 digits>, derived from the id once it is known.
    reference: Mapped[str] = mapped_column(sa.String(20), unique=True)
    channel: Mapped[str] = mapped_column(sa.String(16), default="web")
    status: Mapped[str] = mapped_column(sa.String(16), default=TicketStatus.NEW)
    outcome: Mapped[str | None] = mapped_column(sa.String(32))
    priority: Mapped[str] = mapped_column(sa.String(8), default="normal")
    first_name: Mapped[str] = mapped_column(sa.String(80))
    age: Mapped[int | None] = mapped_column(sa.SmallInteger)
    town_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisations.id", ondelete="RESTRICT"), index=True)
    town_other: Mapped[str] = mapped_column(sa.String(80), default="")
    phone: Mapped[str] = mapped_column(sa.String(40), default="")
    email: Mapped[str] = mapped_column(sa.String(254), default="")
    topic: Mapped[str] = mapped_column(sa.String(32))
    preferred_times: Mapped[str] = mapped_column(sa.String(200), default="")
    preferred_from: Mapped[date | None] = mapped_column(sa.Date)  # "available from" (local date)
    message: Mapped[str] = mapped_column(sa.Text, default="")
    referrer: Mapped[str] = mapped_column(sa.String(160), default="")  # the school, for a school referral
    guardian_name: Mapped[str] = mapped_column(sa.String(120), default="")
    guardian_contact: Mapped[str] = mapped_column(sa.String(160), default="")
    guardian_consent: Mapped[bool] = mapped_column(default=False)
    privacy_consent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    privacy_text_version: Mapped[str] = mapped_column(sa.String(20))
    # The queue the ticket is in: the preferred desk, else a desk of the town offering the topic.
    desk_id: Mapped[int | None] = mapped_column(sa.ForeignKey("desks.id", ondelete="SET NULL"), index=True)
    assignee_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    # False until the assignee opens the ticket: drives the badge and the digest.
    assignee_seen: Mapped[bool] = mapped_column(default=False)
    young_person_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("young_people.id", ondelete="SET NULL"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(default=1)

    town: Mapped[Organisation | None] = relationship(foreign_keys=[town_id])
    desk: Mapped[Desk | None] = relationship(foreign_keys=[desk_id])
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    young_person: Mapped[YoungPerson | None] = relationship(foreign_keys=[young_person_id])
    comments: Mapped[list[TicketComment]] = relationship(
        back_populates="ticket", cascade="all, delete-orphan", order_by="TicketComment.id")
    appointments: Mapped[list[Appointment]] = relationship(secondary=ticket_appointments,
                                                           order_by="Appointment.starts_at")

    __mapper_args__ = {"version_id_col": version}

    @property
    def is_open(self) -> bool:
        return self.status in TicketStatus.OPEN

    @property
    def is_urgent(self) -> bool:
        return self.priority == "urgent"

    @property
    def town_name(self) -> str:
        return self.town.short_name if self.town else self.town_other

    def __repr__(self) -> str:
        return f"<Ticket {self.reference}>"


class TicketComment(db.Model):
    """An internal comment on a ticket (staff only, never sent to the young person)."""

    __tablename__ = "ticket_comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    ticket: Mapped[Ticket] = relationship(back_populates="comments")
    author: Mapped[User | None] = relationship()


def format_reference(year: int, number: int) -> str:
    """The reference given to the person, e.g. RIC-2026-000123."""
    return f"RIC-{year}-{number:06d}"
