"""Role calendars: the agenda (operator, tutor, coordinator, admin) and occupancy without names.

The agenda lists `policy.scoped_appointments` for a window (a day, a week, or for a tutor
today and the week ahead) with filters (desk, town, tutor, status). Occupancy (municipal
contacts, observers) splits each desk's open hours into its slots and counts active
appointments against rooms: numbers only, never a name or a code.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask import url_for

from app import policy
from app.domain import availability as engine
from app.domain import numbers
from app.extensions import db
from app.formatting import ROME
from app.models import DESK_SERVICES, MODES, STATUS_LABELS, Appointment, Desk, Organisation, Status, User
from app.models.base import utcnow

VIEWS = ("day", "week")
TUTOR_DAYS_AHEAD = 7
OCCUPANCY_MAX_DAYS = 7


def today_local(now: datetime | None = None) -> date:
    """Today's date in Rome."""
    return (now or utcnow()).astimezone(ROME).date()


def local_midnight(day: date) -> datetime:
    """00:00 in Rome of a local date (aware)."""
    return datetime.combine(day, datetime.min.time(), ROME)


def _int(value) -> int | None:
    return numbers.int_or_none(value)


@dataclass
class AgendaFilters:
    """What the agenda shows: a window and optional filters."""

    view: str
    day: date
    desk_id: int | None = None
    town_id: int | None = None
    tutor_id: int | None = None
    status: str | None = None

    @property
    def first(self) -> date:
        return self.day - timedelta(days=self.day.weekday()) if self.view == "week" else self.day

    @property
    def last(self) -> date:
        if self.view == "week":
            return self.first + timedelta(days=6)
        if self.view == "ahead":
            return self.day + timedelta(days=TUTOR_DAYS_AHEAD)
        return self.day

    @property
    def prev_day(self) -> date:
        return self.day - timedelta(days=7 if self.view in ("week", "ahead") else 1)

    @property
    def next_day(self) -> date:
        return self.day + timedelta(days=7 if self.view in ("week", "ahead") else 1)

    def args(self, **overrides) -> dict:
        """Query-string arguments that reproduce these filters (with changes)."""
        values = {"vista": self.view, "data": self.day.isoformat(), "sportello": self.desk_id,
                  "comune": self.town_id, "tutor": self.tutor_id, "stato": self.status}
        values.update(overrides)
        return {k: v for k, v in values.items() if v not in (None, "")}


def parse_filters(args, user) -> AgendaFilters:
    """Filters from the query string; a tutor's default is today and the week ahead."""
    personal = policy.agenda_is_personal(user)
    default_view = "ahead" if personal else "day"
    view = args.get("vista", default_view)
    if view not in VIEWS + ("ahead",):
        view = default_view
    try:
        day = date.fromisoformat(args.get("data", ""))
    except ValueError:
        day = today_local()
    status = args.get("stato") or None
    return AgendaFilters(view=view, day=day, desk_id=_int(args.get("sportello")), town_id=_int(args.get("comune")),
                         tutor_id=_int(args.get("tutor")), status=status if status in Status.ALL else None)


@dataclass
class FilterChoices:
    """The options of the agenda filters, each within the user's scope."""

    desks: list[Desk] = field(default_factory=list)
    towns: list[Organisation] = field(default_factory=list)
    tutors: list[User] = field(default_factory=list)


def filter_choices(user) -> FilterChoices:
    """Desks, towns and tutors the user may filter by."""
    desks = list(db.session.scalars(policy.agenda_desks(sa.select(Desk), user).where(Desk.active.is_(True))
                                    .options(sa.orm.lazyload(Desk.service_rows)).order_by(Desk.name)))
    towns = sorted({d.municipality for d in desks}, key=lambda t: t.name)
    tutors = list(db.session.scalars(policy.agenda_tutors(sa.select(User), user).where(User.active.is_(True))
                                     .order_by(User.full_name)))
    return FilterChoices(desks=desks, towns=towns, tutors=tutors)


def _window(query: sa.Select, user, filters: AgendaFilters) -> sa.Select:
    """`query` (over appointments) narrowed to the user's scope, the window and the filters, by start time."""
    query = policy.scoped_appointments(query, user).where(
        Appointment.starts_at >= local_midnight(filters.first),
        Appointment.starts_at < local_midnight(filters.last + timedelta(days=1)))
    if filters.desk_id:
        query = query.where(Appointment.desk_id == filters.desk_id)
    if filters.town_id:
        query = query.where(Appointment.desk_id.in_(sa.select(Desk.id).where(Desk.municipality_id == filters.town_id)))
    if filters.tutor_id:
        query = query.where(Appointment.tutor_id == filters.tutor_id)
    if filters.status:
        query = query.where(Appointment.status == filters.status)
    return query.order_by(Appointment.starts_at, Appointment.id)


def appointments(user, filters: AgendaFilters) -> list[Appointment]:
    """Appointments in scope and in the window, filtered, by start time (whole objects: the day sheet)."""
    # The sheet shows names, phones and labels: the desk's town, partner and services and the tutor's
    # organisation (joined or selectin loads on every row) are not read.
    desk = sa.orm.defaultload(Appointment.desk)
    return list(db.session.scalars(_window(sa.select(Appointment), user, filters).options(
        desk.lazyload(Desk.service_rows), desk.lazyload(Desk.municipality), desk.lazyload(Desk.partner),
        sa.orm.defaultload(Appointment.tutor).lazyload(User.organisation))))


@dataclass(frozen=True, slots=True)
class AgendaRow:
    """One line of the agenda: the columns it shows, read as values, not as ORM objects.

    A tutor's week at ten years of data holds about 40 of them: whole appointments, each joined to
    its desk, tutor and young person, cost ~0.2 ms a row to load, more than the rest of the page
    (docs/benchmarks.md). The person's name and code come separately, only for the people the user
    may see (`visible_people`).
    """

    id: int
    starts_at: datetime
    ends_at: datetime
    status: str
    service: str
    mode: str
    young_person_id: int
    desk_name: str
    tutor_name: str


def agenda_rows(user, filters: AgendaFilters) -> list[AgendaRow]:
    """The agenda's lines in scope and in the window, filtered, by start time (one statement)."""
    query = _window(sa.select(Appointment.id, Appointment.starts_at, Appointment.ends_at, Appointment.status,
                              Appointment.service, Appointment.mode, Appointment.young_person_id,
                              Desk.name, User.full_name)
                    .join(Desk, Desk.id == Appointment.desk_id).join(User, User.id == Appointment.tutor_id),
                    user, filters)
    return [AgendaRow(*row) for row in db.session.execute(query)]


def visible_people(user, rows: list[Appointment] | list[AgendaRow]) -> dict[int, tuple[str, str]]:
    """Name and code of the young people of these rows whom the user may see by name, by id (one query)."""
    return policy.names_in_scope(user, {a.young_person_id for a in rows})


def id_url(endpoint: str, name: str) -> Callable[[int], str]:
    """`url_for(endpoint, **{name: id})` for the many ids of one page: the rule is built once.

    Werkzeug builds a URL in ~30 µs; two links on each of a week's rows made that a tenth of the page.
    """
    marker = "2147483647"
    head, tail = url_for(endpoint, **{name: int(marker)}).split(marker)
    return lambda value: f"{head}{int(value)}{tail}"


def row_labels() -> dict[str, dict[str, str]]:
    """Status, service and mode names translated once per page (a row's own labels translate on every use)."""
    return {"status": {code: str(label) for code, label in STATUS_LABELS.items()},
            "service": {code: str(label) for code, label in DESK_SERVICES.items()},
            "mode": {code: str(label) for code, label in MODES.items()}}


def by_day(rows: list[AgendaRow], first: date, last: date) -> OrderedDict[date, list[AgendaRow]]:
    """Every local day of the window (empty ones too) with its appointments."""
    days: OrderedDict[date, list[AgendaRow]] = OrderedDict()
    day = first
    while day <= last:
        days[day] = []
        day += timedelta(days=1)
    for row in rows:
        local = row.starts_at.astimezone(ROME).date()
        if local in days:
            days[local].append(row)
    return days


def sheet_desk(user, desk_id: int | None) -> Desk | None:
    """A desk whose day sheet (with phone numbers) the user may print: the desks where they book."""
    if desk_id is None:
        return None
    return db.session.scalar(policy.bookable_desks(sa.select(Desk), user).where(Desk.id == desk_id))


# --- Occupancy (no names) -------------------------------------------------------------------

@dataclass
class SlotCount:
    """One slot of a desk's open hours: how many rooms are taken."""

    start: datetime
    end: datetime
    taken: int
    rooms: int

    @property
    def level(self) -> str:
        if self.taken <= 0:
            return "free"
        return "full" if self.taken >= self.rooms else "partial"


@dataclass
class DeskOccupancy:
    """A desk's slots on each day of the window."""

    desk: Desk
    days: OrderedDict[date, list[SlotCount]]

    appointments: int = 0

    @property
    def slots(self) -> int:
        return sum(len(slots) for slots in self.days.values())

    @property
    def full(self) -> int:
        return sum(1 for slots in self.days.values() for s in slots if s.level == "full")


def occupancy_towns(user) -> list[Organisation]:
    """Municipalities of the desks the user may see."""
    desks = db.session.scalars(policy.occupancy_desks(sa.select(Desk), user).where(Desk.active.is_(True)))
    return sorted({d.municipality for d in desks}, key=lambda t: t.name)


def occupancy(user, first: date, last: date, town_id: int | None = None) -> list[DeskOccupancy]:
    """Per desk in scope, per day and slot: active appointments against rooms (counts only)."""
    from app.desks import services as desk_services

    query = policy.occupancy_desks(sa.select(Desk), user).where(Desk.active.is_(True))
    if town_id:
        query = query.where(Desk.municipality_id == town_id)
    desks = list(db.session.scalars(query.order_by(Desk.name)))
    if not desks:
        return []
    calendars = desk_services.desk_calendars([d.id for d in desks], first, last)
    start, end = local_midnight(first), local_midnight(last + timedelta(days=1))
    rows = db.session.execute(sa.select(Appointment.desk_id, Appointment.starts_at, Appointment.ends_at).where(
        Appointment.desk_id.in_([d.id for d in desks]), Appointment.status.in_(Status.ACTIVE),
        Appointment.starts_at < end, Appointment.ends_at > start)).all()
    result = []
    for desk in desks:
        busy = [(r.starts_at, r.ends_at) for r in rows if r.desk_id == desk.id]
        days: OrderedDict[date, list[SlotCount]] = OrderedDict()
        day = first
        while day <= last:
            days[day] = []
            day += timedelta(days=1)
        # The engine's grid: slots of slot_minutes cut every slot_minutes + buffer from each opening.
        length = timedelta(minutes=desk.slot_minutes)
        step = length + timedelta(minutes=desk.buffer_minutes)
        for interval in engine.open_intervals(calendars[desk.id], first, last):
            cursor = interval.start
            while cursor + length <= interval.end:
                slot_end = cursor + length
                taken = sum(1 for s, e in busy if s < slot_end and e > cursor)
                local_day = cursor.astimezone(ROME).date()
                if local_day in days:
                    days[local_day].append(SlotCount(cursor, slot_end, taken, desk.rooms))
                cursor += step
        result.append(DeskOccupancy(desk=desk, days=days, appointments=len(busy)))
    return result
