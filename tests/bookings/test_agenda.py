"""Role calendars: operator day/week and day sheet, tutor's agenda and feed, coordinator, admin filters, occupancy."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from icalendar import Calendar

from app.bookings import services
from app.extensions import db
from app.models import TutorFeedToken
from tests.bookings.conftest import tomorrow_at
from tests.bookings.factories import make_desk, make_person
from tests.bookings.test_messages import book
from tests.conftest import htmx, login


@pytest.fixture
def two_desks(world, network, make_user):
    """The world's Segrate desk with one appointment tomorrow, and an Ala Milano desk in Rodano with another."""
    rodano_operator = make_user("operator", organisation=network["Ala Milano"])
    ala_tutor = make_user("tutor", organisation=network["Ala Milano"], full_name="Davide Greco")
    rodano = make_desk(network, town="Rodano", partner="Ala Milano", name="Sportello Rodano",
                       operators=[rodano_operator], tutors=[ala_tutor])
    other = make_person(network, rodano_operator, first_name="Omar", last_name="Diallo", phone="3400000005",
                        registered_desk=rodano, town="Rodano")
    here = book(world, tomorrow_at(10))
    there = services.create_booking(rodano_operator, services.BookingData(
        desk_id=rodano.id, tutor_id=ala_tutor.id, young_person_id=other.id, service="orientamento",
        starts_at=tomorrow_at(11)))
    world.rodano, world.rodano_operator, world.ala_tutor, world.other = rodano, rodano_operator, ala_tutor, other
    world.here, world.there = here, there
    return world


def day_args(world) -> str:
    return f"data={tomorrow_at(10).date().isoformat()}"


def test_operator_sees_their_desks_day_only(two_desks, client):
    w = two_desks
    login(client, w.operator.email)
    html = client.get(f"/agenda?{day_args(w)}").get_data(as_text=True)
    assert w.person.full_name in html and w.person.code in html
    assert w.other.full_name not in html and w.other.code not in html
    assert "Foglio del giorno" not in html  # one desk but not chosen yet
    week = client.get(f"/agenda?vista=week&{day_args(w)}").get_data(as_text=True)
    assert w.person.full_name in week and week.count("agenda-day-") >= 7


def test_agenda_fragment_for_htmx(two_desks, client):
    w = two_desks
    login(client, w.operator.email)
    response = client.get(f"/agenda?{day_args(w)}&sportello={w.desk.id}", headers=htmx())
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and body.lstrip().startswith('<div id="agenda">') and "<html" not in body
    assert "Vary" in response.headers and "HX-Request" in response.headers["Vary"]


def test_day_sheet_prints_own_desk_and_refuses_others(two_desks, client):
    w = two_desks
    login(client, w.operator.email)
    sheet = client.get(f"/agenda/foglio?sportello={w.desk.id}&{day_args(w)}")
    html = sheet.get_data(as_text=True)
    assert sheet.status_code == 200 and w.person.full_name in html and w.person.phone in html
    assert client.get(f"/agenda/foglio?sportello={w.rodano.id}&{day_args(w)}").status_code == 404
    assert "Foglio del giorno" in client.get(f"/agenda?{day_args(w)}&sportello={w.desk.id}").get_data(as_text=True)


def test_tutor_sees_today_and_the_week_ahead_with_a_note_link(two_desks, client):
    w = two_desks
    login(client, w.tutor.email)
    html = client.get("/agenda").get_data(as_text=True)
    assert "La mia agenda" in html and w.person.full_name in html and w.other.full_name not in html
    assert "Scrivi la nota" in html
    assert f"/appuntamenti/{w.here.id}" in html
    assert len(re.findall(r'id="agenda-day-', html)) == 8  # today + 7 days


def test_coordinator_sees_their_organisation_tutors(two_desks, client, make_user, network):
    w = two_desks
    ala_coordinator = make_user("coordinator", organisation=network["Ala Milano"])
    login(client, ala_coordinator.email)
    html = client.get(f"/agenda?{day_args(w)}").get_data(as_text=True)
    assert w.other.full_name in html and w.person.full_name not in html


def test_admin_sees_the_network_and_filters(two_desks, client, make_user, network):
    w = two_desks
    admin = make_user("admin")
    login(client, admin.email)
    everything = client.get(f"/agenda?{day_args(w)}").get_data(as_text=True)
    assert w.person.full_name in everything and w.other.full_name in everything
    by_desk = client.get(f"/agenda?{day_args(w)}&sportello={w.rodano.id}").get_data(as_text=True)
    assert w.other.full_name in by_desk and w.person.full_name not in by_desk
    by_town = client.get(f"/agenda?{day_args(w)}&comune={network['Segrate'].id}").get_data(as_text=True)
    assert w.person.full_name in by_town and w.other.full_name not in by_town
    by_tutor = client.get(f"/agenda?{day_args(w)}&tutor={w.ala_tutor.id}").get_data(as_text=True)
    assert w.other.full_name in by_tutor and w.person.full_name not in by_tutor
    services.cancel(w.operator, w.here.id, "Malattia", "young_person")
    cancelled = client.get(f"/agenda?{day_args(w)}&stato=cancelled").get_data(as_text=True)
    assert w.person.full_name in cancelled and w.other.full_name not in cancelled


def test_a_protected_person_is_reserved_for_whom_may_not_see_them(two_desks, client, make_user, network, app):
    w = two_desks
    w.other.protected, w.other.tutor_id = True, w.ala_tutor.id
    db.session.commit()
    login(client, make_user("admin").email)
    html = client.get(f"/agenda?{day_args(w)}").get_data(as_text=True)
    assert w.person.full_name in html and "Riservato" in html
    assert w.other.full_name not in html and w.other.code not in html
    assert f"/appuntamenti/{w.there.id}" in html  # the appointment itself stays on the calendar
    coordinator = app.test_client()
    login(coordinator, make_user("coordinator", organisation=network["Ala Milano"]).email)
    html = coordinator.get(f"/agenda?{day_args(w)}").get_data(as_text=True)
    assert w.other.full_name in html and w.other.code in html and "Riservato" not in html


def test_row_links_are_the_routes_urls(two_desks, app):
    from flask import url_for

    from app.bookings.agenda import id_url

    with app.test_request_context("/agenda"):
        detail, note = id_url("bookings.detail", "appointment_id"), id_url("notes.editor", "appointment_id")
        for value in (1, 42, 2147483646, 10**12):
            assert detail(value) == url_for("bookings.detail", appointment_id=value)
            assert note(value) == url_for("notes.editor", appointment_id=value)


def test_tutor_feed_initials_and_code_only_and_revocable(two_desks, client):
    w = two_desks
    login(client, w.tutor.email)
    page = client.post("/agenda/feed", data={"azione": "nuovo"}).get_data(as_text=True)
    url = re.search(r'<code id="new-feed-url">([^<]+)</code>', page).group(1)
    token = url.rsplit("/", 1)[1].removesuffix(".ics")
    assert db.session.scalar(sa.select(TutorFeedToken.token_hash)) != token
    client.get("/logout")
    feed = client.get(f"/agenda/feed/{token}.ics")
    assert feed.status_code == 200 and feed.mimetype == "text/calendar"
    text = feed.get_data(as_text=True)
    calendar = Calendar.from_ical(text)
    [event] = list(calendar.walk("VEVENT"))
    assert str(event["SUMMARY"]) == f"G.B. {w.person.code}" and str(event["UID"]) == w.here.uid
    assert w.person.first_name not in text and "Orientamento" not in text
    login(client, w.tutor.email)
    client.post("/agenda/feed", data={"azione": "revoca"})
    assert client.get(f"/agenda/feed/{token}.ics").status_code == 404


def test_only_tutors_get_a_feed(client, login_as):
    login_as("operator")
    assert client.post("/agenda/feed", data={"azione": "nuovo"}).status_code == 403


@pytest.mark.parametrize("role", ["municipal_contact", "observer"])
def test_agenda_refused_to_roles_without_names(client, login_as, role):
    login_as(role)
    assert client.get("/agenda").status_code == 403
    assert client.get("/agenda", headers=htmx()).status_code == 403


def test_occupancy_counts_per_desk_and_slot(two_desks, client, make_user, network):
    w = two_desks
    contact = make_user("municipal_contact", organisation=network["Segrate"])
    login(client, contact.email)
    html = client.get(f"/occupazione?{day_args(w)}").get_data(as_text=True)
    assert w.desk.name in html and "Sportello Rodano" not in html  # own municipality only
    # The desk's grid (45' slots from 08:00): the 10:00–10:45 appointment takes two slots of one room.
    assert "09:30–10:15: 1/1" in html and "10:15–11:00: 1/1" in html and "11:00–11:45: 0/1" in html
    assert "1 appuntamento" in html and "2 fasce piene su" in html


def _ids_for(rule, values: dict) -> dict | None:
    args = {}
    for name in rule.arguments:
        if name not in values:
            return None
        args[name] = values[name]
    return args


def test_a_municipal_contact_never_sees_a_name_or_code(two_desks, client, make_user, network, app):
    """Every GET page and fragment a town's contact can open: no young person's name or code in the HTML."""
    w = two_desks
    contact = make_user("municipal_contact", organisation=network["Segrate"])
    login(client, contact.email)
    secrets = [w.person.first_name, w.person.last_name, w.person.code, w.other.first_name, w.other.last_name,
               w.other.code]
    values = {"desk_id": w.desk.id, "appointment_id": w.here.id, "person_id": w.person.id,
              "young_person_id": w.person.id, "user_id": contact.id}
    checked = 0
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static" or rule.endpoint.endswith(".static"):
            continue
        if rule.endpoint in ("auth.logout",):
            continue
        args = _ids_for(rule, values)
        if args is None:
            continue
        with app.test_request_context():
            from flask import url_for

            url = url_for(rule.endpoint, **args)
        for query in ("", f"?{day_args(w)}"):
            for headers in ({}, htmx()):
                body = client.get(url + query, headers=headers).get_data(as_text=True)
                for secret in secrets:
                    assert secret not in body, f"{secret!r} in {url}{query} {headers}"
                checked += 1
    assert checked > 40
    assert "1/1" in client.get(f"/occupazione?{day_args(w)}").get_data(as_text=True)  # data was there


def test_tutors_do_not_print_day_sheets(two_desks, client):
    w = two_desks
    login(client, w.tutor.email)
    assert client.get(f"/agenda/foglio?sportello={w.desk.id}&{day_args(w)}").status_code == 404
    assert "Foglio del giorno" not in client.get(f"/agenda?sportello={w.desk.id}").get_data(as_text=True)
