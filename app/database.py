"""Engine settings per database: SQLite pragmas, PostgreSQL session defaults, serialised writes.

On SQLite we take over transaction control from the sqlite3 driver (SQLAlchemy docs,
"Enabling Non-Legacy SQLite Transactional Modes"): the driver's own BEGIN is turned off
and every transaction starts with our BEGIN, so reads are repeatable and savepoints work.
Inside `serialised_write()` that BEGIN is `BEGIN IMMEDIATE`: the write lock is taken
before the first read, so two bookings that check-then-insert run one after the other.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import sqlalchemy as sa
from flask import Flask

from app.extensions import db

# True while the current context is inside serialised_write().
_serialised: ContextVar[bool] = ContextVar("serialised_write", default=False)


def _configure_sqlite(dbapi_connection, connection_record) -> None:
    # Turn off the driver's implicit (DML-only) BEGIN; _begin_sqlite emits ours.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _begin_sqlite(connection) -> None:
    """Start every SQLite transaction ourselves; IMMEDIATE inside serialised_write()."""
    connection.exec_driver_sql("BEGIN IMMEDIATE" if _serialised.get() else "BEGIN")


def init_app(app: Flask) -> None:
    """Attach per-connection settings once the engine exists."""
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            sa.event.listen(engine, "connect", _configure_sqlite)
            sa.event.listen(engine, "begin", _begin_sqlite)


@contextmanager
def serialised_write() -> Iterator[sa.orm.Session]:
    """One write transaction that concurrent writers cannot interleave with (on SQLite).

    Whatever the session was doing is committed first, so the block starts a fresh
    transaction: `BEGIN IMMEDIATE` on SQLite (the database write lock, waiting up to
    busy_timeout), a plain transaction on PostgreSQL, where exclusion constraints and
    `SELECT … FOR UPDATE` do the work. The block commits on success and rolls back
    on any exception, which propagates.
    """
    session = db.session()  # the request's Session behind the scoped proxy
    if session.in_transaction():
        session.commit()
    token = _serialised.set(True)
    try:
        with session.begin():
            yield session
    finally:
        _serialised.reset(token)


def is_sqlite() -> bool:
    """True when the bound database is SQLite."""
    return db.engine.dialect.name == "sqlite"
