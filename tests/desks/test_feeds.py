"""iCalendar feeds: secret tokens (hash stored, revoke, renew), VTIMEZONE Europe/Rome, local times across DST."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, date, datetime, time

import pytest
import sqlalchemy as sa
from icalendar import Calendar

from app.extensions import db
from app.models import FeedToken
from tests.desks.test_calendar_support import (
    add_closure,
    calendar_desk_fixture,  # noqa: F401 (the fixture)
    utc,
)

# 20 October 2026: the feed window covers both sides of the 25 October change to winter time.
BEFORE_DST_END = utc(2026, 10, 20, 8, 0)


@pytest.fixture
def feed_now(monkeypatch):
    """Make the feed endpoint believe it is 20 October 2026."""
    monkeypatch.setattr("app.desks.feed_routes.utcnow", lambda: BEFORE_DST_END)


def _issue(client, scope: str, target_id: int) -> str:
    """Create a feed link as admin through the real form; returns the token shown on the feeds page."""
    response = client.post("/orari/feed/rinnova", data={"scope": scope, "target_id": target_id})
    assert response.status_code == 303
    page = client.get("/orari/feed").get_data(as_text=True)
    tokens = re.findall(r"/feed/([A-Za-z0-9_-]+)\.ics", page)
    assert tokens, "no feed link on the feeds page"
    return tokens[0]


def _events(body: bytes) -> list:
    return list(Calendar.from_ical(body).walk("VEVENT"))


def test_feed_has_rome_timezone_and_right_local_times_across_dst(client, login_as, calendar_desk, feed_now):
    """09:00 local is 07:00Z on Friday 23 October (summer time) and 08:00Z on Monday 26 October (winter time)."""
    desk = calendar_desk()
    login_as("admin")
    token = _issue(client, "desk", desk.id)
    client.post("/logout")
    response = client.get(f"/feed/{token}.ics")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert "no-store" in response.headers["Cache-Control"]
    calendar = Calendar.from_ical(response.data)
    assert [tz.tz_name for tz in calendar.timezones] == ["Europe/Rome"]
    assert b"DTSTART;TZID=Europe/Rome:20261023T090000" in response.data
    starts = {event.start.astimezone(UTC): event for event in _events(response.data)
              if str(event["UID"]).startswith("open-")}
    friday = starts[datetime(2026, 10, 23, 7, 0, tzinfo=UTC)]
    monday = starts[datetime(2026, 10, 26, 8, 0, tzinfo=UTC)]
    assert str(friday.start.tzinfo) == "Europe/Rome" and friday.start.time() == time(9)
    assert monday.start.time() == time(9) and monday.end.time() == time(12, 30)
    assert datetime(2026, 10, 26, 7, 0, tzinfo=UTC) not in starts


def test_feed_lists_closures_and_holidays_with_stable_uids(client, login_as, calendar_desk, feed_now):
    """A whole-day closure is an all-day event with its reason; holidays are listed; UIDs do not change."""
    desk = calendar_desk()
    add_closure("all", utc(2026, 11, 1, 23, 0), utc(2026, 11, 2, 23, 0), "Ponte dei Santi")  # Monday 2, local
    login_as("admin")
    token = _issue(client, "desk", desk.id)
    first = client.get(f"/feed/{token}.ics").data
    events = _events(first)
    closure = next(e for e in events if str(e["UID"]).startswith("closed-"))
    assert closure.start == date(2026, 11, 2) and "Ponte dei Santi" in str(closure["SUMMARY"])
    assert any("Tutti i Santi" in str(e["SUMMARY"]) or "Ognissanti" in str(e["SUMMARY"]) for e in events)
    uids = sorted(str(e["UID"]) for e in events)
    assert len(uids) == len(set(uids))
    assert uids == sorted(str(e["UID"]) for e in _events(client.get(f"/feed/{token}.ics").data))


def test_only_the_hash_is_stored_and_revoked_or_unknown_tokens_are_404(client, login_as, calendar_desk):
    """The database keeps sha256(token); revoking or renewing makes the old link 404."""
    desk = calendar_desk()
    login_as("admin")
    token = _issue(client, "desk", desk.id)
    row = db.session.scalar(sa.select(FeedToken))
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest() and token not in row.token_hash
    assert client.get(f"/feed/{token}.ics").status_code == 200
    assert client.get("/feed/not-a-real-token.ics").status_code == 404
    renewed = _issue(client, "desk", desk.id)
    assert renewed != token
    assert client.get(f"/feed/{token}.ics").status_code == 404
    assert client.get(f"/feed/{renewed}.ics").status_code == 200
    response = client.post("/orari/feed/revoca", data={"scope": "desk", "target_id": desk.id})
    assert response.status_code == 303
    assert client.get(f"/feed/{renewed}.ics").status_code == 404


def test_town_feed_covers_the_towns_desks(client, login_as, calendar_desk, network, feed_now):
    """A municipality's feed has the events of every active desk of that town, and only those."""
    one, two, elsewhere = calendar_desk("Rodano"), calendar_desk("Rodano"), calendar_desk("Segrate")
    login_as("admin")
    token = _issue(client, "municipality", network["Rodano"].id)
    body = client.get(f"/feed/{token}.ics").data.decode()
    assert f"open-{one.id}-" in body and f"open-{two.id}-" in body and f"open-{elsewhere.id}-" not in body
    assert "Sportelli di Rodano" in body


def test_feed_link_on_the_calendar_page(client, login_as, calendar_desk, make_user):
    """Staff see the link on the desk's calendar; only admins can renew or revoke it."""
    desk = calendar_desk()
    login_as("admin")
    token = _issue(client, "desk", desk.id)
    admin_page = client.get(f"/orari/{desk.id}/calendario").get_data(as_text=True)
    assert f"/feed/{token}.ics" in admin_page and "/orari/feed/revoca" in admin_page
    client.post("/logout")
    from tests.conftest import login

    operator = make_user("operator")
    login(client, operator.email)
    page = client.get(f"/orari/{desk.id}/calendario").get_data(as_text=True)
    assert f"/feed/{token}.ics" in page and "/orari/feed/revoca" not in page
    assert client.post("/orari/feed/rinnova", data={"scope": "desk", "target_id": desk.id}).status_code == 403
    assert client.get("/orari/feed").status_code == 403
