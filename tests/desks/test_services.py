"""Desk use cases: weekly hours from a date, several desks at once, closures, availability, engine builders."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
import sqlalchemy as sa

from app.desks import services
from app.domain import availability as engine
from app.domain.errors import Forbidden, Invalid
from app.extensions import db
from app.models import Closure, OpeningSchedule
from tests.desks.conftest import wk

pytestmark = pytest.mark.usefixtures("request_ctx")

TODAY = date(2026, 6, 1)
WINTER = [wk(0, "09:00", "12:30"), wk(0, "14:00", "17:30"), wk(2, "09:00", "12:30")]
SUMMER = [wk(0, "09:00", "13:00")]


def _schedules(desk):
    db.session.expire_all()
    rows = db.session.scalars(sa.select(OpeningSchedule).where(OpeningSchedule.desk_id == desk.id)
                              .order_by(OpeningSchedule.valid_from))
    return [(s.name, s.valid_from, s.valid_to, len(s.intervals)) for s in rows]


# --- Interval validation ------------------------------------------------------------

def test_end_before_start_is_refused_in_italian():
    with pytest.raises(Invalid) as error:
        services.validate_intervals([wk(1, "12:00", "09:00")])
    assert "Martedì" in error.value.message and "deve essere successivo" in error.value.message


def test_overlapping_intervals_of_a_day_are_refused_in_italian():
    with pytest.raises(Invalid) as error:
        services.validate_intervals([wk(0, "09:00", "12:30"), wk(0, "12:00", "14:00")])
    assert error.value.message == "Lunedì: le fasce 09:00–12:30 e 12:00–14:00 si sovrappongono."


def test_touching_intervals_and_other_days_are_fine():
    items = services.validate_intervals([wk(0, "14:00", "17:30"), wk(0, "09:00", "14:00"), wk(1, "09:00", "12:00")])
    assert [i.start for i in items] == [time(9), time(14), time(9)]


def test_an_empty_week_is_refused():
    with pytest.raises(Invalid, match="almeno una fascia"):
        services.validate_intervals([])


# --- Schedules from a date ------------------------------------------------------------

def test_a_change_from_1_july_closes_the_current_schedule_the_day_before(make_desk, admin):
    desk = make_desk()
    services.create_schedule(admin, desk, "Orario invernale", date(2026, 1, 1), None, WINTER, today=date(2025, 12, 1))
    services.create_schedule(admin, desk, "Orario estivo", date(2026, 7, 1), None, SUMMER, today=TODAY)
    assert _schedules(desk) == [
        ("Orario invernale", date(2026, 1, 1), date(2026, 6, 30), 3),
        ("Orario estivo", date(2026, 7, 1), None, 1),
    ]


def test_a_bounded_season_lets_the_previous_hours_resume_after_it(make_desk, admin):
    desk = make_desk()
    services.create_schedule(admin, desk, "Orario invernale", date(2026, 1, 1), None, WINTER, today=date(2025, 12, 1))
    services.create_schedule(admin, desk, "Orario estivo", date(2026, 7, 1), date(2026, 8, 31), SUMMER, today=TODAY)
    assert _schedules(desk) == [
        ("Orario invernale", date(2026, 1, 1), date(2026, 6, 30), 3),
        ("Orario estivo", date(2026, 7, 1), date(2026, 8, 31), 1),
        ("Orario invernale", date(2026, 9, 1), None, 3),
    ]


def test_entering_summer_hours_again_replaces_the_planned_ones(make_desk, admin):
    desk = make_desk()
    services.create_schedule(admin, desk, "Orario invernale", date(2026, 1, 1), None, WINTER, today=date(2025, 12, 1))
    services.create_schedule(admin, desk, "Estivo", date(2026, 7, 1), date(2026, 8, 31), SUMMER, today=TODAY)
    services.create_schedule(admin, desk, "Estivo corretto", date(2026, 7, 1), date(2026, 8, 31),
                             [wk(1, "09:00", "12:00")], today=TODAY)
    names = [row[0] for row in _schedules(desk)]
    assert names == ["Orario invernale", "Estivo corretto", "Orario invernale"]


def test_a_schedule_overlapping_a_later_one_is_refused(make_desk, admin):
    desk = make_desk()
    services.create_schedule(admin, desk, "Esami", date(2026, 7, 1), date(2026, 7, 31), SUMMER, today=TODAY)
    with pytest.raises(Invalid) as error:
        services.create_schedule(admin, desk, "Estate", date(2026, 6, 15), date(2026, 7, 10), WINTER, today=TODAY)
    assert "si sovrappone a «Esami»" in error.value.message
    assert len(_schedules(desk)) == 1


def test_the_past_cannot_be_rewritten(make_desk, admin):
    desk = make_desk()
    services.create_schedule(admin, desk, "Inverno", date(2026, 1, 1), None, WINTER, today=date(2025, 12, 1))
    with pytest.raises(Invalid, match="solo da domani"):
        services.create_schedule(admin, desk, "Nuovo", TODAY, None, SUMMER, today=TODAY)
    with pytest.raises(Invalid, match="già in vigore"):
        services.delete_schedule(admin, db.session.scalars(sa.select(OpeningSchedule)).one(), today=TODAY)


def test_an_operator_edits_only_their_own_desks(make_desk, make_user):
    operator = make_user("operator")
    own, other = make_desk(operators=[operator]), make_desk()
    services.create_schedule(operator, own, "Inverno", date(2026, 9, 1), None, WINTER, today=TODAY)
    with pytest.raises(Forbidden):
        services.create_schedule(operator, other, "Inverno", date(2026, 9, 1), None, WINTER, today=TODAY)
    assert _schedules(other) == []


def test_apply_to_several_desks_is_all_or_nothing(make_desk, make_user):
    operator = make_user("operator")
    a, b = make_desk(operators=[operator]), make_desk(operators=[operator])
    services.create_schedule(operator, b, "Esami", date(2026, 7, 1), date(2026, 7, 31), SUMMER, today=TODAY)
    with pytest.raises(services.BulkInvalid) as error:
        services.apply_schedule(operator, [a.id, b.id], "Estate", date(2026, 6, 20), date(2026, 7, 10), WINTER,
                                today=TODAY)
    assert set(error.value.errors) == {b.id}
    assert "Esami" in error.value.errors[b.id]
    assert _schedules(a) == []  # the valid desk was not changed either

    created = services.apply_schedule(operator, [a.id, b.id], "Autunno", date(2026, 9, 1), None, WINTER,
                                      today=TODAY)
    assert len(created) == 2
    assert _schedules(a) == [("Autunno", date(2026, 9, 1), None, 3)]


def test_apply_to_a_desk_outside_scope_changes_nothing(make_desk, make_user):
    operator = make_user("operator")
    own, other = make_desk(operators=[operator]), make_desk()
    with pytest.raises(services.BulkInvalid) as error:
        services.apply_schedule(operator, [own.id, other.id], "Autunno", date(2026, 9, 1), None, WINTER, today=TODAY)
    assert set(error.value.errors) == {other.id}
    assert _schedules(own) == []


# --- Closures ----------------------------------------------------------------------------

def test_whole_day_closure_spans_local_midnights_across_dst():
    start, end = services.closure_span(date(2026, 10, 25), None)
    assert start == datetime(2026, 10, 24, 22, tzinfo=UTC)
    assert end == datetime(2026, 10, 25, 23, tzinfo=UTC)  # 25 hours: the clocks go back
    part = services.closure_span(date(2026, 8, 14), None, time(14), time(18))
    assert part == (datetime(2026, 8, 14, 12, tzinfo=UTC), datetime(2026, 8, 14, 16, tzinfo=UTC))
    with pytest.raises(Invalid):
        services.closure_span(date(2026, 8, 15), date(2026, 8, 14))


def test_closure_scopes_and_who_may_create_them(make_desk, make_user, admin, network):
    operator = make_user("operator")
    own = make_desk(operators=[operator])
    start, end = services.closure_span(date(2026, 8, 15), None)
    rows = services.create_closure(operator, "desk", start, end, "Ferragosto", desk_ids=[own.id])
    assert rows[0].desk_id == own.id
    with pytest.raises(Forbidden):
        services.create_closure(operator, "all", start, end, "Ferragosto")
    with pytest.raises(Forbidden):
        services.create_closure(operator, "desk", start, end, "x", desk_ids=[own.id, make_desk().id])
    with pytest.raises(Invalid, match="motivo"):
        services.create_closure(admin, "all", start, end, "  ")
    services.create_closure(admin, "all", start, end, "Ferragosto")
    services.create_closure(admin, "municipality", start, end, "Festa", municipality_id=network["Rodano"].id)
    scopes = sorted(db.session.scalars(sa.select(Closure.scope)))
    assert scopes == ["all", "desk", "municipality"]


# --- Builders for the engine ---------------------------------------------------------------

def test_desk_calendar_gathers_schedules_closures_extras_holidays_and_rooms(make_desk, admin, network):
    segrate = network["Segrate"]
    segrate.patron_saint, segrate.patron_month, segrate.patron_day = "Santo di prova", 6, 10
    desk = make_desk(rooms=2)
    elsewhere = make_desk(town="Rodano")
    services.create_schedule(admin, desk, "Inverno", date(2026, 1, 1), None, WINTER, today=date(2025, 12, 1))
    services.create_schedule(admin, desk, "Estate", date(2026, 7, 1), None, SUMMER, today=TODAY)
    own = services.closure_span(date(2026, 6, 3), None, time(9), time(11))
    town = services.closure_span(date(2026, 6, 4), None)
    everything = services.closure_span(date(2026, 6, 5), None)
    other_town = services.closure_span(date(2026, 6, 8), None)
    services.create_closure(admin, "desk", *own, "Riunione", desk_ids=[desk.id])
    services.create_closure(admin, "municipality", *town, "Elezioni", municipality_id=segrate.id)
    services.create_closure(admin, "all", *everything, "Formazione")
    services.create_closure(admin, "municipality", *other_town, "Altro comune", municipality_id=network["Rodano"].id)
    services.create_closure(admin, "desk", *other_town, "Altro sportello", desk_ids=[elsewhere.id])
    services.create_extra_opening(admin, desk, date(2026, 6, 6), time(10), time(12), "Open day")

    cal = services.desk_calendar(desk, date(2026, 6, 1), date(2026, 6, 30))
    assert isinstance(cal, engine.DeskCalendar)
    assert cal.desk_id == desk.id and cal.rooms == 2
    assert [(s.valid_from, s.valid_to) for s in cal.schedules] == [(date(2026, 1, 1), date(2026, 6, 30))]
    assert {c.reason for c in cal.closures} == {"Riunione", "Elezioni", "Formazione"}
    assert cal.extra_openings == (engine.ExtraOpening(date(2026, 6, 6), time(10), time(12)),)
    assert cal.holidays[date(2026, 6, 2)] == "Festa della Repubblica"
    assert cal.holidays[date(2026, 6, 10)] == "Santo di prova"
    monday = [i for i in cal.schedules[0].intervals if i.weekday == 0]
    assert monday == [engine.WeeklyInterval(0, time(9), time(12, 30)), engine.WeeklyInterval(0, time(14), time(17, 30))]

    # Hand-checked with the engine: Wed 10/06 is the patron day, Wed 3/06 loses 9–11 to the meeting.
    days = {d.day: d for d in services.open_days(cal, date(2026, 6, 1), date(2026, 6, 10))}
    assert days[date(2026, 6, 10)].intervals == ()
    assert [(i.start, i.end) for i in days[date(2026, 6, 3)].intervals] == [
        (datetime(2026, 6, 3, 9, tzinfo=UTC), datetime(2026, 6, 3, 10, 30, tzinfo=UTC))]
    assert days[date(2026, 6, 6)].is_open  # Saturday, extra opening


def test_calendars_for_several_desks_take_a_fixed_number_of_queries(make_desk, make_user, admin):
    tutors = [make_user("tutor") for _ in range(3)]
    desks = [make_desk(tutors=tutors) for _ in range(4)]
    for i, desk in enumerate(desks):
        services.create_schedule(admin, desk, "Inverno", date(2026, 9, 1), None, WINTER, today=TODAY)
        services.set_tutor_availability(admin, tutors[i % 3], desk, date(2026, 9, 1), None,
                                        [wk(i, "09:00", "12:00")], today=TODAY)
    db.session.expire_all()
    ids = [d.id for d in desks]
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    sa.event.listen(db.engine, "before_cursor_execute", listener)
    try:
        cals = services.desk_calendars(ids, date(2026, 9, 1), date(2026, 9, 30))
        few = len(statements)
        tutor_cals = services.tutor_calendars(ids, date(2026, 9, 1), date(2026, 9, 30))
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", listener)
    assert len(cals) == 4 and few <= 5, "\n".join(statements)
    assert len(statements) - few <= 3, "\n".join(statements[few:])
    by_tutor = {c.tutor_id: c for c in tutor_cals}
    assert sorted(by_tutor) == sorted(t.id for t in tutors)
    assert [desk_id for desk_id, _ in by_tutor[tutors[0].id].availability] == [desks[0].id, desks[3].id]


def test_tutor_calendar_has_absences_and_only_assigned_desks(make_desk, make_user, admin):
    tutor = make_user("tutor")
    desk = make_desk(tutors=[tutor])
    services.set_tutor_availability(admin, tutor, desk, date(2026, 9, 1), None, [wk(0, "09:00", "12:00")], today=TODAY)
    start, end = services.closure_span(date(2026, 9, 7), date(2026, 9, 11))
    services.add_absence(admin, tutor, start, end, "ferie")
    [cal] = services.tutor_calendars([desk.id], date(2026, 9, 1), date(2026, 9, 30))
    assert cal.tutor_id == tutor.id
    assert cal.availability[0][1].intervals == (engine.WeeklyInterval(0, time(9), time(12)),)
    assert cal.absences == (engine.Interval(start, end),)
    assert services.tutor_calendars([make_desk().id], date(2026, 9, 1), date(2026, 9, 30)) == []


# --- Tutor availability -----------------------------------------------------------------------

def test_a_tutor_is_never_available_at_two_desks_at_once(make_desk, make_user, admin):
    tutor = make_user("tutor")
    a, b = make_desk(tutors=[tutor]), make_desk(tutors=[tutor])
    services.set_tutor_availability(admin, tutor, a, date(2026, 9, 1), None, [wk(0, "09:00", "12:30")], today=TODAY)
    with pytest.raises(Invalid) as error:
        services.set_tutor_availability(admin, tutor, b, date(2026, 10, 1), None, [wk(0, "12:00", "15:00")],
                                        today=TODAY)
    assert "due sportelli nello stesso momento" in error.value.message
    services.set_tutor_availability(admin, tutor, b, date(2026, 10, 1), None, [wk(0, "12:30", "15:00")], today=TODAY)


def test_who_may_edit_a_tutors_availability(make_desk, make_user, network):
    tutor = make_user("tutor")  # Students Lab
    operator = make_user("operator")
    desk = make_desk(tutors=[tutor], operators=[operator])
    other_desk = make_desk(tutors=[tutor])
    week = [wk(0, "09:00", "12:00")]
    services.set_tutor_availability(make_user("coordinator"), tutor, desk, date(2026, 9, 1), None, week, today=TODAY)
    services.set_tutor_availability(operator, tutor, desk, date(2026, 10, 1), None, week, today=TODAY)
    with pytest.raises(Forbidden):
        services.set_tutor_availability(operator, tutor, other_desk, date(2026, 9, 1), None,
                                        [wk(1, "09:00", "12:00")], today=TODAY)
    with pytest.raises(Forbidden):
        services.set_tutor_availability(make_user("coordinator", organisation=network["Ala Milano"]), tutor, desk,
                                        date(2026, 11, 1), None, week, today=TODAY)
    with pytest.raises(Invalid, match="non è assegnato"):
        services.set_tutor_availability(make_user("admin"), tutor, make_desk(), date(2026, 9, 1), None, week,
                                        today=TODAY)


def test_patron_day_is_validated(admin, network):
    town = network["Segrate"]
    with pytest.raises(Invalid, match="non esiste"):
        services.set_patron_day(admin, town, "x", 2, 30, town.version)
    with pytest.raises(Invalid, match="sia il giorno sia il mese"):
        services.set_patron_day(admin, town, "x", 2, None, town.version)
    services.set_patron_day(admin, town, "San Prova", 2, 29, town.version)
    assert services.patron_day_of(town) == (2, 29, "San Prova")
    services.set_patron_day(admin, town, "", None, None, town.version)
    assert services.patron_day_of(town) is None


def test_local_instant_is_utc():
    assert services.local_instant(date(2026, 3, 29), time(3)) == datetime(2026, 3, 29, 1, tzinfo=UTC)
    assert services.local_instant(date(2026, 1, 1), time(0)) + timedelta(hours=1) == datetime(
        2026, 1, 1, tzinfo=UTC)
