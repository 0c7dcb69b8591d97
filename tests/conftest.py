"""Shared fixtures: a migrated database per run (SQLite or PostgreSQL), the app, clients, factories.

Choose the database with HUB_TEST_DB=sqlite (default) or HUB_TEST_DB=postgresql;
TEST_DATABASE_URL points at a PostgreSQL database we may connect to in order to
create (and afterwards drop) a private database for this run.
"""

from __future__ import annotations

import atexit
import functools
import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

# Every test process (each xdist worker too) gets its own instance folder, so the PDF
# archive, e-mail files and keys of a test run never touch the developer's instance/.
# Set before `app.config` is imported, which reads it.
_INSTANCE = tempfile.mkdtemp(prefix="hub-test-instance-")
os.environ["HUB_INSTANCE_DIR"] = _INSTANCE
os.environ.pop("HUB_ARCHIVE_DIR", None)
atexit.register(shutil.rmtree, _INSTANCE, True)

import pytest  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from flask.testing import FlaskClient  # noqa: E402

from app import create_app  # noqa: E402
from app.config import TestingConfig  # noqa: E402
from app.extensions import db  # noqa: E402

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
DEMO_PASSWORD = "hub-demo-2026"


def _pg_url(url: str) -> sa.URL:
    parsed = sa.make_url(url)
    return parsed.set(drivername="postgresql+psycopg")


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> Iterator[str]:
    """A fresh, migrated database for this test run; dropped at the end."""
    kind = os.environ.get("HUB_TEST_DB", "sqlite")
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'hub-test.db'}"
        _migrate(url)
        yield url
        return
    if kind != "postgresql":
        raise pytest.UsageError(f"HUB_TEST_DB must be sqlite or postgresql, not {kind!r}")
    admin_url = _pg_url(os.environ.get("TEST_DATABASE_URL", DEFAULT_PG_URL))
    name = f"hub_test_{os.getpid()}_{secrets.token_hex(3)}"
    admin_engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin_engine.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        # In CI an unreachable database is a failure, never a skip.
        pytest.exit(f"PostgreSQL at {admin_url.render_as_string(hide_password=True)} is unreachable: {exc}", 3)
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    try:
        _migrate(url)
        yield url
    finally:
        with admin_engine.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin_engine.dispose()


def _migrate(url: str) -> None:
    """Build the schema through the migrations, as production does."""
    from flask_migrate import upgrade

    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        upgrade()
        db.engine.dispose()


@contextmanager
def append_only_suspended(conn):
    """Lift the append-only triggers (audit log, …) inside this transaction: test cleanup and tampering only."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SET LOCAL session_replication_role = replica"))  # superuser: triggers off
        yield
        conn.execute(sa.text("SET LOCAL session_replication_role = origin"))
        return
    triggers = conn.execute(sa.text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")).all()
    for name, _sql in triggers:
        conn.execute(sa.text(f'DROP TRIGGER "{name}"'))
    yield
    for _name, sql in triggers:
        conn.execute(sa.text(sql))


def _clean(app) -> None:
    """Empty every table so each test starts from a blank database, ids counting from 1 again.

    A test fills a handful of the ~40 tables: one query names those with rows and only they are
    emptied, with DELETE (triggers, foreign keys too, suspended); then the id counters that moved are
    restarted. On PostgreSQL a TRUNCATE … RESTART IDENTITY CASCADE of every table (new files for each
    table and index) cost 0.1–1 s per test; this costs 10 ms on a quiet machine, ~150 ms on a busy one.
    """
    with app.app_context():
        tables = [t.name for t in reversed(db.metadata.sorted_tables)]
        probe = " UNION ALL ".join(f"SELECT '{t}' WHERE EXISTS (SELECT 1 FROM \"{t}\")" for t in tables)  # noqa: S608 - table names from metadata
        with db.engine.begin() as conn:
            with_rows = set(conn.execute(sa.text(probe)).scalars())  # asked once, not inside the comprehension
            filled = [t for t in tables if t in with_rows]
            if conn.dialect.name == "postgresql":
                # Sequences read since their last restart (last_value is NULL until nextval).
                counters = conn.execute(sa.text(
                    "SELECT quote_ident(schemaname) || '.' || quote_ident(sequencename) FROM pg_sequences "
                    "WHERE schemaname = current_schema() AND last_value IS NOT NULL")).scalars().all()
            else:
                has_seq = conn.execute(sa.text("SELECT 1 FROM sqlite_master WHERE name='sqlite_sequence'")).first()
                used = has_seq and conn.execute(sa.text("SELECT 1 FROM sqlite_sequence LIMIT 1")).first()
                counters = ["sqlite_sequence"] if used else []
            if not filled and not counters:
                return
            with append_only_suspended(conn):
                for table in filled:
                    conn.execute(sa.text(f'DELETE FROM "{table}"'))  # noqa: S608 - table names from metadata
                if counters == ["sqlite_sequence"]:
                    conn.execute(sa.text("DELETE FROM sqlite_sequence"))
                elif counters:
                    # setval, not ALTER SEQUENCE … RESTART: no DDL, so no catalogue invalidation that
                    # makes every pooled connection plan its statements again.
                    conn.execute(sa.text("SELECT " + ", ".join(
                        f"setval('{counter}', 1, false)" for counter in counters)))


# How `make test` shares the suite between its xdist workers (-n 2 --dist loadfile): a file's tests
# stay together in one worker, the browser package is one unit (its live server, demo data and
# Chromium are set up once per run, not each time a worker comes back to the package), and the
# units go out longest first, so no worker is left alone with a long file while the other idles.
# Estimated seconds per test: 8 in a file that uses the slow, browser or concurrency marker (mark a
# new long test `@pytest.mark.slow` and it is started first), by folder where tests start processes
# or a browser, 0.3 elsewhere.
_ONE_UNIT = ("tests/browser/",)
_SECONDS_PER_TEST = {"tests/browser/": 10.0, "tests/concurrency/": 8.0, "tests/ops/": 6.0, "tests/notes/": 1.5,
                     "tests/security/test_hostile_forms.py": 1.5, "tests/test_access_matrix.py": 0.5,
                     "tests/reports/test_quarterly.py": 3.0, "tests/privacy/": 2.0}
_SLOW_MARKERS = re.compile(r"mark\.(slow|browser|concurrency)\b")


@functools.cache
def _seconds_per_test(path: str) -> float:
    try:
        with open(path, encoding="utf-8") as source:
            slow = _SLOW_MARKERS.search(source.read())
    except OSError:
        slow = None
    return 8.0 if slow else next((s for p, s in _SECONDS_PER_TEST.items() if path.startswith(p)), 0.3)


def _estimated_seconds(nodeids) -> float:
    return sum(_seconds_per_test(n.split("::", 1)[0]) for n in nodeids)


@pytest.hookimpl(tryfirst=True, optionalhook=True)  # optional: pytest -p no:xdist
def pytest_xdist_make_scheduler(config, log):
    """--dist loadfile, with the browser package as one unit and the longest units sent first."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class LongestFirst(LoadFileScheduling):
        ordered = False

        def _split_scope(self, nodeid: str) -> str:
            return next((unit for unit in _ONE_UNIT if nodeid.startswith(unit)), None) or super()._split_scope(nodeid)

        def _assign_work_unit(self, node) -> None:
            if not self.ordered:  # the work queue is complete before the first unit goes out
                self.ordered = True
                units = sorted(self.workqueue.items(), key=lambda unit: -_estimated_seconds(unit[1]))
                self.workqueue.clear()
                self.workqueue.update(units)
            super()._assign_work_unit(node)

    return LongestFirst(config, log)


class HubClient(FlaskClient):
    """Test client that sends the CSRF token with every unsafe request, like our pages do."""

    send_csrf = True

    def csrf_token(self) -> str:
        """The token the app would put in this client's pages."""
        html = self.get("/accessibilita").get_data(as_text=True)
        match = re.search(r'"X-CSRFToken": "([^"]+)"', html)
        assert match, "no CSRF token in the page"
        return match.group(1)

    def open(self, *args, **kwargs):
        method = (kwargs.get("method") or "GET").upper()
        csrf = kwargs.pop("csrf", self.send_csrf)
        if csrf and method in {"POST", "PUT", "PATCH", "DELETE"}:
            headers = dict(kwargs.pop("headers", None) or {})
            headers.setdefault("X-CSRFToken", self.csrf_token())
            kwargs["headers"] = headers
        # A fresh app context per request, as in production: otherwise the test's context
        # is reused and `g` (Flask-Login's cached user, Flask-WTF's token) leaks between
        # requests and clients, so a revoked cookie could look signed in. The test's own
        # session commits first: it ends its read snapshot (SQLite BEGIN, PostgreSQL locks)
        # and expires its objects, so afterwards it reads what the request wrote.
        db.session.commit()
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture(autouse=True)
def pinned_today(monkeypatch):
    """tests.bookings.conftest.tomorrow_at counts from the day the test started (see there)."""
    from tests.bookings import conftest as bookings

    monkeypatch.setattr(bookings, "PINNED_TODAY", datetime.now(bookings.ROME).date())


_APPS: dict[str, tuple] = {}  # database URL -> (the app of this process, its config as built)


@pytest.fixture
def app(database_url):
    """The app bound to this run's database, emptied before each test.

    One app object per test process (building one costs ~40 ms of CPU, a few hundred tests per
    process): what a test may change on it, its config and the rate limiter's counters, is put back
    here before the next test, as if the app were new.
    """
    from app.extensions import limiter

    cached = _APPS.get(database_url)
    if cached is None:
        # RATELIMIT_ENABLED given: the limiter would otherwise inherit a switched-off state from an
        # app built earlier in this process with RATELIMIT_ENABLED=False.
        app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=database_url,
                         RATELIMIT_ENABLED=getattr(TestingConfig, "RATELIMIT_ENABLED", True))
        app.test_client_class = HubClient
        _APPS[database_url] = (app, dict(app.config))
    else:
        app, config = cached
        app.config.clear()
        app.config.update(config)
    # The limiter is one object for every app of the process: another test's create_app may have
    # switched it off (RATELIMIT_ENABLED=False) or given it a new storage; counters start at zero.
    limiter.enabled = app.config["RATELIMIT_ENABLED"]
    if app.config["RATELIMIT_STORAGE_URI"].startswith("memory://"):
        limiter.reset()
    _clean(app)
    ctx = app.app_context()
    ctx.push()
    yield app
    db.session.remove()
    ctx.pop()


@pytest.fixture
def client(app) -> HubClient:
    """A browser-like client without a session."""
    return app.test_client()


@pytest.fixture
def network(app):
    """The real partner network from BRIEF, by short name."""
    from app import seed

    orgs = seed.seed_network()
    db.session.commit()
    return orgs


@pytest.fixture
def make_org(app):
    """Factory: an organisation with sensible defaults."""
    from app.models import Organisation

    counter = {"n": 0}

    def make(**overrides) -> Organisation:
        counter["n"] += 1
        values = dict(name=f"Organizzazione di prova {counter['n']}", short_name=f"Org {counter['n']}",
                      kind="association")
        values.update(overrides)
        org = Organisation(**values)
        db.session.add(org)
        db.session.commit()
        return org

    return make


ROLE_HOME_ORG = {
    "admin": "Ufficio di Piano",
    "coordinator": "Students Lab",
    "operator": "Students Lab",
    "tutor": "Students Lab",
    "municipal_contact": "Rodano",
    "observer": "Città Metropolitana",
}


@pytest.fixture
def make_user(app, network):
    """Factory: a user of a role, in that role's usual organisation unless given.

    Roles that must use a second factor (admin, coordinator, tutor) get an authenticator with
    TEST_TOTP_SECRET by default; `two_factor=False` leaves them to enrol at first sign-in,
    `two_factor=True` gives one to the other roles too.
    """
    from app.auth.services import hash_password
    from app.auth.two_factor import enrol_with_secret
    from app.models import User
    from app.policy import SECOND_FACTOR_ROLES

    counter = {"n": 0}

    def make(role: str = "operator", organisation=None, password: str = DEMO_PASSWORD,
             two_factor: bool | None = None, **overrides) -> User:
        counter["n"] += 1
        org = organisation or network[ROLE_HOME_ORG[role]]
        values = dict(email=f"{role}{counter['n']}@prova.test", full_name=f"Persona {role} {counter['n']}",
                      role=role, organisation_id=org.id, password_hash=hash_password(password))
        values.update(overrides)
        user = User(**values)
        db.session.add(user)
        db.session.flush()
        if two_factor if two_factor is not None else role in SECOND_FACTOR_ROLES:
            enrol_with_secret(user, TEST_TOTP_SECRET)
        db.session.commit()
        return user

    return make


# The authenticator secret make_user gives by default (base32).
TEST_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def totp_code(email: str) -> str:
    """A code the app will accept now for this account: its secret, a time step not used yet.

    Steps t-1, t and t+1 are accepted (valid_window=1), so three sign-ins of one account fit in one
    30-second step. When all three are used, the account's last accepted step is moved back in the
    database, as if time had passed: a test shortcut, never a sleep. Needs an app context.
    """
    import sqlalchemy as sa

    from app.auth import two_factor
    from app.models import User, UserFactor

    db.session.commit()  # end the test's read snapshot: see what requests wrote
    factor = db.session.scalar(sa.select(UserFactor).join(User, User.id == UserFactor.user_id)
                               .where(User.email == email.strip().lower()))
    assert factor is not None and factor.confirmed_at is not None, f"{email} has no second factor"
    secret = two_factor.decrypt_secret(factor.secret_encrypted)
    now = two_factor.current_step()
    # Never an older step than the current one: on a loaded machine the 30-second boundary may pass
    # before the request is served, and t-1 would then be t-2 (refused).
    step = now
    if factor.last_counter is not None and factor.last_counter >= step:
        step = factor.last_counter + 1
    if step > now + two_factor.VALID_WINDOW:
        step = now
        db.session.execute(sa.update(UserFactor).where(UserFactor.id == factor.id).values(last_counter=step - 1))
    db.session.commit()
    return two_factor.code_for(secret, step)


def login(client: HubClient, email: str, password: str = DEMO_PASSWORD, code: str | None = None):
    """Sign a client in through the real forms; returns the last response (303 when signed in).

    With a second factor, the password step answers 303 to the code step; the code (by default a
    fresh one computed with pyotp, see totp_code) is then posted and that answer is returned.
    """
    response = client.post("/login", data={"email": email, "password": password})
    if response.status_code == 303 and response.headers["Location"].startswith("/login/codice"):
        response = client.post("/login/codice", data={"code": code if code is not None else totp_code(email)})
    return response


@pytest.fixture
def login_as(client, make_user):
    """Sign the client in as a new user of a role; returns that user."""

    def do(role: str, **overrides):
        user = make_user(role, **overrides)
        response = login(client, user.email)
        assert response.status_code == 303, response.get_data(as_text=True)[:500]
        return user

    return do


def htmx(**headers) -> dict:
    """Headers of a request sent by htmx."""
    return {"HX-Request": "true", **headers}
