"""The machinery of the hostile-input tests: a client that keeps its session, the fuzzing loop, routes."""

from __future__ import annotations

import os
import re
import zlib
from pathlib import Path
from urllib.parse import urlsplit

import sqlalchemy as sa
from hypothesis import HealthCheck, Phase, example, given, seed, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict
from werkzeug.routing import IntegerConverter

from app.auth import two_factor
from app.extensions import db
from app.models import User
from tests.conftest import TEST_TOTP_SECRET, login
from tests.security.discovery import shape
from tests.security.hostile import EXTRA_NAMES, HUGE_NUMBER, MARKUP, ODD, ONE_MB, TEMPLATE, VALUES, problems

CSRF_REFUSED = "Il modulo è scaduto o non è stato inviato da questa applicazione"
ENROLMENT = "/account/sicurezza/attiva"
APP_DIR = Path(__file__).resolve().parents[2] / "app"
PUBLIC_START = ["/login", "/richiesta", "/sportelli", "/accessibilita", "/privacy", "/password/reset"]
# Random examples on top of the three fixed ones (markup and odd values everywhere, huge numbers everywhere,
# 1 MB in one field).
# HUB_HOSTILE_DEPTH=10 multiplies them for a deeper run by hand (the suite stays bounded by default).
DEPTH = int(os.environ.get("HUB_HOSTILE_DEPTH", "1"))
FORM_EXAMPLES = 2 * DEPTH
LINK_EXAMPLES = 2 * DEPTH
ROUTE_EXAMPLES = 1 * DEPTH

# Bounded and reproducible: a fixed seed per target (see fuzz), so the same examples on every run and in
# CI; no example database, no shrinking (a failure names the request and the fields).
BOUNDED = dict(deadline=None, database=None, phases=(Phase.explicit, Phase.generate),
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
    """Send hostile requests and collect what is wrong with the answers.

    Fixed examples: markup and odd values in every field at once; a huge number in every field; 1 MB in
    one field. Then `examples` random ones, each with some of `names` set to hostile values (the rest
    left as the page had them)."""
    names = names or list(EXTRA_NAMES[:2])
    # One fixed seed per target (not derandomize, which would give every target the same draws).
    target = re.sub(r"/[\w-]{20,}", "/<token>", shape(urlsplit(path).path))

    @seed(zlib.crc32(f"{method} {target} {' '.join(names)}".encode()))
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

