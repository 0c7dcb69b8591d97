"""/readyz (database and migrations at head) and the JSON access log (request id, no personal data)."""

from __future__ import annotations

import io
import json
import logging

import pytest
import sqlalchemy as sa

from app import create_app
from app.config import TestingConfig
from app.extensions import db
from tests.conftest import login


def test_readyz_ok_when_database_answers_and_migrations_at_head(client):
    """A migrated database: 200 and nothing about people in the answer."""
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok", "migrations": "head"}


def test_readyz_refuses_a_database_behind_the_migrations(app, client):
    """alembic_version not at the shipped head: 503 with the reason."""
    with db.engine.begin() as conn:
        (current,) = conn.execute(sa.text("SELECT version_num FROM alembic_version")).one()
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0001'"))
    try:
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.get_json() == {"status": "error", "reason": "migrations not at head"}
        assert client.get("/healthz").status_code == 200  # alive, just not ready
    finally:
        with db.engine.begin() as conn:
            conn.execute(sa.text("UPDATE alembic_version SET version_num = :v"), {"v": current})
    assert client.get("/readyz").status_code == 200


def test_readyz_refuses_an_unmigrated_database(tmp_path):
    """An empty database (no alembic_version): 503, migrations not at head."""
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'empty.db'}")
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["reason"] == "migrations not at head"


def test_readyz_refuses_an_unreachable_database():
    """Nothing listens on the database port: 503 'database unreachable', a JSON body, no traceback."""
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI="postgresql+psycopg://nobody@127.0.0.1:1/none")
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "error", "reason": "database unreachable"}


@pytest.fixture
def log_lines(app):
    """Capture the app's JSON log lines (access log included) for one test."""
    stream = io.StringIO()
    handler = app.logger.handlers[0]
    previous = handler.setStream(stream)
    access = logging.getLogger("hub.access")
    saved = [(log, log.level, log.disabled) for log in (access, app.logger)]
    access.setLevel(logging.INFO)
    for log in (access, app.logger):
        log.disabled = False  # alembic's fileConfig (the run's migration) disables existing loggers
    yield lambda: [line for line in stream.getvalue().splitlines() if line.strip()]
    for log, level, disabled in saved:
        log.setLevel(level)
        log.disabled = disabled
    handler.setStream(previous)


def test_logs_are_json_with_request_id_and_no_personal_data(client, make_user, log_lines):
    """Sign-in writes one JSON object per line, each request with its id; no e-mail, name or password."""
    user = make_user("operator", full_name="Giulia Esempio")
    response = login(client, user.email)
    assert response.status_code == 303
    page = client.get("/", headers={"X-Request-Id": "abc123"})
    assert page.headers["X-Request-Id"] == "abc123"
    lines = log_lines()
    entries = [json.loads(line) for line in lines]  # every line is JSON
    access = [e for e in entries if e["logger"] == "hub.access"]
    assert {"POST /login", "GET /"} <= {e["msg"] for e in access}
    assert all(e["request_id"] and "status" in e and "duration_ms" in e for e in access)
    assert any(e["request_id"] == "abc123" and e["status"] == 200 for e in access)
    assert any(e["msg"] == "sign-in" and e["user_id"] == user.id for e in entries)
    text = "\n".join(lines)
    for secret in (user.email, "Giulia", "Esempio", "hub-demo-2026"):
        assert secret not in text


def test_forged_request_id_is_replaced(client, log_lines):
    """A request id that is not short alphanumeric (log injection) is replaced by our own."""
    response = client.get("/readyz", headers={"X-Request-Id": 'x"} {"evil": 1'})
    rid = response.headers["X-Request-Id"]
    assert rid.isalnum() and "evil" not in rid
    assert all("evil" not in json.loads(line) for line in log_lines())
