"""Backup and restore of the database and the PDF archive, with a checksum manifest.

A backup is a directory (or a .tar / .tar.gz of it) holding:

- `database.dump`  PostgreSQL, `pg_dump --format=custom`, or
  `database.sqlite3` SQLite, copied with the online backup API (safe while the app runs);
- `archive/`       the archived note PDFs (config ARCHIVE_DIR);
- `MANIFEST.json`  sha256 of every file, rows per table, the migration revision.

On PostgreSQL the row counts are taken in the very snapshot pg_dump exports
(`pg_export_snapshot()` + `pg_dump --snapshot`), so they describe the dump exactly
even while the app keeps writing. Restore checks every checksum before touching
anything, refuses a database that already has tables, and compares the counts
afterwards.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from app.models.base import utcnow

MANIFEST = "MANIFEST.json"
PG_DUMP = "database.dump"
SQLITE_COPY = "database.sqlite3"
ARCHIVE = "archive"
FORMAT_VERSION = 1
TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz")


class BackupError(Exception):
    """A backup or restore that cannot go on; the message is for the operator."""


@dataclass
class Result:
    """What a backup or restore did."""

    path: Path
    manifest: dict


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _libpq(url: sa.URL) -> tuple[list[str], dict[str, str]]:
    """Connection arguments for pg_dump/pg_restore; the password travels in the environment, not argv."""
    args = ["--dbname", url.database or "postgres"]
    if url.host:
        args += ["--host", url.host]
    if url.port:
        args += ["--port", str(url.port)]
    if url.username:
        args += ["--username", url.username]
    env = {**os.environ}
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return args, env


def _tables(conn) -> list[str]:
    """Application tables, alembic_version included, sorted by name."""
    return sorted(sa.inspect(conn).get_table_names())


def _counts(conn, tables: list[str]) -> dict[str, int]:
    return {t: conn.execute(sa.text(f'SELECT count(*) FROM "{t}"')).scalar_one() for t in tables}  # noqa: S608


def _revision(conn, tables: list[str]) -> str | None:
    if "alembic_version" not in tables:
        return None
    return ",".join(sorted(conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars()))


def _run(command: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"{Path(command[0]).name} non riuscito: {done.stderr.strip()[-1500:]}")


# --- Backup --------------------------------------------------------------------------

def backup(engine: sa.Engine, archive_dir: Path, target: Path) -> Result:
    """Write a backup of the database and the archive to `target` (a new directory or a .tar[.gz])."""
    target = Path(target)
    if target.exists() and (target.is_file() or any(target.iterdir())):
        raise BackupError(f"La destinazione {target} esiste già e non è vuota.")
    as_tar = target.name.endswith(TAR_SUFFIXES)
    work = Path(tempfile.mkdtemp(prefix="hub-backup-", dir=target.parent if as_tar else None)) if as_tar \
        else target
    work.mkdir(parents=True, exist_ok=True)
    try:
        if engine.dialect.name == "postgresql":
            tables, counts, revision = _dump_postgresql(engine, work / PG_DUMP)
        elif engine.dialect.name == "sqlite":
            tables, counts, revision = _copy_sqlite(engine, work / SQLITE_COPY)
        else:  # pragma: no cover
            raise BackupError(f"Database non supportato: {engine.dialect.name}")
        (work / ARCHIVE).mkdir()
        if Path(archive_dir).is_dir():
            shutil.copytree(archive_dir, work / ARCHIVE, dirs_exist_ok=True)
        files = {p.relative_to(work).as_posix(): sha256_file(p)
                 for p in sorted(work.rglob("*")) if p.is_file() and p.name != MANIFEST}
        manifest = {
            "format": FORMAT_VERSION,
            "created_at": utcnow().isoformat(),
            "dialect": engine.dialect.name,
            "revision": revision,
            "tables": counts,
            "files": files,
        }
        (work / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        if as_tar:
            mode = "w:gz" if target.name.endswith((".gz", ".tgz")) else "w"
            with tarfile.open(target, mode) as tar:
                for path in sorted(work.iterdir()):
                    tar.add(path, arcname=path.name)
        return Result(target, manifest)
    except BaseException:
        if not as_tar:
            shutil.rmtree(work, ignore_errors=True)
        raise
    finally:
        if as_tar:
            shutil.rmtree(work, ignore_errors=True)


def _dump_postgresql(engine: sa.Engine, out: Path) -> tuple[list[str], dict[str, int], str | None]:
    """pg_dump in the snapshot where we count the rows (a consistent picture under load)."""
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            snapshot = conn.execute(sa.text("SELECT pg_export_snapshot()")).scalar_one()
            tables = _tables(conn)
            counts = _counts(conn, tables)
            revision = _revision(conn, tables)
            args, env = _libpq(engine.url)
            # The exported snapshot lives as long as this transaction: pg_dump runs inside it.
            _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--snapshot={snapshot}",
                  "--file", str(out), *args], env)
    return tables, counts, revision


def _sqlite_path(engine: sa.Engine) -> Path:
    database = engine.url.database
    if not database or database == ":memory:":
        raise BackupError("Il database SQLite in memoria non si può salvare: usa un file.")
    return Path(database)


def _copy_sqlite(engine: sa.Engine, out: Path) -> tuple[list[str], dict[str, int], str | None]:
    """The online backup API: pages copied under the database's own locking, consistent with writers."""
    source = sqlite3.connect(_sqlite_path(engine), timeout=30)
    copy = sqlite3.connect(out)
    try:
        source.backup(copy)
    finally:
        source.close()
    copy.close()
    copy_engine = sa.create_engine(f"sqlite:///{out}", poolclass=sa.pool.NullPool)
    try:
        with copy_engine.connect() as conn:
            tables = _tables(conn)
            return tables, _counts(conn, tables), _revision(conn, tables)
    finally:
        copy_engine.dispose()


# --- Restore -------------------------------------------------------------------------

def _open(source: Path, scratch: Path) -> Path:
    """The backup directory: `source` itself, or a tar extracted into `scratch` (data filter: no links out)."""
    if source.is_dir():
        return source
    if not source.is_file():
        raise BackupError(f"Backup non trovato: {source}")
    try:
        with tarfile.open(source) as tar:
            tar.extractall(scratch, filter="data")
    except (tarfile.TarError, OSError) as error:
        raise BackupError(f"Archivio di backup illeggibile: {error}") from None
    return scratch


def read_manifest(folder: Path) -> dict:
    """The manifest, after checking that every listed file exists with its checksum and nothing is extra."""
    path = folder / MANIFEST
    if not path.is_file():
        raise BackupError(f"{MANIFEST} mancante: non è un backup dell'Hub dei Talenti.")
    try:
        manifest = json.loads(path.read_text())
    except ValueError:
        raise BackupError(f"{MANIFEST} illeggibile.") from None
    if manifest.get("format") != FORMAT_VERSION:
        raise BackupError(f"Formato di backup non supportato: {manifest.get('format')!r}.")
    present = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST}
    listed = set(manifest["files"])
    if present != listed:
        missing, extra = sorted(listed - present), sorted(present - listed)
        raise BackupError(f"Il backup non corrisponde al manifesto (mancanti: {missing}, in più: {extra}).")
    for name, expected in manifest["files"].items():
        if sha256_file(folder / name) != expected:
            raise BackupError(f"Checksum errato per {name}: il backup è danneggiato o alterato.")
    return manifest


def restore(engine: sa.Engine, archive_dir: Path, source: Path) -> Result:
    """Restore a verified backup into an empty database and an empty archive folder."""
    source = Path(source)
    with tempfile.TemporaryDirectory(prefix="hub-restore-") as scratch:
        folder = _open(source, Path(scratch))
        manifest = read_manifest(folder)
        if manifest["dialect"] != engine.dialect.name:
            raise BackupError(f"Il backup è di un database {manifest['dialect']}, la destinazione è "
                              f"{engine.dialect.name}.")
        with engine.connect() as conn:
            existing = _tables(conn)
        if existing:
            raise BackupError(f"Il database di destinazione non è vuoto ({len(existing)} tabelle): il ripristino "
                              "si fa solo in un database nuovo e vuoto.")
        archive_dir = Path(archive_dir)
        if archive_dir.is_dir() and any(archive_dir.iterdir()):
            raise BackupError(f"La cartella dell'archivio {archive_dir} non è vuota.")
        if engine.dialect.name == "postgresql":
            args, env = _libpq(engine.url)
            _run(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
                  *args, str(folder / PG_DUMP)], env)
        else:
            _restore_sqlite(engine, folder / SQLITE_COPY)
        engine.dispose()
        archive_dir.mkdir(parents=True, exist_ok=True)
        shutil.copytree(folder / ARCHIVE, archive_dir, dirs_exist_ok=True)
        with engine.connect() as conn:
            tables = _tables(conn)
            counts = _counts(conn, tables)
        if counts != manifest["tables"]:
            diff = {t: (manifest["tables"].get(t), counts.get(t))
                    for t in set(counts) | set(manifest["tables"]) if counts.get(t) != manifest["tables"].get(t)}
            raise BackupError(f"Ripristino incompleto: righe diverse dal manifesto {diff}.")
        return Result(source, manifest)


def _restore_sqlite(engine: sa.Engine, copy: Path) -> None:
    target = _sqlite_path(engine)
    engine.dispose()
    source = sqlite3.connect(copy)
    destination = sqlite3.connect(target, timeout=30)
    try:
        source.backup(destination)
    finally:
        source.close()
        destination.close()
