"""The monitoring page: page or htmx fragment, refusals, the CSV for Italian Excel (audited), no N+1."""

from __future__ import annotations

import csv
import io
import json
import re

import sqlalchemy as sa

from app.extensions import db
from app.models import AuditEvent
from app.reports import indicators
from tests.conftest import htmx
from tests.reports.conftest import Q1, add_segrate_regulars, build_world, staff

PERIOD = "dal=2026-01-01&al=2026-03-31"


def test_page_and_fragment(world, login_as, client):
    login_as("admin")
    page = client.get(f"/monitoraggio?{PERIOD}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "<html" in html
    assert 'id="report-results"' in html and 'name="sportello"' in html
    assert re.search(r'<caption><span class="h5 text-dark">Per sportello</span>', html)
    assert '<th scope="row" class="fw-normal">Sportello Segrate</th>' in html
    assert "Anna" not in html and "HDT-" not in html           # aggregates only
    fragment = client.get(f"/monitoraggio?{PERIOD}&sportello={world.rodano.id}", headers=htmx())
    body = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and "<html" not in body
    assert body.lstrip().startswith('<div id="report-results"')
    assert "Sportello: </strong> Sportello Rodano" in body.replace("Sportello:</strong>", "Sportello: </strong>")
    assert "HX-Request" in fragment.headers.get("Vary", "")
    assert client.get(f"/monitoraggio?{PERIOD}&sportello=99999").status_code == 404
    assert client.get("/monitoraggio?dal=2026-03-31&al=2026-01-01").status_code == 422


def test_town_contact_cannot_pick_another_town(world, login_as, client):
    login_as("municipal_contact")                   # Rodano
    html = client.get(f"/monitoraggio?{PERIOD}").get_data(as_text=True)
    assert "Comune di Rodano" in html and "Sportello Segrate" not in html and "&lt;5" in html
    assert client.get(f"/monitoraggio?{PERIOD}&sportello={world.segrate.id}").status_code == 404
    assert client.get(f"/monitoraggio/export.csv?{PERIOD}&comune={world.network['Segrate'].id}").status_code == 404


def parse_csv(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")          # UTF-8 BOM: Excel reads the accents right
    text = data[3:].decode("utf-8")
    assert "\r\n" in text
    return list(csv.reader(io.StringIO(text), delimiter=";"))


def test_observer_csv_for_italian_excel_without_personal_data_or_small_counts(world, login_as, client):
    add_segrate_regulars(world, 6)
    observer = login_as("observer")
    response = client.get(f"/monitoraggio/export.csv?{PERIOD}")
    assert response.status_code == 200
    assert response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
    rows = parse_csv(response.data)
    header = {row[0]: row[1:] for row in rows[:6] if row}
    assert header["Ambito"] == ["Tutta la rete"]
    assert header["Periodo"] == ["01/01/2026", "31/03/2026"]
    assert re.fullmatch(r"\d{2}/\d{2}/\d{4} \d{2}:\d{2}", header["Generato il"][0])
    values = {row[0]: row[1] for row in rows if len(row) == 2}
    assert values["Giovani raggiunti"] == "11"
    assert values["Ore di apertura"] == "96,0"          # decimal comma
    assert values["Occupazione (%)"] == "13,0"           # (8 h + 6 × 45 min) / 96 h = 12,5 / 96
    text = response.data.decode("utf-8-sig")
    for secret in ("Anna", "Bruno", "Regolare", "Prova", "HDT-", "3330000000", "@"):
        assert secret not in text
    for row in rows:
        for value in row[1:]:
            if re.fullmatch(r"\d+", value):
                assert int(value) == 0 or int(value) >= 5, row
    assert any("<5" in row for row in rows)
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "reports.export"))
    assert event is not None and event.actor_id == observer.id
    assert json.loads(event.details_json) == {"format": "csv", "dal": "2026-01-01", "al": "2026-03-31"}


def test_statement_count_does_not_grow_with_the_data(app, network, in_request):
    """No N+1: the same number of SQL statements for the crafted world and for three times as much."""
    build_world(network)
    admin = staff(network, "admin", "Ufficio di Piano", "A")
    observer = staff(network, "observer", "Città Metropolitana", "O")
    statements: list[str] = []

    def count(*_args):
        statements.append("x")

    def measure() -> list[int]:
        out = []
        for viewer, filters in ((admin, Q1), (observer, Q1)):
            statements.clear()
            db.session.commit()
            sa.event.listen(db.engine, "before_cursor_execute", count)
            try:
                indicators.report_for(viewer, filters)
            finally:
                sa.event.remove(db.engine, "before_cursor_execute", count)
            out.append(len(statements))
        return out

    small = measure()
    build_world(network, " bis")
    build_world(network, " ter")
    assert measure() == small
