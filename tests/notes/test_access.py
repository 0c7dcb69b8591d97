"""Who reads a note (BRIEF matrix), on pages, fragments and PDFs; every read is audited; break-glass."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import AuditEvent, YoungPerson
from app.notes import services
from tests.conftest import htmx

SECRET = "Racconta di un momento difficile a casa."


@pytest.fixture
def final_note(app, world):
    """A final note by the world's tutor on the world's young person."""
    with app.test_request_context():
        note = services.finalise(world.tutor, world.appointment.id, services.NoteData(
            outcomes={7: "avviato"}, summary=SECRET), 0)
    return note


def _reads(note, action="note.read") -> list[AuditEvent]:
    return db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.action == action, AuditEvent.object_type == "note", AuditEvent.object_id == str(note.id))).all()


@pytest.mark.parametrize("who, page, pdf", [
    ("tutor", 200, 200),
    ("coordinator", 200, 200),
    ("colleague", 404, 404),          # same organisation, but the young person is not theirs
    ("outsider_tutor", 404, 404),
    ("outsider_coordinator", 404, 404),
    ("operator", 403, 403),
])
def test_reading_scope_on_page_fragment_and_pdf(world, final_note, client_for, who, page, pdf):
    """Each person of the world gets the same answer on the page, its htmx fragment and the PDF."""
    client = client_for(getattr(world, who))
    full = client.get(f"/note/{final_note.id}")
    fragment = client.get(f"/note/{final_note.id}", headers=htmx())
    download = client.get(f"/note/{final_note.id}/nota.pdf")
    assert (full.status_code, fragment.status_code, download.status_code) == (page, page, pdf)
    if page == 200:
        assert SECRET in full.get_data(as_text=True) and 'hx-history="false"' in full.get_data(as_text=True)
        assert SECRET in fragment.get_data(as_text=True) and "<html" not in fragment.get_data(as_text=True)
        assert full.headers["Cache-Control"] == "no-store"
    else:
        assert SECRET not in full.get_data(as_text=True) + fragment.get_data(as_text=True)


@pytest.mark.parametrize("role", ["municipal_contact", "observer", "operator"])
def test_roles_without_notes_are_refused(world, final_note, login_as, client, role):
    """Operators, municipal contacts and observers never read notes (403 on everything)."""
    login_as(role)
    for url in (f"/note/{final_note.id}", f"/note/{final_note.id}/nota.pdf", "/note",
                f"/giovani/{world.person.id}/note.pdf"):
        assert client.get(url).status_code == 403, url
        assert client.get(url, headers=htmx()).status_code == 403, url


def test_colleague_reads_final_notes_on_their_own_young_person(world, final_note, client_for, make_appointment):
    """A tutor of the same organisation who also follows the young person reads final notes (not drafts)."""
    make_appointment(world.desk, world.colleague, world.person, hours_ago=30)
    client = client_for(world.colleague)
    assert client.get(f"/note/{final_note.id}").status_code == 200
    draft_appointment = make_appointment(world.desk, world.tutor, world.person, hours_ago=60)
    from flask import current_app
    with current_app.test_request_context():
        draft = services.save_draft(world.tutor, draft_appointment.id, services.NoteData(summary="bozza"), 0)
    assert client.get(f"/note/{draft.id}").status_code == 404


def test_views_and_downloads_are_audited_and_listed_to_the_author(world, final_note, client_for):
    """Each view and download writes an audit row; the author's notes page lists who read."""
    coordinator = client_for(world.coordinator)
    coordinator.get(f"/note/{final_note.id}")
    coordinator.get(f"/note/{final_note.id}", headers=htmx())
    coordinator.get(f"/note/{final_note.id}/nota.pdf")
    reads, downloads = _reads(final_note), _reads(final_note, "note.download")
    assert len(reads) == 2 and {e.actor_id for e in reads} == {world.coordinator.id}
    assert len(downloads) == 1 and downloads[0].actor_id == world.coordinator.id
    assert SECRET not in (reads[0].details_json + (reads[0].reason or ""))
    page = client_for(world.tutor).get("/note").get_data(as_text=True)
    assert "Chi ha letto le note" in page and world.coordinator.full_name in page
    assert "Scaricamento di una nota" in page


def test_admin_needs_a_written_reason(world, final_note, login_as, client):
    """The Ufficio di Piano sees only a break-glass form; with a reason the note opens and both events are logged."""
    login_as("admin")
    form = client.get(f"/note/{final_note.id}")
    assert form.status_code == 200 and SECRET not in form.get_data(as_text=True)
    assert client.get(f"/note/{final_note.id}/nota.pdf").status_code == 404
    short = client.post(f"/note/{final_note.id}/accesso-straordinario", data={"reason": "boh"})
    assert short.status_code == 422 and SECRET not in short.get_data(as_text=True)
    assert _reads(final_note, "breakglass") == []
    reason = "Richiesta del Tribunale per i minorenni prot. 123/2026"
    opened = client.post(f"/note/{final_note.id}/accesso-straordinario", data={"reason": reason})
    assert opened.status_code == 200 and SECRET in opened.get_data(as_text=True)
    events = _reads(final_note, "breakglass")
    assert len(events) == 1 and events[0].reason == reason
    assert len(_reads(final_note)) == 1
    pdf = client.post(f"/note/{final_note.id}/versione-1.pdf", data={"reason": reason})
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert len(_reads(final_note, "note.download")) == 1 and len(_reads(final_note, "breakglass")) == 2


def test_protected_record_only_tutor_and_coordinator(world, final_note, client_for, login_as, client,
                                                     make_appointment):
    """On a protected record: the tutor of record and their coordinator; no colleague, no break-glass."""
    person = db.session.get(YoungPerson, world.person.id)
    person.protected = True
    person.tutor_id = world.tutor.id
    db.session.commit()
    make_appointment(world.desk, world.colleague, world.person, hours_ago=30)
    assert client_for(world.tutor).get(f"/note/{final_note.id}").status_code == 200
    assert client_for(world.coordinator).get(f"/note/{final_note.id}").status_code == 200
    assert client_for(world.colleague).get(f"/note/{final_note.id}").status_code == 404
    login_as("admin")
    assert client.get(f"/note/{final_note.id}").status_code == 404
    assert client.post(f"/note/{final_note.id}/accesso-straordinario",
                       data={"reason": "Verifica straordinaria richiesta"}).status_code == 404


def test_coordinator_adds_an_addendum_but_cannot_edit(world, final_note, client_for):
    """The coordinator may add a dated addendum; neither they nor the author can touch the editor of a final note."""
    coordinator = client_for(world.coordinator)
    response = coordinator.post(f"/note/{final_note.id}/integrazioni", data={"text": "Visto, ne parliamo in équipe."})
    assert response.status_code == 303
    page = coordinator.get(f"/note/{final_note.id}").get_data(as_text=True)
    assert "Visto, ne parliamo in équipe." in page and "PDF versione 2" in page and "PDF versione 1" in page
    assert coordinator.get(f"/appuntamenti/{world.appointment.id}/nota").status_code == 403
    outsider = client_for(world.outsider_coordinator)
    assert outsider.post(f"/note/{final_note.id}/integrazioni", data={"text": "Intruso"}).status_code == 404


def test_dossier_gathers_the_readers_final_notes(world, final_note, client_for, tmp_path):
    """The dossier PDF has every final note on the young person the reader may see, and is audited."""
    import subprocess

    response = client_for(world.coordinator).get(f"/giovani/{world.person.id}/note.pdf")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    path = tmp_path / "dossier.pdf"
    path.write_bytes(response.data)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True).stdout
    assert "Fascicolo delle note di colloquio" in text and SECRET in text
    assert len(_reads(final_note, "note.download")) == 1
    assert client_for(world.outsider_coordinator).get(f"/giovani/{world.person.id}/note.pdf").status_code == 404
