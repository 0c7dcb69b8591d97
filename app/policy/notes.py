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

def note_reading_rule(user, note=None, *, org_tutors=None, per_note: bool = False) -> sa.ColumnElement[bool]:
    """Who may read which note without break-glass: THE definition, as a condition on a note's columns.

    `note` is anything with author_id, status and young_person_id columns: Note itself (the default) or
    the columns of a subquery of notes. `org_tutors` are the reader's organisation's tutors: a subquery by
    default, or the ids a caller already holds. The young person's part is asked in one of two forms that
    hold the same notes: `young_person_id IN (the people in scope)` (per_note=False), right for a query
    that applies the rule to many notes; or, per_note=True, an EXISTS on the note's own person by primary
    key (with the scope's per-candidate probes), right when the notes are already a few (a page of a walk,
    a batch of read events): the IN form would build the whole scope first.
    """
    from app.models import Note, NoteStatus, YoungPerson

    if user.role not in (TUTOR, COORD):
        return sa.false()
    note = Note if note is None else note
    if org_tutors is None:
        org_tutors = _org_tutor_ids(user.organisation_id)

    def person_in(people: sa.Select) -> sa.ColumnElement[bool]:
        if per_note:
            return people.where(YoungPerson.id == note.young_person_id).exists()
        return note.young_person_id.in_(people)

    if user.role == TUTOR:
        # Their own notes; finalised notes of their organisation on the young people they follow or met.
        people = scoped_young_people(sa.select(YoungPerson.id), user, per_candidate=per_note)
        return sa.or_(note.author_id == user.id, sa.and_(
            note.status == NoteStatus.FINAL, note.author_id.in_(org_tutors), person_in(people)))
    # Coordinator: their organisation's notes, but a protected record's only when its tutor is one of theirs.
    unprotected_or_ours = sa.select(YoungPerson.id).where(
        sa.or_(YoungPerson.protected.is_(False), YoungPerson.tutor_id.in_(org_tutors)))
    return sa.and_(note.author_id.in_(org_tutors), person_in(unprotected_or_ours))


def breakglass_rule(user, note=None, *, per_note: bool = False) -> sa.ColumnElement[bool]:
    """Which notes the Ufficio di Piano may open by break-glass (all but those on protected records), as a condition."""
    from app.models import Note, YoungPerson

    if user.role != ADMIN:
        return sa.false()
    note = Note if note is None else note
    unprotected = sa.select(YoungPerson.id).where(YoungPerson.protected.is_(False))
    if per_note:
        return unprotected.where(YoungPerson.id == note.young_person_id).exists()
    return note.young_person_id.in_(unprotected)


def listed_notes_rule(user, note, *, org_tutors=None, per_note: bool = False) -> sa.ColumnElement[bool]:
    """The notes a user's notes list shows: those they may read; for the Ufficio di Piano the final ones it may open."""
    from app.models import NoteStatus

    if needs_breakglass(user):
        return sa.and_(note.status == NoteStatus.FINAL, breakglass_rule(user, note, per_note=per_note))
    return note_reading_rule(user, note, org_tutors=org_tutors, per_note=per_note)


def scoped_notes(query: sa.Select, user) -> sa.Select:
    """Filter a Note query to the notes whose content the user may read without break-glass."""
    return query.where(note_reading_rule(user))


def scoped_breakglass_notes(query: sa.Select, user) -> sa.Select:
    """Notes the Ufficio di Piano may open by break-glass: all but those on protected records."""
    return query.where(breakglass_rule(user))


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


def watch_rule(user, note=None, *, org_tutors=None) -> sa.ColumnElement[bool]:
    """Notes whose reads the user is shown, as a condition: a tutor their own, a coordinator their organisation's."""
    from app.models import Note

    note = Note if note is None else note
    if user.role == TUTOR:
        return note.author_id == user.id
    if user.role == COORD:
        return note.author_id.in_(_org_tutor_ids(user.organisation_id) if org_tutors is None else org_tutors)
    return sa.false()

