"""The public timetable at /sportelli: no sign-in, no staff names, no internal reasons, schema.org microdata."""

from __future__ import annotations

from datetime import date, time

from tests.desks.test_calendar_support import (
    add_closure,
    add_schedule,
    calendar_desk_fixture,  # noqa: F401 (the fixture)
    utc,
)

# Monday 30 November 2026, 10:00 in Rome.
MONDAY_MORNING = utc(2026, 11, 30, 9, 0)


def _freeze(monkeypatch, moment):
    monkeypatch.setattr("app.desks.public_routes.utcnow", lambda: moment)
    monkeypatch.setattr("app.desks.calendars.utcnow", lambda: moment)


def test_public_page_without_login(client, calendar_desk, make_user, monkeypatch):
    """Anyone sees every town's desks, this week's hours and open now, with no staff names."""
    operator = make_user("operator", full_name="Ornella Operatrice")
    tutor = make_user("tutor", full_name="Tiziano Tutor")
    segrate = calendar_desk("Segrate", operators=[operator], tutors=[tutor])
    rodano = calendar_desk("Rodano")
    _freeze(monkeypatch, MONDAY_MORNING)
    response = client.get("/sportelli")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert segrate.name in html and rodano.name in html and "Comune di Rodano" in html
    assert "Aperto ora" in html and "fino alle 12:30" in html
    assert "Questa settimana (30/11/2026 – 06/12/2026)" in html
    assert "Ornella Operatrice" not in html and "Tiziano Tutor" not in html
    assert "Orientamento" in html  # services


def test_public_page_has_opening_hours_microdata(client, calendar_desk, monkeypatch):
    """Weekly hours (and the coming season) are marked up as schema.org OpeningHoursSpecification."""
    desk = calendar_desk(valid_to=date(2027, 6, 30))
    from app.extensions import db

    add_schedule(desk, [(0, time(9), time(13))], date(2027, 7, 1), date(2027, 8, 31), name="Estate")
    db.session.commit()
    _freeze(monkeypatch, MONDAY_MORNING)
    html = client.get("/sportelli").get_data(as_text=True)
    assert 'itemtype="https://schema.org/GovernmentOffice"' in html
    assert html.count('itemprop="openingHoursSpecification"') == 6  # 5 winter days + 1 summer
    assert html.count('itemprop="specialOpeningHoursSpecification"') >= 3  # 8 Dec, 25 Dec, 1 Jan, 6 Jan
    assert '<link itemprop="dayOfWeek" href="https://schema.org/Monday">' in html
    assert '<time itemprop="opens" datetime="09:00">' in html and '<time itemprop="closes" datetime="13:00">' in html
    assert '<meta itemprop="validFrom" content="2027-07-01">' in html
    assert '<meta itemprop="validThrough" content="2027-08-31">' in html


def test_public_closures_without_reasons(client, calendar_desk, monkeypatch):
    """Upcoming closures show dates (holidays by name) but never the internal reason."""
    desk = calendar_desk("Gessate")
    add_closure("desk", utc(2026, 12, 14, 23, 0), utc(2026, 12, 16, 23, 0), "Sciopero del personale interno",
                desk=desk)
    add_closure("all", utc(2026, 12, 2, 13, 0), utc(2026, 12, 2, 17, 0), "Formazione riservata")
    _freeze(monkeypatch, MONDAY_MORNING)
    html = client.get("/sportelli").get_data(as_text=True)
    assert "Sciopero" not in html and "Formazione riservata" not in html
    assert "chiuso dal 15/12/2026 al 16/12/2026" in html
    assert "08/12/2026: chiuso (Immacolata Concezione)" in html
    assert '<meta itemprop="validFrom" content="2026-12-15">' in html


def test_sign_in_page_links_the_public_timetable(client):
    """Young people and families find the timetable from the sign-in page."""
    html = client.get("/login").get_data(as_text=True)
    assert 'href="/sportelli"' in html
