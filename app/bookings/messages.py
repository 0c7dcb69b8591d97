"""Messages to the young person: e-mail with an iCalendar invitation, private links, reminders, tutor feeds.

Everything here only *queues* through `app.mail.queue_mail` inside the caller's
transaction: a mail server that is down delays the e-mail, never the booking.

Calendar identity: every message about one appointment (and its reschedules) carries
the same UID (`Appointment.uid`) and the appointment's SEQUENCE, which grows with each
move and with the cancellation, so the young person's calendar updates the event in
place (RFC 5546: METHOD:REQUEST to add or update, METHOD:CANCEL to remove).

No sensitive text leaves the system: the message names the desk, its address, the time
and the tutor's first name — never the service (it may say "gender violence").

Private links: a random token, only its sha256 stored, valid until the appointment ends.
Each message gets its own link row, so a reminder can carry a link too.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.utils import parseaddr

import sqlalchemy as sa
from flask import current_app
from icalendar import Calendar, Event, Timezone, vCalAddress

from app import audit
from app.database import serialised_write
from app.domain.errors import Conflict, NotFound
from app.extensions import db
from app.formatting import ROME
from app.mail import queue_mail
from app.models import (
    Appointment,
    AppointmentEvent,
    AppointmentLink,
    OutboxMessage,
    Status,
    TutorFeedToken,
    User,
)
from app.models.base import utcnow

PRODID = "-//Hub dei Talenti//Appuntamenti//IT"
KINDS = ("booked", "moved", "cancelled", "reminder")
SUBJECTS = {
    "booked": "Appuntamento fissato",
    "moved": "Appuntamento spostato",
    "cancelled": "Appuntamento annullato",
    "reminder": "Promemoria: appuntamento di domani",
}
WEEKDAYS_IT = ("lunedì", "martedì", "mercoledì", "giovedì", "venerdì", "sabato", "domenica")
FEED_PAST_DAYS = 30
FEED_FUTURE_DAYS = 120


# --- Tokens ------------------------------------------------------------------------

def digest(token: str) -> str:
    """The sha256 stored for a secret token."""
    return hashlib.sha256(token.encode()).hexdigest()


def _path(endpoint: str, **values) -> str:
    """A URL on the public address, also outside a request (cron)."""
    adapter = current_app.url_map.bind("localhost", url_scheme="https")
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + adapter.build(endpoint, values)


def issue_link(appointment: Appointment) -> str:
    """A new private confirm/cancel link for this appointment (the token is returned once, never stored)."""
    token = secrets.token_urlsafe(32)
    db.session.add(AppointmentLink(appointment_id=appointment.id, token_hash=digest(token),
                                   expires_at=appointment.ends_at))
    return token


def link_url(token: str) -> str:
    """The absolute URL of a private link."""
    return _path("bookings.link", token=token)


# --- Recipients and text -----------------------------------------------------------

def _email_in(text: str) -> str:
    """The e-mail address in a free-text contact, or ''."""
    for part in (text or "").replace(";", ",").replace(" ", ",").split(","):
        address = parseaddr(part.strip())[1]
        if "@" in address and "." in address.split("@")[-1]:
            return address
    return ""


def recipient_for(appointment: Appointment, today: date | None = None) -> str:
    """The young person's e-mail, or the guardian's for a minor (below 18); '' when there is none."""
    person = appointment.young_person
    today = today or utcnow().astimezone(ROME).date()
    if person.age(today) < 18:
        return _email_in(person.guardian_contact)
    return _email_in(person.email)


def tutor_first_name(tutor: User) -> str:
    """Only the first name of the tutor goes into messages."""
    return (tutor.full_name or "").split(" ")[0]


def _when(appointment: Appointment) -> str:
    start, end = appointment.starts_at.astimezone(ROME), appointment.ends_at.astimezone(ROME)
    return f"{WEEKDAYS_IT[start.weekday()]} {start:%d/%m/%Y} dalle {start:%H:%M} alle {end:%H:%M}"


def _where(appointment: Appointment) -> str:
    desk = appointment.desk
    return ", ".join(p for p in (desk.name, desk.address, desk.municipality.short_name) if p)


def _body(appointment: Appointment, kind: str, link: str | None, minor: bool) -> str:
    greeting = "Gentile famiglia," if minor else "Ciao,"
    lines = [greeting, ""]
    if kind == "booked":
        lines.append("ti confermiamo l'appuntamento all'Hub dei Talenti:")
    elif kind == "moved":
        lines.append("l'appuntamento all'Hub dei Talenti è stato spostato. Il nuovo orario è:")
    elif kind == "cancelled":
        lines.append("l'appuntamento all'Hub dei Talenti è stato annullato:")
    else:
        lines.append("ti ricordiamo l'appuntamento di domani all'Hub dei Talenti:")
    lines += ["", f"Quando: {_when(appointment)}", f"Dove: {_where(appointment)}",
              f"Con: {tutor_first_name(appointment.tutor)}", ""]
    if kind == "cancelled":
        lines.append("Se vuoi un nuovo appuntamento, contatta lo sportello.")
    else:
        lines.append("Il file allegato aggiorna il tuo calendario.")
        if link:
            lines += ["", "Per confermare o annullare l'appuntamento:", link,
                      "(link personale: non inoltrarlo; scade alla fine dell'appuntamento)"]
    if appointment.desk.phone:
        lines += ["", f"Per informazioni: {appointment.desk.phone}"]
    lines += ["", "Hub dei Talenti — Ufficio di Piano, Distretto Sociale Est Milano"]
    return "\n".join(lines)


# --- iCalendar ---------------------------------------------------------------------

def invitation(appointment: Appointment, method: str, now: datetime | None = None) -> bytes:
    """An iCalendar document (METHOD REQUEST or CANCEL) for this appointment: same UID, its SEQUENCE."""
    now = now or utcnow()
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    event = Event()
    event.add("uid", appointment.uid)
    event.add("sequence", appointment.sequence)
    event.add("dtstamp", now)
    event.add("dtstart", appointment.starts_at.astimezone(ROME))
    event.add("dtend", appointment.ends_at.astimezone(ROME))
    event.add("summary", f"Appuntamento Hub dei Talenti con {tutor_first_name(appointment.tutor)}")
    event.add("location", _where(appointment))
    event.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    sender = parseaddr(current_app.config["MAIL_DEFAULT_SENDER"])[1]
    organizer = vCalAddress(f"mailto:{sender}")
    organizer.params["cn"] = "Hub dei Talenti"
    event.add("organizer", organizer)
    recipient = recipient_for(appointment)
    if recipient:
        attendee = vCalAddress(f"mailto:{recipient}")
        attendee.params["role"] = "REQ-PARTICIPANT"
        event.add("attendee", attendee)
    calendar.add_component(event)
    year = appointment.starts_at.year
    calendar.add_missing_timezones(first_date=date(year - 1, 1, 1), last_date=date(year + 2, 1, 1))
    return calendar.to_ical()


def dedup_key(appointment: Appointment, kind: str) -> str:
    """One message per appointment, kind and SEQUENCE (reminders: once per appointment)."""
    return f"appt:{appointment.id}:{appointment.sequence}:{kind}"


def queue_for(appointment: Appointment, kind: str) -> OutboxMessage | None:
    """Queue the e-mail for a booking, move, cancellation or reminder in the current transaction.

    Returns None when the young person (or guardian) has no e-mail address, or the appointment is over.
    """
    if kind not in KINDS:
        raise ValueError(kind)
    db.session.flush()  # the appointment needs its id (link, dedup key)
    recipient = recipient_for(appointment)
    if not recipient or appointment.ends_at <= utcnow():  # nothing to tell about the past (admin records)
        return None
    minor = appointment.young_person.age(utcnow().astimezone(ROME).date()) < 18
    method = "CANCEL" if kind == "cancelled" else "REQUEST"
    link = None
    if kind != "cancelled" and appointment.is_active:
        link = link_url(issue_link(appointment))
    return queue_mail(
        recipient, f"Hub dei Talenti — {SUBJECTS[kind]}", _body(appointment, kind, link, minor),
        dedup_key=dedup_key(appointment, kind),
        attachment=("invito.ics" if method == "REQUEST" else "annullamento.ics",
                    f"text/calendar; method={method}; charset=utf-8", invitation(appointment, method).decode()),
    )


# --- Reminders -----------------------------------------------------------------------

def due_for_reminder(now: datetime) -> list[int]:
    """Ids of active, not yet attended appointments on tomorrow's local date."""
    tomorrow = now.astimezone(ROME).date() + timedelta(days=1)
    start = datetime.combine(tomorrow, datetime.min.time(), ROME)
    end = datetime.combine(tomorrow + timedelta(days=1), datetime.min.time(), ROME)
    query = sa.select(Appointment.id).where(Appointment.status.in_((Status.BOOKED, Status.CONFIRMED)),
                                            Appointment.starts_at >= start, Appointment.starts_at < end)
    return list(db.session.scalars(query.order_by(Appointment.starts_at)))


def send_reminders(now: datetime | None = None) -> int:
    """Queue tomorrow's reminders; the outbox dedup_key makes repeated or concurrent runs queue each once.

    Each reminder is its own serialised write (SQLite: BEGIN IMMEDIATE, so the check and
    the insert cannot interleave with another run); on PostgreSQL a concurrent run that
    inserts the same key first makes ours fail on the unique dedup_key, which is skipped.
    """
    from sqlalchemy.exc import IntegrityError

    now = now or utcnow()
    queued = 0
    for appointment_id in due_for_reminder(now):
        added = False
        try:
            with serialised_write():
                appointment = db.session.get(Appointment, appointment_id, populate_existing=True)
                key = dedup_key(appointment, "reminder")
                exists = db.session.scalar(sa.select(OutboxMessage.id).where(OutboxMessage.dedup_key == key))
                if appointment.status in (Status.BOOKED, Status.CONFIRMED) and exists is None:
                    added = queue_for(appointment, "reminder") is not None
                    db.session.flush()
        except IntegrityError:  # another node queued it meanwhile
            db.session.rollback()
            added = False
        queued += added
    return queued


# --- Private links -------------------------------------------------------------------

@dataclass
class LinkView:
    """What a private link page shows."""

    link: AppointmentLink
    appointment: Appointment
    expired: bool
    current: Appointment | None  # when moved: the newest appointment of the same event

    @property
    def can_act(self) -> bool:
        return not self.expired and self.appointment.status in (Status.BOOKED, Status.CONFIRMED)


def find_link(token: str, now: datetime | None = None) -> LinkView:
    """Resolve a token; NotFound when unknown (a wrong token looks exactly like a missing one)."""
    now = now or utcnow()
    link = db.session.scalar(sa.select(AppointmentLink).where(AppointmentLink.token_hash == digest(token or "")))
    if link is None:
        raise NotFound("Link non valido.")
    appointment = db.session.get(Appointment, link.appointment_id)
    current = appointment
    while current.rescheduled_to is not None:
        current = current.rescheduled_to
    return LinkView(link=link, appointment=appointment, expired=now >= link.expires_at,
                    current=current if current.id != appointment.id else None)


def _locked_link(token: str) -> tuple[AppointmentLink, Appointment]:
    view = find_link(token)
    if not view.can_act:
        raise Conflict("Questo link non permette più di modificare l'appuntamento.")
    appointment = db.session.get(Appointment, view.appointment.id, populate_existing=True)
    if appointment.status not in (Status.BOOKED, Status.CONFIRMED):
        raise Conflict("Questo link non permette più di modificare l'appuntamento.")
    return view.link, appointment


def confirm_by_link(token: str) -> Appointment:
    """The young person confirms through their private link (booked → confirmed; confirmed stays)."""
    with serialised_write():
        link, appointment = _locked_link(token)
        if appointment.status == Status.BOOKED:
            appointment.status = Status.CONFIRMED
            db.session.add(AppointmentEvent(appointment_id=appointment.id, actor_id=None, kind="confirmed",
                                            from_status=Status.BOOKED, to_status=Status.CONFIRMED,
                                            detail="link personale"))
            audit.record("booking.changed", object_type="booking", object_id=appointment.id,
                         details={"change": "confirmed", "by": "young_person_link", "desk_id": appointment.desk_id})
        link.used_at = utcnow()
    return appointment


def cancel_by_link(token: str, reason: str = "") -> Appointment:
    """The young person cancels through their private link: SEQUENCE grows, a CANCEL is queued, waiting list told."""
    from app.bookings import waiting

    with serialised_write():
        link, appointment = _locked_link(token)
        before = appointment.status
        appointment.status = Status.CANCELLED
        appointment.cancel_reason = (reason or "").strip()[:300] or "Annullato dalla persona con il link personale"
        appointment.cancelled_by_kind = "young_person"
        appointment.cancelled_by_id = None
        appointment.cancelled_at = utcnow()
        appointment.sequence += 1
        link.used_at = utcnow()
        db.session.add(AppointmentEvent(appointment_id=appointment.id, actor_id=None, kind="cancelled",
                                        from_status=before, to_status=Status.CANCELLED,
                                        detail="young_person: link personale"))
        audit.record("booking.changed", object_type="booking", object_id=appointment.id,
                     details={"change": "cancelled", "by": "young_person_link", "from": before,
                              "desk_id": appointment.desk_id})
        queue_for(appointment, "cancelled")
        waiting.on_cancelled(appointment)
    return appointment


# --- Tutor feeds -------------------------------------------------------------------------

def issue_tutor_feed(tutor: User) -> str:
    """Revoke the tutor's current feed and issue a new one; the token is shown once."""
    revoke_tutor_feed(tutor)
    token = secrets.token_urlsafe(32)
    db.session.add(TutorFeedToken(tutor_id=tutor.id, token_hash=digest(token)))
    db.session.commit()
    return token


def revoke_tutor_feed(tutor: User) -> int:
    """Revoke every active feed of the tutor; returns how many."""
    rows = list(db.session.scalars(sa.select(TutorFeedToken).where(TutorFeedToken.tutor_id == tutor.id,
                                                                    TutorFeedToken.revoked_at.is_(None))))
    for row in rows:
        row.revoked_at = utcnow()
    db.session.commit()
    return len(rows)


def active_tutor_feed(tutor: User) -> TutorFeedToken | None:
    """The tutor's active feed row, if any."""
    return db.session.scalar(sa.select(TutorFeedToken).where(TutorFeedToken.tutor_id == tutor.id,
                                                             TutorFeedToken.revoked_at.is_(None)))


def find_tutor_feed(token: str) -> TutorFeedToken | None:
    """The active feed row of a token (None when unknown or revoked)."""
    row = db.session.scalar(sa.select(TutorFeedToken).where(TutorFeedToken.token_hash == digest(token or "")))
    if row is None or row.revoked_at is not None or not row.tutor.active:
        return None
    return row


def initials(first_name: str, last_name: str) -> str:
    """"Giulia Bianchi" → "G.B."."""
    return "".join(f"{part[:1].upper()}." for part in (first_name, last_name) if part)


def tutor_feed(tutor: User, now: datetime | None = None) -> bytes:
    """The tutor's appointments as iCalendar: initials and code only, no service, no contacts."""
    now = now or utcnow()
    query = sa.select(Appointment).where(
        Appointment.tutor_id == tutor.id, Appointment.status.in_(Status.ACTIVE),
        Appointment.starts_at >= now - timedelta(days=FEED_PAST_DAYS),
        Appointment.starts_at < now + timedelta(days=FEED_FUTURE_DAYS)).order_by(Appointment.starts_at)
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", "Hub dei Talenti — i miei appuntamenti")
    calendar.add("x-wr-timezone", "Europe/Rome")
    for appointment in db.session.scalars(query):
        person = appointment.young_person
        event = Event()
        event.add("uid", appointment.uid)
        event.add("sequence", appointment.sequence)
        event.add("dtstamp", now)
        event.add("dtstart", appointment.starts_at.astimezone(ROME))
        event.add("dtend", appointment.ends_at.astimezone(ROME))
        event.add("summary", f"{initials(person.first_name, person.last_name)} {person.code}")
        event.add("location", appointment.desk.name)
        calendar.add_component(event)
    calendar.add_missing_timezones(first_date=date(now.year - 1, 1, 1), last_date=date(now.year + 2, 1, 1))
    if not calendar.timezones:
        calendar.add_component(Timezone.from_tzid("Europe/Rome", first_date=date(now.year - 1, 1, 1),
                                                  last_date=date(now.year + 2, 1, 1)))
    return calendar.to_ical()
