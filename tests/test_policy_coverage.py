"""Access declarations cover every route, and admin endpoints answer each role as the policy says.

The matrix is written out by hand (EXPECTED) and also checked against `app.policy`, so a loosened
permission or a new admin endpoint without an entry here makes this file fail.
"""

from __future__ import annotations

import re

import pytest
from flask import Blueprint
from werkzeug.routing.converters import NumberConverter, UUIDConverter

from app import create_app
from app.config import TestingConfig
from app.models import Role
from app.policy import PUBLIC, declared_access, has_permission
from tests.conftest import htmx

STAFF_MANAGERS = frozenset({Role.ADMIN, Role.COORDINATOR})
EXPECTED: dict[str, frozenset[str]] = {
    "admin.users": STAFF_MANAGERS,
    "admin.user_create": STAFF_MANAGERS,
    "admin.user_edit": STAFF_MANAGERS,
    "admin.user_set_active": STAFF_MANAGERS,
    "admin.user_invite": STAFF_MANAGERS,
    "admin.user_reset_factor": frozenset({Role.ADMIN}),
    "admin.organisations": STAFF_MANAGERS,
    "admin.organisation_edit": frozenset({Role.ADMIN}),
}


def undeclared_endpoints(app) -> list[str]:
    """Endpoints of the app that declare neither @public nor @requires."""
    with app.app_context():
        return sorted({rule.endpoint for rule in app.url_map.iter_rules()
                       if rule.endpoint != "static" and declared_access(rule.endpoint) is None})


def _admin_rules(app) -> list:
    return sorted((r for r in app.url_map.iter_rules() if r.endpoint.startswith("admin.")), key=lambda r: r.rule)


def _routes(app, endpoint: str) -> list[tuple[str, str]]:
    """(rule, method) pairs of one endpoint, e.g. ("/admin/utenti/<int:user_id>", "POST")."""
    return [(rule.rule, method) for rule in app.url_map.iter_rules(endpoint)
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]


def test_every_endpoint_declares_access(app):
    assert undeclared_endpoints(app) == []


def test_a_route_without_declaration_is_caught_and_refused(database_url):
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=database_url)
    throwaway = Blueprint("throwaway", __name__)

    @throwaway.get("/dimenticata")
    def forgotten():
        return "dati riservati"

    app.register_blueprint(throwaway)
    assert undeclared_endpoints(app) == ["throwaway.forgotten"]
    # At runtime it fails closed too, signed in or not.
    response = app.test_client().get("/dimenticata")
    assert response.status_code == 403
    assert "dati riservati" not in response.get_data(as_text=True)


def test_expected_matrix_matches_the_policy_and_the_routes(app):
    admin_endpoints = {rule.endpoint for rule in _admin_rules(app)}
    assert admin_endpoints == set(EXPECTED), "add new admin endpoints to EXPECTED"
    for endpoint, roles in EXPECTED.items():
        access = declared_access(endpoint)
        assert access != PUBLIC
        holders = {role for role in Role.ALL if has_permission(_Someone(role), access)}
        assert holders == roles, endpoint


class _Someone:
    """A signed-in person of a role, for asking the policy."""

    is_authenticated = True

    def __init__(self, role: str):
        self.role = role


@pytest.fixture
def urls(make_user, network):
    """Function turning a rule into a URL pointing at objects a coordinator of Students Lab may manage."""
    target = make_user("operator", organisation=network["Students Lab"])
    values = {"user_id": target.id, "organisation_id": network["Students Lab"].id}

    def build(rule: str) -> str:
        url = rule
        for name, value in values.items():
            url = url.replace(f"<int:{name}>", str(value))
        assert "<" not in url, rule
        return url

    return build


@pytest.mark.parametrize("role", Role.ALL)
@pytest.mark.parametrize("endpoint", sorted(EXPECTED))
def test_each_role_gets_exactly_its_admin_pages(app, client, login_as, urls, role, endpoint):
    login_as(role)
    allowed = role in EXPECTED[endpoint]
    routes = _routes(app, endpoint)
    assert routes
    for rule, method in routes:
        for headers in ({}, htmx()):
            response = client.open(urls(rule), method=method, headers=headers, data={})
            if allowed:
                assert response.status_code not in (401, 403), (role, rule, method, headers)
                assert response.status_code < 500
            else:
                assert response.status_code == 403, (role, rule, method, headers)
                body = response.get_data(as_text=True)
                assert "Accesso negato" in body
                assert ("<footer" in body) != bool(headers)  # a fragment for htmx


@pytest.mark.parametrize("endpoint", sorted(EXPECTED))
def test_anonymous_is_sent_to_login(app, client, urls, endpoint):
    for rule, method in _routes(app, endpoint):
        url = urls(rule)
        response = client.open(url, method=method, headers=htmx())
        assert response.status_code == 401, (rule, method)
        assert response.headers["HX-Redirect"].startswith("/login")
        response = client.open(url, method=method)
        if method == "GET":
            assert response.status_code == 302
            assert response.headers["Location"].startswith("/login?next=")
        else:
            assert response.status_code == 401


def _sample(converter) -> str:
    """A value the converter accepts, so the router reaches the access check."""
    if isinstance(converter, NumberConverter):
        return "1"
    if isinstance(converter, UUIDConverter):
        return "00000000-0000-0000-0000-000000000000"
    return "x"


def test_every_protected_page_of_the_app_redirects_anonymous_to_login(app, client):
    checked = 0
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or declared_access(rule.endpoint) in (PUBLIC, None):
            continue
        url = rule.rule
        for argument, converter in rule._converters.items():
            url = re.sub(rf"<(?:[^:>]+:)?{argument}>", _sample(converter), url)
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.headers["Location"].startswith("/login?next="), url
        checked += 1
    assert checked >= 5
