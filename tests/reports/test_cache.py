"""The short-lived report cache (issue 11): per scope, refreshed by new data and by its TTL."""

from __future__ import annotations

from app.extensions import db
from app.models.appointment import Status
from app.reports import cache, indicators
from tests.reports.conftest import Q1, staff


def test_a_report_is_kept_for_its_ttl_then_computed_again(world, in_request, clock):
    admin = staff(world.network, "admin", "Ufficio di Piano", "A")
    first = indicators.report_for(admin, Q1)
    assert first.headline["no_shows"].value == 2
    # A change of status (no new row): the kept report until the TTL runs out.
    world.a[1].status = Status.NO_SHOW
    db.session.commit()
    clock.now += 299
    assert indicators.report_for(admin, Q1) is first
    clock.now += 1
    fresh = indicators.report_for(admin, Q1)
    assert fresh is not first and fresh.headline["no_shows"].value == 3


def test_the_cache_never_gives_one_scope_another_scopes_report(world, in_request, clock):
    net = world.network
    viewers = [staff(net, "admin", "Ufficio di Piano", "A"), staff(net, "observer", "Città Metropolitana", "O"),
               staff(net, "coordinator", "Students Lab", "C"), staff(net, "coordinator", "Ala Milano", "C2"),
               world.operator, world.marta, world.paolo, staff(net, "municipal_contact", "Rodano", "M"),
               staff(net, "municipal_contact", "Segrate", "M2")]
    cached = [(indicators.report_for(v, Q1), indicators.filter_options(v)) for v in viewers]
    cache.memory.clear()
    from flask import current_app

    current_app.config["REPORTS_CACHE_SECONDS"] = 0
    for viewer, (report, options) in zip(viewers, cached, strict=True):
        direct = indicators.report_for(viewer, Q1)
        assert report.scope_label == direct.scope_label, viewer.role
        assert report.suppressed == direct.suppressed, viewer.role
        assert report.headline == direct.headline, viewer.role
        assert report.tables == direct.tables, viewer.role
        assert options == indicators.filter_options(viewer), viewer.role
    # Same role, same organisation: one scope, one entry; another town's contact: another entry.
    assert cache.scope_key(viewers[7]) == cache.scope_key(staff(net, "municipal_contact", "Rodano", "M3"))
    assert cache.scope_key(viewers[7]) != cache.scope_key(viewers[8])
    assert cache.scope_key(world.marta) != cache.scope_key(world.paolo)
    assert cache.scope_key(viewers[0]) != cache.scope_key(viewers[1])  # the observer's numbers are suppressed


def test_the_cache_is_off_with_zero_seconds(world, in_request, app):
    app.config["REPORTS_CACHE_SECONDS"] = 0
    admin = staff(world.network, "admin", "Ufficio di Piano", "A")
    assert indicators.report_for(admin, Q1) is not indicators.report_for(admin, Q1)
