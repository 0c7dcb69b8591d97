"""Engine settings per database: SQLite pragmas, PostgreSQL session defaults, serialised writes.

SQLite and `serialised_write()`: inside the block we take over transaction control
from the sqlite3 driver (SQLAlchemy docs, "Enabling Non-Legacy SQLite Transactional
Modes": DBAPI `isolation_level = None` plus our own BEGIN in the "begin" event) and
start with `BEGIN IMMEDIATE`, so the write lock is held from the first read and two
bookings that check-then-insert run one after the other. Outside the block the driver
keeps its usual behaviour (reads in autocommit, a deferred BEGIN just before the first
write): a plain BEGIN for every transaction would open a read snapshot at a request's
first SELECT, and any later write in it (signing in, refreshing a session) would fail
at once with SQLITE_BUSY_SNAPSHOT when another request had committed meanwhile.
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
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _begin_sqlite(connection) -> None:
    """Inside serialised_write(): our own BEGIN IMMEDIATE; elsewhere the driver's deferred BEGIN before DML."""
    dbapi_connection = connection.connection.dbapi_connection
    if _serialised.get():
        dbapi_connection.isolation_level = None  # the driver emits no BEGIN of its own
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    elif dbapi_connection.isolation_level is None:
        dbapi_connection.isolation_level = ""  # back to the driver's default (DEFERRED before DML)


def init_app(app: Flask) -> None:
    """Attach per-connection settings once the engine exists."""
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            sa.event.listen(engine, "connect", _configure_sqlite)
            sa.event.listen(engine, "begin", _begin_sqlite)

    @app.teardown_appcontext
    def remove_session(_exc) -> None:
        """End the request's session. Runs before Flask-SQLAlchemy's own teardown (registered earlier).

        When the server has just closed the connection (PostgreSQL restarting), the final
        ROLLBACK fails: the response is already made, so log it instead of turning it into a 500.
        """
        try:
            db.session.remove()
        except sa.exc.DBAPIError:
            db.session.registry.clear()
            app.logger.warning("database connection lost while ending a request")


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
