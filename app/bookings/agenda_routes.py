"""Calendar routes: the agenda per role, the desk's printable day sheet, occupancy without names, tutor feeds."""

from __future__ import annotations

from datetime import date, timedelta

from flask import abort, current_app, render_template, request
from flask_login import current_user

from app.bookings import agenda, bp, messages, waiting
from app.formatting import ROME
from app.htmx import is_htmx as _is_htmx
from app.models import STATUS_LABELS
from app.policy import agenda_is_personal, can_have_tutor_feed, has_permission, public, requires


def _agenda_context(filters: agenda.AgendaFilters, **extra) -> dict:
    rows = agenda.agenda_rows(current_user, filters)
    manages_waiting = has_permission(current_user, "waiting.manage")
    context = dict(
        filters=filters, choices=agenda.filter_choices(current_user), days=agenda.by_day(rows, filters.first,
                                                                                         filters.last),
        visible=agenda.visible_people(current_user, rows), statuses=STATUS_LABELS,
        detail_url=agenda.id_url("bookings.detail", "appointment_id"),
        note_url=agenda.id_url("notes.editor", "appointment_id"),
        personal=agenda_is_personal(current_user), sheet_desk=agenda.sheet_desk(current_user,
                                                                                              filters.desk_id),
        freed=waiting.open_entries(current_user)[:5] if manages_waiting else [],
        freed_count=waiting.freed_count(current_user) if manages_waiting else 0,
        recall_count=len(waiting.open_tasks(current_user)) if manages_waiting else 0,
        feed_row=messages.active_tutor_feed(current_user) if can_have_tutor_feed(current_user) else None,
        can_feed=can_have_tutor_feed(current_user), total=len(rows), manages_waiting=manages_waiting,
        labels=agenda.row_labels(),
    )
    context.update(extra)
    return context


@bp.get("/agenda")
@requires("agenda.view")
def agenda_view():
    """The agenda: a desk's day or week (operator), today and the week ahead (tutor), filters for the network."""
    filters = agenda.parse_filters(request.args, current_user)
    template = "bookings/_agenda.html" if _is_htmx() else "bookings/agenda.html"
    return render_template(template, **_agenda_context(filters))


@bp.get("/agenda/foglio")
@requires("agenda.view")
def agenda_sheet():
    """The day's sheet of one desk, to print."""
    desk = agenda.sheet_desk(current_user, agenda._int(request.args.get("sportello")))
    if desk is None:
        abort(404)
    filters = agenda.parse_filters(request.args, current_user)
    filters = agenda.AgendaFilters(view="day", day=filters.day, desk_id=desk.id)
    rows = [a for a in agenda.appointments(current_user, filters) if a.is_active]
    return render_template("bookings/agenda_sheet.html", desk=desk, filters=filters, rows=rows,
                           visible=agenda.visible_people(current_user, rows))


@bp.post("/agenda/feed")
@requires("agenda.view")
def agenda_feed():
    """Issue (or renew) or revoke the tutor's private calendar feed; a new link is shown once."""
    if not can_have_tutor_feed(current_user):
        abort(403)
    filters = agenda.parse_filters({}, current_user)
    if request.form.get("azione") == "revoca":
        messages.revoke_tutor_feed(current_user)
        return render_template("bookings/agenda.html", **_agenda_context(filters, feed_message="revoked"))
    token = messages.issue_tutor_feed(current_user)
    return render_template("bookings/agenda.html", **_agenda_context(
        filters, feed_message="issued", new_feed_url=messages._path("bookings.tutor_feed", token=token)))


@bp.get("/agenda/feed/<token>.ics")
@public
def tutor_feed(token: str):
    """A tutor's private calendar feed (initials and code only); 404 when unknown or revoked."""
    row = messages.find_tutor_feed(token)
    if row is None:
        abort(404)
    response = current_app.response_class(messages.tutor_feed(row.tutor), mimetype="text/calendar")
    response.headers["Content-Type"] = "text/calendar; charset=utf-8"
    response.headers["Content-Disposition"] = 'inline; filename="agenda.ics"'
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


@bp.get("/occupazione")
@requires("occupancy.view")
def occupancy():
    """How full each desk is, per day and slot — counts only, never names or codes."""
    try:
        day = date.fromisoformat(request.args.get("data", ""))
    except ValueError:
        day = agenda.today_local()
    first = day - timedelta(days=day.weekday())
    last = first + timedelta(days=6)
    town_id = agenda._int(request.args.get("comune"))
    rows = agenda.occupancy(current_user, first, last, town_id)
    template = "bookings/_agenda_occupancy.html" if _is_htmx() else "bookings/agenda_occupancy.html"
    return render_template(template, rows=rows, first=first, last=last, town_id=town_id,
                           towns=agenda.occupancy_towns(current_user), prev_day=first - timedelta(days=7),
                           next_day=first + timedelta(days=7), rome=ROME)
