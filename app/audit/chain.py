"""The audit API: record events with the caller's change, or at once; verify the hash chain.

How appending works (read this before calling `record` from another area):

* `record(...)` validates the event and queues it on the current session. The
  row is written by a `before_commit` hook in the SAME transaction as the
  caller's change, so the entry lives or dies with it (a rollback, including a
  rolled-back savepoint, discards it). The caller commits as usual.
* Just before the commit, the hook takes the chain lock (PostgreSQL:
  `pg_advisory_xact_lock`; SQLite: the database write lock, through a write
  that touches no row), reads the last entry, and inserts the new ones with
  id = last id + 1 and prev_hash = last hash. The lock is held only for that
  instant, so the chain can neither fork nor deadlock with the caller's locks;
  a UNIQUE(prev_hash) constraint makes a fork impossible anyway.
* `record_now(...)` writes one entry in its own short transaction (its own
  connection): for reads, views and downloads where nothing else is committed.
  Call it only when your own transaction holds no uncommitted write or row
  lock: it would wait for you (PostgreSQL gives up after 5 s, SQLite after
  busy_timeout). Also on SQLite: a transaction that read before someone else
  committed cannot write any more ("database is locked", see app/database.py);
  use `serialised_write()` for busy write paths there.
* `details` is a small dict of codes and ids, never note content or personal
  data: keys such as "email", "name", "content" and values that look like
  e-mail addresses are refused with ValueError. Use `pseudonym()` when you
  must correlate a personal value (e.g. the e-mail of a failed sign-in).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from flask import current_app, has_request_context, request
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from app.extensions import db
from app.models import GENESIS_HASH, AuditEvent, User
from app.models.base import utcnow

HASH_VERSION = 1
# Any constant 64-bit key: the advisory lock that serialises appends on PostgreSQL.
CHAIN_LOCK_KEY = 0x4855_4241_5544_4954
_PENDING = "audit_pending"

ACTION_RE = re.compile(r"^[a-z][a-z_]*(\.[a-z0-9][a-z0-9_]*)*$")  # e.g. auth.2fa_failed
OBJECT_TYPE_RE = re.compile(r"^[a-z][a-z_]*$")
EMAIL_LIKE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
MAX_DETAILS_CHARS = 2000
MAX_REASON_CHARS = 500
# Detail keys that would carry content or personal data: refused outright.
FORBIDDEN_DETAIL_KEYS = frozenset({
    "content", "body", "text", "note", "notes", "summary", "message", "comment",
    "email", "e_mail", "mail", "password", "name", "full_name", "first_name", "last_name", "surname",
    "phone", "address", "birth_date", "date_of_birth", "tax_code", "codice_fiscale",
})

# Labels of the known actions, for the admin screen. Other areas add theirs with register_action().
ACTION_LABELS: dict[str, object] = {
    "auth.login": _l("Accesso"),
    "auth.login_failed": _l("Accesso non riuscito"),
    "auth.logout": _l("Uscita"),
    "auth.password_changed": _l("Password cambiata"),
    "auth.password_reset": _l("Password reimpostata con il collegamento"),
    "user.created": _l("Account creato"),
    "user.role_changed": _l("Ruolo cambiato"),
    "user.scope_changed": _l("Organizzazione cambiata"),
    "user.deactivated": _l("Account disattivato"),
    "user.reactivated": _l("Account riattivato"),
    "organisation.deactivated": _l("Partner disattivato"),
    "organisation.reactivated": _l("Partner riattivato"),
    "note.read": _l("Lettura di una nota"),
    "note.download": _l("Scaricamento di una nota"),
    "person.read": _l("Consultazione della scheda di un giovane"),
    "booking.changed": _l("Appuntamento modificato"),
    "breakglass": _l("Accesso straordinario (con motivazione)"),
    "export": _l("Esportazione di dati"),
    "erasure": _l("Cancellazione di dati personali"),
}
OBJECT_TYPE_LABELS: dict[str, object] = {
    "user": _l("Account"),
    "organisation": _l("Partner"),
    "note": _l("Nota"),
    "person": _l("Giovane"),
    "booking": _l("Appuntamento"),
    "audit_log": _l("Registro attività"),
}


def register_action(action: str, label, object_type: str | None = None, object_label=None) -> None:
    """Give a new action (and object type) an Italian label on the admin screen."""
    if not ACTION_RE.match(action):
        raise ValueError(f"bad audit action {action!r}")
    ACTION_LABELS[action] = label
    if object_type:
        OBJECT_TYPE_LABELS[object_type] = object_label or object_type


def action_label(action: str) -> str:
    """The action in the interface language (the code itself when unknown)."""
    return str(ACTION_LABELS.get(action, action))


def object_type_label(object_type: str | None) -> str:
    """The object type in the interface language."""
    if not object_type:
        return ""
    return str(OBJECT_TYPE_LABELS.get(object_type, object_type))


# --- Building entries ------------------------------------------------------------

@dataclass(frozen=True)
class Entry:
    """A validated event waiting for its place in the chain."""

    at: datetime
    action: str
    actor_id: int | None = None
    actor_role: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    reason: str | None = None
    details: str = "{}"
    ip_hash: str | None = None


def _key() -> bytes:
    config = current_app.config
    return (config.get("AUDIT_PSEUDONYM_KEY") or config["SECRET_KEY"]).encode()


def pseudonym(value: str, purpose: str = "value") -> str:
    """A keyed hash of a personal value: equal inputs match, the value cannot be read back."""
    message = f"hub-audit:{purpose}:{value}".encode()
    return hmac.new(_key(), message, hashlib.sha256).hexdigest()


def canonical_details(details: dict | None) -> str:
    """Validate and serialise details: small, sorted, free of content and personal data."""
    if details is None:
        return "{}"
    if not isinstance(details, dict):
        raise ValueError("audit details must be a dict")

    def check(value, depth: int = 0):
        if isinstance(value, str):
            if EMAIL_LIKE.search(value):
                raise ValueError("audit details must not contain e-mail addresses")
        elif isinstance(value, dict):
            if depth > 2:
                raise ValueError("audit details nest too deep")
            for key, inner in value.items():
                if not isinstance(key, str) or key.lower() in FORBIDDEN_DETAIL_KEYS:
                    raise ValueError(f"audit details must not carry {key!r}: no content or personal data")
                check(inner, depth + 1)
        elif isinstance(value, list | tuple):
            for inner in value:
                check(inner, depth + 1)
        elif value is not None and not isinstance(value, bool | int | float):
            raise ValueError(f"audit details accept plain values only, not {type(value).__name__}")

    check(details)
    text = json.dumps(details, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    if len(text) > MAX_DETAILS_CHARS:
        raise ValueError("audit details are too large")
    return text


def _current_actor():
    if not has_request_context():
        return None
    from flask_login import current_user

    return current_user._get_current_object() if current_user.is_authenticated else None


def build_entry(action: str, *, actor=None, object_type=None, object_id=None, reason=None,
                details=None) -> Entry:
    """Validate an event; the actor defaults to the signed-in user of the request (None outside one)."""
    if not isinstance(action, str) or not ACTION_RE.match(action) or len(action) > 64:
        raise ValueError(f"bad audit action {action!r}")
    if object_type is not None and (not OBJECT_TYPE_RE.match(object_type) or len(object_type) > 40):
        raise ValueError(f"bad audit object type {object_type!r}")
    if object_id is not None:
        object_id = str(object_id)
        if len(object_id) > 64:
            raise ValueError("audit object id too long")
    reason = " ".join((reason or "").split()) or None
    if reason is not None and len(reason) > MAX_REASON_CHARS:
        raise ValueError("audit reason too long")
    if action == "breakglass" and not reason:
        raise ValueError("a break-glass event needs a reason")
    actor = actor if actor is not None else _current_actor()
    ip_hash = None
    if has_request_context() and request.remote_addr and current_app.config.get("AUDIT_RECORD_IP", True):
        ip_hash = pseudonym(request.remote_addr, "ip")
    return Entry(
        at=utcnow(), action=action,
        actor_id=getattr(actor, "id", None), actor_role=getattr(actor, "role", None),
        object_type=object_type, object_id=object_id, reason=reason,
        details=canonical_details(details), ip_hash=ip_hash,
    )


# --- Hashing ------------------------------------------------------------------------

def _iso(at: datetime) -> str:
    if at.tzinfo is None:  # SQLite returns naive UTC through Core selects
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def chain_hash(row) -> str:
    """sha256 over the canonical JSON of an entry, its prev_hash included.

    `row` is anything with the entry's attributes (a Row, an AuditEvent, a namespace).
    """
    details = getattr(row, "details_json", None)
    if details is None:
        details = row.details
    payload = {
        "v": HASH_VERSION,
        "id": row.id,
        "at": _iso(row.at),
        "actor_id": row.actor_id,
        "actor_role": row.actor_role,
        "action": row.action,
        "object_type": row.object_type,
        "object_id": row.object_id,
        "reason": row.reason,
        "details": details,
        "ip_hash": row.ip_hash,
        "prev_hash": row.prev_hash,
    }
    data = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(data.encode()).hexdigest()


# --- Appending ------------------------------------------------------------------------

class _Row:
    """Attribute access over a dict, for chain_hash."""

    def __init__(self, values: dict):
        self.__dict__.update(values)


def _lock_chain(connection: sa.Connection) -> None:
    """Serialise appenders until this transaction ends."""
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHAIN_LOCK_KEY})
    elif connection.dialect.name == "sqlite":
        # A write that touches no row takes SQLite's write lock (waiting busy_timeout) before
        # we read the last hash. If this transaction already read an older snapshot, SQLite
        # refuses the write ("database is locked") instead: an error, never a fork.
        connection.exec_driver_sql("UPDATE audit_events SET id = id WHERE 0")


def _append(session: Session, entries: list[Entry]) -> None:
    """Insert entries at the end of the chain, inside the session's transaction."""
    connection = session.connection()
    actor_ids = sorted({e.actor_id for e in entries if e.actor_id is not None})
    if actor_ids and connection.dialect.name == "postgresql":
        # The foreign key will need these rows KEY SHARE-locked: take that lock before the chain
        # lock, so a transaction holding FOR UPDATE on a user row never waits for us in a cycle.
        users = User.__table__
        connection.execute(sa.select(users.c.id).where(users.c.id.in_(actor_ids))
                           .with_for_update(read=True, key_share=True))
    _lock_chain(connection)
    table = AuditEvent.__table__
    last = connection.execute(
        sa.select(table.c.id, table.c.hash).order_by(table.c.id.desc()).limit(1)
    ).first()
    next_id, prev_hash = (last.id + 1, last.hash) if last else (1, GENESIS_HASH)
    rows = []
    for entry in entries:
        values = {
            "id": next_id, "at": entry.at, "actor_id": entry.actor_id, "actor_role": entry.actor_role,
            "action": entry.action, "object_type": entry.object_type, "object_id": entry.object_id,
            "reason": entry.reason, "details": entry.details, "ip_hash": entry.ip_hash,
            "prev_hash": prev_hash,
        }
        values["hash"] = chain_hash(_Row(values))
        rows.append(values)
        prev_hash, next_id = values["hash"], next_id + 1
    connection.execute(sa.insert(table), rows)


def _current_transaction(session: Session):
    return session.get_nested_transaction() or session.get_transaction()


def record(action: str, *, actor=None, object_type: str | None = None, object_id=None,
           reason: str | None = None, details: dict | None = None, session: Session | None = None) -> None:
    """Queue an audit entry in the current transaction; it is written when the caller commits."""
    entry = build_entry(action, actor=actor, object_type=object_type, object_id=object_id,
                        reason=reason, details=details)
    session = session if session is not None else db.session()
    if not session.in_transaction():
        session.begin()
    session.info.setdefault(_PENDING, []).append((_current_transaction(session), entry))


def record_now(action: str, *, actor=None, object_type: str | None = None, object_id=None,
               reason: str | None = None, details: dict | None = None) -> None:
    """Write an audit entry at once, in its own short transaction (reads, views, downloads)."""
    entry = build_entry(action, actor=actor, object_type=object_type, object_id=object_id,
                        reason=reason, details=details)
    with Session(db.engine) as session, session.begin():
        if session.connection().dialect.name == "postgresql":
            # Called by mistake while the request's own transaction holds a lock we need,
            # this would wait on ourselves: fail loudly instead of hanging.
            session.execute(sa.text("SET LOCAL lock_timeout = '5s'"))
        _append(session, [entry])


def pending(session: Session | None = None) -> list[Entry]:
    """Entries queued on a session and not yet committed (for tests and debugging)."""
    session = session if session is not None else db.session()
    return [entry for _t, entry in session.info.get(_PENDING, [])]


@sa.event.listens_for(Session, "before_commit")
def _write_pending(session: Session) -> None:
    """Append the queued entries as the last statement of the root transaction."""
    if session.in_nested_transaction():
        return  # a savepoint is being released: wait for the real commit
    if not session.info.get(_PENDING):
        return
    # Flush the caller's changes first, so no row lock is taken while holding the chain lock.
    session.flush()
    queued = session.info.pop(_PENDING, None)
    if queued:
        _append(session, [entry for _t, entry in queued])


@sa.event.listens_for(Session, "after_soft_rollback")
def _discard_rolled_back(session: Session, previous_transaction) -> None:
    """Entries recorded inside a rolled-back transaction or savepoint are dropped with it."""
    queued = session.info.get(_PENDING)
    if not queued:
        return

    def inside(transaction) -> bool:
        while transaction is not None:
            if transaction is previous_transaction:
                return True
            transaction = transaction.parent
        return False

    session.info[_PENDING] = [(t, e) for t, e in queued if not inside(t)]


@sa.event.listens_for(Session, "after_transaction_end")
def _forget_finished(session: Session, transaction) -> None:
    """Nothing outlives the root transaction it was recorded in."""
    if transaction.parent is None:
        session.info.pop(_PENDING, None)


# --- Verifying -------------------------------------------------------------------------

def _rows(batch_size: int) -> Iterator:
    table = AuditEvent.__table__
    last_id = 0
    while True:
        rows = db.session.execute(
            sa.select(table).where(table.c.id > last_id).order_by(table.c.id).limit(batch_size)
        ).all()
        if not rows:
            return
        yield from rows
        last_id = rows[-1].id


def verify_chain(batch_size: int = 1000) -> tuple[bool, int | None, int]:
    """Walk the chain in id order: (ok, id of the first broken entry or None, entries checked)."""
    checked, prev_id, prev_hash = 0, 0, GENESIS_HASH
    for row in _rows(batch_size):
        checked += 1
        if row.id != prev_id + 1 or row.prev_hash != prev_hash or chain_hash(row) != row.hash:
            return False, row.id, checked
        prev_id, prev_hash = row.id, row.hash
    return True, None, checked


def chain_head() -> AuditEvent | None:
    """The last entry: note its id and hash elsewhere to detect a truncated tail later."""
    return db.session.scalar(sa.select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1))
