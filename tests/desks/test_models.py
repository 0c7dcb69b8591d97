"""Schema constraints of the desks area (the database refuses bad data on its own)."""

from datetime import UTC, date, datetime, time

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import (
    Closure,
    DeskService,
    FeedToken,
    OpeningSchedule,
    ScheduleInterval,
    TutorAbsence,
)


def _refused(obj) -> None:
    db.session.add(obj)
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_desk_needs_at_least_one_room(make_desk):
    with pytest.raises(IntegrityError):
        make_desk(rooms=0)
    db.session.rollback()


def test_desk_defaults(make_desk):
    desk = make_desk()
    assert (desk.rooms, desk.slot_minutes, desk.buffer_minutes, desk.min_notice_minutes) == (1, 45, 15, 120)
    assert desk.active is True


def test_services_are_a_fixed_catalogue(make_desk):
    desk = make_desk()
    desk.services = ["ascolto", "orientamento"]
    db.session.commit()
    assert desk.services == ["orientamento", "ascolto"]  # catalogue order
    _refused(DeskService(desk_id=desk.id, service="astrologia"))


def test_interval_end_must_follow_start(make_desk):
    desk = make_desk()
    schedule = OpeningSchedule(desk_id=desk.id, name="Inverno", valid_from=date(2026, 9, 1))
    db.session.add(schedule)
    db.session.commit()
    _refused(ScheduleInterval(schedule_id=schedule.id, weekday=0, start=time(12), end=time(9)))
    _refused(ScheduleInterval(schedule_id=schedule.id, weekday=7, start=time(9), end=time(12)))


def test_schedule_validity_cannot_end_before_it_starts(make_desk):
    desk = make_desk()
    _refused(OpeningSchedule(desk_id=desk.id, name="x", valid_from=date(2026, 9, 1), valid_to=date(2026, 8, 1)))


def test_closure_scope_must_match_its_target(make_desk, network):
    desk = make_desk()
    start, end = datetime(2026, 8, 14, 22, tzinfo=UTC), datetime(2026, 8, 15, 22, tzinfo=UTC)
    _refused(Closure(scope="desk", starts_at=start, ends_at=end))
    _refused(Closure(scope="all", desk_id=desk.id, starts_at=start, ends_at=end))
    _refused(Closure(scope="municipality", desk_id=desk.id, starts_at=start, ends_at=end))
    _refused(Closure(scope="desk", desk_id=desk.id, starts_at=end, ends_at=start))
    db.session.add(Closure(scope="municipality", municipality_id=network["Rodano"].id, starts_at=start, ends_at=end))
    db.session.commit()


def test_absence_kind_and_feed_scope_are_checked(make_user, make_desk):
    tutor = make_user("tutor")
    start, end = datetime(2026, 8, 1, tzinfo=UTC), datetime(2026, 8, 2, tzinfo=UTC)
    _refused(TutorAbsence(tutor_id=tutor.id, starts_at=start, ends_at=end, kind="vacanza"))
    _refused(FeedToken(scope="desk", token_hash="a" * 64))
    desk = make_desk()
    db.session.add(FeedToken(scope="desk", desk_id=desk.id, token_hash="b" * 64))
    db.session.commit()


def test_patron_day_both_or_neither_and_only_for_towns(network):
    town = network["Segrate"]
    town.patron_month = 6
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()
    association = network["Students Lab"]
    association.patron_month, association.patron_day = 6, 24
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()
    town = network["Segrate"]
    town.patron_month, town.patron_day = 2, 30  # range check is loose; the service checks the real date
    db.session.commit()


def test_postgresql_refuses_two_overlapping_schedules_of_a_desk(make_desk):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("exclusion constraints exist on PostgreSQL only")
    desk = make_desk()
    db.session.add(OpeningSchedule(desk_id=desk.id, name="a", valid_from=date(2026, 9, 1)))
    db.session.commit()
    _refused(OpeningSchedule(desk_id=desk.id, name="b", valid_from=date(2027, 1, 1), valid_to=date(2027, 2, 1)))
    db.session.add(OpeningSchedule(desk_id=make_desk().id, name="c", valid_from=date(2027, 1, 1)))
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OpeningSchedule)) == 2
