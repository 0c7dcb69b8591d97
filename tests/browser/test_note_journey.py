"""Browser acceptance: the tutor's journey from today's agenda to the archived PDF of a session note."""

from __future__ import annotations

import subprocess
from datetime import datetime, time

import sqlalchemy as sa
from playwright.sync_api import expect

from app.formatting import ROME
from tests.browser.support import csp_violations


def _todays_session(database_url: str) -> int:
    """The demo tutor's first session of today (or the next one) without a note, marked attended by the desk."""
    engine = sa.create_engine(database_url)
    midnight = datetime.combine(datetime.now(ROME).date(), time.min, ROME)
    try:
        with engine.begin() as conn:
            appointment_id = conn.execute(sa.text(
                "SELECT a.id FROM appointments a JOIN users u ON u.id = a.tutor_id "
                "WHERE u.email = 'tutor@hub.test' AND a.status IN ('booked', 'confirmed') AND a.starts_at >= :midnight "
                "AND NOT EXISTS (SELECT 1 FROM notes n WHERE n.appointment_id = a.id) ORDER BY a.starts_at LIMIT 1"),
                {"midnight": midnight if engine.dialect.name == "postgresql" else
                 midnight.astimezone(ROME).astimezone(__import__("datetime").UTC).replace(tzinfo=None)}).scalar_one()
            # What the desk operator does after the session: record attendance (not the tutor's job).
            conn.execute(sa.text("UPDATE appointments SET status = 'attended', version = version + 1 WHERE id = :id"),
                         {"id": appointment_id})
    finally:
        engine.dispose()
    return appointment_id


def test_tutor_writes_autosaves_finalises_and_downloads(signed_in, database_url, tmp_path):
    """Agenda → write → autosave survives a reload → finalise → download the PDF (letterhead, outcomes, pages)."""
    appointment_id = _todays_session(database_url)
    page = signed_in("tutor")
    page.goto("/agenda")
    page.locator(f'a[href="/appuntamenti/{appointment_id}/nota"]').first.click()
    expect(page.get_by_role("heading", name="Nota del colloquio")).to_be_visible()

    page.locator('label[for="outcome_1"]').click()  # Bootstrap Italia draws the box on the label
    page.get_by_label("Avanzamento obiettivo 1").select_option("in_corso")
    page.get_by_label("Temi trattati").fill("Scelta della scuola superiore")
    page.get_by_label("Sintesi del colloquio").fill("Ha raccontato le sue passioni.\n\nTeme di sbagliare scelta.")
    status = page.locator("#autosave-status")
    expect(status).to_contain_text("Bozza salvata alle", timeout=15_000)

    # The server stops answering: the status line says the text is not saved, and saving resumes after.
    save_url = f"**/appuntamenti/{appointment_id}/nota"
    page.route(save_url, lambda route: route.abort())
    page.get_by_label("Temi trattati").fill("Scelta della scuola superiore e dell'indirizzo")
    expect(status).to_contain_text("Non salvato", timeout=15_000)
    page.unroute(save_url)
    page.get_by_label("Temi trattati").fill("Scelta della scuola superiore")
    expect(status).to_contain_text("Bozza salvata alle", timeout=15_000)

    page.reload()
    expect(page.get_by_label("Sintesi del colloquio")).to_have_value(
        "Ha raccontato le sue passioni.\n\nTeme di sbagliare scelta.")
    expect(page.get_by_label("1. Consapevolezza dei propri talenti")).to_be_checked()

    page.get_by_label("Accordi e prossimi passi").fill("Open day dell'ITIS sabato.")
    page.get_by_role("button", name="Finalizza e genera il PDF").click()
    expect(page.get_by_role("heading", name="Nota del colloquio n.")).to_be_visible(timeout=60_000)
    expect(page.locator("h1 .badge")).to_contain_text("Finalizzata")
    assert "Open day dell'ITIS sabato." in page.content()

    with page.expect_download() as download_info:
        page.get_by_role("link", name="PDF versione 1").click()
    path = tmp_path / "nota.pdf"
    download_info.value.save_as(path)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert "Ufficio di Piano — Distretto Sociale Est Milano" in text and "Pioltello" in text
    assert "Consapevolezza dei propri talenti" in text and "In corso" in text
    assert "Pagina 1 di" in text and "Teme di sbagliare scelta." in text
    assert csp_violations(page) == []
