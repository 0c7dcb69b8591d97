"""The tutor's editor: autosave with an optimistic revision, conflicts that keep the user's text, finalising."""

from __future__ import annotations

import re
import subprocess

import sqlalchemy as sa

from app.extensions import db
from app.models import AuditEvent, Note, NoteStatus, NoteVersion, OutboxMessage
from app.notes import services
from tests.conftest import htmx
from tests.notes.conftest import note_form


def _note(appointment) -> Note | None:
    db.session.expire_all()
    return db.session.scalar(sa.select(Note).where(Note.appointment_id == appointment.id))


def test_editor_page_is_private_and_has_autosave(world, client_for):
    """The editor is out of the htmx history cache, never cached, and autosaves with a debounce."""
    client = client_for(world.tutor)
    response = client.get(f"/appuntamenti/{world.appointment.id}/nota")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'hx-history="false"' in html
    assert response.headers["Cache-Control"] == "no-store"
    assert 'hx-trigger="input changed delay:1500ms' in html
    assert '<p class="form-text" role="status" id="autosave-status">' in html
    assert world.person.code in html and world.person.last_name not in html


def test_autosave_creates_then_updates_the_draft(world, client_for):
    """The first autosave creates the draft (revision 1), the next one needs revision 1 and makes it 2."""
    client = client_for(world.tutor)
    url = f"/appuntamenti/{world.appointment.id}/nota"
    first = client.post(url, data=note_form(0), headers=htmx())
    body = first.get_data(as_text=True)
    assert first.status_code == 200
    assert "Bozza salvata alle" in body and "<html" not in body
    assert re.search(r'id="note-revision" value="1" hx-swap-oob="true"', body)
    second = client.post(url, data=note_form(1, summary="Testo aggiornato"), headers=htmx())
    assert 'value="2"' in second.get_data(as_text=True)
    note = _note(world.appointment)
    assert note.summary == "Testo aggiornato" and note.revision == 2 and note.status == NoteStatus.DRAFT
    assert {o.outcome: o.progress for o in note.outcomes} == {1: "in_corso", 4: "avviato"}
    # A new page load (a reopened tab, a restarted server) shows the stored text.
    page = client.get(url).get_data(as_text=True)
    assert "Testo aggiornato" in page and 'name="revision" id="note-revision" value="2"' in page


def test_stale_tab_gets_a_conflict_and_overwrites_nothing(world, client_for):
    """Two tabs: the one that saved last wins nothing silently; the stale one keeps its text."""
    client = client_for(world.tutor)
    url = f"/appuntamenti/{world.appointment.id}/nota"
    client.post(url, data=note_form(0, summary="Tab A, prima"), headers=htmx())
    client.post(url, data=note_form(1, summary="Tab A, seconda"), headers=htmx())
    stale = client.post(url, data=note_form(1, summary="Tab B, vecchia"), headers=htmx())
    body = stale.get_data(as_text=True)
    assert stale.status_code == 200 and "Non salvato" in body and "NON sono state salvate" in body
    assert _note(world.appointment).summary == "Tab A, seconda"
    # Without JavaScript the page comes back with the user's own text and the message.
    plain = client.post(url, data=note_form(1, summary="Tab B, il mio testo"))
    page = plain.get_data(as_text=True)
    assert plain.status_code == 409
    assert "Tab B, il mio testo" in page and "NON sono state salvate" in page
    assert _note(world.appointment).summary == "Tab A, seconda"


def test_second_tab_creating_the_same_note_conflicts(world, client_for):
    """Two fresh tabs both start from revision 0: only the first creates the note."""
    client = client_for(world.tutor)
    url = f"/appuntamenti/{world.appointment.id}/nota"
    client.post(url, data=note_form(0, summary="Primo"), headers=htmx())
    second = client.post(url, data=note_form(0, summary="Secondo"), headers=htmx())
    assert "Non salvato" in second.get_data(as_text=True)
    assert _note(world.appointment).summary == "Primo"


def test_finalise_validates_and_keeps_the_draft(world, client_for):
    """Without outcomes or summary the note stays a draft, saved, with the message next to the field."""
    client = client_for(world.tutor)
    response = client.post(f"/appuntamenti/{world.appointment.id}/nota/finalizza",
                           data=note_form(0, outcome_1="", outcome_4="", summary="Solo sintesi"))
    assert response.status_code == 422
    assert "Indica almeno un obiettivo" in response.get_data(as_text=True)
    note = _note(world.appointment)
    assert note.status == NoteStatus.DRAFT and note.summary == "Solo sintesi"


def test_only_attended_appointments_are_finalised(world, client_for, make_appointment):
    """A booked appointment can have a draft, but it is finalised only once attendance is recorded."""
    booked = make_appointment(world.desk, world.tutor, world.person, status="confirmed", hours_ago=5)
    client = client_for(world.tutor)
    response = client.post(f"/appuntamenti/{booked.id}/nota/finalizza", data=note_form(0))
    assert response.status_code == 422 and "appuntamento svolto" in response.get_data(as_text=True)
    assert _note(booked).status == NoteStatus.DRAFT


def test_finalise_locks_archives_and_downloads_identical_bytes(world, client_for, archive_dir, tmp_path):
    """Finalise: hash of the canonical content, PDF archived; every download returns those bytes, audited."""
    client = client_for(world.tutor)
    response = client.post(f"/appuntamenti/{world.appointment.id}/nota/finalizza",
                           data=note_form(0, needs_attention="1"))
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    note = _note(world.appointment)
    assert note.status == NoteStatus.FINAL and note.content_hash == services.content_hash(note)
    version = db.session.scalar(sa.select(NoteVersion).where(NoteVersion.note_id == note.id))
    archived = (archive_dir / version.pdf_path).read_bytes()
    first = client.get(f"/note/{note.id}/nota.pdf")
    second = client.get(f"/note/{note.id}/versione-1.pdf")
    assert first.status_code == 200 and first.mimetype == "application/pdf"
    assert first.data == archived == second.data
    assert services.pdf.sha256(first.data) == version.pdf_sha256
    downloads = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.action == "note.download", AuditEvent.object_id == str(note.id))).all()
    assert len(downloads) == 2 and all(e.actor_id == world.tutor.id for e in downloads)
    path = tmp_path / "note.pdf"
    path.write_bytes(first.data)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True).stdout
    assert "Ufficio di Piano — Distretto Sociale Est Milano" in text
    assert "via C. Cattaneo 1, 20096 Pioltello (MI)" in text and "Students Lab" in text
    assert "Consapevolezza dei propri talenti" in text and "In corso" in text
    assert "Pagina 1 di" in text and note.content_hash in text
    assert world.person.code in text and world.person.last_name not in text
    info = subprocess.run(["pdfinfo", "-meta", str(path)], capture_output=True, text=True).stdout
    assert 'pdfaid:part="2"' in info and 'pdfaid:conformance="A"' in info
    assert "Tagged:          yes" in subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True).stdout
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True).stdout
    assert "Titillium" in fonts and all(line.split()[-5] == "yes" for line in fonts.splitlines()[2:])
    # The coordinator is told, without the note's content.
    mail = db.session.scalar(sa.select(OutboxMessage).where(OutboxMessage.recipient == world.coordinator.email))
    assert mail is not None and "Abbiamo parlato" not in mail.body_text and world.person.code not in mail.body_text
    # Editing a final note through the editor is impossible.
    again = client.post(f"/appuntamenti/{world.appointment.id}/nota", data=note_form(note.revision, summary="x"))
    assert again.status_code == 409 and _note(world.appointment).summary != "x"


def test_follow_up_request_reaches_the_desk(world, client_for):
    """A tutor's follow-up request e-mails the desk's operators a pre-filled booking link."""
    client = client_for(world.tutor)
    response = client.post(f"/appuntamenti/{world.appointment.id}/nota/follow-up")
    assert response.status_code == 303
    mail = db.session.scalar(sa.select(OutboxMessage).where(OutboxMessage.recipient == world.operator.email))
    assert mail is not None and f"person={world.person.id}" in mail.body_text


def test_other_tutor_cannot_write_the_note(world, client_for):
    """Only the appointment's tutor writes its note."""
    client = client_for(world.colleague)
    assert client.get(f"/appuntamenti/{world.appointment.id}/nota").status_code == 404
    assert client.post(f"/appuntamenti/{world.appointment.id}/nota", data=note_form(0)).status_code == 404
    assert _note(world.appointment) is None


def test_htmx_finalise_failure_swaps_the_editor_with_the_text(world, client_for):
    """Through htmx a refused finalisation answers the editor fragment (422) with the message and the text."""
    client = client_for(world.tutor)
    response = client.post(f"/appuntamenti/{world.appointment.id}/nota/finalizza",
                           data=note_form(0, summary=""), headers=htmx())
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and "<html" not in body
    assert 'id="note-editor"' in body and "Scrivi la sintesi" in body and "Scelta della scuola superiore" in body


def test_flagged_note_is_listed_for_the_coordinator(world, client_for):
    """A final note flagged for attention appears under "Da attenzionare" on the coordinator's notes page."""
    client_for(world.tutor).post(f"/appuntamenti/{world.appointment.id}/nota/finalizza",
                                 data=note_form(0, needs_attention="1"))
    page = client_for(world.coordinator).get("/note").get_data(as_text=True)
    assert "Da attenzionare" in page and world.tutor.full_name in page
    assert "Abbiamo parlato" not in page  # the list shows no content


def test_coordinator_takes_note_of_a_flagged_note(world, client_for):
    """"Presa visione": the flag leaves the coordinator's list; the note's content stays locked."""
    client_for(world.tutor).post(f"/appuntamenti/{world.appointment.id}/nota/finalizza",
                                 data=note_form(0, needs_attention="1"))
    note = _note(world.appointment)
    assert client_for(world.tutor).post(f"/note/{note.id}/presa-visione").status_code == 403
    coordinator = client_for(world.coordinator)
    assert coordinator.post(f"/note/{note.id}/presa-visione").status_code == 303
    stored = _note(world.appointment)
    assert stored.attention_seen_at is not None and stored.status == NoteStatus.FINAL
    assert "Da attenzionare" not in coordinator.get("/note").get_data(as_text=True)
