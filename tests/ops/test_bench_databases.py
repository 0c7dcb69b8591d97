"""Bench databases (issue 11): reuse, upgrade in place or rebuild, decided from the database's comment.

`plan_database` is pure: the recorded comment and the migration files now in, reuse / upgrade /
rebuild out. A database built at an older head is upgraded in place when only migrations were added
after the ones it applied (an added index); it is rebuilt when its data would differ or when a
migration it already applied has changed since.
"""

from __future__ import annotations

import subprocess

import pytest

from bench import run

PLACEHOLDER = b'''"""reserved"""

revision = '%s'
down_revision = '%s'


def upgrade():
    pass


def downgrade():
    pass
'''
FILLED = b'''"""an index"""

from alembic import op

revision = '%s'
down_revision = '%s'


def upgrade():
    """The index."""
    op.create_index('ix_t_a', 't', ['a'])


def downgrade():
    op.drop_index('ix_t_a', 't')
'''
WANTED = {"scale": 1, "seed": 2026, "generator": 2}


def files(**texts: bytes) -> dict[str, run.Migration]:
    """Migration files by name, e.g. files(m0001=FILLED % (b'0001', b'None'))."""
    return {f"{name[1:]}_x.py": run.migration_of(text) for name, text in texts.items()}


def filled(revision: int) -> bytes:
    """A migration that creates an index (the first one has no down_revision)."""
    text = FILLED % (b"%04d" % revision, b"%04d" % (revision - 1))
    return text.replace(b"'0000'", b"None")


def placeholder(revision: int) -> bytes:
    """A reserved, empty migration."""
    return PLACEHOLDER % (b"%04d" % revision, b"%04d" % (revision - 1))


def built(migrations: dict[str, run.Migration], **overrides) -> dict:
    """The comment ensure_database writes after building a database with these migrations."""
    return {**WANTED, **run.migrations_record(migrations), "generated_at": "2026-11-26T12:00:00+00:00",
            "seconds": 200.0, **overrides}


def test_migration_of_reads_ids_and_whether_upgrade_does_anything():
    empty = run.migration_of(placeholder(12))
    assert (empty.revision, empty.down_revision, empty.empty) == ("0012", "0011", True)
    index = run.migration_of(filled(12))
    assert (index.revision, index.empty) == ("0012", False) and index.digest != empty.digest
    assert run.migration_of(filled(1)).down_revision is None


def test_same_data_and_migrations_is_reused():
    now = files(m0001=filled(1), m0002=filled(2))
    assert run.plan_database(built(now), WANTED, now) == run.Plan("reuse")


@pytest.mark.parametrize("key", ["scale", "seed", "generator"])
def test_other_data_is_rebuilt(key):
    now = files(m0001=filled(1))
    plan = run.plan_database(built(now, **{key: 99}), WANTED, now)
    assert plan.action == "rebuild" and key in plan.reason


def test_added_migrations_are_applied_in_place():
    then = files(m0001=filled(1), m0002=filled(2))
    now = {**then, **files(m0003=filled(3), m0004=placeholder(4))}
    plan = run.plan_database(built(then), WANTED, now)
    assert plan == run.Plan("upgrade", "2 new migration(s): 0003_x.py, 0004_x.py")


def test_a_changed_applied_migration_rebuilds():
    then = files(m0001=filled(1), m0002=filled(2))
    now = {**then, **files(m0002=filled(2).replace(b"ix_t_a", b"ix_t_b"))}
    plan = run.plan_database(built(then), WANTED, now)
    assert plan.action == "rebuild" and "0002_x.py changed" in plan.reason


def test_placeholders_filled_after_they_were_applied_are_applied_again():
    """Applied while empty: nothing of them is in the database, so stamp back and upgrade from there."""
    then = files(m0001=filled(1), m0002=placeholder(2), m0003=placeholder(3), m0004=placeholder(4))
    now = {**then, **files(m0003=filled(3), m0005=filled(5))}
    plan = run.plan_database(built(then), WANTED, now)
    assert plan.action == "upgrade" and plan.stamp == "0002"
    assert plan.reason.startswith("0003_x.py filled in")


def test_a_filled_placeholder_before_an_applied_real_migration_rebuilds():
    then = files(m0001=filled(1), m0002=placeholder(2), m0003=filled(3))
    now = {**then, **files(m0002=filled(2))}
    assert run.plan_database(built(then), WANTED, now).action == "rebuild"


def test_removed_or_earlier_migrations_rebuild():
    then = files(m0001=filled(1), m0003=filled(3))
    assert run.plan_database(built(then), WANTED, files(m0001=filled(1))).action == "rebuild"
    assert run.plan_database(built(then), WANTED, {**then, **files(m0002=filled(2))}).action == "rebuild"


@pytest.mark.parametrize("comment", [{}, {**WANTED, "revision": "0011-ad38e9295d64"}])
def test_without_a_record_of_its_migrations_it_is_rebuilt(comment):
    now = files(m0001=filled(1))
    assert run.plan_database(comment, WANTED, now).action == "rebuild"


def _has_commit(commit: str) -> bool:
    try:
        subprocess.run(["git", "cat-file", "-e", f"{commit}^{{commit}}"], cwd=run.ROOT, check=True,
                       capture_output=True)
    except (OSError, subprocess.CalledProcessError):
        return False
    return True


@pytest.mark.skipif(not _has_commit("37b4282"), reason="needs the git history")
def test_an_old_comment_is_read_back_from_git_and_upgraded():
    """The first bench databases recorded '0011-<digest of all files>': the files of commit 37b4282."""
    record = run.legacy_record("0011-ad38e9295d64")
    assert record is not None and record["revision"] == "0011"
    assert sorted(record["migrations"]) == [f"{n:04d}" + name for n, name in enumerate(
        ("_foundation.py", "_desks.py", "_bookings.py", "_audit_log.py", "_waiting_and_messages.py",
         "_session_notes.py", "_helpdesk_tickets.py", "_two_factor.py", "_privacy.py", "_report_narratives.py",
         "_screen_indexes.py"), start=1)]
    assert record["empty_migrations"] == []
    then = {name: run.migration_of(subprocess.run(["git", "show", f"37b4282:migrations/versions/{name}"],
                                                  cwd=run.ROOT, check=True, capture_output=True).stdout)
            for name in record["migrations"]}
    now = {**then, **files(m0012=placeholder(12))}
    plan = run.plan_database({**WANTED, "revision": "0011-ad38e9295d64", **record}, WANTED, now)
    assert plan == run.Plan("upgrade", "1 new migration(s): 0012_x.py")
    assert run.legacy_record("0011-000000000000") is None
    assert run.legacy_record("0010-ad38e9295d64") is None  # the digest matches, the head does not
