"""Whose sessions each role's report counts (BRIEF, dashboards) and filters outside the scope."""

from __future__ import annotations

from dataclasses import replace

import pytest

from app.domain.errors import Invalid, NotFound
from app.reports import indicators
from tests.reports.conftest import Q1, staff


def test_each_role_counts_its_own_scope(world, in_request):
    net = world.network
    cases = [
        # (user, sessions counted, small counts hidden, scope label, desks offered as a filter)
        (staff(net, "admin", "Ufficio di Piano", "A"), 7, False, "Tutta la rete", {"Sportello Segrate", "Sportello Rodano"}),
        (staff(net, "observer", "Città Metropolitana", "O"), 7, True, "Tutta la rete", {"Sportello Segrate", "Sportello Rodano"}),
        # Students Lab runs Segrate and employs Marta: a1 a2 a4 a8.
        (staff(net, "coordinator", "Students Lab", "C"), 4, False, "Associazione Students Lab", {"Sportello Segrate"}),
        # Ala Milano runs Rodano and employs Paolo: a5 a6 a10.
        (staff(net, "coordinator", "Ala Milano", "C2"), 3, False, "Associazione Ala Milano", {"Sportello Rodano"}),
        (world.operator, 4, False, "I miei sportelli", {"Sportello Segrate"}),
        (world.marta, 4, False, "Le mie sessioni", {"Sportello Segrate"}),
        (world.paolo, 3, False, "Le mie sessioni", {"Sportello Rodano"}),
        (staff(net, "municipal_contact", "Rodano", "M"), 3, True, "Comune di Rodano", {"Sportello Rodano"}),
        (staff(net, "municipal_contact", "Segrate", "M2"), 4, True, "Comune di Segrate", {"Sportello Segrate"}),
    ]
    for user, sessions, suppressed, label, desks in cases:
        assert indicators._counts(user, Q1).headline["sessions"] == sessions, user.role
        options = indicators.filter_options(user)
        assert {name for _id, name in options.desks} == desks, user.role
        assert indicators.scope_label(user) == label
        from app.policy import report_suppresses
        assert report_suppresses(user) is suppressed
    # A tutor's report has no opening hours (they are the desks'); a town's contact sees only their desks' hours.
    assert indicators._hours(world.marta, Q1)[0] == {}
    assert indicators._hours(cases[7][0], Q1)[0] == {world.rodano.id: 48.0}


def test_filters_outside_the_scope_are_refused(world, in_request):
    net = world.network
    rodano_contact = staff(net, "municipal_contact", "Rodano", "M")
    with pytest.raises(NotFound):
        indicators.report_for(rodano_contact, replace(Q1, desk_id=world.segrate.id))
    with pytest.raises(NotFound):
        indicators.report_for(rodano_contact, replace(Q1, town_id=net["Segrate"].id))
    with pytest.raises(NotFound):
        indicators.report_for(world.operator, replace(Q1, town_id=net["Rodano"].id))
    coordinator = staff(net, "coordinator", "Students Lab", "C")
    with pytest.raises(NotFound):
        indicators.report_for(coordinator, replace(Q1, organisation_id=net["Ala Milano"].id))
    with pytest.raises(Invalid):
        indicators.report_for(coordinator, replace(Q1, start=Q1.end, end=Q1.start))
    with pytest.raises(Invalid):
        indicators.report_for(coordinator, replace(Q1, service="magia"))
    # Inside the scope: accepted.
    report = indicators.report_for(rodano_contact, replace(Q1, desk_id=world.rodano.id))
    assert dict(report.filter_labels)["Sportello"] == "Sportello Rodano"
