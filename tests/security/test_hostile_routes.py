"""Hostile input on every GET route of the URL map, linked from a page or not, and impossible ids in paths."""

from __future__ import annotations

from werkzeug.datastructures import MultiDict

from app.policy.core import PUBLIC, declared_access
from tests.security.fuzzing import (
    ROUTE_EXAMPLES,
    Session,
    build_path,
    fuzz,
    is_int,
    parameter_names,
    path_values,
)
from tests.security.hostile import problems

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
