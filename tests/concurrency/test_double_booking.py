"""Acceptance: no double booking under concurrent load, against real worker processes.

The real app runs under gunicorn with 4 worker processes on a free 127.0.0.1 port, on
this run's database (SQLite file or PostgreSQL). Each round fires 50 simultaneous
booking POSTs (threads released by a barrier) that compete for one thing — the same
tutor, the same young person at two desks, or the last room of a desk — and exactly
one must win (204 + HX-Redirect: the picker posts through htmx) while the others get 409
with the picker re-rendered; none may get 500. In the two scenarios with 50 tutors each
client has chosen its tutor in the picker (the re-rendered picker then lists that tutor's
slots), which keeps the 49 re-renders per round cheap enough for the time budget.
"""

from __future__ import annotations

import functools
import http.client
import os
import re
import subprocess
import sys
import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from app.bookings import services
from app.bookings.services import BookingData
from app.domain.holidays import holidays_between
from app.extensions import db
from app.models import User
from tests.bookings.conftest import tomorrow_at
from tests.bookings.factories import make_desk, make_person
from tests.ops.procs import HttpClient, free_port, wait_for_port

pytestmark = pytest.mark.concurrency

ROOT = Path(__file__).resolve().parents[2]
CLIENTS = 50
ROUNDS = int(os.environ.get("HUB_CONCURRENCY_ROUNDS", "20"))  # fewer only for a quick local look
TIMEOUT = 90  # per request; generous because CI machines may be busy


@pytest.fixture
def server(app, database_url):
    """gunicorn -w 4 serving the app on this run's database; always stopped at the end.

    Sync workers: four requests at once are enough to race on the database's guarantees, which is
    what these tests prove (the threaded production model runs in tests/ops); sixteen threads on two
    cores only stretched each scenario from ~40 s to ~80 s. --preload imports the app once in the
    master (tests/ops/ops_wsgi.py closes its pool before the fork): four imports cost ~6 s of CPU.
    """
    port = free_port()
    env = {**os.environ, "HUB_ENV": "testing", "TEST_DATABASE_URL": database_url, "DATABASE_URL": database_url,
           "LOGIN_LIMIT_PER_ADDRESS": "100000 per minute", "PYTHONPATH": str(ROOT)}
    gunicorn = Path(sys.executable).with_name("gunicorn")
    process = subprocess.Popen(
        [str(gunicorn), "-w", "4", "-b", f"127.0.0.1:{port}", "--timeout", "120", "--backlog", "256",
         "--log-level", "warning", "--preload", "tests.ops.ops_wsgi:app"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        try:
            wait_for_port(port, process, timeout=30)
        except (RuntimeError, TimeoutError) as error:
            output = process.stdout.read().decode() if process.poll() is not None else ""
            pytest.fail(f"gunicorn did not start ({error}): {output[-2000:]}")
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _clients(port: int, operator: User) -> list[HttpClient]:
    clients = [HttpClient(port) for _ in range(CLIENTS)]
    for client in clients:
        assert client.login(operator.email) == 303
    return clients


def _fire(clients: list[HttpClient], forms: list[dict]) -> list[int]:
    """Send one POST per client at the same instant; returns the status codes."""
    barrier = threading.Barrier(len(clients), timeout=TIMEOUT)
    statuses: list[int | None] = [None] * len(clients)

    def run(index: int) -> None:
        client = clients[index]
        conn = client.connection(timeout=TIMEOUT)
        barrier.wait()
        try:
            # The picker posts through htmx: a winner gets 204 + HX-Redirect, a loser 409 and fresh slots.
            statuses[index], body, _headers = client.request("POST", "/appuntamenti", forms[index], conn=conn,
                                                             htmx=True)
            if statuses[index] not in (204, 303, 409):
                text = re.sub(r"<[^>]+>|\s+", " ", body)[:300]
                statuses[index] = f"{statuses[index]}: {text}"
        except (OSError, http.client.HTTPException) as error:  # recorded, asserted below
            statuses[index] = f"error: {error}"

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT * 2)
    assert not any(t.is_alive() for t in threads), "a request never finished"
    return statuses


@functools.cache
def _working_days(today: date, n: int) -> list[int]:
    """Offsets from `today` of the next `n` days that are not national holidays (the desks close then)."""
    closed = holidays_between(today, today + timedelta(days=3 * n))
    return [d for d in range(1, 3 * n) if today + timedelta(days=d) not in closed][:n]


def _slot(tutor_id: int, round_number: int) -> tuple[str, datetime]:
    # From the day the test started (tomorrow_at is pinned to it): days listed at import, before
    # midnight, put a round on 8 December in a run that crossed midnight.
    days = _working_days(tomorrow_at(0, days=0).date(), ROUNDS)
    starts = tomorrow_at(10, days=days[round_number])
    return f"{tutor_id}|{starts.astimezone(UTC).isoformat()}", starts


def _assert_one_winner(statuses: list, round_number: int) -> None:
    wins = [s for s in statuses if s in (204, 303, 201)]
    losses = [s for s in statuses if s == 409]
    assert len(wins) == 1, f"round {round_number}: {sorted(map(str, statuses))}"
    assert len(losses) == CLIENTS - 1, f"round {round_number}: {sorted(map(str, statuses))}"


def _tutors(make_user, n: int) -> list[User]:
    return [make_user("tutor", full_name=f"Tutor {i:02d}") for i in range(n)]


@pytest.fixture
def request_context(app):
    """Services translate their messages, which needs a request."""
    with app.test_request_context():
        yield


def test_fifty_requests_for_the_same_tutor_and_slot(app, network, make_user, server, request_context):
    """50 different young people want the same tutor at the same time: one wins each round."""
    operator = make_user("operator")
    tutor = make_user("tutor")
    desk = make_desk(network, rooms=CLIENTS, operators=[operator], tutors=[tutor], name="Sportello concorrenza")
    people = [make_person(network, operator, first_name=f"P{i}", phone=f"34000{i:05d}") for i in range(CLIENTS)]
    clients = _clients(server, operator)
    for round_number in range(ROUNDS):
        slot, _starts = _slot(tutor.id, round_number)
        forms = [{"person": p.id, "desk": desk.id, "service": "orientamento", "mode": "presenza", "slot": slot,
                  "csrf_token": c.csrf} for p, c in zip(people, clients, strict=True)]
        _assert_one_winner(_fire(clients, forms), round_number)
    db.session.rollback()  # end the test's read snapshot to see what the workers wrote
    assert len(services.busy_intervals(tutor_ids=[tutor.id], start=tomorrow_at(0), end=tomorrow_at(0, days=90))) \
        == ROUNDS


def test_fifty_requests_for_one_young_person_at_two_desks(app, network, make_user, server, request_context):
    """One young person, 50 tutors at two desks, same time: they can only be in one place."""
    operator = make_user("operator")
    tutors = _tutors(make_user, CLIENTS)
    first = make_desk(network, rooms=CLIENTS, operators=[operator], tutors=tutors[:25], name="Sportello A")
    second = make_desk(network, town="Rodano", rooms=CLIENTS, operators=[operator], tutors=tutors[25:],
                       name="Sportello B")
    person = make_person(network, operator)
    clients = _clients(server, operator)
    for round_number in range(ROUNDS):
        forms = []
        for index, (tutor, client) in enumerate(zip(tutors, clients, strict=True)):
            slot, _starts = _slot(tutor.id, round_number)
            forms.append({"person": person.id, "desk": (first if index < 25 else second).id, "tutor": tutor.id,
                          "service": "orientamento", "mode": "presenza", "slot": slot, "csrf_token": client.csrf})
        _assert_one_winner(_fire(clients, forms), round_number)
    db.session.rollback()  # end the test's read snapshot to see what the workers wrote
    assert len(services.busy_intervals(young_person_ids=[person.id], start=tomorrow_at(0),
                                       end=tomorrow_at(0, days=90))) == ROUNDS


def test_fifty_requests_for_the_last_room_of_a_desk(app, network, make_user, server, request_context):
    """A desk with 2 rooms, one already taken: 50 tutor/person pairs race for the last room."""
    operator = make_user("operator")
    tutors = _tutors(make_user, CLIENTS + 1)
    desk = make_desk(network, rooms=2, operators=[operator], tutors=tutors, name="Sportello stanze")
    people = [make_person(network, operator, first_name=f"R{i}", phone=f"35000{i:05d}") for i in range(CLIENTS + 1)]
    for round_number in range(ROUNDS):
        _slot_value, starts = _slot(tutors[-1].id, round_number)
        services.create_booking(operator, BookingData(desk_id=desk.id, tutor_id=tutors[-1].id,
                                                      young_person_id=people[-1].id, service="orientamento",
                                                      starts_at=starts))
    clients = _clients(server, operator)
    for round_number in range(ROUNDS):
        forms = []
        for tutor, person, client in zip(tutors[:CLIENTS], people[:CLIENTS], clients, strict=True):
            slot, _starts = _slot(tutor.id, round_number)
            forms.append({"person": person.id, "desk": desk.id, "tutor": tutor.id, "service": "orientamento",
                          "mode": "presenza", "slot": slot, "csrf_token": client.csrf})
        _assert_one_winner(_fire(clients, forms), round_number)
    db.session.rollback()  # end the test's read snapshot to see what the workers wrote
    assert len(services.busy_intervals(desk_ids=[desk.id], start=tomorrow_at(0), end=tomorrow_at(0, days=90))) \
        == 2 * ROUNDS

