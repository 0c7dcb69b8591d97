"""The notes list: the notes a user may read, newest session first, one page at a time.

The reading scope (`app.policy.scoped_notes`) is an OR of sets that no index holds in session
order, so sorting it cost as much as the user's whole history. Every note a reader may see has an
author from a small known set — the tutors of the reader's organisation, or anyone for the Ufficio
di Piano — so a page merges those authors' notes newest first (one backward walk of
`ix_notes_author_session` each; one walk of `ix_notes_session` for the Ufficio di Piano) and keeps
the readable ones, checked note by note with the rules of the policy (`_readable`, tested equal to
`scoped_notes`). A page examines at most SCAN_LIMIT notes: when readable notes are sparse the page
is shorter and its cursor continues after the last note examined, so no request reads history
beyond that. The cursor is the (session start, note id) of the last note of the page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from app import policy
from app.domain.numbers import int_or_none
from app.extensions import db
from app.models import Appointment, Desk, Note, NoteStatus, User, YoungPerson
from app.policy.core import COORD, TUTOR

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


def _org_tutors(user) -> list[int]:
    return list(db.session.scalars(sa.select(User.id).where(User.organisation_id == user.organisation_id,
                                                              User.role == TUTOR).order_by(User.id)))


def _person(young_person_id, *conditions) -> sa.Exists:
    """The note's young person exists with these conditions (one primary-key probe)."""
    return sa.exists().where(YoungPerson.id == young_person_id, *conditions)


def _readable(user, c, org_tutors: list[int]):
    """Per note, the rules of `policy.scoped_notes` (and of the break-glass scope for the Ufficio di Piano).

    Written as correlated EXISTS on primary keys so each listed note costs a few index probes,
    where the policy's IN (subquery) form builds the whole scope first."""
    if policy.needs_breakglass(user):
        return sa.and_(c.status == NoteStatus.FINAL, _person(c.young_person_id, YoungPerson.protected.is_(False)))
    if user.role == TUTOR:
        met = sa.exists().where(Appointment.young_person_id == YoungPerson.id, Appointment.tutor_id == user.id)
        return sa.or_(c.author_id == user.id, sa.and_(
            c.status == NoteStatus.FINAL, c.author_id.in_(org_tutors),
            _person(c.young_person_id, sa.or_(YoungPerson.tutor_id == user.id, met),
                    sa.or_(YoungPerson.protected.is_(False), YoungPerson.tutor_id == user.id))))
    if user.role == COORD:
        return sa.and_(c.author_id.in_(org_tutors), _person(
            c.young_person_id, sa.or_(YoungPerson.protected.is_(False), YoungPerson.tutor_id.in_(org_tutors))))
    return sa.false()


def readable(user):
    """The reading scope as a per-note condition on Note (what `_readable` checks), for a few known notes."""
    return _readable(user, Note, _org_tutors(user) if user.role in (TUTOR, COORD) else [])


def _walk(user, org_tutors: list[int], *conditions) -> sa.Subquery | None:
    """The notes a page may examine (no access check yet): the scope's authors' notes, merged."""
    if policy.needs_breakglass(user):
        branches = [sa.select(*_COLUMNS).where(*conditions)]
    elif user.role in (TUTOR, COORD):
        authors = sorted(set(org_tutors) | ({user.id} if user.role == TUTOR else set()))
        # Each author's notes as an ordered subquery: PostgreSQL then merges the backward index walks
        # (Merge Append) instead of reading every author's notes in parallel and sorting them.
        # Typed literal columns over each branch: selecting the subquery itself made SQLAlchemy build
        # column proxies for every branch on every request (~a third of the page's CPU with 25 tutors).
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


def _newest_first(c):
    return c.session_starts_at.desc(), c.id.desc()


def _examined(walk: sa.Subquery) -> sa.Subquery:
    # The LIMIT bounds the walk and keeps the access check above the merge (not pushed into each branch).
    return sa.select(walk).order_by(*_newest_first(walk.c)).limit(SCAN_LIMIT).subquery("examined")


def _load(ids: list[int]) -> list[sa.Row]:
    """The rows of these notes with only what the list shows (session, desk, person code, author), one statement.

    Plain rows, not ORM objects: the page shows nine columns, and building four related objects
    per note (with their identity map bookkeeping) cost more CPU than the rest of the page."""
    if not ids:
        return []
    query = (sa.select(Note.id, Note.appointment_id, Note.author_id, Note.needs_attention,
                       (Note.status == NoteStatus.FINAL).label("is_final"), Appointment.starts_at,
                       Desk.name.label("desk_name"), YoungPerson.code.label("person_code"),
                       User.full_name.label("author_name"))
             .join(Appointment, Appointment.id == Note.appointment_id).join(Desk, Desk.id == Appointment.desk_id)
             .join(YoungPerson, YoungPerson.id == Note.young_person_id).join(User, User.id == Note.author_id)
             .where(Note.id.in_(ids)))
    loaded = {r.id: r for r in db.session.execute(query)}
    return [loaded[i] for i in ids if i in loaded]


def notes_page(user, before: Cursor | None = None, *, size: int | None = None) -> NotesPage:
    """The page of readable notes older than `before` (the newest without it), newest session first."""
    size = size or PAGE_SIZE
    org_tutors = _org_tutors(user) if user.role in (TUTOR, COORD) else []
    conditions = []
    if before is not None:
        conditions.append(sa.tuple_(Note.session_starts_at, Note.id) < sa.tuple_(before.starts_at, before.note_id))
    walk = _walk(user, org_tutors, *conditions)
    if walk is None:
        return NotesPage([], None)
    examined = _examined(walk)
    rows = db.session.execute(
        sa.select(examined.c.id, examined.c.session_starts_at).where(_readable(user, examined.c, org_tutors))
        .order_by(*_newest_first(examined.c)).limit(size + 1)).all()
    if len(rows) > size:
        rows = rows[:size]
        older = Cursor(rows[-1].session_starts_at, rows[-1].id)
    else:
        # A short page: the end of the history, or SCAN_LIMIT notes examined; then continue after the last one.
        last = db.session.execute(sa.select(walk.c.session_starts_at, walk.c.id).order_by(*_newest_first(walk.c))
                                  .offset(SCAN_LIMIT - 1).limit(1)).first()
        older = Cursor(last.session_starts_at, last.id) if last else None
    return NotesPage(_load([r.id for r in rows]), older)


def flagged_notes(user, *, limit: int = FLAGGED_LIMIT) -> list[sa.Row]:
    """Final notes of others flagged for attention and not yet seen by a coordinator, that the user may read."""
    org_tutors = _org_tutors(user) if user.role in (TUTOR, COORD) else []
    walk = sa.select(*_COLUMNS).where(Note.needs_attention, Note.status == NoteStatus.FINAL,
                                      Note.attention_seen_at.is_(None), Note.author_id != user.id).subquery("open")
    examined = _examined(walk)
    ids = db.session.scalars(sa.select(examined.c.id).where(_readable(user, examined.c, org_tutors))
                             .order_by(*_newest_first(examined.c)).limit(limit)).all()
    return _load(list(ids))
