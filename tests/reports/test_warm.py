"""`flask reports-warm` (issue 11): the default dashboard of every scope is computed ahead, per scope."""

from __future__ import annotations

from dataclasses import replace

import pytest
from flask import current_app

from app.reports import cache, indicators, warm
from tests.conftest import login
from tests.reports.conftest import staff

ROLES = ("admin", "observer", "coordinator", "municipal_contact", "operator", "tutor")


@pytest.fixture
def counted(monkeypatch):
    """Counts the real computations of reports and filter options."""
    calls = {"report": 0, "options": 0}
    compute, options = indicators._compute, indicators._filter_options

    def counting_compute(*args, **kwargs):
        calls["report"] += 1
        return compute(*args, **kwargs)

    def counting_options(*args, **kwargs):
        calls["options"] += 1
        return options(*args, **kwargs)

    monkeypatch.setattr(indicators, "_compute", counting_compute)
    monkeypatch.setattr(indicators, "_filter_options", counting_options)
    return calls


def test_after_warming_every_role_gets_its_own_default_dashboard_from_the_cache(world, app, client, make_user,
                                                                                clock, counted):
    users = {role: make_user(role) for role in ROLES}
    with app.test_request_context("/monitoraggio"):
        result = warm.warm()
        scopes = {cache.scope_key(u) for u in warm.representatives()}
    assert result.scopes == len(scopes) and not result.skipped
    assert {cache.scope_key(u) for u in users.values()} <= scopes
    warmed = dict(counted)
    assert warmed["report"] == warmed["options"] == len(scopes)

    clock.now += 599  # the warmer stores for 2 × the TTL: the next run (every 5 minutes) replaces them in time
    for role, user in users.items():
        client.post("/logout")
        assert login(client, user.email).status_code == 303
        page = client.get("/monitoraggio")
        assert page.status_code == 200, role
        assert counted == warmed, role  # nothing computed: the report and its options came from the cache
        with app.test_request_context("/monitoraggio"):
            kept = indicators.report_for(user, indicators.default_filters())
            shown = current_app.jinja_env.filters["datetime_it"](kept.generated_at)
        # The page says when the numbers were computed (by the warmer), not when it was requested.
        assert shown in page.get_data(as_text=True), role
    assert counted == warmed

    # The cached numbers are those of a fresh computation for the same user: no scope got another's report.
    app.config["REPORTS_CACHE_SECONDS"] = 0
    with app.test_request_context("/monitoraggio"):
        for role, user in users.items():
            clock.now += 0  # same instant: the cache is only bypassed, not expired
            app.config["REPORTS_CACHE_SECONDS"] = 300
            kept = indicators.report_for(user, indicators.default_filters())
            kept_options = indicators.filter_options(user)
            app.config["REPORTS_CACHE_SECONDS"] = 0
            fresh = indicators.report_for(user, indicators.default_filters())
            assert replace(kept, generated_at=fresh.generated_at) == fresh, role
            assert kept_options == indicators.filter_options(user), role
    assert counted["report"] == warmed["report"] + len(users)


def test_a_custom_filter_is_still_computed_and_a_new_run_replaces_the_entries(world, app, clock, counted):
    admin = staff(world.network, "admin", "Ufficio di Piano", "A")
    with app.test_request_context("/monitoraggio"):
        warm.warm()
        first = indicators.report_for(admin, indicators.default_filters())
        before = counted["report"]
        custom = replace(indicators.default_filters(), town_id=world.network["Rodano"].id)
        indicators.report_for(admin, custom)
        assert counted["report"] == before + 1  # not warmed: computed on demand (then cached for the TTL)
        again = warm.warm()  # idempotent: the same scopes, recomputed, the old entries replaced
        assert counted["report"] == before + 1 + again.scopes
        second = indicators.report_for(admin, indicators.default_filters())
        assert second is not first
        assert second.headline == first.headline


def test_the_command_needs_a_shared_cache(app, clock):
    output = app.test_cli_runner().invoke(args=["reports-warm"]).output
    assert "REDIS_URL non impostato" in output
    app.config["REPORTS_CACHE_SECONDS"] = 0
    assert "disattivata" in app.test_cli_runner().invoke(args=["reports-warm"]).output
