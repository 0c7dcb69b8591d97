"""The access matrix, generated: every route × method × role × object inside and outside the role's scope.

The routes are read from the app's URL map when the tests are collected, so a new route is in the
matrix without a test written by hand. For each one the permission it declares (`@requires`, see
app/policy/core.py) says which roles may use it at all; for those roles the resolvers of
tests/access_world.py name objects inside their scope (BRIEF, "What each may do") and outside it:

- anonymous: a full page is sent to sign in (302 to /login?next=…), htmx and POST get 401;
- a role without the permission: 403;
- an object outside the role's scope (another desk, organisation, town; a protected record; a note
  without break-glass): refused; with 404 (never 403, which would confirm it exists) for young people,
  appointments, notes, requests, accounts and tokens; 403 where the object is visible but the action
  is not the role's (another desk's hours); 405 for the break-glass-only download method;
- an object inside it: anything but 401/403/404/405 and never a 5xx (an empty form may well be 422).

Every request is sent twice, as a full page and as an htmx fragment (`HX-Request: true`), and both
must be authorised identically. A route whose URL variable has no resolver fails with the name to
add to RESOLVERS. On this code base: 135 routes × methods, 1,267 cases, 2,534 requests
(about 25 s of CPU on either database; `pytest -rP` prints the count).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from flask import Blueprint

from app import create_app
from app.config import TestingConfig
from app.extensions import db, limiter
from app.models import AuditEvent, Role, User, UserSession
from app.models.user import hash_token
from app.policy import PERMISSIONS, PUBLIC, declared_access, requires
from tests.access_world import (
    BREAKGLASS_REASON,
    CHILD_OF,
    FORMS,
    NOT_SEEN,
    RESOLVERS,
    SECRET,
    Scope,
    build_world,
    finalise_note,
    never_shown,
    resolve,
)
from tests.conftest import DEMO_PASSWORD, HubClient, _clean, login

ANONYMOUS = None
ROLES = (ANONYMOUS, *Role.ALL)
METHODS = ("GET", "POST")
VARIABLE = re.compile(r"<(?:[^:<>]+:)?(\w+)>")

ALLOWED, REFUSED, FORBIDDEN, LOGIN = "allowed", "refused (403/404)", "403", "sign-in"
CASES_RUN: list[str] = []


@dataclass
class Case:
    role: str | None
    label: str
    values: dict
    form: object
    expect: str
    exact: int | None = None  # the one refusal status allowed (404 for objects the role must not see)


class Unresolved(LookupError):
    """A route carries a variable (or a token kind) that the matrix does not know how to fill."""


# --- The routes (read once, at collection) ---------------------------------------------------------

def routes_of(app) -> list[tuple[str, str, str]]:
    """(rule, method, endpoint) for every route of the app, HEAD and OPTIONS aside."""
    return sorted((rule.rule, method, rule.endpoint) for rule in app.url_map.iter_rules()
                  for method in METHODS if method in rule.methods)


_COLLECTING_APP = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI="sqlite://")
ROUTES = routes_of(_COLLECTING_APP)


# --- Cases: who sends what, and what must come back ------------------------------------------------

def plan(world, rule: str, method: str, endpoint: str, access: str | None) -> list[Case]:
    """Every case of one route and method; Unresolved when a variable has no resolver."""
    variables = VARIABLE.findall(rule)
    missing = [name for name in variables if name not in RESOLVERS]
    if missing:
        raise Unresolved(f"{method} {rule} ({endpoint}) has URL variable(s) {missing} that the access matrix cannot "
                         f"fill: add a resolver to RESOLVERS in tests/access_world.py (objects inside and outside "
                         f"each role's scope)")
    if access is None:
        raise Unresolved(f"{endpoint} declares no access (@public or @requires)")

    def scopes(role) -> list[tuple[str, Scope]]:
        dims = [(name, RESOLVERS[name](world, role, endpoint, method)) for name in variables]
        if endpoint in FORMS:
            dims.append(("form", FORMS[endpoint](world, role, endpoint, method)))
        return dims

    cases: list[Case] = []
    for role in ROLES:
        if access != PUBLIC and (role is ANONYMOUS or role not in PERMISSIONS[access]):
            values, form = _sample(scopes(Role.ADMIN))
            cases.append(Case(role, "any object", values, form, LOGIN if role is ANONYMOUS else FORBIDDEN))
            continue
        mine = _combine(role, scopes(role))
        if not mine:
            raise Unresolved(f"the resolvers give {role} no object at all for {method} {rule}")
        cases.extend(mine)
    return cases


def _sample(dims) -> tuple[dict, object]:
    values = {}
    for name, found in dims:
        pairs = found.inside + found.outside
        values[name] = pairs[0][1] if pairs else None
    form = values.pop("form", None)
    return values, form


def _combine(role, dims: list[tuple[str, Scope]]) -> list[Case]:
    """One case per inside object (the others at their first inside value), one per outside object."""
    if not dims:
        return [Case(role, "no object", {}, None, ALLOWED)]
    first = {name: found.inside[0] for name, found in dims if found.inside}
    parents = {CHILD_OF[name] for name, _ in dims if name in CHILD_OF}
    cases: list[Case] = []

    def case(name, pair, expect):
        others = {n: first[n] for n, _ in dims if n != name and n in first}
        if len(others) < len(dims) - 1:
            return  # another part has nothing inside this role's scope: this one cannot be isolated
        chosen = {**{n: v[1] for n, v in others.items()}, name: pair[1]}
        label = " + ".join(f"{n}: {pair[0] if n == name else others[n][0]}" for n, _ in dims)
        form = chosen.pop("form", None)
        exact = None
        if expect == REFUSED:
            exact = pair[2] if len(pair) > 2 else (404 if name in NOT_SEEN else None)
        cases.append(Case(role, label, chosen, form, expect, exact))

    seen_first = False
    for name, found in dims:
        for index, pair in enumerate(found.inside):
            if index == 0:
                if seen_first:
                    continue
                seen_first = True
            elif name in parents:
                continue  # the children of the route belong to the first parent only
            case(name, pair, ALLOWED)
        for pair in found.outside:
            case(name, pair, REFUSED)
    return cases


def url_for_case(rule: str, values: dict) -> tuple[str, object]:
    concrete = {name: resolve(value) for name, value in values.items()}
    url = VARIABLE.sub(lambda m: quote(str(concrete[m.group(1)]), safe="/"), rule)
    return url, concrete


ENROLMENT = "/account/sicurezza/attiva"


def check(case: Case, method: str, hx: bool, response, hidden: list[str], rule: str) -> str | None:
    """None when the answer matches the expectation, else what went wrong."""
    status = response.status_code
    location = response.headers.get("Location", "") or response.headers.get("HX-Redirect", "")
    textual = response.mimetype.startswith("text") or response.mimetype.endswith("json")
    body = response.get_data(as_text=True) if textual else ""
    shown = [text for text in hidden if text in body]
    if shown:
        return f"shows {shown} ({status}), outside this role's scope"
    if case.expect == ALLOWED:
        if status in (400, 401, 403, 404, 405) or status >= 500 or "/login?next=" in location:
            return f"expected {ALLOWED}, got {status} {location}".rstrip()
        if location.startswith(ENROLMENT) and not rule.startswith("/account/sicurezza"):
            return f"sent to enrol a second factor ({status} {location}): the world's accounts should have one"
        return None
    if case.expect == REFUSED:
        if case.exact is not None:
            return None if status == case.exact else f"expected {case.exact}, got {status} {location}".rstrip()
        return None if status in (403, 404, 405) else f"expected {REFUSED}, got {status} {location}".rstrip()
    if case.expect == FORBIDDEN:
        return None if status == 403 else f"expected 403, got {status} {location}".rstrip()
    if hx or method != "GET":
        if status != 401 or (hx and not response.headers.get("HX-Redirect", "").startswith("/login")):
            return f"expected 401 (HX-Redirect to /login for htmx), got {status}"
        return None
    if status != 302 or not location.startswith("/login?next="):
        return f"expected 302 to /login?next=…, got {status} {location}".rstrip()
    return None


# --- The world and the signed-in clients (once per module) ------------------------------------------

class MatrixClient(HubClient):
    """A HubClient that reads its CSRF token once per session instead of before every POST."""

    _csrf: str | None = None

    def csrf_token(self) -> str:
        if self._csrf is None:
            self._csrf = super().csrf_token()
        return self._csrf


@dataclass
class Matrix:
    app: object
    world: object
    clients: dict
    tokens: dict


def _make_user_factory(network):
    """Like conftest's make_user (an authenticator for the roles that need one), usable once per module."""
    from app.auth.services import hash_password
    from app.auth.two_factor import enrol_with_secret
    from app.policy import SECOND_FACTOR_ROLES
    from tests.conftest import TEST_TOTP_SECRET

    counter = {"n": 0}
    password_hash = hash_password(DEMO_PASSWORD)

    def make(role, organisation=None, **overrides) -> User:
        counter["n"] += 1
        org = organisation or network[{"admin": "Ufficio di Piano", "observer": "Città Metropolitana"}.get(
            role, "Students Lab")]
        values = dict(email=f"matrice-{role}{counter['n']}@prova.test", full_name=f"Persona {role} {counter['n']}",
                      role=role, organisation_id=org.id, password_hash=password_hash)
        values.update(overrides)
        user = User(**values)
        db.session.add(user)
        db.session.flush()
        if role in SECOND_FACTOR_ROLES:
            enrol_with_secret(user, TEST_TOTP_SECRET)
        db.session.commit()
        return user

    return make


def _sign_in(client: MatrixClient, email: str) -> str | None:
    client._csrf = None
    response = login(client, email)
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    client._csrf = None
    with client.session_transaction() as session:
        return session.get("_user_id")


def _stand_in_pdf(html: str) -> tuple[bytes, str]:
    """The matrix asks who gets a PDF, not what is in it (tests/notes and tests/reports render real ones).

    Rendering runs a child process per document, seconds each: a tiny stand-in keeps the file fast.
    The HTML is still built from the templates, so a template error still fails here.
    """
    assert "<html" in html.lower()
    return b"%PDF-1.7\n% access-matrix stand-in\n%%EOF\n", "pdf/a-2a"


@pytest.fixture(scope="module")
def matrix(database_url, tmp_path_factory):
    from app import seed
    from app.notes import pdf

    patch = pytest.MonkeyPatch()
    patch.setattr(pdf, "render_pdf", _stand_in_pdf)
    # Thousands of requests from one address: no rate limits here. The limiter is one object for
    # every app of the process, so its switch is put back afterwards.
    patch.setattr(limiter, "enabled", limiter.enabled)

    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=database_url, RATELIMIT_ENABLED=False,
                     ARCHIVE_DIR=tmp_path_factory.mktemp("matrix-archive"), NOTES_RENDER_TIMEOUT=60)
    app.test_client_class = MatrixClient
    _clean(app)
    ctx = app.app_context()
    ctx.push()
    try:
        network = seed.seed_network()
        db.session.commit()
        world = build_world(network, _make_user_factory(network), finalise=finalise_note(app))
        clients = {ANONYMOUS: app.test_client()}
        tokens = {}
        for role in Role.ALL:
            clients[role] = app.test_client()
            tokens[role] = _sign_in(clients[role], world.emails[role])
        yield Matrix(app, world, clients, tokens)
    finally:
        patch.undo()
        db.session.remove()
        ctx.pop()
        with app.app_context():
            db.engine.dispose()


def _keep_signed_in(matrix: Matrix) -> None:
    """Sign a role in again if an earlier route ended its session (logout, a password change, …).

    An earlier request may also have deactivated an account or an organisation of the world
    (an admin form posted empty): they are reactivated first.
    """
    from app.models import Organisation

    actor_ids = [getattr(matrix.world, role) for role in Role.ALL]
    db.session.execute(sa.update(User).where(User.id.in_(actor_ids), User.active.is_(False)).values(active=True))
    db.session.execute(sa.update(Organisation).where(
        Organisation.id.in_(sa.select(User.organisation_id).where(User.id.in_(actor_ids))),
        Organisation.active.is_(False)).values(active=True))
    db.session.commit()
    hashes = {role: hash_token(token) for role, token in matrix.tokens.items() if token}
    alive = set(db.session.scalars(sa.select(UserSession.token_hash).join(User).where(
        UserSession.token_hash.in_(list(hashes.values())), UserSession.revoked_at.is_(None),
        User.active.is_(True))))
    for role in Role.ALL:
        if hashes.get(role) not in alive:
            matrix.tokens[role] = _sign_in(matrix.clients[role], matrix.world.emails[role])


def _sign_in_again_if_ended(matrix: Matrix, role: str) -> None:
    token = matrix.tokens.get(role)
    alive = token and db.session.scalar(sa.select(UserSession.id).where(
        UserSession.token_hash == hash_token(token), UserSession.revoked_at.is_(None)))
    if not alive:
        _keep_signed_in(matrix)


# --- The matrix ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("rule", "method", "endpoint"), ROUTES, ids=[f"{m} {r}" for r, m, _e in ROUTES])
def test_route(matrix, rule, method, endpoint):
    """Every role, inside and outside its scope, as a page and as a fragment, gets what the policy says."""
    _keep_signed_in(matrix)
    try:
        cases = plan(matrix.world, rule, method, endpoint, declared_access(endpoint))
    except Unresolved as error:
        pytest.fail(str(error))
    failures = []
    for case in cases:
        client = matrix.clients[case.role]
        hidden = never_shown(case.role, endpoint, declared_access(endpoint))
        answers = []
        for hx in (False, True):
            url, _values = url_for_case(rule, case.values)
            form = resolve(case.form) or {}
            form = {k: resolve(v) for k, v in form.items()}
            headers = {"HX-Request": "true"} if hx else {}
            if method == "GET":
                response = client.get(url, query_string=form, headers=headers)
            else:
                response = client.post(url, data=form, headers=headers)
            answers.append(response.status_code)
            if method == "POST" and case.role is not ANONYMOUS:
                _sign_in_again_if_ended(matrix, case.role)  # /logout, a password change, …
            problem = check(case, method, hx, response, hidden, rule)
            if problem:
                failures.append(f"{case.role or 'anonymous'} {method} {url} [{case.label}] "
                                f"{'htmx' if hx else 'page'}: {problem}")
        if case.expect not in (ALLOWED, LOGIN) and answers[0] != answers[1]:
            failures.append(f"{case.role or 'anonymous'} {method} {rule} [{case.label}]: page {answers[0]} "
                            f"but htmx {answers[1]}")
        CASES_RUN.append(f"{method} {rule} {case.role} {case.label}")
    assert not failures, f"{len(failures)} of {2 * len(cases)} requests:\n" + "\n".join(failures)


def test_matrix_size():
    """Every route was in the matrix (runs after test_route in the same process)."""
    if not CASES_RUN:
        pytest.skip("test_route did not run in this process")
    routes = {" ".join(case.split(" ", 2)[:2]) for case in CASES_RUN}
    assert routes == {f"{m} {r}" for r, m, _e in ROUTES}
    print(f"access matrix: {len(ROUTES)} routes, {len(CASES_RUN)} cases, {2 * len(CASES_RUN)} requests")


# --- The matrix notices what it cannot cover -----------------------------------------------------------

def test_a_new_route_is_in_the_matrix_and_an_unknown_variable_fails(database_url):
    """A route added tomorrow is planned for every role; one with an unknown variable names the resolver to add."""
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=database_url)
    extra = Blueprint("tomorrow", __name__)

    @extra.get("/domani")
    @requires("desks.view")
    def plain():
        return "ok"

    @extra.post("/domani/<int:widget_id>")
    @requires("desks.manage")
    def widget(widget_id):
        return "ok"

    app.register_blueprint(extra)
    routes = {(rule, method): endpoint for rule, method, endpoint in routes_of(app)}
    assert routes[("/domani", "GET")] == "tomorrow.plain" and routes[("/domani/<int:widget_id>", "POST")]
    with app.app_context():
        cases = plan(None, "/domani", "GET", "tomorrow.plain", declared_access("tomorrow.plain"))
        assert {case.role for case in cases} == set(ROLES)
        assert [case.expect for case in cases if case.role is ANONYMOUS] == [LOGIN]
        with pytest.raises(Unresolved, match=r"\['widget_id'\].*add a resolver to RESOLVERS"):
            plan(None, "/domani/<int:widget_id>", "POST", "tomorrow.widget", declared_access("tomorrow.widget"))


def test_every_variable_of_the_app_has_a_resolver():
    """The quick version of the coverage rule, without the world: names only."""
    missing = sorted({(name, rule) for rule, _m, _e in ROUTES for name in VARIABLE.findall(rule)
                      if name not in RESOLVERS})
    assert not missing, f"add resolvers to tests/access_world.py for: {missing}"


def test_the_tables_name_real_routes_and_variables():
    """A renamed endpoint or variable does not leave a stale entry in FORMS, TOKENS or CHILD_OF behind."""
    from tests.access_world import TOKENS

    endpoints = {endpoint for _r, _m, endpoint in ROUTES}
    variables = {name for rule, _m, _e in ROUTES for name in VARIABLE.findall(rule)}
    assert set(FORMS) <= endpoints and set(TOKENS) <= endpoints
    assert set(CHILD_OF) | set(CHILD_OF.values()) <= variables <= set(RESOLVERS)


# --- Break-glass and protected records, in detail -------------------------------------------------------

def _events(action: str, note_id: int, actor_id: int | None = None) -> list[AuditEvent]:
    query = sa.select(AuditEvent).where(AuditEvent.action == action, AuditEvent.object_type == "note",
                                        AuditEvent.object_id == str(note_id))
    if actor_id is not None:
        query = query.where(AuditEvent.actor_id == actor_id)
    return list(db.session.scalars(query))


def test_breakglass_needs_a_reason_is_audited_and_never_opens_a_protected_record(matrix):
    """The Ufficio di Piano: the note page is a form without content; with a reason it opens and is logged."""
    _keep_signed_in(matrix)
    admin, w = matrix.clients[Role.ADMIN], matrix.world
    for headers in ({}, {"HX-Request": "true"}):
        form = admin.get(f"/note/{w.note_a}", headers=headers)
        assert form.status_code == 200 and SECRET not in form.get_data(as_text=True)
    before = len(_events("breakglass", w.note_a))
    refused = admin.post(f"/note/{w.note_a}/accesso-straordinario", data={"reason": ""})
    assert refused.status_code == 422 and SECRET not in refused.get_data(as_text=True)
    assert len(_events("breakglass", w.note_a)) == before
    opened = admin.post(f"/note/{w.note_a}/accesso-straordinario", data={"reason": BREAKGLASS_REASON})
    assert opened.status_code == 200 and SECRET in opened.get_data(as_text=True)
    events = _events("breakglass", w.note_a)
    assert len(events) == before + 1 and events[-1].reason == BREAKGLASS_REASON
    assert events[-1].actor_id == w.admin
    assert admin.get(f"/note/{w.note_a}/nota.pdf").status_code == 404
    pdf = admin.post(f"/note/{w.note_a}/nota.pdf", data={"reason": BREAKGLASS_REASON})
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    # A protected record: not even by break-glass, and nothing is logged as read.
    for url in (f"/note/{w.note_p}", f"/note/{w.note_p}/accesso-straordinario", f"/note/{w.note_p}/nota.pdf"):
        response = admin.open(url, method="GET" if url.endswith(str(w.note_p)) else "POST",
                              data={"reason": BREAKGLASS_REASON})
        assert response.status_code == 404, url
    assert _events("breakglass", w.note_p) == [] and _events("note.read", w.note_p, w.admin) == []


def test_protected_record_is_seen_by_its_tutor_and_their_coordinator_only(matrix):
    """Person and note of a protected record, on every role: only the tutor of record and their coordinator."""
    _keep_signed_in(matrix)
    w = matrix.world
    for role in Role.ALL:
        client = matrix.clients[role]
        expected = 200 if role in (Role.TUTOR, Role.COORDINATOR) else None
        for url in (f"/giovani/{w.person_p}", f"/note/{w.note_p}"):
            status = client.get(url).status_code
            if expected:
                assert status == expected, (role, url)
            else:
                assert status in (403, 404), (role, url, status)
