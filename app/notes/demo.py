"""Demo notes (HUB_DEMO=1 only): the latest attended sessions of every tutor carry a note.

Per tutor, the NOTES_PER_TUTOR most recent attended appointments: the newest DRAFTS_PER_TUTOR
stay drafts, the others are final with an archived PDF (version 1), a few with an addendum
(version 2). Deterministic (seeded random), idempotent (skipped when any note exists); all
PDFs are rendered by one limited child process (batch mode of the render worker).
"""

from __future__ import annotations

import random
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from app.extensions import db
from app.models import (
    Appointment,
    Note,
    NoteAddendum,
    NoteOutcome,
    NoteStatus,
    NoteVersion,
    Organisation,
    Status,
    User,
)
from app.models.base import utcnow
from app.notes import pdf, services

SEED = 2606
NOTES_PER_TUTOR = 7
DRAFTS_PER_TUTOR = 2

TOPICS = ["Scelta dopo la terza media", "Orientamento universitario", "Curriculum e lettera di presentazione",
          "Ricerca di un tirocinio", "Gestione dell'ansia per gli esami", "Rapporto con la famiglia",
          "Primo colloquio di lavoro", "Idea di impresa", "Stereotipi nelle scelte di studio"]
SUMMARIES = [
    "Colloquio sereno. Ha raccontato cosa le piace fare nel tempo libero e abbiamo collegato le passioni a "
    "possibili percorsi di studio.\n\nEmerge il timore di deludere i genitori: ne parleremo ancora.",
    "Abbiamo ripreso il curriculum preparato la volta scorsa e lo abbiamo adattato a due annunci reali della "
    "zona. Buona capacità di descrivere le proprie esperienze di volontariato.",
    "Incontro dedicato alle paure legate alla scelta. Abbiamo distinto ciò che dipende da lui da ciò che non "
    "dipende, con un esercizio sui punti di forza.",
    "Ha portato domande precise sui corsi ITS della zona; abbiamo consultato insieme i siti e fissato i criteri "
    "che per lei contano (distanza, laboratori, stage).",
    "Racconta un periodo di chiusura dopo la pandemia, ora in miglioramento. Concordata la partecipazione al "
    "laboratorio di gruppo del giovedì.",
]
AGREEMENTS = ["Visita all'open day entro fine mese.", "Inviare il curriculum a tre aziende entro venerdì.",
              "Parlarne in famiglia e riportare le impressioni al prossimo incontro.",
              "Iscrizione al laboratorio di orientamento.", ""]
REFERRAL_SETS = [[], [], ["scuola"], ["centro_impiego"], ["consultorio"], ["servizi_sociali"]]


def _already_seeded() -> bool:
    return db.session.scalar(sa.select(Note.id).limit(1)) is not None


def seed_notes(orgs: dict[str, Organisation]) -> int:
    """Add notes to the demo's recent attended appointments; returns how many notes."""
    if _already_seeded():
        return 0
    # Labels and dates are rendered as on a page (Italian): templates need a request context.
    with current_app.test_request_context():
        return _seed_notes()


def _seed_notes() -> int:
    rng = random.Random(SEED)
    now = utcnow()
    tutors = db.session.scalars(sa.select(User).where(User.role == "tutor").order_by(User.id)).all()
    notes: list[Note] = []
    finals: list[Note] = []
    for tutor in tutors:
        appointments = db.session.scalars(
            sa.select(Appointment).where(Appointment.tutor_id == tutor.id, Appointment.status == Status.ATTENDED,
                                         Appointment.ends_at < now)
            .order_by(Appointment.starts_at.desc()).limit(NOTES_PER_TUTOR)).all()
        for index, appointment in enumerate(appointments):
            saved = appointment.ends_at + timedelta(minutes=rng.randint(10, 90))
            note = Note(appointment_id=appointment.id, author_id=tutor.id, young_person_id=appointment.young_person_id,
                        status=NoteStatus.DRAFT, topics=rng.choice(TOPICS), summary=rng.choice(SUMMARIES),
                        agreements=rng.choice(AGREEMENTS), referrals=",".join(rng.choice(REFERRAL_SETS)),
                        needs_attention=rng.random() < 0.15, revision=rng.randint(2, 9), created_at=saved,
                        saved_at=saved)
            note.outcomes = [NoteOutcome(outcome=n, progress=rng.choice(["avviato", "in_corso", "raggiunto"]))
                             for n in sorted(rng.sample(range(1, 8), rng.randint(1, 3)))]
            db.session.add(note)
            notes.append(note)
            if index >= DRAFTS_PER_TUTOR:
                finals.append(note)
    db.session.flush()
    if not finals:
        return len(notes)

    # Final notes: hash the content, render version 1 of each in one child process, archive.
    documents, stamps = [], []
    for note in finals:
        finalised_at, note_hash = note.saved_at + timedelta(minutes=5), services.content_hash(note)
        stamps.append((finalised_at, note_hash))
        documents.append(services.note_html(
            note, number=1, generated_at=finalised_at, note_hash=note_hash, addenda=[],
            shown_hash=note_hash, finalised_at=finalised_at, finalised_by=note.author))
    pdfs, variant = pdf.render_many(documents)
    for note, data, (finalised_at, note_hash) in zip(finals, pdfs, stamps, strict=True):
        digest = pdf.sha256(data)
        relative = f"notes/{note.id}/v1-{digest[:12]}.pdf"
        pdf.archive_write(relative, data)
        note.status, note.finalised_at, note.content_hash = NoteStatus.FINAL, finalised_at, note_hash
        note.finalised_by_id = note.author_id
        db.session.flush()
        db.session.add(NoteVersion(note_id=note.id, number=1, created_at=note.finalised_at,
                                   created_by_id=note.author_id, addenda_count=0, content_hash=note.content_hash,
                                   pdf_path=relative, pdf_sha256=digest, pdf_size=len(data), pdf_variant=variant))

    # A few addenda, each with its version 2.
    corrected = finals[::5]
    documents = []
    for note in corrected:
        addendum = NoteAddendum(note_id=note.id, author_id=note.author_id,
                                created_at=min(note.finalised_at + timedelta(days=1), now - timedelta(minutes=30)),
                                text="Correzione: l'appuntamento concordato è slittato alla settimana successiva.")
        db.session.add(addendum)
        db.session.flush()
        note_addenda = [addendum]
        documents.append(services.note_html(
            note, number=2, generated_at=addendum.created_at, note_hash=note.content_hash, addenda=note_addenda,
            shown_hash=services.version_hash(note.content_hash, note_addenda), finalised_at=note.finalised_at,
            finalised_by=note.author))
    if documents:
        pdfs, variant = pdf.render_many(documents)
        for note, data in zip(corrected, pdfs, strict=True):
            digest = pdf.sha256(data)
            relative = f"notes/{note.id}/v2-{digest[:12]}.pdf"
            pdf.archive_write(relative, data)
            addenda = db.session.scalars(sa.select(NoteAddendum).where(NoteAddendum.note_id == note.id)).all()
            db.session.add(NoteVersion(note_id=note.id, number=2, created_at=addenda[-1].created_at,
                                       created_by_id=note.author_id, addenda_count=1,
                                       content_hash=services.version_hash(note.content_hash, addenda),
                                       pdf_path=relative, pdf_sha256=digest, pdf_size=len(data),
                                       pdf_variant=variant))
    db.session.flush()
    return len(notes)
