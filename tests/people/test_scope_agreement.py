"""One definition of who is in a user's scope, asked two ways: the register's search probes it per
candidate, the lists ask it as a set; both, and the person page, must agree for every role."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from werkzeug.exceptions import NotFound

from app.extensions import db
from app.models import Appointment, Desk, YoungPerson
from app.models.appointment import Status
from app.models.base import utcnow
from app.people import services
from app.policy import (
    get_young_person_or_404,
    names_in_scope,
    person_in_scope,
    scoped_young_people,
    young_people_scope_params,
)
from tests.bookings.factories import make_desk, make_person


def _met(desk, tutor, person, days_ago: int) -> None:
    start = utcnow().replace(microsecond=0) - timedelta(days=days_ago)  # a day each: a tutor is in one place
    db.session.add(Appointment(desk_id=desk.id, tutor_id=tutor.id, young_person_id=person.id, service="orientamento",
                               mode="presenza", starts_at=start, ends_at=start + timedelta(minutes=45),
                               status=Status.ATTENDED, uid=f"{uuid.uuid4()}@scope.test"))
    db.session.commit()


@pytest.fixture
def scope_world(world, network, make_user):
    """People related to the Segrate desk and the Students Lab tutors in every way the scope knows."""
    sl, am = network["Students Lab"], network["Ala Milano"]
    other_operator = make_user("operator", organisation=am)
    other_tutor = make_user("tutor", organisation=am, full_name="Tutor Ala")
    other_desk = make_desk(network, town="Rodano", partner="Ala Milano", name="Sportello Rodano",
                           operators=[other_operator], tutors=[other_tutor])

    def person(first_name, **kw):
        kw.setdefault("created_by", other_operator)
        kw.setdefault("registered_desk", other_desk)
        return make_person(network, kw.pop("created_by"), first_name=first_name, last_name="Scopetti",
                           town=kw.pop("town", "Rodano"), **kw)

    people = {
        "registered at the desk": person("Anna", created_by=world.operator, registered_desk=world.desk, town="Segrate"),
        "met at the desk": person("Bruno"),
        "met a Students Lab tutor elsewhere": person("Carla"),
        "protected, their tutor is Students Lab": person("Dario", protected=True, tutor=world.tutor),
        "protected, met at the desk": person("Elena", protected=True, tutor=other_tutor),
        "registered by the operator, no desk": person("Fabio", created_by=world.operator, registered_desk=None),
        "unrelated": person("Gina"),
    }
    _met(world.desk, other_tutor, people["met at the desk"], 3)
    _met(other_desk, world.tutor, people["met a Students Lab tutor elsewhere"], 4)
    _met(world.desk, other_tutor, people["protected, met at the desk"], 5)
    actors = {
        "admin": make_user("admin"), "coordinator": make_user("coordinator", organisation=sl),
        "other coordinator": make_user("coordinator", organisation=am), "operator": world.operator,
        "other operator": other_operator, "tutor": world.tutor, "colleague tutor": world.other_tutor,
        "other tutor": other_tutor,
    }
    return people, actors


EXPECTED = {  # who sees whom: the BRIEF's rules, written out
    "admin": {"registered at the desk", "met at the desk", "met a Students Lab tutor elsewhere",
              "registered by the operator, no desk", "unrelated"},
    "coordinator": {"registered at the desk", "met a Students Lab tutor elsewhere",
                    "protected, their tutor is Students Lab", "registered by the operator, no desk"},
    "operator": {"registered at the desk", "met at the desk", "registered by the operator, no desk"},
    "tutor": {"met a Students Lab tutor elsewhere", "protected, their tutor is Students Lab"},
    "colleague tutor": set(),
}


def test_the_probe_per_candidate_and_the_set_give_the_same_people_for_every_role(scope_world):
    people, actors = scope_world
    ids = [p.id for p in people.values()]
    for role, actor in actors.items():
        def found(per_candidate, actor=actor):
            query = scoped_young_people(sa.select(YoungPerson.id), actor, per_candidate=per_candidate)
            return set(db.session.scalars(query.where(YoungPerson.id.in_(ids))))
        assert found(True) == found(False), role
        # Built once for the role with its values left to parameters (the search keeps such statements).
        later = scoped_young_people(sa.select(YoungPerson.id), actor, per_candidate=True, params_later=True)
        given = young_people_scope_params(actor, per_candidate=True)
        assert set(db.session.scalars(later.where(YoungPerson.id.in_(ids)), given)) == found(True), role
        # The probes' form: an operator's desks read inside the same statement (no list given).
        inline = scoped_young_people(sa.select(YoungPerson.id), actor, per_candidate=True, params_later=True,
                                     desks_inline=True)
        assert set(db.session.scalars(inline.where(YoungPerson.id.in_(ids)), young_people_scope_params(actor))) \
            == found(True), role
        # The person pages' probe, one statement kept per role and asked by each user of it in turn.
        assert {i for i in ids if person_in_scope(actor, i) is not None} == found(False), role
        if role in EXPECTED:
            assert found(True) == {people[name].id for name in EXPECTED[role]}, role


@pytest.mark.parametrize("q", ["Scopetti", "sc", "scopetti anna", "an scopetti", ""])
def test_the_search_finds_exactly_the_people_whose_page_opens(scope_world, q):
    people, actors = scope_world
    for role, actor in actors.items():
        opens = set()
        for p in people.values():
            try:
                get_young_person_or_404(p.id, actor)
            except NotFound:
                continue
            opens.add(p.id)
        found = {p.id for p in services.search(actor, q, limit=100) if p.last_name == "Scopetti"}
        # Every word must match a first or last name (a short one only filters what the long ones found).
        wanted = {i for i in opens for p in people.values() if p.id == i
                  and all(w in p.first_name.lower() or w in p.last_name.lower() for w in q.lower().split())}
        assert found == wanted, (role, q)


def test_a_code_is_found_only_by_who_may_open_the_page(scope_world):
    people, actors = scope_world
    for role, actor in actors.items():
        for p in people.values():
            try:
                get_young_person_or_404(p.id, actor)
                opens = True
            except NotFound:
                opens = False
            for q in (p.code, p.code[:13]):  # the whole code, and its year with four digits
                assert (p.id in {x.id for x in services.search(actor, q, limit=100)}) is opens, (role, q)


def test_an_operator_of_several_desks_or_of_none_is_probed_like_the_set(scope_world, network, make_user, world):
    """The operator's desks are read first and listed in the probe: two desks, and none, agree with the set."""
    people, _actors = scope_world
    ids = [p.id for p in people.values()]
    rodano = db.session.get(Desk, people["unrelated"].registered_desk_id)
    two_desks = make_user("operator", organisation=network["Ala Milano"])
    world.desk.operators.append(two_desks)
    rodano.operators.append(two_desks)
    no_desk = make_user("operator", organisation=network["Ala Milano"])
    db.session.commit()
    for actor in (two_desks, no_desk):
        def found(per_candidate, actor=actor):
            query = scoped_young_people(sa.select(YoungPerson.id), actor, per_candidate=per_candidate)
            return set(db.session.scalars(query.where(YoungPerson.id.in_(ids))))
        assert found(True) == found(False)
        # The person page's probe and the agenda's names read the desks inside their one statement.
        assert {i for i in ids if person_in_scope(actor, i) is not None} == found(False)
        assert set(names_in_scope(actor, ids)) == found(False)
    # Both desks' people, the protected ones excepted; not the one registered with no desk by someone else.
    assert found(True, two_desks) == {p.id for name, p in people.items()
                                      if not name.startswith("protected") and "no desk" not in name}
    assert found(True, no_desk) == set()


@pytest.mark.parametrize("role", ["coordinator", "operator", "tutor"])
def test_a_statement_built_for_a_role_holds_no_user_and_refuses_to_run_without_one(scope_world, role):
    """The search's kept statements: another user's values can never be used in their place."""
    _people, actors = scope_world
    actor = actors[role]
    later = scoped_young_people(sa.select(YoungPerson.id), actor, per_candidate=True, params_later=True)
    compiled = later.compile()
    assert not any(bind.value in (actor.id, actor.organisation_id) for bind in compiled.binds.values()
                   if bind.key.startswith("scope_")), role
    with pytest.raises(sa.exc.StatementError, match="scope_"):
        db.session.scalars(later).all()
    db.session.rollback()
