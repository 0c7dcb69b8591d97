"""Session notes: writing, reading, break-glass and addenda."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort

from app.extensions import db
from app.policy.bookings import can_book
from app.policy.core import ADMIN, COORD, TUTOR, has_permission
from app.policy.people import _org_tutor_ids, scoped_young_people

# --- Session notes -------------------------------------------------------------------------
# BRIEF: a tutor writes and finalises their own notes, and reads finalised notes on the same
# young person by their own organisation; a coordinator reads their organisation's notes;
# the Ufficio di Piano (admin) only by break-glass with a written reason, audited; operators,
# municipal contacts and observers never. Protected records: only their tutor and coordinator.

def scoped_notes(query: sa.Select, user) -> sa.Select:
    """Filter a Note query to the notes whose content the user may read without break-glass."""
    from app.models import Note, NoteStatus, YoungPerson

    if user.role == TUTOR:
        org_tutors = _org_tutor_ids(user.organisation_id)
        people = scoped_young_people(sa.select(YoungPerson.id), user)
        return query.where(sa.or_(
            Note.author_id == user.id,
            sa.and_(Note.status == NoteStatus.FINAL, Note.author_id.in_(org_tutors), Note.young_person_id.in_(people)),
        ))
    if user.role == COORD:
        org_tutors = _org_tutor_ids(user.organisation_id)
        unprotected_or_ours = sa.select(YoungPerson.id).where(
            sa.or_(YoungPerson.protected.is_(False), YoungPerson.tutor_id.in_(org_tutors)))
        return query.where(Note.author_id.in_(org_tutors), Note.young_person_id.in_(unprotected_or_ours))
    return query.where(sa.false())


def scoped_breakglass_notes(query: sa.Select, user) -> sa.Select:
    """Notes the Ufficio di Piano may open by break-glass: all but those on protected records."""
    from app.models import Note, YoungPerson

    if user.role != ADMIN:
        return query.where(sa.false())
    return query.where(Note.young_person_id.in_(sa.select(YoungPerson.id).where(YoungPerson.protected.is_(False))))


def needs_breakglass(user) -> bool:
    """Whether reading a note requires a written reason each time (the Ufficio di Piano)."""
    return user.role == ADMIN


def can_write_note(user, appointment) -> bool:
    """Only the appointment's own tutor writes its note, once the session has started and was not missed."""
    from app.models import Status

    return (user.role == TUTOR and appointment.tutor_id == user.id
            and appointment.status in (Status.BOOKED, Status.CONFIRMED, Status.ATTENDED))


def can_add_addendum(user, note) -> bool:
    """Addenda to a final note: its author, or a coordinator of the author's organisation who may read it."""
    if not note.is_final or not has_permission(user, "notes.addendum"):
        return False
    if user.role == TUTOR:
        return note.author_id == user.id
    return user.role == COORD and note.author.organisation_id == user.organisation_id and can_read_note(user, note)


def can_acknowledge_attention(user, note) -> bool:
    """A coordinator who may read a final note flagged for attention marks it as seen ("presa visione")."""
    return (user.role == COORD and note.is_final and note.needs_attention and note.attention_seen_at is None
            and can_read_note(user, note))


def can_read_note(user, note) -> bool:
    """True when the note is in the user's reading scope (break-glass not counted)."""
    from app.models import Note

    found = db.session.scalar(scoped_notes(sa.select(Note.id), user).where(Note.id == note.id))
    return found is not None


def can_book_follow_up(user, appointment) -> bool:
    """The follow-up goes straight to the booking flow for those who book; a tutor asks the desk instead."""
    return can_book(user, appointment.desk, appointment.tutor)


def get_note_or_404(note_id: int, user, *, breakglass: bool = False):
    """Load a note the user may read (404 otherwise, no existence leak); admin only with breakglass=True."""
    from app.models import Note

    query = sa.select(Note).where(Note.id == note_id)
    if needs_breakglass(user):
        if not breakglass:
            abort(404)
        note = db.session.scalar(scoped_breakglass_notes(query, user))
    else:
        note = db.session.scalar(scoped_notes(query, user))
    if note is None:
        abort(404)
    return note


def watched_notes(query: sa.Select, user) -> sa.Select:
    """Notes whose reads the user is shown: a tutor their own, a coordinator their organisation's."""
    from app.models import Note

    if user.role == TUTOR:
        return query.where(Note.author_id == user.id)
    if user.role == COORD:
        return query.where(Note.author_id.in_(_org_tutor_ids(user.organisation_id)))
    return query.where(sa.false())


