"""Use cases of session notes: autosave with an optimistic revision, finalise and lock, addenda, reads.

Saving is a compare-and-set: `UPDATE notes … WHERE id = ? AND revision = ? AND status = 'draft'`.
A stale tab (or a second person) changes nothing and gets Conflict; its text stays in its form.
Finalising renders the PDF in a limited child process *before* the lock: if rendering fails the
note is still a draft with its text intact. The archived bytes are what every download returns.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from flask import current_app, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import orm

from app import audit, policy
from app.database import serialised_write
from app.domain.errors import Conflict, Forbidden, Invalid, NotFound
from app.extensions import db
from app.mail import queue_mail
from app.models import (
    OUTCOMES,
    PROGRESS,
    REFERRALS,
    Appointment,
    Note,
    NoteAddendum,
    NoteOutcome,
    NoteStatus,
    NoteVersion,
    Role,
    Status,
    User,
    desk_operators,
)
from app.models.base import utcnow
from app.notes import pdf

MAX_ADDENDUM_CHARS = 5000
READ_ACTIONS = ("note.read", "note.download", "breakglass")

audit.register_action("note.finalised", _l("Nota finalizzata"))
audit.register_action("note.addendum", _l("Integrazione a una nota"))
audit.register_action("note.follow_up", _l("Richiesta di appuntamento di follow-up"))
audit.register_action("note.attention_seen", _l("Presa visione di una segnalazione"))


def normalise_text(value: str | None) -> str:
    """Plain text as stored: NFC, Unix newlines, no trailing spaces, no control characters."""
    text = unicodedata.normalize("NFC", (value or "").replace("\r\n", "\n").replace("\r", "\n"))
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) != "Cc")
    return "\n".join(line.rstrip() for line in text.split("\n")).strip()


@dataclass
class NoteData:
    """What the editor sends."""

    outcomes: dict[int, str] = field(default_factory=dict)
    topics: str = ""
    summary: str = ""
    agreements: str = ""
    referrals: list[str] = field(default_factory=list)
    referral_other: str = ""
    needs_attention: bool = False

    @classmethod
    def of(cls, note: Note | None) -> NoteData:
        """The data of a stored note (empty for a new one)."""
        if note is None:
            return cls()
        return cls(outcomes={o.outcome: o.progress for o in note.outcomes}, topics=note.topics, summary=note.summary,
                   agreements=note.agreements, referrals=note.referral_codes, referral_other=note.referral_other,
                   needs_attention=note.needs_attention)

    def cleaned(self) -> NoteData:
        """Known codes only, texts normalised."""
        return NoteData(
            outcomes={n: p for n, p in sorted(self.outcomes.items()) if n in OUTCOMES and p in PROGRESS},
            topics=normalise_text(self.topics), summary=normalise_text(self.summary),
            agreements=normalise_text(self.agreements),
            referrals=[c for c in REFERRALS if c in set(self.referrals)],
            referral_other=normalise_text(self.referral_other)[:200].replace("\n", " "),
            needs_attention=bool(self.needs_attention),
        )


# --- Hashes ---------------------------------------------------------------------------------

def canonical_content(note: Note) -> dict:
    """What a final note says, as plain values in a fixed shape (what the hash covers)."""
    appointment = note.appointment
    return {
        "note": note.id, "appointment": appointment.id, "young_person": note.young_person.code,
        "tutor": note.author_id, "desk": appointment.desk_id,
        "starts_at": appointment.starts_at.isoformat(), "ends_at": appointment.ends_at.isoformat(),
        "outcomes": [[o.outcome, o.progress] for o in sorted(note.outcomes, key=lambda o: o.outcome)],
        "topics": note.topics, "summary": note.summary, "agreements": note.agreements,
        "referrals": note.referral_codes, "referral_other": note.referral_other,
        "needs_attention": note.needs_attention,
    }


def _digest(value) -> str:
    encoded = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return hashlib.sha256(encoded).hexdigest()


def content_hash(note: Note) -> str:
    """SHA-256 of the canonical content (hex)."""
    return _digest(canonical_content(note))


def version_hash(note_hash: str, addenda) -> str:
    """SHA-256 of the note's hash plus its addenda, for a PDF version that includes them."""
    return _digest({"note": note_hash, "addenda": [
        {"at": a.created_at.isoformat(), "author": a.author_id, "text": a.text} for a in addenda]})


# --- Loading --------------------------------------------------------------------------------

def writable_appointment(actor, appointment_id: int, *, relations: bool = True) -> Appointment:
    """The appointment whose note the actor writes (NotFound when out of scope, Forbidden otherwise).

    `relations=False` loads the row alone (desk, tutor, person on access): what a save needs."""
    query = sa.select(Appointment)
    if not relations:
        query = query.options(orm.lazyload("*"))
    appointment = db.session.scalar(
        policy.scoped_appointments(query, actor).where(Appointment.id == appointment_id))
    if appointment is None:
        raise NotFound(_("Appuntamento non trovato."))
    if not policy.can_write_note(actor, appointment):
        raise Forbidden(_("Solo il tutor dell'appuntamento scrive la sua nota."))
    return appointment


def note_of(appointment: Appointment, *, relations: bool = True) -> Note | None:
    """The appointment's note, if any (`relations=False`: the row alone, relations loaded on access)."""
    query = sa.select(Note).where(Note.appointment_id == appointment.id)
    return db.session.scalar(query if relations else query.options(orm.lazyload("*")))


# --- Drafts ---------------------------------------------------------------------------------

def _values(data: NoteData) -> dict:
    return dict(topics=data.topics, summary=data.summary, agreements=data.agreements,
                referrals=",".join(data.referrals), referral_other=data.referral_other,
                needs_attention=data.needs_attention)


def _stale(note: Note | None) -> Conflict:
    when = ""
    if note is not None:
        from app.formatting import format_time

        when = format_time(note.saved_at)
    if note is not None and note.is_final:
        message = _("La nota è già stata finalizzata (in un'altra scheda o da un'altra sessione): le tue modifiche "
                    "NON sono state salvate. Il tuo testo è ancora qui sotto: copialo e aggiungilo come integrazione.")
    else:
        message = _("La nota è stata modificata altrove alle %(time)s (un'altra scheda o un altro dispositivo): "
                    "le tue modifiche NON sono state salvate, per non sovrascrivere quelle. Il tuo testo è ancora "
                    "qui sotto: copialo, poi ricarica la pagina.", time=when)
    error = Conflict(message)
    error.note = note  # type: ignore[attr-defined]
    return error


def save_draft(actor, appointment_id: int, data: NoteData, revision: int) -> Note:
    """Create or update the draft if `revision` is still current (0 = no note yet); Conflict otherwise."""
    data = data.cleaned()
    try:
        return _save_draft(actor, appointment_id, data, revision)
    except sa.exc.IntegrityError:  # another tab created the note first (a race PostgreSQL can see)
        db.session.rollback()
        raise _stale(db.session.scalar(sa.select(Note).where(Note.appointment_id == appointment_id))) from None


def _save_draft(actor, appointment_id: int, data: NoteData, revision: int) -> Note:
    # Saved at every pause in typing: rows alone, no joined relations (their planning cost ~10 ms each).
    with serialised_write() as session:
        appointment = writable_appointment(actor, appointment_id, relations=False)
        note = note_of(appointment, relations=False)
        now = utcnow()
        if note is None:
            if revision != 0:
                raise _stale(None)
            note = Note(appointment_id=appointment.id, author_id=actor.id,
                        young_person_id=appointment.young_person_id, revision=1, saved_at=now, **_values(data))
            note.outcomes = [NoteOutcome(outcome=n, progress=p) for n, p in data.outcomes.items()]
            session.add(note)
            return note
        if note.author_id != actor.id:
            raise Forbidden(_("Solo l'autore modifica questa nota."))
        changed = session.execute(
            sa.update(Note).where(Note.id == note.id, Note.revision == revision, Note.status == NoteStatus.DRAFT)
            .values(revision=Note.revision + 1, saved_at=now, **_values(data))
            .execution_options(synchronize_session=False)
        ).rowcount
        if changed != 1:
            session.refresh(note)
            raise _stale(note)
        session.execute(sa.delete(NoteOutcome).where(NoteOutcome.note_id == note.id))
        for n, p in data.outcomes.items():
            session.add(NoteOutcome(note_id=note.id, outcome=n, progress=p))
        note_id = note.id  # read before expiring: reading it after would reload the note with every relation
    db.session.expire_all()
    return db.session.scalar(sa.select(Note).options(orm.lazyload("*")).where(Note.id == note_id))


# --- Finalising -----------------------------------------------------------------------------

def validate_for_final(note: Note) -> None:
    """The rules a note meets before it is locked (Invalid with the first problem, per field)."""
    if note.appointment.status != Status.ATTENDED:
        raise Invalid(_("Si finalizza solo la nota di un appuntamento svolto: chiedi allo sportello di registrare "
                        "la presenza, la bozza intanto resta salvata."), field="appointment")
    if not note.outcomes:
        raise Invalid(_("Indica almeno un obiettivo lavorato nel colloquio."), field="outcomes")
    if not note.summary:
        raise Invalid(_("Scrivi la sintesi del colloquio."), field="summary")
    if "altro" in note.referral_codes and not note.referral_other:
        raise Invalid(_("Specifica a quale altro servizio è stato fatto l'invio."), field="referral_other")


def _render(note: Note, **context) -> tuple[bytes, str]:
    return pdf.render_pdf(note_html(note, **context))


def note_html(note: Note, *, number: int, generated_at: datetime, note_hash: str, addenda, shown_hash: str,
              finalised_at: datetime, finalised_by: User) -> str:
    """The HTML of one version of a note's PDF."""
    return pdf.render_html(
        "pdf/note.html", notes=[note], number=number, generated_at=generated_at, note_hash=note_hash,
        footer_hash=shown_hash, addenda_of={note.id: list(addenda)}, finalised_at_of={note.id: finalised_at},
        finalised_by_of={note.id: finalised_by}, show_name=current_app.config.get("NOTES_PDF_SHOW_NAME", False),
        dossier=False)


def _archive_path(note: Note, number: int, digest: str) -> str:
    return f"notes/{note.id}/v{number}-{digest[:12]}.pdf"


def finalise(actor, appointment_id: int, data: NoteData, revision: int) -> Note:
    """Save, validate, render and archive the PDF, then lock the note (a failed render leaves a draft)."""
    note = save_draft(actor, appointment_id, data, revision)
    validate_for_final(note)
    now = utcnow()
    note_hash = content_hash(note)
    pdf_bytes, variant = _render(note, number=1, generated_at=now, note_hash=note_hash, addenda=[],
                                 shown_hash=note_hash, finalised_at=now, finalised_by=actor)
    digest = pdf.sha256(pdf_bytes)
    relative = _archive_path(note, 1, digest)
    pdf.archive_write(relative, pdf_bytes)
    try:
        with serialised_write() as session:
            locked = session.execute(
                sa.update(Note).where(Note.id == note.id, Note.revision == note.revision,
                                      Note.status == NoteStatus.DRAFT)
                .values(status=NoteStatus.FINAL, finalised_at=now, finalised_by_id=actor.id, content_hash=note_hash)
                .execution_options(synchronize_session=False)
            ).rowcount
            if locked != 1:
                session.refresh(note)
                raise _stale(note)
            session.add(NoteVersion(note_id=note.id, number=1, created_at=now, created_by_id=actor.id,
                                    addenda_count=0, content_hash=note_hash, pdf_path=relative, pdf_sha256=digest,
                                    pdf_size=len(pdf_bytes), pdf_variant=variant))
            audit.record("note.finalised", actor=actor, object_type="note", object_id=note.id,
                         details={"version": 1, "content_hash": note_hash})
            if note.needs_attention:
                _notify_attention(note)
    except BaseException:
        pdf.archive_remove(relative)
        raise
    db.session.expire_all()
    return db.session.get(Note, note.id)


def _notify_attention(note: Note) -> None:
    """In the caller's transaction: e-mail the author's coordinators (a link, never the note's content)."""
    coordinators = db.session.scalars(sa.select(User).where(
        User.organisation_id == note.author.organisation_id, User.role == Role.COORDINATOR,
        User.active.is_(True))).all()
    link = current_app.config["PUBLIC_BASE_URL"].rstrip("/") + url_for("notes.view", note_id=note.id)
    for coordinator in coordinators:
        queue_mail(coordinator.email, _("Hub dei Talenti: una nota richiede attenzione"), _(
            "Buongiorno,\n\n%(tutor)s ha segnalato che una nota di colloquio richiede l'attenzione del "
            "coordinamento.\nPer motivi di riservatezza il contenuto non è riportato in questo messaggio: "
            "aprilo nell'intranet dopo l'accesso.\n\n%(link)s\n\nHub dei Talenti — messaggio automatico",
            tutor=note.author.full_name, link=link), dedup_key=f"note-attention-{note.id}-{coordinator.id}")


# --- Addenda --------------------------------------------------------------------------------

def add_addendum(actor, note: Note, text: str) -> NoteAddendum:
    """Append a dated addendum and archive a new PDF version that includes it (old versions kept)."""
    if not policy.can_add_addendum(actor, note):
        raise Forbidden(_("Solo l'autore della nota o il suo coordinatore aggiungono integrazioni."))
    text = normalise_text(text)
    if not text:
        raise Invalid(_("Scrivi il testo dell'integrazione."), field="text")
    if len(text) > MAX_ADDENDUM_CHARS:
        raise Invalid(_("L'integrazione supera i %(n)s caratteri.", n=MAX_ADDENDUM_CHARS), field="text")
    now = utcnow()
    addendum = NoteAddendum(note_id=note.id, author_id=actor.id, created_at=now, text=text)
    addendum.author = actor
    addenda = [*note.addenda, addendum]
    number = len(note.versions) + 1
    shown = version_hash(note.content_hash, addenda)
    finaliser = db.session.get(User, note.finalised_by_id)
    pdf_bytes, variant = _render(note, number=number, generated_at=now, note_hash=note.content_hash,
                                 addenda=addenda, shown_hash=shown, finalised_at=note.finalised_at,
                                 finalised_by=finaliser)
    digest = pdf.sha256(pdf_bytes)
    relative = _archive_path(note, number, digest)
    pdf.archive_write(relative, pdf_bytes)
    try:
        with serialised_write() as session:
            session.add(NoteAddendum(note_id=note.id, author_id=actor.id, created_at=now, text=text))
            session.add(NoteVersion(note_id=note.id, number=number, created_at=now, created_by_id=actor.id,
                                    addenda_count=len(addenda), content_hash=shown, pdf_path=relative,
                                    pdf_sha256=digest, pdf_size=len(pdf_bytes), pdf_variant=variant))
            try:
                session.flush()
            except sa.exc.IntegrityError:
                raise Conflict(_("Un'altra integrazione è stata aggiunta nel frattempo: ricarica la pagina e "
                                 "riprova (il tuo testo è ancora nel modulo).")) from None
            audit.record("note.addendum", actor=actor, object_type="note", object_id=note.id,
                         details={"version": number})
    except BaseException:
        pdf.archive_remove(relative)
        raise
    db.session.expire_all()
    return db.session.scalar(sa.select(NoteAddendum).where(NoteAddendum.note_id == note.id)
                             .order_by(NoteAddendum.id.desc()).limit(1))


def acknowledge_attention(actor, note: Note) -> None:
    """The coordinator's "presa visione" of a flagged note (the one column a final note may still change)."""
    if not policy.can_acknowledge_attention(actor, note):
        raise Forbidden(_("Solo il coordinatore dell'ente prende visione di una segnalazione."))
    with serialised_write() as session:
        session.execute(sa.update(Note).where(Note.id == note.id, Note.attention_seen_at.is_(None))
                        .values(attention_seen_at=utcnow()).execution_options(synchronize_session=False))
        audit.record("note.attention_seen", actor=actor, object_type="note", object_id=note.id)
    db.session.expire_all()


# --- Reading --------------------------------------------------------------------------------

def readable_note(actor, note_id: int) -> Note | None:
    """The note if the actor may read it (`policy.scoped_notes`), without its relations: one short statement.

    The model's joined relations (appointment, desk, towns, people, organisations) made a ten-table
    join whose planning cost more than the rest of a PDF download."""
    query = sa.select(Note).options(orm.lazyload("*")).where(Note.id == note_id)
    return db.session.scalar(policy.scoped_notes(query, actor))


def archived_version(note: Note, number: int | None = None) -> NoteVersion | None:
    """An archived PDF version of a final note: the given number, or the latest."""
    query = sa.select(NoteVersion).where(NoteVersion.note_id == note.id)
    if number:
        return db.session.scalar(query.where(NoteVersion.number == number))
    return db.session.scalar(query.order_by(NoteVersion.number.desc()).limit(1))


def version_bytes(version: NoteVersion) -> bytes:
    """The archived PDF, checked against its stored SHA-256 (RuntimeError when the archive was altered)."""
    data = pdf.archive_read(version.pdf_path)
    if pdf.sha256(data) != version.pdf_sha256:
        raise RuntimeError(f"archived PDF of note version {version.id} does not match its hash")
    return data


def record_read(actor, note: Note, *, action: str = "note.read", reason: str | None = None,
                version: int | None = None) -> None:
    """Audit a view or download at once (its own transaction)."""
    details = {"version": version} if version else None
    audit.record_now(action, actor=actor, object_type="note", object_id=note.id, reason=reason, details=details)


def person_final_notes(actor, person_id: int) -> list[Note]:
    """Final notes of one young person that the actor may read, oldest first (for the dossier)."""
    query = (policy.scoped_notes(sa.select(Note), actor)
             .where(Note.young_person_id == person_id, Note.status == NoteStatus.FINAL)
             .join(Appointment, Appointment.id == Note.appointment_id).order_by(Appointment.starts_at))
    return list(db.session.scalars(query).unique())


def render_dossier(actor, notes: list[Note]) -> bytes:
    """One PDF with every given final note and its addenda (rendered now, not archived)."""
    now = utcnow()
    html = pdf.render_html(
        "pdf/note.html", notes=notes, number=None, generated_at=now, note_hash=None,
        footer_hash=_digest([n.content_hash for n in notes]), addenda_of={n.id: list(n.addenda) for n in notes},
        finalised_at_of={n.id: n.finalised_at for n in notes},
        finalised_by_of={n.id: db.session.get(User, n.finalised_by_id) for n in notes},
        show_name=current_app.config.get("NOTES_PDF_SHOW_NAME", False), dossier=True)
    data, _variant = pdf.render_pdf(html)
    for note in notes:
        audit.record_now("note.download", actor=actor, object_type="note", object_id=note.id,
                         details={"dossier": True})
    return data


# --- Follow-up ------------------------------------------------------------------------------

def request_follow_up(actor, appointment_id: int) -> int:
    """A tutor asks the desk's operators to book a follow-up: an e-mail with a link to the pre-filled booking."""
    appointment = writable_appointment(actor, appointment_id)
    operators = db.session.scalars(sa.select(User).where(
        User.id.in_(sa.select(desk_operators.c.user_id).where(desk_operators.c.desk_id == appointment.desk_id)),
        User.active.is_(True))).all()
    if not operators:
        raise Invalid(_("Lo sportello non ha operatori a cui inoltrare la richiesta: contatta il coordinamento."))
    link = current_app.config["PUBLIC_BASE_URL"].rstrip("/") + follow_up_url(appointment)
    for operator in operators:
        queue_mail(operator.email, _("Hub dei Talenti: richiesta di appuntamento di follow-up"), _(
            "Buongiorno,\n\n%(tutor)s chiede di fissare un nuovo appuntamento con la persona %(code)s allo "
            "sportello %(desk)s.\nPrenota dal percorso già compilato:\n\n%(link)s\n\nHub dei Talenti — "
            "messaggio automatico", tutor=actor.full_name, code=appointment.young_person.code,
            desk=appointment.desk.name, link=link))
    audit.record("note.follow_up", actor=actor, object_type="booking", object_id=appointment.id)
    db.session.commit()
    return len(operators)


def follow_up_url(appointment: Appointment) -> str:
    """The booking flow pre-filled with the same person, service, desk and tutor."""
    return url_for("bookings.new", person=appointment.young_person_id, service=appointment.service,
                   desk=appointment.desk_id, tutor=appointment.tutor_id)
