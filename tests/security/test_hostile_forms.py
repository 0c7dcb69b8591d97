"""Hostile input (property-based): every form and query link, found by crawling, takes nasty values.

For every role (and anonymous visitors) the crawl opens the pages reachable from the navigation, one per
route shape, and collects every form (fields, hidden values, buttons, htmx controls) and every link with a
query string. Hypothesis then sends nasty values (NUL bytes, 1 MB strings, emoji, right-to-left text, bad
dates, negative and huge numbers, SQL and template syntax, markup, `javascript:` URLs). Every answer must
be a success or a 4xx with an Italian message, never a 500, never the markup reflected unescaped, never a
redirect off the site, and always carry the security headers. A new page needs no new test here.
"""

from __future__ import annotations

from urllib.parse import parse_qs, parse_qsl, urlsplit

import sqlalchemy as sa
from werkzeug.datastructures import MultiDict

from app.extensions import db
from tests.conftest import DEMO_PASSWORD
from tests.security.discovery import crawl, shape
from tests.security.fuzzing import FORM_EXAMPLES, LINK_EXAMPLES, PUBLIC_START, Session, fuzz
from tests.security.hostile import MARKUP


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
        start = ["/"]
        if role is None:
            # Halfway through a sign-in with a second factor, the code step is a public form too.
            second_step = session.client.post("/login", data={"email": world.users["tutor"].email,
                                                              "password": DEMO_PASSWORD})
            start = [*PUBLIC_START, f"/a/{world.link_token}", second_step.headers["Location"]]
        found = crawl(session.client, start)
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
                     "/login/codice",
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

