"""Two app instances (gunicorn, production config) on one PostgreSQL and one Redis behave as one.

Node A and node B listen on different free 127.0.0.1 ports, with their own instance
folders, and share the run's PostgreSQL database, Redis (a key prefix of this test) and
an SMTP server on loopback. Skipped on SQLite.
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app import mail
from app.extensions import db
from app.models import Appointment, AppointmentEvent, OutboxMessage
from tests.bookings.conftest import tomorrow_at
from tests.bookings.factories import make_desk, make_person
from tests.ops import procs
from tests.ops.conftest import REDIS_URL

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def envs(pg_only, database_url, tmp_path_factory, redis_prefix, smtp_server):
    """Environments of node A and node B: same database, Redis and mail server; own instance folders."""
    tmp = tmp_path_factory.mktemp("nodes")
    shared = dict(database_url=database_url, overrides={"RATELIMIT_KEY_PREFIX": redis_prefix},
                  REDIS_URL=REDIS_URL, MAIL_SERVER="127.0.0.1", MAIL_PORT=str(smtp_server.port))
    return procs.node_env(tmp=tmp / "a", **shared), procs.node_env(tmp=tmp / "b", **shared)


@pytest.fixture(scope="module")
def nodes(envs, tmp_path_factory):
    """Both instances running for the whole module (2 workers each); tests empty the database in between."""
    env_a, env_b = envs
    logs = tmp_path_factory.mktemp("logs")
    with procs.gunicorn(env_a, logs / "a.log") as a, procs.gunicorn(env_b, logs / "b.log") as b:
        yield a, b


def test_a_session_started_on_one_node_works_on_the_other(app, nodes, make_user):
    """Sign in on A, browse on B; sign out on B and the cookie is dead on A too."""
    a, b = nodes
    user = make_user("operator", full_name="Operatrice Condivisa")
    browser = procs.HttpClient(a.port)
    assert browser.login(user.email) == 303
    status, page, _ = browser.request("GET", "/", port=b.port)
    assert status == 200
    assert "Operatrice Condivisa" in page
    browser.refresh_csrf(port=b.port)
    status, _body, _ = browser.request("POST", "/logout", {}, port=b.port)
    assert status == 303
    status, _body, headers = browser.request("GET", "/", port=a.port)
    assert status == 302 and "/login" in headers["Location"]
    # Each node writes JSON log lines (production config).
    for node in (a, b):
        access = [json.loads(line) for line in node.log_lines() if line.startswith("{")]
        assert any(entry.get("logger") == "hub.access" and entry.get("request_id") for entry in access)


def test_sign_in_lockout_is_counted_across_nodes(app, nodes, make_user):
    """3 wrong passwords on A and 2 on B lock the account on both (5 per 15 minutes); others still sign in."""
    a, b = nodes
    user = make_user("tutor")
    other = make_user("tutor")
    attacker = procs.HttpClient(a.port)
    for port in (a.port, a.port, a.port, b.port, b.port):
        assert attacker.login(user.email, "password-sbagliata", port=port) == 422
    for port in (a.port, b.port):
        assert procs.HttpClient(port).login(user.email, port=port) == 429  # even with the right password
    assert procs.HttpClient(b.port).login(other.email) == 303


def test_outbox_is_drained_exactly_once_by_concurrent_runs(app, envs, smtp):
    """40 queued messages, `flask send-outbox` on both nodes at once: 40 received, each once.

    The SMTP server holds the first delivery until a second one is in flight, so the two
    runs provably overlap (each holds a claimed row while the other claims the next).
    """
    env_a, env_b = envs
    for n in range(40):
        mail.queue_mail(f"destinatario{n}@example.test", f"Messaggio {n:02d}", "Testo di prova.")
    db.session.commit()
    smtp.reset(gate=2)
    outputs = procs.run_together([(env_a, ("send-outbox",)), (env_b, ("send-outbox",))])
    assert smtp.gate_opened, "the two drains never overlapped"
    sent = [int(out.strip().rsplit(":", 1)[1]) for out in outputs]
    assert sum(sent) == 40 and all(sent), sent
    assert sorted(smtp.subjects()) == [f"Messaggio {n:02d}" for n in range(40)]
    db.session.rollback()
    rows = db.session.scalars(sa.select(OutboxMessage)).all()
    assert len(rows) == 40
    assert all(row.sent_at is not None and row.attempts == 1 for row in rows)


def test_reminders_run_on_every_node_send_once(app, network, make_user, envs, smtp):
    """`flask send-reminders` on A and B at the same time (twice each): one reminder per appointment."""
    env_a, env_b = envs
    operator = make_user("operator")
    tutors = [make_user("tutor") for _ in range(3)]
    desk = make_desk(network, rooms=3, operators=[operator], tutors=tutors)
    ids = []
    for n in range(6):
        person = make_person(network, operator, first_name=f"Giovane{n}", phone=f"33300000{n:02d}")
        starts = tomorrow_at(9 + n)
        appointment = Appointment(desk_id=desk.id, tutor_id=tutors[n % 3].id, young_person_id=person.id,
                                  service="orientamento", starts_at=starts, ends_at=starts + timedelta(minutes=45),
                                  uid=f"{uuid.uuid4()}@ops.test", created_by_id=operator.id)
        db.session.add(appointment)
        db.session.flush()
        db.session.add(AppointmentEvent(appointment_id=appointment.id, actor_id=operator.id, kind="created",
                                        to_status="booked"))
        ids.append(appointment.id)
    db.session.commit()
    procs.run_together([(env_a, ("send-reminders",)), (env_b, ("send-reminders",))])
    procs.run_together([(env_b, ("send-reminders",))])  # a rerun (cron retry) queues nothing new
    db.session.rollback()
    keys = db.session.scalars(sa.select(OutboxMessage.dedup_key).where(OutboxMessage.dedup_key.like("%:reminder"))
                              ).all()
    assert sorted(keys) == sorted(f"appt:{i}:0:reminder" for i in ids)
    assert len(smtp.messages) == 6
    assert all(recipient == "giovane@example.test" for recipient, _raw in smtp.messages)
