"""`flask send-reminders`: tomorrow's appointments get one reminder each, never two, even run concurrently."""

from __future__ import annotations

import threading

import sqlalchemy as sa

from app.bookings import messages, services
from app.extensions import db
from app.models import OutboxMessage
from tests.bookings.conftest import tomorrow_at
from tests.bookings.factories import make_person
from tests.bookings.test_messages import book, event_of


def reminders() -> list[OutboxMessage]:
    """Queued reminder messages."""
    db.session.expire_all()
    return list(db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.dedup_key.like("%:reminder"))))


def several(world, network, count: int = 3) -> list:
    """`count` appointments tomorrow, each with its own young person."""
    result = []
    for n in range(count):
        person = world.person if n == 0 else make_person(network, world.operator, first_name=f"P{n}",
                                                         phone=f"34000000{n:02d}")
        result.append(book(world, tomorrow_at(9 + n), young_person_id=person.id))
    return result


def test_tomorrow_gets_a_reminder_and_a_second_run_adds_nothing(world):
    appointment = book(world, tomorrow_at(10))
    assert messages.send_reminders() == 1
    assert messages.send_reminders() == 0
    [reminder] = reminders()
    method, event, _calendar = event_of(reminder)
    assert (method, str(event["UID"]), int(event["SEQUENCE"])) == ("REQUEST", appointment.uid, 0)
    assert "domani" in reminder.body_text and "/a/" in reminder.body_text


def test_only_tomorrow_and_only_active_appointments(world, network):
    book(world, tomorrow_at(10, days=2))
    cancelled = book(world, tomorrow_at(15))
    services.cancel(world.operator, cancelled.id, "Malattia", "young_person")
    assert messages.send_reminders() == 0
    assert reminders() == []


def test_the_cli_command_is_idempotent(world, app):
    book(world, tomorrow_at(10))
    runner = app.test_cli_runner()
    first = runner.invoke(args=["send-reminders", "--no-deliver"])
    second = runner.invoke(args=["send-reminders", "--no-deliver"])
    assert first.exit_code == 0 and "Promemoria accodati: 1" in first.output
    assert second.exit_code == 0 and "Promemoria accodati: 0" in second.output
    assert len(reminders()) == 1


def test_concurrent_runs_on_two_nodes_queue_each_reminder_once(world, network, app):
    appointments = several(world, network, 3)
    db.session.commit()
    barrier = threading.Barrier(4)
    counts, errors = [], []

    def node():
        with app.app_context():
            try:
                barrier.wait(timeout=10)
                counts.append(messages.send_reminders())
            except Exception as exc:  # reported below, the test must fail on any error
                errors.append(repr(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=node) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sum(counts) == 3
    keys = sorted(m.dedup_key for m in reminders())
    assert keys == sorted(f"appt:{a.id}:0:reminder" for a in appointments)
