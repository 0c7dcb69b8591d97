"""The young people's register: registration with duplicate warning, consent rules, search, scope."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from app.bookings import services as bookings
from app.bookings.services import BookingData
from app.extensions import db
from app.models import YoungPerson
from tests.bookings.conftest import tomorrow_at
from tests.bookings.factories import make_desk, make_person
from tests.conftest import htmx, login


def form(network, **overrides) -> dict:
    values = {"first_name": "Sara", "last_name": "Colombo", "birth_date": (date.today() - timedelta(days=365 * 17))
              .isoformat(), "gender": "F", "study_work_status": "studente", "residence_town_id": network["Segrate"].id,
              "phone": "333 111 2222", "preferred_channel": "telefono", "privacy_consent": "y"}
    values.update(overrides)
    return values


def test_registration_gives_a_pseudonymous_code(client, world):
    login(client, world.operator.email)
    response = client.post("/giovani/nuova", data=form(world.network, registered_desk_id=world.desk.id))
    assert response.status_code == 303
    person = db.session.scalar(sa.select(YoungPerson).where(YoungPerson.last_name == "Colombo"))
    assert response.headers["Location"] == f"/giovani/{person.id}"
    assert person.code == f"HDT-{date.today().year}-{person.id:06d}"
    assert person.privacy_collected_by_id == world.operator.id and person.privacy_text_version


def test_possible_duplicates_are_shown_before_saving(client, world):
    login(client, world.operator.email)
    twin = form(world.network, first_name=world.person.first_name, last_name=world.person.last_name,
                birth_date=world.person.birth_date.isoformat(), phone="3209998877")
    page = client.post("/giovani/nuova", data=twin)
    assert page.status_code == 200 and "Possibili doppioni" in page.get_data(as_text=True)
    assert world.person.code in page.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(YoungPerson)) == 1
    same_phone = client.post("/giovani/nuova", data=form(world.network, phone=world.person.phone))
    assert "Possibili doppioni" in same_phone.get_data(as_text=True)
    confirmed = client.post("/giovani/nuova", data={**twin, "confirm_new": "1"})
    assert confirmed.status_code == 303
    assert db.session.scalar(sa.select(sa.func.count()).select_from(YoungPerson)) == 2


def test_under_14_needs_a_guardian_and_their_consent(client, world):
    login(client, world.operator.email)
    child = form(world.network, birth_date=(date.today() - timedelta(days=365 * 12)).isoformat())
    refused = client.post("/giovani/nuova", data=child, headers=htmx())
    assert refused.status_code == 422
    assert "genitore o tutore" in refused.get_data(as_text=True)
    assert "<html" not in refused.get_data(as_text=True)  # htmx gets the form fragment only
    ok = client.post("/giovani/nuova", data={**child, "guardian_name": "Mario Colombo",
                                             "guardian_contact": "333 000 1111", "guardian_consent": "y"})
    assert ok.status_code == 303


def test_privacy_consent_is_required(client, world):
    login(client, world.operator.email)
    data = form(world.network)
    data.pop("privacy_consent")
    response = client.post("/giovani/nuova", data=data)
    assert response.status_code == 422 and "consenso" in response.get_data(as_text=True)


def test_active_search_returns_the_fragment_for_htmx(client, world):
    login(client, world.operator.email)
    page = client.get("/giovani?q=bianchi")
    assert page.status_code == 200 and "<html" in page.get_data(as_text=True)
    fragment = client.get("/giovani?q=bianchi", headers=htmx())
    text = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and "<html" not in text and world.person.code in text
    by_code = client.get(f"/giovani?q={world.person.code}", headers=htmx()).get_data(as_text=True)
    assert world.person.code in by_code
    assert world.person.code not in client.get("/giovani?q=nessuno", headers=htmx()).get_data(as_text=True)


@pytest.fixture
def scoped(world, network, make_user):
    """Two desks of two organisations, their staff, and a protected record with its tutor."""
    ala_operator = make_user("operator", organisation=network["Ala Milano"])
    ala_tutor = make_user("tutor", organisation=network["Ala Milano"], full_name="Tutor Ala")
    ala_desk = make_desk(network, town="Rodano", partner="Ala Milano", name="Sportello Ala",
                         operators=[ala_operator], tutors=[ala_tutor])
    ala_person = make_person(network, ala_operator, first_name="Elena", phone="3470000001", registered_desk=ala_desk)
    protected = make_person(network, world.operator, first_name="Chiara", phone="3470000002", protected=True,
                            tutor=world.tutor, registered_desk=world.desk)
    return dict(ala_operator=ala_operator, ala_tutor=ala_tutor, ala_desk=ala_desk, ala_person=ala_person,
                protected=protected)


def _visible(client, user, person) -> int:
    login(client, user.email)
    status = client.get(f"/giovani/{person.id}").status_code
    client.post("/logout")
    return status


def test_scope_per_role_and_protected_records(app, world, scoped, make_user, network):
    client = app.test_client()
    admin = make_user("admin")
    own_coordinator = make_user("coordinator")  # Students Lab, like world.tutor
    ala_coordinator = make_user("coordinator", organisation=network["Ala Milano"])
    contact = make_user("municipal_contact")
    # Ordinary records: admin all, operators their desks', coordinators their organisation's.
    assert _visible(client, admin, scoped["ala_person"]) == 200
    assert _visible(client, world.operator, scoped["ala_person"]) == 404
    assert _visible(client, scoped["ala_operator"], scoped["ala_person"]) == 200
    assert _visible(client, ala_coordinator, scoped["ala_person"]) == 200
    assert _visible(client, own_coordinator, scoped["ala_person"]) == 404
    assert _visible(client, contact, scoped["ala_person"]) == 403
    # An appointment at the operator's desk (booked by the Ufficio di Piano: an operator cannot book
    # someone outside their scope) brings the person into their scope.
    bookings.create_booking(admin, BookingData(desk_id=world.desk.id, tutor_id=world.tutor.id,
                                                        young_person_id=scoped["ala_person"].id,
                                                        service="orientamento", starts_at=tomorrow_at(10)))
    assert _visible(client, world.operator, scoped["ala_person"]) == 200
    # Protected: only the tutor of record and that tutor's coordinator.
    assert _visible(client, world.tutor, scoped["protected"]) == 200
    assert _visible(client, own_coordinator, scoped["protected"]) == 200
    assert _visible(client, world.operator, scoped["protected"]) == 404
    assert _visible(client, admin, scoped["protected"]) == 404
    assert _visible(client, world.other_tutor, scoped["protected"]) == 404
    assert _visible(client, ala_coordinator, scoped["protected"]) == 404
    login(client, world.operator.email)
    assert scoped["protected"].code not in client.get("/giovani?q=Chiara").get_data(as_text=True)


def test_a_tutor_sees_name_and_code_only(client, world):
    bookings.create_booking(world.operator, BookingData(desk_id=world.desk.id, tutor_id=world.tutor.id,
                                                        young_person_id=world.person.id, service="orientamento",
                                                        starts_at=tomorrow_at(10)))
    login(client, world.tutor.email)
    text = client.get(f"/giovani/{world.person.id}").get_data(as_text=True)
    assert world.person.code in text and world.person.last_name in text
    assert world.person.phone not in text and "Data di nascita" not in text
    # Every read of a record is in the audit log: who, which record, how much of it.
    from app.models import AuditEvent
    read = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "person.read")).one()
    assert (read.actor_id, read.object_id, read.details) == (world.tutor.id, str(world.person.id),
                                                            {"view": "name_and_code"})
