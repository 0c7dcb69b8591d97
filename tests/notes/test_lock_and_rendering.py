"""A final note is locked in the database; rendering is confined (no file://, no network, no attachments) and limited."""

from __future__ import annotations

import subprocess
import time

import pytest
import sqlalchemy as sa
from flask import render_template_string

from app.extensions import db
from app.models import Note, NoteAddendum, NoteOutcome, NoteStatus, NoteVersion
from app.notes import pdf, services
from app.notes.pdf import RenderFailed

HOSTILE = ('<img src="file:///etc/passwd"> <link rel=attachment href=file:///etc/passwd> '
           '<link rel="stylesheet" href="file:///etc/passwd"> <img src="http://127.0.0.1:9/x.png"> '
           '<object data="file:///etc/hostname"></object>')


@pytest.fixture(autouse=True)
def request_context(app):
    """Services translate messages and build URLs: they need a request."""
    with app.test_request_context():
        yield


def _data(**overrides) -> services.NoteData:
    values = dict(outcomes={2: "raggiunto"}, topics="Scelte", summary="Sintesi del colloquio.",
                  agreements="Ci rivediamo.", referrals=["consultorio"])
    values.update(overrides)
    return services.NoteData(**values)


def _final(world) -> Note:
    return services.finalise(world.tutor, world.appointment.id, _data(), 0)


def _pdf_text(path) -> str:
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout


def _attachments(path) -> str:
    return subprocess.run(["pdfdetach", "-list", str(path)], capture_output=True, text=True, check=True).stdout


def test_final_note_rejects_edits_in_the_database(world):
    """UPDATE of content columns, outcome changes, addenda/version edits: refused by triggers, not by Python."""
    note = _final(world)
    statements = [
        sa.text("UPDATE notes SET summary = 'riscritta' WHERE id = :id"),
        sa.text("UPDATE notes SET status = 'draft', finalised_at = NULL, content_hash = NULL WHERE id = :id"),
        sa.text("UPDATE notes SET needs_attention = NOT needs_attention WHERE id = :id"),
        sa.text("INSERT INTO note_outcomes (note_id, outcome, progress) VALUES (:id, 7, 'avviato')"),
        sa.text("UPDATE note_outcomes SET progress = 'avviato' WHERE note_id = :id"),
        sa.text("DELETE FROM note_outcomes WHERE note_id = :id"),
        sa.text("UPDATE note_versions SET pdf_sha256 = 'x' WHERE note_id = :id"),
        sa.text("DELETE FROM note_versions WHERE note_id = :id"),
    ]
    for statement in statements:
        with pytest.raises(sa.exc.DatabaseError):
            with db.engine.begin() as conn:
                conn.execute(statement, {"id": note.id})
    db.session.expire_all()
    stored = db.session.get(Note, note.id)
    assert stored.summary == "Sintesi del colloquio." and stored.status == NoteStatus.FINAL
    assert [(o.outcome, o.progress) for o in stored.outcomes] == [(2, "raggiunto")]
    # What may change after finalising: the coordinator's "presa visione".
    with db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE notes SET attention_seen_at = created_at WHERE id = :id"), {"id": note.id})


def test_addenda_only_on_final_notes_and_append_only(world):
    """An addendum on a draft is refused by the database; an existing addendum cannot be edited."""
    draft = services.save_draft(world.tutor, world.appointment.id, _data(), 0)
    with pytest.raises(sa.exc.DatabaseError), db.engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO note_addenda (note_id, author_id, created_at, text) "
                             "VALUES (:id, :a, CURRENT_TIMESTAMP, 'x')"), {"id": draft.id, "a": world.tutor.id})
    note = services.finalise(world.tutor, world.appointment.id, _data(), draft.revision)
    services.add_addendum(world.tutor, note, "Correzione: l'open day è il 12.")
    with pytest.raises(sa.exc.DatabaseError), db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE note_addenda SET text = 'altro' WHERE note_id = :id"), {"id": note.id})


def test_addendum_makes_a_new_version_and_keeps_the_old(world, archive_dir, tmp_path):
    """Version 2 includes the addendum under the original; version 1's bytes stay as they were."""
    note = _final(world)
    v1 = db.session.scalar(sa.select(NoteVersion).where(NoteVersion.note_id == note.id))
    v1_bytes = (archive_dir / v1.pdf_path).read_bytes()
    services.add_addendum(world.tutor, note, "Correzione: l'open day è il 12 dicembre.")
    db.session.expire_all()
    versions = db.session.scalars(sa.select(NoteVersion).where(NoteVersion.note_id == note.id)
                                  .order_by(NoteVersion.number)).all()
    assert [v.number for v in versions] == [1, 2] and versions[1].addenda_count == 1
    assert (archive_dir / versions[0].pdf_path).read_bytes() == v1_bytes
    path = archive_dir / versions[1].pdf_path
    text = _pdf_text(path)
    assert "Integrazioni successive" in text and "12 dicembre" in text
    assert text.index("Sintesi del colloquio.") < text.index("12 dicembre")
    assert db.session.get(Note, note.id).summary == "Sintesi del colloquio."
    assert db.session.scalar(sa.select(sa.func.count(NoteAddendum.id))) == 1


def test_hostile_note_text_leaks_nothing(world, archive_dir):
    """HTML in the note is escaped text; nothing of /etc/passwd reaches the PDF, no file is attached."""
    note = services.finalise(world.tutor, world.appointment.id, _data(summary=HOSTILE, topics=HOSTILE), 0)
    version = db.session.scalar(sa.select(NoteVersion).where(NoteVersion.note_id == note.id))
    path = archive_dir / version.pdf_path
    text = _pdf_text(path)
    assert "root:" not in text and "/bin/" not in text
    assert "file:///etc/passwd" in text  # shown as the text the tutor typed
    assert "0 embedded files" in _attachments(path)
    assert b"root:x:0:0" not in path.read_bytes()


def test_fetcher_refuses_everything_but_static_even_in_raw_html(app, tmp_path):
    """Defence in depth: raw (unescaped) tags in the template still cannot read files or attach them."""
    html = render_template_string("<html><head><link rel=attachment href=\"file:///etc/passwd\">"
                                  "<link rel=stylesheet href=\"file:///etc/passwd\"></head><body>"
                                  "<img src=\"file:///etc/passwd\"><img src=\"data:image/png;base64,iVBORw0KGgo=\">"
                                  "<iframe src=\"file:///etc/passwd\"></iframe>"
                                  "<p>Nulla da vedere</p></body></html>")
    data, _variant = pdf.render_pdf(html)
    path = tmp_path / "raw.pdf"
    path.write_bytes(data)
    assert "Nulla da vedere" in _pdf_text(path)
    assert "root:" not in _pdf_text(path) and b"root:x:0:0" not in data
    assert "0 embedded files" in _attachments(path)


def test_huge_note_fails_within_the_limit_and_stays_a_draft(app, world, archive_dir, monkeypatch):
    """A 5 MB note: the child is stopped (time or memory), the note is still a draft with all its text."""
    app.config["NOTES_RENDER_TIMEOUT"] = 6
    app.config["NOTES_RENDER_MEMORY_MB"] = 600
    huge = ("Parola " * 8 + "\n") * (5 * 1024 * 1024 // 57)
    assert len(huge) >= 5_000_000
    timings = []
    real_render = pdf.render_pdf

    def timed_render(html):
        started = time.monotonic()
        try:
            return real_render(html)
        finally:
            timings.append(time.monotonic() - started)

    monkeypatch.setattr(pdf, "render_pdf", timed_render)
    with pytest.raises(RenderFailed) as failure:
        services.finalise(world.tutor, world.appointment.id, _data(summary=huge), 0)
    assert len(timings) == 1 and timings[0] < 6 + 10  # stopped at its limit (a full render takes minutes)
    assert "resta in bozza" in failure.value.message
    db.session.expire_all()
    note = db.session.scalar(sa.select(Note).where(Note.appointment_id == world.appointment.id))
    assert note.status == NoteStatus.DRAFT and note.summary == services.normalise_text(huge)
    assert db.session.scalar(sa.select(sa.func.count(NoteVersion.id))) == 0
    assert not any(p.is_file() for p in archive_dir.rglob("*")) if archive_dir.exists() else True
    assert db.session.scalar(sa.select(sa.func.count()).select_from(NoteOutcome)) == 1


def test_failed_render_through_the_page_keeps_the_text(app, world, client_for):
    """The editor answers a failed render with a clear Italian message and the tutor's text in the form."""
    from tests.notes.conftest import note_form

    app.config["NOTES_RENDER_MEMORY_MB"] = 40  # too little for WeasyPrint to even start
    client = client_for(world.tutor)
    response = client.post(f"/appuntamenti/{world.appointment.id}/nota/finalizza",
                           data=note_form(0, summary="Il mio testo prezioso"))
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Il PDF non è stato generato" in page and "Il mio testo prezioso" in page
    db.session.expire_all()
    note = db.session.scalar(sa.select(Note).where(Note.appointment_id == world.appointment.id))
    assert note.status == NoteStatus.DRAFT and note.summary == "Il mio testo prezioso"
