"""The audit chain: what record() writes, when, and how tampering is detected."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from app import audit
from app.audit.chain import GENESIS_HASH, chain_hash, pending
from app.extensions import db
from app.models import AuditEvent


def _record_many(n: int, action: str = "person.read") -> None:
    for i in range(n):
        audit.record(action, object_type="person", object_id=i + 1, details={"i": i})
    db.session.commit()


def test_entries_link_to_their_predecessor(app, events):
    _record_many(3)
    rows = events()
    assert [r.id for r in rows] == [1, 2, 3]
    assert rows[0].prev_hash == GENESIS_HASH
    assert rows[1].prev_hash == rows[0].hash and rows[2].prev_hash == rows[1].hash
    assert all(chain_hash(r) == r.hash for r in rows)
    assert audit.verify_chain() == (True, None, 3)


def test_record_is_written_only_when_the_caller_commits(app, events):
    audit.record("booking.changed", object_type="booking", object_id=7)
    assert len(pending()) == 1
    assert events() == []  # nothing in the table before the commit
    db.session.rollback()
    assert pending() == []
    db.session.commit()
    assert events() == []
    audit.record("booking.changed", object_type="booking", object_id=8)
    db.session.commit()
    assert [r.object_id for r in events()] == ["8"]


def test_rolled_back_savepoint_drops_only_its_entries(app, events):
    audit.record("booking.changed", object_type="booking", object_id=1)
    savepoint = db.session.begin_nested()
    audit.record("booking.changed", object_type="booking", object_id=2)
    savepoint.rollback()
    with db.session.begin_nested():
        audit.record("booking.changed", object_type="booking", object_id=3)
    db.session.commit()
    assert [r.object_id for r in events()] == ["1", "3"]
    assert audit.verify_chain()[0]


def test_record_now_commits_on_its_own(app, events):
    audit.record_now("note.read", object_type="note", object_id=42)
    assert [(r.action, r.object_id) for r in events()] == [("note.read", "42")]


@pytest.mark.parametrize("details", [
    {"email": "x"}, {"content": "Il ragazzo racconta che…"}, {"who": "mario.rossi@example.org"},
    {"nested": {"full_name": "Mario Rossi"}}, {"blob": object()}, {"long": "x" * 3000},
])
def test_details_refuse_content_and_personal_data(app, details):
    with pytest.raises(ValueError):
        audit.record("person.read", details=details)
    assert pending() == []


@pytest.mark.parametrize("kwargs", [
    {"action": "Bad Action"}, {"action": "breakglass"}, {"action": "note.read", "object_type": "Note!"},
    {"action": "note.read", "object_id": "x" * 65},
])
def test_bad_events_are_refused(app, kwargs):
    action = kwargs.pop("action")
    with pytest.raises(ValueError):
        audit.record(action, **kwargs)


def test_breakglass_keeps_its_reason(app, events, make_user):
    admin = make_user("admin")
    audit.record("breakglass", actor=admin, object_type="note", object_id=5,
                 reason="  Richiesta   dell'autorità giudiziaria  ")
    db.session.commit()
    (row,) = events()
    assert row.reason == "Richiesta dell'autorità giudiziaria"
    assert (row.actor_id, row.actor_role) == (admin.id, "admin")


def test_edited_row_is_detected_with_its_id(app, tamper):
    _record_many(5)
    tamper("UPDATE audit_events SET object_id = '999' WHERE id = 3")
    assert audit.verify_chain(batch_size=2) == (False, 3, 3)


def test_rehashed_row_still_breaks_the_next_link(app, tamper):
    _record_many(4)
    values = dict(db.session.execute(sa.select(AuditEvent.__table__).where(AuditEvent.id == 2)).mappings().one())
    values["object_id"] = "999"
    tamper("UPDATE audit_events SET object_id = '999', hash = :h WHERE id = 2", h=chain_hash(SimpleNamespace(**values)))
    assert audit.verify_chain() == (False, 3, 3)


def test_deleted_row_is_detected_at_the_next_one(app, tamper):
    _record_many(4)
    tamper("DELETE FROM audit_events WHERE id = 2")
    assert audit.verify_chain() == (False, 3, 2)


def test_update_and_delete_are_refused_by_the_database(app):
    _record_many(2)
    for statement in ("UPDATE audit_events SET action = 'x.y' WHERE id = 1", "DELETE FROM audit_events WHERE id = 2"):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"):
            with db.engine.begin() as conn:
                conn.execute(sa.text(statement))
    assert audit.verify_chain() == (True, None, 2)


def test_truncate_is_refused_on_postgresql(app):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no TRUNCATE")
    _record_many(1)
    with pytest.raises(sa.exc.DatabaseError, match="append-only"):
        with db.engine.begin() as conn:
            conn.execute(sa.text("TRUNCATE audit_events CASCADE"))
    assert audit.verify_chain() == (True, None, 1)


def test_a_fork_is_impossible_in_the_schema(app):
    _record_many(1)
    head = audit.chain_head()
    with pytest.raises(sa.exc.IntegrityError):
        with db.engine.begin() as conn:
            conn.execute(sa.insert(AuditEvent.__table__).values(
                id=head.id + 1, at=head.at, action="x.y", details="{}", prev_hash=head.prev_hash, hash="f" * 64))


def test_concurrent_appends_make_one_unforked_chain(app):
    threads, per_thread = 8, 25
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            with app.app_context():
                barrier.wait()
                for i in range(per_thread):
                    if i % 5 == 4:
                        audit.record_now("person.read", object_type="person", object_id=f"{n}-{i}")
                    else:
                        audit.record("booking.changed", object_type="booking", object_id=f"{n}-{i}")
                        db.session.commit()
                db.session.remove()
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    total = threads * per_thread
    assert audit.verify_chain(batch_size=64) == (True, None, total)
    distinct = db.session.scalar(sa.select(sa.func.count(sa.distinct(AuditEvent.prev_hash))))
    assert distinct == total
    assert db.session.scalar(sa.select(sa.func.count(sa.distinct(AuditEvent.object_id)))) == total


def test_cli_reports_count_then_the_broken_id(app, tamper):
    runner = app.test_cli_runner()
    _record_many(4)
    result = runner.invoke(args=["audit-verify"])
    assert result.exit_code == 0, result.output
    assert "4 voci verificate" in result.output
    assert audit.chain_head().hash in result.output
    tamper("UPDATE audit_events SET details = '{}' WHERE id = 2")
    result = runner.invoke(args=["audit-verify"])
    assert result.exit_code == 1
    assert "alla voce 2 del " in result.output


def test_no_deadlock_with_a_transaction_holding_the_actors_row(app, make_user):
    """A writer holding FOR UPDATE on a user row and an appender whose actor is that user both commit."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("row locks and advisory locks are PostgreSQL's")
    from sqlalchemy.orm import Session

    from app.models import User

    admin = make_user("admin")
    admin_id = admin.id
    holder = Session(db.engine)
    holder.execute(sa.select(User.id).where(User.id == admin_id).with_for_update())
    holder_pid = holder.execute(sa.text("SELECT pg_backend_pid()")).scalar()
    outcome: list[object] = []

    def append_as_admin() -> None:
        try:
            with app.app_context():
                audit.record("person.read", actor=db.session.get(User, admin_id), object_type="person", object_id=1)
                db.session.commit()
                db.session.remove()
            outcome.append("ok")
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            outcome.append(error)

    worker = threading.Thread(target=append_as_admin)
    worker.start()
    # Wait (no sleep) until the appender is blocked behind the holder's row lock.
    with db.engine.connect() as probe:
        for _ in range(100_000):
            waiting = probe.execute(sa.text(
                "SELECT count(*) FROM pg_locks WHERE NOT granted AND pid <> :me AND pid IN "
                "(SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND :holder = ANY(pg_blocking_pids(pid)))"), {"me": holder_pid, "holder": holder_pid}).scalar()
            if waiting or not worker.is_alive():
                break
    audit.record("user.deactivated", actor=None, object_type="user", object_id=admin_id, session=holder)
    holder.commit()
    holder.close()
    worker.join()
    assert outcome == ["ok"]
    assert audit.verify_chain() == (True, None, 2)
