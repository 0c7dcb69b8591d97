"""The register's search ignores accents as well as case, on SQLite and PostgreSQL alike; on PostgreSQL
through hub_fold() and its trigram indexes (migration 0019), which fold the letters the Python side folds."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa

from app import text
from app.extensions import db
from app.models import Ticket, YoungPerson
from tests.bookings.factories import make_person
from tests.conftest import login
from tests.people.test_search import _codes as codes_at

MIGRATION = Path(__file__).resolve().parents[2] / "migrations" / "versions" / "0019_folded_name_search.py"


def _codes(client, q: str) -> list[str]:
    """The codes the search fragment lists for `q`, in order."""
    return codes_at(client, f"/giovani?{urlencode({'q': q})}")


def test_accents_and_case_do_not_matter_either_way(client, world):
    nicolo = make_person(world.network, world.operator, first_name="Nicolò", last_name="Perché",
                         registered_desk=world.desk)
    plain = make_person(world.network, world.operator, first_name="Nicolo", last_name="Zanardi",
                        registered_desk=world.desk)
    login(client, world.operator.email)
    expected = {
        "nicolo": [nicolo.code, plain.code],  # name order: Perché, Zanardi
        "NICOLÒ": [nicolo.code, plain.code],  # an accent typed finds the name written without it too
        "perche": [nicolo.code],
        "PERCHÈ": [nicolo.code],  # another accent on the same letter
        "nicolo perche": [nicolo.code],  # every word must match
        "colò": [nicolo.code, plain.code],  # any part of a name
        "ché": [nicolo.code],  # three letters: through the trigram indexes on PostgreSQL
        "hé": [nicolo.code],  # two: the walk in name order
        "hé nicolo": [nicolo.code],  # a short word filters what the long one found
    }
    for q, codes in expected.items():
        assert _codes(client, q) == codes, q


def test_like_wildcards_typed_in_the_search_are_plain_characters(client, world):
    make_person(world.network, world.operator, first_name="Anna", last_name="Rossi", registered_desk=world.desk)
    login(client, world.operator.email)
    assert _codes(client, "%") == [] and _codes(client, "_") == [] and _codes(client, "r%si") == []
    assert len(_codes(client, "a")) == 2  # world's Giulia Bianchi and Anna Rossi


def test_the_migration_folds_the_letters_the_python_side_folds():
    """A change to fold()'s letters needs a new migration: hub_fold() is frozen in 0019."""
    spec = importlib.util.spec_from_file_location("migration_0019", MIGRATION)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    assert (migration.FOLD_FROM, migration.FOLD_TO) == (text.FOLD_FROM, text.FOLD_TO)


@pytest.fixture
def postgresql_only(app):
    """Skip on SQLite: hub_fold() and the expression indexes exist on PostgreSQL only."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("hub_fold() is PostgreSQL's (migration 0019); SQLite folds with a GLOB pattern")


def test_hub_fold_in_sql_agrees_with_fold_in_python(postgresql_only):
    samples = [*text.FOLD_FROM, "Nicolò", "PERCHÉ", "Çağlar Şahin", "Ørsted", "Zoë Müller-Łódź", "Rossi"]
    folded = db.session.execute(sa.select(*(sa.func.hub_fold(s) for s in samples))).one()
    assert list(folded) == [text.fold(s) for s in samples]


def test_the_folded_search_is_answered_by_the_folded_indexes(postgresql_only, world):
    """The query's hub_fold(name) is the indexes' expression (inlined alike), so the trigram index is usable."""
    db.session.execute(sa.text("SET LOCAL enable_seqscan = off"))
    for column, index in ((YoungPerson.last_name, "ix_young_people_last_name_folded_trgm"),
                          (YoungPerson.first_name, "ix_young_people_first_name_folded_trgm"),
                          (Ticket.first_name, "ix_tickets_first_name_folded_trgm")):
        query = sa.select(YoungPerson.id).where(sa.func.hub_fold(column).like("%nicolo%", escape="\\"))
        compiled = query.compile(db.engine, compile_kwargs={"literal_binds": True})
        plan = "\n".join(db.session.execute(sa.text(f"EXPLAIN {compiled}")).scalars())
        assert index in plan, plan
    db.session.rollback()


@pytest.mark.parametrize("model", [YoungPerson, Ticket])
def test_the_model_declares_every_index_the_migrations_create(postgresql_only, model):
    """`flask db migrate` must find nothing new: the models mirror 0012, 0017, 0019 and 0020."""
    in_database = {ix["name"] for ix in sa.inspect(db.engine).get_indexes(model.__tablename__)
                   if not ix.get("duplicates_constraint")}
    assert in_database == {ix.name for ix in model.__table__.indexes}
