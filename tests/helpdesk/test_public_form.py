"""The public request form /richiesta: no login, validation with clear messages, honeypot, rate limit, e-mail."""

from __future__ import annotations

from datetime import timedelta
from html import unescape

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import OutboxMessage, Ticket
from app.people.services import today_local
from tests.helpdesk.conftest import REFERENCE_RE


def _tickets() -> list[Ticket]:
    return list(db.session.scalars(sa.select(Ticket).order_by(Ticket.id)))


def test_form_is_public_and_links_the_privacy_notice(client, desks):
    response = client.get("/richiesta")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'href="/privacy"' in html
    assert 'name="website"' in html and 'class="d-none" aria-hidden="true"' in html  # honeypot hidden
    assert "Sportello Segrate" in html


def test_public_pages_link_the_form(client, desks):
    assert 'href="/richiesta"' in client.get("/login").get_data(as_text=True)
    assert 'href="/richiesta"' in client.get("/sportelli").get_data(as_text=True)


def test_valid_request_gets_a_reference_and_an_acknowledgement(client, desks, valid_form):
    response = client.post("/richiesta", data=valid_form())
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/richiesta/inviata")
    page = client.get("/richiesta/inviata").get_data(as_text=True)
    [ticket] = _tickets()
    assert REFERENCE_RE.fullmatch(ticket.reference)
    assert ticket.reference in page
    assert (ticket.status, ticket.channel, ticket.priority) == ("new", "web", "normal")
    assert ticket.desk_id == desks.segrate.id  # routed to the town's desk offering the topic
    [mail] = db.session.scalars(sa.select(OutboxMessage)).all()
    assert mail.recipient == "anna@example.test"
    assert ticket.reference in mail.subject and ticket.reference in mail.body_text
    assert "università" not in mail.body_text  # the message itself is never e-mailed


def test_no_email_no_acknowledgement(client, desks, valid_form):
    assert client.post("/richiesta", data=valid_form(email="")).status_code == 303
    assert len(_tickets()) == 1
    assert db.session.scalar(sa.select(sa.func.count(OutboxMessage.id))) == 0


def test_preferred_desk_wins_and_birth_year_gives_the_age(client, desks, valid_form):
    year = today_local().year - 20
    data = valid_form(age="", birth_year=str(year), desk=str(desks.rodano.id), topic="ascolto")
    assert client.post("/richiesta", data=data).status_code == 303
    [ticket] = _tickets()
    assert (ticket.desk_id, ticket.age) == (desks.rodano.id, 20)


def test_honeypot_stores_nothing_but_looks_like_success(client, desks, valid_form):
    response = client.post("/richiesta", data=valid_form(website="http://spam.example"))
    assert response.status_code == 303
    assert _tickets() == []
    assert not REFERENCE_RE.search(client.get("/richiesta/inviata").get_data(as_text=True))


@pytest.mark.parametrize(("overrides", "message"), [
    ({"phone": "", "email": ""}, "Lascia almeno un recapito"),
    ({"age": "", "birth_year": ""}, "Indica l'età o l'anno di nascita"),
    ({"age": "", "birth_year": "abcd"}, "Anno di nascita non valido"),
    ({"age": "", "birth_year": "1850"}, "Anno di nascita non valido"),
    ({"age": "200"}, "Età non valida"),
    ({"preferred_from": "31/02/2026"}, "Data non valida"),
    ({"preferred_from": "2026-13-45"}, "Data non valida"),
    ({"preferred_from": "2001-01-01"}, "Scegli una data da oggi"),
    ({"message": "x" * 100_000}, "al massimo 2000 caratteri"),
    ({"message": "<script>alert('x')</script>"}, "non può contenere codice HTML"),
    ({"first_name": "<img src=x onerror=alert(1)>"}, "non può contenere codice HTML"),
    ({"email": "non-una-email"}, "Indirizzo e-mail non valido"),
    ({"phone": "chiamami"}, "Numero di telefono non valido"),
    ({"town": "999999"}, "Scegli il comune"),
    ({"topic": "\x00"}, "Scegli l'argomento"),
    ({"privacy_consent": None}, "serve il consenso al trattamento"),
    ({"age": "12"}, "Sotto i 14 anni serve il consenso di un genitore"),
])
def test_bad_input_gets_a_clear_message_and_no_ticket(client, desks, valid_form, overrides, message):
    response = client.post("/richiesta", data=valid_form(**overrides))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in unescape(html)
    assert "Controlla i campi evidenziati" in html
    assert "<script>alert" not in html  # echoed back escaped, never as markup
    assert _tickets() == []


def test_nul_bytes_are_stripped_not_stored(client, desks, valid_form):
    response = client.post("/richiesta", data=valid_form(first_name="An\x00na", message="ciao\x00 a tutti"))
    assert response.status_code == 303
    [ticket] = _tickets()
    assert (ticket.first_name, ticket.message) == ("Anna", "ciao a tutti")


def test_under_fourteen_with_guardian_consent_is_accepted(client, desks, valid_form):
    data = valid_form(age="12", guardian_name="Maria Rossi", guardian_contact="3339998888", guardian_consent="y")
    assert client.post("/richiesta", data=data).status_code == 303
    [ticket] = _tickets()
    assert ticket.guardian_consent and ticket.guardian_name == "Maria Rossi"


def test_preferred_date_in_italian_format_is_kept(client, desks, valid_form):
    when = today_local() + timedelta(days=3)
    assert client.post("/richiesta", data=valid_form(preferred_from=when.strftime("%d/%m/%Y"))).status_code == 303
    assert _tickets()[0].preferred_from == when


def test_body_over_the_size_limit_is_refused_cleanly(client, desks, valid_form):
    response = client.post("/richiesta", data=valid_form(message="x" * (3 * 1024 * 1024)))
    assert response.status_code == 413
    assert "Contenuto troppo grande" in response.get_data(as_text=True)


def test_distress_words_make_the_request_urgent(client, desks, valid_form):
    assert client.post("/richiesta", data=valid_form(message="A casa mi picchiano")).status_code == 303
    assert _tickets()[0].priority == "urgent"


def test_the_21st_request_in_a_minute_is_refused_with_429(client, desks, valid_form):
    for n in range(20):
        assert client.post("/richiesta", data=valid_form(first_name=f"Persona{n}")).status_code == 303
    refused = client.post("/richiesta", data=valid_form(first_name="Ventunesima"))
    assert refused.status_code == 429
    assert "Troppi tentativi" in refused.get_data(as_text=True)
    assert len(_tickets()) == 20
    assert client.get("/richiesta").status_code == 200  # reading the form is not limited
