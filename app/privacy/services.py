"""Privacy use cases: consent records, a young person's data export (art. 15/20), the privacy search.

Erasure is in erasure.py, the retention job in retention.py.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app import audit, policy
from app.domain.errors import DomainError, Forbidden, Invalid, NotFound
from app.extensions import db
from app.models import (
    CONSENT_KINDS,
    GENDERS,
    STUDY_WORK_STATUSES,
    Appointment,
    AuditEvent,
    ConsentRecord,
    ConsentText,
    Note,
    RecallTask,
    Ticket,
    User,
    WaitingEntry,
    YoungPerson,
)
from app.models.base import utcnow
from app.models.young_person import DIGITAL_CONSENT_AGE
from app.privacy.texts import TEXTS
from app.text import contains_folded

audit.register_action("privacy.export", _l("Esportazione dei dati di un giovane (art. 15/20 GDPR)"), "person",
                      _l("Giovane"))
audit.register_action("privacy.erase", _l("Cancellazione (anonimizzazione) dei dati di un giovane (art. 17 GDPR)"))
audit.register_action("privacy.consent_withdrawn", _l("Revoca di un consenso"))
audit.register_action("privacy.retention", _l("Applicazione dei tempi di conservazione"), "retention",
                      _l("Conservazione dei dati"))

ROME = ZoneInfo("Europe/Rome")
SEARCH_LIMIT = 20
MIN_REASON = 10
CODE_RE = re.compile(r"^HDT-\d{4}-\d{6}$", re.IGNORECASE)


class ExportFailed(DomainError):
    """The PDF of an export could not be produced (nothing was recorded)."""

    status_code = 422


# --- Consent -------------------------------------------------------------------------------

def ensure_text(version: str) -> ConsentText:
    """The stored text of a version, inserted from app/privacy/texts.py when missing (a fresh database)."""
    text = db.session.scalar(sa.select(ConsentText).where(ConsentText.version == version))
    if text is not None:
        return text
    source = TEXTS.get(version)
    if source is None:
        raise LookupError(f"unknown consent text version {version!r}")
    try:
        with db.session.begin_nested():
            text = ConsentText(version=version, title=source["title"], body=source["body"],
                               effective_from=source["effective_from"])
            db.session.add(text)
    except sa.exc.IntegrityError:  # another request stored it meanwhile
        text = db.session.scalar(sa.select(ConsentText).where(ConsentText.version == version))
    return text


def record_registration_consents(person: YoungPerson, actor, *, age: int) -> list[ConsentRecord]:
    """The consents collected by the registration form (added to the caller's transaction, not committed).

    The form's privacy box attests that the notice of `person.privacy_text_version` was read and
    consent given to the processing, special categories included (that text says so); under 14 the
    guardian gives it. A guardian's consent box adds its own record.
    """
    text = ensure_text(person.privacy_text_version)
    by_guardian = age < DIGITAL_CONSENT_AGE
    given_by, name = ("guardian", person.guardian_name) if by_guardian else ("self", "")
    records = [ConsentRecord(young_person_id=person.id, kind=kind, text_version=text.version, given_by=given_by,
                             given_by_name=name, collected_by_id=actor.id, given_at=person.privacy_consent_at)
               for kind in ("notice", "special_categories")]
    if person.guardian_consent:
        records.append(ConsentRecord(young_person_id=person.id, kind="guardian", text_version=text.version,
                                     given_by="guardian", given_by_name=person.guardian_name,
                                     collected_by_id=actor.id, given_at=person.privacy_consent_at))
    db.session.add_all(records)
    return records


def consent_history(person: YoungPerson) -> list[ConsentRecord]:
    """Every consent of a person, newest first, withdrawn ones included."""
    return list(db.session.scalars(sa.select(ConsentRecord).where(ConsentRecord.young_person_id == person.id)
                                   .order_by(ConsentRecord.given_at.desc(), ConsentRecord.id.desc())))


def withdraw_consent(actor, person: YoungPerson, record_id: int) -> ConsentRecord:
    """Record that a consent was withdrawn (who, when); audited. A guardian's withdrawal clears the flag."""
    if not policy.can_record_consent(actor, person):
        raise Forbidden(_("Non puoi registrare revoche per questa persona."))
    record = db.session.get(ConsentRecord, record_id)
    if record is None or record.young_person_id != person.id:
        raise NotFound(_("Consenso non trovato."))
    if record.withdrawn_at is not None:
        raise Invalid(_("Questo consenso è già stato revocato."))
    record.withdrawn_at = utcnow()
    record.withdrawn_by_id = actor.id
    if record.kind == "guardian":
        person.guardian_consent = False
    audit.record("privacy.consent_withdrawn", actor=actor, object_type="person", object_id=person.id,
                 details={"kind": record.kind, "version": record.text_version, "consent": record.id})
    db.session.commit()
    return record


# --- Search ------------------------------------------------------------------------------------

def search(actor, q: str) -> list[YoungPerson]:
    """Young people for the privacy tools: by name or code prefix; a protected record only by its exact code."""
    q = (q or "").replace("\x00", "").strip()[:100]
    if not q:
        return []
    exact = q.upper() if CODE_RE.match(q) else None
    query = policy.scoped_privacy_people(sa.select(YoungPerson), actor, exact_code=exact)
    if q.upper().startswith("HDT"):
        query = query.where(YoungPerson.code.ilike(f"{q.upper()}%"))
    else:
        for word in q.split()[:4]:  # without case or accents: a request may spell "Nicolo" for "Nicolò"
            query = query.where(sa.or_(contains_folded(YoungPerson.first_name, word),
                                       contains_folded(YoungPerson.last_name, word)))
    return list(db.session.scalars(query.order_by(YoungPerson.last_name, YoungPerson.first_name, YoungPerson.id)
                                   .limit(SEARCH_LIMIT)))


def check_reason(reason: str, field: str = "reason") -> str:
    """A written reason (request reference, motive): required, at least MIN_REASON characters."""
    reason = " ".join((reason or "").replace("\x00", "").split())  # PostgreSQL text cannot hold NUL
    if len(reason) < MIN_REASON:
        raise Invalid(_("Scrivi il motivo (almeno %(n)d caratteri), per esempio il protocollo della richiesta.",
                        n=MIN_REASON), field=field)
    return reason[:300]


# --- Export (art. 15 access, art. 20 portability) ------------------------------------------

def _iso(value) -> str | None:
    """ISO 8601; instants with the Italian offset (e.g. 2026-11-26T10:30:00+01:00)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(ROME).isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _user_name(user_id: int | None) -> str | None:
    user = db.session.get(User, user_id) if user_id else None
    return user.full_name if user else None


def person_notes(person: YoungPerson) -> list[Note]:
    """Every note the controller holds on the person (drafts too), by session date."""
    return list(db.session.scalars(
        sa.select(Note).where(Note.young_person_id == person.id)
        .join(Appointment, Appointment.id == Note.appointment_id).order_by(Appointment.starts_at, Note.id)).unique())


def export_data(person: YoungPerson, notes: list[Note]) -> dict:
    """Everything the programme holds on one young person, as plain JSON-ready values."""
    appointments = db.session.scalars(sa.select(Appointment).where(Appointment.young_person_id == person.id)
                                      .order_by(Appointment.starts_at)).all()
    tickets = db.session.scalars(sa.select(Ticket).where(Ticket.young_person_id == person.id)
                                 .order_by(Ticket.received_at)).all()
    waiting = db.session.scalars(sa.select(WaitingEntry).where(WaitingEntry.young_person_id == person.id)
                                 .order_by(WaitingEntry.created_at)).all()
    recalls = db.session.scalars(sa.select(RecallTask).where(RecallTask.young_person_id == person.id)
                                 .order_by(RecallTask.created_at)).all()
    return {
        "format": "hub-dei-talenti/export-v1",
        "generated_at": _iso(utcnow()),
        "controller": "Comune di Pioltello — Ufficio di Piano, Distretto Sociale Est Milano, "
                      "via C. Cattaneo 1, 20096 Pioltello (MI)",
        "person": {
            "code": person.code, "first_name": person.first_name, "last_name": person.last_name,
            "birth_date": _iso(person.birth_date), "gender": person.gender,
            "gender_label": str(GENDERS.get(person.gender, person.gender)),
            "residence": person.town_name, "study_work_status": person.study_work_status,
            "study_work_label": str(STUDY_WORK_STATUSES.get(person.study_work_status, person.study_work_status)),
            "school": person.school, "protected": person.protected,
            "tutor_of_record": person.tutor.full_name if person.tutor else None,
            "registered_by_organisation": person.registered_org.name,
            "registered_at": _iso(person.created_at),
            "erased_at": _iso(person.erased_at),
        },
        "contacts": {
            "phone": person.phone, "email": person.email, "preferred_channel": person.preferred_channel,
            "guardian_name": person.guardian_name, "guardian_contact": person.guardian_contact,
        },
        "consents": [{
            "kind": c.kind, "label": str(CONSENT_KINDS.get(c.kind, c.kind)), "text_version": c.text_version,
            "given_by": c.given_by, "given_by_name": c.given_by_name, "given_at": _iso(c.given_at),
            "collected_by": _user_name(c.collected_by_id), "withdrawn_at": _iso(c.withdrawn_at),
        } for c in reversed(consent_history(person))],
        "appointments": [{
            "id": a.id, "starts_at": _iso(a.starts_at), "ends_at": _iso(a.ends_at), "desk": a.desk.name,
            "service": a.service, "service_label": str(a.service_label), "mode": a.mode, "status": a.status,
            "status_label": str(a.status_label), "tutor": a.tutor.full_name,
            "cancelled_at": _iso(a.cancelled_at), "cancel_reason": a.cancel_reason,
        } for a in appointments],
        "requests": [{
            "reference": t.reference, "received_at": _iso(t.received_at), "channel": t.channel, "status": t.status,
            "topic": t.topic, "first_name": t.first_name, "age": t.age, "town": t.town_name, "phone": t.phone,
            "email": t.email, "preferred_times": t.preferred_times, "message": t.message, "referrer": t.referrer,
            "closed_at": _iso(t.closed_at), "outcome": t.outcome,
        } for t in tickets],
        "waiting_list": [{
            "desk": w.desk.name, "service": w.service, "preferences": w.preferences, "status": w.status,
            "created_at": _iso(w.created_at), "closed_at": _iso(w.closed_at),
        } for w in waiting],
        "recalls_after_missed_appointments": [{
            "created_at": _iso(r.created_at), "desk": r.desk.name, "outcome": r.outcome,
            "outcome_note": r.outcome_note, "closed_at": _iso(r.closed_at),
        } for r in recalls],
        "notes": [{
            "id": n.id, "status": n.status, "session_starts_at": _iso(n.appointment.starts_at),
            "desk": n.appointment.desk.name, "tutor": n.author.full_name, "topics": n.topics,
            "summary": n.summary, "agreements": n.agreements, "referrals": n.referral_labels,
            "outcomes": [{"outcome": o.outcome, "label": str(o.label), "progress": o.progress} for o in n.outcomes],
            "finalised_at": _iso(n.finalised_at), "content_hash": n.content_hash,
            "addenda": [{"created_at": _iso(a.created_at), "author": a.author.full_name, "text": a.text}
                        for a in n.addenda],
        } for n in notes],
    }


def export_person(actor, person: YoungPerson, fmt: str, reason: str) -> tuple[bytes, str, str]:
    """Build the export (json or pdf) and audit it: (bytes, mimetype, filename).

    Every note included is logged as a read by the data controller, with the request's reason,
    exactly like a break-glass read of the notes screen; a protected record adds a break-glass entry.
    """
    if not policy.can_manage_privacy(actor):
        raise Forbidden(_("Solo l'Ufficio di Piano esporta i dati di una persona."))
    if fmt not in ("json", "pdf"):
        raise Invalid(_("Formato non valido."), field="fmt")
    reason = check_reason(reason)
    notes = person_notes(person)
    data = export_data(person, notes)
    stem = f"dati-{person.code}-{datetime.now(UTC).date().isoformat()}"
    if fmt == "json":
        body = json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8")
        result = (body, "application/json", f"{stem}.json")
    else:
        result = (_render_pdf(person, data), "application/pdf", f"{stem}.pdf")
    if person.protected:
        audit.record_now("breakglass", actor=actor, object_type="person", object_id=person.id, reason=reason,
                         details={"export": fmt})
    for note in notes:
        audit.record_now("note.read", actor=actor, object_type="note", object_id=note.id, reason=reason,
                         details={"export": fmt})
    audit.record_now("privacy.export", actor=actor, object_type="person", object_id=person.id, reason=reason,
                     details={"format": fmt, "note_count": len(notes)})
    return result


def _render_pdf(person: YoungPerson, data: dict) -> bytes:
    """The readable export on the district letterhead, rendered by the notes' limited child process."""
    from app.notes import pdf

    html = pdf.render_html("privacy/export_pdf.html", data=data, person=person, generated_at=utcnow(),
                           footer_hash=pdf.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False).encode()))
    try:
        output, _variant = pdf.render_pdf(html)
    except pdf.RenderFailed:
        current_app.logger.warning("privacy export PDF of person %s could not be rendered", person.id)
        raise ExportFailed(_("Il PDF dell'esportazione non è stato generato (troppi dati o impaginazione non "
                             "riuscita): scarica il formato JSON, che contiene gli stessi dati.")) from None
    return output


def iso_it(value: str | None, with_time: bool = False) -> str:
    """An ISO date or instant of the export as dd/mm/yyyy (HH:MM): the PDF shows the JSON's own values."""
    if not value:
        return "—"
    text = f"{value[8:10]}/{value[5:7]}/{value[0:4]}"
    return f"{text} {value[11:16]}" if with_time and len(value) >= 16 else text


# --- The admin page --------------------------------------------------------------------------

def latest_retention_runs(limit: int = 10) -> list[AuditEvent]:
    """The last applications of the retention job (from the audit log, which records their counts)."""
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "privacy.retention")
                                   .order_by(AuditEvent.id.desc()).limit(limit)))


def latest_requests(limit: int = 10) -> list[AuditEvent]:
    """The last exports and erasures."""
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action.in_(("privacy.export",
                                                                                        "privacy.erase")))
                                   .order_by(AuditEvent.id.desc()).limit(limit)))
