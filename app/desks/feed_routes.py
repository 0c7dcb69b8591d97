"""Calendar feeds: the secret-token .ics endpoint and the admin page that issues, renews and revokes tokens."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.desks import bp, feeds
from app.desks import services as desk_services
from app.domain import numbers
from app.extensions import db, limiter
from app.models import Desk, FeedScope, Organisation, OrganisationKind
from app.models.base import utcnow
from app.policy import is_safe_next, public, requires


@bp.get("/feed/<token>.ics")
@public
@limiter.limit("120/minute")
def feed(token: str):
    """The iCalendar feed a secret token opens (a desk or a whole town); 404 when unknown or revoked."""
    row = feeds.find_feed(token)
    if row is None:
        abort(404)
    if row.scope == FeedScope.DESK:
        desks = [row.desk] if row.desk is not None else []
        name = row.desk.name if row.desk is not None else ""
    else:
        desks = list(db.session.scalars(
            sa.select(Desk).where(Desk.municipality_id == row.municipality_id, Desk.active.is_(True))
            .order_by(Desk.name)
        ))
        name = _("Sportelli di %(town)s", town=row.municipality.short_name)
    now = utcnow()
    start, end = feeds.feed_window(now)
    engine_input = desk_services.desk_calendars([d.id for d in desks], start, end)
    body = feeds.build_feed(f"{name} · Hub dei Talenti", [(d, engine_input[d.id]) for d in desks], start, end, now)
    response = current_app.response_class(body, mimetype="text/calendar")
    response.headers["Content-Type"] = "text/calendar; charset=utf-8"
    response.headers["Content-Disposition"] = 'inline; filename="orari.ics"'
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


@bp.get("/orari/feed")
@requires("feeds.manage")
def feeds_admin():
    """Every desk and town with its feed link, to issue, renew or revoke them."""
    desks = list(db.session.scalars(sa.select(Desk).join(Desk.municipality).order_by(Organisation.name, Desk.name)))
    towns = list(db.session.scalars(
        sa.select(Organisation).where(Organisation.kind == OrganisationKind.MUNICIPALITY).order_by(Organisation.name)
    ))
    active = feeds.active_tokens()
    rows = []
    for scope, items in ((FeedScope.MUNICIPALITY, towns), (FeedScope.DESK, desks)):
        for item in items:
            token_row = active.get((scope, item.id))
            rows.append(dict(scope=scope, target=item, row=token_row, token=feeds.link_token(token_row)))
    return render_template("desks/calendar_feeds.html", rows=rows)


def _target_from_form() -> tuple[str, int]:
    """(scope, id) named by the form; 404 when the desk or town does not exist."""
    scope = request.form.get("scope", "")
    target_id = numbers.int_or_none(request.form.get("target_id"))
    if scope == FeedScope.DESK:
        exists = target_id is not None and db.session.get(Desk, target_id) is not None
    elif scope == FeedScope.MUNICIPALITY:
        town = db.session.get(Organisation, target_id) if target_id is not None else None
        exists = town is not None and town.kind == OrganisationKind.MUNICIPALITY
    else:
        exists = False
    if not exists:
        abort(404)
    return scope, target_id


def _back():
    """303 to the page the form came from (same site only), else the feeds page."""
    target = request.form.get("next", "")
    return redirect(target if is_safe_next(target) else url_for("desks.feeds_admin"), code=303)


@bp.post("/orari/feed/rinnova")
@requires("feeds.manage")
def feed_renew():
    """Issue a new feed link for a desk or a town; the previous link stops working."""
    scope, target_id = _target_from_form()
    feeds.renew_feed(current_user, scope, target_id)
    db.session.commit()
    flash(_("Nuovo link del calendario creato: il link precedente non funziona più."), "success")
    return _back()


@bp.post("/orari/feed/revoca")
@requires("feeds.manage")
def feed_revoke():
    """Revoke the feed link of a desk or a town."""
    scope, target_id = _target_from_form()
    count = feeds.revoke_feed(scope, target_id)
    db.session.commit()
    flash(_("Link del calendario revocato.") if count else _("Non c'era un link attivo."), "success")
    return _back()
