"""Browser policy on every response: every route of the URL map, signed in and not, errors and files too.

Complements tests/main/test_pages.py (a few pages) with a walk of the whole URL map, so a new route is
covered without a new test; and checks cookies and HSTS with the production settings.
"""

from __future__ import annotations

import json
import re

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import MultiDict

from app import create_app
from app.config import ProductionConfig, TestingConfig
from app.extensions import db
from app.models import User
from app.policy import public
from tests.conftest import HubClient, login
from tests.security.fuzzing import build_path, path_values


def _directives(csp: str) -> dict[str, list[str]]:
    return {parts[0]: parts[1:] for parts in (d.split() for d in csp.split(";") if d.strip())}


def policy_problems(response, label: str) -> list[str]:
    """What is missing from the browser policy of one response."""
    found = []
    headers = response.headers
    csp = _directives(headers.get("Content-Security-Policy", ""))
    scripts = csp.get("script-src", csp.get("default-src", []))
    if scripts != ["'self'"]:
        found.append(f"{label}: script-src is {scripts}")
    if any(value.startswith("'unsafe-") for values in csp.values() for value in values):
        found.append(f"{label}: an unsafe-* source in the CSP")
    if csp.get("frame-ancestors") != ["'none'"] or csp.get("object-src") != ["'none'"]:
        found.append(f"{label}: frame-ancestors/object-src not 'none'")
    if csp.get("base-uri") != ["'self'"] or csp.get("form-action") != ["'self'"]:
        found.append(f"{label}: base-uri/form-action not 'self'")
    expected = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin", "X-Frame-Options": "DENY"}
    for name, value in expected.items():
        if headers.get(name) != value:
            found.append(f"{label}: {name} is {headers.get(name)!r}")
    permissions = headers.get("Permissions-Policy", "")
    for feature in ("camera=()", "microphone=()", "geolocation=()"):
        if feature not in permissions:
            found.append(f"{label}: Permissions-Policy lacks {feature}")
    return found


def _walk(app, client, world, label: str) -> tuple[list[str], int]:
    """Request every route once (GET where it answers GET), plus errors and a static file."""
    values = path_values(world)
    problems, count = [], 0
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        method = "GET" if "GET" in rule.methods else "POST"
        path = build_path(app, rule, values)
        response = client.open(path, method=method, data=MultiDict() if method == "POST" else None)
        count += 1
        where = f"{label} {method} {path} ({response.status_code})"
        problems += policy_problems(response, where)
        if rule.endpoint == "static":
            continue
        if "no-store" not in response.headers.get("Cache-Control", ""):
            problems.append(f"{where}: Cache-Control is {response.headers.get('Cache-Control')!r}")
    extra = [("GET", "/non-esiste"), ("POST", "/healthz"), ("GET", "/static/non-esiste.css"),
             ("GET", "/giovani/99999999999")]
    for method, path in extra:
        response = client.open(path, method=method)
        count += 1
        where = f"{label} {method} {path} ({response.status_code})"
        problems += policy_problems(response, where)
        if not path.startswith("/static/") and "no-store" not in response.headers.get("Cache-Control", ""):
            problems.append(f"{where}: an error page that may be cached")
    return problems, count


def test_every_route_carries_the_browser_policy_signed_in_or_not(app, world, rendered_html):
    anonymous = app.test_client()
    problems, anonymous_count = _walk(app, anonymous, world, "anonymous")
    admin = app.test_client()
    assert login(admin, world.users["admin"].email).status_code == 303
    more, admin_count = _walk(app, admin, world, "admin")
    assert not problems + more, "\n".join(problems + more)
    routes = len(list(app.url_map.iter_rules()))
    assert anonymous_count > routes and admin_count > routes


def test_errors_carry_the_browser_policy(app, client):
    csrf_refused = client.post("/lingua", data={"lang": "it"}, csrf=False)
    too_large = client.post("/richiesta", data={"message": "x" * (3 * 1024 * 1024)})
    assert (csrf_refused.status_code, too_large.status_code) == (400, 413)
    for label, response in (("400 CSRF", csrf_refused), ("413", too_large)):
        assert not policy_problems(response, label)
        assert "no-store" in response.headers["Cache-Control"]


def test_an_unexpected_error_carries_the_browser_policy(database_url):
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=database_url)

    @public
    def boom():
        raise RuntimeError("unexpected")

    app.add_url_rule("/boom-for-test", "boom_for_test", boom)
    response = app.test_client().get("/boom-for-test")
    assert response.status_code == 500
    assert "Errore del sistema" in response.get_data(as_text=True)
    assert not policy_problems(response, "500")
    assert "no-store" in response.headers["Cache-Control"]
    with app.app_context():
        db.engine.dispose()


class HttpsClient(HubClient):
    """A browser behind the TLS proxy: https addresses, and the Referer that Referrer-Policy: same-origin sends."""

    def open(self, *args, **kwargs):
        kwargs.setdefault("base_url", "https://localhost")
        headers = dict(kwargs.pop("headers", None) or {})
        referer = headers.pop("Referer", "https://localhost/login")  # None: a browser that sends none
        if referer is not None:
            headers["Referer"] = referer
        kwargs["headers"] = headers
        return super().open(*args, **kwargs)


@pytest.fixture
def production_app(app, database_url, monkeypatch):
    """The app with the production settings (the test database; SQLite allowed for the test run)."""
    monkeypatch.setenv("HUB_ALLOW_SQLITE", "1")
    production = create_app(ProductionConfig, SQLALCHEMY_DATABASE_URI=database_url,
                            SECRET_KEY=TestingConfig.SECRET_KEY, RATELIMIT_STORAGE_URI="memory://",
                            MAIL_BACKGROUND_DELIVERY=False, PASSWORD_HASH_METHOD=TestingConfig.PASSWORD_HASH_METHOD)
    production.test_client_class = HttpsClient
    yield production
    with production.app_context():
        db.engine.dispose()


def test_production_cookies_are_secure_httponly_samesite_and_hsts_is_sent(production_app, make_user):
    user = make_user("operator")
    client = production_app.test_client()
    with production_app.app_context():
        page = client.get("/login")
        response = login(client, user.email)
        assert response.status_code == 303, response.get_data(as_text=True)[:300]
        dashboard = client.get("/")
        language = client.post("/lingua", data={"lang": "it", "next": "/"})
        assert db.session.scalar(sa.select(User.id).where(User.email == user.email))
    assert dashboard.status_code == 200 and language.status_code == 303
    cookies = [c for r in (page, response, dashboard, language) for c in r.headers.getlist("Set-Cookie")]
    assert cookies, "no cookie was set"
    for cookie in cookies:
        flags = {part.strip().split("=")[0].lower(): part.strip() for part in cookie.split(";")[1:]}
        assert "secure" in flags and "httponly" in flags, cookie
        assert flags.get("samesite", "").lower() in ("samesite=lax", "samesite=strict"), cookie
    for response in (page, dashboard, language):
        assert re.fullmatch(r"max-age=\d{8,}; includeSubDomains", response.headers["Strict-Transport-Security"])
        assert not policy_problems(response, "production")


def test_over_https_a_form_needs_the_same_origin_referer(production_app):
    """Why Referrer-Policy is same-origin and not no-referrer: over HTTPS the CSRF check wants the Referer."""
    client = production_app.test_client()
    with production_app.app_context():
        with_referer = client.post("/lingua", data={"lang": "it", "next": "/"})
        without = client.post("/lingua", data={"lang": "it", "next": "/"}, headers={"Referer": None})
        elsewhere = client.post("/lingua", data={"lang": "it", "next": "/"}, headers={"Referer": "https://evil.test/"})
    assert with_referer.status_code == 303
    assert without.status_code == 400 and "Il modulo è scaduto" in without.get_data(as_text=True)
    assert elsewhere.status_code == 400


def test_development_cookies_are_httponly_and_samesite_without_hsts(client, make_user):
    user = make_user("operator")
    response = login(client, user.email)
    [cookie] = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("hub_session=")]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Strict-Transport-Security" not in response.headers  # HSTS only behind TLS, in production


def test_htmx_is_configured_for_the_strict_policy(client):
    """No eval, no inline scripts in swapped content, requests only to this site, no history cache."""
    page = client.get("/login").get_data(as_text=True)
    match = re.search(r"<meta name=\"htmx-config\" content='([^']*)'>", page)
    assert match, "no htmx-config meta"
    config = json.loads(match.group(1))
    assert config["allowEval"] is False and config["allowScriptTags"] is False
    assert config["selfRequestsOnly"] is True and config["historyCacheSize"] == 0
