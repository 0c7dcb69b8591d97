"""Waiting list (freed slots first) and no-show recall tasks with attempt counts."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.bookings import services, waiting
from app.bookings.services import BookingData
from app.domain.errors import Conflict, Invalid, NotFound
from app.extensions import db
from app.models import RecallTask, WaitingEntry
from app.models.base import utcnow
from tests.bookings.conftest import tomorrow_at
from tests.bookings.factories import make_desk, make_person
from tests.bookings.test_messages import book
from tests.conftest import htmx, login


def past_booking(world, admin, hours_ago: int, person=None):
    """An appointment that started `hours_ago` hours ago (booked by the admin with a written reason)."""
    start = (utcnow() - timedelta(hours=hours_ago)).replace(second=0, microsecond=0)
    return services.create_booking(admin, BookingData(
        desk_id=world.desk.id, tutor_id=world.tutor.id, young_person_id=(person or world.person).id,
        service="orientamento", starts_at=start, override_reason="Registrazione a posteriori per il test"))


@pytest.fixture
def waiting_person(world, network):
    """A second young person of the world's desk, on its waiting list for orientation."""
    person = make_person(network, world.operator, first_name="Marta", last_name="Neri", phone="3400000002",
                         registered_desk=world.desk)
    waiting.add_entry(world.operator, person.id, world.desk.id, "orientamento", "Solo pomeriggio")
    return person


def test_add_once_per_person_desk_and_service(world, waiting_person):
    with pytest.raises(Conflict):
        waiting.add_entry(world.operator, waiting_person.id, world.desk.id, "orientamento")
    with pytest.raises(Invalid):
        waiting.add_entry(world.operator, waiting_person.id, world.desk.id, "violenza_genere")
    waiting.add_entry(world.operator, waiting_person.id, world.desk.id, "cv_lavoro")
    assert len(waiting.open_entries(world.operator)) == 2


def test_a_cancellation_puts_the_waiting_people_first(world, network, waiting_person):
    early = make_person(network, world.operator, first_name="Ugo", phone="3400000003", registered_desk=world.desk)
    waiting.add_entry(world.operator, early.id, world.desk.id, "cv_lavoro")  # another service: not freed
    appointment = book(world, tomorrow_at(10))
    services.cancel(world.operator, appointment.id, "Malattia", "young_person")
    entries = waiting.open_entries(world.operator)
    assert [e.young_person_id for e in entries] == [waiting_person.id, early.id]
    assert entries[0].slot_freed_at is not None and entries[0].freed_starts_at == appointment.starts_at
    assert entries[1].slot_freed_at is None
    assert waiting.freed_count(world.operator) == 1


def test_operators_see_the_freed_slot_on_their_agenda_and_in_the_picker(world, client, waiting_person):
    appointment = book(world, tomorrow_at(10))
    services.cancel(world.operator, appointment.id, "Malattia", "desk")
    login(client, world.operator.email)
    html = client.get("/agenda").get_data(as_text=True)
    assert "Si è liberato un posto" in html and "Marta Neri" in html
    hint = client.get(f"/lista-attesa/suggerimenti?desk={world.desk.id}&service=orientamento", headers=htmx())
    assert hint.status_code == 200 and "Marta Neri" in hint.get_data(as_text=True)
    assert "<html" not in hint.get_data(as_text=True)


def test_other_desks_operators_do_not_see_the_entries(world, network, make_user, waiting_person):
    stranger = make_user("operator")
    make_desk(network, town="Rodano", name="Sportello Rodano", operators=[stranger])
    assert waiting.open_entries(stranger) == []
    with pytest.raises(NotFound):
        waiting.close_entry(stranger, waiting.open_entries(world.operator)[0].id, "withdrawn")


def test_waiting_routes_add_and_close(world, client, network):
    person = make_person(network, world.operator, first_name="Nina", phone="3400000004", registered_desk=world.desk)
    login(client, world.operator.email)
    assert "Nina" in client.get("/lista-attesa/nuova?q=Nina").get_data(as_text=True)
    bad = client.post("/lista-attesa", data={"persona": person.id, "sportello": world.desk.id,
                                             "servizio": "violenza_genere"})
    assert bad.status_code == 422 and "non offre" in bad.get_data(as_text=True)
    ok = client.post("/lista-attesa", data={"persona": person.id, "sportello": world.desk.id,
                                            "servizio": "orientamento", "preferenze": "Dopo le 16"})
    assert ok.status_code == 303
    entry = db.session.scalar(sa.select(WaitingEntry))
    assert entry.preferences == "Dopo le 16" and entry.created_by_id == world.operator.id
    assert client.post(f"/lista-attesa/{entry.id}/chiudi", data={"esito": "booked"}).status_code == 303
    db.session.expire_all()
    assert db.session.get(WaitingEntry, entry.id).status == "booked"


def test_a_no_show_opens_a_recall_task_and_counts_attempts(world, make_user):
    admin = make_user("admin")
    first = past_booking(world, admin, 30)
    services.record_no_show(world.operator, first.id)
    second = past_booking(world, admin, 5)
    services.record_no_show(world.operator, second.id)
    tasks = waiting.open_tasks(world.operator)
    assert [(t.appointment_id, t.attempt) for t in tasks] == [(first.id, 1), (second.id, 2)]
    assert waiting.no_show_count(world.person.id) == 2
    closed = waiting.close_task(world.operator, tasks[0].id, "unreachable", "Tre tentativi")
    assert closed.closed_at is not None and closed.outcome_label
    assert [t.id for t in waiting.open_tasks(world.operator)] == [tasks[1].id]
    with pytest.raises(Conflict):
        waiting.close_task(world.operator, tasks[0].id, "rebooked")


def test_attendance_opens_no_task(world, make_user):
    appointment = past_booking(world, make_user("admin"), 3)
    services.record_attendance(world.operator, appointment.id)
    assert db.session.scalar(sa.select(sa.func.count(RecallTask.id))) == 0


def test_recall_routes_close_with_an_outcome(world, client, make_user):
    appointment = past_booking(world, make_user("admin"), 3)
    services.record_no_show(world.operator, appointment.id)
    task = db.session.scalar(sa.select(RecallTask))
    login(client, world.operator.email)
    page = client.get("/lista-attesa").get_data(as_text=True)
    assert "1° assenza" in page and world.person.code in page
    assert client.post(f"/richiami/{task.id}/chiudi", data={"esito": ""}).status_code == 422
    assert client.post(f"/richiami/{task.id}/chiudi", data={"esito": "rebooked"}).status_code == 303
    db.session.expire_all()
    assert db.session.get(RecallTask, task.id).outcome == "rebooked"


@pytest.mark.parametrize("role", ["tutor", "municipal_contact", "observer"])
def test_waiting_pages_are_refused_to_other_roles(client, login_as, role):
    login_as(role)
    assert client.get("/lista-attesa").status_code == 403
    assert client.get("/lista-attesa/suggerimenti?desk=1", headers=htmx()).status_code == 403
