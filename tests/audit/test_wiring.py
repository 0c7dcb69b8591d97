"""Sign-in, sign-out and password events reach the audit log, with no personal data."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app import audit
from app.auth.services import make_reset_token
from app.extensions import db
from tests.conftest import DEMO_PASSWORD, login


def _row_text(row) -> str:
    return " ".join(str(v) for v in (row.actor_id, row.actor_role, row.action, row.object_type, row.object_id,
                                     row.reason, row.details_json, row.ip_hash))


def test_sign_in_failure_success_and_logout_are_logged(client, make_user, events):
    user = make_user("tutor")
    assert login(client, user.email, "wrong-password-123").status_code == 422
    assert login(client, "nobody@prova.test", "wrong-password-123").status_code == 422
    assert login(client, user.email).status_code == 303
    assert client.post("/logout").status_code == 303

    rows = events()
    assert [r.action for r in rows] == ["auth.login_failed", "auth.login_failed", "auth.login", "auth.logout"]
    failed, unknown, success, logout = rows
    assert failed.actor_id is None and failed.actor_role is None
    # Only a keyed hash of the e-mail: stable for the same address, never the address itself.
    assert failed.details["email_pseudonym"] == audit.pseudonym(user.email, "email")
    assert unknown.details["email_pseudonym"] != failed.details["email_pseudonym"]
    assert user.email not in _row_text(failed) and "prova.test" not in _row_text(unknown)
    assert "wrong-password" not in _row_text(failed)
    assert (success.actor_id, success.actor_role, success.object_id) == (user.id, "tutor", str(user.id))
    assert (logout.actor_id, logout.action) == (user.id, "auth.logout")
    assert success.ip_hash and "127.0.0.1" not in _row_text(success)
    assert audit.verify_chain() == (True, None, 4)


def test_password_change_and_reset_are_logged(client, make_user, events):
    user = make_user("operator")
    login(client, user.email)
    response = client.post("/account/password", data={
        "current_password": DEMO_PASSWORD, "new_password": "Una-nuova-password-2026",
        "confirm": "Una-nuova-password-2026"})
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    client.post("/logout")
    db.session.refresh(user)
    token = make_reset_token(user)
    response = client.post(f"/password/reset/{token}", data={
        "new_password": "Ancora-un-altra-2026", "confirm": "Ancora-un-altra-2026"})
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    actions = [(r.action, r.actor_id) for r in events() if r.action.startswith("auth.password")]
    assert actions == [("auth.password_changed", user.id), ("auth.password_reset", user.id)]
    assert audit.verify_chain()[0]


def test_role_scope_and_activation_changes_are_logged(app, make_user, network, events):
    from app.admin import services

    admin = make_user("admin")
    target = make_user("operator")
    services.update_user(admin, target, full_name=target.full_name, role="coordinator",
                         organisation_id=network["Ala Milano"].id, version=target.version)
    services.set_user_active(admin, target, False, target.version)
    services.set_user_active(admin, target, True, target.version)
    rows = [(r.action, r.actor_id, r.object_id, r.details) for r in events()]
    assert rows == [
        ("user.role_changed", admin.id, str(target.id), {"from": "operator", "to": "coordinator"}),
        ("user.scope_changed", admin.id, str(target.id),
         {"from_organisation_id": network["Students Lab"].id, "to_organisation_id": network["Ala Milano"].id}),
        ("user.deactivated", admin.id, str(target.id), {}),
        ("user.reactivated", admin.id, str(target.id), {}),
    ]


def test_a_change_that_fails_to_commit_leaves_no_entry(app, make_user, events):
    from app.admin import services
    from app.domain.errors import Conflict

    admin = make_user("admin")
    target = make_user("operator")
    # Someone else saved the account meanwhile: the versioned UPDATE matches no row at commit.
    db.session.execute(sa.text("UPDATE users SET version = version + 1 WHERE id = :id"), {"id": target.id})
    with app.test_request_context(), pytest.raises(Conflict):
        services.update_user(admin, target, full_name=target.full_name, role="tutor",
                             organisation_id=target.organisation_id, version=target.version)
    assert events() == []
    assert audit.verify_chain() == (True, None, 0)
