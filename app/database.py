"""Engine settings per database: SQLite pragmas, PostgreSQL session defaults."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask

from app.extensions import db


def _configure_sqlite(dbapi_connection, connection_record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def init_app(app: Flask) -> None:
    """Attach per-connection settings once the engine exists."""
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            sa.event.listen(engine, "connect", _configure_sqlite)


def is_sqlite() -> bool:
    """True when the bound database is SQLite."""
    return db.engine.dialect.name == "sqlite"
