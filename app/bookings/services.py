"""Booking use cases: create, confirm, cancel, reschedule, attendance, weekly paths.

Every write runs inside `serialised_write()` and re-checks, inside that transaction,
what must never happen: two active appointments overlapping for one tutor or one young
person, more appointments at once than the desk has rooms, a time outside the desk's
opening hours or the tutor's availability (unless an admin writes an override reason).
On PostgreSQL the desk row is locked (`SELECT … FOR UPDATE`) before counting rooms and
exclusion constraints back up the overlap checks; on SQLite the transaction holds the
write lock from its first statement (BEGIN IMMEDIATE). A database refusal becomes a
`Conflict` (409) with an Italian message, a stale form too (optimistic versioning).
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError

from app import audit, policy
from app.bookings import messages, waiting
from app.database import serialised_write
from app.domain import availability as engine
from app.domain.errors import Conflict, Forbidden, Invalid, NotFound
from app.extensions import db
from app.models import (
    CANCELLED_BY,
    DESK_SERVICES,
    MODES,
    Appointment,
    AppointmentEvent,
    Desk,
    DeskService,
    Role,
    Status,
    User,
    YoungPerson,
)
from app.models.base import utcnow

ROME = ZoneInfo("Europe/Rome")
MAX_PATH_SESSIONS = 20


def stale_message() -> str:
    """The message for a form that lost a race with another change."""
    return _("L'appuntamento è stato modificato da un'altra persona. Ricarica la pagina e riprova.")


# --- Busy intervals (for the engine and the calendars) ---------------------------

def busy_intervals(desk_ids: Iterable[int] | None = None, tutor_ids: Iterable[int] | None = None,
                   young_person_ids: Iterable[int] | None = None, *, start: datetime, end: datetime,
                   exclude_ids: Iterable[int] = ()) -> list[engine.Busy]:
    """Active appointments overlapping [start, end) at these desks OR of these tutors OR of these young people.

    With no filter at all, every active appointment in the window.
    """
    query = sa.select(Appointment.starts_at, Appointment.ends_at, Appointment.desk_id, Appointment.tutor_id,
                      Appointment.young_person_id).where(
        Appointment.status.in_(Status.ACTIVE), Appointment.starts_at < end, Appointment.ends_at > start)
    filters = []
    if desk_ids is not None:
        filters.append(Appointment.desk_id.in_(list(desk_ids)))
    if tutor_ids is not None:
        filters.append(Appointment.tutor_id.in_(list(tutor_ids)))
    if young_person_ids is not None:
        filters.append(Appointment.young_person_id.in_(list(young_person_ids)))
    if filters:
        query = query.where(sa.or_(*filters))
    exclude = list(exclude_ids)
    if exclude:
        query = query.where(Appointment.id.not_in(exclude))
    return [engine.Busy(start=row.starts_at, end=row.ends_at, desk_id=row.desk_id, tutor_id=row.tutor_id,
                        young_person_id=row.young_person_id)
            for row in db.session.execute(query.order_by(Appointment.starts_at))]


# --- Slots for the picker ----------------------------------------------------------

def bookable_desks_offering(actor, service: str) -> list[Desk]:
    """The active desks where the actor books (offering `service` when one is chosen), by name, in one statement:
    the town is joined (a list shows it, the slots need its patron saint); the partner and the service rows
    are not read (the service is a condition here)."""
    query = (sa.select(Desk).options(sa.orm.lazyload(Desk.partner), sa.orm.lazyload(Desk.service_rows))
             .where(Desk.active.is_(True)))
    if service:
        query = query.where(sa.exists().where(DeskService.desk_id == Desk.id, DeskService.service == service))
    return list(db.session.scalars(policy.bookable_desks(query, actor).order_by(Desk.name)))


def free_slots(desk: Desk, start: date, end: date, *, tutor_id: int | None = None,
               young_person_id: int | None = None, now: datetime | None = None) -> list[engine.Slot]:
    """Bookable slots at a desk between two local dates (inclusive), across its tutors or for one."""
    from app.desks import services as desk_services

    now = now or utcnow()
    # The calendars and the busy time in one round trip (they are on every picker and every lost race).
    calendar, tutors, busy = desk_services.picker_inputs(desk, start, end, tutor_id=tutor_id,
                                                         young_person_id=young_person_id)
    return engine.bookable_slots(calendar, tutors, busy, start, end, desk_services.slot_rules(desk), now,
                                 tutor_id=tutor_id, young_person_id=young_person_id)


# --- Integrity checks (inside the write transaction) ------------------------------

def _overlapping(*conditions, starts_at: datetime, ends_at: datetime, exclude_ids: Iterable[int]) -> list:
    query = sa.select(Appointment.id, Appointment.starts_at, Appointment.ends_at).where(
        Appointment.status.in_(Status.ACTIVE), Appointment.starts_at < ends_at, Appointment.ends_at > starts_at,
        *conditions)
    exclude = list(exclude_ids)
    if exclude:
        query = query.where(Appointment.id.not_in(exclude))
    return list(db.session.execute(query))


def _max_concurrent(rows, starts_at: datetime, ends_at: datetime) -> int:
    """The most appointments running at once inside [starts_at, ends_at), the new one included."""
    events = [(starts_at, 1), (ends_at, -1)]
    for row in rows:
        events.append((max(row.starts_at, starts_at), 1))
        events.append((min(row.ends_at, ends_at), -1))
    events.sort(key=lambda e: (e[0], e[1]))  # an end before a start at the same instant
    count = peak = 0
    for _instant, change in events:
        count += change
        peak = max(peak, count)
    return peak


def _within_hours(desk: Desk, tutor: User, starts_at: datetime, ends_at: datetime) -> bool:
    """True when [starts_at, ends_at) lies inside the desk's open time and the tutor's availability there."""
    from app.desks import services as desk_services

    first, last = engine.local_date(starts_at), engine.local_date(ends_at - timedelta(microseconds=1))
    calendar = desk_services.desk_calendar(desk, first, last)
    tutors = [t for t in desk_services.tutor_calendars([desk.id], first, last) if t.tutor_id == tutor.id]
    if not tutors:
        return False
    rules = engine.SlotRules(length=ends_at - starts_at, buffer=timedelta(0), min_notice=timedelta(0),
                             step=timedelta(minutes=1))
    # Every minute-aligned slot of this length that the engine offers; ours must be one of them.
    slots = engine.bookable_slots(calendar, tutors, [], first, last, rules, starts_at - timedelta(days=1),
                                  tutor_id=tutor.id)
    return any(s.start <= starts_at and s.end >= ends_at for s in slots)


def _check_slot(desk: Desk, tutor: User, person: YoungPerson, starts_at: datetime, ends_at: datetime, *,
                override: bool, exclude_ids: Iterable[int] = ()) -> None:
    """Refuse the slot (Conflict) if it breaks a rule; must run inside serialised_write()."""
    exclude = list(exclude_ids)
    # PostgreSQL: one booking per desk at a time from here to commit (SQLite holds the write lock already).
    db.session.execute(sa.select(Desk.id).where(Desk.id == desk.id).with_for_update())
    if _overlapping(Appointment.tutor_id == tutor.id, starts_at=starts_at, ends_at=ends_at, exclude_ids=exclude):
        raise Conflict(_("Il tutor ha già un appuntamento in questo orario. Scegli un altro orario."))
    if _overlapping(Appointment.young_person_id == person.id, starts_at=starts_at, ends_at=ends_at,
                    exclude_ids=exclude):
        raise Conflict(_("La persona ha già un appuntamento in questo orario. Scegli un altro orario."))
    at_desk = _overlapping(Appointment.desk_id == desk.id, starts_at=starts_at, ends_at=ends_at, exclude_ids=exclude)
    if at_desk and _max_concurrent(at_desk, starts_at, ends_at) > desk.rooms:
        raise Conflict(_("Tutte le stanze dello sportello sono occupate in questo orario. Scegli un altro orario."))
    if not override and not _within_hours(desk, tutor, starts_at, ends_at):
        raise Conflict(_("L'orario non rientra nell'apertura dello sportello o nella disponibilità del tutor. "
                         "Scegli un altro orario."))


def _database_refusal(error: Exception) -> Conflict:
    """Translate what the database refused into a 409 with an Italian message."""
    text = str(getattr(error, "orig", error))
    if "young_person_no_overlap" in text:
        return Conflict(_("La persona ha già un appuntamento in questo orario. Scegli un altro orario."))
    if "tutor_no_overlap" in text:
        return Conflict(_("Il tutor ha già un appuntamento in questo orario. Scegli un altro orario."))
    if isinstance(error, StaleDataError):
        return Conflict(stale_message())
    if isinstance(error, OperationalError):
        return Conflict(_("Il sistema è molto occupato in questo momento. Riprova tra qualche secondo."))
    return Conflict(_("L'orario è stato appena occupato da un'altra prenotazione. Scegli un altro orario."))


@contextmanager
def _write():
    """serialised_write() whose database refusals (exclusion, unique, stale version, lock timeout) become 409."""
    try:
        with serialised_write() as session:
            yield session
    except (IntegrityError, StaleDataError) as error:
        raise _database_refusal(error) from error
    except OperationalError as error:
        if "locked" in str(error) or "busy" in str(error):
            raise _database_refusal(error) from error
        raise


def _event(appointment: Appointment, actor, kind: str, from_status: str | None, to_status: str | None,
           detail: str = "") -> None:
    db.session.add(AppointmentEvent(appointment=appointment, actor_id=actor.id if actor else None, kind=kind,
                                    from_status=from_status, to_status=to_status, detail=detail[:2000]))
    if appointment.id is None:
        db.session.flush()
    # The tamper-evident log gets every change too (who, what, which statuses); no names, no reasons.
    audit.record("booking.changed", actor=actor, object_type="booking", object_id=appointment.id,
                 details={"change": kind, "from": from_status, "to": to_status, "desk_id": appointment.desk_id})


def _check_version(appointment: Appointment, expected_version: int | None) -> None:
    if expected_version is not None and appointment.version != expected_version:
        raise Conflict(stale_message())


# --- Create ------------------------------------------------------------------------

@dataclass
class BookingData:
    """What a booking form sends."""

    desk_id: int
    tutor_id: int
    young_person_id: int
    service: str
    starts_at: datetime
    mode: str = "presenza"
    ends_at: datetime | None = None  # default: the desk's slot length
    override_reason: str = ""


@dataclass
class _Resolved:
    desk: Desk
    tutor: User
    person: YoungPerson
    starts_at: datetime
    ends_at: datetime
    override: str | None


def _resolve(actor, data: BookingData) -> _Resolved:
    """Load and validate everything a booking refers to (policy first)."""
    desk = db.session.get(Desk, data.desk_id)
    tutor = db.session.get(User, data.tutor_id)
    # Locked (PostgreSQL) so an erasure committing meanwhile is seen: an erased person is never booked.
    person = db.session.get(YoungPerson, data.young_person_id, with_for_update=True, populate_existing=True)
    if desk is None or not desk.active:
        raise NotFound(_("Sportello non trovato."))
    if tutor is None or tutor.role != Role.TUTOR or not tutor.active:
        raise NotFound(_("Tutor non trovato."))
    if person is None or (person.protected and not policy.can_view_young_person(actor, person)):
        raise NotFound(_("Persona non trovata."))
    if person.erased_at is not None:
        raise Invalid(_("I dati di questa persona sono stati cancellati: non si può prenotare."))
    if not policy.can_book(actor, desk, tutor):
        raise Forbidden(_("Non puoi prenotare con questo tutor in questo sportello."))
    if not policy.can_view_young_person(actor, person):  # a made-up id would bring their record into scope
        raise NotFound(_("Persona non trovata."))
    if data.service not in DESK_SERVICES or data.service not in desk.services:
        raise Invalid(_("Lo sportello non offre questo servizio."), field="service")
    if data.mode not in MODES:
        raise Invalid(_("Modalità non valida."), field="mode")
    starts_at = data.starts_at
    if starts_at is None or starts_at.tzinfo is None:
        raise Invalid(_("Orario non valido."), field="slot")
    starts_at = starts_at.astimezone(UTC)
    ends_at = (data.ends_at.astimezone(UTC) if data.ends_at else starts_at + timedelta(minutes=desk.slot_minutes))
    if ends_at <= starts_at:
        raise Invalid(_("La fine deve essere dopo l'inizio."), field="slot")
    reason = (data.override_reason or "").strip()
    override = None
    if reason:
        if not policy.can_override_hours(actor):
            raise Forbidden(_("Solo l'Ufficio di Piano può prenotare fuori orario."))
        if len(reason) < 10:
            raise Invalid(_("Scrivi il motivo della deroga (almeno 10 caratteri)."), field="override_reason")
        override = reason[:2000]
    if override is None and starts_at < utcnow():
        raise Invalid(_("Non si può prenotare nel passato."), field="slot")
    if override is None and starts_at < utcnow() + timedelta(minutes=desk.min_notice_minutes):
        # The slot picker offers only slots with the desk's notice; a hand-made POST gets the same rule.
        raise Invalid(_("Lo sportello chiede almeno %(minutes)d minuti di preavviso: scegli un orario più avanti.",
                        minutes=desk.min_notice_minutes), field="slot")
    return _Resolved(desk, tutor, person, starts_at, ends_at, override)


def _new_appointment(actor, r: _Resolved, data: BookingData, *, uid: str | None = None, sequence: int = 0,
                     rescheduled_from: Appointment | None = None) -> Appointment:
    appointment = Appointment(
        desk_id=r.desk.id, tutor_id=r.tutor.id, young_person_id=r.person.id, service=data.service, mode=data.mode,
        starts_at=r.starts_at, ends_at=r.ends_at, status=Status.BOOKED, override_reason=r.override,
        uid=uid or new_uid(), sequence=sequence, created_by_id=actor.id,
        updated_by_id=actor.id, rescheduled_from_id=rescheduled_from.id if rescheduled_from else None,
    )
    db.session.add(appointment)
    return appointment


def new_uid() -> str:
    """A new appointment's calendar UID: a UUID version 7 (RFC 9562), whose first 48 bits are the time in ms.

    Consecutive bookings get neighbouring UIDs, so their entries in the (uid, sequence) unique index
    fill the same few pages; random UUIDs put each one on a random page of an index that grows with the
    years (migration 0021). The other 74 bits are random: a UID stays unguessable and unique.
    """
    value = (time.time_ns() // 1_000_000) << 80 | 0x7 << 76 | secrets.randbits(12) << 64 | 0b10 << 62 \
        | secrets.randbits(62)
    return f"{uuid.UUID(int=value)}@hub-dei-talenti"


def create_booking(actor, data: BookingData) -> Appointment:
    """Book a young person with a tutor at a desk; 409 when the slot was taken meanwhile."""
    with _write():
        r = _resolve(actor, data)
        _check_slot(r.desk, r.tutor, r.person, r.starts_at, r.ends_at, override=r.override is not None)
        appointment = _new_appointment(actor, r, data)
        db.session.flush()
        _event(appointment, actor, "created", None, Status.BOOKED,
               f"override: {r.override}" if r.override else "")
        messages.queue_for(appointment, "booked")
    return appointment


# --- Lifecycle ---------------------------------------------------------------------

TRANSITIONS: dict[str, tuple[str, ...]] = {
    Status.CONFIRMED: (Status.BOOKED,),
    Status.ATTENDED: (Status.BOOKED, Status.CONFIRMED),
    Status.NO_SHOW: (Status.BOOKED, Status.CONFIRMED),
    Status.CANCELLED: (Status.BOOKED, Status.CONFIRMED),
}


def _load_for_change(actor, appointment_id: int, expected_version: int | None, target: str) -> Appointment:
    appointment = db.session.get(Appointment, appointment_id, populate_existing=True)
    if appointment is None:
        raise NotFound(_("Appuntamento non trovato."))
    if not policy.can_manage_appointment(actor, appointment):
        raise Forbidden(_("Non puoi modificare questo appuntamento."))
    _check_version(appointment, expected_version)
    if appointment.status not in TRANSITIONS[target]:
        raise Conflict(_("Questa operazione non è possibile per un appuntamento nello stato «%(status)s».",
                         status=appointment.status_label))
    return appointment


def _set_status(actor, appointment_id: int, target: str, expected_version: int | None) -> Appointment:
    with _write():
        appointment = _load_for_change(actor, appointment_id, expected_version, target)
        if target in (Status.ATTENDED, Status.NO_SHOW) and appointment.starts_at > utcnow():
            raise Invalid(_("Presenza e assenza si registrano dall'inizio dell'appuntamento."))
        before = appointment.status
        appointment.status = target
        appointment.updated_by_id = actor.id
        _event(appointment, actor, target, before, target)
        if target == Status.NO_SHOW:
            waiting.on_no_show(appointment)
    return appointment


def confirm(actor, appointment_id: int, expected_version: int | None = None) -> Appointment:
    """Booked → confirmed (the young person said they will come)."""
    return _set_status(actor, appointment_id, Status.CONFIRMED, expected_version)


def record_attendance(actor, appointment_id: int, expected_version: int | None = None) -> Appointment:
    """The session took place."""
    return _set_status(actor, appointment_id, Status.ATTENDED, expected_version)


def record_no_show(actor, appointment_id: int, expected_version: int | None = None) -> Appointment:
    """The young person did not come."""
    return _set_status(actor, appointment_id, Status.NO_SHOW, expected_version)


def _validate_cancel(reason: str, by_kind: str) -> str:
    reason = (reason or "").strip()
    if by_kind not in CANCELLED_BY:
        raise Invalid(_("Indica chi annulla l'appuntamento."), field="by_kind")
    if not reason:
        raise Invalid(_("Scrivi il motivo dell'annullamento."), field="reason")
    return reason[:300]


def _cancel_row(actor, appointment: Appointment, reason: str, by_kind: str) -> str:
    before = appointment.status
    appointment.status = Status.CANCELLED
    appointment.cancel_reason = reason
    appointment.cancelled_by_kind = by_kind
    appointment.cancelled_by_id = actor.id
    appointment.cancelled_at = utcnow()
    appointment.updated_by_id = actor.id
    return before


def cancel(actor, appointment_id: int, reason: str, by_kind: str, expected_version: int | None = None) \
        -> Appointment:
    """Cancel with a reason and who asked (young person, desk, tutor); the calendar event's SEQUENCE grows."""
    reason = _validate_cancel(reason, by_kind)
    with _write():
        appointment = _load_for_change(actor, appointment_id, expected_version, Status.CANCELLED)
        before = _cancel_row(actor, appointment, reason, by_kind)
        appointment.sequence += 1
        _event(appointment, actor, "cancelled", before, Status.CANCELLED, f"{by_kind}: {reason}")
        messages.queue_for(appointment, "cancelled")
        waiting.on_cancelled(appointment)
    return appointment


def reschedule(actor, appointment_id: int, starts_at: datetime, *, tutor_id: int | None = None,
               desk_id: int | None = None, mode: str | None = None, by_kind: str = "desk", reason: str = "",
               override_reason: str = "", expected_version: int | None = None) -> Appointment:
    """Move an appointment in one atomic step: the old one cancelled and linked, the new one booked — or nothing.

    The new appointment keeps the calendar UID with SEQUENCE + 1, so the young person's
    calendar updates the same event.
    """
    if by_kind not in CANCELLED_BY:
        raise Invalid(_("Indica chi chiede lo spostamento."), field="by_kind")
    with _write():
        old = _load_for_change(actor, appointment_id, expected_version, Status.CANCELLED)
        data = BookingData(desk_id=desk_id or old.desk_id, tutor_id=tutor_id or old.tutor_id,
                           young_person_id=old.young_person_id, service=old.service, mode=mode or old.mode,
                           starts_at=starts_at, override_reason=override_reason)
        r = _resolve(actor, data)
        _check_slot(r.desk, r.tutor, r.person, r.starts_at, r.ends_at, override=r.override is not None,
                    exclude_ids=[old.id])
        before = _cancel_row(actor, old, (reason or "").strip()[:300] or _("Spostato"), by_kind)
        db.session.flush()  # the old one stops being active before the new one exists (exclusion constraints)
        new = _new_appointment(actor, r, data, uid=old.uid, sequence=old.sequence + 1, rescheduled_from=old)
        db.session.flush()
        _event(old, actor, "rescheduled", before, Status.CANCELLED, f"-> {new.id}")
        _event(new, actor, "created", None, Status.BOOKED, f"<- {old.id}")
        messages.queue_for(new, "moved")
        waiting.on_cancelled(old)
    return new


# --- A path of weekly sessions -------------------------------------------------------

@dataclass
class PathItem:
    """One date of a weekly path: the slot and, when it cannot be booked, why."""

    starts_at: datetime
    ends_at: datetime
    problem: str | None = None
    appointment: Appointment | None = None


@dataclass
class PathReport:
    """What a path booking would do (dry run) or did (commit)."""

    items: list[PathItem] = field(default_factory=list)

    @property
    def free(self) -> list[PathItem]:
        return [i for i in self.items if i.problem is None]

    @property
    def conflicts(self) -> list[PathItem]:
        return [i for i in self.items if i.problem is not None]


def _weekly_starts(first: datetime, sessions: int) -> list[datetime]:
    """The same local wall-clock time on `sessions` consecutive weeks (DST-safe)."""
    local = first.astimezone(ROME)
    return [datetime.combine(local.date() + timedelta(weeks=n), local.time(), ROME).astimezone(UTC)
            for n in range(sessions)]


class _DryRun(Exception):
    """Raised to roll back the transaction of a dry run."""


def _path_items(actor, data: BookingData, sessions: int, report: PathReport, *, commit: bool) -> None:
    """Check (and when committing, book) each weekly date in its own savepoint."""
    for starts_at in _weekly_starts(data.starts_at, sessions):
        item_data = BookingData(**{**data.__dict__, "starts_at": starts_at, "ends_at": None})
        item = PathItem(starts_at=starts_at, ends_at=starts_at)
        try:
            r = _resolve(actor, item_data)
            item.ends_at = r.ends_at
            with db.session.begin_nested():
                _check_slot(r.desk, r.tutor, r.person, r.starts_at, r.ends_at, override=r.override is not None)
                if commit:
                    appointment = _new_appointment(actor, r, item_data)
                    db.session.flush()
                    _event(appointment, actor, "created", None, Status.BOOKED, "path")
                    messages.queue_for(appointment, "booked")
                    item.appointment = appointment
        except (Conflict, Invalid) as error:
            item.problem = error.message
        except IntegrityError as error:
            item.problem = _database_refusal(error).message
        report.items.append(item)


def book_path(actor, data: BookingData, sessions: int, *, commit: bool) -> PathReport:
    """A path of weekly sessions: with commit=False a per-date report; with commit=True books every free date."""
    if not 1 <= sessions <= MAX_PATH_SESSIONS:
        raise Invalid(_("Da 1 a %(n)d incontri.", n=MAX_PATH_SESSIONS), field="sessions")
    report = PathReport()
    try:
        with _write():
            _path_items(actor, data, sessions, report, commit=commit)
            if not commit:
                raise _DryRun  # roll back: a dry run writes nothing
    except _DryRun:
        pass
    return report


# --- Queries for pages -----------------------------------------------------------------

def appointments_of(actor, *, young_person_id: int | None = None, start: datetime | None = None,
                    end: datetime | None = None, limit: int = 200) -> list[Appointment]:
    """Appointments in the actor's scope, newest first, optionally for one young person or a window."""
    query = policy.scoped_appointments(sa.select(Appointment), actor)
    if young_person_id is not None:
        query = query.where(Appointment.young_person_id == young_person_id)
    if start is not None:
        query = query.where(Appointment.ends_at > start)
    if end is not None:
        query = query.where(Appointment.starts_at < end)
    return list(db.session.scalars(query.order_by(Appointment.starts_at.desc()).limit(limit)))
