"""Consent records: created at registration on the current text version, shown on the person page, withdrawn."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa

from app.extensions import db
from app.models import AuditEvent, ConsentRecord, ConsentText, YoungPerson
from app.people.services import PRIVACY_TEXT_VERSION
from app.privacy.texts import CURRENT_VERSION, TEXTS
from tests.conftest import login


def _form(network, **overrides) -> dict:
    values = {"first_name": "Sara", "last_name": "Colombo", "gender": "F", "study_work_status": "studente",
              "birth_date": (date.today() - timedelta(days=365 * 12)).isoformat(),
              "residence_town_id": network["Segrate"].id, "phone": "333 111 2222", "preferred_channel": "telefono",
              "privacy_consent": "y", "guardian_name": "Mario Colombo", "guardian_contact": "333 000 1111",
              "guardian_consent": "y"}
    values.update(overrides)
    return values


def test_registration_records_consents_and_withdrawal_is_audited(client, app, world):
    assert PRIVACY_TEXT_VERSION == CURRENT_VERSION and CURRENT_VERSION in TEXTS
    login(client, world.operator.email)
    assert client.post("/giovani/nuova", data=_form(world.network, registered_desk_id=world.desk.id)).status_code == 303
    person = db.session.scalar(sa.select(YoungPerson).where(YoungPerson.last_name == "Colombo"))
    records = db.session.scalars(sa.select(ConsentRecord).where(ConsentRecord.young_person_id == person.id)
                                 .order_by(ConsentRecord.kind)).all()
    # Under 14: the guardian gives every consent, on the text version the form refers to.
    assert [r.kind for r in records] == ["guardian", "notice", "special_categories"]
    assert {(r.given_by, r.given_by_name, r.text_version, r.collected_by_id) for r in records} == {
        ("guardian", "Mario Colombo", CURRENT_VERSION, world.operator.id)}
    text = db.session.scalar(sa.select(ConsentText).where(ConsentText.version == CURRENT_VERSION))
    assert text.body == TEXTS[CURRENT_VERSION]["body"]

    page = client.get(f"/giovani/{person.id}").get_data(as_text=True)
    assert "Consensi privacy" in page and "Mario Colombo" in page and "Registra la revoca" in page

    guardian = records[0]
    response = client.post(f"/giovani/{person.id}/consensi/{guardian.id}/revoca")
    assert response.status_code == 303 and response.headers["Location"] == f"/giovani/{person.id}"
    db.session.refresh(guardian)
    db.session.refresh(person)
    assert guardian.withdrawn_at is not None and guardian.withdrawn_by_id == world.operator.id
    assert person.guardian_consent is False
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "privacy.consent_withdrawn"))
    assert event.object_id == str(person.id) and event.actor_id == world.operator.id
    assert event.details == {"kind": "guardian", "version": CURRENT_VERSION, "consent": guardian.id}
    assert "Revocato il" in client.get(f"/giovani/{person.id}").get_data(as_text=True)
    # Twice is refused; the others stay valid.
    assert client.post(f"/giovani/{person.id}/consensi/{guardian.id}/revoca").status_code == 422
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ConsentRecord).where(
        ConsentRecord.young_person_id == person.id, ConsentRecord.withdrawn_at.is_(None))) == 2


def test_adult_consents_themselves_and_tutors_cannot_withdraw(client, app, world, make_user):
    login(client, world.operator.email)
    adult = _form(world.network, last_name="Adulta", birth_date=(date.today() - timedelta(days=365 * 20)).isoformat(),
                  guardian_name="", guardian_contact="", guardian_consent="", registered_desk_id=world.desk.id)
    assert client.post("/giovani/nuova", data=adult).status_code == 303
    person = db.session.scalar(sa.select(YoungPerson).where(YoungPerson.last_name == "Adulta"))
    records = db.session.scalars(sa.select(ConsentRecord).where(ConsentRecord.young_person_id == person.id)).all()
    assert sorted((r.kind, r.given_by, r.given_by_name) for r in records) == [
        ("notice", "self", ""), ("special_categories", "self", "")]
    client.post("/logout")
    login(client, world.tutor.email)
    assert client.post(f"/giovani/{person.id}/consensi/{records[0].id}/revoca").status_code == 403
    db.session.refresh(records[0])
    assert records[0].withdrawn_at is None
