"""E-mail on booking, move and cancel: queued in the same transaction, iCalendar with stable UID and growing SEQUENCE."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from icalendar import Calendar

from app import mail
from app.bookings import messages, services
from app.bookings.services import BookingData
from app.domain.errors import Conflict
from app.extensions import db
from app.models import AppointmentLink, OutboxMessage
from tests.bookings.conftest import tomorrow_at
from tests.bookings.factories import make_person


def book(world, starts_at, **overrides):
    """Book the world's young person with its tutor."""
    values = dict(desk_id=world.desk.id, tutor_id=world.tutor.id, young_person_id=world.person.id,
                  service="orientamento", starts_at=starts_at)
    values.update(overrides)
    return services.create_booking(world.operator, BookingData(**values))


def outbox() -> list[OutboxMessage]:
    """Every queued message, oldest first."""
    db.session.expire_all()
    return list(db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)))


def event_of(message: OutboxMessage):
    """(method, the VEVENT, the calendar) of a message's attachment."""
    calendar = Calendar.from_ical(message.attachment_text)
    events = [c for c in calendar.walk("VEVENT")]
    assert len(events) == 1
    return str(calendar["METHOD"]), events[0], calendar


def test_a_booking_queues_an_invitation_in_the_same_transaction(world):
    appointment = book(world, tomorrow_at(10))
    [message] = outbox()
    assert message.recipient == "giovane@example.test"
    assert message.sent_at is None and message.dedup_key == f"appt:{appointment.id}:0:booked"
    assert message.attachment_type.startswith("text/calendar; method=REQUEST")
    method, event, calendar = event_of(message)
    assert method == "REQUEST"
    assert str(event["UID"]) == appointment.uid and int(event["SEQUENCE"]) == 0
    assert event.decoded("DTSTART") == tomorrow_at(10)
    assert event["DTSTART"].params["TZID"] == "Europe/Rome"
    assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == ["Europe/Rome"]


def test_messages_carry_no_sensitive_text(world):
    world.tutor.full_name = "Alessandra Verdi"
    db.session.commit()
    book(world, tomorrow_at(10), service="cv_lavoro")
    [message] = outbox()
    text = message.subject + message.body_text + message.attachment_text
    assert "Alessandra" in text and world.desk.name in text
    for secret in ("Verdi", "CV e ricerca", "cv_lavoro", world.person.code, world.person.last_name,
                   world.person.phone):
        assert secret not in text


def test_book_reschedule_cancel_keep_the_uid_and_raise_the_sequence(world):
    first = book(world, tomorrow_at(10))
    moved = services.reschedule(world.operator, first.id, tomorrow_at(14))
    services.cancel(world.operator, moved.id, "Non può venire", "young_person")
    messages_ = outbox()
    assert [m.dedup_key.split(":")[-1] for m in messages_] == ["booked", "moved", "cancelled"]
    parsed = [event_of(m) for m in messages_]
    assert [p[0] for p in parsed] == ["REQUEST", "REQUEST", "CANCEL"]
    assert {str(p[1]["UID"]) for p in parsed} == {first.uid}
    assert [int(p[1]["SEQUENCE"]) for p in parsed] == [0, 1, 2]
    assert parsed[1][1].decoded("DTSTART") == tomorrow_at(14)
    assert str(parsed[2][1]["STATUS"]) == "CANCELLED"


def test_a_minor_is_written_through_the_guardian(world, network):
    minor = make_person(network, world.operator, first_name="Pietro", phone="3400000009",
                        birth_date=date.today() - timedelta(days=365 * 15))
    minor.guardian_contact = "Mamma Anna, anna.genitore@example.test, 333 1111111"
    db.session.commit()
    book(world, tomorrow_at(11), young_person_id=minor.id)
    assert [m.recipient for m in outbox()] == ["anna.genitore@example.test"]
    assert outbox()[0].body_text.startswith("Gentile famiglia")


def test_no_address_no_message_but_the_booking_stands(world):
    world.person.email = ""
    db.session.commit()
    appointment = book(world, tomorrow_at(12))
    assert appointment.id and outbox() == []


def test_a_refused_booking_queues_nothing(world, network):
    book(world, tomorrow_at(10))
    other = make_person(network, world.operator, first_name="Luca", phone="3400000001")
    other.email = "luca@example.test"
    db.session.commit()
    with pytest.raises(Conflict):
        book(world, tomorrow_at(10), young_person_id=other.id)
    assert [m.recipient for m in outbox()] == ["giovane@example.test"]


def test_each_message_gets_its_own_private_link_stored_hashed(world):
    appointment = book(world, tomorrow_at(10))
    [message] = outbox()
    token = message.body_text.split("/a/")[1].split()[0]
    [link] = db.session.scalars(sa.select(AppointmentLink)).all()
    assert link.token_hash == messages.digest(token) and token not in link.token_hash
    assert link.expires_at == appointment.ends_at
    assert len(token) >= 40


def test_a_mail_server_that_is_down_delays_but_does_not_lose(world, app):
    book(world, tomorrow_at(10))
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=9, MAIL_TIMEOUT=2)  # discard port: refused
    assert mail.deliver_pending() == 0
    [message] = outbox()
    assert message.sent_at is None and message.attempts == 1 and message.last_error


def test_a_weekly_path_sends_one_invitation_per_booked_date_and_none_for_a_dry_run(world):
    data = BookingData(desk_id=world.desk.id, tutor_id=world.tutor.id, young_person_id=world.person.id,
                       service="orientamento", starts_at=tomorrow_at(10))
    services.book_path(world.operator, data, 3, commit=False)
    assert outbox() == []
    report = services.book_path(world.operator, data, 3, commit=True)
    uids = [str(event_of(m)[1]["UID"]) for m in outbox()]
    assert uids == [item.appointment.uid for item in report.free] and len(set(uids)) == 3


def test_an_appointment_recorded_afterwards_sends_nothing(world, make_user):
    from app.models.base import utcnow

    admin = make_user("admin")
    start = (utcnow() - timedelta(hours=3)).replace(second=0, microsecond=0)
    services.create_booking(admin, BookingData(desk_id=world.desk.id, tutor_id=world.tutor.id,
                                               young_person_id=world.person.id, service="orientamento",
                                               starts_at=start, override_reason="Registrazione a posteriori"))
    assert outbox() == []
