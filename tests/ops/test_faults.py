"""Faults survived, with real processes on 127.0.0.1: a worker killed mid-booking, mail down, Redis down.

Each test starts a production-config gunicorn on the run's database (SQLite file or
PostgreSQL), injects the fault, and checks that nothing was lost or half-written.
"""

from __future__ import annotations

import os
import signal
import threading
from datetime import UTC, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from app import mail
from app.domain.holidays import holidays_between
from app.extensions import db
from app.models import Appointment, AppointmentEvent, OutboxMessage
from app.models.base import utcnow
from tests.bookings.conftest import tomorrow_at
from tests.bookings.factories import make_desk, make_person
from tests.ops import procs

pytestmark = pytest.mark.slow


def _working_day() -> int:
    """Days from today to the next day that is not a national holiday (the desks close then)."""
    today = tomorrow_at(0, days=0).date()
    closed = holidays_between(today, today + timedelta(days=10))
    return next(d for d in range(2, 10) if today + timedelta(days=d) not in closed)


def _booking_form(desk, tutor, person, hour: int, days: int) -> dict:
    starts = tomorrow_at(hour, days=days)
    return {"person": person.id, "desk": desk.id, "service": "orientamento", "mode": "presenza",
            "slot": f"{tutor.id}|{starts.astimezone(UTC).isoformat()}"}


def _env(database_url, tmp_path, **env):
    return procs.node_env(database_url=database_url, tmp=tmp_path / "node", **env)


def _count(model, *where) -> int:
    db.session.rollback()  # a fresh snapshot: see what the processes committed
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


# --- A worker killed with SIGKILL during a burst of bookings ----------------------------

BURST = 30
TUTORS = 5


def test_sigkill_during_a_burst_of_bookings_leaves_no_partial_rows(app, network, make_user, database_url, tmp_path):
    """Workers are SIGKILLed while 30 bookings arrive: every appointment has its event and its e-mail."""
    operator = make_user("operator")
    tutors = [make_user("tutor") for _ in range(TUTORS)]
    desk = make_desk(network, rooms=TUTORS, operators=[operator], tutors=tutors)
    people = [make_person(network, operator, first_name=f"K{i}", phone=f"3410000{i:03d}") for i in range(BURST)]
    days = _working_day()
    forms = [_booking_form(desk, tutors[i % TUTORS], people[i], 9 + i // TUTORS, days) for i in range(BURST)]

    with procs.gunicorn(_env(database_url, tmp_path), tmp_path / "node.log", workers=2) as node:
        browser = procs.HttpClient(node.port)
        assert browser.login(operator.email) == 303
        statuses: list = [None] * BURST
        done = threading.Event()
        kills: list[int] = []
        killed = threading.Condition()

        def book(index: int) -> None:
            # The burst goes in three waves, after the first, second and third kill (the kills go on
            # meanwhile): a burst sent all at once could end, on a quick machine, before the third.
            with killed:
                killed.wait_for(lambda: len(kills) > index * 3 // BURST, timeout=procs.TIMEOUT)
            try:
                statuses[index] = browser.request("POST", "/appuntamenti", forms[index], htmx=True)[0]
            except OSError as error:  # the worker serving us was killed: recorded, checked below
                statuses[index] = f"error: {type(error).__name__}"

        def killer() -> None:
            while not done.is_set() and len(kills) < 12:
                workers = node.worker_pids()
                if workers:
                    victim = workers[len(kills) % len(workers)]
                    try:
                        os.kill(victim, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                    else:
                        with killed:
                            kills.append(victim)
                            killed.notify_all()
                done.wait(0.15)  # pacing of the fault injector

        threads = [threading.Thread(target=book, args=(i,), daemon=True) for i in range(BURST)]
        chaos = threading.Thread(target=killer, daemon=True)
        chaos.start()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(procs.TIMEOUT * 3)
        done.set()
        chaos.join(10)
        assert not any(t.is_alive() for t in threads), "a request never finished"
        assert len(kills) >= 3, "the fault was not injected"

        # Whatever happened to each request, retrying it now ends in "booked" or "already taken":
        # a killed request either committed everything or nothing.
        procs.wait_for_port(node.port)
        for index, status in enumerate(statuses):
            if status not in (204, 303):
                retry = browser.request("POST", "/appuntamenti", forms[index], htmx=True)[0]
                assert retry in (204, 303, 409), (index, status, retry)
        assert browser.request("GET", "/healthz")[0] == 200

    db.session.rollback()
    appointments = db.session.scalars(sa.select(Appointment)).all()
    assert len(appointments) == BURST  # every booking exists exactly once
    created = set(db.session.scalars(sa.select(AppointmentEvent.appointment_id)
                                     .where(AppointmentEvent.kind == "created")))
    mails = set(db.session.scalars(sa.select(OutboxMessage.dedup_key)))
    for appointment in appointments:
        assert appointment.id in created, f"appointment {appointment.id} without its 'created' event"
        assert f"appt:{appointment.id}:0:booked" in mails, f"appointment {appointment.id} without its e-mail"
    assert _count(AppointmentEvent) == BURST  # no orphan or duplicate events


# --- Mail server down -----------------------------------------------------------------

def test_mail_server_down_bookings_succeed_and_the_outbox_retries_once(app, network, make_user, database_url,
                                                                      tmp_path):
    """SMTP refuses connections: the booking succeeds; the message waits with back-off and goes out once."""
    operator = make_user("operator")
    tutor = make_user("tutor")
    desk = make_desk(network, operators=[operator], tutors=[tutor])
    person = make_person(network, operator)
    smtp_port = procs.free_port()  # nothing listens here yet
    env = _env(database_url, tmp_path, MAIL_SERVER="127.0.0.1", MAIL_PORT=str(smtp_port))

    with procs.gunicorn(env, tmp_path / "node.log", workers=1) as node:
        browser = procs.HttpClient(node.port)
        assert browser.login(operator.email) == 303
        status, _body, _ = browser.request("POST", "/appuntamenti", _booking_form(desk, tutor, person, 10,
                                                                                   _working_day()), htmx=True)
        assert status in (204, 303)
        assert _count(Appointment) == 1
        assert _count(OutboxMessage, OutboxMessage.sent_at.is_(None)) == 1  # queued with the booking

    # The drain (what `flask send-outbox` runs), here in the test process: the server refuses.
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_port)
    assert mail.deliver_pending() == 0

    message = db.session.scalar(sa.select(OutboxMessage))
    assert message.sent_at is None and message.attempts == 1 and message.last_error
    assert timedelta(seconds=50) < message.next_attempt_at - utcnow() <= timedelta(minutes=1)

    with procs.mailbox() as box:
        box.port = smtp_port  # the mail server comes back on the same port
        box.stop()
        box.start()
        assert mail.deliver_pending() == 0  # still backing off: not before next_attempt_at
        assert box.messages == []
        db.session.execute(sa.update(OutboxMessage).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()  # the back-off period has passed
        if database_url.startswith("postgresql"):  # two cron runs at once: SKIP LOCKED, one sends
            outs = procs.run_together([(env, ("send-outbox",)), (env, ("send-outbox",))])
        else:  # SQLite has no SKIP LOCKED: overlapping drains are a PostgreSQL-only guarantee
            outs = [procs.run_together([(env, ("send-outbox",))])[0] for _ in range(2)]
        assert sorted(o.strip().rsplit(" ", 1)[1] for o in outs) == ["0", "1"]
        assert len(box.messages) == 1
        assert box.messages[0][0] == "giovane@example.test"
    db.session.rollback()
    message = db.session.scalar(sa.select(OutboxMessage))
    assert message.sent_at is not None and message.attempts == 2


# --- Redis down -----------------------------------------------------------------------

def test_redis_down_sign_in_works_and_limits_fail_safe(app, make_user, database_url, tmp_path):
    """REDIS_URL points at a closed port: sign-in works, and the lockout still applies (in-memory fallback)."""
    user = make_user("operator")
    victim = make_user("tutor")
    env = _env(database_url, tmp_path, REDIS_URL=f"redis://127.0.0.1:{procs.free_port()}/0")
    with procs.gunicorn(env, tmp_path / "node.log", workers=1) as node:
        assert procs.HttpClient(node.port).login(user.email) == 303
        attacker = procs.HttpClient(node.port)
        for _ in range(5):
            assert attacker.login(victim.email, "password-sbagliata") == 422
        assert procs.HttpClient(node.port).login(victim.email) == 429
        status, page, _ = procs.HttpClient(node.port).request("GET", "/readyz")
        assert status == 200
        assert not any("Traceback" in line for line in node.log_lines())


# --- PDF archive not writable during note finalisation ---------------------------------

@pytest.fixture
def session_to_note(app, network, make_user):
    """A tutor and one attended session of theirs, ready for a note."""
    from tests.bookings.factories import make_desk, make_person

    operator = make_user("operator")
    tutor = make_user("tutor")
    desk = make_desk(network, operators=[operator], tutors=[tutor])
    person = make_person(network, operator)
    start = utcnow().replace(microsecond=0) - timedelta(hours=2)
    appointment = Appointment(desk_id=desk.id, tutor_id=tutor.id, young_person_id=person.id, service="orientamento",
                              starts_at=start, ends_at=start + timedelta(minutes=45), status="attended",
                              uid=f"archive-{start.timestamp()}@ops.test")
    db.session.add(appointment)
    db.session.commit()
    return tutor, appointment


def _assert_draft_intact(appointment_id: int, summary: str, archive) -> None:
    from app.models import Note, NoteVersion

    db.session.rollback()
    note = db.session.scalar(sa.select(Note).where(Note.appointment_id == appointment_id))
    assert note is not None and note.status == "draft"
    assert note.summary == summary
    assert _count(NoteVersion) == 0
    assert not archive.exists() or not [p for p in archive.rglob("*") if p.is_file()]


def test_archive_not_writable_finalisation_refused_clearly_draft_intact(app, session_to_note, database_url,
                                                                         tmp_path):
    """The archive folder cannot be created (its parent is a file): a clear 503 message, the draft is kept."""
    from tests.notes.conftest import note_form

    tutor, appointment = session_to_note
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the archive's parent folder should be")
    env = _env(database_url, tmp_path, HUB_ARCHIVE_DIR=str(blocker / "archive"),
               overrides={"NOTES_RENDER_TIMEOUT": 120})
    form = note_form(summary="Testo da non perdere.")
    with procs.gunicorn(env, tmp_path / "node.log", workers=1, timeout=150) as node:
        browser = procs.HttpClient(node.port)
        assert browser.login(tutor.email) == 303
        status, page, _ = browser.request("POST", f"/appuntamenti/{appointment.id}/nota/finalizza", form,
                                          timeout=150)
    assert status == 503, page[:500]
    assert "cartella dell&#39;archivio non è scrivibile" in page or "cartella dell'archivio non è scrivibile" in page
    assert "Testo da non perdere." in page  # the editor is shown again with the text
    _assert_draft_intact(appointment.id, "Testo da non perdere.", blocker)


def test_disk_full_while_archiving_finalisation_refused_clearly_draft_intact(app, session_to_note, client,
                                                                             tmp_path, monkeypatch):
    """ENOSPC while writing the PDF: the same clear message, no half-written file left behind."""
    import errno

    from app.notes import pdf
    from tests.conftest import login
    from tests.notes.conftest import note_form

    tutor, appointment = session_to_note
    app.config.update(ARCHIVE_DIR=tmp_path / "archive", NOTES_RENDER_TIMEOUT=120)

    def disk_full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pdf.os, "fsync", disk_full)
    assert login(client, tutor.email).status_code == 303
    response = client.post(f"/appuntamenti/{appointment.id}/nota/finalizza",
                           data=note_form(summary="Testo da non perdere."))
    assert response.status_code == 503
    assert "disco è pieno" in response.get_data(as_text=True)
    _assert_draft_intact(appointment.id, "Testo da non perdere.", tmp_path / "archive")


# --- A worker killed with SIGKILL in the middle of a note finalisation ------------------

def _render_started(node) -> int | None:
    """The worker whose PDF render child is running, if any (read from /proc)."""
    for pid in node.worker_pids():
        # Any thread of the worker may have started it (gthread workers): every task's children.
        for children in Path(f"/proc/{pid}/task").glob("*/children"):
            try:
                if children.read_text().split():
                    return pid
            except OSError:  # the thread ended meanwhile
                continue
    return None


def test_sigkill_during_note_finalisation_keeps_the_draft_and_writes_nothing(app, session_to_note, database_url,
                                                                            tmp_path):
    """The worker is killed while its child renders the PDF: still a draft with its text, no version, no file."""
    from tests.notes.conftest import note_form

    tutor, appointment = session_to_note
    archive = tmp_path / "archive"
    env = _env(database_url, tmp_path, HUB_ARCHIVE_DIR=str(archive), overrides={"NOTES_RENDER_TIMEOUT": 120})
    form = note_form(summary="Testo da non perdere.")
    with procs.gunicorn(env, tmp_path / "node.log", workers=1, timeout=150) as node:
        browser = procs.HttpClient(node.port)
        assert browser.login(tutor.email) == 303
        outcome: dict = {}

        url = f"/appuntamenti/{appointment.id}/nota/finalizza"

        def finalise() -> None:
            with app.app_context():
                try:
                    outcome["status"] = browser.request("POST", url, form, timeout=150)[0]
                except OSError as error:  # the worker serving us is killed: expected
                    outcome["status"] = type(error).__name__

        request = threading.Thread(target=finalise, daemon=True)
        request.start()
        killed = None
        for _ in range(1200):  # bounded: at most ~60 s of polling /proc for the render child
            killed = _render_started(node)
            if killed is not None or not request.is_alive():
                break
            threading.Event().wait(0.05)
        assert killed is not None, f"the render never started: {outcome}"
        os.kill(killed, signal.SIGKILL)
        request.join(60)
        assert not request.is_alive()
        assert outcome["status"] != 200 and outcome["status"] != 303  # it did not complete
    _assert_draft_intact(appointment.id, "Testo da non perdere.", archive)
