"""Monitoring dashboards (issue 8): whose sessions and which desks a viewer's report covers.

BRIEF, "dashboards": admin all; coordinator own organisation (its desks and its tutors);
operator own desks; tutor own sessions; municipal contact own municipality's desks and
observer all municipalities, both aggregates only with small counts suppressed.
Filters pointing outside the viewer's scope are refused with 404 (check_report_filters).
"""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _

from app.domain.errors import NotFound
from app.policy.core import ADMIN, COORD, MUNI, OBS, OPER, TUTOR
from app.policy.people import _org_tutor_ids, _own_desk_ids


def report_suppresses(user) -> bool:
    """Small counts are hidden for municipal contacts and observers (also in what they export)."""
    return user.role in (MUNI, OBS)


def can_download_quarterly(user) -> bool:
    """The quarterly report for Città Metropolitana: the Ufficio di Piano and the observer."""
    return user.role in (ADMIN, OBS)


def report_appointment_scope(user) -> sa.ColumnElement:
    """SQL condition on Appointment (joined with Desk) selecting the sessions the user's report counts."""
    from app.models import Appointment, Desk

    if user.role in (ADMIN, OBS):
        return sa.true()
    if user.role == COORD:
        return sa.or_(Desk.partner_id == user.organisation_id,
                      Appointment.tutor_id.in_(_org_tutor_ids(user.organisation_id)))
    if user.role == OPER:
        return Appointment.desk_id.in_(_own_desk_ids(user))
    if user.role == TUTOR:
        return Appointment.tutor_id == user.id
    if user.role == MUNI:
        return Desk.municipality_id == user.organisation_id
    return sa.false()


def report_hours_desks(query: sa.Select, user) -> sa.Select:
    """Filter a Desk query to the desks whose opening hours and occupancy the user's report shows."""
    from app.models import Desk

    if user.role in (ADMIN, OBS):
        return query
    if user.role == COORD:
        return query.where(Desk.partner_id == user.organisation_id)
    if user.role == OPER:
        return query.where(Desk.id.in_(_own_desk_ids(user)))
    if user.role == MUNI:
        return query.where(Desk.municipality_id == user.organisation_id)
    return query.where(sa.false())


def report_filter_desks(query: sa.Select, user) -> sa.Select:
    """Filter a Desk query to the desks offered as a filter: hours desks plus those of sessions in scope."""
    from app.models import Appointment, Desk

    if user.role in (ADMIN, OBS):
        return query
    # One EXISTS per desk (the outer desk is the session's): an index probe, not every appointment.
    in_sessions = sa.exists().where(Appointment.desk_id == Desk.id, report_appointment_scope(user))
    hours = report_hours_desks(sa.select(Desk.id), user)
    return query.where(sa.or_(Desk.id.in_(hours), in_sessions))


def check_report_filters(user, filters, *, desk_ids, town_ids, organisation_ids) -> None:
    """Refuse (404, no existence leak) a desk, town or organisation the user may not report on."""
    if filters.desk_id is not None and filters.desk_id not in desk_ids:
        raise NotFound(_("Sportello non trovato."))
    if filters.town_id is not None and filters.town_id not in town_ids:
        raise NotFound(_("Comune non trovato."))
    if filters.organisation_id is not None and filters.organisation_id not in organisation_ids:
        raise NotFound(_("Organizzazione non trovata."))


def report_scope_kind(user) -> str:
    """Which scope the user's report has: network, organisation, desks, own, town."""
    return {ADMIN: "network", OBS: "network", COORD: "organisation", OPER: "desks", TUTOR: "own",
            MUNI: "town"}.get(user.role, "none")
