"""Hostile input (property-based): every form and query parameter, found by crawling, takes nasty values.

For every role (and anonymous visitors) the crawl opens the pages reachable from the navigation, one per
route shape, and collects every form (fields, hidden values, buttons, htmx controls) and every link with a
query string. Hypothesis then sends nasty values (NUL bytes, 1 MB strings, emoji, right-to-left text, bad
dates, negative and huge numbers, SQL and template syntax, markup, `javascript:` URLs). Every answer must
be a success or a 4xx with an Italian message, never a 500, never the markup reflected unescaped, never a
redirect off the site, and always carry the security headers. A new page needs no new test here; every
GET route of the URL map also gets hostile query parameters, linked or not.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, parse_qsl, urlsplit

import sqlalchemy as sa
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict
from werkzeug.routing import IntegerConverter

from app.auth import two_factor
from app.extensions import db
from app.models import User
from app.policy.core import PUBLIC, declared_access
from tests.conftest import TEST_TOTP_SECRET, login
from tests.security.discovery import crawl, shape
from tests.security.hostile import EXTRA_NAMES, HUGE_NUMBER, MARKUP, ODD, ONE_MB, TEMPLATE, VALUES, problems

CSRF_REFUSED = "Il modulo è scaduto o non è stato inviato da questa applicazione"
ENROLMENT = "/account/sicurezza/attiva"
APP_DIR = Path(__file__).resolve().parents[2] / "app"
PUBLIC_START = ["/login", "/richiesta", "/sportelli", "/accessibilita", "/privacy", "/password/reset"]
# Random examples on top of the three fixed ones (markup and odd values everywhere, huge numbers everywhere,
# 1 MB in one field).
FORM_EXAMPLES = 3
LINK_EXAMPLES = 2
ROUTE_EXAMPLES = 2

# Bounded and reproducible: the same examples on every run and in CI, no example database, no shrinking
# (a failure names the request and the fields; the values come from the strategy).
BOUNDED = dict(deadline=None, derandomize=True, database=None, phases=(Phase.explicit, Phase.generate),
               suppress_health_check=list(HealthCheck))


class Session:
    """A signed-in (or anonymous) client, its CSRF token, and the way back in if a form signed it out."""

    def __init__(self, app, user: User | None):
        self.app = app
        self.user = user
        self.start()

    def start(self) -> None:
        self.client = self.app.test_client()
        self.changed = False
        if self.user is not None:
            # A form may have deactivated the account or reset its second factor: undo that first.
            db.session.execute(sa.update(User).where(User.id == self.user.id).values(active=True))
            user = db.session.get(User, self.user.id)
            factor = two_factor.factor_of(user.id)
            if two_factor.is_required(user) and (factor is None or factor.confirmed_at is None):
                two_factor.enrol_with_secret(user, TEST_TOTP_SECRET)
            db.session.commit()
            response = login(self.client, self.user.email)
            assert response.status_code == 303 and "/account/" not in response.headers["Location"], response
        self.token = self.client.csrf_token()

    def send(self, method: str, path: str, values: MultiDict, htmx: bool):
        headers = {"X-CSRFToken": self.token}
        if "csrf_token" in values:  # the page's token may belong to a session since renewed
            values = MultiDict(values)
            values.setlist("csrf_token", [self.token])
        if htmx:
            headers["HX-Request"] = "true"
        if method == "GET":
            response = self.client.open(path, method="GET", query_string=values, headers=headers, csrf=False)
        else:
            response = self.client.open(path, method=method, data=values, headers=headers, csrf=False)
        location = response.headers.get("Location") or response.headers.get("HX-Redirect") or ""
        signed_out = response.status_code == 401 or urlsplit(location).path in ("/login", ENROLMENT)
        if path == "/lingua" or (self.user is not None and signed_out):
            self.changed = True
        elif response.status_code == 400 and CSRF_REFUSED in response.get_data(as_text=True):
            self.changed = True  # the session was renewed (a new sign-in step): start again
        return response

    def restore(self) -> None:
        """After a form that changed who we are (signed out, deactivated, other language): back as before."""
        if self.changed:
            self.start()


def fuzz(session: Session, method: str, path: str, defaults: MultiDict, names: list[str], examples: int,
         failures: list[str], big_field: str | None = None) -> None:
    """Send hostile requests: markup and odd values in every field at once; a huge number in every field;
    1 MB in one field; then
    `examples` random ones, each with some of `names` set to hostile values (the rest left as found)."""
    names = names or list(EXTRA_NAMES[:2])

    @settings(max_examples=examples, **BOUNDED)
    @given(chosen=st.lists(st.sampled_from(names), min_size=1, max_size=min(len(names), 6), unique=True),
           values=st.lists(VALUES, min_size=1, max_size=6), htmx=st.booleans())
    @example(chosen=names, values=[*MARKUP, TEMPLATE, *ODD], htmx=False)
    @example(chosen=names, values=[HUGE_NUMBER], htmx=True)  # every id and count beyond 64 bits
    # 1 MB in a form field; an address is cut far shorter by the server in front (gunicorn: 4 KB).
    @example(chosen=[big_field or names[0]], values=[ONE_MB if method != "GET" else "a" * 4000], htmx=False)
    def attempt(chosen, values, htmx):
        data = MultiDict(defaults)
        sent = []
        for index, name in enumerate(chosen):
            value = values[index % len(values)]
            data.setlist(name, [value])
            sent.append(value)
        response = session.send(method, path, data, htmx)
        fields = ", ".join(chosen) if len(chosen) <= 8 else f"all {len(chosen)} fields"
        found = problems(response, sent, f"{method} {path} [{fields}]{' htmx' if htmx else ''}")
        assert not found, "\n".join(found)

    try:
        attempt()
    except AssertionError as error:
        failures.append(str(error).split("\nFalsifying")[0][:800])


def _big_field(form) -> str | None:
    """The field where a long text is most at home (a textarea, else a text input)."""
    for kind in ("textarea", "text", "search"):
        for f in form.fields:
            if f.kind == kind and f.name:
                return f.name
    return None


def _form_request(form) -> tuple[str, MultiDict]:
    """Path and untouched values of a form (a GET form's action may carry a query of its own)."""
    defaults = MultiDict([(k, v) for k, values in form.defaults().items() for v in values])
    path = form.action
    if "?" in path:
        path, query = path.split("?", 1)
        if form.method == "GET":
            for key, value in parse_qsl(query, keep_blank_values=True):
                defaults.add(key, value)
        else:
            path = form.action
    return path, defaults


def test_every_form_and_query_link_refuses_hostile_values_cleanly(app, world, rendered_html):
    failures: list[str] = []
    done: set[tuple] = set()
    shapes: set[str] = set()
    for role in ("admin", "operator", "tutor", "coordinator", "municipal_contact", "observer", None):
        session = Session(app, world.users[role] if role else None)
        found = crawl(session.client, ["/"] if role else [*PUBLIC_START, f"/a/{world.link_token}"])
        failures += [f"{role}: {problem}" for problem in found.problems]
        assert found.forms, f"no form found for {role or 'anonymous'} on {found.pages}"
        for form in found.forms:
            # A form an earlier role already had is not sent again: hostile values are refused the same way.
            if form.key() in done:
                continue
            done.add(form.key())
            shapes.add(shape(urlsplit(form.action).path))
            path, defaults = _form_request(form)
            fuzz(session, form.method, path, defaults, form.fuzzable(), FORM_EXAMPLES, failures, _big_field(form))
            session.restore()
        for link in found.query_links:
            parts = urlsplit(link)
            key = ("GET", shape(parts.path), tuple(sorted(parse_qs(parts.query, keep_blank_values=True))))
            if key in done:
                continue
            done.add(key)
            defaults = MultiDict(parse_qsl(parts.query, keep_blank_values=True))
            fuzz(session, "GET", parts.path, defaults, [*defaults.keys(), "next"], LINK_EXAMPLES, failures)
    assert not failures, "\n".join(failures)
    # Text that went into a PDF (notes, addenda, exports) went in escaped.
    assert rendered_html, "no PDF was produced: the note forms were not reached"
    for html in rendered_html:
        assert not [m for m in MARKUP if m in html], [m for m in MARKUP if m in html]

    # The crawl is what makes this complete: it reached the forms of every area.
    for expected in ("/giovani/nuova", "/orari/<n>/orari", "/admin/utenti/<n>", "/lingua", "/richiesta", "/login",
                     "/appuntamenti/<n>/nota", "/note/<n>/integrazioni", "/richieste/<n>/commenti"):
        assert expected in shapes, (expected, sorted(shapes))

    # A megabyte sent to a form was refused, never stored.
    stored = []
    for table in db.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, sa.String):  # Text included
                longest = db.session.scalar(sa.select(sa.func.max(sa.func.length(column))).select_from(table))
                if longest and longest >= 100_000:
                    stored.append(f"{table.name}.{column.name}: {longest} characters")
    assert not stored, stored


# --- Every GET route of the URL map, whether or not a page links it -------------------------------

def parameter_names() -> list[str]:
    """Every name the code reads from a query string or form, and every WTForms field name."""
    names: set[str] = set(EXTRA_NAMES)
    read = re.compile(r"""(?:args|form|values|params|source|filters|data)\.get(?:list)?\(\s*["']([A-Za-z_]\w*)["']""")
    field = re.compile(r"^\s+([a-z_][a-z0-9_]*)\s*=\s*\w+Field\(", re.M)
    for path in APP_DIR.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        names.update(read.findall(text))
        if "Field(" in text:
            names.update(field.findall(text))
    return sorted(names)


def path_values(world) -> dict[str, object]:
    """A real record for each URL argument name the routes use (unknown names get 1 or 'x')."""
    return {
        "desk_id": world.desk.id, "appointment_id": world.draft.id, "person_id": world.person.id,
        "note_id": world.note.id, "ticket_id": world.ticket.id, "user_id": world.users["tutor"].id,
        "organisation_id": world.users["tutor"].organisation_id, "town_id": world.network["Segrate"].id,
        "number": 1, "token": world.link_token, "action": "conferma", "filename": "css/app.css",
    }


def is_int(rule, name: str) -> bool:
    return isinstance(rule._converters[name], IntegerConverter)


def build_path(app, rule, values: dict[str, object], override: dict[str, object] | None = None) -> str:
    """The path of a rule with real values for its arguments."""
    arguments = {name: values.get(name, 1 if is_int(rule, name) else "x")
                 for name in rule.arguments if name not in (rule.defaults or {})}
    arguments.update(override or {})
    return app.url_map.bind("localhost").build(rule.endpoint, arguments, method=sorted(rule.methods)[0])


HUGE_IDS = (2**31, 10**25)


def test_every_route_refuses_hostile_query_parameters_and_impossible_ids_cleanly(app, world):
    names = parameter_names()
    values = path_values(world)
    rules = sorted((r for r in app.url_map.iter_rules() if r.endpoint != "static"), key=lambda r: r.rule)
    failures: list[str] = []
    # The administrator reaches most routes; anonymous visitors the public ones.
    for role in ("admin", None):
        session = Session(app, world.users[role] if role else None)
        for rule in rules:
            if "GET" in rule.methods and (role or declared_access(rule.endpoint) == PUBLIC):
                fuzz(session, "GET", build_path(app, rule, values), MultiDict(), names, ROUTE_EXAMPLES, failures)
        session.restore()

    # Ids no record can have (beyond 32 and 64 bits): not found, never a database error.
    session = Session(app, world.users["admin"])
    for rule in rules:
        method = "GET" if "GET" in rule.methods else "POST"
        for name in (n for n in rule.arguments if n not in (rule.defaults or {}) and is_int(rule, n)):
            for huge in HUGE_IDS:
                path = build_path(app, rule, values, {name: huge})
                response = session.send(method, path, MultiDict(), htmx=False)
                found = problems(response, [], f"{method} {path}")
                if not found and response.status_code < 400:
                    found = [f"{method} {path}: HTTP {response.status_code} for a record that cannot exist"]
                failures += found
    assert not failures, "\n".join(failures)
