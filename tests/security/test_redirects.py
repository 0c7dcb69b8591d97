"""Open redirects: every `next=` the app accepts leads to a same-site path, whatever is sent."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from app.policy import is_safe_next
from tests.conftest import login

HOSTILE_TARGETS = (
    "//evil.test", "///evil.test", "////evil.test/x", "https://evil.test", "http://evil.test/login", "HTTPS://evil.test",
    "//evil.test@hub.local", "/\\evil.test", "\\\\evil.test", "\\/evil.test", "/\t/evil.test", "/\n/evil.test",
    "/\r/evil.test", "\t//evil.test", " //evil.test", "/\x00/evil.test", "/\x0b/evil.test", "/\\/evil.test",
    "javascript:alert(1)", "JavaScript:alert(document.cookie)", "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)", "evil.test", "evil.test/login", "%2F%2Fevil.test", "https:evil.test", "//evil%2Etest",
    "/login\r\nSet-Cookie: evil=1", "/login\r\nLocation: https://evil.test", "\u3002evil.test", "//evil。test",
    "", " ", "?next=//evil.test", "#//evil.test", "/" + "a" * 5000,
)
SAME_SITE = ("/", "/giovani", "/giovani/3?q=anna", "/agenda?vista=day&data=2026-11-26", "/%2F/evil.test",
             "/giovani%0d%0aSet-Cookie")


@pytest.mark.parametrize("target", HOSTILE_TARGETS)
def test_is_safe_next_refuses_anything_that_could_leave_the_site(target):
    assert not is_safe_next(target)


@pytest.mark.parametrize("target", SAME_SITE)
def test_is_safe_next_keeps_same_site_paths(target):
    assert is_safe_next(target)


def _lands_on_site(response, expected_status=(302, 303)) -> str:
    assert response.status_code in expected_status, response.status_code
    location = response.headers["Location"]
    parts = urlsplit(location)
    assert parts.scheme in ("", "http") and parts.netloc in ("", "localhost"), location
    assert location.startswith("/") and not location.startswith("//") and "\\" not in location, location
    assert "\r" not in location and "\n" not in location and "evil=1" not in str(response.headers)
    return location


def test_language_switch_never_leaves_the_site(client):
    for target in HOSTILE_TARGETS:
        response = client.post("/lingua", data={"lang": "it", "next": target})
        assert _lands_on_site(response) in ("/", "/login")


def test_sign_in_never_leaves_the_site(app, client, make_user):
    user = make_user("operator")  # no second factor required: the password step ends the sign-in
    for target in HOSTILE_TARGETS[:12] + ("/\t/evil.test", "javascript:alert(1)"):
        assert client.get("/login", query_string={"next": target}).status_code == 200
        response = client.post("/login", data={"email": user.email, "password": "hub-demo-2026", "next": target})
        location = _lands_on_site(response)
        assert location in ("/", "/login") or location.startswith("/login/codice"), location
        client.post("/logout")


def test_helpdesk_assign_and_registration_redirects_stay_on_site(app, client, make_user, network):
    from tests.bookings.factories import make_desk

    operator = make_user("operator")
    make_desk(network, operators=[operator], name="Sportello Segrate")
    assert login(client, operator.email).status_code == 303
    for target in ("//evil.test", "/\t/evil.test", "https://evil.test", "/\\evil.test", "javascript:alert(1)"):
        assign = client.post("/richieste/assegna", data={"next": target, "assignee": ""})
        assert _lands_on_site(assign).startswith("/richieste")
        person = client.post("/giovani/nuova", data={"next": target, "first_name": ""})
        assert person.status_code < 500
        if person.status_code in (302, 303):
            _lands_on_site(person)


def test_a_forged_host_header_never_reaches_an_emailed_link(app, client, make_user):
    """Links in e-mails come from PUBLIC_BASE_URL, not from the request (no reset-link poisoning)."""
    import sqlalchemy as sa

    from app.extensions import db
    from app.models import OutboxMessage

    user = make_user("operator")
    app.config["WTF_CSRF_ENABLED"] = False  # the session cookie belongs to another host: not the point here
    response = client.post("/password/reset", data={"email": user.email}, base_url="http://evil.test",
                           headers={"X-Forwarded-Host": "evil.test"}, csrf=False)
    assert response.status_code in (302, 303)
    assert "evil.test" not in response.headers.get("Location", "")
    [message] = db.session.scalars(sa.select(OutboxMessage)).all()
    assert "evil.test" not in message.body_text and app.config["PUBLIC_BASE_URL"] in message.body_text
