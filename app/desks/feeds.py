"""iCalendar feeds of desk openings and closures, behind a secret token per desk or per town.

Tokens: the URL carries the token, the database keeps only its sha256 (`feed_tokens`).
The token itself is an HMAC of the row (id, creation second) under the app's
SECRET_KEY, so staff can be shown the link again on the desk page while a copy of
the database alone cannot rebuild any link. Renewing creates a new row and revokes
the old one; a revoked or unknown token answers 404. Rotating SECRET_KEY changes the
links shown: the old ones keep working until revoked (lookups go by hash).

Events are written in local time with TZID=Europe/Rome and a matching VTIMEZONE, so
calendar apps show the right hours on both sides of the daylight-saving change.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from flask import current_app
from icalendar import Calendar, Event

from app.domain.availability import ROME, DeskCalendar, open_intervals
from app.extensions import db
from app.models import FeedScope, FeedToken
from app.models.base import utcnow

PAST_DAYS = 30
FUTURE_DAYS = 366  # a year ahead: summer hours and closures are planned months in advance
PRODID = "-//Hub dei Talenti//Orari degli sportelli//IT"
UID_DOMAIN = "hub-dei-talenti"


# --- Tokens ----------------------------------------------------------------------------

def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_for(row: FeedToken) -> str:
    """The secret that goes in the feed URL of this row (derived, never stored)."""
    key = current_app.config["SECRET_KEY"]
    key = key.encode() if isinstance(key, str) else key
    message = f"feed-token:{row.id}:{int(row.created_at.timestamp())}".encode()
    mac = hmac.new(key, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def link_token(row: FeedToken | None) -> str | None:
    """The token to show for an active row, or None if SECRET_KEY changed since it was issued."""
    if row is None or row.revoked_at is not None:
        return None
    token = token_for(row)
    return token if hmac.compare_digest(_digest(token), row.token_hash) else None


def _target_filter(scope: str, target_id: int):
    column = FeedToken.desk_id if scope == FeedScope.DESK else FeedToken.municipality_id
    return sa.and_(FeedToken.scope == scope, column == target_id)


def active_token(scope: str, target_id: int) -> FeedToken | None:
    """The feed token in use for a desk or a town, if any."""
    return db.session.scalar(
        sa.select(FeedToken).where(_target_filter(scope, target_id), FeedToken.revoked_at.is_(None))
        .order_by(FeedToken.id.desc())
    )


def active_tokens() -> dict[tuple[str, int], FeedToken]:
    """Every token in use, by (scope, desk or town id)."""
    rows = db.session.scalars(sa.select(FeedToken).where(FeedToken.revoked_at.is_(None)).order_by(FeedToken.id))
    return {(row.scope, row.desk_id or row.municipality_id): row for row in rows}


def revoke_feed(scope: str, target_id: int) -> int:
    """Revoke the tokens in use for a desk or a town; returns how many were revoked (caller commits)."""
    rows = list(db.session.scalars(
        sa.select(FeedToken).where(_target_filter(scope, target_id), FeedToken.revoked_at.is_(None))
    ))
    now = utcnow()
    for row in rows:
        row.revoked_at = now
    return len(rows)


def renew_feed(actor, scope: str, target_id: int) -> FeedToken:
    """Revoke the current token of a desk or a town and issue a new one (caller commits)."""
    if scope not in (FeedScope.DESK, FeedScope.MUNICIPALITY):
        raise ValueError(f"unknown feed scope {scope!r}")
    revoke_feed(scope, target_id)
    row = FeedToken(
        scope=scope,
        desk_id=target_id if scope == FeedScope.DESK else None,
        municipality_id=target_id if scope == FeedScope.MUNICIPALITY else None,
        token_hash=_digest(secrets.token_hex(32)),  # placeholder until the id is known
        created_by_id=getattr(actor, "id", None),
        created_at=utcnow().replace(microsecond=0),
    )
    db.session.add(row)
    db.session.flush()
    row.token_hash = _digest(token_for(row))
    return row


def find_feed(token: str) -> FeedToken | None:
    """The active row a URL token opens, or None (unknown, malformed or revoked)."""
    if not token or len(token) > 128:
        return None
    row = db.session.scalar(sa.select(FeedToken).where(FeedToken.token_hash == _digest(token)))
    if row is None or row.revoked_at is not None:
        return None
    return row


# --- Calendar building ---------------------------------------------------------------------

def feed_window(now: datetime) -> tuple[date, date]:
    """The local dates a feed covers: the past 30 days and the next year."""
    today = now.astimezone(ROME).date()
    return today - timedelta(days=PAST_DAYS), today + timedelta(days=FUTURE_DAYS)


def _stamp(moment: datetime) -> str:
    return moment.astimezone(ROME).strftime("%Y%m%dT%H%M%S")


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=ROME)


def _whole_days(start: datetime, end: datetime) -> tuple[date, date] | None:
    """(first day, day after the last) when a span runs from a local midnight to a local midnight."""
    local_start, local_end = start.astimezone(ROME), end.astimezone(ROME)
    if local_start.time() == time(0) and local_end.time() == time(0):
        return local_start.date(), local_end.date()
    return None


def _event(uid: str, summary: str, start, end, now: datetime, location: str = "", description: str = "") -> Event:
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", now)
    event.add("summary", summary)
    event.add("dtstart", start)
    event.add("dtend", end)
    if location:
        event.add("location", location)
    if description:
        event.add("description", description)
    return event


def desk_events(desk, calendar: DeskCalendar, start: date, end: date, now: datetime,
                prefix: bool = False) -> list[Event]:
    """Openings, closures (with reason) and holidays of one desk between two local dates."""
    label = f"{desk.name}: " if prefix else ""
    location = ", ".join(part for part in (desk.address, desk.municipality.short_name) if part)
    events = []
    for interval in open_intervals(calendar, start, end):
        local_start, local_end = interval.start.astimezone(ROME), interval.end.astimezone(ROME)
        events.append(_event(f"open-{desk.id}-{_stamp(interval.start)}@{UID_DOMAIN}", f"{label}Sportello aperto",
                             local_start, local_end, now, location))
    low, high = _local_midnight(start), _local_midnight(end + timedelta(days=1))
    for closure in calendar.closures:
        if closure.end <= low or closure.start >= high:
            continue
        uid = f"closed-{desk.id}-{_stamp(closure.start)}-{_stamp(closure.end)}@{UID_DOMAIN}"
        summary = f"{label}Sportello chiuso" + (f" ({closure.reason})" if closure.reason else "")
        days = _whole_days(closure.start, closure.end)
        if days:
            events.append(_event(uid, summary, days[0], days[1], now, location, closure.reason))
        else:
            events.append(_event(uid, summary, closure.start.astimezone(ROME), closure.end.astimezone(ROME),
                                 now, location, closure.reason))
    for day, name in sorted(calendar.holidays.items()):
        if start <= day <= end:
            events.append(_event(f"holiday-{desk.id}-{day:%Y%m%d}@{UID_DOMAIN}",
                                 f"{label}Chiuso per festività: {name}", day, day + timedelta(days=1), now, location))
    return events


def build_feed(name: str, desks: Iterable[tuple[object, DeskCalendar]], start: date, end: date,
               now: datetime | None = None) -> bytes:
    """An iCalendar document with the openings and closures of these desks, VTIMEZONE Europe/Rome included."""
    now = now or utcnow()
    desks = list(desks)
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", "Europe/Rome")
    for desk, desk_calendar in desks:
        for event in desk_events(desk, desk_calendar, start, end, now, prefix=len(desks) > 1):
            calendar.add_component(event)
    calendar.add_missing_timezones(first_date=date(start.year - 1, 1, 1), last_date=date(end.year + 2, 1, 1))
    if not calendar.timezones:  # no timed event: still say which zone the feed lives in
        from icalendar import Timezone

        calendar.add_component(Timezone.from_tzid("Europe/Rome", first_date=date(start.year - 1, 1, 1),
                                                  last_date=date(end.year + 2, 1, 1)))
    return calendar.to_ical()
