"""The young person's private link: confirm or cancel without an account; unguessable, hashed, expires."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from app.bookings import messages, services
from app.extensions import db
from app.models import Appointment, OutboxMessage, Status, WaitingEntry
from app.models.base import utcnow
from tests.bookings.conftest import tomorrow_at
from tests.bookings.test_messages import book, event_of, outbox


def token_of(message: OutboxMessage) -> str:
    """The private-link token written in a message."""
    return message.body_text.split("/a/")[1].split()[0]


def test_the_link_shows_when_where_and_the_tutor_first_name_only(world, client):
    world.tutor.full_name = "Alessandra Verdi"
    db.session.commit()
    book(world, tomorrow_at(10))
    response = client.get(f"/a/{token_of(outbox()[0])}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert world.desk.name in html and "Alessandra" in html and "Confermo" in html
    for secret in ("Verdi", world.person.first_name, world.person.code, "Orientamento"):
        assert secret not in html
    assert response.headers["Cache-Control"] == "no-store"


def test_confirm_through_the_link(world, client):
    appointment = book(world, tomorrow_at(10))
    token = token_of(outbox()[0])
    response = client.post(f"/a/{token}/conferma")
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(Appointment, appointment.id).status == Status.CONFIRMED
    assert "è confermato" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_cancel_through_the_link_sends_a_cancel_and_frees_the_slot_for_the_waiting_list(world, client, network):
    from tests.bookings.factories import make_person

    waiting_person = make_person(network, world.operator, first_name="Marta", phone="3400000002",
                                 registered_desk=world.desk)
    db.session.add(WaitingEntry(young_person_id=waiting_person.id, desk_id=world.desk.id, service="orientamento"))
    db.session.commit()
    appointment = book(world, tomorrow_at(10))
    response = client.post(f"/a/{token_of(outbox()[0])}/annulla", data={"motivo": "Ho un esame"})
    assert response.status_code == 303
    db.session.expire_all()
    cancelled = db.session.get(Appointment, appointment.id)
    assert (cancelled.status, cancelled.cancelled_by_kind, cancelled.sequence) == (Status.CANCELLED, "young_person", 1)
    assert cancelled.cancel_reason == "Ho un esame"
    method, event, _calendar = event_of(outbox()[-1])
    assert (method, str(event["UID"]), int(event["SEQUENCE"])) == ("CANCEL", appointment.uid, 1)
    entry = db.session.scalar(sa.select(WaitingEntry))
    assert entry.slot_freed_at is not None and entry.freed_starts_at == appointment.starts_at
    # Used once: a second cancel is refused with 409, not a 500.
    assert client.post(f"/a/{token_of(outbox()[0])}/annulla").status_code == 409


def test_unknown_and_guessed_tokens_answer_404(world, client):
    book(world, tomorrow_at(10))
    assert client.get("/a/abc").status_code == 404
    assert client.post("/a/abc/annulla").status_code == 404
    assert client.get(f"/a/{'x' * 43}").status_code == 404


def test_the_link_expires_after_the_appointment(world, client, monkeypatch):
    appointment = book(world, tomorrow_at(10))
    token = token_of(outbox()[0])
    after_end = appointment.ends_at + timedelta(minutes=1)
    monkeypatch.setattr(messages, "utcnow", lambda: after_end)
    view = messages.find_link(token)
    assert view.expired and not view.can_act
    response = client.post(f"/a/{token}/conferma")
    assert response.status_code == 409
    assert "scaduto" in client.get(f"/a/{token}").get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Appointment, appointment.id).status == Status.BOOKED


def test_just_before_the_end_the_link_still_works(world, monkeypatch):
    appointment = book(world, tomorrow_at(10))
    token = token_of(outbox()[0])
    monkeypatch.setattr(messages, "utcnow", lambda: appointment.ends_at - timedelta(seconds=1))
    assert messages.find_link(token).can_act


def test_after_a_move_the_old_link_says_so(world, client):
    first = book(world, tomorrow_at(10))
    old_token = token_of(outbox()[0])
    services.reschedule(world.operator, first.id, tomorrow_at(15))
    html = client.get(f"/a/{old_token}").get_data(as_text=True)
    assert "è stato spostato" in html and "Annulla l" not in html
    new_token = token_of(outbox()[-1])
    assert client.post(f"/a/{new_token}/conferma").status_code == 303


def test_links_expire_with_the_appointment_end_not_later(world):
    appointment = book(world, tomorrow_at(10))
    assert messages.find_link(token_of(outbox()[0]), now=utcnow()).link.expires_at == appointment.ends_at
