"""Booking use cases: happy path, overlap refusals (409), hours and override, lifecycle, reschedule, paths."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.bookings import services
from app.bookings.services import BookingData
from app.domain.errors import Conflict, Forbidden, Invalid
from app.extensions import db
from app.models import Appointment, AppointmentEvent, Status
from tests.bookings.conftest import tomorrow_at
from tests.bookings.factories import make_desk, make_person


def data(world, starts_at, **overrides) -> BookingData:
    values = dict(desk_id=world.desk.id, tutor_id=world.tutor.id, young_person_id=world.person.id,
                  service="orientamento", starts_at=starts_at)
    values.update(overrides)
    return BookingData(**values)


def test_calendar_uids_are_version_7_uuids_in_time_order(monkeypatch):
    """Time first (so the (uid, sequence) index fills its last pages), random after (unguessable, unique)."""
    import time
    import uuid

    clock = iter([1_790_000_000_000_000_000, 1_790_000_000_000_000_000, 1_790_000_000_001_000_000])
    monkeypatch.setattr(time, "time_ns", lambda: next(clock))
    first, same_ms, next_ms = (services.new_uid() for _ in range(3))
    parsed = [uuid.UUID(u.removesuffix("@hub-dei-talenti")) for u in (first, same_ms, next_ms)]
    assert all(u.version == 7 and u.variant == uuid.RFC_4122 for u in parsed)
    assert [u.int >> 80 for u in parsed] == [1_790_000_000_000, 1_790_000_000_000, 1_790_000_000_001]
    assert first != same_ms and max(first, same_ms) < next_ms


def test_booking_happy_path_records_who_and_when(world):
    appointment = services.create_booking(world.operator, data(world, tomorrow_at(10)))
    assert appointment.status == Status.BOOKED
    assert appointment.ends_at - appointment.starts_at == timedelta(minutes=45)
    assert appointment.created_by_id == world.operator.id
    assert appointment.uid.endswith("@hub-dei-talenti") and appointment.sequence == 0
    events = db.session.scalars(sa.select(AppointmentEvent).where(AppointmentEvent.appointment_id == appointment.id))
    assert [(e.kind, e.to_status, e.actor_id) for e in events] == [("created", "booked", world.operator.id)]


def test_the_same_tutor_cannot_be_booked_twice_at_once(world, network):
    services.create_booking(world.operator, data(world, tomorrow_at(10)))
    someone_else = make_person(network, world.operator, first_name="Luca", phone="3400000001")
    with pytest.raises(Conflict, match="tutor ha già"):
        services.create_booking(world.operator, data(world, tomorrow_at(10, 30), young_person_id=someone_else.id))
    # Back to back is fine.
    services.create_booking(world.operator, data(world, tomorrow_at(10, 45), young_person_id=someone_else.id))


def test_the_same_young_person_cannot_be_in_two_places(world, network, make_user):
    services.create_booking(world.operator, data(world, tomorrow_at(10)))
    elsewhere = make_desk(network, town="Rodano", name="Sportello Rodano", operators=[world.operator],
                          tutors=[world.other_tutor])
    with pytest.raises(Conflict, match="persona ha già"):
        services.create_booking(world.operator, data(world, tomorrow_at(10, 15), desk_id=elsewhere.id,
                                                     tutor_id=world.other_tutor.id))


def test_a_desk_never_holds_more_appointments_than_rooms(world, network):
    services.create_booking(world.operator, data(world, tomorrow_at(11)))
    second = make_person(network, world.operator, first_name="Marta", phone="3400000002")
    with pytest.raises(Conflict, match="stanze"):
        services.create_booking(world.operator, data(world, tomorrow_at(11), tutor_id=world.other_tutor.id,
                                                     young_person_id=second.id))
    world.desk.rooms = 2
    db.session.commit()
    services.create_booking(world.operator, data(world, tomorrow_at(11), tutor_id=world.other_tutor.id,
                                                 young_person_id=second.id))


def test_outside_hours_is_refused_unless_an_admin_writes_a_reason(world, make_user):
    late = tomorrow_at(21)
    with pytest.raises(Conflict, match="apertura"):
        services.create_booking(world.operator, data(world, late))
    with pytest.raises(Forbidden):
        services.create_booking(world.operator, data(world, late, override_reason="Serata straordinaria in biblioteca"))
    admin = make_user("admin")
    with pytest.raises(Invalid):
        services.create_booking(admin, data(world, late, override_reason="perché"))
    appointment = services.create_booking(admin, data(world, late, override_reason="Serata straordinaria in biblioteca"))
    assert appointment.override_reason == "Serata straordinaria in biblioteca"


def test_outside_the_tutor_availability_is_refused(world, network, make_user):
    from datetime import time

    from tests.bookings.factories import make_availability

    late_tutor = make_user("tutor", full_name="Tutor Pomeriggio")
    make_availability(late_tutor, world.desk, start=time(14), end=time(18))
    db.session.commit()
    with pytest.raises(Conflict, match="disponibilità"):
        services.create_booking(world.operator, data(world, tomorrow_at(9), tutor_id=late_tutor.id))
    services.create_booking(world.operator, data(world, tomorrow_at(15), tutor_id=late_tutor.id))


def test_operators_book_only_at_their_desks_and_coordinators_only_their_tutors(world, network, make_user):
    stranger = make_user("operator")
    with pytest.raises(Forbidden):
        services.create_booking(stranger, data(world, tomorrow_at(10)))
    other_coord = make_user("coordinator", organisation=network["Ala Milano"])
    with pytest.raises(Forbidden):
        services.create_booking(other_coord, data(world, tomorrow_at(10)))
    own_coord = make_user("coordinator")
    assert services.create_booking(own_coord, data(world, tomorrow_at(10))).status == Status.BOOKED


def test_lifecycle_confirm_cancel_and_stale_version(world):
    appointment = services.create_booking(world.operator, data(world, tomorrow_at(12)))
    first_version = appointment.version
    services.confirm(world.operator, appointment.id, expected_version=first_version)
    with pytest.raises(Conflict, match="modificato da un'altra persona"):
        services.cancel(world.operator, appointment.id, "malattia", "young_person", expected_version=first_version)
    fresh = db.session.get(Appointment, appointment.id)
    cancelled = services.cancel(world.operator, appointment.id, "malattia", "young_person",
                                expected_version=fresh.version)
    assert cancelled.status == Status.CANCELLED and cancelled.cancelled_by_kind == "young_person"
    assert cancelled.sequence == 1
    kinds = [e.kind for e in db.session.get(Appointment, appointment.id).events]
    assert kinds == ["created", "confirmed", "cancelled"]
    # A cancelled slot is free again.
    services.create_booking(world.operator, data(world, tomorrow_at(12)))


def test_attendance_only_from_the_start(world):
    appointment = services.create_booking(world.operator, data(world, tomorrow_at(12)))
    with pytest.raises(Invalid):
        services.record_attendance(world.operator, appointment.id)
    db.session.execute(sa.update(Appointment).where(Appointment.id == appointment.id)
                       .values(starts_at=tomorrow_at(12, days=-1), ends_at=tomorrow_at(12, 45, days=-1)))
    db.session.commit()
    assert services.record_no_show(world.operator, appointment.id).status == Status.NO_SHOW


def test_reschedule_is_one_atomic_step(world, network):
    old = services.create_booking(world.operator, data(world, tomorrow_at(9)))
    blocker = make_person(network, world.operator, first_name="Piero", phone="3400000003")
    services.create_booking(world.operator, data(world, tomorrow_at(14), young_person_id=blocker.id))
    # The new slot is taken: nothing changes.
    with pytest.raises(Conflict):
        services.reschedule(world.operator, old.id, tomorrow_at(14), by_kind="young_person")
    db.session.expire_all()
    assert db.session.get(Appointment, old.id).status == Status.BOOKED
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Appointment)) == 2
    # A free slot: old cancelled and linked, same calendar UID with a higher SEQUENCE.
    new = services.reschedule(world.operator, old.id, tomorrow_at(16), by_kind="young_person")
    db.session.expire_all()
    old = db.session.get(Appointment, old.id)
    new = db.session.get(Appointment, new.id)
    assert old.status == Status.CANCELLED and new.rescheduled_from_id == old.id
    assert new.uid == old.uid and new.sequence == old.sequence + 1
    assert [e.kind for e in old.events] == ["created", "rescheduled"]


def test_reschedule_into_an_overlapping_slot_of_itself_works(world):
    old = services.create_booking(world.operator, data(world, tomorrow_at(9)))
    new = services.reschedule(world.operator, old.id, tomorrow_at(9, 30))
    assert new.starts_at == tomorrow_at(9, 30)


def test_weekly_path_reports_conflicts_per_date_before_saving(world, network):
    blocker = make_person(network, world.operator, first_name="Anna", phone="3400000004")
    services.create_booking(world.operator, data(world, tomorrow_at(10, days=8), young_person_id=blocker.id))
    preview = services.book_path(world.operator, data(world, tomorrow_at(10)), 4, commit=False)
    assert [item.problem is None for item in preview.items] == [True, False, True, True]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Appointment)) == 1
    done = services.book_path(world.operator, data(world, tomorrow_at(10)), 4, commit=True)
    assert len(done.free) == 3 and len(done.conflicts) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Appointment)) == 4


def test_busy_intervals_and_free_slots(world):
    services.create_booking(world.operator, data(world, tomorrow_at(10)))
    start, end = tomorrow_at(0), tomorrow_at(0, days=2)
    busy = services.busy_intervals(desk_ids=[world.desk.id], start=start, end=end)
    assert [(b.start, b.tutor_id, b.young_person_id) for b in busy] == [(tomorrow_at(10), world.tutor.id,
                                                                          world.person.id)]
    assert services.busy_intervals(tutor_ids=[world.other_tutor.id], start=start, end=end) == []
    day = tomorrow_at(0).date()
    slots = services.free_slots(world.desk, day, day, young_person_id=world.person.id)
    assert slots and all(not (s.start < tomorrow_at(10, 45) and s.end > tomorrow_at(10)) for s in slots)


def test_the_database_refuses_overlaps_even_without_the_service(world, network):
    """The schema itself (PostgreSQL exclusion constraint) or the service re-check must stop a direct insert."""
    first = services.create_booking(world.operator, data(world, tomorrow_at(10)))
    if db.engine.dialect.name != "postgresql":
        pytest.skip("exclusion constraints exist on PostgreSQL only; SQLite relies on serialised writes")
    clone = Appointment(desk_id=first.desk_id, tutor_id=first.tutor_id, young_person_id=first.young_person_id,
                        service="orientamento", mode="presenza", starts_at=tomorrow_at(10, 15),
                        ends_at=tomorrow_at(11), status="booked", uid="x@test", sequence=0)
    db.session.add(clone)
    with pytest.raises(sa.exc.IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_the_desks_minimum_notice_holds_for_a_hand_made_request(world):
    world.desk.min_notice_minutes = 3 * 24 * 60  # three days: tomorrow is too soon
    db.session.commit()
    with pytest.raises(Invalid, match="preavviso") as refused:
        services.create_booking(world.operator, data(world, tomorrow_at(10)))
    assert refused.value.field == "slot"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Appointment)) == 0


def test_every_booking_change_is_in_the_audit_log_without_names(world):
    from app.models import AuditEvent

    appointment = services.create_booking(world.operator, data(world, tomorrow_at(10)))
    services.cancel(world.operator, appointment.id, "Ha un esame", "young_person")
    rows = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "booking.changed")
                              .order_by(AuditEvent.id)).all()
    assert [(r.object_id, r.actor_id) for r in rows] == [(str(appointment.id), world.operator.id)] * 2
    assert rows[0].details["change"] == "created" and rows[1].details["to"] == "cancelled"
    assert "esame" not in rows[1].details_json and world.person.first_name not in rows[1].details_json

