"""Desk calendars for staff: the "Orari degli sportelli" list, week and month calendars, the door timetable."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from flask import render_template, request
from flask_babel import format_date as babel_format_date
from flask_babel import gettext as _
from flask_login import current_user

from app.desks import bp, calendars, feeds
from app.desks import services as desk_services
from app.domain.availability import local_date
from app.extensions import db
from app.formatting import format_date, weekday_name
from app.htmx import is_htmx as _is_htmx
from app.models import DESK_SERVICES, Desk, FeedScope, Organisation, OrganisationKind
from app.models.base import utcnow
from app.policy import (
    can_edit_hours,
    can_manage_desks,
    can_manage_feeds,
    can_see_closure_reasons,
    can_see_feed_links,
    editable_desks,
    get_desk_or_404,
    requires,
    scoped_desks,
)

VIEWS = {"settimana": "week", "mese": "month"}  # URL word -> view kind
VIEW_WORDS = {kind: word for word, kind in VIEWS.items()}


def _anchor() -> date:
    """The date named by ?data=aaaa-mm-gg (today, in Rome, when missing or malformed)."""
    raw = request.args.get("data", "")
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return calendars.today_local()


# --- "Orari degli sportelli" ------------------------------------------------------------

def _visible_towns(user) -> list[Organisation]:
    """The towns that have at least one active desk the user may see."""
    town_ids = sa.select(Desk.municipality_id).where(Desk.active.is_(True))
    town_ids = scoped_desks(town_ids, user)
    return list(db.session.scalars(
        sa.select(Organisation)
        .where(Organisation.kind == OrganisationKind.MUNICIPALITY, Organisation.id.in_(town_ids))
        .order_by(Organisation.name)
    ))


def render_desk_index():
    """Body of `desks.index`: the desks in the viewer's scope with open now / next opening, filterable."""
    towns = _visible_towns(current_user)
    town_id = request.args.get("comune", type=int)
    if town_id not in {t.id for t in towns}:
        town_id = None
    service = request.args.get("servizio", "")
    if service not in DESK_SERVICES:
        service = ""
    query = scoped_desks(sa.select(Desk).join(Desk.municipality), current_user).where(Desk.active.is_(True))
    if town_id:
        query = query.where(Desk.municipality_id == town_id)
    if service:
        query = query.where(Desk.service_rows.any(service=service))
    desks = list(db.session.scalars(query.order_by(Organisation.name, Desk.name)).unique())
    now = utcnow()
    today = calendars.today_local(now)
    engine_input = desk_services.desk_calendars(
        [d.id for d in desks], today - timedelta(days=1), today + timedelta(days=calendars.STATUS_HORIZON_DAYS + 1)
    )
    rows = [(desk, calendars.desk_status(engine_input[desk.id], now)) for desk in desks]
    can_edit_any = db.session.scalar(editable_desks(sa.select(Desk.id), current_user).limit(1)) is not None
    context = dict(rows=rows, towns=towns, town_id=town_id, service=service, services_catalogue=DESK_SERVICES,
                   can_edit=lambda desk: can_edit_hours(current_user, desk), can_edit_any=can_edit_any,
                   can_manage=can_manage_desks(current_user), can_manage_feeds=can_manage_feeds(current_user))
    if _is_htmx():
        return render_template("desks/_calendar_index.html", **context)
    return render_template("desks/index.html", **context)


# --- Week and month calendar of one desk ------------------------------------------------

@bp.get("/orari/<int:desk_id>/calendario")
@requires("desks.view")
def calendar(desk_id: int):
    """Week or month calendar of a desk: openings, closures, holidays, extra openings, free slots."""
    desk = get_desk_or_404(desk_id, current_user)
    kind = VIEWS.get(request.args.get("vista", ""), "week")
    anchor = _anchor()
    now = utcnow()
    first, last, grid_first, grid_last = calendars.period_bounds(kind, anchor)
    engine_input = desk_services.desk_calendar(desk, grid_first, grid_last)
    tutors = desk_services.tutor_calendars([desk.id], first, last)
    counts = None
    if tutors:
        counts = calendars.free_slot_counts(engine_input, tutors, desk_services.slot_rules(desk), first, last, now)
    view = calendars.build_view(engine_input, kind, anchor, now=now, slot_counts=counts)
    context = dict(
        desk=desk, view=view, view_word=VIEW_WORDS[kind], show_reasons=can_see_closure_reasons(current_user),
        can_edit=can_edit_hours(current_user, desk),
        today=calendars.today_local(now),
    )
    if _is_htmx():
        return render_template("desks/_calendar_grid.html", **context)
    return render_template("desks/calendar_desk.html", **context)


@bp.app_template_global("desk_feed_links")
def desk_feed_links(desk: Desk) -> list[dict] | None:
    """The desk's and its town's feeds for the viewer (label, scope, target, token or None); None if not theirs.

    A template global so any desk page can `{% include "desks/_calendar_feed.html" %}`.
    """
    if not can_see_feed_links(current_user):
        return None
    links = []
    for scope, target_id, label in (
        (FeedScope.DESK, desk.id, desk.name),
        (FeedScope.MUNICIPALITY, desk.municipality_id, desk.municipality.name),
    ):
        token = feeds.link_token(feeds.active_token(scope, target_id))
        links.append(dict(scope=scope, target_id=target_id, label=label, token=token))
    return links


# --- Printable door timetable -----------------------------------------------------------

@bp.get("/orari/<int:desk_id>/stampa")
@requires("desks.view")
def timetable_print(desk_id: int):
    """A week's timetable for the desk's door: hours per day, holidays and closures, contacts; no names."""
    desk = get_desk_or_404(desk_id, current_user)
    monday = calendars.monday_of(_anchor())
    engine_input = desk_services.desk_calendar(desk, monday, monday + timedelta(days=6))
    view = calendars.build_view(engine_input, "week", monday)
    schedule = next((cell.summary.schedule for cell in view.days if cell.summary.schedule), None)
    return render_template("desks/timetable_print.html", desk=desk, view=view, schedule=schedule,
                           services_catalogue=DESK_SERVICES)


# --- Template filters used by the calendar templates -----------------------------------

@bp.app_template_global("viewer_manages_feeds")
def viewer_manages_feeds() -> bool:
    """True when the signed-in person may create, renew and revoke feed links."""
    return can_manage_feeds(current_user)


@bp.app_template_filter("local_day")
def local_day(moment) -> date:
    """The Europe/Rome date of an aware instant."""
    return local_date(moment)


@bp.app_template_filter("relative_day")
def relative_day(day: date) -> str:
    """"oggi", "domani" or "lunedì 30/11/2026"."""
    today = calendars.today_local()
    if day == today:
        return _("oggi")
    if day == today + timedelta(days=1):
        return _("domani")
    return f"{weekday_name(day.weekday())} {format_date(day)}"


@bp.app_template_filter("month_title")
def month_title(day: date) -> str:
    """"novembre 2026" in the interface language."""
    return babel_format_date(day, "LLLL y")
