"""Quarterly report for Città Metropolitana: narrative texts (optimistic lock), the PDF and who may get it.

The PDF's numbers are the observer's (small counts "<5") whoever prints it, and they must be the
numbers of the observer's dashboard for the same quarter. Uses the crafted Q1 2026 dataset of
tests/reports/conftest.py, where most counts are small.
"""

from __future__ import annotations

import re
import subprocess
from html import unescape

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import AuditEvent, QuarterlyReport
from app.reports import quarterly
from app.reports.indicators import report_for
from tests.conftest import login

BASE = "/monitoraggio/relazioni"
EDIT = f"{BASE}/2026/1/testi"
PDF = f"{BASE}/2026/1/relazione.pdf"
DASHBOARD = "/monitoraggio?dal=2026-01-01&al=2026-03-31"
TEXT_FIELDS = quarterly.TEXT_FIELDS


@pytest.fixture(autouse=True)
def render_limits(app):
    """Renders get generous limits on a loaded test machine."""
    app.config["NOTES_RENDER_TIMEOUT"] = 60


@pytest.fixture
def client_for(app):
    """Factory: a new client signed in as an existing user."""

    def make(user):
        client = app.test_client()
        assert login(client, user.email).status_code == 303
        return client

    return make


def form(version: int, status: str = "draft", **texts) -> dict:
    """The edit form with every text (empty unless given)."""
    data = {name: "" for name in TEXT_FIELDS}
    data.update(texts)
    return {**data, "status": status, "version": str(version)}


def audit_rows(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def pdf_text(data: bytes, tmp_path) -> str:
    path = tmp_path / "relazione.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


def pdf_rows(text: str, label: str) -> list[list[str]]:
    """The cells of every line starting with `label` in pdftotext's layout output (chart labels, table rows)."""
    return [line.strip()[len(label):].split() for line in text.splitlines() if line.strip().startswith(label + "  ")]


def dashboard_row(html: str, table_key: str, label: str) -> list[str]:
    """The cells of a row of one dashboard table (tables carry id="tbl-<key>")."""
    table = html.split(f'id="tbl-{table_key}"', 1)[1].split("</table>", 1)[0]
    match = re.search(r'<th scope="row"[^>]*>\s*' + re.escape(label) + r"\s*</th>(.*?)</tr>", unescape(table), re.S)
    assert match, f"no row {label!r} in dashboard table {table_key}"
    return " ".join(re.findall(r"<td[^>]*>(.*?)</td>", match.group(1), re.S)).split()


def test_texts_are_saved_and_a_stale_form_is_refused_with_409(network, make_user, client_for):
    """Two people open the form; the second save, from the old version, gets 409 and keeps its text unsaved."""
    anna, bruno = make_user("admin", full_name="Anna Piano"), make_user("admin", full_name="Bruno Piano")
    a, b = client_for(anna), client_for(bruno)
    page = a.get(EDIT)
    assert page.status_code == 200 and 'name="version" value="0"' in page.get_data(as_text=True)
    assert b.get(EDIT).status_code == 200

    saved = a.post(EDIT, data=form(0, summary="Sintesi scritta da Anna.", outcome_4="Visite agli istituti tecnici."))
    assert saved.status_code == 303
    narrative = db.session.scalar(sa.select(QuarterlyReport))
    assert (narrative.year, narrative.quarter, narrative.version) == (2026, 1, 1)
    assert narrative.summary == "Sintesi scritta da Anna." and narrative.status == "draft"
    assert narrative.updated_by_id == anna.id

    stale = b.post(EDIT, data=form(0, summary="Sintesi di Bruno, che non deve sovrascrivere."))
    body = stale.get_data(as_text=True)
    assert stale.status_code == 409
    assert "Anna Piano ha salvato questa relazione" in body and "non è stato salvato" in body
    assert "Sintesi di Bruno, che non deve sovrascrivere." in body  # the unsaved text is still in the form
    db.session.refresh(narrative)
    assert narrative.summary == "Sintesi scritta da Anna." and narrative.version == 1

    reloaded = b.get(EDIT).get_data(as_text=True)
    assert 'name="version" value="1"' in reloaded and "Sintesi scritta da Anna." in reloaded
    assert b.post(EDIT, data=form(1, "issued", summary="Sintesi rivista da Bruno.")).status_code == 303
    db.session.refresh(narrative)
    assert (narrative.version, narrative.status, narrative.updated_by_id) == (2, "issued", bruno.id)
    assert narrative.issued_at is not None and narrative.outcome_4 == ""  # Bruno's form had no outcome 4 text

    saves = audit_rows("reports.quarterly_saved")
    assert [(e.actor_id, e.object_id) for e in saves] == [(anna.id, "2026-T1"), (bruno.id, "2026-T1")]
    assert "Sintesi" not in str(saves[0].details)  # field names, never the texts


def test_issuing_needs_a_summary_and_texts_have_a_limit(network, make_user, client_for):
    """422 with the message next to the field; nothing saved."""
    admin = client_for(make_user("admin"))
    response = admin.post(EDIT, data=form(0, "issued", outcome_1="Solo un obiettivo."))
    assert response.status_code == 422
    assert "scrivi almeno la sintesi" in response.get_data(as_text=True)
    too_long = admin.post(EDIT, data=form(0, summary="x" * 6001))
    assert too_long.status_code == 422 and "Testo troppo lungo" in too_long.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(QuarterlyReport)) == 0


def test_observer_pdf_has_the_texts_and_the_numbers_of_their_dashboard(world, in_request, make_user, client_for,
                                                                         tmp_path):
    """Issued report: the observer downloads it; narrative, letterhead, pages and every number as on their dashboard."""
    admin, observer = make_user("admin"), make_user("observer")
    quarterly.save_narrative(admin, 2026, 1, {
        "summary": "Nel trimestre la rete ha consolidato gli sportelli di Segrate e Rodano.",
        "outcome_4": "Visite guidate a due istituti tecnici <con le famiglie>.",
        "difficulties": "Orari poco compatibili con la scuola.", "next_steps": "Aperture pomeridiane da aprile."},
        expected_version=0, issue=True)
    client = client_for(observer)
    assert "I trimestre 2026" in client.get(BASE).get_data(as_text=True)

    response = client.get(PDF)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Cache-Control"] == "no-store"
    assert 'filename="relazione-trimestrale-2026-T1.pdf"' in response.headers["Content-Disposition"]
    text = pdf_text(response.data, tmp_path)
    assert "Ufficio di Piano — Distretto Sociale Est Milano" in text and "Città Metropolitana di Milano" in text
    assert "Relazione trimestrale di monitoraggio" in text and "I trimestre 2026 (gennaio–marzo)" in text
    assert "Nel trimestre la rete ha consolidato gli sportelli di Segrate e Rodano." in text
    assert "Visite guidate a due istituti tecnici <con le famiglie>." in text
    assert "Orari poco compatibili con la scuola." in text and "Aperture pomeridiane da aprile." in text
    assert "Pagina 1 di" in text and "Generato il" in text and "Bozza." not in text

    report = report_for(observer, quarterly.quarter_filters(2026, 1))
    dashboard = client.get(DASHBOARD).get_data(as_text=True)
    assert report.suppressed and "&lt;5" in dashboard
    for key, labels in (("by_town", ("Rodano", "Segrate")), ("by_month", ("gen 2026", "feb 2026", "mar 2026")),
                        ("by_desk", ("Sportello Rodano", "Sportello Segrate"))):
        rows = {row.label: row for row in report.table(key).all_rows}
        for label in labels:
            expected = " ".join(cell.shown for cell in rows[label].cells).split()
            assert expected in pdf_rows(text, label), (key, label, pdf_rows(text, label))
            assert dashboard_row(dashboard, key, label) == expected, (key, label)
    assert ["<5"] in pdf_rows(text, "Rodano")  # the chart too: a small count stays hidden in what leaves the office
    total = " ".join(c.shown for c in report.table("by_town").total.cells).split()
    assert total in pdf_rows(text, "Totale")
    for key in ("reached", "sessions", "occupancy"):
        assert report.headline[key].shown in text and report.headline[key].shown in dashboard

    (download,) = audit_rows("reports.quarterly_download")
    assert (download.actor_id, download.object_type, download.object_id) == (observer.id, "quarterly_report",
                                                                            "2026-T1")


def test_draft_is_for_the_office_only_and_its_pdf_uses_the_observer_numbers(world, in_request, make_user, client_for,
                                                                             tmp_path):
    """A draft: the observer neither sees nor downloads it (404); the office's PDF says "Bozza" and hides small counts."""
    admin, observer = make_user("admin"), make_user("observer")
    quarterly.save_narrative(admin, 2026, 1, {"summary": "Prima stesura."}, expected_version=0, issue=False)
    obs = client_for(observer)
    assert "I trimestre 2026" not in obs.get(BASE).get_data(as_text=True)
    assert obs.get(PDF).status_code == 404

    office = client_for(admin)
    listing = office.get(BASE).get_data(as_text=True)
    assert "I trimestre 2026" in listing and "Bozza" in listing
    text = pdf_text(office.get(PDF).data, tmp_path)
    assert "Bozza." in text and "Prima stesura." in text
    expected = report_for(observer, quarterly.quarter_filters(2026, 1)).table("by_town")
    rodano = next(row for row in expected.rows if row.label == "Rodano")
    assert " ".join(c.shown for c in rodano.cells).split() in pdf_rows(text, "Rodano")
    unsuppressed = report_for(admin, quarterly.quarter_filters(2026, 1)).table("by_town")
    assert any(not c.suppressed for r in unsuppressed.rows for c in r.cells if r.label == "Rodano")
    assert [e.actor_id for e in audit_rows("reports.quarterly_download")] == [admin.id]


@pytest.mark.parametrize("role", ["coordinator", "operator", "tutor", "municipal_contact"])
def test_other_roles_get_403(role, network, make_user, client_for):
    """Only the Ufficio di Piano and the observer have quarterly reports; only the office edits them."""
    client = client_for(make_user(role))
    assert client.get(BASE).status_code == 403
    assert client.get(EDIT).status_code == 403
    assert client.post(EDIT, data=form(0, summary="x")).status_code == 403
    assert client.get(PDF).status_code == 403
    assert not audit_rows("reports.quarterly_download")


def test_observer_may_not_edit_and_odd_quarters_are_404(network, make_user, client_for):
    """The observer reads only; a future quarter, a fifth quarter or a year before the programme do not exist."""
    observer = client_for(make_user("observer"))
    assert observer.get(EDIT).status_code == 403
    assert observer.post(EDIT, data=form(0, summary="x")).status_code == 403
    admin = client_for(make_user("admin"))
    assert admin.get(f"{BASE}/2099/1/testi").status_code == 404
    assert admin.get(f"{BASE}/2026/5/testi").status_code == 404
    assert admin.get(f"{BASE}/2019/4/relazione.pdf").status_code == 404
    assert db.session.scalar(sa.select(sa.func.count()).select_from(QuarterlyReport)) == 0


def test_a_failed_render_says_so_and_changes_nothing(app, network, make_user, client_for):
    """The renderer stopped by its time limit: back to the list with a clear message, no download audited."""
    app.config["NOTES_RENDER_TIMEOUT"] = 0.01
    admin = client_for(make_user("admin"))
    response = admin.get(PDF)
    assert response.status_code == 303 and response.headers["Location"].endswith(BASE)
    assert "Il PDF della relazione non è stato generato" in admin.get(BASE).get_data(as_text=True)
    assert not audit_rows("reports.quarterly_download")


@pytest.mark.parametrize("version", ["", "abc", "-1", "9" * 40])
def test_a_form_without_a_usable_version_is_422_and_saves_nothing(network, make_user, client_for, version):
    """A broken form is not a stale one: 422 with the reason, the typed text kept, no row written."""
    client = client_for(make_user("admin"))
    answer = client.post(EDIT, data=form(version, summary="Testo senza versione."))
    body = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert "Il modulo non indica la versione dei dati" in body and "Testo senza versione." in body
    assert db.session.scalar(sa.select(sa.func.count(QuarterlyReport.id))) == 0
