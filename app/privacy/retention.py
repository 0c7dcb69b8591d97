"""The retention job: what is older than its period (app/config.py, RETENTION_*) is anonymised or deleted.

`plan()` only counts (the dry run); `apply()` acts in batches, each batch its own
transaction, and records one `privacy.retention` audit entry with the counts (no personal
data). Both are idempotent: what was done no longer matches the queries.

Two kinds are counted but never touched, on purpose:
  * final notes: they are the legally retained record, locked by database triggers; at the end
    of RETENTION_NOTES_YEARS they are listed for the archive's discard procedure (scarto
    d'archivio, which needs the archival authority's approval), not deleted by a program;
  * the audit log: append-only and hash-chained (each entry holds the previous one's hash), so
    deleting old entries would break the proof; entries past RETENTION_AUDIT_YEARS are reported
    for export to the archive.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from app import audit
from app.extensions import db
from app.models import (
    Appointment,
    AuditEvent,
    ConsentRecord,
    Note,
    NoteStatus,
    OutboxMessage,
    Status,
    Ticket,
    TicketStatus,
    UserSession,
    WaitingEntry,
    YoungPerson,
)
from app.models.base import utcnow
from app.privacy.erasure import ANON_TICKET, anonymise, anonymise_ticket

BATCH_SIZE = 200


@dataclass
class Kind:
    """One record kind the job looks at."""

    key: str
    label: object
    setting: str
    unit: str  # "months", "years", "days"
    action: object

    def period(self) -> int:
        return int(current_app.config[self.setting])

    def cutoff(self, now: datetime) -> datetime:
        value = self.period()
        days = {"days": 1, "months": 30.44, "years": 365.25}[self.unit] * value
        return now - timedelta(days=days)

    @property
    def unit_label(self):
        return {"days": _l("giorni"), "months": _l("mesi"), "years": _l("anni")}[self.unit]


KINDS: tuple[Kind, ...] = (
    Kind("inactive_people", _l("Giovani senza attività"), "RETENTION_INACTIVE_PERSON_MONTHS", "months",
         _l("anonimizzati come per una cancellazione (restano i dati aggregati)")),
    Kind("draft_notes", _l("Bozze di note mai finalizzate"), "RETENTION_DRAFT_NOTES_MONTHS", "months",
         _l("eliminate")),
    Kind("final_notes", _l("Note finalizzate"), "RETENTION_NOTES_YEARS", "years",
         _l("conservate: elencate per la procedura di scarto d'archivio, mai cancellate dal programma")),
    Kind("tickets", _l("Richieste chiuse"), "RETENTION_TICKETS_MONTHS", "months",
         _l("private di nome, recapiti, messaggio e commenti")),
    Kind("outbox", _l("E-mail inviate"), "RETENTION_OUTBOX_DAYS", "days", _l("eliminate dalla coda")),
    Kind("sessions", _l("Sessioni di accesso terminate"), "RETENTION_SESSIONS_DAYS", "days", _l("eliminate")),
    Kind("audit", _l("Voci del registro attività"), "RETENTION_AUDIT_YEARS", "years",
         _l("conservate: il registro è a catena e non si accorcia; vanno esportate per l'archivio")),
)
KIND_BY_KEY = {k.key: k for k in KINDS}


# --- What matches ------------------------------------------------------------------------------

def _inactive_people(cutoff: datetime, now: datetime) -> sa.Select:
    recent_appointment = sa.select(Appointment.id).where(
        Appointment.young_person_id == YoungPerson.id,
        sa.or_(Appointment.ends_at >= cutoff,
               sa.and_(Appointment.status.in_((Status.BOOKED, Status.CONFIRMED)), Appointment.starts_at >= now)))
    recent_ticket = sa.select(Ticket.id).where(
        Ticket.young_person_id == YoungPerson.id,
        sa.or_(Ticket.received_at >= cutoff, Ticket.status != TicketStatus.CLOSED))
    recent_waiting = sa.select(WaitingEntry.id).where(
        WaitingEntry.young_person_id == YoungPerson.id,
        sa.or_(WaitingEntry.created_at >= cutoff, WaitingEntry.status == "waiting"))
    recent_consent = sa.select(ConsentRecord.id).where(
        ConsentRecord.young_person_id == YoungPerson.id, ConsentRecord.given_at >= cutoff)
    return sa.select(YoungPerson.id).where(
        YoungPerson.erased_at.is_(None), YoungPerson.created_at < cutoff,
        ~recent_appointment.exists(), ~recent_ticket.exists(), ~recent_waiting.exists(), ~recent_consent.exists())


def _draft_notes(cutoff: datetime, now: datetime) -> sa.Select:
    return sa.select(Note.id).where(Note.status == NoteStatus.DRAFT, Note.appointment_id.in_(
        sa.select(Appointment.id).where(Appointment.ends_at < cutoff)))


def _final_notes(cutoff: datetime, now: datetime) -> sa.Select:
    return sa.select(Note.id).where(Note.status == NoteStatus.FINAL, Note.finalised_at < cutoff)


def _tickets(cutoff: datetime, now: datetime) -> sa.Select:
    return sa.select(Ticket.id).where(Ticket.status == TicketStatus.CLOSED, Ticket.closed_at < cutoff,
                                      sa.or_(Ticket.first_name != ANON_TICKET, Ticket.email != "",
                                             Ticket.phone != ANON_TICKET, Ticket.message != ""))


def _outbox(cutoff: datetime, now: datetime) -> sa.Select:
    return sa.select(OutboxMessage.id).where(OutboxMessage.sent_at.is_not(None), OutboxMessage.sent_at < cutoff)


def _sessions(cutoff: datetime, now: datetime) -> sa.Select:
    # Ended: signed out (revoked) long ago, or idle far beyond any session lifetime.
    return sa.select(UserSession.id).where(sa.or_(
        sa.and_(UserSession.revoked_at.is_not(None), UserSession.revoked_at < cutoff),
        UserSession.last_seen_at < cutoff))


def _audit(cutoff: datetime, now: datetime) -> sa.Select:
    return sa.select(AuditEvent.id).where(AuditEvent.at < cutoff)


QUERIES: dict[str, Callable[[datetime, datetime], sa.Select]] = {
    "inactive_people": _inactive_people, "draft_notes": _draft_notes, "final_notes": _final_notes,
    "tickets": _tickets, "outbox": _outbox, "sessions": _sessions, "audit": _audit,
}
KEPT = ("final_notes", "audit")


def _count(select: sa.Select) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(select.subquery())) or 0


@dataclass
class Line:
    """One kind's result: how many match (dry run) or were handled (apply)."""

    kind: Kind
    count: int
    cutoff: datetime

    @property
    def kept(self) -> bool:
        return self.kind.key in KEPT


def plan(now: datetime | None = None) -> list[Line]:
    """The dry run: per kind, how many records are past their period. Changes nothing."""
    now = now or utcnow()
    lines = []
    for kind in KINDS:
        cutoff = kind.cutoff(now)
        lines.append(Line(kind, _count(QUERIES[kind.key](cutoff, now)), cutoff))
    return lines


# --- Acting ------------------------------------------------------------------------------------

def _batches(select: sa.Select, handle: Callable[[list[int]], None], batch_size: int) -> int:
    """Run `handle` on batches of matching ids, committing each; stops when nothing matches any more."""
    done = 0
    while True:
        ids = list(db.session.scalars(select.order_by(select.selected_columns[0]).limit(batch_size)))
        if not ids:
            return done
        handle(ids)
        db.session.commit()
        done += len(ids)
        if len(ids) < batch_size:
            return done


def _apply_people(ids: list[int]) -> None:
    kind = KIND_BY_KEY["inactive_people"]
    reason = f"Conservazione scaduta: nessuna attività da {kind.period()} mesi (flask retention)"
    for person in db.session.scalars(sa.select(YoungPerson).where(YoungPerson.id.in_(ids))):
        anonymise(person, actor=None, reason=reason)


def _apply_drafts(ids: list[int]) -> None:
    for note in db.session.scalars(sa.select(Note).where(Note.id.in_(ids))).unique():
        db.session.delete(note)


def _apply_tickets(ids: list[int]) -> None:
    now = utcnow()
    for ticket in db.session.scalars(sa.select(Ticket).where(Ticket.id.in_(ids))):
        anonymise_ticket(ticket, now)


def _delete(model) -> Callable[[list[int]], None]:
    def handle(ids: list[int]) -> None:
        db.session.execute(sa.delete(model).where(model.id.in_(ids)))
    return handle


HANDLERS: dict[str, Callable[[list[int]], None]] = {
    "inactive_people": _apply_people, "draft_notes": _apply_drafts, "tickets": _apply_tickets,
    "outbox": _delete(OutboxMessage), "sessions": _delete(UserSession),
}


def apply(now: datetime | None = None, batch_size: int = BATCH_SIZE) -> list[Line]:
    """Anonymise or delete what is past its period, batch by batch; audit the run with its counts."""
    now = now or utcnow()
    lines = []
    for kind in KINDS:
        cutoff = kind.cutoff(now)
        select = QUERIES[kind.key](cutoff, now)
        if kind.key in KEPT:
            count = _count(select)
        else:
            count = _batches(select, HANDLERS[kind.key], batch_size)
        lines.append(Line(kind, count, cutoff))
    db.session.rollback()
    audit.record("privacy.retention", object_type="retention", details={
        "mode": "apply",
        "counts": {line.kind.key: line.count for line in lines},
        "periods": {line.kind.key: f"{line.kind.period()} {line.kind.unit}" for line in lines},
    })
    db.session.commit()
    return lines
