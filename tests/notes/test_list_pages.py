"""The notes list, a page at a time: every readable note once, newest session first, whatever the cursor."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app import policy
from app.extensions import db
from app.models import Appointment, Note, NoteStatus, Status
from app.models.base import utcnow
from app.notes import listing
from tests.bookings.factories import make_person


def _appointment(desk, tutor, person, start) -> Appointment:
    row = Appointment(desk_id=desk.id, tutor_id=tutor.id, young_person_id=person.id, service="orientamento",
                      mode="presenza", starts_at=start, ends_at=start + timedelta(minutes=45),
                      status=Status.ATTENDED, uid=f"{uuid.uuid4()}@test")
    db.session.add(row)
    db.session.flush()
    return row


def _note(appointment, *, final: bool, needs_attention: bool = False, seen: bool = False) -> Note:
    row = Note(appointment_id=appointment.id, author_id=appointment.tutor_id, needs_attention=needs_attention,
               young_person_id=appointment.young_person_id, summary="Testo.", attention_seen_at=utcnow() if seen else None)
    if final:
        row.status, row.finalised_at, row.finalised_by_id = NoteStatus.FINAL, utcnow(), appointment.tutor_id
        row.content_hash = "0" * 64
    db.session.add(row)
    db.session.flush()
    return row


@pytest.fixture
def history(world, make_user):
    """Twelve three-hour windows of notes by the tutor, a colleague and an outsider, with ties at each window's start.

    The tutor met `world.person`; the colleague also sees someone the tutor never met and a protected
    person of their own; every fourth window's notes are drafts."""
    w = world
    alone = make_person(w.network, w.operator, first_name="Solo", registered_desk=w.desk)
    protected = make_person(w.network, w.operator, first_name="Protetta", protected=True, tutor=w.colleague,
                            registered_desk=w.desk)
    outsider_person = make_person(w.network, w.operator, first_name="Esterna")
    base = utcnow().replace(microsecond=0) - timedelta(days=1)
    for k in range(12):
        start = base - timedelta(hours=3 * k)
        final = k % 4 != 1
        for tutor, person, offset in ((w.tutor, w.person, 0), (w.colleague, alone, 0),
                                      (w.outsider_tutor, outsider_person, 0), (w.colleague, w.person, 60),
                                      (w.colleague, protected, 120)):
            _note(_appointment(w.desk, tutor, person, start - timedelta(minutes=offset)), final=final)
    admin = make_user("admin")
    db.session.commit()
    return {"tutor": w.tutor, "colleague": w.colleague, "coordinator": w.coordinator,
            "outsider_coordinator": w.outsider_coordinator, "admin": admin}


def _expected(user) -> list[int]:
    """The readable notes by the policy's own query, newest session first."""
    if policy.needs_breakglass(user):
        query = policy.scoped_breakglass_notes(sa.select(Note), user).where(Note.status == NoteStatus.FINAL)
    else:
        query = policy.scoped_notes(sa.select(Note), user)
    notes = db.session.scalars(query).unique().all()
    return [n.id for n in sorted(notes, key=lambda n: (n.appointment.starts_at, n.id), reverse=True)]


def _walk(user, size: int) -> list[int]:
    seen, cursor = [], None
    for _ in range(500):
        page = listing.notes_page(user, cursor, size=size)
        assert len(page.notes) <= size
        seen += [n.id for n in page.notes]
        if page.older is None:
            return seen
        cursor = page.older
    raise AssertionError("the pages never end")


@pytest.mark.parametrize("who", ["tutor", "colleague", "coordinator", "outsider_coordinator", "admin"])
@pytest.mark.parametrize("size, scan_limit", [(4, 1000), (7, 1000), (3, 5), (50, 1000)])
def test_pages_hold_every_readable_note_once_newest_first(app, history, monkeypatch, who, size, scan_limit):
    """Following the cursor gives exactly the policy's notes, in order, across ties and short (capped) pages."""
    monkeypatch.setattr(listing, "SCAN_LIMIT", scan_limit)
    user = history[who]
    expected = _expected(user)
    assert _walk(user, size) == expected
    if who in ("tutor", "coordinator", "admin") and size < 50:
        assert len(expected) > size  # the walk really crossed pages


def test_session_start_is_copied_from_the_appointment(app, world):
    """The database fills a note's session start from its appointment, whoever writes the row."""
    note = _note(world.appointment, final=False)
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Note, note.id).session_starts_at == world.appointment.starts_at


def test_flagged_notes_are_the_open_flags_the_reader_may_see(app, history, world):
    """"Da attenzionare": final flagged notes of others not yet seen, within the reading scope, newest first."""
    start = utcnow().replace(microsecond=0) - timedelta(days=40)
    flagged = []
    for k, (tutor, seen, final) in enumerate([(world.colleague, False, True), (world.colleague, True, True),
                                              (world.colleague, False, False), (world.outsider_tutor, False, True),
                                              (world.colleague, False, True)]):
        person = world.person if tutor is world.colleague else make_person(world.network, world.operator)
        note = _note(_appointment(world.desk, tutor, person, start - timedelta(hours=k)), final=final,
                     needs_attention=True, seen=seen)
        flagged.append(note.id)
    db.session.commit()
    open_ones = [flagged[0], flagged[4]]  # not seen, not a draft, not another organisation's
    assert [n.id for n in listing.flagged_notes(history["coordinator"])] == open_ones
    assert [n.id for n in listing.flagged_notes(history["tutor"])] == open_ones  # the tutor met that person
    assert listing.flagged_notes(history["colleague"]) == []  # their own flags are not news to them


@pytest.mark.parametrize("cursor", ["", "nonsense", "99999999999999999999-1", "20250101000000000000-99999999999",
                                    "20250101000000000000--1", "1" * 5000, "20250101000000000000-1'--"])
def test_a_tampered_cursor_shows_the_first_page(app, history, client_for, monkeypatch, cursor):
    """A cursor that is not ours is ignored: the first page, never an error."""
    monkeypatch.setattr(listing, "PAGE_SIZE", 2)
    client = client_for(history["tutor"])
    first = client.get("/note").get_data(as_text=True)
    answer = client.get("/note", query_string={"prima": cursor})
    assert answer.status_code == 200
    assert _note_links(answer.get_data(as_text=True)) == _note_links(first)


def _note_links(html: str) -> list[str]:
    return re.findall(r'href="(/note/\d+|/appuntamenti/\d+/nota)"', html)


def test_the_page_links_reach_every_note(app, history, client_for, monkeypatch):
    """Without JavaScript: "Note più vecchie" until the end, each page a full page, the first one a link away."""
    monkeypatch.setattr(listing, "PAGE_SIZE", 5)
    tutor = history["tutor"]
    client = client_for(tutor)
    url, seen, pages = "/note", [], 0
    while url:
        answer = client.get(url)
        assert answer.status_code == 200
        html = answer.get_data(as_text=True)
        assert answer.headers["Cache-Control"] == "no-store"
        seen += _note_links(html)
        pages += 1
        assert ("Note più recenti" in html) == (pages > 1)
        older = re.search(r'href="(/note\?prima=[^"]+)"', html)
        url = older.group(1).replace("&amp;", "&") if older else None
    assert pages > 1
    assert len(seen) == len(_expected(tutor)) == len(set(seen))


def test_who_read_the_notes_is_shown_to_the_watchers_only(app, history, world, client_for):
    """The reads box: the author and their coordinator see a colleague's read; another organisation does not."""
    note = db.session.scalar(sa.select(Note).where(Note.author_id == world.tutor.id, Note.status == NoteStatus.FINAL,
                                                   Note.young_person_id == world.person.id).limit(1))
    assert client_for(world.colleague).get(f"/note/{note.id}").status_code == 200
    for watcher, sees in ((world.tutor, True), (world.coordinator, True), (world.outsider_coordinator, False)):
        page = client_for(watcher).get("/note").get_data(as_text=True)
        box = page[page.index("Chi ha letto le note"):]
        assert (world.colleague.full_name in box) is sees, watcher
