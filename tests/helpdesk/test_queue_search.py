"""The queue's search and filters: what the fragment carries, the desks offered, the search on every tab."""

from __future__ import annotations

import re
from datetime import date, timedelta

from app.extensions import db
from app.helpdesk import rules, services
from tests.conftest import htmx


def _refs(response) -> set[str]:
    return set(re.findall(r"RIC-\d{4}-\d{6}", response.get_data(as_text=True)))


def test_the_search_fragment_is_the_queue_only_and_the_page_has_the_filters(client, desks, make_ticket, sign_in):
    ticket = make_ticket()
    sign_in(desks.operator)
    fragment = client.get("/richieste?stato=aperte&q=anna", headers=htmx()).get_data(as_text=True)
    assert 'id="ticket-queue"' in fragment and 'id="hd-desk"' not in fragment and ticket.reference in fragment
    page = client.get("/richieste").get_data(as_text=True)
    assert 'id="hd-desk"' in page and f'<option value="{desks.segrate.id}"' in page


def test_desks_offered_are_the_own_ones_and_those_of_tickets_assigned_to_me(app, desks, make_ticket):
    rodano_ticket = make_ticket(town=str(desks.network["Rodano"].id), topic="ascolto")
    with app.test_request_context():
        assert [d.id for d in services.queue_desks(desks.operator)] == [desks.segrate.id]
        assert [d.id for d in services.queue_desks(desks.tutor)] == []
        rodano_ticket.assignee_id = desks.operator.id  # as the Ufficio di Piano may do
        db.session.commit()
        assert {d.id for d in services.queue_desks(desks.operator)} == {desks.segrate.id, desks.rodano.id}
        assert [d.id for d in services.queue_desks(desks.rodano_operator)] == [desks.rodano.id]


def test_search_by_number_name_or_contact_on_every_tab(client, desks, make_ticket, sign_in):
    bruno = make_ticket(first_name="Bruno", email="bruno.verdi@example.test", phone="3409876543")
    closed = make_ticket(first_name="Carla", email="carla@example.test", phone="3471112222")
    with client.application.test_request_context():
        services.set_status(desks.operator, closed, "closed", "risolto", version=closed.version)
    sign_in(desks.operator)
    for q in ("BRUNO", "verdi", "98765", bruno.reference.lower()):
        assert _refs(client.get(f"/richieste?stato=aperte&q={q}", headers=htmx())) == {bruno.reference}, q
    assert _refs(client.get("/richieste?stato=aperte&q=carla", headers=htmx())) == set()
    assert _refs(client.get("/richieste?stato=tutte&q=carla", headers=htmx())) == {closed.reference}
    assert _refs(client.get("/richieste?stato=closed&q=3471112", headers=htmx())) == {closed.reference}


def test_the_name_is_found_without_accents_or_case(client, desks, make_ticket, sign_in):
    """"nicolo" finds "Nicolò" and "NICOLÒ" finds "Nicolo": a request typed in a hurry still finds its ticket."""
    accented = make_ticket(first_name="Nicolò", email="n1@example.test", phone="3400000001")
    plain = make_ticket(first_name="Nicolo", email="n2@example.test", phone="3400000002")
    other = make_ticket(first_name="Nicola", email="n3@example.test", phone="3400000003")
    sign_in(desks.operator)
    for q in ("nicolo", "NICOLÒ", "Nicolo", "icolò"):
        assert _refs(client.get(f"/richieste?stato=aperte&q={q}", headers=htmx())) == {
            accented.reference, plain.reference}, q
    assert other.reference in _refs(client.get("/richieste?stato=aperte&q=nicol", headers=htmx()))


def test_working_days_over_years_match_counting_day_by_day():
    arrived, today = date(2016, 3, 4), date(2026, 11, 26)
    holidays = {date(2016, 12, 8), date(2021, 1, 1), date(2024, 12, 25), date(2025, 12, 27)}  # the last a Saturday
    closed = {date(2020, 8, d) for d in range(10, 22)}
    expected, day = 0, arrived + timedelta(days=1)
    while day <= today:
        expected += day.weekday() < 5 and day not in holidays and day not in closed
        day += timedelta(days=1)
    assert rules.working_days_since(arrived, today, holidays, closed) == expected
    assert rules.WorkingDays(holidays, closed).since(today, arrived) == 0
