"""Browser acceptance for monitoring: the Rodano contact sees Rodano only, with "<5" where due; the observer's
CSV has no personal data and no count under 5. Screenshots of the dashboards go to $HUB_SCREENSHOT_DIR."""

from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from playwright.sync_api import expect

from app.formatting import ROME
from tests.browser.support import SCREENSHOT_DIR, csp_violations

TOWNS = ("Pioltello", "Vimodrone", "Segrate", "Rodano", "Gessate", "Cassina de' Pecchi", "Bussero")
# March 2025 is before the demo history: the only sessions in it are the two this test adds.
SMALL_MONTH = (date(2025, 3, 1), date(2025, 3, 31))


def _two_rodano_sessions(database_url: str) -> None:
    """Two attended sessions at a Rodano desk in an otherwise empty month: counts of 2, shown "<5"."""
    engine = sa.create_engine(database_url)
    try:
        with engine.begin() as conn:
            desk_id, tutor_id = conn.execute(sa.text(
                "SELECT d.id, u.id FROM desks d JOIN organisations o ON o.id = d.municipality_id "
                "JOIN desk_tutors dt ON dt.desk_id = d.id JOIN users u ON u.id = dt.user_id "
                "WHERE o.short_name = 'Rodano' ORDER BY d.id, u.id LIMIT 1")).one()
            people = conn.execute(sa.text(
                "SELECT id FROM young_people WHERE NOT protected ORDER BY id LIMIT 2")).scalars().all()
            for n, person_id in enumerate(people):
                start = datetime.combine(date(2025, 3, 11 + 7 * n), time(10), ROME).astimezone(UTC)
                if engine.dialect.name == "sqlite":
                    start = start.replace(tzinfo=None)
                conn.execute(sa.text(
                    "INSERT INTO appointments (desk_id, tutor_id, young_person_id, service, mode, starts_at, ends_at, "
                    "status, cancel_reason, uid, sequence, created_at, updated_at, version) VALUES (:desk, :tutor, "
                    ":person, 'orientamento', 'presenza', :start, :end, 'attended', '', :uid, 0, :start, :start, 1)"),
                    {"desk": desk_id, "tutor": tutor_id, "person": person_id, "start": start,
                     "end": start + timedelta(minutes=45), "uid": f"{uuid.uuid4()}@test"})
    finally:
        engine.dispose()


def _personal_data(database_url: str) -> list[str]:
    """Every demo young person's full name, e-mail, phone and code."""
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT first_name, last_name, email, phone, code FROM young_people")).all()
    finally:
        engine.dispose()
    values = []
    for first, last, email, phone, code in rows:
        values += [f"{first} {last}", email, phone, code]
    return [v for v in values if v and len(v) >= 5]


def test_rodano_contact_sees_rodano_only_with_small_counts_hidden(signed_in, database_url):
    """Filters and tables name Rodano and its desks only; the month with two sessions shows "<5", never "2"."""
    _two_rodano_sessions(database_url)
    page = signed_in("municipal_contact")
    page.goto(f"/monitoraggio?dal={SMALL_MONTH[0].isoformat()}&al={SMALL_MONTH[1].isoformat()}")
    expect(page.get_by_role("heading", name="Monitoraggio", exact=True)).to_be_visible()
    expect(page.locator("main")).to_contain_text("Comune di Rodano")
    results = page.locator("#report-results")
    filters = page.locator("form[role=search]")
    shown = filters.inner_text() + "\n" + results.inner_text()
    assert "Rodano" in shown
    for town in TOWNS:
        if town != "Rodano":
            assert town not in shown, f"{town} visible to the Rodano contact"
    assert page.locator("#rp-town").count() == 0  # nothing to choose: their town only
    desks = [o.strip() for o in page.locator("#rp-desk option").all_inner_texts()] if page.locator("#rp-desk").count() else []
    assert all("Rodano" in d or d == "Tutti" for d in desks), desks

    # One town: no table by town (it would repeat the total), the table by desk instead.
    assert page.locator("#tbl-by_town").count() == 0
    by_desk = page.locator("#tbl-by_desk tbody tr")
    expect(by_desk).to_have_count(2)  # Rodano's desk and the protected records' row
    expect(by_desk.first).to_contain_text("Rodano")
    rodano_cells = by_desk.first.locator("td").all_inner_texts()
    assert rodano_cells[:2] == ["<5", "<5"], rodano_cells  # 2 young people, 2 sessions
    headline = page.locator(".report-cards").inner_text()
    assert "<5" in headline and not re.search(r"(?<![\d,.])2(?![\d,.])", headline.split("Sessioni")[0])
    # The charts: server-drawn SVG images with a name and a summary, "<5" hatched, the data table beside them.
    expect(page.locator("svg.hub-chart[role=img] title").first).to_have_text("Sessioni svolte per mese")
    expect(page.locator("svg.hub-chart rect.suppressed").first).to_be_attached()
    assert csp_violations(page) == []
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT_DIR / "reports-municipal_contact.png"), full_page=True)


def test_observer_csv_has_no_personal_data_and_no_small_count(signed_in, database_url, tmp_path):
    """The observer's export: aggregates only; every count is 0, 5 or more, or "<5"/"n.d."."""
    page = signed_in("observer")
    page.goto("/monitoraggio")
    expect(page.locator("#report-results svg.hub-chart").first).to_be_visible()
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT_DIR / "reports-observer.png"), full_page=True)
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Scarica CSV").click()
    path = tmp_path / "monitoraggio.csv"
    download_info.value.save_as(path)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel needs the BOM to read UTF-8
    text = raw.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert any(row[:1] == ["Giovani raggiunti"] for row in rows)

    for value in _personal_data(database_url):
        assert value.lower() not in text.lower(), "personal data in the observer's CSV"
    counts = [cell for row in rows for cell in row[1:] if re.fullmatch(r"\d+", cell)]
    assert counts, "no counts in the CSV"
    small = [int(cell) for cell in counts if 0 < int(cell) < 5]
    assert small == [], f"counts under 5 in the observer's CSV: {small}"
    assert "<5" in text
    assert csp_violations(page) == []
