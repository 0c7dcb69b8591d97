"""The notes list: the notes a user may read, newest session first, one page at a time.

The reading scope is an OR of sets that no index holds in session order, so sorting it cost as much
as the user's whole history. Every note a reader may see has an author from a small known set — the
tutors of the reader's organisation, or anyone for the Ufficio di Piano — so a page merges those
authors' notes newest first (one backward walk of `ix_notes_author_session` each; one walk of
`ix_notes_session` for the Ufficio di Piano) and keeps the readable ones, checked note by note with
the policy's own rule (`policy.notes.listed_notes_rule`, per note). A page examines at most
SCAN_LIMIT notes: when readable notes are sparse the page is shorter and its cursor continues after
the last note examined, so no request reads history beyond that. The cursor is the (session start,
note id) of the last note of the page.

The statements depend only on the reader's role, organisation and its tutors (`_Shape`) and the
page's shape; the reader's own id is a required parameter (`policy.people.user_id_param`) bound at
each execution. So they are built once per organisation and kept, and every tutor of a partner
shares them: building a merge of twenty-odd authors' walks and the rule above it, and computing its
cache key, was most of the page's CPU, and built per reader it was paid again by each tutor in each
worker (the bench's slowest notes lists were those first builds).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from app.domain.numbers import int_or_none
from app.extensions import db
from app.models import Appointment, AuditEvent, Desk, Note, NoteStatus, User, YoungPerson
from app.policy import notes as note_rules
from app.policy.core import COORD, TUTOR
from app.policy.people import SCOPE_USER, user_id_param

PAGE_SIZE = 50
SCAN_LIMIT = 1000
FLAGGED_LIMIT = 20
_TOKEN = re.compile(r"(\d{20})-(\d{1,10})")


@dataclass(frozen=True)
class Cursor:
    """Where a page ends: the session start and id of its last note (the next page is strictly older)."""

    starts_at: datetime
    note_id: int

    def token(self) -> str:
        """The cursor as it travels in the address: 20 digits of UTC time, a dash, the note id."""
        return f"{self.starts_at.astimezone(UTC):%Y%m%d%H%M%S%f}-{self.note_id}"

    @classmethod
    def parse(cls, value: str | None) -> Cursor | None:
        """The cursor in an address, or None for anything else (a tampered cursor shows the first page)."""
        found = _TOKEN.fullmatch(value or "")
        if found is None:
            return None
        try:
            starts_at = datetime.strptime(found[1], "%Y%m%d%H%M%S%f").replace(tzinfo=UTC)
        except ValueError:
            return None
        note_id = int_or_none(found[2])
        return cls(starts_at, note_id) if note_id is not None else None


@dataclass
class NotesPage:
    """One page of the list and the cursor of the next (older) one, if any."""

    notes: list[sa.Row]
    older: Cursor | None


_COLUMNS = (Note.id, Note.session_starts_at, Note.author_id, Note.status, Note.young_person_id)
READS_LIMIT = 20  # each row costs ~0.5 ms of formatting, and older reads stay in the audit log
READS_BATCH = 500
READS_BATCHES = 2
# Reader shapes (about one per organisation and role) whose statements each worker keeps: ~0.6 MiB each at
# scale 1 (a merge of 21 authors' walks: ~250 KiB per page shape, built and with its cache key), so ~20 MiB
# at most; a shape beyond them is built again when next seen.
READERS_KEPT = 32


@dataclass(frozen=True)
class Reader:
    """What the list's statements depend on: the reader as the policy sees them, and their organisation's tutors."""

    id: int
    role: str
    organisation_id: int | None
    org_tutors: tuple[int, ...]


@dataclass
class NotesList:
    """The page "Note dei colloqui": a page of notes, and on the first page the open flags and the latest reads."""

    notes: list[sa.Row]
    older: Cursor | None
    flagged: list[sa.Row]
    reads: list[Read]


@dataclass(frozen=True)
class _Shape:
    """What a reader's statements are built from: the reader without their id (bound at execution)."""

    role: str
    organisation_id: int | None
    org_tutors: tuple[int, ...]
    authors: tuple[int, ...]  # the walk's: the organisation's tutors, and a tutor reader if not among them

    def stand_in(self) -> Reader:
        """The reader the rules are built for: their id a required parameter, never a user's value."""
        return Reader(user_id_param(), self.role, self.organisation_id, self.org_tutors)


def _shape(reader: Reader) -> _Shape:
    authors = set(reader.org_tutors) | ({reader.id} if reader.role == TUTOR else set())
    return _Shape(reader.role, reader.organisation_id, reader.org_tutors, tuple(sorted(authors)))


def _bound(reader: Reader, **values) -> dict:
    return {SCOPE_USER: reader.id, **values}


def reader_of(user) -> Reader:
    """The reader behind a user: their organisation's tutors asked once per request (they change when staff do)."""
    org_tutors = ()
    if user.role in (TUTOR, COORD):
        org_tutors = tuple(db.session.scalars(
            sa.select(User.id).where(User.organisation_id == user.organisation_id, User.role == TUTOR)
            .order_by(User.id)))
    return Reader(user.id, user.role, user.organisation_id, org_tutors)


def _newest_first(c):
    return c.session_starts_at.desc(), c.id.desc()


def _walk(shape: _Shape, *conditions) -> sa.Subquery | None:
    """The notes a page may examine (no access check yet): the scope's authors' notes, merged."""
    if note_rules.needs_breakglass(shape):
        branches = [sa.select(*_COLUMNS).where(*conditions)]
    elif shape.role in (TUTOR, COORD):
        authors = shape.authors
        # Each author's notes as an ordered subquery: PostgreSQL then merges the backward index walks
        # (Merge Append) instead of reading every author's notes in parallel and sorting them.
        shown = [sa.literal_column(c.key, type_=c.type) for c in _COLUMNS]
        branches = [sa.select(*shown).select_from(
                        sa.select(*_COLUMNS).where(Note.author_id == author, *conditions)
                        .order_by(*_newest_first(Note)).subquery(f"author_{n}"))
                    for n, author in enumerate(authors)]
    else:
        return None
    if not branches:
        return None
    return (branches[0] if len(branches) == 1 else sa.union_all(*branches)).subquery("candidates")


def _examined(walk: sa.Subquery, scan_limit: int) -> sa.Subquery:
    # The LIMIT bounds the walk and keeps the access check above the merge (not pushed into each branch).
    return sa.select(walk).order_by(*_newest_first(walk.c)).limit(scan_limit).subquery("examined")


def _shown(chosen: sa.Subquery) -> sa.Select:
    """The chosen notes with only what the list shows (session, desk, person code, author), newest first.

    Plain rows, not ORM objects: the page shows nine columns, and building four related objects
    per note (with their identity map bookkeeping) cost more CPU than the rest of the page. The desk,
    person and author are looked up per shown note by primary key (scalar subqueries): as joins,
    PostgreSQL misjudged how many notes pass the reading rule (5 for 51) and hashed or scanned
    whole small tables instead (3 ms instead of 1 at scale 0.01)."""
    def name(column, key):
        return sa.select(column).where(key).scalar_subquery()

    return (sa.select(chosen.c.id, Note.appointment_id, Note.author_id, Note.needs_attention,
                      (Note.status == NoteStatus.FINAL).label("is_final"), Appointment.starts_at,
                      name(Desk.name, Desk.id == Appointment.desk_id).label("desk_name"),
                      name(YoungPerson.code, YoungPerson.id == Note.young_person_id).label("person_code"),
                      name(User.full_name, User.id == Note.author_id).label("author_name"),
                      chosen.c.session_starts_at)
            .select_from(chosen).join(Note, Note.id == chosen.c.id)
            .join(Appointment, Appointment.id == Note.appointment_id)
            .order_by(*_newest_first(chosen.c)))


@dataclass(frozen=True)
class _Statements:
    """One reader's statements for one page shape (cursor or not, page size, scan limit)."""

    page: sa.Select  # the page's notes (size + 1 of them: one more says a next page exists), shown columns
    last_examined: sa.Select  # the SCAN_LIMIT-th note of the walk: where a short page's cursor continues


@functools.lru_cache(maxsize=2 * READERS_KEPT)  # the first page and the next ones
def _statements(shape: _Shape, with_cursor: bool, size: int, scan_limit: int) -> _Statements | None:
    """Build a reader shape's page statements once (the reader and the cursor are bound at each execution)."""
    conditions = []
    if with_cursor:
        conditions.append(sa.tuple_(Note.session_starts_at, Note.id)
                          < sa.tuple_(sa.bindparam("before_at", type_=Note.session_starts_at.type),
                                      sa.bindparam("before_id", type_=Note.id.type)))
    walk = _walk(shape, *conditions)
    if walk is None:
        return None
    examined = _examined(walk, scan_limit)
    rule = note_rules.listed_notes_rule(shape.stand_in(), examined.c, org_tutors=list(shape.org_tutors),
                                        per_note=True)
    chosen = (sa.select(examined.c.id, examined.c.session_starts_at).where(rule)
              .order_by(*_newest_first(examined.c)).limit(size + 1).subquery("chosen"))
    last = (sa.select(walk.c.session_starts_at, walk.c.id).order_by(*_newest_first(walk.c))
            .offset(scan_limit - 1).limit(1))
    return _Statements(_shown(chosen), last)


@functools.lru_cache(maxsize=READERS_KEPT)
def _flagged_statement(shape: _Shape, limit: int, scan_limit: int) -> sa.Select:
    """A reader shape's "Da attenzionare" statement, built once (the reader bound at each execution)."""
    reader = shape.stand_in()
    walk = sa.select(*_COLUMNS).where(Note.needs_attention, Note.status == NoteStatus.FINAL,
                                      Note.attention_seen_at.is_(None), Note.author_id != reader.id).subquery("open")
    examined = _examined(walk, scan_limit)
    rule = note_rules.listed_notes_rule(reader, examined.c, org_tutors=list(shape.org_tutors), per_note=True)
    return _shown(sa.select(examined.c.id, examined.c.session_starts_at).where(rule)
                  .order_by(*_newest_first(examined.c)).limit(limit).subquery("chosen"))


def notes_page(user, before: Cursor | None = None, *, size: int | None = None,
               reader: Reader | None = None) -> NotesPage:
    """The page of readable notes older than `before` (the newest without it), newest session first."""
    size = size or PAGE_SIZE
    reader = reader or reader_of(user)
    statements = _statements(_shape(reader), before is not None, size, SCAN_LIMIT)
    if statements is None:
        return NotesPage([], None)
    bound = _bound(reader, **({"before_at": before.starts_at, "before_id": before.note_id} if before is not None
                              else {}))
    rows = db.session.execute(statements.page, bound).all()
    if len(rows) > size:
        rows = rows[:size]
        older = Cursor(rows[-1].session_starts_at, rows[-1].id)
    else:
        # A short page: the end of the history, or SCAN_LIMIT notes examined; then continue after the last one.
        last = db.session.execute(statements.last_examined, bound).first()
        older = Cursor(last.session_starts_at, last.id) if last else None
    return NotesPage(rows, older)


def flagged_notes(user, *, limit: int = FLAGGED_LIMIT, reader: Reader | None = None) -> list[sa.Row]:
    """Final notes of others flagged for attention and not yet seen by a coordinator, that the user may read."""
    reader = reader or reader_of(user)
    return db.session.execute(_flagged_statement(_shape(reader), limit, SCAN_LIMIT), _bound(reader)).all()


@dataclass(frozen=True)
class Read:
    """One read or download of a note, as the "who read your notes" box shows it."""

    at: datetime
    actor_name: str | None  # None: no account (a system event)
    actor_role: str | None
    action: str
    reason: str | None
    note_id: int
    note_starts_at: datetime


def _in_ids(column, name: str, dialect: str) -> sa.ColumnElement[bool]:
    """`column IN` a list of ids bound at execution: on PostgreSQL one array parameter (`= ANY(:name)`).

    A batch of the reads box checks ~500 note ids: as an expanding IN that is 500 parameters to render
    and a long statement for the driver to parse on every request, most of the box's CPU."""
    if dialect == "postgresql":
        return column == sa.any_(sa.bindparam(name, type_=postgresql.ARRAY(sa.Integer)))
    return column.in_(sa.bindparam(name, expanding=True))


@dataclass(frozen=True)
class _ReadsStatements:
    """A reader's statements of the reads box."""

    newest: sa.Select  # the ids of the newest read events and the note each names
    older: sa.Select  # the same before an event id
    notes: sa.Select  # of the notes among ids, those watched and readable, with their session start
    details: sa.Select  # what the box shows of the events kept


@functools.lru_cache(maxsize=READERS_KEPT)
def _reads_statements(shape: _Shape, dialect: str, batch: int) -> _ReadsStatements:
    """A reader shape's statements of the reads box, built once (the reader and ids are bound at each execution)."""
    from app.notes.services import READ_ACTIONS  # services imports this module

    reader = shape.stand_in()
    events = (sa.select(AuditEvent.id, AuditEvent.object_id)
              .where(AuditEvent.object_type == "note", AuditEvent.action.in_(READ_ACTIONS)))
    org_tutors = list(shape.org_tutors)
    return _ReadsStatements(
        newest=events.order_by(AuditEvent.id.desc()).limit(batch),
        older=(events.where(AuditEvent.id < sa.bindparam("before", type_=AuditEvent.id.type))
               .order_by(AuditEvent.id.desc()).limit(batch)),
        notes=(sa.select(Note.id, Appointment.starts_at).join(Appointment, Appointment.id == Note.appointment_id)
               .where(_in_ids(Note.id, "ids", dialect), note_rules.watch_rule(reader, org_tutors=org_tutors),
                      note_rules.note_reading_rule(reader, org_tutors=org_tutors, per_note=True))),
        details=(sa.select(AuditEvent.id, AuditEvent.at, AuditEvent.actor_role, AuditEvent.action, AuditEvent.reason,
                           User.full_name.label("actor_name"))
                 .outerjoin(User, User.id == AuditEvent.actor_id).where(_in_ids(AuditEvent.id, "ids", dialect))))


def recent_reads(user, *, limit: int = READS_LIMIT, reader: Reader | None = None) -> list[Read]:
    """The latest reads and downloads of the notes the user watches (own, or their organisation's) and may read.

    Walks the newest read events, a batch at a time, and keeps those whose note is watched and
    readable (checked per note by primary key): never the whole scope against the whole audit log,
    and never more than READS_BATCHES x READS_BATCH events, so the box costs the same however long
    the log grows. The walk reads two columns of each event; the box's columns are read for the
    events kept only (a batch's times and names were most of the box's CPU)."""
    reader = reader or reader_of(user)
    if note_rules.needs_breakglass(reader):
        return []
    statements = _reads_statements(_shape(reader), db.engine.dialect.name, READS_BATCH)
    kept: list[tuple[int, str]] = []  # (event id, note id as the log writes it), newest first
    starts: dict[str, datetime] = {}
    before = None
    for _batch in range(READS_BATCHES):
        batch = db.session.execute(*((statements.newest,) if before is None
                                     else (statements.older, {"before": before}))).all()
        if not batch:
            break
        before = batch[-1].id
        ids = {i for i in (int_or_none(object_id) for _id, object_id in batch) if i is not None}
        # Keyed by the id as the audit log writes it (str(note.id)): an event is matched exactly as written.
        if ids:
            starts.update((str(i), at) for i, at in db.session.execute(statements.notes,
                                                                        _bound(reader, ids=list(ids))))
        kept.extend((event_id, object_id) for event_id, object_id in batch if object_id in starts)
        if len(kept) >= limit or len(batch) < READS_BATCH:
            break
    kept = kept[:limit]
    if not kept:
        return []
    events = {e.id: e for e in db.session.execute(statements.details, {"ids": [i for i, _ in kept]})}
    return [Read(e.at, e.actor_name, e.actor_role, e.action, e.reason, int(object_id), starts[object_id])
            for e, object_id in ((events[i], object_id) for i, object_id in kept)]


def notes_list(user, before: Cursor | None = None) -> NotesList:
    """Everything the page shows, the organisation's tutors asked once: the page, and on the first one flags and reads."""
    reader = reader_of(user)
    page = notes_page(user, before, reader=reader)
    if before is not None:
        return NotesList(page.notes, page.older, [], [])
    return NotesList(page.notes, page.older, flagged_notes(user, reader=reader), recent_reads(user, reader=reader))

