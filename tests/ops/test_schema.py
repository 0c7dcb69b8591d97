"""The models and the migrations describe the same schema: `flask db migrate` would find nothing to add.

The test database is built by the migrations (tests/conftest.py::_migrate), so comparing it with the
models' metadata (alembic's autogenerate) finds any table, column, index or constraint one side forgot.
"""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app.extensions import db

# Known and deliberate, with the reason: anything else the comparison finds fails the test.
ACCEPTED = {
    # NOT NULL on PostgreSQL (migration 0016), nullable in the model because SQLite fills it after the
    # insert (trigger), and the model serves both databases.
    ("modify_nullable", "notes", "session_starts_at"),
}


def _key(diff) -> tuple:
    """(kind, table, column or index) of one autogenerate difference."""
    if isinstance(diff, list):  # column modifications come as a list of tuples
        diff = diff[0]
        return diff[0], diff[2], diff[3]
    kind, item = diff[0], diff[1]
    table = getattr(item, "table", None)
    return kind, getattr(table, "name", getattr(item, "name", None)), getattr(item, "name", None)


def test_the_models_match_what_the_migrations_built(app):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("compared on PostgreSQL, the production database: SQLite's batch migrations name foreign "
                    "keys their own way and skip the PostgreSQL-only indexes, which autogenerate cannot tell")
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True,
                                                         "include_object": lambda obj, name, kind, *_: name != "alembic_version"})
        differences = [_key(diff) for diff in compare_metadata(context, db.metadata)]
    assert set(differences) - ACCEPTED == set(), differences
    assert set(differences) == ACCEPTED  # the comparison does see differences: an accepted one that went away
    # is to be removed from ACCEPTED
