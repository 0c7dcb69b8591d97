"""Export (JSON and PDF) and erasure of a young person: data controller only, audited, aggregates kept."""

from __future__ import annotations

import json
import subprocess

import pytest
import sqlalchemy as sa

from app import audit
from app.bookings import services as bookings
from app.bookings import waiting
from app.bookings.services import BookingData
from app.domain.errors import Invalid
from app.extensions import db
from app.models import (
    Appointment,
    AuditEvent,
    ConsentRecord,
    Note,
    NoteStatus,
    OutboxMessage,
    Status,
    Ticket,
    TicketComment,
    WaitingEntry,
)
from tests.bookings.conftest import tomorrow_at
from tests.conftest import login
from tests.privacy.conftest import EMAIL, FIRST, LAST, PHONE, aggregates, text_hits

REASON = "Richiesta di accesso, protocollo 55/2026"


def _actions(action: str) -> list[AuditEvent]:
    return db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)
                              .order_by(AuditEvent.id)).all()


def test_export_json_and_pdf_are_complete_audited_and_not_cached(client, world):
    login(client, world.admin.email)
    url = f"/admin/privacy/giovani/{world.person.id}/esporta"
    assert client.post(url, data={"fmt": "json", "reason": "breve"}).status_code == 422
    assert _actions("privacy.export") == []

    response = client.post(url, data={"fmt": "json", "reason": REASON})
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    assert f'filename="dati-{world.person.code}-' in response.headers["Content-Disposition"]
    data = json.loads(response.get_data(as_text=True))
    assert data["person"]["first_name"] == FIRST and data["person"]["code"] == world.person.code
    assert data["contacts"]["email"] == EMAIL and data["contacts"]["phone"] == PHONE
    assert {c["kind"] for c in data["consents"]} == {"notice", "special_categories", "guardian"}
    assert len(data["appointments"]) == 4
    assert data["requests"][0]["message"].startswith("Sono Zefiro")
    assert data["waiting_list"][0]["preferences"] == f"{FIRST} preferisce il martedì"
    summaries = {n["status"]: n["summary"] for n in data["notes"]}
    assert summaries["final"] == "Ha scelto di iscriversi a ingegneria." and summaries["draft"].startswith(FIRST)

    export = _actions("privacy.export")[-1]
    assert (export.object_id, export.reason, export.details) == (str(world.person.id), REASON,
                                                                 {"format": "json", "note_count": 2})
    reads = _actions("note.read")
    assert len(reads) == 2 and {r.reason for r in reads} == {REASON}
    assert all(r.details == {"export": "json"} for r in reads)

    pdf = client.post(url, data={"fmt": "pdf", "reason": REASON})
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.headers["Cache-Control"] == "no-store"
    text = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf.data, capture_output=True,
                          check=True).stdout.decode()
    for expected in ("Ufficio di Piano", "Copia dei dati personali", world.person.code, f"{FIRST} {LAST}", EMAIL,
                     "ingegneria", "Sportello Segrate", "Consenso del genitore"):
        assert expected in text, expected
    assert _actions("privacy.export")[-1].details == {"format": "pdf", "note_count": 2}
    assert audit.verify_chain()[0]


@pytest.mark.parametrize("role", ["coordinator", "operator", "tutor", "observer"])
def test_only_the_data_controller_exports_and_erases(client, world, make_user, role):
    user = make_user(role)
    login(client, user.email)
    base = f"/admin/privacy/giovani/{world.person.id}"
    assert client.get("/admin/privacy").status_code == 403
    assert client.get(base).status_code == 403
    assert client.post(f"{base}/esporta", data={"fmt": "json", "reason": REASON}).status_code == 403
    assert client.post(f"{base}/cancella", data={"confirm_code": world.person.code,
                                                 "reason": REASON}).status_code == 403
    db.session.refresh(world.person)
    assert world.person.erased_at is None and _actions("privacy.export") == []


def test_protected_records_only_by_exact_code_and_logged_as_breakglass(client, world):
    person = world.person
    person.protected, person.tutor_id = True, world.tutor.id
    db.session.commit()
    login(client, world.admin.email)
    by_name = client.get("/admin/privacy", query_string={"q": LAST}).get_data(as_text=True)
    assert person.code not in by_name
    by_code = client.get("/admin/privacy", query_string={"q": person.code}).get_data(as_text=True)
    assert person.code in by_code and LAST not in by_code
    page = client.get(f"/admin/privacy/giovani/{person.id}").get_data(as_text=True)
    assert "Scheda riservata" in page and LAST not in page
    response = client.post(f"/admin/privacy/giovani/{person.id}/esporta", data={"fmt": "json", "reason": REASON})
    assert response.status_code == 200
    breakglass = _actions("breakglass")
    assert len(breakglass) == 1 and breakglass[0].reason == REASON and breakglass[0].object_id == str(person.id)


def test_erasure_removes_identity_everywhere_and_keeps_aggregates_and_final_notes(client, world):
    person, final_note = world.person, world.final_note
    before = aggregates()
    final_summary = final_note.summary
    assert text_hits()  # the fixture really spreads the identity around
    login(client, world.admin.email)
    url = f"/admin/privacy/giovani/{person.id}/cancella"
    assert client.get(url).status_code == 200
    wrong = client.post(url, data={"confirm_code": "HDT-2026-999999", "reason": REASON})
    assert wrong.status_code == 422 and "Il codice non corrisponde" in wrong.get_data(as_text=True)
    assert client.post(url, data={"confirm_code": person.code, "reason": ""}).status_code == 422
    db.session.refresh(person)
    assert person.erased_at is None and person.first_name == FIRST

    done = client.post(url, data={"confirm_code": person.code.lower(), "reason": REASON})
    assert done.status_code == 303 and done.headers["Location"] == f"/admin/privacy/giovani/{person.id}"
    db.session.expire_all()
    assert text_hits() == []
    assert (person.first_name, person.email, person.phone, person.school) == ("Persona", "", "", "")
    assert person.erased_by_id == world.admin.id and person.erasure_reason == REASON
    assert person.birth_date.month == 7 and person.birth_date.day == 1
    assert (person.gender, person.residence_town_id, person.registered_desk_id) == (
        "F", world.network["Segrate"].id, world.desk.id)
    # Counts for monitoring are unchanged; the future session is cancelled, not removed.
    assert aggregates() == before
    assert db.session.get(Appointment, world.future.id).status == Status.CANCELLED
    # The final note is the retained record, untouched; the draft is gone.
    kept = db.session.get(Note, final_note.id)
    assert kept.summary == final_summary and kept.young_person_id == person.id
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Note).where(
        Note.young_person_id == person.id, Note.status == NoteStatus.DRAFT)) == 0
    ticket = db.session.get(Ticket, world.ticket.id)
    assert ticket.status == "closed" and ticket.message == "" and ticket.topic == "orientamento"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(TicketComment)) == 0
    assert db.session.scalar(sa.select(WaitingEntry.status)) == "withdrawn"
    assert db.session.scalars(sa.select(OutboxMessage.recipient)).all() == ["altra@example.test"]
    assert all(c.withdrawn_at is not None for c in db.session.scalars(sa.select(ConsentRecord)))
    # Audited with counts only, and the chain holds.
    erase = _actions("privacy.erase")[-1]
    assert erase.reason == REASON and erase.details["final_notes"] == 1 and erase.details["cancelled"] == 1
    assert audit.verify_chain()[0]
    # An erased person cannot be erased again, booked, or offered for booking.
    assert client.post(url, data={"confirm_code": person.code, "reason": REASON}).status_code == 422
    with pytest.raises(Invalid):
        bookings.create_booking(world.admin, BookingData(desk_id=world.desk.id, tutor_id=world.tutor.id,
                                                         young_person_id=person.id, service="orientamento",
                                                         starts_at=tomorrow_at(10)))
    with pytest.raises(Invalid):
        waiting.add_entry(world.admin, person.id, world.desk.id, "orientamento")
    client.post("/logout")
    login(client, world.operator.email)
    page = client.get(f"/giovani/{person.id}").get_data(as_text=True)
    assert "anonimizzati" in page and "Nuovo appuntamento" not in page


def test_nul_bytes_and_nonsense_are_refused_cleanly(client, world):
    login(client, world.admin.email)
    assert client.get("/admin/privacy", query_string={"q": "a\x00b"}).status_code == 200
    url = f"/admin/privacy/giovani/{world.person.id}"
    assert client.post(f"{url}/esporta", data={"fmt": "xml", "reason": REASON}).status_code == 422
    assert client.post(f"{url}/esporta", data={"fmt": "json", "reason": "\x00" * 20}).status_code == 422
    done = client.post(f"{url}/cancella", data={"confirm_code": world.person.code, "reason": f"{REASON}\x00"})
    assert done.status_code == 303
    db.session.refresh(world.person)
    assert world.person.erasure_reason == REASON
