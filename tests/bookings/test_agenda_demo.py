"""Demo history (`flask seed-demo`, HUB_DEMO=1): fast, idempotent, deterministic, every state, integrity rules kept."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import aliased

from app.bookings import services
from app.extensions import db
from app.models import Appointment, Desk, RecallTask, Status, WaitingEntry, YoungPerson
from app.models.base import utcnow


@pytest.fixture(autouse=True)
def only_desks_and_bookings(monkeypatch):
    """Seed only the desks and this demo history (other areas' hooks have their own tests and timings)."""
    from app import cli
    from app.bookings.demo import seed_bookings
    from app.desks.demo import seed_desks

    monkeypatch.setattr(cli, "SEED_HOOKS", [seed_desks, seed_bookings])


def seed(app) -> None:
    """Run `flask seed-demo` (its speed is a benchmark matter, not a test assertion)."""
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output + repr(result.exception)


def overlapping_pairs(column) -> int:
    """Pairs of active appointments of one tutor / young person that overlap."""
    a, b = aliased(Appointment), aliased(Appointment)
    return db.session.scalar(sa.select(sa.func.count()).select_from(a).join(b, sa.and_(
        getattr(a, column) == getattr(b, column), a.id < b.id, a.starts_at < b.ends_at, b.starts_at < a.ends_at,
        a.status.in_(Status.ACTIVE), b.status.in_(Status.ACTIVE))))


def test_demo_history_is_complete_and_sound(app):
    seed(app)
    db.session.expire_all()
    people = db.session.scalar(sa.select(sa.func.count(YoungPerson.id)))
    appointments = list(db.session.scalars(sa.select(Appointment)))
    assert people >= 300 and len(appointments) >= 150
    assert {a.status for a in appointments} == set(Status.ALL)
    now = utcnow()
    assert min(a.starts_at for a in appointments) < now - timedelta(days=45)
    assert max(a.starts_at for a in appointments) > now + timedelta(days=7)
    assert all(a.starts_at > now - timedelta(days=61) and a.starts_at < now + timedelta(days=15) for a in appointments)
    assert all(a.status in (Status.BOOKED, Status.CONFIRMED, Status.CANCELLED) for a in appointments
               if a.starts_at > now)
    assert len({a.desk_id for a in appointments}) == db.session.scalar(sa.select(sa.func.count(Desk.id)))
    # Integrity: no overlaps for a tutor or a young person, never more than the rooms, within hours.
    assert overlapping_pairs("tutor_id") == 0 and overlapping_pairs("young_person_id") == 0
    for desk in db.session.scalars(sa.select(Desk)):
        active = [a for a in appointments if a.desk_id == desk.id and a.is_active]
        for a in active:
            assert sum(1 for b in active if b.starts_at < a.ends_at and a.starts_at < b.ends_at) <= desk.rooms
    for a in [a for a in appointments if a.is_active][::15]:
        assert services._within_hours(a.desk, a.tutor, a.starts_at, a.ends_at), a
    # Codes follow the register's format; recall tasks for no-shows; someone waits.
    assert all(p.startswith("HDT-") for p in db.session.scalars(sa.select(YoungPerson.code)))
    no_shows = sum(1 for a in appointments if a.status == Status.NO_SHOW)
    assert db.session.scalar(sa.select(sa.func.count(RecallTask.id))) == no_shows
    assert db.session.scalar(sa.select(sa.func.count(WaitingEntry.id))) > 0


def test_seeding_again_adds_nothing(app):
    seed(app)
    before = (db.session.scalar(sa.select(sa.func.count(Appointment.id))),
              db.session.scalar(sa.select(sa.func.count(YoungPerson.id))))
    seed(app)
    db.session.expire_all()
    after = (db.session.scalar(sa.select(sa.func.count(Appointment.id))),
             db.session.scalar(sa.select(sa.func.count(YoungPerson.id))))
    assert after == before


def test_the_history_is_deterministic(app):
    seed(app)
    first = [(a.desk_id, a.tutor_id, a.starts_at, a.status, a.uid)
             for a in db.session.scalars(sa.select(Appointment).order_by(Appointment.id))]
    from tests.conftest import _clean

    db.session.remove()
    _clean(app)
    seed(app)
    db.session.expire_all()
    second = [(a.desk_id, a.tutor_id, a.starts_at, a.status, a.uid)
              for a in db.session.scalars(sa.select(Appointment).order_by(Appointment.id))]
    assert first == second
