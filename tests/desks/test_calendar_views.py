"""Staff calendars: desk list with open now, week/month calendars (page vs htmx fragment), scope, door timetable."""

from __future__ import annotations

from datetime import date, time

import pytest

from tests.conftest import htmx
from tests.desks.test_calendar_support import (
    add_availability,
    add_closure,
    calendar_desk_fixture,  # noqa: F401 (the fixture)
    utc,
)

# Thursday 3 December 2026, 10:00 in Rome (09:00 UTC): Mon–Fri 09:00–12:30 desks are open.
THURSDAY_MORNING = utc(2026, 12, 3, 9, 0)
# Saturday 5 December 2026, 10:00 in Rome: closed, next opening Monday 7 at 09:00.
SATURDAY_MORNING = utc(2026, 12, 5, 9, 0)


@pytest.fixture
def frozen_now(monkeypatch):
    """Factory: make the calendar views believe it is a given instant."""

    def freeze(moment):
        monkeypatch.setattr("app.desks.calendar_routes.utcnow", lambda: moment)
        monkeypatch.setattr("app.desks.calendars.utcnow", lambda: moment)

    return freeze


def test_index_shows_open_now_and_next_opening(client, login_as, calendar_desk, frozen_now):
    """Each desk says whether it is open now, or when it opens next."""
    desk = calendar_desk()
    login_as("observer")
    frozen_now(THURSDAY_MORNING)
    html = client.get("/orari").get_data(as_text=True)
    assert desk.name in html and "Aperto ora" in html and "fino alle 12:30" in html
    frozen_now(SATURDAY_MORNING)
    html = client.get("/orari").get_data(as_text=True)
    assert "Aperto ora" not in html
    assert "riapre lunedì 07/12/2026 alle 09:00" in html


def test_index_filters_by_town_and_service_as_fragment(client, login_as, calendar_desk, network):
    """The filter form answers htmx with only the list, and the full page without JS."""
    segrate, rodano = calendar_desk("Segrate"), calendar_desk("Rodano")
    rodano.services = ["ascolto"]
    from app.extensions import db

    db.session.commit()
    login_as("operator")
    full = client.get(f"/orari?comune={network['Segrate'].id}")
    assert full.status_code == 200 and "<html" in full.get_data(as_text=True)
    assert segrate.name in full.get_data(as_text=True) and rodano.name not in full.get_data(as_text=True)
    fragment = client.get("/orari?servizio=ascolto", headers=htmx())
    body = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and "<html" not in body and 'id="desk-list"' in body
    assert rodano.name in body and segrate.name not in body
    assert "HX-Request" in fragment.headers.get("Vary", "")


def test_week_calendar_page_and_fragment(client, login_as, calendar_desk):
    """The week view lists each day's intervals; htmx gets the calendar section alone."""
    desk = calendar_desk()
    login_as("coordinator")
    url = f"/orari/{desk.id}/calendario?vista=settimana&data=2026-12-09"
    page = client.get(url).get_data(as_text=True)
    assert "<html" in page and "Settimana dal 07/12/2026 al 13/12/2026" in page
    assert page.count("09:00–12:30") == 2 * 4  # table and phone list; Tuesday 8 December is the Immacolata holiday
    assert "Immacolata" in page
    assert 'scope="col"' in page and "it-chevron-left" in page and "nav-tabs" in page
    fragment = client.get(url, headers=htmx()).get_data(as_text=True)
    assert "<html" not in fragment and 'id="desk-calendar"' in fragment and "09:00–12:30" in fragment


def test_month_calendar_shows_closures_with_reason_and_dst(client, login_as, calendar_desk):
    """A month grid starts on Monday, shows a partial closure with its reason, and local times across DST."""
    desk = calendar_desk()
    add_closure("desk", utc(2026, 10, 28, 10, 0), utc(2026, 10, 28, 11, 0), "Assemblea del personale", desk=desk)
    login_as("admin")
    html = client.get(f"/orari/{desk.id}/calendario?vista=mese&data=2026-10-15").get_data(as_text=True)
    assert "Ottobre 2026" in html
    assert "Assemblea del personale" in html and "11:00–12:00" in html  # 10:00Z–11:00Z is 11:00–12:00 CET
    # Friday 23 (summer time) and Monday 26 (winter time) both open 09:00–12:30 local.
    assert html.count("09:00–12:30") >= 20
    assert "09:00–11:00" in html and "12:00–12:30" in html  # Wednesday 28 around the closure


def test_free_slots_count_when_tutors_work_there(client, login_as, calendar_desk, make_user):
    """With a tutor's availability the calendar counts bookable slots (no bookings yet)."""
    tutor = make_user("tutor")
    desk = calendar_desk(tutors=[tutor], slot_minutes=45, buffer_minutes=15, min_notice_minutes=0)
    add_availability(tutor, desk, [(0, time(9), time(12))], date(2026, 1, 1))
    login_as("admin")
    html = client.get(f"/orari/{desk.id}/calendario?vista=settimana&data=2027-01-11").get_data(as_text=True)
    assert "3 slot liberi" in html  # Monday 11 January 2027: 09:00, 10:00, 11:00


def test_municipal_contact_sees_only_own_town_read_only(client, login_as, calendar_desk, make_user):
    """The Rodano contact sees Rodano's desks, no edit links, no staff names; other towns are 404."""
    operator = make_user("operator", full_name="Ornella Operatrice")
    rodano = calendar_desk("Rodano", operators=[operator])
    segrate = calendar_desk("Segrate")
    login_as("municipal_contact")  # of Rodano
    index = client.get("/orari").get_data(as_text=True)
    assert rodano.name in index and segrate.name not in index
    assert "Modifica orari" not in index and "Ornella Operatrice" not in index
    page = client.get(f"/orari/{rodano.id}/calendario?vista=mese")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "/modifica" not in body and "Ornella Operatrice" not in body
    for url in (f"/orari/{segrate.id}/calendario", f"/orari/{segrate.id}/calendario?vista=mese",
                f"/orari/{segrate.id}/stampa"):
        assert client.get(url).status_code == 404
        assert client.get(url, headers=htmx()).status_code == 404


def test_operator_of_desk_gets_edit_link(client, make_user, calendar_desk):
    """An operator assigned to the desk sees the link to edit its hours."""
    from tests.conftest import login

    operator = make_user("operator")
    desk = calendar_desk(operators=[operator])
    other = calendar_desk()
    login(client, operator.email)
    assert f"/orari/{desk.id}/modifica" in client.get(f"/orari/{desk.id}/calendario").get_data(as_text=True)
    assert f"/orari/{other.id}/modifica" not in client.get(f"/orari/{other.id}/calendario").get_data(as_text=True)


def test_printable_timetable_has_week_and_no_names(client, login_as, calendar_desk, make_user):
    """The door timetable lists the week's days with hours and no staff names."""
    operator = make_user("operator", full_name="Ornella Operatrice")
    desk = calendar_desk(operators=[operator])
    login_as("admin")
    html = client.get(f"/orari/{desk.id}/stampa?data=2026-12-09").get_data(as_text=True)
    assert "Orario della settimana dal 07/12/2026 al 13/12/2026" in html
    assert "Martedì 08/12/2026" in html and "Immacolata" in html
    assert "Ornella Operatrice" not in html
    assert "css/calendar.css" in html


def test_anonymous_is_sent_to_login(client, calendar_desk):
    """Staff calendars need a sign-in."""
    desk = calendar_desk()
    response = client.get(f"/orari/{desk.id}/calendario")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
