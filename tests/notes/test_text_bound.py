"""A note's text fields are bounded: a 1 MB value (pasted file, hostile input) is refused, never stored."""

from __future__ import annotations

import sqlalchemy as sa

from app.extensions import db
from app.models import Note
from app.notes.forms import MAX_NOTE_TEXT_CHARS
from tests.conftest import htmx
from tests.notes.conftest import note_form

HUGE = "x" * (1024 * 1024)


def _notes() -> list[Note]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(Note)))


def test_autosave_of_a_huge_field_is_refused_with_a_message(world, client_for):
    client = client_for(world.tutor)
    url = f"/appuntamenti/{world.appointment.id}/nota"
    for field in ("topics", "summary", "agreements"):
        response = client.post(url, data=note_form(0, **{field: HUGE}), headers=htmx())
        assert response.status_code == 422
        assert "troppo lungo" in response.get_data(as_text=True)
        page = client.post(url, data=note_form(0, **{field: HUGE}))
        assert page.status_code == 422 and "troppo lungo" in page.get_data(as_text=True)
    assert _notes() == []


def test_finalise_with_a_huge_field_is_refused_and_the_draft_is_untouched(world, client_for):
    client = client_for(world.tutor)
    url = f"/appuntamenti/{world.appointment.id}/nota"
    assert client.post(url, data=note_form(0)).status_code == 303
    response = client.post(f"{url}/finalizza", data=note_form(1, summary=HUGE))
    assert response.status_code == 422 and "troppo lungo" in response.get_data(as_text=True)
    [note] = _notes()
    assert note.is_final is False and note.revision == 1 and len(note.summary) < 1000


def test_a_long_but_reasonable_note_is_saved(world, client_for):
    client = client_for(world.tutor)
    text = ("Parola " * 7 + "Parola\n") * (MAX_NOTE_TEXT_CHARS // 56)
    response = client.post(f"/appuntamenti/{world.appointment.id}/nota", data=note_form(0, summary=text))
    assert response.status_code == 303
    assert len(_notes()[0].summary) > MAX_NOTE_TEXT_CHARS - 1000
