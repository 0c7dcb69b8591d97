"""Helpdesk use cases: public request, operator intake, queue, triage, assignment, booking, notifications."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import aliased

from app import audit, mail, policy, versions
from app.domain import numbers
from app.domain.errors import Conflict, Forbidden, Invalid, NotFound
from app.domain.holidays import holidays_between
from app.extensions import db
from app.formatting import format_date, format_time
from app.helpdesk import rules
from app.models import (
    DESK_SERVICES,
    TICKET_CHANNELS,
    TICKET_OUTCOMES,
    TICKET_STATUSES,
    AuditEvent,
    Desk,
    Organisation,
    OrganisationKind,
    Role,
    Ticket,
    TicketComment,
    TicketStatus,
    User,
    YoungPerson,
)
from app.models.base import utcnow
from app.models.ticket import OTHER_TOPIC, format_reference, ticket_appointments
from app.models.young_person import DIGITAL_CONSENT_AGE
from app.people import services as people_services
from app.text import contains_folded

ROME = people_services.ROME
PRIVACY_TEXT_VERSION = people_services.PRIVACY_TEXT_VERSION
MIN_AGE, MAX_AGE = 10, 35
MAX_MESSAGE = 2000
QUEUE_LIMIT = 200
PHONE_RE = re.compile(r"^\+?[0-9 ().-]{6,20}$")
EMAIL_RE = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
DEFAULT_SERVICE_LEVEL_DAYS = 2

# Labels reuse msgids already in the English catalogue (app/translations is another helper's).
for _action, _label in (("helpdesk.ticket_created", _l("Richiesta inviata")),
                        ("helpdesk.status_changed", _l("Stato aggiornato.")),
                        ("helpdesk.assigned", _l("Assegnazione")),
                        ("helpdesk.priority_changed", _l("Priorità aggiornata.")),
                        ("helpdesk.booked", _l("Appuntamento prenotato."))):
    audit.register_action(_action, _label, "ticket", _l("Richiesta"))


def topics() -> dict[str, object]:
    """The topics offered: the desk services plus "something else"."""
    return {**DESK_SERVICES, OTHER_TOPIC: _("Altro")}


def service_level_days() -> int:
    """Working days within which a new request should be answered (HELPDESK_SERVICE_LEVEL_DAYS, default 2)."""
    return int(current_app.config.get("HELPDESK_SERVICE_LEVEL_DAYS", DEFAULT_SERVICE_LEVEL_DAYS))


# --- Intake -------------------------------------------------------------------------------

@dataclass
class RequestData:
    """What the public form (or the operator's intake form) sends, as text."""

    first_name: str = ""
    age: str = ""
    birth_year: str = ""
    town: str = ""  # a municipality id, or "altro"
    town_other: str = ""
    phone: str = ""
    email: str = ""
    topic: str = ""
    desk: str = ""
    preferred_from: str = ""
    preferred_times: str = ""
    message: str = ""
    guardian_name: str = ""
    guardian_contact: str = ""
    guardian_consent: bool = False
    privacy_consent: bool = False
    channel: str = "web"
    referrer: str = ""
    # Filled in by validate().
    parsed: dict = field(default_factory=dict)


TEXT_LIMITS = {"first_name": 80, "town_other": 80, "phone": 40, "email": 254, "preferred_times": 200,
               "message": MAX_MESSAGE, "guardian_name": 120, "guardian_contact": 160, "referrer": 160}


def _int(text: str) -> int | None:
    return numbers.int_or_none(text)


def _parse_date(text: str) -> date | None:
    text = text.strip()
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(text, fmt).date()  # noqa: DTZ007 - a calendar date, no time
        except ValueError:
            continue
    return None


def validate(data: RequestData, *, desks_allowed: sa.Select | None = None) -> dict[str, str]:
    """Every field's problem, in Italian (empty when valid); fills data.parsed with clean values."""
    errors: dict[str, str] = {}
    for name in ("first_name", "age", "birth_year", "town", "town_other", "phone", "email", "topic", "desk",
                 "preferred_from", "preferred_times", "message", "guardian_name", "guardian_contact", "channel",
                 "referrer"):
        setattr(data, name, rules.clean_text(getattr(data, name)))
    for name, limit in TEXT_LIMITS.items():
        value = getattr(data, name)
        if len(value) > limit:
            errors[name] = _("Testo troppo lungo: al massimo %(n)d caratteri (ora %(m)d).", n=limit, m=len(value))
        elif rules.has_markup(value):
            errors[name] = _("Il testo non può contenere codice HTML (come <script>): scrivi solo testo.")
    today = people_services.today_local()
    parsed: dict = {}
    if not data.first_name and "first_name" not in errors:
        errors["first_name"] = _("Scrivi il nome.")
    age = None
    if data.age:
        age = _int(data.age)
        if age is None or not (MIN_AGE <= age <= MAX_AGE):
            errors["age"] = _("Età non valida: il servizio è per ragazze e ragazzi dai %(a)d ai %(b)d anni.",
                              a=MIN_AGE, b=MAX_AGE)
            age = None
    elif data.birth_year:
        year = _int(data.birth_year)
        if year is None or len(data.birth_year) != 4 or not (today.year - MAX_AGE - 1 <= year <= today.year - MIN_AGE):
            errors["birth_year"] = _("Anno di nascita non valido: scrivi quattro cifre, per esempio %(y)d.",
                                     y=today.year - 16)
        else:
            age = today.year - year
    else:
        errors["age"] = _("Indica l'età o l'anno di nascita.")
    parsed["age"] = age
    if data.town == OTHER_TOPIC:
        if not data.town_other and "town_other" not in errors:
            errors["town_other"] = _("Scrivi il comune.")
        parsed["town_id"] = None
    else:
        town_id = _int(data.town)
        town = db.session.get(Organisation, town_id) if town_id else None
        if town is None or town.kind != OrganisationKind.MUNICIPALITY:
            errors["town"] = _("Scegli il comune.")
        parsed["town_id"] = town.id if town else None
    if not data.phone and not data.email:
        errors.setdefault("phone", _("Lascia almeno un recapito: telefono o e-mail."))
    if data.phone and "phone" not in errors and not PHONE_RE.match(data.phone):
        errors["phone"] = _("Numero di telefono non valido: solo cifre, spazi e +.")
    if data.email and "email" not in errors and not EMAIL_RE.match(data.email):
        errors["email"] = _("Indirizzo e-mail non valido.")
    if data.topic not in topics():
        errors["topic"] = _("Scegli l'argomento.")
    parsed["desk_id"] = None
    if data.desk:
        desk_id = _int(data.desk)
        query = sa.select(Desk).where(Desk.id == desk_id, Desk.active.is_(True))
        if desks_allowed is not None:
            query = query.where(Desk.id.in_(desks_allowed))
        desk = db.session.scalar(query) if desk_id else None
        if desk is None:
            errors["desk"] = _("Scegli uno sportello dall'elenco.")
        else:
            parsed["desk_id"] = desk.id
    parsed["preferred_from"] = None
    if data.preferred_from:
        when = _parse_date(data.preferred_from)
        if when is None:
            errors["preferred_from"] = _("Data non valida: usa il formato gg/mm/aaaa.")
        elif when < today or when > today + timedelta(days=183):
            errors["preferred_from"] = _("Scegli una data da oggi ai prossimi sei mesi.")
        else:
            parsed["preferred_from"] = when
    if age is not None and age < DIGITAL_CONSENT_AGE:
        if not data.guardian_name:
            errors.setdefault("guardian_name", _("Sotto i 14 anni serve il nome di un genitore o tutore."))
        if not data.guardian_contact:
            errors.setdefault("guardian_contact", _("Sotto i 14 anni serve il recapito di un genitore o tutore."))
        if not data.guardian_consent:
            errors["guardian_consent"] = _("Sotto i 14 anni serve il consenso di un genitore o tutore.")
    if not data.privacy_consent:
        errors["privacy_consent"] = _("Per inviare la richiesta serve il consenso al trattamento dei dati.")
    if data.channel not in TICKET_CHANNELS:
        errors["channel"] = _("Scegli come è arrivata la richiesta.")
    data.parsed = parsed
    return errors


def route_desk(town_id: int | None, topic: str) -> int | None:
    """The queue for a request without a preferred desk: a desk of the town offering the topic, else any of the town's."""
    if town_id is None:
        return None
    desks = db.session.scalars(sa.select(Desk).where(Desk.municipality_id == town_id, Desk.active.is_(True))
                               .order_by(Desk.id)).all()
    for desk in desks:
        if topic in desk.services:
            return desk.id
    return desks[0].id if desks else None


def _create(data: RequestData, *, actor=None) -> Ticket:
    parsed = data.parsed
    desk_id = parsed["desk_id"] or route_desk(parsed["town_id"], data.topic)
    urgent = rules.is_urgent(data.topic, data.message, data.preferred_times)
    ticket = Ticket(
        reference=f"TMP-{utcnow().timestamp()}-{id(data)}"[:20], channel=data.channel, status=TicketStatus.NEW,
        priority="urgent" if urgent else "normal", first_name=data.first_name, age=parsed["age"],
        town_id=parsed["town_id"], town_other=data.town_other if parsed["town_id"] is None else "",
        phone=data.phone, email=data.email, topic=data.topic, preferred_times=data.preferred_times,
        preferred_from=parsed["preferred_from"], message=data.message, referrer=data.referrer,
        guardian_name=data.guardian_name, guardian_contact=data.guardian_contact,
        guardian_consent=bool(data.guardian_consent), privacy_consent_at=utcnow(),
        privacy_text_version=PRIVACY_TEXT_VERSION, desk_id=desk_id, created_by_id=actor.id if actor else None,
    )
    db.session.add(ticket)
    db.session.flush()
    ticket.reference = format_reference(people_services.today_local().year, ticket.id)
    audit.record("helpdesk.ticket_created", actor=actor, object_type="ticket", object_id=ticket.id,
                 details={"channel": data.channel, "urgent": urgent})
    return ticket


def submit_request(data: RequestData) -> Ticket:
    """A request from the public form; acknowledged by e-mail (reference only) when an address is given."""
    data.channel = "web"
    errors = validate(data)
    if errors:
        name, message = next(iter(errors.items()))
        raise Invalid(message, field=name)
    ticket = _create(data)
    if ticket.email:
        mail.queue_mail(ticket.email, _("Abbiamo ricevuto la tua richiesta %(ref)s", ref=ticket.reference),
                        acknowledgement_text(ticket), dedup_key=f"helpdesk-ack:{ticket.reference}")
    db.session.commit()
    return ticket


def acknowledgement_text(ticket: Ticket) -> str:
    """The acknowledgement e-mail: the reference and what happens next, never the message itself."""
    return _(
        "Ciao %(name)s,\n\nabbiamo ricevuto la tua richiesta all'Hub dei Talenti.\n"
        "Numero di riferimento: %(ref)s\n\n"
        "Un operatore o un'operatrice dello sportello ti contatterà entro %(days)d giorni lavorativi "
        "con il recapito che ci hai lasciato.\n\n"
        "Se sei in pericolo o hai bisogno di aiuto subito chiama il 112; per la violenza di genere il 1522 "
        "(gratuito, attivo 24 ore su 24).\n\n"
        "Ufficio di Piano — Distretto Sociale Est Milano",
        name=ticket.first_name, ref=ticket.reference, days=service_level_days())


def intake_errors(actor, data: RequestData) -> dict[str, str]:
    """validate() plus the intake's own rules: a staff channel, the school for a referral, a desk they hold."""
    errors = validate(data, desks_allowed=policy.intake_desks(sa.select(Desk.id), actor))
    if data.channel == "web":
        errors.setdefault("channel", _("Scegli come è arrivata la richiesta."))
    if data.channel == "scuola" and not data.referrer:
        errors.setdefault("referrer", _("Scrivi la scuola che segnala."))
    return errors


def intake(actor, data: RequestData) -> Ticket:
    """A request taken by staff (phone, walk-in, e-mail, school referral) into a desk queue they hold."""
    if not policy.has_permission(actor, "helpdesk.intake"):
        raise Forbidden(_("Non puoi registrare richieste."))
    errors = intake_errors(actor, data)
    if errors:
        name, message = next(iter(errors.items()))
        raise Invalid(message, field=name)
    ticket = _create(data, actor=actor)
    db.session.commit()
    return ticket


# --- Queue ------------------------------------------------------------------------------------

STATUS_TABS = ("aperte", *TicketStatus.ALL, "tutte")


@dataclass
class QueueFilters:
    """The queue's filters, all optional."""

    tab: str = "aperte"
    desk_id: int | None = None
    town_id: int | None = None
    assignee: str = ""  # "", "me", "none" or a user id
    urgent: bool = False
    q: str = ""


def queue(actor, filters: QueueFilters, limit: int = QUEUE_LIMIT) -> list[Ticket]:
    """Tickets in the actor's scope matching the filters: urgent first, then the oldest."""
    query = policy.scoped_tickets(sa.select(Ticket), actor)
    if filters.tab == "aperte":
        query = query.where(Ticket.status.in_(TicketStatus.OPEN))
    elif filters.tab in TicketStatus.ALL:
        query = query.where(Ticket.status == filters.tab)
    if filters.desk_id:
        query = query.where(Ticket.desk_id == filters.desk_id)
    if filters.town_id:
        query = query.where(Ticket.town_id == filters.town_id)
    if filters.assignee == "me":
        query = query.where(Ticket.assignee_id == actor.id)
    elif filters.assignee == "none":
        query = query.where(Ticket.assignee_id.is_(None))
    elif (assignee_id := numbers.int_or_none(filters.assignee)) is not None:
        query = query.where(Ticket.assignee_id == assignee_id)
    if filters.urgent:
        query = query.where(Ticket.priority == "urgent")
    q = rules.clean_text(filters.q)[:100]
    if q:
        pattern = f"%{q}%"
        # The name without case or accents ("nicolo" finds "Nicolò"); number and contacts as typed.
        query = query.where(sa.or_(Ticket.reference.ilike(pattern), contains_folded(Ticket.first_name, q),
                                   Ticket.email.ilike(pattern), Ticket.phone.ilike(pattern)))
    urgent_first = sa.case((Ticket.priority == "urgent", 0), else_=1)
    query = query.order_by(urgent_first, Ticket.received_at, Ticket.id).limit(limit)
    return list(db.session.scalars(query))


def queue_desks(actor) -> list[Desk]:
    """Desks offered as a filter: those whose queue the actor sees (their own, or one of its tickets in scope)."""
    # One EXISTS per desk, answered from ix_tickets_desk_assignee (migration 0012), instead of collecting
    # the desk of every ticket in scope (100,000 tickets at scale 1: ~70 ms).
    desk = aliased(Desk)
    in_scope = policy.scoped_tickets(sa.select(Ticket.id), actor).where(Ticket.desk_id == desk.id).exists()
    query = sa.select(desk).where(sa.or_(desk.id.in_(policy.intake_desks(sa.select(Desk.id), actor)), in_scope))
    return list(db.session.scalars(query.order_by(desk.name)))


def assignable(actor) -> list[User]:
    """People the actor may assign tickets to."""
    return list(db.session.scalars(policy.assignable_staff(sa.select(User), actor).order_by(User.full_name)))


@dataclass
class Age:
    """How long a ticket has been waiting, and whether it is past the service level."""

    working_days: int
    overdue: bool


def ages(tickets: list[Ticket], today: date | None = None) -> dict[int, Age]:
    """Working days since arrival for each ticket (holidays, patron days and desk closures do not count)."""
    today = today or people_services.today_local()
    if not tickets:
        return {}
    level = service_level_days()
    first = min(t.received_at.astimezone(ROME).date() for t in tickets)
    from app.desks import services as desk_services

    desk_ids = {t.desk_id for t in tickets if t.desk_id}
    calendars = desk_services.desk_calendars(desk_ids, first, today) if desk_ids else {}
    national = set(holidays_between(first, today))
    closed: dict[int, set[date]] = {}
    for desk_id, calendar in calendars.items():
        days: set[date] = set()
        for closure in calendar.closures:
            day = max(closure.start.astimezone(ROME).date(), first)
            last = min((closure.end - timedelta(microseconds=1)).astimezone(ROME).date(), today)
            while day <= last:
                days.add(day)
                day += timedelta(days=1)
        closed[desk_id] = days
    # One counter per calendar (each desk's, or the national one for tickets not yet routed).
    counters = {desk_id: rules.WorkingDays(calendar.holidays, closed.get(desk_id, ()))
                for desk_id, calendar in calendars.items()}
    national_counter = rules.WorkingDays(national)
    result = {}
    for ticket in tickets:
        arrived = ticket.received_at.astimezone(ROME).date()
        counter = counters.get(ticket.desk_id, national_counter) if ticket.desk_id else national_counter
        days = counter.since(arrived, today)
        result[ticket.id] = Age(days, ticket.is_open and days > level)
    return result


# --- Triage -----------------------------------------------------------------------------------

def _last_change(ticket: Ticket) -> tuple[str, datetime | None]:
    """Who last changed the ticket, from its audit trail (the conflict message names them)."""
    event = db.session.execute(
        sa.select(AuditEvent.actor_id, AuditEvent.action, AuditEvent.at)
        .where(AuditEvent.object_type == "ticket", AuditEvent.object_id == str(ticket.id))
        .order_by(AuditEvent.id.desc()).limit(1)).first()
    if event is None or event.actor_id is None:
        return "", ticket.updated_at
    actor = db.session.get(User, event.actor_id)
    return (actor.full_name if actor else ""), event.at


def describe_change(ticket: Ticket) -> str:
    """What the ticket is now and who changed it when, for a conflict message: "RIC-… (ora: …; modificata da …)"."""
    now = [_("stato «%(s)s»", s=TICKET_STATUSES.get(ticket.status, ticket.status)),
           _("assegnata a %(name)s", name=ticket.assignee.full_name) if ticket.assignee else _("non assegnata"),
           _("urgente") if ticket.priority == "urgent" else _("priorità normale")]
    who, when = _last_change(ticket)
    if who and when:
        by = _("modificata da %(name)s il %(day)s alle %(time)s", name=who, day=format_date(when),
               time=format_time(when))
    elif when:
        by = _("modificata il %(day)s alle %(time)s", day=format_date(when), time=format_time(when))
    else:
        by = ""
    state = ", ".join(str(part) for part in now)
    if by:
        return _("%(ref)s (%(by)s; ora: %(state)s)", ref=ticket.reference, by=by, state=state)
    return _("%(ref)s (ora: %(state)s)", ref=ticket.reference, state=state)


def stale_ticket(ticket: Ticket) -> Conflict:
    """The 409 for a form built on an older version of one ticket: nothing was saved, here is what changed."""
    return Conflict(_("Nessuna modifica salvata: mentre la pagina era aperta la richiesta %(change)s. "
                      "Controlla i dati aggiornati qui sotto e, se serve ancora, riprova.",
                      change=describe_change(ticket)))


def _check_version(ticket: Ticket, version) -> None:
    """Compare the form's version with the row's; the UPDATE itself repeats the check (version_id_col)."""
    versions.check(ticket.version, version, lambda: stale_ticket(ticket))


def _commit_versioned(ticket: Ticket) -> None:
    """Commit; a concurrent write between our read and our UPDATE (0 rows matched) is the same 409."""
    versions.commit_or_stale(lambda: stale_ticket(db.session.get(Ticket, ticket.id, populate_existing=True)))


ALLOWED_MOVES: dict[str, tuple[str, ...]] = {
    TicketStatus.NEW: (TicketStatus.IN_PROGRESS, TicketStatus.WAITING, TicketStatus.CLOSED),
    TicketStatus.IN_PROGRESS: (TicketStatus.NEW, TicketStatus.WAITING, TicketStatus.CLOSED),
    TicketStatus.WAITING: (TicketStatus.IN_PROGRESS, TicketStatus.CLOSED),
    TicketStatus.BOOKED: (TicketStatus.IN_PROGRESS, TicketStatus.CLOSED),
    TicketStatus.CLOSED: (TicketStatus.IN_PROGRESS,),
}


def set_status(actor, ticket: Ticket, status: str, outcome: str = "", *, version) -> None:
    """Move a ticket along its lifecycle; closing needs an outcome ("booked" is set by booking only).

    `version` is the one the form was built on: missing or garbage → 422, older than the row → 409.
    """
    if not policy.can_work_ticket(actor, ticket):
        raise Forbidden(_("Non puoi modificare questa richiesta."))
    _check_version(ticket, version)
    if status not in ALLOWED_MOVES.get(ticket.status, ()):
        raise Invalid(_("Passaggio di stato non consentito."), field="status")
    if status == TicketStatus.CLOSED:
        if outcome not in TICKET_OUTCOMES:
            raise Invalid(_("Per chiudere la richiesta scegli l'esito."), field="outcome")
        ticket.outcome = outcome
        ticket.closed_at = utcnow()
    else:
        ticket.outcome = None
        ticket.closed_at = None
    audit.record("helpdesk.status_changed", actor=actor, object_type="ticket", object_id=ticket.id,
                 details={"from": ticket.status, "to": status, "outcome": ticket.outcome})
    ticket.status = status
    _commit_versioned(ticket)


def set_priority(actor, ticket: Ticket, urgent: bool, *, version) -> None:
    """Mark a ticket urgent (shown first) or normal, refusing a form built on an older version (409)."""
    if not policy.can_work_ticket(actor, ticket):
        raise Forbidden(_("Non puoi modificare questa richiesta."))
    _check_version(ticket, version)
    priority = "urgent" if urgent else "normal"
    if ticket.priority == priority:
        return
    audit.record("helpdesk.priority_changed", actor=actor, object_type="ticket", object_id=ticket.id,
                 details={"from": ticket.priority, "to": priority})
    ticket.priority = priority
    _commit_versioned(ticket)


def add_comment(actor, ticket: Ticket, body: str) -> TicketComment:
    """An internal comment (staff only)."""
    if not policy.can_work_ticket(actor, ticket):
        raise Forbidden(_("Non puoi commentare questa richiesta."))
    body = rules.clean_text(body)
    if not body:
        raise Invalid(_("Scrivi il commento."), field="body")
    if len(body) > MAX_MESSAGE:
        raise Invalid(_("Testo troppo lungo: al massimo %(n)d caratteri (ora %(m)d).", n=MAX_MESSAGE, m=len(body)),
                      field="body")
    comment = TicketComment(ticket=ticket, author_id=actor.id, body=body)
    db.session.add(comment)
    db.session.commit()
    return comment


def assign(actor, selected: dict[int, object], assignee_id: int | None) -> int:
    """Assign tickets in scope to an operator or tutor (None: unassign); returns how many changed.

    `selected` maps each ticket id to the version the queue showed. All or nothing: if any of them
    changed meanwhile, none is assigned and the 409 lists which ones changed and how.
    """
    if not policy.can_assign_ticket(actor):
        raise Forbidden(_("Non puoi assegnare richieste."))
    assignee = None
    if assignee_id is not None:
        assignee = db.session.scalar(policy.assignable_staff(sa.select(User), actor).where(User.id == assignee_id))
        if assignee is None:
            raise Invalid(_("Scegli una persona dall'elenco."), field="assignee")
    if not selected:
        raise Invalid(_("Seleziona almeno una richiesta."), field="ticket_ids")
    expected = {ticket_id: versions.submitted(raw) for ticket_id, raw in selected.items()}
    tickets = db.session.scalars(policy.scoped_tickets(sa.select(Ticket), actor)
                                 .where(Ticket.id.in_(expected)).order_by(Ticket.id)).all()
    if len(tickets) != len(expected):
        raise NotFound(_("Una o più richieste non sono tra quelle che puoi vedere."))
    stale = [ticket for ticket in tickets if ticket.version != expected[ticket.id]]
    if stale:
        raise _stale_assignment(stale)
    changed = 0
    for ticket in tickets:
        if ticket.assignee_id == (assignee.id if assignee else None):
            continue
        ticket.assignee_id = assignee.id if assignee else None
        ticket.assignee_seen = assignee is not None and assignee.id == actor.id
        audit.record("helpdesk.assigned", actor=actor, object_type="ticket", object_id=ticket.id,
                     details={"assignee_id": ticket.assignee_id})
        changed += 1

    def stale_now() -> Conflict:
        fresh = db.session.scalars(sa.select(Ticket).where(Ticket.id.in_(expected))
                                   .order_by(Ticket.id).execution_options(populate_existing=True)).all()
        return _stale_assignment([t for t in fresh if t.version != expected[t.id]] or fresh)

    # Each UPDATE is "WHERE id = ? AND version = ?": a ticket taken between our read and our write
    # fails the flush, and the whole batch (with its audit lines) is rolled back.
    versions.commit_or_stale(stale_now)
    return changed


def _stale_assignment(stale: list[Ticket]) -> Conflict:
    changes = "; ".join(describe_change(ticket) for ticket in stale)
    return Conflict(_("Nessuna richiesta è stata assegnata: mentre la coda era aperta sono cambiate %(n)d delle "
                      "richieste selezionate — %(changes)s. La selezione è rimasta: controlla e premi di nuovo "
                      "«Assegna».", n=len(stale), changes=changes))


def mark_seen(actor, ticket: Ticket) -> None:
    """The assignee opened the ticket: it no longer counts in their badge."""
    if ticket.assignee_id == actor.id and not ticket.assignee_seen:
        # A plain UPDATE: opening the ticket is not an edit, it must not make someone else's open form stale.
        db.session.execute(sa.update(Ticket).where(Ticket.id == ticket.id)
                           .values(assignee_seen=True, updated_at=Ticket.updated_at)
                           .execution_options(synchronize_session=False))
        db.session.commit()


# --- Request to booking ---------------------------------------------------------------------

def matching_people(actor, ticket: Ticket) -> tuple[list[YoungPerson], int]:
    """Young people in the actor's scope who may be this ticket's person (same phone, e-mail, or first name and
    age), and how many records outside the actor's scope share the phone (duplicate check across the register)."""
    conditions = []
    digits = re.sub(r"\D", "", ticket.phone or "")[-9:]
    phone_match = None
    if len(digits) >= 6:
        bare = YoungPerson.phone
        for separator in (" ", "-", ".", "/", "(", ")"):
            bare = sa.func.replace(bare, separator, "")
        phone_match = bare.like(f"%{digits}")
        conditions.append(phone_match)
    if ticket.email:
        conditions.append(sa.func.lower(YoungPerson.email) == ticket.email.lower())
    if ticket.age is not None:
        today = people_services.today_local()
        born_from = date(today.year - ticket.age - 1, 1, 1)
        born_to = date(today.year - ticket.age + 1, 12, 31)
        conditions.append(sa.and_(sa.func.lower(YoungPerson.first_name) == ticket.first_name.lower(),
                                  YoungPerson.birth_date.between(born_from, born_to)))
    if not conditions:
        return [], 0
    query = sa.select(YoungPerson).where(sa.or_(*conditions))
    in_scope = list(db.session.scalars(policy.scoped_young_people(query, actor).order_by(YoungPerson.id).limit(10)))
    elsewhere = 0
    if phone_match is not None:
        # Protected records are left out, as in the register's own duplicate check.
        elsewhere = db.session.scalar(sa.select(sa.func.count(YoungPerson.id)).where(
            phone_match, YoungPerson.protected.is_(False),
            YoungPerson.id.not_in([p.id for p in in_scope] or [0]))) or 0
    return in_scope, elsewhere


def link_person(actor, ticket: Ticket, person_id: int) -> YoungPerson:
    """Say who the ticket is about (a record in the actor's scope)."""
    if not policy.can_book_ticket(actor, ticket):
        raise Forbidden(_("Non puoi prenotare per questa richiesta."))
    person = policy.person_in_scope(actor, person_id)
    if person is None:
        raise NotFound(_("Persona non trovata."))
    ticket.young_person_id = person.id
    if ticket.status == TicketStatus.NEW:
        ticket.status = TicketStatus.IN_PROGRESS
    db.session.commit()
    return person


def book(actor, ticket: Ticket, data) -> object:
    """Book through the bookings service, then link the appointment to the ticket and mark it booked."""
    from app.bookings import services as booking_services

    if not policy.can_book_ticket(actor, ticket):
        raise Forbidden(_("Non puoi prenotare per questa richiesta."))
    if ticket.young_person_id is None or data.young_person_id != ticket.young_person_id:
        raise Invalid(_("Prima scegli o registra la persona."), field="person")
    ticket_id = ticket.id
    appointment = booking_services.create_booking(actor, data)
    # create_booking commits its own transaction; the link follows at once.
    ticket = db.session.get(Ticket, ticket_id, populate_existing=True)
    db.session.execute(sa.insert(ticket_appointments).values(ticket_id=ticket.id, appointment_id=appointment.id))
    previous = ticket.status
    ticket.status = TicketStatus.BOOKED
    ticket.outcome = None
    ticket.closed_at = None
    audit.record("helpdesk.booked", actor=actor, object_type="ticket", object_id=ticket.id,
                 details={"appointment_id": appointment.id, "from": previous})
    db.session.commit()
    return appointment


# --- Notifications ----------------------------------------------------------------------------

def unseen_assigned(query: sa.Select, user) -> sa.Select:
    """Open tickets assigned to the user that they have not opened yet."""
    return query.where(Ticket.assignee_id == user.id, Ticket.assignee_seen.is_(False),
                       Ticket.status.in_(TicketStatus.OPEN))


def badge_count(user) -> int:
    """The number shown on the "Richieste" menu item."""
    return db.session.scalar(unseen_assigned(sa.select(sa.func.count(Ticket.id)), user)) or 0


def queue_digests(day: date | None = None) -> int:
    """One e-mail per person with unseen assigned tickets: counts and a link only, never names or messages."""
    day = day or people_services.today_local()
    users = db.session.scalars(sa.select(User).where(User.active.is_(True), User.role.in_(
        (Role.ADMIN, Role.COORDINATOR, Role.OPERATOR, Role.TUTOR))).where(
        User.id.in_(sa.select(Ticket.assignee_id).where(Ticket.assignee_seen.is_(False),
                                                         Ticket.status.in_(TicketStatus.OPEN))))).all()
    base = current_app.config.get("PUBLIC_BASE_URL", "").rstrip("/")
    queued = 0
    for user in users:
        total = badge_count(user)
        if not total:
            continue
        urgent = db.session.scalar(unseen_assigned(sa.select(sa.func.count(Ticket.id)), user)
                                   .where(Ticket.priority == "urgent")) or 0
        key = f"helpdesk-digest:{user.id}:{day.isoformat()}"
        from app.models import OutboxMessage

        if db.session.scalar(sa.select(OutboxMessage.id).where(OutboxMessage.dedup_key == key)):
            continue
        body = _("Buongiorno,\n\nhai %(n)d richieste assegnate non ancora aperte (urgenti: %(u)d).\n"
                 "Aprile dall'intranet: %(url)s\n\nQuesto messaggio non contiene dati delle persone.",
                 n=total, u=urgent, url=f"{base}/richieste?assegnate=me")
        mail.queue_mail(user.email, _("Hub dei Talenti: richieste assegnate a te"), body, dedup_key=key)
        queued += 1
    db.session.commit()
    return queued
