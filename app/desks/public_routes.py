"""The public timetable at /sportelli: every town's desks for young people and families, no sign-in, no names."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import render_template

from app.desks import bp, calendars
from app.desks import services as desk_services
from app.extensions import db
from app.models import DESK_SERVICES, Desk, Organisation
from app.models.base import utcnow
from app.policy import public


@bp.get("/sportelli")
@public
def public_timetable():
    """Where and when the desks are open: this week's hours, upcoming closures, open now (schema.org markup)."""
    desks = list(db.session.scalars(
        sa.select(Desk).join(Desk.municipality).where(Desk.active.is_(True)).order_by(Organisation.name, Desk.name)
    ))
    now = utcnow()
    today = calendars.today_local(now)
    monday = calendars.monday_of(today)
    last = today + timedelta(days=calendars.PUBLIC_CLOSURE_DAYS + 1)  # also covers this week and "next opening"
    engine_input = desk_services.desk_calendars([d.id for d in desks], min(monday, today - timedelta(days=1)), last)
    towns: dict[int, dict] = {}
    for desk in desks:
        entry = towns.setdefault(desk.municipality_id, {"town": desk.municipality, "desks": []})
        entry["desks"].append(calendars.public_desk(desk, engine_input[desk.id], now))
    return render_template("desks/public_timetable.html", towns=list(towns.values()), today=today, monday=monday,
                           services_catalogue=DESK_SERVICES, now=now)
