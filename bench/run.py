"""`make bench`: the app under gunicorn, against PostgreSQL at two scales, measured as ratios in one run.

For each scale (1 and 0.01 by default):
1. a database `hub_bench_s<scale>` on 127.0.0.1:5432 is created, migrated and filled by
   `flask bench-data`; or reused when its comment says it holds the same scale, seed and generator
   version, after `flask db upgrade` when migrations were only added since (plan_database);
2. in-process (a child Python with that database): the fixture for the load (accounts, desks,
   young people, draft notes, archived notes; a few drafts are finalised through the real service,
   which renders and archives their PDF: the "first render"), bare WeasyPrint on the same note
   HTML, and the availability engine for every desk over three months;
3. gunicorn on a free port of 127.0.0.1, then locust, headless, with `--users` sessions per role
   (operators, tutors, dashboard readers), in `--rounds` rounds per scale that alternate between
   the scales (1, 0.01, 0.01, 1, ...: ABBA), each `--duration / --rounds` seconds long. A scale's
   percentiles are computed from its rounds' response-time histograms pooled, so a slow spell of
   the shared machine falls on both scales instead of inflating one scale's growth (docs/benchmarks.md).

Then the table (p50, p95, errors per route), the ratios (route p95 / floor p95, scale 1 / scale
0.01, PDF download / bare WeasyPrint, first render / bare), bench/results.json and one dated
line in docs/benchmarks.md.

The floor is GET /healthz: the smallest route of the same app and server that still does what
every page does first, a database round trip (a static file would measure nginx-less gunicorn
file serving, not the app).
"""

from __future__ import annotations

import argparse
import ast
import csv
import hashlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
RESULTS = ROOT / "bench" / "results.json"
HISTORY = ROOT / "docs" / "benchmarks.md"
VERSIONS = ROOT / "migrations" / "versions"
WORK = ROOT / "instance" / "bench"  # fixtures, locust CSVs, each database's PDF archive (git-ignored)
SERVER = "postgresql://postgres@127.0.0.1:5432"
# Redis like production (the report cache shared by the gunicorn workers): one database index per bench
# database (this one, then the next ones), flushed before its scale's first round and warmed before
# every round (as the 5-minute cron job keeps it warm). BENCH_REDIS_URL="" runs without Redis (per-process cache, not warmed).
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/5")
REDIS_OFFSET: dict[str, int] = {}  # bench database -> its index after REDIS_URL's (set by main)
# A key for the bench's own throw-away databases only (the TOTP secrets are encrypted with it).
SECRET_KEY = "hub-bench-local-key-not-for-production-0123456789"  # noqa: S105 - bench databases only
GENERATOR_VERSION = 3  # bump when app/ops/benchdata.py changes what it writes
FLOOR = "floor: /healthz"
FRAGMENTS = ("slot picker (fragment)", "helpdesk queue search (fragment)", "people search (fragment)",
             "note autosave (fragment)")
EXPORTS = ("monitoring CSV export",)
# Milliseconds in the issue, for orientation only: the ratios are the bar.
ABSOLUTE = {"booking POST": 150, "monitoring dashboard": 500}
# The dashboard with a filter nobody asked for yet: computed on demand, never warmed (reported, honest).
COLD = "monitoring dashboard (custom filter, cold)"


def db_name(scale: float) -> str:
    """hub_bench_s1 for scale 1, hub_bench_s001 for 0.01."""
    return "hub_bench_s" + format(scale, "g").replace(".", "")


def app_env(database: str) -> dict[str, str]:
    """The environment of every process that touches one bench database (CLI, in-process, gunicorn)."""
    return {**os.environ, "DATABASE_URL": f"{SERVER}/{database}", "HUB_ENV": "development",
            "SECRET_KEY": SECRET_KEY, "HUB_INSTANCE_DIR": str(WORK / database), "HUB_DEMO": "0",
            "FLASK_APP": "wsgi", "LOGIN_LIMIT_PER_ADDRESS": "100000 per minute", "MAIL_SERVER": "",
            "MAIL_BACKGROUND_DELIVERY": "0", "PYTHONPATH": str(ROOT), "REDIS_URL": redis_url(database)}


def redis_url(database: str) -> str:
    """The Redis index of a bench database's report cache: two databases never read each other's reports."""
    if not REDIS_URL:
        return ""
    base, index = REDIS_URL.rsplit("/", 1)
    return f"{base}/{int(index) + REDIS_OFFSET.get(database, 0)}"


def log(message: str) -> None:
    print(f"[bench {datetime.now(UTC):%H:%M:%S}] {message}", flush=True)


# --- Databases -------------------------------------------------------------------------------

def _admin():
    import psycopg

    return psycopg.connect(f"{SERVER}/postgres", autocommit=True)


@dataclass(frozen=True)
class Migration:
    """One migration file, as the reuse decision sees it."""

    revision: str
    down_revision: str | None
    digest: str  # sha256 of the file, 16 hex digits
    empty: bool  # upgrade() does nothing (a reserved placeholder): applying it again is harmless


def migration_of(text: bytes) -> Migration:
    """Read a migration file's revision ids and whether its upgrade() does anything."""
    values: dict[str, object] = {}
    empty = False
    for node in ast.parse(text).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            if node.targets[0].id in ("revision", "down_revision"):
                values[node.targets[0].id] = ast.literal_eval(node.value)
        elif isinstance(node, ast.FunctionDef) and node.name == "upgrade":
            empty = all(isinstance(s, ast.Pass) or (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))
                        for s in node.body)
    return Migration(str(values.get("revision")), values.get("down_revision"),  # type: ignore[arg-type]
                     hashlib.sha256(text).hexdigest()[:16], empty)


def current_migrations() -> dict[str, Migration]:
    """The migration files in the working tree, by file name."""
    return {path.name: migration_of(path.read_bytes()) for path in sorted(VERSIONS.glob("*.py"))}


def migrations_record(migrations: dict[str, Migration]) -> dict:
    """What a database's comment records about the migrations it was built or upgraded with."""
    ordered = sorted(migrations)
    return {"revision": migrations[ordered[-1]].revision if ordered else None,
            "migrations": {name: migrations[name].digest for name in ordered},
            "empty_migrations": [name for name in ordered if migrations[name].empty]}


@dataclass(frozen=True)
class Plan:
    """What ensure_database does with an existing bench database, and why."""

    action: str  # "reuse", "upgrade" or "rebuild"
    reason: str = ""
    stamp: str | None = None  # upgrade: first mark the database as being at this revision


def plan_database(found: dict, wanted: dict, current: dict[str, Migration]) -> Plan:
    """Reuse, upgrade in place or rebuild a bench database, from its comment and the migration files now.

    Rebuild when the data would differ (scale, seed, generator version) or when a migration it already
    applied has changed since (its schema is not what the file now says); upgrade in place when the
    only difference is migrations added after the ones it has (an added index: `flask db upgrade`,
    then ANALYZE, instead of regenerating the data). A changed file that was an empty placeholder when
    applied, followed only by files that were empty too, is applied again from there (stamp back, then
    upgrade): nothing of it is in the database to undo.
    """
    if not found:
        return Plan("rebuild", "no description")
    for key, value in wanted.items():
        if found.get(key) != value:
            return Plan("rebuild", f"{key} {found.get(key)!r}, wanted {value!r}")
    recorded = found.get("migrations")
    if not isinstance(recorded, dict) or not recorded:
        return Plan("rebuild", "the migrations it was built with are not recorded")
    empty = set(found.get("empty_migrations") or ())
    applied = sorted(recorded)
    removed = [name for name in applied if name not in current]
    if removed:
        return Plan("rebuild", f"applied migration {removed[0]} no longer exists")
    added = [name for name in sorted(current) if name not in recorded]
    if added and added[0] < applied[-1]:
        return Plan("rebuild", f"new migration {added[0]} comes before applied ones")
    changed = [name for name in applied if current[name].digest != recorded[name]]
    if changed:
        again = [name for name in applied if name >= changed[0]]
        if any(name not in empty for name in again) or current[changed[0]].down_revision is None:
            return Plan("rebuild", f"applied migration {changed[0]} changed")
        return Plan("upgrade", f"{', '.join(changed)} filled in (empty when applied), "
                               f"{len(again) + len(added)} migration(s) from {changed[0]} applied",
                    stamp=current[changed[0]].down_revision)
    if added:
        return Plan("upgrade", f"{len(added)} new migration(s): {', '.join(added)}")
    return Plan("reuse")


def _git(*args: str) -> bytes:
    return subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True).stdout


def legacy_record(revision: str) -> dict | None:
    """The migrations behind an old comment's revision ('<head>-<12 hex digits of all the files>'), from git.

    Comments written before the per-file digests hold one digest of every migration file's text; the
    commit whose migrations give that same digest tells which files (and which contents) the database
    was built with. None when no commit matches (or there is no git): the database is then rebuilt.
    """
    head, _, digest = revision.rpartition("-")
    if not head or len(digest) != 12:
        return None
    folder = VERSIONS.relative_to(ROOT).as_posix()
    try:
        commits = _git("log", "--format=%H", "--", folder).decode().split()
        blobs: dict[str, bytes] = {}
        for commit in commits:
            files = []
            for line in _git("ls-tree", commit, f"{folder}/").decode().splitlines():
                meta, path = line.split("\t", 1)
                if path.endswith(".py"):
                    blob = meta.split()[2]
                    if blob not in blobs:
                        blobs[blob] = _git("cat-file", "blob", blob)
                    files.append((path, blobs[blob]))
            files.sort()
            if hashlib.sha256(b"".join(text for _path, text in files)).hexdigest()[:12] == digest:
                record = migrations_record({Path(path).name: migration_of(text) for path, text in files})
                return record if record["revision"] == head else None
    except (OSError, subprocess.CalledProcessError):
        return None
    return None


def _describe(name: str, description: dict) -> None:
    from psycopg import sql

    with _admin() as conn:
        conn.execute(sql.SQL("COMMENT ON DATABASE {} IS {}").format(sql.Identifier(name),
                                                                    sql.Literal(json.dumps(description))))


def _public(description: dict) -> dict:
    """The description without the per-file digests (bench/results.json stays readable)."""
    return {k: v for k, v in description.items() if k not in ("migrations", "empty_migrations")}


def ensure_database(scale: float, seed: int, name: str | None = None) -> dict:
    """Reuse, upgrade or build the scale's database (plan_database decides); returns what was done and its times."""
    name = name or db_name(scale)
    wanted = {"scale": scale, "seed": seed, "generator": GENERATOR_VERSION}
    current = current_migrations()
    with _admin() as conn:
        row = conn.execute("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
                           (name,)).fetchone()
    found: dict = {}
    if row is not None:
        try:
            found = json.loads(row[0] or "{}")
        except ValueError:
            found = {}
        if found and "migrations" not in found and isinstance(found.get("revision"), str):
            found = {**found, **(legacy_record(found["revision"]) or {})}
    plan = plan_database(found, wanted, current) if row is not None else Plan("rebuild", "missing")
    env = app_env(name)
    if plan.action == "reuse":
        log(f"{name}: reused ({found.get('generated_at')}, generated in {found.get('seconds')} s)")
        return {**_public(found), "reused": True}
    if plan.action == "upgrade":
        log(f"{name}: upgrading in place: {plan.reason}")
        started = time.perf_counter()
        if plan.stamp:
            subprocess.run([BIN / "flask", "db", "stamp", plan.stamp], cwd=ROOT, env=env, check=True,
                           capture_output=True)
        subprocess.run([BIN / "flask", "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True)
        import psycopg

        with psycopg.connect(f"{SERVER}/{name}", autocommit=True) as conn:
            conn.execute("ANALYZE")
        seconds = round(time.perf_counter() - started, 1)
        description = {**found, **migrations_record(current), "upgraded_at": datetime.now(UTC).isoformat(
            timespec="seconds"), "upgrade_seconds": seconds}
        _describe(name, description)
        log(f"{name}: upgraded to {description['revision']} in {seconds} s")
        return {**_public(description), "reused": True}
    log(f"{name}: {'exists' if row is not None else 'missing'} ({plan.reason}), built")
    with _admin() as conn:
        if row is not None:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    shutil.rmtree(WORK / name, ignore_errors=True)
    subprocess.run([BIN / "flask", "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True)
    log(f"{name}: generating scale {scale:g} (seed {seed})…")
    started, cpu = time.perf_counter(), os.times()
    subprocess.run([BIN / "flask", "bench-data", "--scale", str(scale), "--seed", str(seed)], cwd=ROOT, env=env,
                   check=True)
    after = os.times()
    seconds = round(time.perf_counter() - started, 1)
    child_cpu = round((after.children_user - cpu.children_user) + (after.children_system - cpu.children_system), 1)
    description = {**wanted, **migrations_record(current),
                   "generated_at": datetime.now(UTC).isoformat(timespec="seconds"), "seconds": seconds,
                   "generator_cpu_seconds": child_cpu}
    _describe(name, description)
    log(f"{name}: generated in {seconds} s (generator process CPU {child_cpu} s)")
    return {**_public(description), "reused": False}


def database_size(name: str) -> str:
    with _admin() as conn:
        return conn.execute("SELECT pg_size_pretty(pg_database_size(%s))", (name,)).fetchone()[0]


# --- In-process part (runs in a child Python with the database's environment) ------------------

def inprocess(seed: int, out: Path, tutors_in_load: int) -> None:
    """Write the load fixture and the in-process timings (PDF, availability) as JSON to `out`."""
    from datetime import timedelta

    import sqlalchemy as sa
    from weasyprint import HTML

    from app import create_app
    from app.bookings.demo import LAST
    from app.bookings.services import busy_intervals
    from app.desks import services as desk_services
    from app.domain import availability as engine
    from app.extensions import db
    from app.formatting import ROME
    from app.models import Appointment, Desk, Note, NoteVersion, Role, User, YoungPerson, desk_operators
    from app.models.base import utcnow
    from app.notes import pdf
    from app.notes import services as notes
    from app.notes.render_worker import make_fetcher
    from app.ops.benchdata import BENCH_PASSWORD, EMAIL_DOMAIN, totp_secret

    app = create_app()
    result: dict = {}
    with app.app_context(), app.test_request_context():
        def accounts(*roles: str) -> list[User]:
            return list(db.session.scalars(sa.select(User).where(User.role.in_(roles),
                                                                   User.email.like(f"%@{EMAIL_DOMAIN}"))
                                           .order_by(User.email)))

        def account(user: User) -> dict:
            return {"email": user.email, "totp": totp_secret(seed, user.email)}

        def writable(tutor: User, limit: int) -> list[int]:
            """The tutor's attended appointments whose note is a draft or not written yet, newest first."""
            final = sa.select(Note.appointment_id).where(Note.status == "final")
            return list(db.session.scalars(
                sa.select(Appointment.id).where(Appointment.tutor_id == tutor.id, Appointment.status == "attended",
                                                Appointment.id.not_in(final))
                .order_by(Appointment.starts_at.desc()).limit(limit)))

        def finalise(tutor: User, appointment_id: int) -> tuple[float, int]:
            """Finalise through the real service (saves, renders in the worker, archives); (seconds, note id)."""
            note = db.session.scalar(sa.select(Note).where(Note.appointment_id == appointment_id))
            data = notes.NoteData.of(note) if note else notes.NoteData(
                outcomes={1: "avviato"}, topics="Orientamento", summary="Primo colloquio: interessi e prossimi passi.",
                agreements="Rivedersi tra due settimane.")
            started = time.perf_counter()
            final = notes.finalise(tutor, appointment_id, data, note.revision if note else 0)
            return time.perf_counter() - started, final.id

        operators = []
        for user in accounts(Role.OPERATOR):
            desk = db.session.scalar(sa.select(Desk).join(desk_operators, desk_operators.c.desk_id == Desk.id)
                                     .where(desk_operators.c.user_id == user.id).order_by(Desk.id))
            people = db.session.scalars(
                sa.select(YoungPerson.id).where(YoungPerson.registered_desk_id == desk.id,
                                                YoungPerson.protected.is_(False))
                .order_by(YoungPerson.id.desc()).limit(200)).all()
            operators.append({**account(user), "desk": desk.id, "services": desk.services, "people": list(people)})

        tutors, first_renders = [], []
        archive = pdf.archive_read  # raises when the file is missing
        for user in accounts(Role.TUTOR)[:tutors_in_load]:
            archived = []
            for version in db.session.scalars(sa.select(NoteVersion).join(Note).where(Note.author_id == user.id)
                                              .order_by(NoteVersion.id).limit(3)):
                try:
                    archive(version.pdf_path)
                    archived.append(version.note_id)
                except OSError:
                    pass
            open_notes = writable(user, 4)
            while len(archived) < 2 and len(open_notes) > 2:  # first run on this database: archive two notes
                seconds, note_id = finalise(user, open_notes.pop())
                first_renders.append(seconds)
                archived.append(note_id)
            tutors.append({**account(user), "drafts": open_notes[:2], "pdf_notes": archived})

        # First render vs bare WeasyPrint, on notes of tutors outside the load (their drafts stay untouched).
        spare = accounts(Role.TUTOR)[tutors_in_load:]
        bare, bare_cpu, measured = [], [], []
        for user in spare[:5]:
            candidates = writable(user, 1)
            if not candidates:
                continue
            seconds, note_id = finalise(user, candidates[0])
            measured.append(seconds)
            note = db.session.get(Note, note_id)
            version = note.versions[-1]
            html = notes.note_html(note, number=1, generated_at=version.created_at, note_hash=note.content_hash,
                                   addenda=[], shown_hash=note.content_hash, finalised_at=note.finalised_at,
                                   finalised_by=user)
            static_root = pdf.static_root()
            for _ in range(3):
                started, cpu = time.perf_counter(), time.process_time()
                HTML(string=html, base_url=static_root.resolve().as_uri() + "/",
                     url_fetcher=make_fetcher(static_root)).write_pdf(
                    pdf_variant=version.pdf_variant or None, pdf_tags=True, attachments=None)
                bare.append(time.perf_counter() - started)
                bare_cpu.append(time.process_time() - cpu)
        result["pdf"] = {"bare_weasyprint_ms": round(statistics.median(bare) * 1000, 1) if bare else None,
                         "first_render_ms": round(statistics.median(measured) * 1000, 1) if measured else None,
                         "bare_weasyprint_cpu_ms": round(statistics.median(bare_cpu) * 1000, 1) if bare else None,
                         "first_render_samples": len(measured), "bare_samples": len(bare)}

        # Availability: every desk, the next three months (inputs loaded from the database, then the engine).
        desks = list(db.session.scalars(sa.select(Desk).where(Desk.active.is_(True)).order_by(Desk.id)))
        today = datetime.now(ROME).date()
        last = today + timedelta(days=91)
        runs_engine, runs_cpu, runs_total, slots = [], [], [], 0
        for _ in range(5):
            started = time.perf_counter()
            by_desk = desk_services.desk_calendars([d.id for d in desks], today, last)  # as occupancy reads them
            calendars = [by_desk[d.id] for d in desks]
            tutor_cals = desk_services.tutor_calendars([d.id for d in desks], today, last)
            window = (datetime.combine(today, datetime.min.time(), ROME),
                      datetime.combine(last + timedelta(days=1), datetime.min.time(), ROME))
            busy = busy_intervals([d.id for d in desks], start=window[0], end=window[1])
            loaded, cpu = time.perf_counter(), time.process_time()
            # One list serves every desk: indexed by desk, tutor and young person on first use (timed here).
            busy = engine.BusyIndex(busy)
            now = utcnow()
            slots = 0
            for desk, calendar in zip(desks, calendars, strict=True):
                engine.open_intervals(calendar, today, last)
                slots += len(engine.bookable_slots(calendar, tutor_cals, busy, today, last,
                                                   desk_services.slot_rules(desk), now))
            runs_engine.append(time.perf_counter() - loaded)
            runs_cpu.append(time.process_time() - cpu)
            runs_total.append(time.perf_counter() - started)
            db.session.rollback()
        result["availability"] = {"desks": len(desks), "days": 92, "busy": len(busy), "slots": slots,
                                  "engine_ms": round(statistics.median(runs_engine) * 1000, 1),
                                  "engine_cpu_ms": round(statistics.median(runs_cpu) * 1000, 1),
                                  "with_loading_ms": round(statistics.median(runs_total) * 1000, 1)}

        rules = {rule.rule for rule in app.url_map.iter_rules()}
        names = sorted(set(LAST))[:40]
        words = ("obiettivi", "scuola", "lavoro", "tirocinio", "famiglia", "curriculum", "colloquio", "progetto",
                 "orientamento", "interessi", "futuro", "scelta", "compagni", "tempo", "studio", "passi")
        fixture = {"password": BENCH_PASSWORD, "operators": operators, "tutors": tutors,
                   "readers": [account(u) for u in accounts(Role.ADMIN, Role.COORDINATOR, Role.MUNICIPAL_CONTACT,
                                                             Role.OBSERVER)],
                   "dashboard": "/monitoraggio" if "/monitoraggio" in rules else None,
                   "export": "/monitoraggio/export.csv" if "/monitoraggio/export.csv" in rules else None,
                   "names": names, "words": list(words)}
        result["fixture"] = fixture
        result["first_renders_for_load"] = len(first_renders)
        result["appointments"] = db.session.scalar(sa.select(sa.func.count()).select_from(Appointment))
    out.write_text(json.dumps(result, indent=1))


# --- Server and load ------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_healthy(url: str, process: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("gunicorn exited before answering")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as answer:  # noqa: S310 - our own server
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError("gunicorn did not answer /healthz in time")


def warm_reports(database: str, *, flush: bool) -> dict:
    """`flask reports-warm` as the 5-minute cron job would, before a round (the cache keeps a report 300 s);
    `flush`: empty the database's Redis index first (its first round). Its output and time."""
    if not REDIS_URL:
        return {"redis": False}
    import redis

    if flush:
        redis.Redis.from_url(redis_url(database)).flushdb()
    started = time.perf_counter()
    done = subprocess.run([BIN / "flask", "reports-warm"], cwd=ROOT, env=app_env(database), check=True,
                          capture_output=True, text=True)
    seconds = round(time.perf_counter() - started, 1)
    output = done.stdout.strip()
    log(f"{database}: {output} (command {seconds} s)")
    return {"redis": True, "output": output, "seconds": seconds}


def run_load(database: str, fixture: Path, users: int, duration: int, workers: int, threads: int,
             prefix: Path) -> dict:
    """gunicorn + locust for one round; returns locust's response-time histograms (by name and method) and the failures."""
    env = app_env(database)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server_log = (WORK / f"gunicorn-{database}.log").open("w")
    server = subprocess.Popen([BIN / "gunicorn", "--workers", str(workers), "--worker-class", "gthread",
                               "--threads", str(threads), "--bind", f"127.0.0.1:{port}",
                               "--timeout", "60", "--log-level", "warning", "wsgi:app"], cwd=ROOT, env=env,
                              stdout=server_log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_healthy(url, server)
        log(f"{database}: gunicorn ({workers} workers) on {url}; {users} sessions per role sign in, then "
            f"{duration} s of load")
        # The measured time starts once every session has signed in (see the locustfile); --run-time is a
        # safety bound only, in case sign-ins never complete.
        subprocess.run([BIN / "locust", "-f", str(ROOT / "bench" / "locustfile.py"), "--headless",
                        "--users", str(users * 3), "--spawn-rate", "5", "--run-time", f"{duration + 600}s",
                        "--host", url, "--csv", str(prefix), "--only-summary",
                        "--loglevel", "WARNING", "--exit-code-on-error", "0"],
                       cwd=ROOT, env={**env, "BENCH_FIXTURE": str(fixture), "BENCH_USERS_PER_ROLE": str(users),
                                      "BENCH_DURATION": str(duration), "BENCH_HISTOGRAMS": f"{prefix}_histograms.json"},
                       check=True)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        server_log.close()
    histograms = [entry for entry in json.loads(Path(f"{prefix}_histograms.json").read_text())
                  if entry["name"] not in ("sign-in", "note editor")]
    with open(f"{prefix}_failures.csv", newline="", encoding="utf-8") as handle:
        failures = [f"{r['Name']}: {r['Error']} ×{r['Occurrences']}" for r in csv.DictReader(handle)]
    with open(f"{prefix}_exceptions.csv", newline="", encoding="utf-8") as handle:
        failures += [f"exception: {r['Message']} ×{r['Count']}" for r in csv.DictReader(handle)]
    return {"histograms": histograms, "failure_messages": failures}


def percentile(times: dict[int, int], count: int, fraction: float) -> int:
    """The response time within which `fraction` of the `count` requests of a histogram finished.

    Locust's own rule (locust.stats.calculate_response_time_percentile), so a pooled p95 reads like one
    of locust's; not imported from it: importing locust patches the whole process with gevent, which
    hangs pytest-xdist's worker threads when a test imports this module.
    """
    wanted, seen = int(count * fraction), 0
    for ms in sorted(times, reverse=True):
        seen += times[ms]
        if count - seen <= wanted:
            return ms
    return 0


def pooled(rounds: list[dict]) -> dict:
    """One scale's rounds as one run: {route: {count, failures, p50, p95}} from each route's histograms added up."""
    sums: dict[str, dict] = {}
    for one in rounds:
        for entry in one["histograms"]:
            total = sums.setdefault(entry["name"], {"count": 0, "failures": 0, "times": {}})
            total["count"] += entry["count"]
            total["failures"] += entry["failures"]
            for ms, n in entry["times"].items():
                total["times"][int(ms)] = total["times"].get(int(ms), 0) + n
    routes = {}
    for route, total in sorted(sums.items()):
        timed = sum(total["times"].values())
        if not timed:  # a rare task not drawn in a short run: no percentiles
            continue
        routes[route] = {"count": total["count"], "failures": total["failures"],
                         "p50": float(percentile(total["times"], timed, 0.5)),
                         "p95": float(percentile(total["times"], timed, 0.95))}
    return {"routes": routes, "rounds": len(rounds),
            "failure_messages": [m for one in rounds for m in one["failure_messages"]]}


def round_order(scales: list[float], rounds: int) -> list[float]:
    """ABBA: the scales in order, then reversed, and so on (each scale `rounds` times)."""
    return [s for r in range(rounds) for s in (scales if r % 2 == 0 else scales[::-1])]


# --- Report ---------------------------------------------------------------------------------

def kind_of(route: str) -> str:
    if route == FLOOR:
        return "floor"
    if route == COLD:
        return "cold"  # reported, no target: a report nobody asked for yet costs what the data costs
    return "fragment" if route in FRAGMENTS else "export" if route in EXPORTS else "page"


def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a and b else None


def report(results: dict, scales: list[float]) -> list[str]:
    big, small = (db_name(s) for s in (scales[0], scales[-1]))
    load = results["scales"]
    routes = sorted({r for s in load.values() for r in s["load"]["routes"]},
                    key=lambda r: (r != FLOOR, r))
    floor = load[big]["load"]["routes"].get(FLOOR, {}).get("p95")
    lines = [f"{'route':<44}{'kind':>9}" + "".join(f"{'p50 ' + n[10:]:>10}{'p95 ' + n[10:]:>10}{'err':>5}"
                                                    for n in (big, small))
             + f"{'p95/floor':>10}{'target':>7}{'growth':>8}"]
    ratios = {"route_vs_floor": {}, "growth": {}}
    for route in routes:
        cells = ""
        for name in (big, small):
            stats = load[name]["load"]["routes"].get(route)
            cells += (f"{stats['p50']:>10.0f}{stats['p95']:>10.0f}{stats['failures']:>5}" if stats
                      else f"{'-':>10}{'-':>10}{'-':>5}")
        kind = kind_of(route)
        p95 = load[big]["load"]["routes"].get(route, {}).get("p95")
        p95_small = load[small]["load"]["routes"].get(route, {}).get("p95")
        vs_floor = ratio(p95, floor) if route != FLOOR else None
        target = 4 if kind == "fragment" else 8 if kind in ("page", "export") else None
        growth = ratio(p95, p95_small)
        if vs_floor is not None:
            ratios["route_vs_floor"][route] = {"ratio": vs_floor, "target": target,
                                               "met": None if target is None else vs_floor <= target}
        if growth is not None and len(scales) > 1:
            limit = None if kind in ("export", "floor", "cold") else 1.5  # the floor is the reference, exports grow
            ratios["growth"][route] = {"ratio": growth, "target": limit,
                                       "met": None if limit is None else growth <= limit}
        lines.append(f"{route[:44]:<44}{kind:>9}{cells}{(vs_floor or 0):>10.2f}{(target or 0):>7}"
                     f"{(growth or 0):>8.2f}")
    pdf = load[big]["inprocess"]["pdf"]
    download = load[big]["load"]["routes"].get("note PDF download (archived)", {}).get("p95")
    ratios["pdf_download_vs_bare"] = {"ratio": ratio(download, pdf["bare_weasyprint_ms"]), "target": 0.2}
    ratios["first_render_vs_bare"] = {"ratio": ratio(pdf["first_render_ms"], pdf["bare_weasyprint_ms"]),
                                      "target": 1.3}
    for key in ("pdf_download_vs_bare", "first_render_vs_bare"):
        value = ratios[key]
        value["met"] = value["ratio"] is not None and value["ratio"] <= value["target"]
    results["ratios"] = ratios
    availability = load[big]["inprocess"]["availability"]
    lines += [
        "",
        f"PDF: download p95 {download} ms, bare WeasyPrint {pdf['bare_weasyprint_ms']} ms (CPU "
        f"{pdf['bare_weasyprint_cpu_ms']} ms), first render "
        f"(finalise: worker + archive) {pdf['first_render_ms']} ms -> download/bare "
        f"{ratios['pdf_download_vs_bare']['ratio']} (target <= 0.2), first/bare "
        f"{ratios['first_render_vs_bare']['ratio']} (target <= 1.3)",
        f"Availability ({availability['desks']} desks x {availability['days']} days, {availability['busy']} busy, "
        f"{availability['slots']} slots): engine {availability['engine_ms']} ms (CPU "
        f"{availability['engine_cpu_ms']} ms), with loading from the database "
        f"{availability['with_loading_ms']} ms (target <= 200 ms)",
    ]
    errors = sum(r["failures"] for s in load.values() for r in s["load"]["routes"].values())
    lines.append(f"Errors: {errors}" + "".join(f"\n  {m}" for s in load.values() for m in s["load"]["failure_messages"]))
    return lines


def history_line(results: dict) -> str:
    ratios = results["ratios"]
    worst = max(((r, v) for r, v in ratios["route_vs_floor"].items() if v["target"]),
                key=lambda kv: kv[1]["ratio"] / kv[1]["target"],
                default=("-", {"ratio": None, "target": None}))
    growth = [(r, v["ratio"]) for r, v in ratios["growth"].items() if v["target"]]
    worst_growth = max(growth, key=lambda kv: kv[1]) if growth else ("-", 0)
    big = next(iter(results["scales"].values()))
    missed = [r for r, v in ratios["route_vs_floor"].items() if v["met"] is False]
    missed += [f"growth {r}" for r, v in ratios["growth"].items() if v["met"] is False]
    missed += [k for k in ("pdf_download_vs_bare", "first_render_vs_bare") if not ratios[k]["met"]]
    server = f"gunicorn {results['gunicorn_workers']}×{results.get('gunicorn_threads', 4)} · "
    if results.get("rounds", 1) > 1:
        server += f"{results['rounds']} rounds per scale, alternating · "
    return (f"- {results['date']} · {results['cores']} cores (load average {results['load_average']}) · {server}"
            f"floor p95 {big['load']['routes'].get(FLOOR, {}).get('p95')} ms · worst p95/floor "
            f"{worst[1]['ratio']} ({worst[0]}, target {worst[1]['target']}) · worst growth {worst_growth[1]} "
            f"({worst_growth[0]}) · PDF download/bare {ratios['pdf_download_vs_bare']['ratio']}, first/bare "
            f"{ratios['first_render_vs_bare']['ratio']} · availability engine "
            f"{big['inprocess']['availability']['engine_ms']} ms · errors {results['errors']} · "
            f"missed: {', '.join(missed) or 'none'}\n")


def _stop(_signum, _frame) -> None:
    raise SystemExit(143)  # so the `finally` that stops gunicorn runs on Ctrl+C / kill


def main() -> None:
    signal.signal(signal.SIGTERM, _stop)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scales", default="1,0.01", help="comma-separated; the first is the big one")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--duration", type=int, default=60, help="seconds of load per scale (all its rounds)")
    parser.add_argument("--rounds", type=int, default=2,
                        help="rounds per scale, alternating between the scales (ABBA); 1 = one run per scale")
    parser.add_argument("--users", type=int, default=20, help="concurrent sessions per role")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers (docs/deploy.md uses 3)")
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread worker (docs/deploy.md uses 4)")
    parser.add_argument("--inprocess", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inprocess:
        inprocess(args.seed, Path(args.inprocess), args.users)
        return
    scales = [float(s) for s in args.scales.split(",")]
    WORK.mkdir(parents=True, exist_ok=True)
    results = {"date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "cores": os.cpu_count(),
               "load_average": round(os.getloadavg()[0], 1), "seed": args.seed, "duration_s": args.duration,
               "rounds": args.rounds, "users_per_role": args.users, "gunicorn_workers": args.workers,
               "gunicorn_threads": args.threads, "scales": {}}
    prepared = {}
    for offset, scale in enumerate(scales):
        name = db_name(scale)
        REDIS_OFFSET[name] = offset
        database = ensure_database(scale, args.seed)
        out = WORK / f"inprocess-{name}.json"
        log(f"{name}: fixture, PDF and availability timings (in-process)…")
        subprocess.run([BIN / "python", str(Path(__file__)), "--inprocess", str(out), "--seed", str(args.seed),
                        "--users", str(args.users)], cwd=ROOT, env=app_env(name), check=True)
        measured = json.loads(out.read_text())
        fixture = WORK / f"fixture-{name}.json"
        fixture.write_text(json.dumps(measured.pop("fixture")))
        prepared[name] = {"scale": scale, "database": database, "size": database_size(name), "inprocess": measured,
                          "reports_warm": [], "fixture": fixture, "rounds": []}
    seconds = max(1, round(args.duration / args.rounds))
    for number, scale in enumerate(round_order(scales, args.rounds), start=1):
        name = db_name(scale)
        log(f"round {number} of {args.rounds * len(scales)}: {name}")
        prepared[name]["reports_warm"].append(warm_reports(name, flush=not prepared[name]["rounds"]))
        prepared[name]["rounds"].append(run_load(name, prepared[name]["fixture"], args.users, seconds, args.workers,
                                                 args.threads, WORK / f"locust-{name}-{number}"))
    for name, scale_results in prepared.items():
        results["scales"][name] = {**{k: v for k, v in scale_results.items() if k not in ("fixture", "rounds")},
                                   "load": pooled(scale_results["rounds"])}
    results["errors"] = sum(r["failures"] for s in results["scales"].values() for r in s["load"]["routes"].values())
    lines = report(results, scales)
    print("\n".join(lines))
    RESULTS.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n")
    with HISTORY.open("a", encoding="utf-8") as handle:
        handle.write(history_line(results))
    log(f"written {RESULTS.relative_to(ROOT)} and a line in {HISTORY.relative_to(ROOT)}")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
