"""Two-factor sign-in: enrolment gate, TOTP with replay protection, recovery codes, admin reset, limits."""

from __future__ import annotations

import re

import sqlalchemy as sa

from app.auth import two_factor
from app.extensions import db
from app.models import AuditEvent, RecoveryCode, UserFactor, UserSession
from tests.auth.conftest import field_error
from tests.conftest import DEMO_PASSWORD, TEST_TOTP_SECRET, htmx, login, totp_code

WRONG_CODE = "000000"


def _events(action: str) -> list[AuditEvent]:
    db.session.commit()
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def _password_step(client, user, password: str = DEMO_PASSWORD):
    response = client.post("/login", data={"email": user.email, "password": password})
    assert response.status_code == 303 and response.headers["Location"] == "/login/codice"
    return response


def _secret_on_page(html: str) -> str:
    match = re.search(r'<code id="totp-secret"[^>]*>([A-Z2-7 ]+)</code>', html)
    assert match, "no secret on the enrolment page"
    return match.group(1).replace(" ", "")


def _recovery_codes(html: str) -> list[str]:
    return re.findall(r"<li><code>([0-9a-z-]+)</code></li>", html)


def _enrol(client) -> tuple[str, list[str]]:
    """Go through enrolment on the page; returns the secret and the recovery codes shown."""
    page = client.get("/account/sicurezza/attiva")
    assert page.status_code == 200
    secret = _secret_on_page(page.get_data(as_text=True))
    response = client.post("/account/sicurezza/attiva",
                           data={"code": two_factor.code_for(secret, two_factor.current_step())})
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    codes = _recovery_codes(response.get_data(as_text=True))
    assert len(codes) == 10
    return secret, codes


# --- The gate -------------------------------------------------------------------------------

GATED = ["/", "/admin/utenti", "/account/password", "/account/sicurezza", "/giovani", "/agenda"]


def test_a_tutor_without_a_second_factor_reaches_nothing_but_enrolment(client, make_user):
    user = make_user("tutor", two_factor=False)
    response = login(client, user.email)
    assert response.status_code == 303 and response.headers["Location"] == "/account/sicurezza/attiva"
    for path in GATED:
        page = client.get(path)
        assert page.status_code == 302 and page.headers["Location"] == "/account/sicurezza/attiva", path
        fragment = client.get(path, headers=htmx())
        assert fragment.status_code == 401, path
        assert fragment.headers["HX-Redirect"] == "/account/sicurezza/attiva"
    # Unsafe methods are refused too, whatever the endpoint.
    assert client.post("/account/password", data={}).status_code == 401
    assert client.post("/account/password", data={}, headers=htmx()).status_code == 401
    # Enrolment, public pages and logout stay reachable.
    enrol = client.get("/account/sicurezza/attiva")
    assert enrol.status_code == 200
    html = enrol.get_data(as_text=True)
    assert "<svg" in html and "totp-qr" in html and "<script" not in html.split("<main", 1)[-1].split("</main>")[0]
    assert client.get("/accessibilita").status_code == 200
    assert client.post("/logout").status_code == 303


def test_every_required_role_is_gated_and_the_optional_ones_are_not(app, make_user):
    for role in ("admin", "coordinator"):
        browser = app.test_client()
        login(browser, make_user(role, two_factor=False).email)
        assert browser.get("/").headers["Location"] == "/account/sicurezza/attiva", role
    for role in ("operator", "municipal_contact", "observer"):
        browser = app.test_client()
        user = make_user(role)
        response = browser.post("/login", data={"email": user.email, "password": DEMO_PASSWORD})
        assert response.status_code == 303 and response.headers["Location"] == "/", role
        assert browser.get("/").status_code == 200
        assert "Non attiva" in browser.get("/account/sicurezza").get_data(as_text=True)


# --- Enrolment ---------------------------------------------------------------------------------

def test_enrolment_refuses_a_wrong_code_then_enrols_and_shows_recovery_codes_once(client, make_user):
    user = make_user("tutor", two_factor=False)
    login(client, user.email)
    page = client.get("/account/sicurezza/attiva").get_data(as_text=True)
    secret = _secret_on_page(page)
    assert client.get("/account/sicurezza/attiva").get_data(as_text=True).count(two_factor.grouped(secret)) == 1

    wrong = client.post("/account/sicurezza/attiva", data={"code": WRONG_CODE})
    assert wrong.status_code == 422
    assert field_error(wrong.get_data(as_text=True), "code").startswith("Il codice non è corretto.")
    assert client.get("/").status_code == 302  # still gated

    before = client.get_cookie("hub_session").value
    right = client.post("/account/sicurezza/attiva",
                        data={"code": two_factor.code_for(secret, two_factor.current_step())})
    assert right.status_code == 200
    codes = _recovery_codes(right.get_data(as_text=True))
    assert len(codes) == 10 and len(set(codes)) == 10
    assert client.get_cookie("hub_session").value != before  # a new session after the stronger sign-in
    assert client.get("/").status_code == 200
    # Stored: the secret encrypted, the codes hashed; shown once only.
    factor = db.session.scalar(sa.select(UserFactor).where(UserFactor.user_id == user.id))
    assert factor.confirmed_at is not None and secret not in factor.secret_encrypted
    stored = set(db.session.scalars(sa.select(RecoveryCode.code_hash).where(RecoveryCode.user_id == user.id)))
    assert len(stored) == 10 and not stored & {c.replace("-", "") for c in codes}
    assert client.get("/account/sicurezza/attiva").status_code == 302
    security = client.get("/account/sicurezza").get_data(as_text=True)
    assert "Ti restano 10 codici di recupero." in security and codes[0] not in security
    assert len(_events("auth.2fa_enrolled")) == 1

    # The next sign-in asks for the code.
    client.post("/logout")
    _password_step(client, user)
    assert client.get("/").status_code == 302
    assert login(client, user.email).status_code == 303


# --- Codes at sign-in -------------------------------------------------------------------------------

def test_code_step_refuses_a_wrong_code_with_a_message_and_audits_it(client, make_user):
    user = make_user("coordinator")
    _password_step(client, user)
    page = client.get("/login/codice")
    assert page.status_code == 200 and 'name="code"' in page.get_data(as_text=True)
    response = client.post("/login/codice", data={"code": WRONG_CODE})
    assert response.status_code == 422
    assert field_error(response.get_data(as_text=True), "code").startswith("Codice non valido o già usato.")
    assert client.get("/").status_code == 302
    failed = _events("auth.2fa_failed")
    assert [(e.object_id, e.actor_id) for e in failed] == [(str(user.id), None)]
    ok = client.post("/login/codice", data={"code": totp_code(user.email)})
    assert ok.status_code == 303
    logins = _events("auth.login")
    assert logins[-1].details == {"method": "totp"}


def test_a_replayed_code_is_refused(app, make_user):
    user = make_user("tutor")
    code = totp_code(user.email)
    first, second = app.test_client(), app.test_client()
    assert login(first, user.email, code=code).status_code == 303
    replay = login(second, user.email, code=code)
    assert replay.status_code == 422
    assert second.get("/").status_code == 302
    # An older step than the last accepted one is refused too, a newer one is accepted.
    step = db.session.scalar(sa.select(UserFactor.last_counter).where(UserFactor.user_id == user.id))
    assert login(second, user.email, code=two_factor.code_for(TEST_TOTP_SECRET, step - 1)).status_code == 422
    assert login(second, user.email, code=totp_code(user.email)).status_code == 303


def test_recovery_codes_work_exactly_once_and_regenerating_invalidates_them(app, client, make_user):
    user = make_user("tutor", two_factor=False)
    login(client, user.email)
    _secret, codes = _enrol(client)
    client.post("/logout")

    browser = app.test_client()
    assert login(browser, user.email, code=codes[0].upper().replace("-", " ")).status_code == 303
    assert browser.get("/").status_code == 200
    used = _events("auth.recovery_code_used")
    assert len(used) == 1 and used[0].details == {"remaining": 9}
    assert _events("auth.login")[-1].details == {"method": "recovery"}
    assert login(app.test_client(), user.email, code=codes[0]).status_code == 422  # once only

    # New codes need a current app code; afterwards the old ones stop working.
    refused = browser.post("/account/sicurezza/codici", data={"code": WRONG_CODE})
    assert refused.status_code == 422
    assert "Il codice non è corretto" in field_error(refused.get_data(as_text=True), "codes-code")
    fresh = browser.post("/account/sicurezza/codici", data={"code": totp_code(user.email)})
    assert fresh.status_code == 200
    new_codes = _recovery_codes(fresh.get_data(as_text=True))
    assert len(new_codes) == 10
    assert login(app.test_client(), user.email, code=codes[1]).status_code == 422
    assert login(app.test_client(), user.email, code=new_codes[0]).status_code == 303
    assert len(_events("auth.recovery_codes_regenerated")) == 1


def test_a_pending_sign_in_expires(app, client, make_user):
    user = make_user("tutor")
    _password_step(client, user)
    app.config["SECOND_FACTOR_PENDING_MINUTES"] = 0
    with client.session_transaction() as session:
        session[two_factor.PENDING_KEY]["t"] -= 5
    response = client.post("/login/codice", data={"code": totp_code(user.email)})
    assert response.status_code == 303 and response.headers["Location"] == "/login"
    assert client.get("/").status_code == 302
    assert client.get("/login/codice").headers["Location"] == "/login"


def test_optional_role_can_enrol_and_disable_from_the_account_page(client, make_user):
    user = make_user("operator")
    login(client, user.email)
    assert "Attiva la verifica in due passaggi" in client.get("/account/sicurezza").get_data(as_text=True)
    _enrol(client)
    client.post("/logout")
    assert login(client, user.email).status_code == 303  # with the code step now
    assert client.post("/account/sicurezza/disattiva", data={"code": WRONG_CODE}).status_code == 422
    assert client.post("/account/sicurezza/disattiva", data={"code": totp_code(user.email)}).status_code == 303
    assert db.session.scalar(sa.select(UserFactor).where(UserFactor.user_id == user.id)) is None
    client.post("/logout")
    direct = client.post("/login", data={"email": user.email, "password": DEMO_PASSWORD})
    assert direct.headers["Location"] == "/"


def test_a_required_role_cannot_disable_its_factor(client, login_as):
    user = login_as("coordinator")
    response = client.post("/account/sicurezza/disattiva", data={"code": totp_code(user.email)})
    assert response.status_code == 422
    assert db.session.scalar(sa.select(UserFactor).where(UserFactor.user_id == user.id)) is not None


# --- Admin reset -------------------------------------------------------------------------------------

def test_admin_resets_a_factor_audited_sessions_revoked_enrolment_again(app, client, login_as, make_user, outbox):
    target = make_user("tutor")
    victim = app.test_client()
    assert login(victim, target.email).status_code == 303
    admin = login_as("admin")
    page = client.get(f"/admin/utenti/{target.id}").get_data(as_text=True)
    assert "Azzera la verifica in due passaggi" in page

    response = client.post(f"/admin/utenti/{target.id}/secondo-fattore")
    assert response.status_code == 303
    assert db.session.scalar(sa.select(UserFactor).where(UserFactor.user_id == target.id)) is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(UserSession)
                             .where(UserSession.user_id == target.id, UserSession.revoked_at.is_(None))) == 0
    assert victim.get("/").status_code == 302
    [event] = _events("auth.2fa_reset")
    assert (event.actor_id, event.object_type, event.object_id) == (admin.id, "user", str(target.id))
    # Next sign-in: enrolment again.
    again = login(app.test_client(), target.email)
    assert again.headers["Location"] == "/account/sicurezza/attiva"
    assert [m.subject for m in outbox(target.email)] == ["Hub dei Talenti: sicurezza del tuo account"]


def test_only_an_admin_may_reset_a_factor(app, make_user):
    target = make_user("tutor")
    for role in ("coordinator", "operator", "tutor"):
        browser = app.test_client()
        assert login(browser, make_user(role).email).status_code == 303
        assert browser.post(f"/admin/utenti/{target.id}/secondo-fattore").status_code == 403, role
        assert browser.post(f"/admin/utenti/{target.id}/secondo-fattore", headers=htmx()).status_code == 403
    assert db.session.scalar(sa.select(UserFactor).where(UserFactor.user_id == target.id)) is not None


# --- Limits and audit ------------------------------------------------------------------------------

def test_wrong_codes_count_towards_the_account_lockout(app, client, make_user):
    from app import audit

    user = make_user("tutor")
    _password_step(client, user)
    for _ in range(4):
        assert client.post("/login/codice", data={"code": WRONG_CODE}).status_code == 422
    # The fifth failure is a wrong password: the account is now locked, whatever is sent.
    assert login(app.test_client(), user.email, "password-sbagliata").status_code == 422
    assert client.post("/login/codice", data={"code": totp_code(user.email)}).status_code == 429
    assert login(app.test_client(), user.email).status_code == 429
    assert client.get("/").status_code == 302
    throttled = _events("auth.login_throttled")
    pseudonym = audit.pseudonym(user.email, "email")
    assert [e.details for e in throttled] == [{"email_pseudonym": pseudonym, "step": "code"},
                                              {"email_pseudonym": pseudonym, "step": "password"}]


def test_throttled_sign_ins_are_audited_once_each_with_the_pseudonym(app, client, make_user):
    from app import audit

    app.config["LOGIN_LIMIT_PER_ADDRESS"] = "2 per minute"
    for _ in range(2):
        assert login(client, "qualcuno@prova.test", "password-sbagliata").status_code == 422
    for _ in range(2):
        assert login(client, "Qualcuno@prova.test ", "password-sbagliata").status_code == 429
    throttled = _events("auth.login_throttled")
    assert len(throttled) == 2
    pseudonym = audit.pseudonym("qualcuno@prova.test", "email")
    assert [e.details for e in throttled] == [{"email_pseudonym": pseudonym, "step": "password"}] * 2
    assert len(_events("auth.login_failed")) == 2


# --- Storage -------------------------------------------------------------------------------------------

def test_secrets_are_encrypted_and_an_unknown_key_cannot_read_them(app):
    token = two_factor.encrypt_secret(TEST_TOTP_SECRET)
    assert TEST_TOTP_SECRET not in token and two_factor.decrypt_secret(token) == TEST_TOTP_SECRET
    old_key = app.config["TOTP_ENCRYPTION_KEY"]
    app.config["TOTP_ENCRYPTION_KEY"] = "una-chiave-nuova," + old_key  # rotation: old tokens still open
    assert two_factor.decrypt_secret(token) == TEST_TOTP_SECRET
    app.config["TOTP_ENCRYPTION_KEY"] = "una-chiave-diversa"
    assert two_factor.decrypt_secret(token) is None


def test_a_code_of_non_ascii_digits_is_just_wrong(client, make_user):
    """'²²²²²²' passes str.isdigit(); compared with the real code it must be refused, not crash."""
    user = make_user("coordinator")
    _password_step(client, user)
    response = client.post("/login/codice", data={"code": "²²²²²²"})
    assert response.status_code == 422
    assert field_error(response.get_data(as_text=True), "code").startswith("Codice non valido o già usato.")
