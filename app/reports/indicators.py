"""Monitoring indicators (issue 8), computed by the database and scoped to the viewer.

Public API (used by the dashboard, the CSV export, the charts and the quarterly report):

    filters = ReportFilters(start=date(2026, 1, 1), end=date(2026, 3, 31), town_id=...)
    report = report_for(current_user, filters)
    report.headline["reached"].shown          # "12", "<5" or "—"
    report.tables["by_month"].rows            # Row(key "2026-03", label "mar 2026", cells)
    report.table("by_town").total             # the total Row; .reserved: protected records' row

Every number is a `Cell`: what the viewer may see (`shown`), the value (None when
suppressed or not applicable) and whether it was suppressed. Municipal contacts and
observers get small counts suppressed (app/domain/suppression.py, docs/reports.md).
Aggregates are GROUP BY / window-function queries whose number does not depend on
the amount of data; only the desks' opening hours come from the availability engine.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import aliased

from app.domain import suppression
from app.domain.errors import Invalid
from app.extensions import db
from app.models import Appointment, Desk, Organisation, Ticket, WaitingEntry, YoungPerson
from app.models.appointment import Status
from app.models.base import UTCDateTime
from app.models.desk import DESK_SERVICES, DeskService
from app.models.note import OUTCOMES, PROGRESS, REFERRALS, Note, NoteOutcome, NoteStatus
from app.models.ticket import ticket_appointments
from app.models.young_person import GENDERS, STUDY_WORK_STATUSES
from app.policy import reports as policy

ROME = ZoneInfo("Europe/Rome")

# Keys of the headline numbers, in display order.
HEADLINE_KEYS: tuple[str, ...] = (
    "reached",            # distinct young people with an attended session in the period
    "reached_new",        # ... whose first-ever attended session is in the period
    "reached_returning",  # ... who had attended before the period
    "sessions",           # attended sessions
    "no_shows",           # no-show appointments
    "attendance_rate",    # attended / (attended + no-show), percent
    "no_show_rate",       # no-show / (attended + no-show), percent
    "hours_open",         # opening hours of the desks in scope (availability engine)
    "hours_booked",       # hours of active appointments (booked, confirmed, attended)
    "occupancy",          # hours booked / hours open, percent
    "waiting_median",     # days from request (ticket or waiting entry) to first appointment
    "waiting_p90",        # 90th percentile of the same
)

# Keys of the tables, in display order.
TABLE_KEYS: tuple[str, ...] = (
    "by_month", "by_town", "by_desk", "by_outcome", "referrals", "age_bands", "gender", "study_work",
)

# Longest period a report may cover (months in the trend table).
MAX_MONTHS = 60


@dataclass(frozen=True)
class ReportFilters:
    """What a report covers: a period (inclusive local dates, Europe/Rome) and optional filters."""

    start: date
    end: date
    town_id: int | None = None
    desk_id: int | None = None
    organisation_id: int | None = None
    service: str | None = None

    def query_args(self) -> dict[str, str]:
        """The filters as URL query arguments (dates as ISO), for links and the export."""
        args = {"dal": self.start.isoformat(), "al": self.end.isoformat()}
        for name, value in (("comune", self.town_id), ("sportello", self.desk_id),
                            ("organizzazione", self.organisation_id), ("servizio", self.service)):
            if value is not None:
                args[name] = str(value)
        return args

    @property
    def is_filtered(self) -> bool:
        """True when anything beyond the period narrows the report."""
        return any(v is not None for v in (self.town_id, self.desk_id, self.organisation_id, self.service))


@dataclass(frozen=True)
class Cell:
    """One number as the viewer may see it."""

    value: int | float | None  # None when suppressed or not applicable
    shown: str                 # "12", "<5", "—", "45,3 %"
    suppressed: bool = False


@dataclass(frozen=True)
class Row:
    """One row of a table: a stable key (month "2026-03", desk id, outcome number...), a label, its cells."""

    key: str
    label: str
    cells: tuple[Cell, ...]
    is_total: bool = False


@dataclass(frozen=True)
class Table:
    """A table with its column headings.

    `rows` are the breakdown rows only (months, desks, outcomes...); `reserved` is the row of the
    protected records (they count only in totals: never in a breakdown row), `total` the total
    row. `all_rows` gives all three in display order. `kinds` says per column "count", "hours"
    or "percent" (only counts are ever suppressed).
    """

    key: str
    title: str
    label_heading: str
    columns: tuple[str, ...]
    rows: tuple[Row, ...]
    total: Row | None = None
    note: str = ""
    reserved: Row | None = None
    kinds: tuple[str, ...] = ()

    @property
    def all_rows(self) -> tuple[Row, ...]:
        """The rows, then the protected records' row, then the total row."""
        return self.rows + tuple(r for r in (self.reserved, self.total) if r is not None)


@dataclass(frozen=True)
class Report:
    """Everything the dashboard, the CSV and the quarterly report show, already scoped and suppressed."""

    filters: ReportFilters
    scope_label: str                       # e.g. "Comune di Rodano", "Tutta la rete"
    suppressed: bool                       # True when small counts are hidden for this viewer
    generated_at: datetime                 # aware, UTC
    headline: dict[str, Cell]              # HEADLINE_KEYS -> Cell
    headline_labels: dict[str, str]        # HEADLINE_KEYS -> Italian label
    tables: dict[str, Table]               # TABLE_KEYS -> Table
    filter_labels: tuple[tuple[str, str], ...] = field(default=())  # ("Comune", "Rodano"), ...

    def table(self, key: str) -> Table:
        return self.tables[key]


_MONTHS = (_l("gen"), _l("feb"), _l("mar"), _l("apr"), _l("mag"), _l("giu"),
           _l("lug"), _l("ago"), _l("set"), _l("ott"), _l("nov"), _l("dic"))
AGE_BAND_ROWS: tuple[str, ...] = ("<14", "14-17", "18-24", "25-35", "altro")
COUNT, HOURS, PERCENT = "count", "hours", "percent"


# --------------------------------------------------------------------------------------------
# Formatting (Italian: comma decimals, dot thousands)

def format_count(value: int | None) -> str:
    return suppression.shown(value)


def format_decimal(value: float | None, digits: int = 1) -> str:
    """A number with an Italian decimal comma and dot thousands (1.234,5)."""
    if value is None:
        return "—"
    text = f"{value:,.{digits}f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def _cell(value, kind: str = COUNT, *, primary: bool = False, secondary: bool = False) -> Cell:
    if primary or secondary:
        return Cell(None, suppression.SMALL if primary else suppression.HIDDEN, True)
    if value is None:
        return Cell(None, "—", False)
    if kind == COUNT:
        return Cell(int(value), format_count(int(value)), False)
    if kind == PERCENT:
        return Cell(round(float(value), 1), format_decimal(value) + " %", False)
    return Cell(round(float(value), 1), format_decimal(value), False)


def month_label(yyyymm: int) -> str:
    return f"{_MONTHS[yyyymm % 100 - 1]} {yyyymm // 100}"


# --------------------------------------------------------------------------------------------
# Periods and dates in SQL (one code path for SQLite and PostgreSQL)

def _utc_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """Local midnight of `start` and of the day after `end`, as aware UTC instants."""
    lo = datetime.combine(start, time(), ROME).astimezone(UTC)
    hi = datetime.combine(end + timedelta(days=1), time(), ROME).astimezone(UTC)
    return lo, hi


def _months(start: date, end: date) -> list[int]:
    out, y, m = [], start.year, start.month
    while (y, m) <= (end.year, end.month):
        out.append(y * 100 + m)
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def _summer_time(year: int) -> tuple[datetime, datetime]:
    """EU summer time of a year: last Sunday of March 01:00 UTC to last Sunday of October 01:00 UTC."""
    def last_sunday(month: int) -> date:
        day = date(year, month, 31)
        return day - timedelta(days=(day.weekday() + 1) % 7)
    return (datetime.combine(last_sunday(3), time(1), UTC), datetime.combine(last_sunday(10), time(1), UTC))


def _local_ymd(column, start: date, end: date):
    """The local (Europe/Rome) date of a UTC timestamp column as an integer yyyymmdd."""
    if _dialect() == "postgresql":
        return sa.cast(sa.func.to_char(sa.func.timezone("Europe/Rome", column), "YYYYMMDD"), sa.Integer)
    whens = []
    for year in range(start.year - 1, end.year + 2):
        summer_from, summer_to = _summer_time(year)
        whens.append((sa.and_(column >= summer_from, column < summer_to), "+2 hours"))
    return sa.cast(sa.func.strftime("%Y%m%d", column, sa.case(*whens, else_="+1 hours")), sa.Integer)


def _birth_ymd():
    if _dialect() == "postgresql":
        return sa.cast(sa.func.to_char(YoungPerson.birth_date, "YYYYMMDD"), sa.Integer)
    return sa.cast(sa.func.replace(YoungPerson.birth_date, "-", ""), sa.Integer)


def _hours_between(later, earlier):
    if _dialect() == "postgresql":
        return sa.func.extract("epoch", later - earlier) / 3600.0
    return (sa.func.julianday(later) - sa.func.julianday(earlier)) * 24.0


# --------------------------------------------------------------------------------------------
# Raw numbers (before suppression)

@dataclass
class _RawTable:
    key: str
    title: str
    label_heading: str
    columns: tuple[str, ...]
    kinds: tuple[str, ...]
    rows: list[tuple[str, str, list]]          # (key, label, values)
    reserved: list | None                      # protected records' contribution (counts only)
    total: list | None
    row_sums: tuple[tuple[int, tuple[int, ...]], ...] = ()
    note: str = ""


@dataclass
class _Raw:
    headline: dict[str, float | int | None]
    waiting_n: int
    tables: dict[str, _RawTable]


def _filter_conditions(f: ReportFilters) -> list:
    conditions = []
    if f.town_id is not None:
        conditions.append(Desk.municipality_id == f.town_id)
    if f.desk_id is not None:
        conditions.append(Appointment.desk_id == f.desk_id)
    if f.organisation_id is not None:
        from app.policy.people import _org_tutor_ids

        conditions.append(sa.or_(Desk.partner_id == f.organisation_id,
                                 Appointment.tutor_id.in_(_org_tutor_ids(f.organisation_id))))
    if f.service is not None:
        conditions.append(Appointment.service == f.service)
    return conditions


def _sessions(viewer, f: ReportFilters, *columns, statuses=(Status.ATTENDED, Status.NO_SHOW)):
    """SELECT columns FROM appointments ⋈ desks ⋈ young_people in the period, scope and filters."""
    lo, hi = _utc_bounds(f.start, f.end)
    return (
        sa.select(*columns)
        .select_from(Appointment)
        .join(Desk, Desk.id == Appointment.desk_id)
        .join(YoungPerson, YoungPerson.id == Appointment.young_person_id)
        .where(Appointment.starts_at >= lo, Appointment.starts_at < hi, Appointment.status.in_(statuses),
               policy.report_appointment_scope(viewer), *_filter_conditions(f))
    )


_ATTENDED = Appointment.status == Status.ATTENDED
_NO_SHOW = Appointment.status == Status.NO_SHOW
AGE_BAND_SQL_ORDER = ((14, "<14"), (18, "14-17"), (25, "18-24"), (36, "25-35"))


def _month_starts(f: ReportFilters) -> dict[int, datetime]:
    """yyyymm -> the UTC instant of that local month's first midnight, for each month of the period."""
    return {m: _utc_bounds(date(m // 100, m % 100, 1), date(m // 100, m % 100, 1))[0] for m in _months(f.start, f.end)}


def _month_of(starts: dict[int, datetime]):
    """The local month (yyyymm) of each session, by comparing its start with the months' first instants.

    Comparisons of timestamps, where formatting a local date costs a time zone conversion per row.
    """
    months = list(starts)
    whens = [(Appointment.starts_at < starts[nxt], cur) for cur, nxt in zip(months, months[1:], strict=False)]
    return sa.case(*whens, else_=months[-1]) if whens else sa.literal(months[-1])


def _age_years(f: ReportFilters):
    """The young person's age in whole years on the (local) day of the session."""
    if _dialect() == "postgresql":
        # age() borrows like the yyyymmdd subtraction below (born 29/2: one year older on 1/3), without
        # formatting two dates per row.
        return sa.func.date_part("year", sa.func.age(sa.func.timezone("Europe/Rome", Appointment.starts_at),
                                                     YoungPerson.birth_date))
    return (_local_ymd(Appointment.starts_at, f.start, f.end) - _birth_ymd()) // 10000


def _people(viewer, f: ReportFilters) -> dict[str, dict[str, list[int]]]:
    """Every count of people and sessions in ONE statement: kind -> key -> [reached, new, sessions, no-shows].

    The period's sessions are read once (an index-only range scan on `starts_at` where the index
    exists, migration 0013) and grouped per young person and breakdown key (`cells`); the tables
    then group those few rows again, per key and person, so a young person counts once per row
    without a DISTINCT over the period's appointments. "New" needs each young person's first
    attended session ever: one index probe per *person* (`people`), not one per appointment.
    A young person is new in the period when that first session is not before the period, and new
    in a month when it is not before that month's start and the month is their first attended
    month of the period (any later month has an earlier attended session in the period).
    Kinds: head (key "p" protected / "n" the others), month, month_new, desk, town, band, gender,
    study_work; every kind but head leaves the protected records out (they count in totals only).
    """
    starts = _month_starts(f)
    band = sa.case(*((_age_years(f) < limit, key) for limit, key in AGE_BAND_SQL_ORDER), else_="altro")
    attended = sa.func.sum(sa.case((_ATTENDED, 1), else_=0))
    no_show = sa.func.sum(sa.case((_NO_SHOW, 1), else_=0))
    keys = (Appointment.young_person_id.label("yp"), Appointment.desk_id.label("desk"),
            Desk.municipality_id.label("town"), _month_of(starts).label("mon"), band.label("band"),
            YoungPerson.protected.label("prot"), YoungPerson.gender.label("gender"),
            YoungPerson.study_work_status.label("sw"))
    cells = (_sessions(viewer, f, *keys, attended.label("att"), no_show.label("ns"))
             .group_by(*(k.element for k in keys)).cte("cells"))

    prior = aliased(Appointment)
    first_ever = (sa.select(sa.func.min(prior.starts_at))
                  .where(prior.young_person_id == cells.c.yp, prior.status == Status.ATTENDED).scalar_subquery())
    people = (sa.select(cells.c.yp, cells.c.prot, cells.c.gender, cells.c.sw,
                        sa.func.sum(cells.c.att).label("att"), sa.func.sum(cells.c.ns).label("ns"),
                        sa.func.min(sa.case((cells.c.att > 0, cells.c.mon))).label("first_mon"),
                        first_ever.label("first"))
              .group_by(cells.c.yp, cells.c.prot, cells.c.gender, cells.c.sw).cte("people"))

    def one_if(condition):
        return sa.func.sum(sa.case((condition, 1), else_=0))

    def counts(source, kind: str, key, *, new=None):
        reached = one_if(source.c.att > 0)
        return (sa.literal(kind).label("kind"), sa.cast(key, sa.String).label("k"), reached.label("reached"),
                (new if new is not None else sa.literal(0)).label("new"),
                sa.func.sum(source.c.att).label("sessions"), sa.func.sum(source.c.ns).label("no_shows"))

    lo = sa.literal(_utc_bounds(f.start, f.end)[0], UTCDateTime())
    visible = people.c.prot.is_(False)
    prot_key = sa.case((people.c.prot.is_(True), "p"), else_="n")
    parts = [
        sa.select(*counts(people, "head", prot_key, new=one_if(sa.and_(people.c.att > 0, people.c.first >= lo))))
        .group_by(prot_key),
        sa.select(*counts(people, "gender", people.c.gender)).where(visible).group_by(people.c.gender),
        sa.select(*counts(people, "study_work", people.c.sw)).where(visible).group_by(people.c.sw),
    ]
    first_month_start = sa.case(*((people.c.first_mon == m, sa.literal(ts, UTCDateTime())) for m, ts in starts.items()))
    parts.append(
        sa.select(sa.literal("month_new").label("kind"), sa.cast(people.c.first_mon, sa.String).label("k"),
                  sa.literal(0).label("reached"), sa.func.count().label("new"), sa.literal(0).label("sessions"),
                  sa.literal(0).label("no_shows"))
        .where(visible, people.c.first_mon.is_not(None), people.c.first >= first_month_start)
        .group_by(people.c.first_mon))
    for kind, column in (("month", cells.c.mon), ("desk", cells.c.desk), ("town", cells.c.town),
                         ("band", cells.c.band)):
        per_person = (sa.select(column.label("key"), cells.c.yp, sa.func.sum(cells.c.att).label("att"),
                                sa.func.sum(cells.c.ns).label("ns"))
                      .where(cells.c.prot.is_(False)).group_by(column, cells.c.yp).subquery(f"{kind}_people"))
        parts.append(sa.select(*counts(per_person, kind, per_person.c.key)).group_by(per_person.c.key))
    out: dict[str, dict[str, list[int]]] = {}
    for kind, key, *values in db.session.execute(sa.union_all(*parts)):
        out.setdefault(kind, {})[key] = [int(v or 0) for v in values]
    return out


def _counts(viewer, f: ReportFilters) -> _Raw:
    """Every count of a report (not hours, not waiting): people in one statement, outcomes, referrals."""
    people = _people(viewer, f)
    head = people.get("head", {})
    mine, theirs = head.get("n", [0, 0, 0, 0]), head.get("p", [0, 0, 0, 0])
    p_reached, p_new, p_sessions, p_no_shows = theirs
    reached, new, sessions, no_shows = (a + b for a, b in zip(mine, theirs, strict=True))
    headline: dict = {"reached": reached, "reached_new": new, "reached_returning": reached - new,
                      "sessions": sessions, "no_shows": no_shows}
    reserved3 = [p_reached, p_sessions, p_no_shows]
    total3 = [reached, sessions, no_shows]
    reserved2, total2 = [p_reached, p_sessions], [reached, sessions]
    tables: dict[str, _RawTable] = {}
    c_reached, c_new = _("Giovani raggiunti"), _("di cui nuovi")
    c_sessions, c_no_shows = _("Sessioni svolte"), _("Assenze")

    def three(kind: str) -> dict[str, list[int]]:
        """key -> [reached, sessions, no-shows]"""
        return {k: [v[0], v[2], v[3]] for k, v in people.get(kind, {}).items()}

    months, month_new = people.get("month", {}), people.get("month_new", {})
    by_month = {int(k): [v[0], month_new.get(k, [0, 0])[1], v[2], v[3]] for k, v in months.items()}
    tables["by_month"] = _RawTable(
        "by_month", _("Andamento per mese"), _("Mese"), (c_reached, c_new, c_sessions, c_no_shows), (COUNT,) * 4,
        [(f"{m // 100}-{m % 100:02d}", month_label(m), by_month.get(m, [0, 0, 0, 0])) for m in _months(f.start, f.end)],
        [p_reached, p_new, p_sessions, p_no_shows], [reached, new, sessions, no_shows],
        note=_("Chi torna in più mesi è contato in ogni mese: il totale conta ciascuno una volta."))

    tables["by_desk"] = _RawTable("by_desk", _("Per sportello"), _("Sportello"),
                                  (c_reached, c_sessions, c_no_shows), (COUNT,) * 3,
                                  [(k, "", v) for k, v in three("desk").items()], reserved3, total3)
    tables["by_town"] = _RawTable("by_town", _("Per comune dello sportello"), _("Comune"),
                                  (c_reached, c_sessions, c_no_shows), (COUNT,) * 3,
                                  [(k, "", v) for k, v in three("town").items()], reserved3, total3)

    for key, title, heading, kind, labels in (
        ("age_bands", _("Per fascia d'età (alla data della sessione)"), _("Fascia d'età"), "band",
         {"<14": _("meno di 14 anni"), "14-17": _("14–17 anni"), "18-24": _("18–24 anni"),
          "25-35": _("25–35 anni"), "altro": _("altra età")}),
        ("gender", _("Per genere"), _("Genere"), "gender", {k: str(v) for k, v in GENDERS.items()}),
        ("study_work", _("Per condizione di studio o lavoro"), _("Condizione"), "study_work",
         {k: str(v) for k, v in STUDY_WORK_STATUSES.items()}),
    ):
        grouped = three(kind)
        tables[key] = _RawTable(key, title, heading, (c_reached, c_sessions), (COUNT, COUNT),
                                [(k, label, grouped.get(k, [0, 0, 0])[:2]) for k, label in labels.items()],
                                reserved2, total2)

    # Outcomes and referrals: final notes of attended sessions, read once for both tables.
    progress = list(PROGRESS)
    outcome_rows, referral_rows = _final_notes(viewer, f, progress)
    outcomes = {n: [0] * (1 + len(progress)) for n in OUTCOMES}
    reserved_outcomes = [0] * (1 + len(progress))
    for number, is_protected, *values in outcome_rows:
        target = reserved_outcomes if is_protected else outcomes[number]
        for i, v in enumerate(values):
            target[i] += int(v or 0)
    tables["by_outcome"] = _RawTable(
        "by_outcome", _("Sessioni e progressi per obiettivo"), _("Obiettivo"),
        (_("Sessioni"),) + tuple(str(PROGRESS[p]) for p in progress), (COUNT,) * 4,
        [(str(n), f"{n}. {OUTCOMES[n]}", outcomes[n]) for n in OUTCOMES], reserved_outcomes,
        [sum(col) for col in zip(*(list(outcomes.values()) + [reserved_outcomes]), strict=True)],
        row_sums=((0, (1, 2, 3)),),
        note=_("Una sessione può lavorare su più obiettivi: è contata in ciascuno. Solo note finalizzate."))

    referrals = {code: 0 for code in REFERRALS}
    reserved_referrals = 0
    for is_protected, *values in referral_rows:
        if is_protected:
            reserved_referrals += sum(int(v or 0) for v in values)
        else:
            for code, v in zip(REFERRALS, values, strict=True):
                referrals[code] += int(v or 0)
    tables["referrals"] = _RawTable(
        "referrals", _("Invii ad altri servizi"), _("Destinazione"), (_("Sessioni con invio"),), (COUNT,),
        [(code, str(REFERRALS[code]), [referrals[code]]) for code in REFERRALS], [reserved_referrals],
        [sum(referrals.values()) + reserved_referrals],
        note=_("Una sessione con più invii è contata per ciascuna destinazione. Solo note finalizzate."))
    return _Raw(headline, 0, tables)


def _final_notes(viewer, f: ReportFilters, progress: list[str]) -> tuple[list, list]:
    """(outcome, protected, sessions, one count per progress mark) rows and (protected, one count per referral)
    rows, in one statement: the final notes of the period's attended sessions are joined once (`final_notes`,
    one row per outcome), their outcomes grouped per outcome, their referrals counted once per note."""
    notes = (_sessions(viewer, f, Note.id.label("note"), Note.referrals.label("refs"),
                       YoungPerson.protected.label("prot"), NoteOutcome.outcome.label("outcome"),
                       NoteOutcome.progress.label("progress"), statuses=(Status.ATTENDED,))
             .join(Note, sa.and_(Note.appointment_id == Appointment.id, Note.status == NoteStatus.FINAL))
             .outerjoin(NoteOutcome, NoteOutcome.note_id == Note.id)
             .cte("final_notes"))
    width = max(1 + len(progress), len(REFERRALS))

    def padded(values: list) -> list:
        return values + [sa.literal(0)] * (width - len(values))

    by_outcome = (
        sa.select(sa.literal("outcome").label("kind"), notes.c.outcome, notes.c.prot,
                  *padded([sa.func.count()] + [sa.func.sum(sa.case((notes.c.progress == p, 1), else_=0))
                                               for p in progress]))
        .where(notes.c.outcome.is_not(None)).group_by(notes.c.outcome, notes.c.prot))
    # A note has one row per outcome: its referrals are counted once (only notes with referrals, ~15 %).
    per_note = (sa.select(notes.c.note, notes.c.prot, notes.c.refs).where(notes.c.refs != "")
                .group_by(notes.c.note, notes.c.prot, notes.c.refs).subquery("notes_once"))
    wrapped = sa.literal(",") + per_note.c.refs + sa.literal(",")
    by_referral = (
        sa.select(sa.literal("referral").label("kind"), sa.cast(sa.null(), sa.Integer), per_note.c.prot,
                  *padded([sa.func.sum(sa.case((wrapped.like(f"%,{code},%"), 1), else_=0)) for code in REFERRALS]))
        .group_by(per_note.c.prot))
    outcome_rows, referral_rows = [], []
    for kind, number, is_protected, *values in db.session.execute(sa.union_all(by_outcome, by_referral)):
        if kind == "outcome":
            outcome_rows.append((number, is_protected, *values[:1 + len(progress)]))
        else:
            referral_rows.append((is_protected, *values[:len(REFERRALS)]))
    return outcome_rows, referral_rows


def _hours(viewer, f: ReportFilters) -> tuple[dict[int, float], dict[int, float], dict[int, tuple[str, int]]]:
    """Opening hours (availability engine) and booked hours (SQL) of the desks in the viewer's hours scope."""
    from app.desks.services import desk_calendars
    from app.domain.availability import open_intervals

    query = policy.report_hours_desks(sa.select(Desk.id, Desk.name, Desk.municipality_id), viewer)
    if f.town_id is not None:
        query = query.where(Desk.municipality_id == f.town_id)
    if f.desk_id is not None:
        query = query.where(Desk.id == f.desk_id)
    if f.organisation_id is not None:
        query = query.where(Desk.partner_id == f.organisation_id)
    if f.service is not None:
        query = query.where(Desk.id.in_(sa.select(DeskService.desk_id).where(DeskService.service == f.service)))
    desks = {row.id: (row.name, row.municipality_id) for row in db.session.execute(query)}
    if not desks:
        return {}, {}, {}
    opened = {}
    for desk_id, calendar in desk_calendars(desks, f.start, f.end).items():
        seconds = sum((i.end - i.start).total_seconds() for i in open_intervals(calendar, f.start, f.end))
        opened[desk_id] = seconds / 3600
    lo, hi = _utc_bounds(f.start, f.end)
    booked_query = (
        sa.select(Appointment.desk_id, sa.func.sum(_hours_between(Appointment.ends_at, Appointment.starts_at)))
        .where(Appointment.desk_id.in_(list(desks)), Appointment.status.in_(Status.ACTIVE),
               Appointment.starts_at >= lo, Appointment.starts_at < hi)
        .group_by(Appointment.desk_id)
    )
    if f.service is not None:
        booked_query = booked_query.where(Appointment.service == f.service)
    booked = {desk_id: float(hours or 0) for desk_id, hours in db.session.execute(booked_query)}
    return opened, booked, desks


def _waiting(viewer, f: ReportFilters) -> tuple[int, float | None, float | None]:
    """Days from request (ticket received, waiting entry created) to the first appointment in the period:
    (how many, median, 90th percentile), ranked by window functions in the database."""
    lo, hi = _utc_bounds(f.start, f.end)
    # An appointment after the period cannot be a first appointment in it: leaving those out keeps the
    # grouping to the requests of the period and before.
    in_scope = [policy.report_appointment_scope(viewer), *_filter_conditions(f)]
    scope = [*in_scope, Appointment.status != Status.CANCELLED, Appointment.starts_at < hi]
    # Only requests with an appointment in the period, in scope and filters, can have their first one in
    # it: the tickets and the young people are taken from those appointments (index on starts_at), not
    # from all years nor from the whole network. Not correlated: its own appointments and desks.
    in_period = (sa.select(Appointment.id, Appointment.young_person_id)
                 .join(Desk, Desk.id == Appointment.desk_id)
                 .where(Appointment.starts_at >= lo, Appointment.starts_at < hi, *in_scope,
                        Appointment.status != Status.CANCELLED)
                 .correlate(None).subquery("in_period"))
    period_tickets = sa.select(ticket_appointments.c.ticket_id).where(
        ticket_appointments.c.appointment_id.in_(sa.select(in_period.c.id)))
    period_people = sa.select(in_period.c.young_person_id)
    from_tickets = (
        sa.select(Ticket.received_at.label("asked"), sa.func.min(Appointment.starts_at).label("first"))
        .select_from(Ticket)
        .join(ticket_appointments, ticket_appointments.c.ticket_id == Ticket.id)
        .join(Appointment, Appointment.id == ticket_appointments.c.appointment_id)
        .join(Desk, Desk.id == Appointment.desk_id)
        .where(Ticket.id.in_(period_tickets), *scope)
        .group_by(Ticket.id, Ticket.received_at)
    )
    from_waiting = (
        sa.select(WaitingEntry.created_at.label("asked"), sa.func.min(Appointment.starts_at).label("first"))
        .select_from(WaitingEntry)
        .join(Appointment, sa.and_(Appointment.young_person_id == WaitingEntry.young_person_id,
                                   Appointment.desk_id == WaitingEntry.desk_id,
                                   Appointment.service == WaitingEntry.service,
                                   Appointment.created_at >= WaitingEntry.created_at))
        .join(Desk, Desk.id == Appointment.desk_id)
        .where(WaitingEntry.status == "booked", WaitingEntry.young_person_id.in_(period_people), *scope)
        .group_by(WaitingEntry.id, WaitingEntry.created_at)
    )
    requests = sa.union_all(from_tickets, from_waiting).subquery("requests")
    days = (_hours_between(requests.c.first, requests.c.asked) / 24.0).label("days")
    waits = (sa.select(days).where(requests.c.first >= lo, requests.c.first < hi,
                                   requests.c.first >= requests.c.asked).subquery("waits"))
    ranked = sa.select(
        waits.c.days,
        sa.func.row_number().over(order_by=waits.c.days).label("rn"),
        sa.func.count().over().label("n"),
    ).subquery("ranked")
    n, median, p90 = db.session.execute(sa.select(
        sa.func.max(ranked.c.n),
        sa.func.avg(sa.case((sa.or_(ranked.c.rn == (ranked.c.n + 1) // 2, ranked.c.rn == (ranked.c.n + 2) // 2),
                             ranked.c.days))),
        sa.func.max(sa.case((ranked.c.rn == (9 * ranked.c.n + 9) // 10, ranked.c.days))),
    )).one()
    return int(n or 0), (float(median) if median is not None else None), (float(p90) if p90 is not None else None)


# --------------------------------------------------------------------------------------------
# Options, scope label, validation

@dataclass(frozen=True)
class FilterOptions:
    """What the filters form offers the viewer (and the only values it accepts)."""

    desks: tuple[tuple[int, str], ...]
    towns: tuple[tuple[int, str], ...]
    organisations: tuple[tuple[int, str], ...]
    services: tuple[tuple[str, str], ...]


def filter_options(viewer) -> FilterOptions:
    """Desks, towns and organisations the viewer may filter on (one query; cached, app/reports/cache.py)."""
    from app.reports import cache

    return cache.cached("options", viewer, {}, lambda: _filter_options(viewer))


def _filter_options(viewer) -> FilterOptions:
    town = aliased(Organisation)
    partner = aliased(Organisation)
    rows = db.session.execute(
        policy.report_filter_desks(
            sa.select(Desk.id, Desk.name, town.id, town.short_name, partner.id, partner.short_name)
            .select_from(Desk).join(town, town.id == Desk.municipality_id).join(partner, partner.id == Desk.partner_id),
            viewer,
        ).order_by(Desk.name)
    ).all()
    desks = tuple((r[0], r[1]) for r in rows)
    towns = tuple(sorted({(r[2], r[3]) for r in rows}, key=lambda t: t[1]))
    if policy.report_scope_kind(viewer) == "organisation":
        orgs = ((viewer.organisation_id, viewer.organisation.short_name),)
    elif policy.report_scope_kind(viewer) == "own":
        orgs = ()
    else:
        orgs = tuple(sorted({(r[4], r[5]) for r in rows}, key=lambda t: t[1]))
    return FilterOptions(desks, towns, orgs, tuple((k, str(v)) for k, v in DESK_SERVICES.items()))


def scope_label(viewer) -> str:
    kind = policy.report_scope_kind(viewer)
    if kind == "network":
        return _("Tutta la rete")
    if kind in ("organisation", "town"):
        return viewer.organisation.name
    if kind == "desks":
        return _("I miei sportelli")
    return _("Le mie sessioni")


def validate_filters(viewer, filters: ReportFilters, options: FilterOptions | None = None) -> FilterOptions:
    """Refuse a period that is reversed or too long (422) and filters outside the scope (404)."""
    if filters.end < filters.start:
        raise Invalid(_("La data di fine viene prima di quella di inizio."), field="al")
    if len(_months(filters.start, filters.end)) > MAX_MONTHS:
        raise Invalid(_("Il periodo può coprire al massimo %(n)d mesi.", n=MAX_MONTHS), field="dal")
    if filters.service is not None and filters.service not in DESK_SERVICES:
        raise Invalid(_("Servizio sconosciuto."), field="servizio")
    options = options or filter_options(viewer)
    policy.check_report_filters(viewer, filters, desk_ids={d for d, _n in options.desks},
                                town_ids={t for t, _n in options.towns},
                                organisation_ids={o for o, _n in options.organisations})
    return options


# --------------------------------------------------------------------------------------------
# Building the report

def default_filters(today: date | None = None) -> ReportFilters:
    """The last twelve months up to today (from the 1st of the month eleven months back)."""
    today = today or datetime.now(ROME).date()
    y, m = today.year, today.month - 11
    if m < 1:
        y, m = y - 1, m + 12
    return ReportFilters(start=date(y, m, 1), end=today)


def _parents(f: ReportFilters) -> list[ReportFilters]:
    """The same report with one filter removed, for each filter in use (difference rule)."""
    names = [n for n in ("town_id", "desk_id", "organisation_id", "service") if getattr(f, n) is not None]
    return [replace(f, **{n: None}) for n in names]


def _headline_labels() -> dict[str, str]:
    return {
        "reached": _("Giovani raggiunti"), "reached_new": _("Nuovi"), "reached_returning": _("Già seguiti"),
        "sessions": _("Sessioni svolte"), "no_shows": _("Assenze"), "attendance_rate": _("Tasso di presenza"),
        "no_show_rate": _("Tasso di assenza"), "hours_open": _("Ore di apertura"),
        "hours_booked": _("Ore prenotate"), "occupancy": _("Occupazione"),
        "waiting_median": _("Attesa mediana (giorni)"), "waiting_p90": _("Attesa al 90° percentile (giorni)"),
    }


_HEAD_COUNTS = ("reached", "reached_new", "reached_returning", "sessions", "no_shows")


def _rate(num_cell: Cell, other_cell: Cell, num, other) -> Cell:
    if num_cell.suppressed or other_cell.suppressed:
        return Cell(None, suppression.HIDDEN, True)
    base = (num or 0) + (other or 0)
    if not base:
        return _cell(None)
    return _cell(100 * num / base, PERCENT)


def _grid(table: _RawTable) -> list[list]:
    grid = [list(values) for _k, _l, values in table.rows]
    if table.reserved is not None:
        grid.append(list(table.reserved))
    if table.total is not None:
        grid.append(list(table.total))
    return grid


def _table_extra(table: _RawTable, parents: list[_Raw], grid: list[list], total_hidden: set[int]) -> set:
    """Cells hidden by the difference rule, plus total-row cells hidden in the headline."""
    extra = set()
    n_rows = len(table.rows)
    keys = [k for k, _l, _v in table.rows]
    for parent in parents:
        p = parent.tables[table.key]
        p_rows = {k: v for k, _l, v in p.rows}
        for r, key in enumerate(keys):
            for c, value in enumerate(grid[r]):
                if table.kinds[c] == COUNT and key in p_rows:
                    parent_value = p_rows[key][c]
                    if not suppression.is_small(parent_value) and suppression.reveals_difference(value, parent_value):
                        extra.add((r, c))
        for offset, (mine, theirs) in enumerate(((table.reserved, p.reserved), (table.total, p.total))):
            if mine is None:
                continue
            r = n_rows + (offset if table.reserved is not None else 0)
            for c, value in enumerate(mine):
                if table.kinds[c] == COUNT and not suppression.is_small(theirs[c]) \
                        and suppression.reveals_difference(value, theirs[c]):
                    extra.add((r, c))
    if table.total is not None:
        extra |= {(len(grid) - 1, c) for c in total_hidden}
    return extra


def _finish_table(table: _RawTable, parents: list[_Raw], small: bool, total_hidden: set[int]) -> Table:
    grid = _grid(table)
    count_cols = [c for c, kind in enumerate(table.kinds) if kind == COUNT]
    count_grid = [[v if table.kinds[c] == COUNT else None for c, v in enumerate(row)] for row in grid]
    total_row = len(grid) - 1 if table.total is not None else None
    groups = suppression.table_groups(len(grid), len(table.columns), total_row=total_row, count_cols=count_cols,
                                      row_sums=table.row_sums)
    reserved_row = len(table.rows) if table.reserved is not None else None
    always = {(reserved_row, c) for c in count_cols} if reserved_row is not None else set()
    extra = _table_extra(table, parents, grid, total_hidden) if small or total_hidden else set()
    primary, secondary = suppression.suppress(count_grid, groups=groups, small_counts=small, always=always,
                                              extra=extra)

    def row_cells(r: int) -> tuple[Cell, ...]:
        return tuple(_cell(v, table.kinds[c], primary=(r, c) in primary, secondary=(r, c) in secondary)
                     for c, v in enumerate(grid[r]))

    rows = tuple(Row(key, label, row_cells(r)) for r, (key, label, _v) in enumerate(table.rows))
    reserved = (Row("reserved", _("Casi riservati (contati solo nel totale)"), row_cells(reserved_row))
                if reserved_row is not None else None)
    total = Row("total", _("Totale"), row_cells(total_row), is_total=True) if total_row is not None else None
    return Table(table.key, table.title, table.label_heading, table.columns, rows, total, table.note,
                 reserved=reserved, kinds=table.kinds)


def _add_hours(raw: _Raw, opened: dict, booked: dict, desks: dict, labels: dict[int, tuple[str, int]],
               towns: dict[int, str]) -> None:
    """Label the desk and town rows, add every hours desk (even without sessions) and the hours columns."""
    hours_cols = (_("Ore di apertura"), _("Ore prenotate"), _("Occupazione"))

    def hours_values(ids) -> list:
        ids = [i for i in ids if i in desks]
        if not ids:
            return [None, None, None]
        o, b = sum(opened.get(i, 0.0) for i in ids), sum(booked.get(i, 0.0) for i in ids)
        return [o, b, (100 * b / o) if o else None]

    desk_table, town_table = raw.tables["by_desk"], raw.tables["by_town"]
    seen = {int(k): v for k, _l, v in desk_table.rows}
    all_desks = set(seen) | set(desks)
    desk_rows = []
    for desk_id in sorted(all_desks, key=lambda i: labels[i][0]):
        desk_rows.append((str(desk_id), labels[desk_id][0], list(seen.get(desk_id, [0, 0, 0])) + hours_values([desk_id])))
    town_seen = {int(k): v for k, _l, v in town_table.rows}
    town_ids = set(town_seen) | {labels[i][1] for i in all_desks}
    town_rows = []
    for town_id in sorted(town_ids, key=lambda i: towns[i]):
        members = [i for i in all_desks if labels[i][1] == town_id]
        town_rows.append((str(town_id), towns[town_id], list(town_seen.get(town_id, [0, 0, 0])) + hours_values(members)))
    total_hours = hours_values(list(desks))
    for table, rows in ((desk_table, desk_rows), (town_table, town_rows)):
        table.rows = rows
        table.columns = table.columns + hours_cols
        table.kinds = table.kinds + (HOURS, HOURS, PERCENT)
        table.reserved = list(table.reserved) + [None, None, None]
        table.total = list(table.total) + total_hours


def _labels(desk_ids: set[int]) -> tuple[dict[int, tuple[str, int]], dict[int, str]]:
    if not desk_ids:
        return {}, {}
    rows = db.session.execute(
        sa.select(Desk.id, Desk.name, Desk.municipality_id, Organisation.short_name)
        .join(Organisation, Organisation.id == Desk.municipality_id).where(Desk.id.in_(desk_ids))
    ).all()
    return {r[0]: (r[1], r[2]) for r in rows}, {r[2]: r[3] for r in rows}


def _filter_labels(f: ReportFilters, options: FilterOptions) -> tuple[tuple[str, str], ...]:
    from app.formatting import format_date

    labels = [(_("Periodo"), f"{format_date(f.start)} – {format_date(f.end)}")]
    for heading, value, pairs in ((_("Comune"), f.town_id, options.towns), (_("Sportello"), f.desk_id, options.desks),
                                  (_("Organizzazione"), f.organisation_id, options.organisations),
                                  (_("Servizio"), f.service, options.services)):
        if value is not None:
            labels.append((heading, dict(pairs).get(value, str(value))))
    return tuple(labels)


def report_for(viewer, filters: ReportFilters, *, options: FilterOptions | None = None) -> Report:
    """The report for `viewer`: scoped to what their role may see, suppressed when due.

    Raises Invalid (422) for a bad period and NotFound (404) for a desk, town or organisation
    outside the viewer's scope (app/policy/reports.py::check_report_filters).
    """
    from app.reports import cache

    options = validate_filters(viewer, filters, options)
    return cache.cached("report", viewer, filters.query_args(), lambda: _compute(viewer, filters, options))


def _compute(viewer, filters: ReportFilters, options: FilterOptions) -> Report:
    small = policy.report_suppresses(viewer)
    raw = _counts(viewer, filters)
    parents = [_counts(viewer, p) for p in _parents(filters)] if small else []
    opened, booked, hours_desks = _hours(viewer, filters)
    labels, towns = _labels({int(k) for k, _l, _v in raw.tables["by_desk"].rows} | set(hours_desks))
    _add_hours(raw, opened, booked, hours_desks, labels, towns)
    n_wait, median, p90 = _waiting(viewer, filters)

    # Headline counts: reached = new + returning; the difference rule against each parent.
    h = raw.headline
    values = [[h[k] for k in _HEAD_COUNTS]]
    extra = set()
    for parent in parents:
        for c, k in enumerate(_HEAD_COUNTS):
            if not suppression.is_small(parent.headline[k]) and suppression.reveals_difference(h[k], parent.headline[k]):
                extra.add((0, c))
    groups = [suppression.Group((0, 0), ((0, 1), (0, 2)))]
    primary, secondary = suppression.suppress(values, groups=groups, small_counts=small, extra=extra)
    headline = {k: _cell(h[k], primary=(0, c) in primary, secondary=(0, c) in secondary)
                for c, k in enumerate(_HEAD_COUNTS)}
    headline["attendance_rate"] = _rate(headline["sessions"], headline["no_shows"], h["sessions"], h["no_shows"])
    headline["no_show_rate"] = _rate(headline["no_shows"], headline["sessions"], h["no_shows"], h["sessions"])
    if hours_desks:
        o, b = sum(opened.values()), sum(booked.values())
        headline["hours_open"] = _cell(o, HOURS)
        headline["hours_booked"] = _cell(b, HOURS)
        headline["occupancy"] = _cell(100 * b / o if o else None, PERCENT)
    else:
        headline["hours_open"] = headline["hours_booked"] = headline["occupancy"] = _cell(None)
    hide_wait = small and suppression.is_small(n_wait)
    for key, value in (("waiting_median", median), ("waiting_p90", p90)):
        headline[key] = Cell(None, suppression.HIDDEN, True) if hide_wait else _cell(value, HOURS)

    hidden_metrics = {k for k, cell in headline.items() if cell.suppressed}
    metric_of_column = {"by_month": ("reached", "reached_new", "sessions", "no_shows"),
                        "by_desk": ("reached", "sessions", "no_shows"), "by_town": ("reached", "sessions", "no_shows"),
                        "age_bands": ("reached", "sessions"), "gender": ("reached", "sessions"),
                        "study_work": ("reached", "sessions")}
    tables = {}
    for key in TABLE_KEYS:
        metrics = metric_of_column.get(key, ())
        total_hidden = {c for c, m in enumerate(metrics) if m in hidden_metrics}
        tables[key] = _finish_table(raw.tables[key], parents, small, total_hidden)
    return Report(
        filters=filters, scope_label=scope_label(viewer), suppressed=small, generated_at=datetime.now(UTC),
        headline={k: headline[k] for k in HEADLINE_KEYS}, headline_labels=_headline_labels(), tables=tables,
        filter_labels=_filter_labels(filters, options),
    )


def csv_rows(report: Report) -> Iterable[list[str]]:
    """The report as CSV rows (strings, Italian formats); see app/reports/exports.py for the bytes."""
    from app.reports.exports import report_rows

    return report_rows(report)
