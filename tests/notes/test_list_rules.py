"""Who may read which note: the policy's one rule, in both of its forms, checked against the BRIEF written out in Python.

`tests/notes/test_list_pages.py` checks that the list shows exactly what `scoped_notes` selects; these
tests pin the rule itself, so a change of the shared definition fails here even when both sides follow it.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app import audit, policy
from app.extensions import db
from app.models import Appointment, Note, NoteStatus, User, YoungPerson
from app.models.base import utcnow
from app.notes import listing
from app.policy.notes import breakglass_rule, note_reading_rule
from tests.bookings.factories import make_person
from tests.notes.test_list_pages import _appointment, _note


@pytest.fixture
def cases(world, make_user):
    """Notes that each clause of the rule decides: drafts, protected records, people followed, met or not, other partners.

    Returns the readers by name and the notes by a short label."""
    w = world
    me = w.tutor
    followed = make_person(w.network, w.operator, first_name="Seguita", tutor=me, registered_desk=w.desk)
    stranger = make_person(w.network, w.operator, first_name="Mai vista", registered_desk=w.desk)
    mine_protected = make_person(w.network, w.operator, first_name="Mia protetta", protected=True, tutor=me,
                                 registered_desk=w.desk)
    theirs_protected = make_person(w.network, w.operator, first_name="Sua protetta", protected=True,
                                   tutor=w.colleague, registered_desk=w.desk)
    outside_protected = make_person(w.network, w.operator, first_name="Protetta fuori", protected=True,
                                    tutor=w.outsider_tutor, registered_desk=w.desk)
    start = utcnow().replace(microsecond=0) - timedelta(days=3)
    plan = {  # label: (author, person, final)
        "own draft": (me, w.person, False),
        "own final": (me, w.person, True),
        "colleague final, person I met": (w.colleague, w.person, True),
        "colleague draft, person I met": (w.colleague, w.person, False),
        "colleague final, person I follow": (w.colleague, followed, True),
        "colleague final, person I never met": (w.colleague, stranger, True),
        "colleague final, protected, theirs": (w.colleague, theirs_protected, True),
        "colleague final, protected, mine": (w.colleague, mine_protected, True),
        "colleague final, protected, other partner's tutor": (w.colleague, outside_protected, True),
        "outsider final, person I met": (w.outsider_tutor, w.person, True),
        "outsider draft, protected, theirs": (w.outsider_tutor, outside_protected, False),
    }
    notes = {}
    for k, (label, (author, person, final)) in enumerate(plan.items()):
        notes[label] = _note(_appointment(w.desk, author, person, start - timedelta(hours=k)), final=final).id
    readers = {"tutor": me, "colleague": w.colleague, "coordinator": w.coordinator,
               "outsider_tutor": w.outsider_tutor, "outsider_coordinator": w.outsider_coordinator,
               "operator": w.operator, "admin": make_user("admin")}
    db.session.commit()
    return readers, notes


def _brief(user) -> tuple[set[int], set[int]]:
    """The BRIEF in plain Python over every note: (read without break-glass, open by break-glass)."""
    readable, breakglass = set(), set()
    org_tutors = set(db.session.scalars(sa.select(User.id).where(User.organisation_id == user.organisation_id,
                                                                  User.role == "tutor")))
    for note in db.session.scalars(sa.select(Note)):
        person = db.session.get(YoungPerson, note.young_person_id)
        met = set(db.session.scalars(sa.select(Appointment.tutor_id).where(Appointment.young_person_id == person.id)))
        final = note.status == NoteStatus.FINAL
        if user.role == "tutor":
            follows = person.tutor_id == user.id or user.id in met
            may_see_person = not person.protected or person.tutor_id == user.id
            if note.author_id == user.id or (final and note.author_id in org_tutors and follows and may_see_person):
                readable.add(note.id)
        elif user.role == "coordinator":
            if note.author_id in org_tutors and (not person.protected or person.tutor_id in org_tutors):
                readable.add(note.id)
        elif user.role == "admin" and not person.protected:
            breakglass.add(note.id)
    return readable, breakglass


def _ids(condition) -> set[int]:
    return set(db.session.scalars(sa.select(Note.id).where(condition)))


READERS = ["tutor", "colleague", "coordinator", "outsider_tutor", "outsider_coordinator", "operator", "admin"]


@pytest.mark.parametrize("who", READERS)
def test_both_forms_of_the_rule_are_the_brief(app, cases, who):
    """The IN form (scoped_notes, dossier, note pages) and the per-note form (the list) select what the BRIEF says."""
    readers, _notes = cases
    user = readers[who]
    readable, breakglass = _brief(user)
    assert set(db.session.scalars(policy.scoped_notes(sa.select(Note.id), user))) == readable
    assert _ids(note_reading_rule(user, per_note=True)) == readable
    assert set(db.session.scalars(policy.scoped_breakglass_notes(sa.select(Note.id), user))) == breakglass
    assert _ids(breakglass_rule(user, per_note=True)) == breakglass


def test_the_cases_decide_each_clause(app, cases):
    """The fixture really separates the clauses (else the test above would pass on a weaker rule)."""
    readers, notes = cases
    tutor, _ = _brief(readers["tutor"])
    coordinator, _ = _brief(readers["coordinator"])
    _, admin = _brief(readers["admin"])
    assert {label for label, i in notes.items() if i in tutor} == {
        "own draft", "own final", "colleague final, person I met", "colleague final, person I follow",
        "colleague final, protected, mine"}
    assert {label for label, i in notes.items() if i in coordinator} == {
        "own draft", "own final", "colleague final, person I met", "colleague draft, person I met",
        "colleague final, person I follow", "colleague final, person I never met",
        "colleague final, protected, theirs", "colleague final, protected, mine"}
    assert notes["colleague final, protected, theirs"] not in admin
    assert notes["outsider final, person I met"] in admin
    assert _brief(readers["operator"]) == (set(), set())


@pytest.mark.parametrize("who", READERS)
def test_the_list_shows_the_brief(app, cases, who):
    """The notes list, page after page: the BRIEF's notes (final ones for the Ufficio di Piano), newest first."""
    readers, _notes = cases
    user = readers[who]
    readable, breakglass = _brief(user)
    if policy.needs_breakglass(user):
        readable = {i for i in breakglass if db.session.get(Note, i).status == NoteStatus.FINAL}
    seen, cursor = [], None
    while True:
        page = listing.notes_page(user, cursor, size=3)
        seen += [n.id for n in page.notes]
        if page.older is None:
            break
        cursor = page.older
    assert len(seen) == len(set(seen))
    assert set(seen) == readable
    starts = [db.session.get(Note, i).session_starts_at for i in seen]
    assert starts == sorted(starts, reverse=True)


def test_reads_box_shows_only_watched_readable_notes(app, cases, world):
    """Who read your notes: watched and readable notes only; an event naming no note is left out."""
    readers, notes = cases
    own = notes["own final"]
    not_for_tutor = notes["colleague final, person I never met"]  # the colleague's: the tutor does not read it
    not_for_coordinator = notes["colleague final, protected, other partner's tutor"]  # only its author reads it
    audit.record_now("note.read", actor=world.colleague, object_type="note", object_id=own)
    audit.record_now("note.download", actor=world.coordinator, object_type="note", object_id=not_for_tutor)
    audit.record_now("note.read", actor=world.colleague, object_type="note", object_id="non-un-numero")
    audit.record_now("note.download", actor=world.colleague, object_type="note", object_id=not_for_coordinator)
    audit.record_now("breakglass", actor=readers["admin"], object_type="note", object_id=own, reason="Verifica")
    tutor_reads = listing.recent_reads(world.tutor)
    assert [(r.note_id, r.action, r.actor_name, r.actor_role, r.reason) for r in tutor_reads] == [
        (own, "breakglass", readers["admin"].full_name, "admin", "Verifica"),
        (own, "note.read", world.colleague.full_name, "tutor", None)]
    assert tutor_reads[0].note_starts_at == db.session.get(Note, own).appointment.starts_at
    assert [(r.note_id, r.action) for r in listing.recent_reads(world.coordinator)] == [
        (own, "breakglass"), (not_for_tutor, "note.download"), (own, "note.read")]
    assert [(r.note_id, r.action) for r in listing.recent_reads(world.colleague)] == [
        (not_for_coordinator, "note.download"), (not_for_tutor, "note.download")]
    assert listing.recent_reads(world.outsider_coordinator) == []
    assert listing.recent_reads(readers["admin"]) == []  # the Ufficio di Piano watches no notes


def test_reads_box_walks_at_most_its_batches(app, cases, world, monkeypatch):
    """Reads older than READS_BATCHES x READS_BATCH read events are not looked for; the newest come first."""
    monkeypatch.setattr(listing, "READS_BATCH", 2)
    _readers, notes = cases
    own = notes["own final"]
    for _ in range(3):
        audit.record_now("note.read", actor=world.colleague, object_type="note", object_id=own)
    for _ in range(4):  # four newer reads of a note the tutor does not watch fill the two batches
        audit.record_now("note.read", actor=world.tutor, object_type="note", object_id=notes["colleague final, person I met"])
    assert listing.recent_reads(world.tutor) == []
    audit.record_now("note.download", actor=world.coordinator, object_type="note", object_id=own)
    assert [r.action for r in listing.recent_reads(world.tutor)] == ["note.download"]
    assert [r.action for r in listing.recent_reads(world.tutor, limit=1)] == ["note.download"]


def test_tutors_of_one_partner_share_the_statements_and_each_sees_their_own(app, cases):
    """The list's statements are built once per organisation, the reader bound at each execution: the
    colleague, served by the statements built for the tutor, sees the colleague's notes, never the tutor's."""
    readers, notes = cases
    tutor, colleague = readers["tutor"], readers["colleague"]
    listing._statements.cache_clear()
    listing._flagged_statement.cache_clear()
    listing._reads_statements.cache_clear()
    first = {n.id for n in listing.notes_page(tutor, size=100).notes}
    built = listing._statements.cache_info().misses
    second = {n.id for n in listing.notes_page(colleague, size=100).notes}
    assert listing._statements.cache_info().misses == built  # the same statements served the colleague
    assert first == _brief(tutor)[0] and second == _brief(colleague)[0]
    assert notes["own draft"] in first and notes["own draft"] not in second
    assert notes["colleague draft, person I met"] in second and notes["colleague draft, person I met"] not in first
    # The flags and the reads box too: one build, each reader's own answer.
    listing.flagged_notes(tutor), listing.recent_reads(tutor)
    listing.flagged_notes(colleague), listing.recent_reads(colleague)
    assert listing._flagged_statement.cache_info().misses == listing._reads_statements.cache_info().misses == 1


def test_a_kept_statement_holds_no_reader_and_refuses_to_run_without_one(app, cases):
    readers, _notes = cases
    reader = listing.reader_of(readers["tutor"])
    statements = listing._statements(listing._shape(reader), False, 10, 100)
    assert "scope_user" in statements.page.compile().binds
    assert all(bind.value != reader.id for name, bind in statements.page.compile().binds.items()
               if name.startswith("scope"))
    with pytest.raises(sa.exc.StatementError, match="scope_user"):
        db.session.execute(statements.page).all()
    db.session.rollback()
