"""Erasure (GDPR art. 17): a young person's identity is anonymised, the aggregates and the legal record stay.

What changes (one transaction, audited as `privacy.erase`):
  * the record: names replaced, contacts, guardian and school cleared, the birth date becomes
    1 July of the same year (the year keeps age bands roughly right); gender, town, study/work
    status, tutor, registration desk and organisation stay for the counts; a tombstone
    (`erased_at`, `erased_by_id`, `erasure_reason`).
  * consents: the guardian's name cleared, the active ones withdrawn at the erasure time.
  * appointments stay (monitoring counts them) without free text; future ones are cancelled;
    free-text details of their history lines are dropped; private confirm/cancel links deleted.
  * waiting-list entries and recall tasks lose their free text and are closed.
  * requests (tickets) linked to the person, or carrying the same e-mail or phone, lose name,
    contacts, guardian, message and comments; open ones are closed.
  * e-mails to the person or the guardian are deleted from the outbox (sent or not).
  * draft notes are deleted; final notes are the legally retained record and stay, linked to the
    anonymised code (the database triggers keep them unchanged).
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import gettext as _

from app import audit, policy
from app.domain.errors import Forbidden, Invalid
from app.extensions import db
from app.models import (
    Appointment,
    AppointmentEvent,
    AppointmentLink,
    ConsentRecord,
    Note,
    NoteStatus,
    OutboxMessage,
    RecallTask,
    Status,
    Ticket,
    TicketStatus,
    WaitingEntry,
    YoungPerson,
)
from app.models.base import utcnow
from app.privacy.services import check_reason

ANON_FIRST_NAME = "Persona"
ANON_LAST_NAME = "anonimizzata"
# Tickets need a contact (a check constraint): an anonymised one keeps this placeholder.
ANON_TICKET = "—"


def erase_person(actor, person: YoungPerson, *, reason: str, confirm_code: str) -> dict:
    """The data controller erases a person after typing their code; returns the counts of what changed."""
    if not policy.can_manage_privacy(actor):
        raise Forbidden(_("Solo l'Ufficio di Piano può cancellare i dati di una persona."))
    if person.erased_at is not None:
        raise Invalid(_("I dati di questa persona sono già stati cancellati."))
    if (confirm_code or "").strip().upper() != person.code.upper():
        raise Invalid(_("Il codice non corrisponde: scrivi il codice della persona per confermare."),
                      field="confirm_code")
    reason = check_reason(reason)
    protected = person.protected
    counts = anonymise(person, actor=actor, reason=reason)
    if protected:
        audit.record("breakglass", actor=actor, object_type="person", object_id=person.id, reason=reason,
                     details={"erasure": True})
    audit.record("privacy.erase", actor=actor, object_type="person", object_id=person.id, reason=reason,
                 details={"source": "request", **counts})
    db.session.commit()
    return counts


def _ticket_matches(person: YoungPerson) -> sa.ColumnElement:
    conditions = [Ticket.young_person_id == person.id]
    if person.email.strip():
        conditions.append(sa.func.lower(Ticket.email) == person.email.strip().lower())
    if person.phone.strip():
        conditions.append(Ticket.phone == person.phone.strip())
    return sa.or_(*conditions)


def anonymise_ticket(ticket: Ticket, now: datetime) -> None:
    """Strip a request of everything that identifies its sender; an open one is closed."""
    ticket.first_name = ANON_TICKET
    ticket.phone = ANON_TICKET
    ticket.email = ""
    ticket.message = ""
    ticket.preferred_times = ""
    ticket.referrer = ""
    ticket.guardian_name = ""
    ticket.guardian_contact = ""
    ticket.comments = []
    if ticket.status != TicketStatus.CLOSED:
        ticket.status = TicketStatus.CLOSED
        ticket.outcome = "rinuncia"
        ticket.closed_at = now


def _recipients(person: YoungPerson) -> list[str]:
    values = [person.email, person.guardian_contact if "@" in person.guardian_contact else ""]
    return [v.strip().lower() for v in values if v and v.strip()]


def anonymise(person: YoungPerson, *, actor, reason: str, now: datetime | None = None) -> dict:
    """Anonymise one person and what hangs on them, in the caller's transaction (not committed)."""
    now = now or utcnow()
    counts = {"appointments": 0, "cancelled": 0, "tickets": 0, "outbox": 0, "drafts": 0, "final_notes": 0}
    appointment_ids = sa.select(Appointment.id).where(Appointment.young_person_id == person.id)

    # Future sessions cannot take place with an anonymous person.
    for appointment in db.session.scalars(sa.select(Appointment).where(
            Appointment.young_person_id == person.id, Appointment.starts_at > now,
            Appointment.status.in_((Status.BOOKED, Status.CONFIRMED)))):
        before = appointment.status
        appointment.status = Status.CANCELLED
        appointment.cancelled_at = now
        appointment.cancelled_by_kind = "desk"
        appointment.cancelled_by_id = getattr(actor, "id", None)
        db.session.add(AppointmentEvent(appointment_id=appointment.id, actor_id=getattr(actor, "id", None),
                                        kind="cancelled", from_status=before, to_status=Status.CANCELLED,
                                        detail="erasure"))
        counts["cancelled"] += 1
    for appointment in db.session.scalars(sa.select(Appointment).where(Appointment.young_person_id == person.id)):
        appointment.cancel_reason = ""
        if appointment.override_reason:
            appointment.override_reason = "—"
        counts["appointments"] += 1
    db.session.flush()
    # History lines are append-only (no UPDATE): a line with free text is replaced by the same line without it.
    events = db.session.execute(sa.select(AppointmentEvent.__table__).where(
        AppointmentEvent.appointment_id.in_(appointment_ids), AppointmentEvent.detail.contains(":"))).mappings().all()
    for event in events:
        values = dict(event)
        values["detail"] = values["detail"].split(":", 1)[0]
        db.session.execute(sa.delete(AppointmentEvent.__table__).where(AppointmentEvent.id == values["id"]))
        db.session.execute(sa.insert(AppointmentEvent.__table__).values(**values))
    db.session.execute(sa.delete(AppointmentLink).where(AppointmentLink.appointment_id.in_(appointment_ids)))

    for entry in db.session.scalars(sa.select(WaitingEntry).where(WaitingEntry.young_person_id == person.id)):
        entry.preferences = ""
        if entry.status == "waiting":
            entry.status, entry.closed_at = "withdrawn", now
    for task in db.session.scalars(sa.select(RecallTask).where(RecallTask.young_person_id == person.id)):
        task.outcome_note = ""
        if task.closed_at is None:
            task.outcome, task.closed_at = "other", now

    for ticket in db.session.scalars(sa.select(Ticket).where(_ticket_matches(person))):
        anonymise_ticket(ticket, now)
        counts["tickets"] += 1

    recipients = _recipients(person)
    if recipients:
        result = db.session.execute(sa.delete(OutboxMessage).where(sa.or_(*[
            sa.func.lower(OutboxMessage.recipient).contains(r, autoescape=True) for r in recipients])))
        counts["outbox"] = result.rowcount or 0

    drafts = db.session.scalars(sa.select(Note).where(Note.young_person_id == person.id,
                                                      Note.status == NoteStatus.DRAFT)).unique().all()
    for note in drafts:
        db.session.delete(note)
    counts["drafts"] = len(drafts)
    counts["final_notes"] = db.session.scalar(sa.select(sa.func.count()).select_from(Note).where(
        Note.young_person_id == person.id, Note.status == NoteStatus.FINAL)) or 0

    for record in db.session.scalars(sa.select(ConsentRecord).where(ConsentRecord.young_person_id == person.id)):
        record.given_by_name = ""
        if record.withdrawn_at is None:
            record.withdrawn_at = max(now, record.given_at)
            record.withdrawn_by_id = getattr(actor, "id", None)

    person.first_name = ANON_FIRST_NAME
    person.last_name = ANON_LAST_NAME
    person.birth_date = date(person.birth_date.year, 7, 1)
    person.school = ""
    person.phone = ""
    person.email = ""
    person.guardian_name = ""
    person.guardian_contact = ""
    person.erased_at = now
    person.erased_by_id = getattr(actor, "id", None)
    person.erasure_reason = reason[:300]
    db.session.flush()
    return counts
