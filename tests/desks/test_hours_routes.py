"""Hours editing screens: scope per role, 422 with Italian messages, htmx fragments, several desks, closures."""

from datetime import date

import sqlalchemy as sa

from app.extensions import db
from app.models import Closure, Desk, OpeningSchedule, TutorAvailability
from tests.conftest import htmx

WEEK = {"w0_0_start": "09:00", "w0_0_end": "12:30", "w0_1_start": "14:00", "w0_1_end": "17:30",
        "w2_0_start": "09:00", "w2_0_end": "12:30"}


def _schedule_form(**extra) -> dict:
    return {"name": "Orario estivo", "valid_from": "2027-07-01", "valid_to": "", **WEEK, **extra}


def _schedules_of(desk_id: int) -> list[tuple]:
    db.session.expire_all()
    return [(s.name, s.valid_from, s.valid_to) for s in db.session.scalars(
        sa.select(OpeningSchedule).where(OpeningSchedule.desk_id == desk_id).order_by(OpeningSchedule.valid_from))]


def test_operator_edits_hours_of_own_desk(client, login_as, make_desk):
    operator = login_as("operator")
    desk = make_desk(operators=[operator])
    page = client.get(f"/orari/{desk.id}/modifica")
    assert page.status_code == 200 and "Nuovo orario da una data" in page.get_data(as_text=True)
    response = client.post(f"/orari/{desk.id}/orari", data=_schedule_form())
    assert response.status_code == 303
    assert _schedules_of(desk.id) == [("Orario estivo", date(2027, 7, 1), None)]


def test_operator_cannot_edit_another_desk(client, login_as, make_desk):
    login_as("operator")
    other = make_desk()
    assert client.get(f"/orari/{other.id}/modifica").status_code == 403
    assert client.post(f"/orari/{other.id}/orari", data=_schedule_form()).status_code == 403
    assert client.post(f"/orari/{other.id}/chiusure", data={"start_day": "2027-08-15", "reason": "x"}).status_code == 403
    assert client.get(f"/orari/{other.id}").status_code == 200  # hours are visible to every operator
    assert _schedules_of(other.id) == []


def test_overlapping_intervals_answer_422_in_italian_page_and_fragment(client, login_as, make_desk):
    operator = login_as("operator")
    desk = make_desk(operators=[operator])
    data = _schedule_form(w0_1_start="12:00")
    page = client.post(f"/orari/{desk.id}/orari", data=data)
    assert page.status_code == 422
    body = page.get_data(as_text=True)
    assert "Lunedì: le fasce 09:00–12:30 e 12:00–17:30 si sovrappongono." in body and "<html" in body
    fragment = client.post(f"/orari/{desk.id}/orari", data=data, headers=htmx())
    text = fragment.get_data(as_text=True)
    assert fragment.status_code == 422 and "<html" not in text and 'id="schedules"' in text
    assert "si sovrappongono" in text and 'value="12:00"' in text  # what was typed is kept
    backwards = client.post(f"/orari/{desk.id}/orari", data=_schedule_form(w2_0_end="08:00"))
    assert backwards.status_code == 422 and "deve essere successivo" in backwards.get_data(as_text=True)
    assert _schedules_of(desk.id) == []


def test_schedule_overlapping_a_later_one_is_refused(client, login_as, make_desk):
    operator = login_as("operator")
    desk = make_desk(operators=[operator])
    client.post(f"/orari/{desk.id}/orari", data=_schedule_form(name="Esami", valid_to="2027-07-31"))
    response = client.post(f"/orari/{desk.id}/orari",
                           data=_schedule_form(name="Estate", valid_from="2027-06-15", valid_to="2027-07-10"))
    assert response.status_code == 422
    assert "si sovrappone a «Esami»" in response.get_data(as_text=True)


def test_preview_is_a_fragment_for_htmx_and_a_page_without_js(client, login_as, make_desk):
    operator = login_as("operator")
    desk = make_desk(operators=[operator])
    data = _schedule_form(valid_from="2027-08-09", valid_to="")
    fragment = client.post(f"/orari/{desk.id}/anteprima", data=data, headers=htmx())
    text = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and "<html" not in text and 'id="schedule-preview"' in text
    assert "Lunedì 09/08/2027" in text and "09:00–12:30, 14:00–17:30" in text
    assert "Festività: Assunzione della Beata Vergine Maria" in text  # 15/08 is a holiday
    assert _schedules_of(desk.id) == []  # nothing saved
    page = client.post(f"/orari/{desk.id}/anteprima", data=data)
    assert page.status_code == 200 and "<html" in page.get_data(as_text=True)
    assert "Anteprima" in page.get_data(as_text=True)
    bad = client.post(f"/orari/{desk.id}/anteprima", data=_schedule_form(w0_0_end="08:00"), headers=htmx())
    assert bad.status_code == 422 and "deve essere successivo" in bad.get_data(as_text=True)


def test_apply_to_several_desks_is_atomic(client, login_as, make_desk):
    operator = login_as("operator")
    a, b = make_desk(operators=[operator]), make_desk(operators=[operator])
    other = make_desk()
    page = client.get("/orari/applica").get_data(as_text=True)
    assert a.name in page and b.name in page and other.name not in page
    refused = client.post("/orari/applica", data={**_schedule_form(), "desk_ids": [a.id, b.id, other.id]})
    assert refused.status_code == 422
    assert "Nessuno sportello è stato modificato" in refused.get_data(as_text=True)
    assert _schedules_of(a.id) == [] and _schedules_of(b.id) == []
    done = client.post("/orari/applica", data={**_schedule_form(), "desk_ids": [a.id, b.id]})
    assert done.status_code == 303
    assert _schedules_of(a.id) == _schedules_of(b.id) == [("Orario estivo", date(2027, 7, 1), None)]


def test_admin_closes_every_desk_on_15_august(client, login_as, make_desk):
    login_as("admin")
    make_desk()
    response = client.post("/orari/chiusure", data={"scope": "all", "start_day": "2027-08-15", "reason": "Ferragosto"})
    assert response.status_code == 303
    closure = db.session.scalars(sa.select(Closure)).one()
    assert (closure.scope, closure.desk_id, closure.municipality_id) == ("all", None, None)
    listing = client.get("/orari/chiusure").get_data(as_text=True)
    assert "15/08/2027" in listing and "Tutti gli sportelli" in listing


def test_operator_closes_only_own_desks_never_a_town(client, login_as, make_desk, network):
    operator = login_as("operator")
    desk = make_desk(operators=[operator])
    page = client.get("/orari/chiusure").get_data(as_text=True)
    assert "Tutti gli sportelli della rete" not in page
    town = client.post("/orari/chiusure", data={"scope": "municipality", "municipality_id": network["Segrate"].id,
                                                "start_day": "2027-08-15", "reason": "x"})
    assert town.status_code == 422
    assert "Solo l&#39;Ufficio di Piano" in town.get_data(as_text=True)
    own = client.post(f"/orari/{desk.id}/chiusure", data={"start_day": "2027-08-14", "start_time": "14:00",
                                                          "end_time": "18:00", "reason": "Riunione"})
    assert own.status_code == 303
    assert [c.scope for c in db.session.scalars(sa.select(Closure))] == ["desk"]


def test_municipal_contact_sees_only_their_towns_desks_read_only(client, login_as, make_desk, network):
    login_as("municipal_contact")  # Rodano
    rodano, segrate = make_desk(town="Rodano"), make_desk(town="Segrate")
    listing = client.get("/orari").get_data(as_text=True)
    assert rodano.name in listing and segrate.name not in listing
    assert "Modifica orari" not in listing
    assert client.get(f"/orari/{rodano.id}").status_code == 200
    assert client.get(f"/orari/{segrate.id}").status_code == 404
    assert client.get(f"/orari/{rodano.id}/modifica").status_code == 403
    assert client.post(f"/orari/{rodano.id}/orari", data=_schedule_form()).status_code == 403
    assert client.get("/orari/applica").status_code == 403


def test_desk_list_fragment_for_htmx(client, login_as, make_desk):
    login_as("coordinator")
    desk = make_desk()
    fragment = client.get("/orari", headers=htmx())
    text = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and "<html" not in text and desk.name in text


def test_admin_creates_a_desk_with_staff_and_services(client, login_as, make_user, network):
    login_as("admin")
    operator, tutor = make_user("operator"), make_user("tutor")
    data = {"name": "Sportello Orientamento Bussero", "municipality_id": network["Bussero"].id,
            "partner_id": network["Students Lab"].id, "rooms": 2, "slot_minutes": 45, "buffer_minutes": 15,
            "min_notice_minutes": 120, "active": "y", "services": ["orientamento", "cv_lavoro"],
            "operator_ids": [operator.id], "tutor_ids": [tutor.id]}
    assert client.post("/orari/gestione/nuovo", data=data).status_code == 303
    desk = db.session.scalars(sa.select(Desk)).one()
    assert (desk.rooms, desk.services) == (2, ["orientamento", "cv_lavoro"])
    assert [u.id for u in desk.operators] == [operator.id] and [u.id for u in desk.tutors] == [tutor.id]
    wrong = client.post("/orari/gestione/nuovo", data={**data, "name": "Altro",
                                                        "municipality_id": network["Students Lab"].id})
    assert wrong.status_code == 422 and "Scegli il comune" in wrong.get_data(as_text=True)


def test_only_admin_manages_desks(client, login_as):
    login_as("operator")
    assert client.get("/orari/gestione").status_code == 403
    assert client.post("/orari/gestione/nuovo", data={"name": "x"}).status_code == 403


def test_tutor_availability_page_scope(client, login_as, make_desk, make_user):
    operator = login_as("operator")
    tutor = make_user("tutor")
    desk = make_desk(operators=[operator], tutors=[tutor])
    other = make_desk(tutors=[tutor])
    page = client.get(f"/orari/{desk.id}/disponibilita")
    assert page.status_code == 200 and tutor.full_name in page.get_data(as_text=True)
    response = client.post(f"/orari/{desk.id}/disponibilita", data={"tutor_id": tutor.id, "valid_from": "2027-01-04",
                                                                   "w0_0_start": "09:00", "w0_0_end": "12:00"})
    assert response.status_code == 303
    assert db.session.scalar(sa.select(sa.func.count()).select_from(TutorAvailability)) == 1
    assert client.get(f"/orari/{other.id}/disponibilita").status_code == 403
    absence = client.post(f"/orari/{desk.id}/assenze", data={"absence-tutor_id": tutor.id, "absence-kind": "malattia",
                                                            "absence-start_day": "2027-01-11",
                                                            "absence-end_day": "2027-01-12"})
    assert absence.status_code == 303


def test_tutor_cannot_edit_availability(client, login_as, make_desk):
    tutor = login_as("tutor")
    desk = make_desk(tutors=[tutor])
    assert client.get(f"/orari/{desk.id}/disponibilita").status_code == 403


def test_closure_errors_come_back_as_a_fragment(client, login_as, make_desk):
    operator = login_as("operator")
    desk = make_desk(operators=[operator])
    response = client.post(f"/orari/{desk.id}/chiusure", headers=htmx(),
                           data={"start_day": "2027-08-15", "end_day": "2027-08-14", "reason": "Ferie"})
    text = response.get_data(as_text=True)
    assert response.status_code == 422 and "<html" not in text and 'id="desk-closures"' in text
    assert "Il giorno di fine precede quello di inizio." in text
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Closure)) == 0


def test_extra_opening_and_future_schedule_removal(client, login_as, make_desk):
    operator = login_as("operator")
    desk = make_desk(operators=[operator])
    added = client.post(f"/orari/{desk.id}/aperture", data={"day": "2027-09-25", "start": "10:00", "end": "13:00",
                                                           "note": "Open day"})
    assert added.status_code == 303
    assert "Open day" in client.get(f"/orari/{desk.id}").get_data(as_text=True)
    reversed_ = client.post(f"/orari/{desk.id}/aperture", data={"day": "2027-09-26", "start": "13:00", "end": "10:00"})
    assert reversed_.status_code == 422
    client.post(f"/orari/{desk.id}/orari", data=_schedule_form())
    schedule_id = db.session.scalar(sa.select(OpeningSchedule.id))
    assert client.post(f"/orari/{desk.id}/orari/{schedule_id}/elimina").status_code == 303
    assert _schedules_of(desk.id) == []


def test_admin_sets_and_clears_a_patron_day(client, login_as, network):
    login_as("admin")
    town = network["Gessate"]
    data = {"patron_saint": "Santo di prova", "patron_day": "12", "patron_month": "3", "version": town.version}
    assert client.post(f"/orari/gestione/comuni/{town.id}/patrono", data=data).status_code == 303
    db.session.expire_all()
    assert (town.patron_saint, town.patron_month, town.patron_day) == ("Santo di prova", 3, 12)
    bad = client.post(f"/orari/gestione/comuni/{town.id}/patrono", data={**data, "patron_day": "31", "patron_month": "4",
                                                                         "version": town.version})
    assert bad.status_code == 303  # back to the list with the message
    db.session.expire_all()
    assert town.patron_day == 12
    client.post(f"/orari/gestione/comuni/{town.id}/patrono", data={"patron_saint": "", "patron_day": "", "patron_month": "",
                                                                   "version": town.version})
    db.session.expire_all()
    assert (town.patron_saint, town.patron_month, town.patron_day) == (None, None, None)


def test_preview_warns_when_saving_would_be_refused(client, login_as, make_desk):
    operator = login_as("operator")
    desk = make_desk(operators=[operator])
    client.post(f"/orari/{desk.id}/orari", data=_schedule_form(name="Esami", valid_to="2027-07-31"))
    response = client.post(f"/orari/{desk.id}/anteprima", headers=htmx(),
                           data=_schedule_form(name="Estate", valid_from="2027-06-15", valid_to="2027-07-10"))
    assert response.status_code == 422 and "si sovrappone a «Esami»" in response.get_data(as_text=True)


def test_holiday_names_follow_the_interface_language(client, login_as, make_desk):
    operator = login_as("operator")
    desk = make_desk(operators=[operator])
    client.post("/lingua", data={"lang": "en", "next": "/"})
    text = client.post(f"/orari/{desk.id}/anteprima", data=_schedule_form(valid_from="2027-08-09", valid_to=""),
                       headers=htmx()).get_data(as_text=True)
    assert "Assumption Of Mary Day" in text and "Assunzione" not in text
