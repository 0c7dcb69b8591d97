"""Password reset by e-mailed one-time link, without revealing which addresses exist."""

from __future__ import annotations

import time

import itsdangerous
import pytest
from itsdangerous import URLSafeTimedSerializer

from app.auth import services
from tests.auth.conftest import SESSION_COOKIE, link_path
from tests.conftest import DEMO_PASSWORD, login

NEW_PASSWORD = "una-password-nuova-2026"


def _ask_reset(client, email: str):
    return client.post("/password/reset", data={"email": email})


def _choose(client, path: str, password: str = NEW_PASSWORD):
    return client.post(path, data={"new_password": password, "confirm": password})


def test_reset_request_answers_the_same_for_known_and_unknown_addresses(app, make_user, outbox):
    user = make_user("tutor")
    known_client, unknown_client = app.test_client(), app.test_client()
    known = _ask_reset(known_client, user.email)
    unknown = _ask_reset(unknown_client, "nessuno@prova.test")
    assert known.status_code == unknown.status_code == 303
    assert known.headers["Location"] == unknown.headers["Location"] == "/login"
    known_page = known_client.get("/login").get_data(as_text=True)
    unknown_page = unknown_client.get("/login").get_data(as_text=True)
    notice = "Se l'indirizzo corrisponde a un account attivo"
    assert notice in known_page.replace("&#39;", "'") and notice in unknown_page.replace("&#39;", "'")
    # Only the real account gets a message; nothing is queued for the unknown one.
    assert len(outbox(user.email)) == 1
    assert outbox("nessuno@prova.test") == []


def test_inactive_account_gets_no_reset_link(client, make_user, outbox):
    user = make_user("tutor", active=False)
    assert _ask_reset(client, user.email).status_code == 303
    assert outbox() == []


def test_reset_link_arrives_in_the_outbox_works_once_and_revokes_sessions(app, make_user, outbox):
    user = make_user("operator")
    signed_in = app.test_client()
    assert login(signed_in, user.email).status_code == 303
    old_cookie = signed_in.get_cookie(SESSION_COOKIE).value

    visitor = app.test_client()
    _ask_reset(visitor, user.email)
    [message] = outbox(user.email)
    assert message.subject == "Hub dei Talenti: reimpostazione della password"
    path = link_path(message)
    assert visitor.get(path).status_code == 200

    assert _choose(visitor, path).status_code == 303
    # The old password and every open session are gone.
    assert signed_in.get("/").status_code == 302
    signed_in.set_cookie(SESSION_COOKIE, old_cookie)
    assert signed_in.get("/").status_code == 302
    assert login(app.test_client(), user.email, DEMO_PASSWORD).status_code == 422
    assert login(app.test_client(), user.email, NEW_PASSWORD).status_code == 303
    # The same link cannot be used a second time.
    again = visitor.get(path)
    assert again.status_code == 404
    assert "Collegamento non valido o scaduto" in again.get_data(as_text=True)
    assert _choose(visitor, path, "ancora-un-altra-password").status_code == 404
    assert login(app.test_client(), user.email, NEW_PASSWORD).status_code == 303


def test_weak_new_password_is_refused_and_the_link_still_works(client, make_user, outbox):
    user = make_user("tutor")
    _ask_reset(client, user.email)
    path = link_path(outbox(user.email)[0])
    response = _choose(client, path, "corta")
    assert response.status_code == 422
    assert "almeno 12 caratteri" in response.get_data(as_text=True)
    assert _choose(client, path).status_code == 303


def test_expired_reset_link_is_refused(client, make_user, monkeypatch):
    user = make_user("tutor")
    two_hours_ago = int(time.time()) - 7200
    monkeypatch.setattr(itsdangerous.timed.TimestampSigner, "get_timestamp", lambda self: two_hours_ago)
    token = services.make_reset_token(user)
    monkeypatch.undo()
    response = client.get(f"/password/reset/{token}")
    assert response.status_code == 404
    assert _choose(client, f"/password/reset/{token}").status_code == 404
    assert login(client, user.email, DEMO_PASSWORD).status_code == 303


def test_invitation_link_lives_longer_than_a_reset_link(client, make_user, monkeypatch):
    user = make_user("tutor")
    two_hours_ago = int(time.time()) - 7200
    monkeypatch.setattr(itsdangerous.timed.TimestampSigner, "get_timestamp", lambda self: two_hours_ago)
    invite = services.make_reset_token(user, services.INVITE)
    monkeypatch.undo()
    assert client.get(f"/password/reset/{invite}").status_code == 200


@pytest.mark.parametrize("forge", ["other-key", "tampered", "garbage", "purpose"])
def test_forged_reset_token_is_refused(app, client, make_user, forge):
    user = make_user("tutor")
    genuine = services.make_reset_token(user)
    if forge == "other-key":
        token = URLSafeTimedSerializer("another-secret", salt="password-reset").dumps(
            {"u": user.id, "f": services.password_fingerprint(user), "p": "reset"})
    elif forge == "tampered":
        token = genuine[:-2] + ("AA" if not genuine.endswith("AA") else "BB")
    elif forge == "purpose":
        token = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="password-reset").dumps(
            {"u": user.id, "f": services.password_fingerprint(user), "p": "forever"})
    else:
        token = "not-a-token"
    assert client.get(f"/password/reset/{token}").status_code == 404
    assert _choose(client, f"/password/reset/{token}").status_code == 404
    assert login(client, user.email, DEMO_PASSWORD).status_code == 303
