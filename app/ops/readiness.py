"""Readiness: the database answers and its schema is at the migrations' head."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import sqlalchemy as sa
from alembic.config import Config as AlembicConfig
from alembic.script import ScriptDirectory

from app.extensions import db


@cache
def migration_heads(migrations_dir: str) -> frozenset[str]:
    """The head revisions shipped with this code (read once per process: code changes need a restart)."""
    config = AlembicConfig()
    config.set_main_option("script_location", migrations_dir)
    return frozenset(ScriptDirectory.from_config(config).get_heads())


def database_revisions() -> frozenset[str]:
    """The revisions recorded in the database's alembic_version table (empty when missing)."""
    if not sa.inspect(db.engine).has_table("alembic_version"):
        return frozenset()
    return frozenset(db.session.scalars(sa.text("SELECT version_num FROM alembic_version")))


def check(base_dir: Path) -> tuple[bool, str]:
    """(ready, reason). Never raises: a database error is a reason like any other."""
    try:
        current = database_revisions()
        db.session.rollback()
    except Exception:
        try:
            db.session.rollback()
        except Exception:  # noqa: S110 - the connection is already gone
            pass
        return False, "database unreachable"
    heads = migration_heads(str(base_dir / "migrations"))
    if current != heads:
        return False, "migrations not at head"
    return True, "ok"
