"""From request to booking: duplicate check, new registration, slot picker, link and booked status; notifications."""

from __future__ import annotations

import re

import sqlalchemy as sa

from app.extensions import db
from app.helpdesk import services
from app.models import Appointment, OutboxMessage, Ticket
from tests.bookings.factories import make_person


def _first_slot(html: str) -> str:
    match = re.search(r'name="slot" value="([^"]+)"', html)
    assert match, "no free slot offered"
    return match.group(1)


def test_prenota_matches_the_person_by_phone_then_books_and_links(client, desks, make_ticket, sign_in):
    person = make_person(desks.network, desks.operator, first_name="Anna", last_name="Verdi", phone="333 111 2222",
                         registered_desk=desks.segrate)
    ticket = make_ticket(phone="3331112222")
    sign_in(desks.operator)
    page = client.get(f"/richieste/{ticket.id}/prenota").get_data(as_text=True)
    assert person.code in page and "È questa persona" in page
    assert client.post(f"/richieste/{ticket.id}/prenota", data={"person": person.id}).status_code == 303
    picker = client.get(f"/richieste/{ticket.id}/prenota")
    html = picker.get_data(as_text=True)
    assert 'value="orientamento" selected' in html  # the topic pre-fills the service
    assert f'value="{desks.segrate.id}" selected' in html  # and the ticket's desk
    response = client.post(f"/richieste/{ticket.id}/prenota", data={
        "slot": _first_slot(html), "desk": desks.segrate.id, "service": "orientamento", "mode": "presenza"})
    assert response.status_code == 303
    db.session.expire_all()
    ticket = db.session.get(Ticket, ticket.id)
    [appointment] = ticket.appointments
    assert (ticket.status, ticket.young_person_id) == ("booked", person.id)
    assert (appointment.young_person_id, appointment.desk_id, appointment.service) == (
        person.id, desks.segrate.id, "orientamento")
    detail = client.get(f"/richieste/{ticket.id}").get_data(as_text=True)
    assert "Prenotata" in detail and f"/appuntamenti/{appointment.id}" in detail


def test_prenota_after_registering_a_new_person(client, desks, make_ticket, sign_in):
    ticket = make_ticket(phone="3470000000")
    sign_in(desks.operator)
    page = client.get(f"/richieste/{ticket.id}/prenota").get_data(as_text=True)
    assert "Registra una nuova persona" in page and "/giovani/nuova?next=" in page
    person = make_person(desks.network, desks.operator, first_name="Anna", last_name="Nuova", phone="3470000000",
                         registered_desk=desks.segrate)
    # people.create sends the operator back with ?person=<id>.
    assert client.get(f"/richieste/{ticket.id}/prenota?person={person.id}").status_code == 200
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).young_person_id == person.id


def test_prenota_refuses_a_person_out_of_scope(client, desks, make_ticket, sign_in):
    stranger = make_person(desks.network, desks.rodano_operator, registered_desk=desks.rodano, phone="3339990000")
    ticket = make_ticket()
    sign_in(desks.operator)
    assert client.post(f"/richieste/{ticket.id}/prenota", data={"person": stranger.id}).status_code == 404
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).young_person_id is None


def test_out_of_scope_duplicate_is_signalled_without_names(client, desks, make_ticket, sign_in):
    make_person(desks.network, desks.rodano_operator, first_name="Segreta", registered_desk=desks.rodano,
                phone="3335556666")
    ticket = make_ticket(phone="333 555 6666", first_name="Zoe")
    sign_in(desks.operator)
    html = client.get(f"/richieste/{ticket.id}/prenota").get_data(as_text=True)
    assert "Il recapito risulta anche in schede di altri sportelli" in html
    assert "Segreta" not in html


def test_a_taken_slot_answers_409_and_the_ticket_stays_open(client, desks, make_ticket, sign_in):
    person = make_person(desks.network, desks.operator, registered_desk=desks.segrate, phone="3331112222")
    first, second = make_ticket(), make_ticket(first_name="Bis")
    sign_in(desks.operator)
    for ticket in (first, second):
        client.post(f"/richieste/{ticket.id}/prenota", data={"person": person.id})
    slot = _first_slot(client.get(f"/richieste/{first.id}/prenota").get_data(as_text=True))
    data = {"slot": slot, "desk": desks.segrate.id, "service": "orientamento"}
    assert client.post(f"/richieste/{first.id}/prenota", data=data).status_code == 303
    again = client.post(f"/richieste/{second.id}/prenota", data=data)
    assert again.status_code == 409
    db.session.expire_all()
    assert db.session.get(Ticket, second.id).status == "in_progress"
    assert db.session.scalar(sa.select(sa.func.count(Appointment.id))) == 1


def test_tutor_cannot_book_from_a_ticket(client, desks, make_ticket, sign_in):
    ticket = make_ticket()
    with client.application.test_request_context():
        services.assign(desks.operator, {ticket.id: ticket.version}, desks.tutor.id)
    sign_in(desks.tutor)
    assert client.get(f"/richieste/{ticket.id}/prenota").status_code == 403


def test_digest_counts_only_and_is_sent_once_a_day(app, desks, make_ticket):
    first = make_ticket(message="mi picchiano", first_name="Riservata")
    make_ticket(first_name="Altra")
    with app.test_request_context():
        services.assign(desks.operator, {first.id: first.version}, desks.tutor.id)
    db.session.query(OutboxMessage).delete()
    db.session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["helpdesk-digest", "--no-deliver"])
    assert result.exit_code == 0, result.output
    [mail] = db.session.scalars(sa.select(OutboxMessage)).all()
    assert mail.recipient == desks.tutor.email
    assert "1 richieste assegnate" in mail.body_text and "urgenti: 1" in mail.body_text
    for secret in ("Riservata", "picchiano", first.reference, "anna@example.test"):
        assert secret not in mail.body_text and secret not in mail.subject
    runner.invoke(args=["helpdesk-digest", "--no-deliver"])
    assert db.session.scalar(sa.select(sa.func.count(OutboxMessage.id))) == 1


def test_demo_seed_has_tickets_in_every_status(app, network, monkeypatch):
    """The helpdesk demo (after the desks and bookings it links to) has every status, and seeding twice adds none."""
    from app import cli
    from app.bookings.demo import seed_bookings
    from app.desks.demo import seed_desks
    from app.helpdesk.demo import seed_tickets

    # The notes and the year of monitoring history have their own tests; here they would only cost time.
    monkeypatch.setattr(cli, "SEED_HOOKS", [seed_desks, seed_bookings, seed_tickets])
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    statuses = set(db.session.scalars(sa.select(Ticket.status)))
    assert statuses == {"new", "in_progress", "waiting", "booked", "closed"}
    first = db.session.scalar(sa.select(sa.func.count(Ticket.id)))
    assert first >= 30
    app.test_cli_runner().invoke(args=["seed-demo"])  # idempotent
    assert db.session.scalar(sa.select(sa.func.count(Ticket.id))) == first
