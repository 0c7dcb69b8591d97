"""Sign-in, sign-out, server-side sessions, throttling, safe redirects and CSRF."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.models import UserSession
from tests.auth.conftest import SESSION_COOKIE, field_error
from tests.conftest import DEMO_PASSWORD, htmx, login, totp_code

WRONG = "not-the-password-1"


def test_login_success_opens_a_session_and_the_dashboard(client, make_user):
    user = make_user("tutor")
    response = login(client, user.email.upper() + "  ")
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    assert client.get("/").status_code == 200
    assert db.session.query(UserSession).filter_by(user_id=user.id, revoked_at=None).count() == 1


def test_login_failure_is_the_same_for_unknown_email_and_wrong_password(client, make_user):
    user = make_user("operator")
    wrong_password = login(client, user.email, WRONG)
    unknown_email = login(client, "nessuno@prova.test", WRONG)
    assert wrong_password.status_code == unknown_email.status_code == 422
    message_a = field_error(wrong_password.get_data(as_text=True), "password")
    message_b = field_error(unknown_email.get_data(as_text=True), "password")
    assert message_a == message_b == "E-mail o password non corretti."
    assert field_error(wrong_password.get_data(as_text=True), "email") == ""
    assert client.get("/").status_code == 302


def test_inactive_account_cannot_sign_in(client, make_user):
    user = make_user("tutor", active=False)
    response = login(client, user.email)
    assert response.status_code == 422
    assert "E-mail o password non corretti." in response.get_data(as_text=True)


def test_logout_revokes_the_session_and_a_replayed_cookie_is_refused(client, login_as):
    login_as("coordinator")
    cookie = client.get_cookie(SESSION_COOKIE).value
    assert client.get("/admin/utenti").status_code == 200

    response = client.post("/logout")
    assert response.status_code == 303
    assert response.headers["Location"] == "/login"
    assert client.get("/admin/utenti").status_code == 302

    client.set_cookie(SESSION_COOKIE, cookie)  # an attacker who copied the cookie earlier
    replay = client.get("/admin/utenti")
    assert replay.status_code == 302
    assert replay.headers["Location"].startswith("/login")


@pytest.fixture
def two_browsers(app, make_user):
    """One account signed in from two browsers."""
    user = make_user("tutor")
    browsers = [app.test_client(), app.test_client()]
    for browser in browsers:
        assert login(browser, user.email).status_code == 303
    return user, browsers


def test_password_change_refuses_cookies_captured_before(two_browsers):
    user, (laptop, phone) = two_browsers
    laptop_cookie = laptop.get_cookie(SESSION_COOKIE).value
    phone_cookie = phone.get_cookie(SESSION_COOKIE).value
    new_password = "una-nuova-password-lunga"
    response = laptop.post("/account/password", data={
        "current_password": DEMO_PASSWORD, "new_password": new_password, "confirm": new_password})
    assert response.status_code == 303
    # The browser that changed it stays in, on a fresh session.
    assert laptop.get("/").status_code == 200
    assert laptop.get_cookie(SESSION_COOKIE).value != laptop_cookie
    # The other browser is out, and so is the old cookie of the first one.
    assert phone.get("/").headers.get("Location", "").startswith("/login")
    for stale in (laptop_cookie, phone_cookie):
        phone.set_cookie(SESSION_COOKIE, stale)
        assert phone.get("/").status_code == 302
    # The new password works, the old one does not.
    assert login(phone, user.email, DEMO_PASSWORD).status_code == 422
    assert login(phone, user.email, new_password).status_code == 303


def test_wrong_current_password_is_refused(client, login_as):
    login_as("tutor")
    response = client.post("/account/password", data={
        "current_password": WRONG, "new_password": "una-nuova-password-lunga", "confirm": "una-nuova-password-lunga"})
    assert response.status_code == 422
    assert field_error(response.get_data(as_text=True), "current_password") == "La password attuale non è corretta."


# --- Throttling -------------------------------------------------------------------

def test_sixth_attempt_after_five_failures_is_refused_even_with_the_right_password(client, make_user):
    user = make_user("operator")
    for _ in range(5):
        assert login(client, user.email, WRONG).status_code == 422
    response = login(client, user.email, DEMO_PASSWORD)
    assert response.status_code == 429
    assert "Troppi tentativi" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302  # not signed in


def test_account_lockout_does_not_block_other_accounts(client, make_user):
    victim, other = make_user("operator"), make_user("tutor")
    for _ in range(5):
        login(client, victim.email, WRONG)
    assert login(client, other.email).status_code == 303


def test_successful_sign_ins_do_not_count_as_failures(app, make_user):
    user = make_user("tutor")
    for _ in range(7):
        browser = app.test_client()
        assert login(browser, user.email).status_code == 303


def test_per_address_limit_refuses_many_attempts_from_one_address(app, make_user):
    app.config["LOGIN_LIMIT_PER_ADDRESS"] = "3 per minute"
    client = app.test_client()
    emails = [f"sconosciuto{i}@prova.test" for i in range(3)]
    for email in emails:
        assert login(client, email, WRONG).status_code == 422
    refused = login(client, "ancora@prova.test", WRONG)
    assert refused.status_code == 429
    assert "Troppi tentativi" in refused.get_data(as_text=True)
    # Another address is not affected.
    user = make_user("tutor")
    elsewhere = client.post("/login", data={"email": user.email, "password": DEMO_PASSWORD},
                            environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert elsewhere.status_code == 303


# --- Safe redirects -------------------------------------------------------------------

@pytest.mark.parametrize("target", ["//evil.example", "https://evil.example", "/\\evil.example",
                                    "http:/evil.example", "evil.example", "///evil.example"])
def test_next_cannot_redirect_off_site(client, make_user, target):
    user = make_user("tutor")
    response = client.post("/login", data={"email": user.email, "password": DEMO_PASSWORD, "next": target})
    assert response.status_code == 303
    assert response.headers["Location"] == "/login/codice"
    response = client.post("/login/codice", data={"code": totp_code(user.email)})
    assert response.status_code == 303
    assert response.headers["Location"] == "/"


def test_next_is_followed_for_a_same_site_path(client, make_user):
    user = make_user("coordinator")
    page = client.get("/admin/utenti?q=rossi")
    assert page.status_code == 302
    assert "next=" in page.headers["Location"]
    response = client.post("/login", data={"email": user.email, "password": DEMO_PASSWORD,
                                           "next": "/admin/utenti?q=rossi"})
    response = client.post("/login/codice", data={"code": totp_code(user.email)})
    assert response.headers["Location"] == "/admin/utenti?q=rossi"


# --- CSRF --------------------------------------------------------------------------------

@pytest.mark.parametrize("headers", [{}, htmx()])
def test_post_without_csrf_token_is_refused_with_a_clear_message(client, make_user, headers):
    user = make_user("tutor")
    response = client.post("/login", data={"email": user.email, "password": DEMO_PASSWORD},
                           headers=headers, csrf=False)
    assert response.status_code == 400
    assert "Il modulo è scaduto o non è stato inviato da questa applicazione" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_signed_in_post_without_csrf_token_changes_nothing(client, login_as, make_user):
    login_as("admin")
    target = make_user("tutor")
    response = client.post(f"/admin/utenti/{target.id}/stato", data={"active": "0", "version": target.version},
                           csrf=False)
    assert response.status_code == 400
    assert "Ricarica la pagina" in response.get_data(as_text=True)
    db.session.refresh(target)
    assert target.active is True
