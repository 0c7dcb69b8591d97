"""Desk use cases: desks and staff, weekly hours, closures, extra openings, tutor availability.

Every use case takes the actor first, checks the policy, validates, then writes.
They raise `app.domain.errors` (Invalid → 422, Forbidden → 403, Conflict → 409)
with messages in the interface language. The builders at the end turn the
database into the plain inputs of `app.domain.availability`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import has_request_context
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from app import policy, versions
from app.domain import availability as engine
from app.domain.errors import Conflict, Forbidden, Invalid, Stale
from app.domain.holidays import holidays_between
from app.extensions import db
from app.formatting import weekday_name
from app.models import (
    ABSENCE_KINDS,
    DESK_SERVICES,
    Appointment,
    AvailabilityInterval,
    Closure,
    ClosureScope,
    Desk,
    ExtraOpening,
    OpeningSchedule,
    Organisation,
    OrganisationKind,
    Role,
    ScheduleInterval,
    Status,
    TutorAbsence,
    TutorAvailability,
    User,
    desk_tutors,
)
from app.models.base import UTCDateTime, utcnow

ROME = ZoneInfo("Europe/Rome")


class BulkInvalid(Invalid):
    """Several desks refused a change; `errors` maps each desk id to its message."""

    def __init__(self, message: str, errors: dict[int, str]):
        super().__init__(message)
        self.errors = errors


@dataclass(frozen=True)
class Weekly:
    """A weekly interval as entered in a form (weekday 0 = Monday, local time)."""

    weekday: int
    start: time
    end: time


def today_local() -> date:
    """Today in Europe/Rome."""
    return datetime.now(ROME).date()


def local_instant(day: date, at: time) -> datetime:
    """A Europe/Rome wall-clock moment as an aware UTC instant."""
    return datetime.combine(day, at, tzinfo=ROME).astimezone(UTC)


def _hm(value: time) -> str:
    return value.strftime("%H:%M")


def _d(value: date) -> str:
    return value.strftime("%d/%m/%Y")


def _period(valid_from: date, valid_to: date | None) -> str:
    if valid_to is None:
        return _("dal %(start)s", start=_d(valid_from))
    return _("dal %(start)s al %(end)s", start=_d(valid_from), end=_d(valid_to))


# --- Weekly intervals -----------------------------------------------------------

def validate_intervals(intervals: Iterable[Weekly], *, required: bool = True) -> list[Weekly]:
    """Refuse an end before its start and two intervals of a weekday that overlap; sorted result."""
    items = sorted(intervals, key=lambda i: (i.weekday, i.start, i.end))
    if required and not items:
        raise Invalid(_("Indica almeno una fascia oraria."), field="intervals")
    for item in items:
        if not 0 <= item.weekday <= 6:
            raise Invalid(_("Giorno della settimana non valido."), field="intervals")
        if item.end <= item.start:
            raise Invalid(
                _("%(day)s: l'orario di fine (%(end)s) deve essere successivo a quello di inizio (%(start)s).",
                  day=weekday_name(item.weekday).capitalize(), start=_hm(item.start), end=_hm(item.end)),
                field="intervals",
            )
    for before, after in zip(items, items[1:], strict=False):
        if before.weekday == after.weekday and after.start < before.end:
            raise Invalid(
                _("%(day)s: le fasce %(a)s e %(b)s si sovrappongono.",
                  day=weekday_name(before.weekday).capitalize(),
                  a=f"{_hm(before.start)}–{_hm(before.end)}", b=f"{_hm(after.start)}–{_hm(after.end)}"),
                field="intervals",
            )
    return items


def _check_period(valid_from: date | None, valid_to: date | None) -> None:
    if valid_from is None:
        raise Invalid(_("Indica la data di inizio validità."), field="valid_from")
    if valid_to is not None and valid_to < valid_from:
        raise Invalid(_("La data di fine validità precede quella di inizio."), field="valid_to")


def _overlaps(a_from: date, a_to: date | None, b_from: date, b_to: date | None) -> bool:
    return (a_to is None or b_from <= a_to) and (b_to is None or a_from <= b_to)


@dataclass
class _Plan:
    """What creating a period-bound row (schedule or availability) will change in its siblings."""

    truncate: list  # rows whose valid_to becomes valid_from - 1
    continuations: list  # (row to copy, new valid_from, new valid_to)
    replace: list  # future rows wholly inside the new period: deleted


def _plan_period(existing: Sequence, valid_from: date, valid_to: date | None, today: date, label) -> _Plan:
    """A change "from a date" closes the current row the day before (and resumes it after a bounded one).

    Future rows wholly inside the new period are replaced (entering the summer
    hours again from 1 July replaces the planned ones); other rows starting on or
    after `valid_from` that overlap are refused. The past is never rewritten.
    """
    plan = _Plan([], [], [])
    for row in existing:
        if not _overlaps(row.valid_from, row.valid_to, valid_from, valid_to):
            continue
        inside = valid_to is None or (row.valid_to is not None and row.valid_to <= valid_to)
        if row.valid_from >= valid_from and row.valid_from > today and inside:
            plan.replace.append(row)  # a future plan wholly covered by the new one: replaced
            continue
        if row.valid_from >= valid_from:
            raise Invalid(
                _("Il periodo si sovrappone a «%(name)s» (%(period)s). Elimina o modifica prima quello.",
                  name=label(row), period=_period(row.valid_from, row.valid_to)),
                field="valid_from",
            )
        if valid_from <= today:
            raise Invalid(
                _("Dal %(day)s vale già «%(name)s»: un cambio d'orario può iniziare solo da domani, "
                  "così i giorni passati restano com'erano.", day=_d(valid_from), name=label(row)),
                field="valid_from",
            )
        plan.truncate.append(row)
        if valid_to is not None and (row.valid_to is None or row.valid_to > valid_to):
            plan.continuations.append((row, valid_to + timedelta(days=1), row.valid_to))
    return plan


# --- Desks and staff ------------------------------------------------------------

@dataclass
class DeskData:
    """The fields of a desk as entered by the Ufficio di Piano."""

    name: str
    municipality_id: int
    partner_id: int
    address: str = ""
    rooms: int = 1
    phone: str = ""
    email: str = ""
    notes: str = ""
    active: bool = True
    slot_minutes: int = 45
    buffer_minutes: int = 15
    min_notice_minutes: int = 120
    services: tuple[str, ...] = ()
    operator_ids: tuple[int, ...] = ()
    tutor_ids: tuple[int, ...] = ()


def _require_manager(actor) -> None:
    if not policy.can_manage_desks(actor):
        raise Forbidden(_("Solo l'Ufficio di Piano gestisce gli sportelli."))


def _staff(ids: Iterable[int], role: str, message: str) -> list[User]:
    ids = sorted(set(ids))
    if not ids:
        return []
    users = list(db.session.scalars(sa.select(User).where(User.id.in_(ids))))
    if len(users) != len(ids) or any(u.role != role for u in users):
        raise Invalid(message)
    return users


def _apply_desk_data(desk: Desk, data: DeskData) -> None:
    name = (data.name or "").strip()
    if not name:
        raise Invalid(_("Indica il nome dello sportello."), field="name")
    clash = db.session.scalar(sa.select(Desk.id).where(sa.func.lower(Desk.name) == name.lower()))
    if clash is not None and clash != desk.id:
        raise Invalid(_("Esiste già uno sportello con questo nome."), field="name")
    town = db.session.get(Organisation, data.municipality_id)
    if town is None or town.kind != OrganisationKind.MUNICIPALITY:
        raise Invalid(_("Scegli il comune in cui si trova lo sportello."), field="municipality_id")
    partner = db.session.get(Organisation, data.partner_id)
    if partner is None:
        raise Invalid(_("Scegli l'ente che gestisce lo sportello."), field="partner_id")
    if data.rooms < 1:
        raise Invalid(_("Lo sportello deve avere almeno una stanza."), field="rooms")
    if data.slot_minutes < 5 or data.buffer_minutes < 0 or data.min_notice_minutes < 0:
        raise Invalid(_("Durata, pausa e preavviso devono essere numeri positivi."), field="slot_minutes")
    unknown = set(data.services) - set(DESK_SERVICES)
    if unknown:
        raise Invalid(_("Servizio sconosciuto."), field="services")
    desk.name = name
    desk.municipality_id = town.id
    desk.partner_id = partner.id
    for attr in ("address", "phone", "email", "notes"):
        setattr(desk, attr, (getattr(data, attr) or "").strip())
    desk.rooms = data.rooms
    desk.active = data.active
    desk.slot_minutes, desk.buffer_minutes = data.slot_minutes, data.buffer_minutes
    desk.min_notice_minutes = data.min_notice_minutes
    desk.services = data.services
    desk.operators = _staff(data.operator_ids, Role.OPERATOR, _("Scegli operatori con il ruolo di operatore."))
    desk.tutors = _staff(data.tutor_ids, Role.TUTOR, _("Scegli tutor con il ruolo di tutor."))


def create_desk(actor, data: DeskData) -> Desk:
    """Create a desk (Ufficio di Piano only)."""
    _require_manager(actor)
    desk = Desk()
    _apply_desk_data(desk, data)
    db.session.add(desk)
    db.session.commit()
    return desk



def _stale_desk() -> Stale:
    return Stale(_("Questo sportello è stato modificato da un altro utente mentre lo stavi modificando: "
                   "le tue modifiche non sono state salvate."))


def update_desk(actor, desk: Desk, data: DeskData, version) -> Desk:
    """Change a desk's details, services and staff (Ufficio di Piano only), refusing a stale form.

    The desk row is always updated (updated_at), so its version moves even when only the services or the
    staff change, and the UPDATE is the compare-and-set (... WHERE id = ? AND version = ?).
    """
    _require_manager(actor)
    versions.check(desk.version, version, _stale_desk)
    _apply_desk_data(desk, data)
    desk.updated_at = utcnow()
    versions.commit_or_stale(_stale_desk)
    return desk


def _stale_town(town: Organisation) -> Stale:
    return Stale(_("%(town)s: qualcun altro ha modificato questi dati nel frattempo; il santo patrono non è "
                   "stato salvato. Controlla i dati salvati ora e riprova.", town=town.short_name))


def set_patron_day(actor, town: Organisation, saint: str, month: int | None, day: int | None, version) -> None:
    """Set or clear a town's patron-saint day (a local holiday closing its desks), refusing a stale form."""
    _require_manager(actor)
    if town.kind != OrganisationKind.MUNICIPALITY:
        raise Invalid(_("Il santo patrono si indica solo per i comuni."))
    versions.check(town.version, version, lambda: _stale_town(town))
    if (month is None) != (day is None):
        raise Invalid(_("Indica sia il giorno sia il mese, oppure lascia vuoti entrambi."), field="patron_day")
    if month is not None:
        try:
            date(2024, month, day)  # a leap year, so 29/02 is accepted
        except (TypeError, ValueError):
            raise Invalid(_("La data del santo patrono non esiste."), field="patron_day") from None
    town.patron_saint = (saint or "").strip() or None if month is not None else None
    town.patron_month, town.patron_day = month, day
    versions.commit_or_stale(lambda: _stale_town(town))


# --- Weekly opening hours ---------------------------------------------------------

def _require_hours(actor, desk: Desk) -> None:
    if not policy.can_edit_hours(actor, desk):
        raise Forbidden(_("Non puoi modificare gli orari di questo sportello."))


def _schedule_label(row: OpeningSchedule) -> str:
    return row.name


def _plan_schedule(desk: Desk, valid_from: date, valid_to: date | None, today: date) -> _Plan:
    existing = list(db.session.scalars(
        sa.select(OpeningSchedule).where(OpeningSchedule.desk_id == desk.id).order_by(OpeningSchedule.valid_from)
    ))
    return _plan_period(existing, valid_from, valid_to, today, _schedule_label)


def _apply_schedule(actor, desk: Desk, plan: _Plan, name: str, valid_from: date, valid_to: date | None,
                    intervals: list[Weekly]) -> OpeningSchedule:
    for row in plan.replace:
        db.session.delete(row)
    for row in plan.truncate:
        row.valid_to = valid_from - timedelta(days=1)
    db.session.flush()
    schedule = OpeningSchedule(
        desk_id=desk.id, name=name, valid_from=valid_from, valid_to=valid_to, created_by_id=actor.id,
        intervals=[ScheduleInterval(weekday=i.weekday, start=i.start, end=i.end) for i in intervals],
    )
    db.session.add(schedule)
    for row, resume_from, resume_to in plan.continuations:
        db.session.add(OpeningSchedule(
            desk_id=desk.id, name=row.name, valid_from=resume_from, valid_to=resume_to, created_by_id=actor.id,
            intervals=[ScheduleInterval(weekday=i.weekday, start=i.start, end=i.end) for i in row.intervals],
        ))
    return schedule


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise Invalid(_("Dai un nome all'orario, ad esempio «Orario estivo»."), field="name")
    return name


def create_schedule(actor, desk: Desk, name: str, valid_from: date | None, valid_to: date | None,
                    intervals: Iterable[Weekly], *, today: date | None = None) -> OpeningSchedule:
    """Add weekly hours to a desk from a date; the schedule in force ends the day before."""
    schedules = apply_schedule(actor, [desk.id], name, valid_from, valid_to, intervals, today=today)
    return schedules[0]


def apply_schedule(actor, desk_ids: Iterable[int], name: str, valid_from: date | None, valid_to: date | None,
                   intervals: Iterable[Weekly], *, today: date | None = None) -> list[OpeningSchedule]:
    """Give several desks the same weekly hours at once: all of them or none (per-desk errors)."""
    name = _clean_name(name)
    _check_period(valid_from, valid_to)
    items = validate_intervals(intervals)
    today = today or today_local()
    ids = sorted(set(desk_ids))
    if not ids:
        raise Invalid(_("Scegli almeno uno sportello."), field="desk_ids")
    desks = {d.id: d for d in db.session.scalars(sa.select(Desk).where(Desk.id.in_(ids)))}
    errors: dict[int, str] = {}
    plans: dict[int, _Plan] = {}
    for desk_id in ids:
        desk = desks.get(desk_id)
        if desk is None or not policy.can_edit_hours(actor, desk):
            errors[desk_id] = _("Non puoi modificare gli orari di questo sportello.")
            continue
        try:
            plans[desk_id] = _plan_schedule(desk, valid_from, valid_to, today)
        except Invalid as error:
            errors[desk_id] = error.message
    if errors:
        if len(ids) == 1:
            only = next(iter(errors.values()))
            if ids[0] not in desks or not policy.can_edit_hours(actor, desks[ids[0]]):
                raise Forbidden(only)
            raise Invalid(only, field="valid_from")
        raise BulkInvalid(_("Nessuno sportello è stato modificato: correggi gli errori indicati."), errors)
    try:
        created = [_apply_schedule(actor, desks[i], plans[i], name, valid_from, valid_to, items) for i in ids]
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(_("Gli orari sono stati modificati da qualcun altro nel frattempo. Ricarica e riprova.")) \
            from None
    return created


def delete_schedule(actor, schedule: OpeningSchedule, *, today: date | None = None) -> None:
    """Remove a schedule that has not started yet (the past stays as it was)."""
    _require_hours(actor, schedule.desk)
    if schedule.valid_from <= (today or today_local()):
        raise Invalid(_("Questo orario è già in vigore: per cambiarlo aggiungi un nuovo orario da una data futura."))
    db.session.delete(schedule)
    db.session.commit()


def current_and_future_schedules(desk: Desk, today: date | None = None) -> list[OpeningSchedule]:
    """The schedule in force today and the ones that start later."""
    today = today or today_local()
    return list(db.session.scalars(
        sa.select(OpeningSchedule)
        .where(OpeningSchedule.desk_id == desk.id,
               sa.or_(OpeningSchedule.valid_to.is_(None), OpeningSchedule.valid_to >= today))
        .order_by(OpeningSchedule.valid_from)
    ))


# --- Closures and extra openings -------------------------------------------------

def closure_span(start_day: date | None, end_day: date | None, start_time: time | None = None,
                 end_time: time | None = None) -> tuple[datetime, datetime]:
    """Local days/times of a closure as UTC instants: whole days unless times are given."""
    if start_day is None:
        raise Invalid(_("Indica il giorno di inizio della chiusura."), field="start_day")
    end_day = end_day or start_day
    if end_day < start_day:
        raise Invalid(_("Il giorno di fine precede quello di inizio."), field="end_day")
    starts_at = local_instant(start_day, start_time or time(0))
    if end_time is not None:
        ends_at = local_instant(end_day, end_time)
    else:
        ends_at = local_instant(end_day + timedelta(days=1), time(0))
    if ends_at <= starts_at:
        raise Invalid(_("L'ora di fine della chiusura deve essere successiva a quella di inizio."), field="end_time")
    return starts_at, ends_at


def create_closure(actor, scope: str, starts_at: datetime, ends_at: datetime, reason: str, *,
                   desk_ids: Iterable[int] = (), municipality_id: int | None = None) -> list[Closure]:
    """Close one or more desks, a whole town or every desk between two instants (all or nothing)."""
    reason = (reason or "").strip()
    if not reason:
        raise Invalid(_("Indica il motivo della chiusura (lo vede solo il personale)."), field="reason")
    if ends_at <= starts_at:
        raise Invalid(_("La fine della chiusura deve essere successiva all'inizio."), field="end_day")
    rows: list[Closure] = []
    if scope == ClosureScope.DESK:
        ids = sorted(set(desk_ids))
        if not ids:
            raise Invalid(_("Scegli almeno uno sportello."), field="desk_ids")
        desks = list(db.session.scalars(sa.select(Desk).where(Desk.id.in_(ids))))
        if len(desks) != len(ids) or not all(policy.can_edit_hours(actor, d) for d in desks):
            raise Forbidden(_("Non puoi chiudere uno degli sportelli scelti."))
        rows = [Closure(scope=scope, desk_id=d.id, starts_at=starts_at, ends_at=ends_at, reason=reason,
                        created_by_id=actor.id) for d in desks]
    elif scope in (ClosureScope.MUNICIPALITY, ClosureScope.ALL):
        if not policy.can_close_network(actor):
            raise Forbidden(_("Solo l'Ufficio di Piano chiude tutti gli sportelli di un comune o della rete."))
        if scope == ClosureScope.MUNICIPALITY:
            town = db.session.get(Organisation, municipality_id) if municipality_id else None
            if town is None or town.kind != OrganisationKind.MUNICIPALITY:
                raise Invalid(_("Scegli il comune."), field="municipality_id")
        else:
            municipality_id = None
        rows = [Closure(scope=scope, municipality_id=municipality_id, starts_at=starts_at, ends_at=ends_at,
                        reason=reason, created_by_id=actor.id)]
    else:
        raise Invalid(_("Ambito della chiusura non valido."), field="scope")
    db.session.add_all(rows)
    db.session.commit()
    return rows


def can_delete_closure(actor, closure: Closure) -> bool:
    """Desk closures by whoever edits that desk; town/network ones by the Ufficio di Piano."""
    if closure.scope == ClosureScope.DESK:
        return policy.can_edit_hours(actor, closure.desk)
    return policy.can_close_network(actor)


def delete_closure(actor, closure: Closure) -> None:
    """Remove a closure (e.g. entered by mistake)."""
    if not can_delete_closure(actor, closure):
        raise Forbidden(_("Non puoi eliminare questa chiusura."))
    db.session.delete(closure)
    db.session.commit()


def closures_affecting(desk: Desk, since: datetime) -> list[Closure]:
    """Closures of this desk, its town or the whole network that end after `since`."""
    return list(db.session.scalars(
        sa.select(Closure)
        .where(Closure.ends_at > since, _closure_applies([desk.id], [desk.municipality_id]))
        .order_by(Closure.starts_at)
    ))


def network_closures(since: datetime) -> list[Closure]:
    """Town-wide and network-wide closures that end after `since`."""
    return list(db.session.scalars(
        sa.select(Closure).where(Closure.ends_at > since, Closure.scope != ClosureScope.DESK)
        .order_by(Closure.starts_at)
    ))


def create_extra_opening(actor, desk: Desk, day: date | None, start: time | None, end: time | None,
                         note: str = "") -> ExtraOpening:
    """Open a desk on a date outside its weekly hours."""
    _require_hours(actor, desk)
    if day is None or start is None or end is None:
        raise Invalid(_("Indica giorno, ora di inizio e ora di fine."), field="day")
    if end <= start:
        raise Invalid(_("L'ora di fine deve essere successiva a quella di inizio."), field="end")
    clash = db.session.scalar(
        sa.select(ExtraOpening).where(ExtraOpening.desk_id == desk.id, ExtraOpening.day == day,
                                      ExtraOpening.start < end, ExtraOpening.end > start)
    )
    if clash is not None:
        raise Invalid(_("C'è già un'apertura straordinaria in quella fascia (%(a)s–%(b)s).",
                        a=_hm(clash.start), b=_hm(clash.end)), field="start")
    row = ExtraOpening(desk_id=desk.id, day=day, start=start, end=end, note=(note or "").strip(),
                       created_by_id=actor.id)
    db.session.add(row)
    db.session.commit()
    return row


def delete_extra_opening(actor, row: ExtraOpening) -> None:
    """Remove an extra opening."""
    _require_hours(actor, row.desk)
    db.session.delete(row)
    db.session.commit()


# --- Tutor availability and absences ---------------------------------------------

def _require_availability(actor, tutor: User, desk: Desk | None) -> None:
    if not policy.can_edit_availability(actor, tutor, desk):
        raise Forbidden(_("Non puoi modificare la disponibilità di questo tutor."))


def set_tutor_availability(actor, tutor: User, desk: Desk, valid_from: date | None, valid_to: date | None,
                           intervals: Iterable[Weekly], *, today: date | None = None) -> TutorAvailability:
    """A tutor's weekly hours at a desk from a date; never at the same time as at another desk."""
    _require_availability(actor, tutor, desk)
    _check_period(valid_from, valid_to)
    items = validate_intervals(intervals)
    today = today or today_local()
    assigned = db.session.scalar(sa.select(sa.literal(1)).select_from(desk_tutors).where(
        desk_tutors.c.desk_id == desk.id, desk_tutors.c.user_id == tutor.id))
    if assigned is None:
        raise Invalid(_("Il tutor non è assegnato a questo sportello."), field="tutor_id")
    rows = list(db.session.scalars(
        sa.select(TutorAvailability).where(TutorAvailability.tutor_id == tutor.id)
        .order_by(TutorAvailability.valid_from)
    ))
    same_desk = [r for r in rows if r.desk_id == desk.id]
    plan = _plan_period(same_desk, valid_from, valid_to, today, lambda r: _("disponibilità presso %(desk)s",
                                                                           desk=r.desk.name))
    for other in rows:
        if other.desk_id == desk.id or not _overlaps(other.valid_from, other.valid_to, valid_from, valid_to):
            continue
        for mine in items:
            for theirs in other.intervals:
                if theirs.weekday == mine.weekday and theirs.start < mine.end and mine.start < theirs.end:
                    raise Invalid(
                        _("%(tutor)s è già disponibile presso «%(desk)s» il %(day)s dalle %(a)s alle %(b)s: "
                          "un tutor non può essere in due sportelli nello stesso momento.",
                          tutor=tutor.full_name, desk=other.desk.name, day=weekday_name(mine.weekday),
                          a=_hm(theirs.start), b=_hm(theirs.end)),
                        field="intervals",
                    )
    for row in plan.replace:
        db.session.delete(row)
    for row in plan.truncate:
        row.valid_to = valid_from - timedelta(days=1)
    db.session.flush()
    created = TutorAvailability(
        tutor_id=tutor.id, desk_id=desk.id, valid_from=valid_from, valid_to=valid_to, created_by_id=actor.id,
        intervals=[AvailabilityInterval(weekday=i.weekday, start=i.start, end=i.end) for i in items],
    )
    db.session.add(created)
    for row, resume_from, resume_to in plan.continuations:
        db.session.add(TutorAvailability(
            tutor_id=tutor.id, desk_id=desk.id, valid_from=resume_from, valid_to=resume_to, created_by_id=actor.id,
            intervals=[AvailabilityInterval(weekday=i.weekday, start=i.start, end=i.end) for i in row.intervals],
        ))
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(_("La disponibilità è stata modificata da qualcun altro. Ricarica e riprova.")) from None
    return created


def delete_tutor_availability(actor, row: TutorAvailability, *, today: date | None = None) -> None:
    """Remove availability that has not started yet; one in force is ended yesterday instead."""
    _require_availability(actor, row.tutor, row.desk)
    today = today or today_local()
    if row.valid_from > today:
        db.session.delete(row)
    elif row.valid_to is None or row.valid_to >= today:
        row.valid_to = today - timedelta(days=1)
        if row.valid_to < row.valid_from:
            db.session.delete(row)
    else:
        raise Invalid(_("Questa disponibilità è già conclusa."))
    db.session.commit()


def add_absence(actor, tutor: User, starts_at: datetime, ends_at: datetime, kind: str, note: str = "") \
        -> TutorAbsence:
    """Record that a tutor is away (holiday, sick leave, other)."""
    if not policy.can_edit_absences(actor, tutor):
        raise Forbidden(_("Non puoi registrare assenze per questo tutor."))
    if kind not in ABSENCE_KINDS:
        raise Invalid(_("Scegli il tipo di assenza."), field="kind")
    if ends_at <= starts_at:
        raise Invalid(_("La fine dell'assenza deve essere successiva all'inizio."), field="end_day")
    row = TutorAbsence(tutor_id=tutor.id, starts_at=starts_at, ends_at=ends_at, kind=kind,
                       note=(note or "").strip(), created_by_id=actor.id)
    db.session.add(row)
    db.session.commit()
    return row


def delete_absence(actor, row: TutorAbsence) -> None:
    """Remove an absence entered by mistake."""
    if not policy.can_edit_absences(actor, row.tutor):
        raise Forbidden(_("Non puoi modificare le assenze di questo tutor."))
    db.session.delete(row)
    db.session.commit()


# --- Builders for the availability engine -----------------------------------------

def _closure_applies(desk_ids: Sequence[int], town_ids: Sequence[int]):
    return sa.or_(
        Closure.scope == ClosureScope.ALL,
        sa.and_(Closure.scope == ClosureScope.DESK, Closure.desk_id.in_(desk_ids)),
        sa.and_(Closure.scope == ClosureScope.MUNICIPALITY, Closure.municipality_id.in_(town_ids)),
    )


def _utc_window(start: date, end: date) -> tuple[datetime, datetime]:
    """The UTC instants covering the local days start..end inclusive (one day of margin each side)."""
    return local_instant(start - timedelta(days=1), time(0)), local_instant(end + timedelta(days=2), time(0))


def _engine_schedule(valid_from: date, valid_to: date | None, intervals) -> engine.Schedule:
    return engine.Schedule(
        valid_from=valid_from, valid_to=valid_to,
        intervals=tuple(engine.WeeklyInterval(i.weekday, i.start, i.end) for i in intervals),
    )


def patron_day_of(town: Organisation) -> tuple[int, int, str] | None:
    """The town's patron day as the holidays module wants it, or None when not configured."""
    return _patron_day(town.patron_month, town.patron_day, town.patron_saint)


# The builders' statements, built once (constructing them cost more than running them); values are bound per call.
_IDS = sa.bindparam("ids", expanding=True)
_CALENDAR_DESKS = (
    sa.select(Desk.id, Desk.municipality_id, Desk.rooms, Organisation.patron_month, Organisation.patron_day,
              Organisation.patron_saint)
    .join(Organisation, Organisation.id == Desk.municipality_id).where(Desk.id.in_(_IDS))
)
# What each read keeps, written once: the separate reads below and the slot picker's UNION ALL
# (picker_inputs) select different columns under the same conditions and bound names.
_START, _END = sa.bindparam("start"), sa.bindparam("end")
_WINDOW_START, _WINDOW_END = sa.bindparam("window_start"), sa.bindparam("window_end")
_SCHEDULES_APPLY = (OpeningSchedule.desk_id.in_(_IDS), OpeningSchedule.valid_from <= _END,
                    sa.or_(OpeningSchedule.valid_to.is_(None), OpeningSchedule.valid_to >= _START))
_CLOSURES_APPLY = (Closure.starts_at < _WINDOW_END, Closure.ends_at > _WINDOW_START,
                   _closure_applies(_IDS, sa.bindparam("town_ids", expanding=True)))
_EXTRAS_APPLY = (ExtraOpening.desk_id.in_(_IDS), ExtraOpening.day >= _START, ExtraOpening.day <= _END)
# A tutor's availability counts at a desk they are assigned to, while active, in the period.
_TUTOR_ASSIGNED = sa.and_(desk_tutors.c.desk_id == TutorAvailability.desk_id,
                          desk_tutors.c.user_id == TutorAvailability.tutor_id)
_AVAILABILITY_APPLIES = (TutorAvailability.desk_id.in_(_IDS), User.active.is_(True),
                         TutorAvailability.valid_from <= _END,
                         sa.or_(TutorAvailability.valid_to.is_(None), TutorAvailability.valid_to >= _START))
_ABSENCES_IN_WINDOW = (TutorAbsence.starts_at < _WINDOW_END, TutorAbsence.ends_at > _WINDOW_START)


def _with_assigned_tutors(query: sa.Select) -> sa.Select:
    """A TutorAvailability query joined to the desk assignment and the tutor (for _AVAILABILITY_APPLIES)."""
    return query.join(desk_tutors, _TUTOR_ASSIGNED).join(User, User.id == TutorAvailability.tutor_id)


_CALENDAR_SCHEDULES = (
    sa.select(OpeningSchedule.id, OpeningSchedule.desk_id, OpeningSchedule.valid_from, OpeningSchedule.valid_to,
              ScheduleInterval.weekday, ScheduleInterval.start, ScheduleInterval.end)
    .outerjoin(ScheduleInterval, ScheduleInterval.schedule_id == OpeningSchedule.id)
    .where(*_SCHEDULES_APPLY)
    .order_by(OpeningSchedule.valid_from, OpeningSchedule.id, ScheduleInterval.weekday, ScheduleInterval.start)
)
_CALENDAR_CLOSURES = (
    sa.select(Closure.scope, Closure.desk_id, Closure.municipality_id, Closure.starts_at, Closure.ends_at,
              Closure.reason)
    .where(*_CLOSURES_APPLY)
    .order_by(Closure.starts_at)
)
_CALENDAR_EXTRAS = (
    sa.select(ExtraOpening.desk_id, ExtraOpening.day, ExtraOpening.start, ExtraOpening.end)
    .where(*_EXTRAS_APPLY)
    .order_by(ExtraOpening.day, ExtraOpening.start)
)
_TUTOR_AVAILABILITY = (
    _with_assigned_tutors(
        sa.select(TutorAvailability.id, TutorAvailability.tutor_id, TutorAvailability.desk_id,
                  TutorAvailability.valid_from, TutorAvailability.valid_to, AvailabilityInterval.weekday,
                  AvailabilityInterval.start, AvailabilityInterval.end))
    .outerjoin(AvailabilityInterval, AvailabilityInterval.availability_id == TutorAvailability.id)
    .where(*_AVAILABILITY_APPLIES)
    .order_by(TutorAvailability.tutor_id, TutorAvailability.desk_id, TutorAvailability.valid_from,
              TutorAvailability.id, AvailabilityInterval.weekday, AvailabilityInterval.start)
)
_TUTOR_ABSENCES = (
    sa.select(TutorAbsence.tutor_id, TutorAbsence.starts_at, TutorAbsence.ends_at)
    .where(TutorAbsence.tutor_id.in_(sa.bindparam("tutor_ids", expanding=True)), *_ABSENCES_IN_WINDOW)
    .order_by(TutorAbsence.starts_at)
)


def desk_calendars(desk_ids: Iterable[int], start: date, end: date) -> dict[int, engine.DeskCalendar]:
    """Engine inputs for several desks over the local days start..end, in four queries.

    Plain columns, no ORM objects: the calendars are on every picker and calendar request and
    building mapped instances (with their selectin loads) cost more than the engine itself.
    """
    ids = sorted(set(desk_ids))
    if not ids:
        return {}
    return _calendars(db.session.execute(_CALENDAR_DESKS, {"ids": ids}).all(), start, end)


class _DeskRow(NamedTuple):
    """What a calendar needs of a desk and its town (a row of _CALENDAR_DESKS)."""

    id: int
    municipality_id: int
    rooms: int
    patron_month: int | None
    patron_day: int | None
    patron_saint: str | None


def _calendars(desks, start: date, end: date) -> dict[int, engine.DeskCalendar]:
    """The calendars of these desks (rows with the _DeskRow fields): schedules, closures and extras in three queries."""
    if not desks:
        return {}
    ids = [d.id for d in desks]
    window_start, window_end = _utc_window(start, end)
    town_ids = sorted({d.municipality_id for d in desks})
    schedule_rows = db.session.execute(_CALENDAR_SCHEDULES, {"ids": ids, "start": start, "end": end}).all()
    closures = db.session.execute(_CALENDAR_CLOSURES, {"ids": ids, "town_ids": town_ids or [0],
                                                       "window_start": window_start, "window_end": window_end}).all()
    extras = db.session.execute(_CALENDAR_EXTRAS, {"ids": ids, "start": start, "end": end}).all()
    return _assemble_calendars(desks, start, end, schedule_rows, closures, extras)


def _assemble_calendars(desks, start: date, end: date, schedule_rows, closures, extras) \
        -> dict[int, engine.DeskCalendar]:
    """Engine calendars from the rows of _CALENDAR_SCHEDULES, _CALENDAR_CLOSURES and _CALENDAR_EXTRAS (in their order)."""
    by_desk: dict[int, list] = defaultdict(list)
    for schedule in _grouped_schedules(schedule_rows):
        by_desk[schedule[0]].append(schedule[1])
    extra_by_desk: dict[int, list] = defaultdict(list)
    for row in extras:
        extra_by_desk[row.desk_id].append(engine.ExtraOpening(row.day, row.start, row.end))
    language = _interface_language()
    holidays_by_town = {
        d.municipality_id: holidays_between(start, end, _patron_day(d.patron_month, d.patron_day, d.patron_saint),
                                            language)
        for d in desks
    }
    result = {}
    for desk in desks:
        applies = [
            engine.Closure(c.starts_at, c.ends_at, c.reason) for c in closures
            if c.scope == ClosureScope.ALL
            or (c.scope == ClosureScope.DESK and c.desk_id == desk.id)
            or (c.scope == ClosureScope.MUNICIPALITY and c.municipality_id == desk.municipality_id)
        ]
        result[desk.id] = engine.DeskCalendar(
            desk_id=desk.id,
            schedules=tuple(by_desk[desk.id]),
            closures=tuple(applies),
            extra_openings=tuple(extra_by_desk[desk.id]),
            holidays=dict(holidays_by_town[desk.municipality_id]),
            rooms=desk.rooms,
        )
    return result


def _grouped_schedules(rows) -> list[tuple[int, engine.Schedule]]:
    """(desk_id, Schedule) from rows of (id, desk_id, valid_from, valid_to, weekday, start, end), in row order.

    The rows come from a schedule LEFT JOIN its intervals ordered by schedule then interval, so each
    schedule's intervals are consecutive; a schedule without intervals has one row of NULLs.
    """
    result: list[tuple[int, engine.Schedule]] = []
    current_id, head, intervals = None, None, []
    for row in rows:
        if row[0] != current_id:
            if head is not None:
                result.append((head[1], engine.Schedule(head[2], head[3], tuple(intervals))))
            current_id, head, intervals = row[0], row, []
        if row[4] is not None:
            intervals.append(engine.WeeklyInterval(row[4], row[5], row[6]))
    if head is not None:
        result.append((head[1], engine.Schedule(head[2], head[3], tuple(intervals))))
    return result


def _patron_day(month: int | None, day: int | None, saint: str | None) -> tuple[int, int, str] | None:
    if month is None or day is None:
        return None
    return (month, day, saint or _("Santo patrono"))


def _interface_language() -> str:
    """The language holiday names are shown in: the request's interface language, Italian elsewhere."""
    if not has_request_context():
        return "it"
    locale = get_locale()
    return locale.language if locale is not None else "it"


def desk_calendar(desk: Desk, start: date, end: date) -> engine.DeskCalendar:
    """Engine input for one desk over the local days start..end inclusive (the desk and its town are loaded)."""
    town = desk.municipality
    row = _DeskRow(desk.id, desk.municipality_id, desk.rooms, town.patron_month, town.patron_day, town.patron_saint)
    return _calendars([row], start, end)[desk.id]


def slot_rules(desk: Desk) -> engine.SlotRules:
    """The desk's slot length, buffer and minimum notice as engine rules."""
    return engine.SlotRules(length=timedelta(minutes=desk.slot_minutes),
                            buffer=timedelta(minutes=desk.buffer_minutes),
                            min_notice=timedelta(minutes=desk.min_notice_minutes))


def tutor_calendars(desk_ids: Iterable[int], start: date, end: date) -> list[engine.TutorCalendar]:
    """Availability (at these desks) and absences of the active tutors assigned to them, in two queries."""
    ids = sorted(set(desk_ids))
    if not ids:
        return []
    rows = db.session.execute(_TUTOR_AVAILABILITY, {"ids": ids, "start": start, "end": end}).all()
    if not rows:
        return []
    window_start, window_end = _utc_window(start, end)
    tutor_ids = sorted({r[1] for r in rows})
    absences = db.session.execute(_TUTOR_ABSENCES, {"tutor_ids": tutor_ids, "window_start": window_start,
                                                    "window_end": window_end}).all()
    return _assemble_tutors(rows, absences)


def _assemble_tutors(rows, absences) -> list[engine.TutorCalendar]:
    """Engine tutor calendars from the rows of _TUTOR_AVAILABILITY and _TUTOR_ABSENCES (in their order)."""
    availability: dict[int, list] = defaultdict(list)
    # (id, tutor_id, desk_id, from, to, weekday, start, end) -> the schedule helper's (id, key, from, to, ...)
    for key, schedule in _grouped_schedules([(r[0], (r[1], r[2])) + tuple(r[3:]) for r in rows]):
        availability[key[0]].append((key[1], schedule))
    tutor_ids = sorted(availability)
    away: dict[int, list] = defaultdict(list)
    for row in absences:
        away[row.tutor_id].append(engine.Interval(row.starts_at, row.ends_at))
    return [engine.TutorCalendar(tutor_id=t, availability=tuple(availability[t]), absences=tuple(away[t]))
            for t in tutor_ids]


# --- The slot picker's inputs in one statement --------------------------------------------
# The picker (and every 409 of a booking POST, which re-renders it) needs one desk's calendar, its
# tutors' calendars and the busy time that matters there: six reads that do not depend on each other
# once the tutors are a subquery. One UNION ALL sends them in one round trip; each branch fills the
# columns it needs (typed NULLs elsewhere: PostgreSQL types a UNION's columns branch by branch) and
# the rows are sorted per kind in Python exactly as the separate statements' ORDER BY did.

_SCHEDULE, _CLOSURE, _EXTRA, _AVAILABILITY, _ABSENCE, _BUSY = range(6)
_UNION_TYPES = (sa.Integer(), sa.Integer(), sa.Integer(), sa.Integer(), sa.Integer(), sa.Date(), sa.Date(),
                sa.Time(), sa.Time(), UTCDateTime(), UTCDateTime(), sa.String(), sa.String())
_UNION_NAMES = ("kind", "i1", "i2", "i3", "i4", "d1", "d2", "t1", "t2", "ts1", "ts2", "s1", "s2")


class _UnionRow(NamedTuple):
    """A row of the picker's UNION ALL (what each field holds depends on `kind`, see `_branch` calls)."""

    kind: int
    i1: int | None
    i2: int | None
    i3: int | None
    i4: int | None
    d1: date | None
    d2: date | None
    t1: time | None
    t2: time | None
    ts1: datetime | None
    ts2: datetime | None
    s1: str | None
    s2: str | None


def _branch(kind: int, **columns) -> sa.Select:
    """One SELECT of the union: the given columns in their slots, a NULL of the slot's type elsewhere."""
    values = [sa.literal_column(str(kind), sa.Integer()).label("kind")]
    for name, type_ in zip(_UNION_NAMES[1:], _UNION_TYPES[1:], strict=True):
        value = columns.get(name)
        values.append((sa.cast(sa.null(), type_) if value is None else value).label(name))
    return sa.select(*values)


def _picker_statement(one_tutor: bool, with_person: bool) -> sa.CompoundSelect:
    """The UNION ALL of picker_inputs (four variants: a chosen tutor or not, a young person or not).

    The desk is the one id of `ids`, as in the separate reads whose conditions each branch reuses.
    """
    availability_applies = _AVAILABILITY_APPLIES
    if one_tutor:
        # A chosen tutor: only their calendar is kept (as the caller of tutor_calendars() filtered), so only
        # their rows are read (a desk of 50 tutors sent 350 availability rows to keep 7).
        availability_applies += (TutorAvailability.tutor_id == sa.bindparam("tutor_id"),)
    # The tutors tutor_calendars() returns: active, assigned to the desk, with availability there in the period.
    # Written once as a WITH (PostgreSQL plans and runs it once for the two branches that use it: ~1.3 ms
    # of the ~6 ms statement at scale 1, when each branch had its own copy of the three-table join).
    tutors = sa.select(
        _with_assigned_tutors(sa.select(TutorAvailability.tutor_id)).where(*availability_applies)
        .cte("picker_tutors").c.tutor_id)
    # Busy time at the desk, of its tutors, of the young person: one branch each, so each uses its own index
    # (inside one OR, the tutors' subquery made PostgreSQL scan every appointment of the window: 175 ms at
    # scale 1). An appointment of a tutor with the young person elsewhere comes twice: kept once (by id).
    elsewhere = Appointment.desk_id.not_in(_IDS)  # the first branch has the desk's rows already
    busy_of = [Appointment.desk_id.in_(_IDS),
               sa.and_(Appointment.tutor_id.in_(tutors), elsewhere)]
    if with_person:
        busy_of.append(sa.and_(Appointment.young_person_id == sa.bindparam("young_person_id"), elsewhere))
    busy = [_branch(_BUSY, i1=Appointment.young_person_id, i2=Appointment.desk_id, i3=Appointment.tutor_id,
                    i4=Appointment.id, ts1=Appointment.starts_at, ts2=Appointment.ends_at)
            .where(Appointment.status.in_(Status.ACTIVE), Appointment.starts_at < _WINDOW_END,
                   Appointment.ends_at > _WINDOW_START, condition) for condition in busy_of]
    return sa.union_all(
        _branch(_SCHEDULE, i1=OpeningSchedule.id, i2=OpeningSchedule.desk_id, i4=ScheduleInterval.weekday,
                d1=OpeningSchedule.valid_from, d2=OpeningSchedule.valid_to, t1=ScheduleInterval.start,
                t2=ScheduleInterval.end)
        .select_from(OpeningSchedule)
        .outerjoin(ScheduleInterval, ScheduleInterval.schedule_id == OpeningSchedule.id)
        .where(*_SCHEDULES_APPLY),
        _branch(_CLOSURE, i2=Closure.desk_id, i3=Closure.municipality_id, ts1=Closure.starts_at,
                ts2=Closure.ends_at, s1=Closure.scope, s2=Closure.reason)
        .where(*_CLOSURES_APPLY),
        _branch(_EXTRA, i2=ExtraOpening.desk_id, d1=ExtraOpening.day, t1=ExtraOpening.start, t2=ExtraOpening.end)
        .where(*_EXTRAS_APPLY),
        _with_assigned_tutors(
            _branch(_AVAILABILITY, i1=TutorAvailability.id, i2=TutorAvailability.desk_id,
                    i3=TutorAvailability.tutor_id, i4=AvailabilityInterval.weekday,
                    d1=TutorAvailability.valid_from, d2=TutorAvailability.valid_to, t1=AvailabilityInterval.start,
                    t2=AvailabilityInterval.end).select_from(TutorAvailability))
        .outerjoin(AvailabilityInterval, AvailabilityInterval.availability_id == TutorAvailability.id)
        .where(*availability_applies),
        _branch(_ABSENCE, i3=TutorAbsence.tutor_id, ts1=TutorAbsence.starts_at, ts2=TutorAbsence.ends_at)
        .where(TutorAbsence.tutor_id.in_(tutors), *_ABSENCES_IN_WINDOW),
        *busy,
    )


# Built once per variant (building the statement costs more than running it).
_PICKER_STATEMENTS = {(one, person): _picker_statement(one, person) for one in (False, True) for person in (False, True)}


class _Closure(NamedTuple):
    scope: str
    desk_id: int | None
    municipality_id: int | None
    starts_at: datetime
    ends_at: datetime
    reason: str


class _Extra(NamedTuple):
    desk_id: int
    day: date
    start: time
    end: time


class _Absence(NamedTuple):
    tutor_id: int
    starts_at: datetime
    ends_at: datetime


def _nulls_last(value):
    """A sort key placing NULL after every value, as PostgreSQL's ascending ORDER BY does."""
    return (value is None, value)


def picker_inputs(desk: Desk, start: date, end: date, *, tutor_id: int | None = None,
                  young_person_id: int | None = None) \
        -> tuple[engine.DeskCalendar, list[engine.TutorCalendar], list[engine.Busy]]:
    """One desk's calendar, its tutors' calendars and the busy time that matters, in one statement.

    The same values, in the same order, as desk_calendar() + tutor_calendars([desk.id]) (narrowed to
    `tutor_id`) + the active appointments at the desk, of those tutors or of the young person that
    overlap the window one local day around start..end.
    """
    window_start, window_end = _utc_window(start, end)
    params = {"ids": [desk.id], "town_ids": [desk.municipality_id], "start": start, "end": end,
              "window_start": window_start, "window_end": window_end}
    if tutor_id is not None:
        params["tutor_id"] = tutor_id
    if young_person_id:
        params["young_person_id"] = young_person_id
    statement = _PICKER_STATEMENTS[(tutor_id is not None, bool(young_person_id))]
    kinds: list[list[_UnionRow]] = [[] for _ in range(6)]
    for row in db.session.execute(statement, params):
        kinds[row[0]].append(_UnionRow._make(row))
    schedules = sorted(kinds[_SCHEDULE], key=lambda r: (r.d1, r.i1, _nulls_last(r.i4), _nulls_last(r.t1)))
    closures = [_Closure(r.s1, r.i2, r.i3, r.ts1, r.ts2, r.s2)
                for r in sorted(kinds[_CLOSURE], key=lambda r: r.ts1)]
    extras = [_Extra(r.i2, r.d1, r.t1, r.t2) for r in sorted(kinds[_EXTRA], key=lambda r: (r.d1, r.t1))]
    availability = sorted(kinds[_AVAILABILITY],
                          key=lambda r: (r.i3, r.i2, r.d1, r.i1, _nulls_last(r.i4), _nulls_last(r.t1)))
    absences = [_Absence(r.i3, r.ts1, r.ts2) for r in sorted(kinds[_ABSENCE], key=lambda r: r.ts1)]
    town = desk.municipality
    desk_row = _DeskRow(desk.id, desk.municipality_id, desk.rooms, town.patron_month, town.patron_day,
                        town.patron_saint)
    calendar = _assemble_calendars([desk_row], start, end,
                                   [(r.i1, r.i2, r.d1, r.d2, r.i4, r.t1, r.t2) for r in schedules], closures,
                                   extras)[desk.id]
    tutors = _assemble_tutors([(r.i1, r.i3, r.i2, r.d1, r.d2, r.i4, r.t1, r.t2) for r in availability], absences)
    if tutor_id is not None:
        tutors = [t for t in tutors if t.tutor_id == tutor_id]
    once = {r.i4: r for r in kinds[_BUSY]}.values()  # by appointment id: one row per appointment
    busy = [engine.Busy(start=r.ts1, end=r.ts2, desk_id=r.i2, tutor_id=r.i3, young_person_id=r.i1)
            for r in sorted(once, key=lambda r: r.ts1)]
    return calendar, tutors, busy


# --- Preview -------------------------------------------------------------------------

def preview_with_schedule(desk: Desk, valid_from: date, valid_to: date | None, intervals: list[Weekly],
                          start: date, end: date, *, today: date | None = None) -> engine.DeskCalendar:
    """The desk's calendar as it would be with a new schedule from `valid_from` (nothing is saved).

    Raises Invalid when saving would be refused, so the preview says so before the user saves.
    """
    _check_period(valid_from, valid_to)
    _plan_schedule(desk, valid_from, valid_to, today or today_local())
    current = desk_calendar(desk, start, end)
    kept = []
    for sched in current.schedules:
        if not _overlaps(sched.valid_from, sched.valid_to, valid_from, valid_to):
            kept.append(sched)
            continue
        if sched.valid_from < valid_from:
            kept.append(engine.Schedule(sched.valid_from, valid_from - timedelta(days=1), sched.intervals))
        if valid_to is not None and (sched.valid_to is None or sched.valid_to > valid_to):
            kept.append(engine.Schedule(valid_to + timedelta(days=1), sched.valid_to, sched.intervals))
    kept.append(_engine_schedule(valid_from, valid_to, intervals))
    kept.sort(key=lambda s: s.valid_from)
    return engine.DeskCalendar(desk_id=current.desk_id, schedules=tuple(kept), closures=current.closures,
                               extra_openings=current.extra_openings, holidays=current.holidays,
                               rooms=current.rooms)


def open_days(calendar: engine.DeskCalendar, start: date, end: date) -> list[engine.DaySummary]:
    """Per local day start..end: open intervals, holiday, closures and extra openings (engine's view)."""
    days = []
    day = start
    while day <= end:
        days.append(engine.day_summary(calendar, day))
        day += timedelta(days=1)
    return days
