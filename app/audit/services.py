"""Use cases of the audit screen: filter, page through and export the log."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa

from app.audit.chain import action_label, object_type_label
from app.extensions import db
from app.formatting import ROME, format_datetime, role_label
from app.models import AuditEvent, User

PER_PAGE = 50
CSV_BATCH = 1000
# Characters that make a spreadsheet read a cell as a formula (CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class AuditFilters:
    """What the screen asks for; empty values mean "any"."""

    date_from: date | None = None
    date_to: date | None = None
    actor_id: int | None = None
    action: str = ""
    object_type: str = ""
    q: str = ""

    def summary(self) -> dict:
        """The filters as plain codes, for the `export` event (the free text only as a flag)."""
        return {
            "from": self.date_from.isoformat() if self.date_from else None,
            "to": self.date_to.isoformat() if self.date_to else None,
            "actor_id": self.actor_id, "action": self.action or None,
            "object_type": self.object_type or None, "text_search": bool(self.q),
        }


def _local_midnight(day: date) -> datetime:
    """Midnight in Rome of that day, as an aware instant."""
    return datetime.combine(day, time.min, tzinfo=ROME)


def _filtered(query: sa.Select, filters: AuditFilters) -> sa.Select:
    if filters.date_from:
        query = query.where(AuditEvent.at >= _local_midnight(filters.date_from))
    if filters.date_to:
        query = query.where(AuditEvent.at < _local_midnight(filters.date_to + timedelta(days=1)))
    if filters.actor_id:
        query = query.where(AuditEvent.actor_id == filters.actor_id)
    if filters.action:
        query = query.where(AuditEvent.action == filters.action)
    if filters.object_type:
        query = query.where(AuditEvent.object_type == filters.object_type)
    text = filters.q.strip().lower()
    if text:
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        actors = sa.select(User.id).where(sa.or_(sa.func.lower(User.full_name).like(pattern, escape="\\"),
                                                 User.email.like(pattern, escape="\\")))
        query = query.where(sa.or_(AuditEvent.object_id == filters.q.strip(), AuditEvent.action.like(
            pattern, escape="\\"), AuditEvent.actor_id.in_(actors)))
    return query


@dataclass
class Page:
    """One page of results."""

    items: list[AuditEvent]
    total: int
    page: int
    pages: int

    def window(self, around: int = 2) -> list[int | None]:
        """Page numbers to show: first, last and a few around the current one (None = gap)."""
        wanted = {1, self.pages, *range(self.page - around, self.page + around + 1)}
        numbers = sorted(n for n in wanted if 1 <= n <= self.pages)
        shown: list[int | None] = []
        for n in numbers:
            if shown and n - shown[-1] > 1:  # type: ignore[operator]
                shown.append(None)
            shown.append(n)
        return shown


def search_events(filters: AuditFilters, page: int = 1, per_page: int = PER_PAGE) -> Page:
    """Entries matching the filters, newest first, one page at a time."""
    total = db.session.scalar(_filtered(sa.select(sa.func.count(AuditEvent.id)), filters)) or 0
    pages = max(1, math.ceil(total / per_page))
    page = min(max(1, page), pages)
    items = db.session.scalars(
        _filtered(sa.select(AuditEvent), filters).order_by(AuditEvent.id.desc())
        .offset((page - 1) * per_page).limit(per_page)
    ).all()
    return Page(items=list(items), total=total, page=page, pages=pages)


def count_events(filters: AuditFilters) -> int:
    """How many entries match."""
    return db.session.scalar(_filtered(sa.select(sa.func.count(AuditEvent.id)), filters)) or 0


def known_actors() -> list[User]:
    """Everyone who appears in the log, by name (for the actor filter)."""
    ids = sa.select(AuditEvent.actor_id).where(AuditEvent.actor_id.is_not(None)).distinct()
    return list(db.session.scalars(sa.select(User).where(User.id.in_(ids)).order_by(User.full_name, User.id)))


def _cell(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


CSV_HEADER = ("id", "data e ora (Europe/Rome)", "id utente", "utente", "ruolo", "azione", "codice azione",
              "tipo oggetto", "id oggetto", "motivazione", "dettagli", "ip (pseudonimo)", "hash precedente", "hash")


def export_csv(filters: AuditFilters) -> Iterator[str]:
    """The matching entries as CSV for Excel in Italy: UTF-8 with BOM, `;` separator, newest first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(CSV_HEADER)
    yield "\ufeff" + flush()
    before: int | None = None
    while True:
        query = _filtered(sa.select(AuditEvent), filters).order_by(AuditEvent.id.desc()).limit(CSV_BATCH)
        if before is not None:
            query = query.where(AuditEvent.id < before)
        rows = db.session.scalars(query).all()
        if not rows:
            return
        for e in rows:
            writer.writerow([_cell(v) for v in (
                e.id, format_datetime(e.at) + e.at.astimezone(ROME).strftime(":%S"), e.actor_id,
                e.actor.full_name if e.actor else "", role_label(e.actor_role) if e.actor_role else "",
                action_label(e.action), e.action, object_type_label(e.object_type), e.object_id, e.reason,
                e.details_json if e.details_json != "{}" else "", e.ip_hash, e.prev_hash, e.hash,
            )])
        yield flush()
        before = rows[-1].id
