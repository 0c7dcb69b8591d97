"""Audit fixtures: tampering with the log behind the triggers' back, reading it back."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import AuditEvent
from tests.conftest import append_only_suspended


@pytest.fixture
def tamper(app):
    """Run raw SQL on the log with the append-only triggers lifted (what an intruder with DB access could do)."""

    def run(sql: str, **params) -> None:
        db.session.commit()
        with db.engine.begin() as conn, append_only_suspended(conn):
            conn.execute(sa.text(sql), params)
        db.session.expire_all()

    return run


@pytest.fixture
def events(app):
    """Factory: the log's entries in chain order, optionally of one action only."""

    def read(action: str | None = None) -> list[AuditEvent]:
        db.session.expire_all()
        query = sa.select(AuditEvent).order_by(AuditEvent.id)
        if action:
            query = query.where(AuditEvent.action == action)
        return list(db.session.scalars(query))

    return read
