"""Young people's records (BRIEF: protected records only for their tutor and coordinator)."""

from __future__ import annotations

from types import SimpleNamespace

import sqlalchemy as sa
from flask import abort
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal

from app.extensions import db
from app.models import User, desk_operators
from app.policy.core import ADMIN, COORD, OPER, TUTOR, has_permission

# --- Young people --------------------------------------------------------------
# BRIEF: admin all; coordinator own organisation's (registered by it, or with an
# appointment with one of its tutors); operator own desks' (registered at, or with an
# appointment at, one of their desks, or registered by them); tutor own (name and code only). A protected
# record is seen only by its tutor of record and that tutor's coordinator.

def _own_desk_ids(user) -> sa.Select:
    return sa.select(desk_operators.c.desk_id).where(desk_operators.c.user_id == user.id)


def _org_tutor_ids(organisation_id) -> sa.Select:
    return sa.select(User.id).where(User.organisation_id == organisation_id, User.role == TUTOR)


class _InSet(ColumnElement):
    """`column IN (subquery)` whose subquery is run once: `= ANY(ARRAY(subquery))` on PostgreSQL.

    Inside a per-candidate probe, PostgreSQL turns a plain IN into a join with the (tiny) list of
    desks or tutors and, misjudging its size (users of organisation 9 that are tutors: 1 row
    estimated, 21 real), probes the appointments index once per tutor per candidate (coordinator's
    "Rossi": 12,285 probes, ~37,000 buffers). ARRAY(...) is an InitPlan computed once, and the probe
    reads the candidate's own index entries (~20, one leaf page) keeping those with a listed
    tutor or desk: ~3 buffers per candidate.
    """

    # Both parts are in the cache key: the compiled SQL is reused, with each user's own ids bound.
    _traverse_internals = [("column", InternalTraversal.dp_clauseelement),
                           ("subquery", InternalTraversal.dp_clauseelement)]
    inherit_cache = True
    type = sa.types.NullType()  # a Boolean type makes SQLite append '= 1'

    def __init__(self, column, subquery):
        self.column, self.subquery = column, subquery


@compiles(_InSet)
def _in_set(element, compiler, **kw):
    return compiler.process(element.column.in_(element.subquery), **kw)


@compiles(_InSet, "postgresql")
def _in_set_postgresql(element, compiler, **kw):
    return (f"{compiler.process(element.column, **kw)} = ANY(ARRAY("
            f"{compiler.process(element.subquery.scalar_subquery(), **kw)}))")


def _operator_desks(user) -> list[int]:
    return list(db.session.scalars(_own_desk_ids(user)))


def young_people_scope_params(user, *, per_candidate: bool = False) -> dict:
    """The values of the parameters that `scoped_young_people(..., params_later=True)` leaves unset, for `user`."""
    if user.role == COORD:
        return {"scope_org": user.organisation_id}
    if user.role == OPER:
        return {SCOPE_USER: user.id, **({"scope_desks": _operator_desks(user)} if per_candidate else {})}
    if user.role == TUTOR:
        return {SCOPE_USER: user.id}
    return {}


def scoped_young_people(query: sa.Select, user, *, per_candidate: bool = False,
                        params_later: bool = False, desks_inline: bool = False) -> sa.Select:
    """Filter a YoungPerson query to the records the user may see (protected ones included only for their tutor/coordinator).

    The one definition of the scope, asked in two ways that give the same rows. "Met at my desks" /
    "met one of our tutors" is an appointment, and there are ~1,000,000 of them at scale 1:

    - by default, `id IN (the people of those appointments)`: PostgreSQL hashes the appointments of
      the desks or tutors once (~50,000 rows for a desk, ~350,000 for an organisation's tutors), the
      right plan for the lists that apply the scope to everyone (waiting list, recall tasks, notes);
    - `per_candidate=True`, for a query that already narrows the people to a few candidates (the
      register's search: the trigram matches, a code prefix, one page of an ordered walk): a
      correlated `EXISTS (... WHERE appointments.young_person_id = young_people.id ... OFFSET 0)`,
      probed once per candidate on an index that starts with young_person_id or that pairs it with
      the desk (ix_appointments_person_tutor, ix_appointments_desk_person): a few index pages per
      candidate, however long the history. The OFFSET 0 is what makes the plan certain, not a hint:
      PostgreSQL turns an EXISTS into a semi-join (and then may hash the whole desk again) or into
      a hashed IN only when the subquery has no OFFSET (simplify_EXISTS_query), so with it the
      EXISTS stays a per-row SubPlan, evaluated after the cheaper conditions of the same row.
      SQLite answers both forms alike (LIMIT -1 OFFSET 0).

    With `params_later`, the user's values are not in the statement: it holds required parameters
    (`scope_user`, `scope_org`, `scope_desks`) that young_people_scope_params(user) gives at execution,
    so one statement built for a role serves every user of that role (the register's search keeps them).
    A parameter left out is an error, never another user's value.

    With `desks_inline` (per_candidate, for a probe of one person or of a page of them), an operator's
    desks are a subquery of the same statement instead of a list read first: one round trip instead
    of two, for a probe that reads a few index entries more (the person's ~20, not one).
    """
    from app.models import Appointment, YoungPerson

    def value(name: str, given, *, expanding: bool = False):
        if not params_later:
            return given
        return user_id_param() if name == SCOPE_USER else sa.bindparam(name, required=True, expanding=expanding)

    def met(column, ids) -> sa.ColumnElement:
        """Has an appointment whose `column` (desk or tutor) is `ids` (one id, a list, or a query of ids)."""
        if isinstance(ids, int) or (isinstance(ids, sa.BindParameter) and not ids.expanding):
            condition = column == ids
        elif isinstance(ids, list | sa.BindParameter):
            condition = column.in_(ids)
        else:
            condition = _InSet(column, ids) if per_candidate else column.in_(ids)
        if per_candidate:
            # SELECT 1: nothing to fetch from the table, so the probe is an index-only scan.
            return (sa.select(sa.literal_column("1")).select_from(Appointment)
                    .where(Appointment.young_person_id == YoungPerson.id, condition)
                    .offset(sa.literal_column("0")).exists())
        return YoungPerson.id.in_(sa.select(Appointment.young_person_id).where(condition))

    if user.role == ADMIN:
        return query.where(YoungPerson.protected.is_(False))
    if user.role == COORD:
        organisation = value("scope_org", user.organisation_id)
        org_tutors = _org_tutor_ids(organisation)
        return query.where(
            sa.or_(YoungPerson.registered_org_id == organisation,
                   YoungPerson.tutor_id.in_(org_tutors), met(Appointment.tutor_id, org_tutors)),
            sa.or_(YoungPerson.protected.is_(False), YoungPerson.tutor_id.in_(org_tutors)),
        )
    if user.role == OPER:
        operator = value(SCOPE_USER, user.id)
        if per_candidate and not desks_inline:
            # An operator has one desk or a few: their ids, read first, make each probe a single descent
            # of ix_appointments_person_desk to (person, desk) instead of a scan of the person's ~20
            # entries filtered by an array the planner cannot size (scale 1, 947 probes: ~4.2 -> ~2.3 ms).
            desks = sa.bindparam("scope_desks", required=True, expanding=True) if params_later \
                else _operator_desks(user)
        else:
            desks = sa.select(desk_operators.c.desk_id).where(desk_operators.c.user_id == operator)
        return query.where(
            sa.or_(YoungPerson.registered_desk_id.in_(desks), YoungPerson.created_by_id == operator,
                   met(Appointment.desk_id, desks)),  # the probe last: PostgreSQL keeps an OR's order
            YoungPerson.protected.is_(False),
        )
    if user.role == TUTOR:
        tutor = value(SCOPE_USER, user.id)
        return query.where(
            sa.or_(YoungPerson.tutor_id == tutor, met(Appointment.tutor_id, tutor)),
            sa.or_(YoungPerson.protected.is_(False), YoungPerson.tutor_id == tutor),
        )
    return query.where(sa.false())


SCOPE_USER = "scope_user"


def user_id_param() -> sa.BindParameter:
    """The user's id as a required parameter, bound at each execution (young_people_scope_params gives it):
    the one stand-in for a user's id in every statement kept for many users (people search, person probe,
    notes list). Left unbound it is an error, never another user's value."""
    return sa.bindparam(SCOPE_USER, required=True, type_=sa.Integer())


def role_stand_in(role: str) -> SimpleNamespace:
    """A user of `role` whose id is `user_id_param()` and who has no organisation: what a statement kept
    for the role is built for (with params_later=True, so every value of the user is a required parameter)."""
    return SimpleNamespace(role=role, id=user_id_param(), organisation_id=None)


# Statements kept per use and role: building the scope cost more CPU than the probe it asks.
_KEPT: dict[tuple[str, str], sa.Select] = {}


def _execute_kept(use: str, user, build, params: dict) -> sa.Result:
    """Run the statement `build(stand_in)` for the user's role (built once per use and role, for a stand-in whose
    values are parameters, `role_stand_in`) with the user's scope values and `params`.

    `build` asks for the scope with desks_inline=True: the statement itself reads an operator's desks."""
    statement = _KEPT.get((use, user.role))
    if statement is None:
        statement = _KEPT[(use, user.role)] = build(role_stand_in(user.role))
    return db.session.execute(statement, {**young_people_scope_params(user), **params})


def person_in_scope(user, person_id: int | None):
    """The young person `person_id` if in the user's scope, else None (one probe by primary key)."""
    from app.models import YoungPerson

    if person_id is None:
        return None
    return _execute_kept("person", user, lambda stand_in: scoped_young_people(
        sa.select(YoungPerson), stand_in, per_candidate=True, params_later=True, desks_inline=True)
        .where(YoungPerson.id == sa.bindparam("person_id", required=True)), {"person_id": person_id}).scalar()


def names_in_scope(user, ids) -> dict[int, tuple[str, str]]:
    """Name and code of those of the young people `ids` whom the user may see, by id (one statement).

    A list that shows appointments of people outside the user's scope (a tutor's agenda, a desk's
    day) shows "Riservato" for them: only the names returned here are read from the database.
    """
    from app.models import YoungPerson

    ids = list(ids)
    if not ids:
        return {}
    rows = _execute_kept("names", user, lambda stand_in: scoped_young_people(
        sa.select(YoungPerson.id, YoungPerson.full_name, YoungPerson.code), stand_in, per_candidate=True,
        params_later=True, desks_inline=True)
        .where(YoungPerson.id.in_(sa.bindparam("person_ids", expanding=True, required=True))),
        {"person_ids": ids})
    return {row.id: (row.full_name, row.code) for row in rows}


def can_view_young_person(user, person) -> bool:
    """True when the record is in the user's scope (one query)."""
    return person_in_scope(user, person.id) is not None


def can_view_person_details(user, person) -> bool:
    """Contacts, consent and birth date: everyone in scope except tutors (name and code only)."""
    return user.role in (ADMIN, COORD, OPER) and can_view_young_person(user, person)


def can_register_young_people(user) -> bool:
    """Operators, coordinators and the Ufficio di Piano register young people."""
    return has_permission(user, "people.register")


def get_young_person_or_404(person_id: int, user):
    """Load a young person in the user's scope; 404 otherwise (no existence leak)."""
    person = person_in_scope(user, person_id)
    if person is None:
        abort(404)
    return person


