"""Booking pages: the stepper (page vs htmx fragment), booking, 409 with fresh slots, lifecycle actions."""

from __future__ import annotations

import re
from datetime import UTC

import pytest
import sqlalchemy as sa

from app.bookings import services
from app.bookings.services import BookingData
from app.extensions import db
from app.models import Appointment, Status
from tests.bookings.conftest import tomorrow_at
from tests.bookings.factories import make_person
from tests.conftest import htmx, login


def slot(tutor, starts) -> str:
    return f"{tutor.id}|{starts.astimezone(UTC).isoformat()}"


def book_form(world, starts, **overrides) -> dict:
    values = {"person": world.person.id, "desk": world.desk.id, "service": "orientamento", "mode": "presenza",
              "slot": slot(world.tutor, starts)}
    values.update(overrides)
    return values


def test_the_stepper_is_a_page_and_an_htmx_fragment(client, world):
    login(client, world.operator.email)
    url = f"/appuntamenti/nuovo?person={world.person.id}&service=orientamento&desk={world.desk.id}"
    page = client.get(url)
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "<html" in text and "steppers" in text
    response = client.get(url, headers=htmx())
    assert "HX-Request" in ", ".join(response.headers.getlist("Vary"))
    fragment = response.get_data(as_text=True)
    assert "<html" not in fragment and fragment.lstrip().startswith('<div id="booking">')
    assert 'name="slot"' in fragment  # step 3: free slots as real submit buttons
    first = client.get("/appuntamenti/nuovo", headers=htmx()).get_data(as_text=True)
    assert "Cerca o registra la persona" in first
    found = client.get("/appuntamenti/nuovo/persone?q=Bianchi", headers=htmx()).get_data(as_text=True)
    assert world.person.code in found


def test_booking_through_the_form_redirects_to_the_appointment(client, world):
    login(client, world.operator.email)
    response = client.post("/appuntamenti", data=book_form(world, tomorrow_at(10)))
    assert response.status_code == 303
    appointment = db.session.scalar(sa.select(Appointment))
    assert response.headers["Location"] == f"/appuntamenti/{appointment.id}"
    via_htmx = client.post("/appuntamenti", data=book_form(world, tomorrow_at(12)), headers=htmx())
    assert via_htmx.status_code == 204 and via_htmx.headers["HX-Redirect"].startswith("/appuntamenti/")


def test_a_taken_slot_answers_409_with_a_fresh_picker(client, world, network):
    login(client, world.operator.email)
    other = make_person(network, world.operator, first_name="Ugo", phone="3401112222", registered_desk=world.desk)
    assert client.post("/appuntamenti", data=book_form(world, tomorrow_at(10))).status_code == 303
    lost = client.post("/appuntamenti", data=book_form(world, tomorrow_at(10), person=other.id), headers=htmx())
    text = lost.get_data(as_text=True)
    assert lost.status_code == 409
    assert "Il tutor ha già un appuntamento" in text and 'name="slot"' in text and "<html" not in text
    assert slot(world.tutor, tomorrow_at(10)) not in text  # the taken slot is no longer offered


def _slot_form_fields(html: str) -> dict:
    """What the browser sends with a slot button: the step-3 form's hidden inputs, mode and sessions."""
    form = html[html.index('hx-post="/appuntamenti"'):]
    form = form[:form.index("</form>")]
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form))
    fields["mode"] = re.search(r'<option value="([^"]+)" selected>', form).group(1)
    fields["sessions"] = re.search(r'id="sessions" name="sessions" value="(\d+)"', form).group(1)
    return fields


def test_the_slot_form_as_served_books_and_a_lost_race_keeps_the_mode(client, world, network):
    """The fields of the picker's form are what the booking reads; a 409 re-renders them with the mode chosen."""
    login(client, world.operator.email)
    url = f"/appuntamenti/nuovo?person={world.person.id}&service=orientamento&desk={world.desk.id}"
    fields = _slot_form_fields(client.get(url, headers=htmx()).get_data(as_text=True))
    assert fields.keys() >= {"csrf_token", "person", "desk", "service", "day"} and fields["csrf_token"]
    assert (fields["person"], fields["desk"], fields["mode"], fields["sessions"]) == (
        str(world.person.id), str(world.desk.id), "presenza", "1")
    booked = client.post("/appuntamenti", data={**fields, "mode": "video", "slot": slot(world.tutor, tomorrow_at(10))},
                         csrf=False)
    assert booked.status_code == 303
    assert db.session.scalar(sa.select(Appointment.mode)) == "video"
    other = make_person(network, world.operator, first_name="Ugo", phone="3401112222", registered_desk=world.desk)
    lost = client.post("/appuntamenti", headers=htmx(), data={
        **fields, "person": other.id, "mode": "telefono", "slot": slot(world.tutor, tomorrow_at(10))})
    assert lost.status_code == 409
    assert _slot_form_fields(lost.get_data(as_text=True))["mode"] == "telefono"


def _slot_buttons(html: str) -> list[str]:
    return re.findall(r'name="slot" value="([^"]+)"', html)


@pytest.mark.parametrize("choose_tutor", [False, True])
def test_the_409_lists_the_slots_the_picker_lists(client, world, network, choose_tutor):
    """A lost race re-renders the same slots, in the same order, as opening the picker with those choices."""
    login(client, world.operator.email)
    other = make_person(network, world.operator, first_name="Ugo", phone="3401112222", registered_desk=world.desk)
    assert client.post("/appuntamenti", data=book_form(world, tomorrow_at(10))).status_code == 303
    tutor = world.other_tutor.id if choose_tutor else ""
    lost = client.post("/appuntamenti", headers=htmx(), data=book_form(
        world, tomorrow_at(10), person=other.id, tutor=tutor, slot=slot(world.tutor, tomorrow_at(10))))
    assert lost.status_code == 409
    picker = client.get(f"/appuntamenti/nuovo?person={other.id}&service=orientamento&desk={world.desk.id}"
                        f"&tutor={tutor}", headers=htmx())
    offered = _slot_buttons(picker.get_data(as_text=True))
    assert offered and _slot_buttons(lost.get_data(as_text=True)) == offered
    assert not any(value.endswith(tomorrow_at(10).astimezone(UTC).isoformat()) for value in offered)  # 1 room
    if choose_tutor:
        assert {value.split("|")[0] for value in offered} == {str(world.other_tutor.id)}


def test_other_roles_cannot_book(client, world, make_user):
    login(client, make_user("tutor").email)
    assert client.post("/appuntamenti", data=book_form(world, tomorrow_at(10))).status_code == 403
    assert client.get("/appuntamenti/nuovo").status_code == 403


def test_lifecycle_actions_and_a_stale_form(client, world):
    login(client, world.operator.email)
    appointment = services.create_booking(world.operator, BookingData(
        desk_id=world.desk.id, tutor_id=world.tutor.id, young_person_id=world.person.id, service="orientamento",
        starts_at=tomorrow_at(10)))
    page = client.get(f"/appuntamenti/{appointment.id}").get_data(as_text=True)
    assert "Conferma" in page and world.person.code in page
    version = appointment.version
    confirmed = client.post(f"/appuntamenti/{appointment.id}/stato", data={"action": "confirm", "version": version})
    assert confirmed.status_code == 303
    stale = client.post(f"/appuntamenti/{appointment.id}/annulla", headers=htmx(),
                        data={"by_kind": "desk", "reason": "Chiusura", "version": version})
    assert stale.status_code == 409 and "modificato da un&#39;altra persona" in stale.get_data(as_text=True)
    db.session.expire_all()
    fresh = db.session.get(Appointment, appointment.id)
    assert fresh.status == Status.CONFIRMED
    cancelled = client.post(f"/appuntamenti/{appointment.id}/annulla",
                            data={"by_kind": "desk", "reason": "Chiusura", "version": fresh.version})
    assert cancelled.status_code == 303
    db.session.expire_all()
    assert db.session.get(Appointment, appointment.id).status == Status.CANCELLED


@pytest.mark.parametrize("version", [None, "", "abc", "0", "9" * 40])
def test_a_change_without_a_usable_version_is_422_and_changes_nothing(client, world, version):
    """Confirm, cancel and move each need the version the page showed: without it the form is broken (422)."""
    login(client, world.operator.email)
    appointment = services.create_booking(world.operator, BookingData(
        desk_id=world.desk.id, tutor_id=world.tutor.id, young_person_id=world.person.id, service="orientamento",
        starts_at=tomorrow_at(10)))
    kept = {} if version is None else {"version": version}
    posts = {"stato": {"action": "confirm"}, "annulla": {"by_kind": "desk", "reason": "Chiusura"},
             "sposta": {**book_form(world, tomorrow_at(15)), "by_kind": "young_person"}}
    for action, data in posts.items():
        answer = client.post(f"/appuntamenti/{appointment.id}/{action}", data={**data, **kept}, headers=htmx())
        assert answer.status_code == 422, action
        assert "Il modulo non indica la versione dei dati" in answer.get_data(as_text=True), action
    db.session.expire_all()
    unchanged = db.session.get(Appointment, appointment.id)
    assert (unchanged.status, unchanged.version) == (appointment.status, appointment.version)
    assert db.session.scalar(sa.select(sa.func.count(Appointment.id))) == 1


def test_reschedule_through_the_picker(client, world):
    login(client, world.operator.email)
    appointment = services.create_booking(world.operator, BookingData(
        desk_id=world.desk.id, tutor_id=world.tutor.id, young_person_id=world.person.id, service="orientamento",
        starts_at=tomorrow_at(10), mode="video"))
    picker = client.get(f"/appuntamenti/{appointment.id}/sposta", headers=htmx())
    assert picker.status_code == 200 and 'name="slot"' in picker.get_data(as_text=True)
    assert '<option value="video" selected>' in picker.get_data(as_text=True)  # the appointment's own mode
    moved = client.post(f"/appuntamenti/{appointment.id}/sposta", data={
        **book_form(world, tomorrow_at(15)), "version": appointment.version, "by_kind": "young_person"})
    assert moved.status_code == 303
    db.session.expire_all()
    old = db.session.get(Appointment, appointment.id)
    assert old.status == Status.CANCELLED and old.rescheduled_to.starts_at == tomorrow_at(15)
    assert moved.headers["Location"] == f"/appuntamenti/{old.rescheduled_to.id}"


def test_a_weekly_path_shows_the_report_then_books(client, world):
    login(client, world.operator.email)
    preview = client.post("/appuntamenti", data={**book_form(world, tomorrow_at(9)), "sessions": "3"})
    assert preview.status_code == 200 and "3 date libere su 3" in preview.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Appointment)) == 0
    done = client.post("/appuntamenti", data={**book_form(world, tomorrow_at(9)), "sessions": "3",
                                              "confirm_path": "1"})
    assert done.status_code == 200 and "Percorso prenotato" in done.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Appointment)) == 3


def test_appointments_outside_scope_are_404(client, world, make_user, network):
    appointment = services.create_booking(world.operator, BookingData(
        desk_id=world.desk.id, tutor_id=world.tutor.id, young_person_id=world.person.id, service="orientamento",
        starts_at=tomorrow_at(10)))
    login(client, make_user("operator").email)
    assert client.get(f"/appuntamenti/{appointment.id}").status_code == 404
    assert client.get(f"/appuntamenti/{appointment.id}", headers=htmx()).status_code == 404
    client.post("/logout")
    login(client, world.tutor.email)
    assert client.get(f"/appuntamenti/{appointment.id}").status_code == 200
