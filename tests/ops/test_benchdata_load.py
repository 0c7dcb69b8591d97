"""The benchmark generator's PostgreSQL bulk load (issue 11): fast, and the schema is whole afterwards.

The load drops indexes and constraints, lifts a per-row trigger and streams rows into COPY from a
second thread; afterwards every index, constraint and trigger is back exactly as the migrations
made it, the lifted trigger works again, and a row that breaks a constraint fails the whole load.
"""

from __future__ import annotations

import psycopg
import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Appointment, Desk, Note
from app.ops import benchdata

SCALE, HISTORY_DAYS = 0.00006, 28  # ~60 appointments over the 20 desks (as tests/test_query_counts.py)


def quiet(_message: str) -> None:
    """The generator's progress lines, not printed."""


@pytest.fixture
def postgres(app):
    """The app, on PostgreSQL only (SQLite gets the rows through executemany, nothing is lifted)."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the bulk load is PostgreSQL's (HUB_TEST_DB=postgresql)")
    return app


def _schema() -> dict[str, list]:
    """Every index, constraint and trigger of the schema, with its definition and whether it is enabled."""
    return {
        "constraints": db.session.execute(sa.text(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), convalidated FROM pg_constraint "
            "WHERE connamespace = current_schema()::regnamespace ORDER BY 1, 2")).all(),
        "indexes": db.session.execute(sa.text(
            "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
            "ORDER BY 1, 2")).all(),
        "triggers": db.session.execute(sa.text(
            "SELECT tgrelid::regclass::text, tgname, tgenabled FROM pg_trigger WHERE NOT tgisinternal "
            "ORDER BY 1, 2")).all(),
    }


def test_every_index_constraint_and_trigger_is_back_after_the_load(postgres):
    before = _schema()
    counts = benchdata.generate(SCALE, history_days=HISTORY_DAYS, log=quiet)
    assert counts.rows["appointments"] > 0 and counts.rows["note_outcomes"] > 0
    assert _schema() == before
    # The lifted lock trigger refuses again an outcome on a final note.
    final = db.session.scalar(sa.select(Note.id).where(Note.status == "final").order_by(Note.id).limit(1))
    with pytest.raises(sa.exc.DBAPIError, match="final note"):
        with db.session.begin_nested():
            db.session.execute(sa.text("DELETE FROM note_outcomes WHERE note_id = :n"), {"n": final})


def test_a_row_that_breaks_a_constraint_fails_the_whole_load(postgres, monkeypatch):
    """Each appointment written twice: the tutor's exclusion constraint refuses it during the COPY."""
    appointment = benchdata.Generator._appointment

    def twice(self, *args):
        appointment(self, *args)
        return appointment(self, *args)

    monkeypatch.setattr(benchdata.Generator, "_appointment", twice)
    monkeypatch.setattr(benchdata.PostgresSink, "BATCH", 50)  # the failure arrives while rows are still built
    with pytest.raises(psycopg.errors.ExclusionViolation, match="ex_appointments_"):
        benchdata.generate(SCALE, history_days=HISTORY_DAYS, log=quiet)
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Appointment)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Desk)) == 0  # the network too
