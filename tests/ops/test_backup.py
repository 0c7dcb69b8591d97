"""Restore drill: load data, back up, change and delete things, restore into a fresh database, compare.

Runs on the run's database (SQLite file or PostgreSQL) through the real commands
`flask backup` and `flask restore`; the fresh database is a new SQLite file or a new
PostgreSQL database, dropped at the end.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

from app import create_app
from app.config import TestingConfig
from app.extensions import db
from app.ops import backup as backups
from tests.conftest import DEFAULT_PG_URL, _pg_url, append_only_suspended

pytestmark = pytest.mark.slow


def table_digests(engine: sa.Engine) -> dict[str, tuple[int, str]]:
    """(rows, sha256 of the sorted rows) of every table: equal digests mean equal content."""
    result = {}
    with engine.connect() as conn:
        for table in sorted(sa.inspect(conn).get_table_names()):
            rows = conn.execute(sa.text(f'SELECT * FROM "{table}"')).all()  # noqa: S608 - names from the inspector
            lines = sorted(repr(tuple(row)) for row in rows)
            result[table] = (len(rows), hashlib.sha256("\n".join(lines).encode()).hexdigest())
    return result


@contextmanager
def fresh_database(database_url: str, tmp_path: Path) -> Iterator[str]:
    """An empty database of the same kind as the run's: a new SQLite file or a new PostgreSQL database."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'restored.db'}"
        return
    admin_url = _pg_url(os.environ.get("TEST_DATABASE_URL", DEFAULT_PG_URL))
    name = f"hub_restore_{os.getpid()}_{secrets.token_hex(3)}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def loaded(app, tmp_path):
    """The demo network, desks and appointment history, a final note (with its PDF) and a draft, two more PDFs."""
    app.config.update(ARCHIVE_DIR=tmp_path / "archive", NOTES_RENDER_TIMEOUT=120)
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    _write_notes()
    pdfs = app.config["ARCHIVE_DIR"] / "2026" / "11"
    pdfs.mkdir(parents=True)
    (pdfs / "note-1-v1.pdf").write_bytes(b"%PDF-1.7 fake note one\n%%EOF\n")
    (pdfs / "note-2-v1.pdf").write_bytes(b"%PDF-1.7 fake note two\n%%EOF\n")
    return app


def _write_notes() -> None:
    """Through the notes services: one final note (archived PDF) and one draft, on attended demo sessions."""
    from app.models import Appointment, Note, Status
    from app.notes import services

    without_note = ~sa.exists().where(Note.appointment_id == Appointment.id)
    attended = db.session.scalars(sa.select(Appointment).where(Appointment.status == Status.ATTENDED, without_note)
                                  .order_by(Appointment.starts_at.desc()).limit(2)).all()
    assert len(attended) == 2, "the demo history should have attended sessions"
    data = services.NoteData(outcomes={1: "raggiunto"}, topics="Orientamento", summary="Sintesi del colloquio.",
                             agreements="Ci rivediamo.", referrals=[])
    from flask import current_app

    with current_app.test_request_context():
        services.finalise(attended[0].tutor, attended[0].id, data, 0)
        services.save_draft(attended[1].tutor, attended[1].id, data, 0)


@pytest.fixture
def small(app, network, tmp_path):
    """Just the partner network and two archived PDFs (for the refusal tests)."""
    app.config["ARCHIVE_DIR"] = tmp_path / "archive"
    pdfs = app.config["ARCHIVE_DIR"] / "2026" / "11"
    pdfs.mkdir(parents=True)
    (pdfs / "note-1-v1.pdf").write_bytes(b"%PDF-1.7 fake note one\n%%EOF\n")
    (pdfs / "note-2-v1.pdf").write_bytes(b"%PDF-1.7 fake note two\n%%EOF\n")
    return app


def _archive_hashes(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): backups.sha256_file(p) for p in folder.rglob("*") if p.is_file()}


def _change_and_delete(app) -> None:
    """What might happen after the backup: edits, deletions, new rows, a lost PDF."""
    with db.engine.begin() as conn, append_only_suspended(conn):
        conn.execute(sa.text("UPDATE desks SET name = name || ' (modificato)'"))
        conn.execute(sa.text("DELETE FROM outbox_messages"))
        conn.execute(sa.text("DELETE FROM recall_tasks"))
        conn.execute(sa.text("DELETE FROM appointment_links"))
        conn.execute(sa.text("UPDATE appointments SET cancel_reason = 'cambiato dopo il backup'"))
        conn.execute(sa.text("UPDATE organisations SET short_name = short_name || '!'"))
        conn.execute(sa.text("UPDATE notes SET summary = 'riscritta dopo il backup'"))
        conn.execute(sa.text("DELETE FROM note_outcomes"))
    shutil.rmtree(app.config["ARCHIVE_DIR"])


def test_restore_drill(loaded, database_url, tmp_path):
    """Back up, change and delete, restore into a fresh database: same rows, same content, same PDFs."""
    app = loaded
    before = table_digests(db.engine)
    archive_before = _archive_hashes(app.config["ARCHIVE_DIR"])
    for table in ("organisations", "users", "desks", "appointments", "appointment_events", "notes", "note_versions"):
        assert before[table][0] > 0, f"the demo should fill {table}"
    target = tmp_path / "backup.tar.gz"
    result = app.test_cli_runner().invoke(args=["backup", str(target)])
    assert result.exit_code == 0, result.output

    _change_and_delete(app)
    assert table_digests(db.engine) != before

    with fresh_database(database_url, tmp_path) as url:
        restored = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url, ARCHIVE_DIR=tmp_path / "restored-archive")
        with restored.app_context():
            result = restored.test_cli_runner().invoke(args=["restore", str(target)])
            assert result.exit_code == 0, result.output
            after = table_digests(db.engine)
            assert restored.test_client().get("/readyz").status_code == 200
            db.engine.dispose()
    assert after == before  # every table: same count and same content (notes, note versions included)
    assert any(name.startswith("notes/") for name in archive_before)  # the final note's PDF came back too
    assert _archive_hashes(tmp_path / "restored-archive") == archive_before


def test_restore_refuses_a_database_that_is_not_empty(small, tmp_path):
    """Restoring over live data is refused with a clear message, and nothing changes."""
    app = small
    target = tmp_path / "backup"
    assert app.test_cli_runner().invoke(args=["backup", str(target)]).exit_code == 0
    shutil.rmtree(app.config["ARCHIVE_DIR"])
    before = table_digests(db.engine)
    result = app.test_cli_runner().invoke(args=["restore", str(target)])
    assert result.exit_code != 0
    assert "non è vuoto" in result.output
    assert table_digests(db.engine) == before


def test_restore_checks_checksums_before_touching_anything(small, database_url, tmp_path):
    """A tampered file, a missing file or an extra file: refused before the empty database is touched."""
    app = small
    target = tmp_path / "backup"
    assert app.test_cli_runner().invoke(args=["backup", str(target)]).exit_code == 0
    manifest = json.loads((target / "MANIFEST.json").read_text())
    with db.engine.connect() as conn:
        assert manifest["tables"]["organisations"] == conn.execute(sa.text("SELECT count(*) FROM organisations")
                                                                   ).scalar_one() > 0
    assert manifest["revision"] and manifest["dialect"] == db.engine.dialect.name
    assert set(manifest["files"]) >= {"archive/2026/11/note-1-v1.pdf"}
    assert "database.dump" in manifest["files"] or "database.sqlite3" in manifest["files"]

    pdf = target / "archive" / "2026" / "11" / "note-1-v1.pdf"
    pdf.write_bytes(pdf.read_bytes().replace(b"one", b"0ne"))
    with fresh_database(database_url, tmp_path) as url:
        restored = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url, ARCHIVE_DIR=tmp_path / "restored-archive")
        with restored.app_context():
            result = restored.test_cli_runner().invoke(args=["restore", str(target)])
            assert result.exit_code != 0
            assert "Checksum errato per archive/2026/11/note-1-v1.pdf" in result.output
            (target / "extra.txt").write_text("?")
            result = restored.test_cli_runner().invoke(args=["restore", str(target)])
            assert "non corrisponde al manifesto" in result.output
            assert sa.inspect(db.engine).get_table_names() == []
            db.engine.dispose()
    assert not (tmp_path / "restored-archive").exists()


def test_backup_refuses_an_existing_destination(small, tmp_path):
    """Never overwrite an earlier backup."""
    target = tmp_path / "backup"
    target.mkdir()
    (target / "old").write_text("earlier backup")
    result = small.test_cli_runner().invoke(args=["backup", str(target)])
    assert result.exit_code != 0
    assert "non è vuota" in result.output
    assert (target / "old").read_text() == "earlier backup"
