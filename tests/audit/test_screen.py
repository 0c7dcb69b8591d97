"""The admin audit screen: access, filters, pagination, active search, CSV export."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest

from app import audit
from app.extensions import db
from app.models import AuditEvent
from tests.conftest import htmx

URL = "/admin/registro"
EXPORT = "/admin/registro/esporta.csv"


@pytest.mark.parametrize("role", ["coordinator", "operator", "tutor", "municipal_contact", "observer"])
def test_only_admin_may_open_the_log(client, login_as, role):
    login_as(role)
    for path in (URL, EXPORT, URL + "?pagina=2"):
        assert client.get(path).status_code == 403
        assert client.get(path, headers=htmx()).status_code == 403
    assert 'href="/admin/registro"' not in client.get("/").get_data(as_text=True)


def test_anonymous_is_sent_to_sign_in(client):
    assert client.get(URL).status_code == 302
    assert client.get(EXPORT, headers=htmx()).status_code == 401


def test_admin_sees_page_with_nav_item_and_htmx_gets_fragment(client, login_as):
    admin = login_as("admin")
    page = client.get(URL)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'href="/admin/registro"' in html and "<footer" in html
    assert admin.full_name in html and "Accesso" in html  # the admin's own sign-in is the first entry
    fragment = client.get(URL, headers=htmx())
    body = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and body.lstrip().startswith('<div id="audit-results">')
    assert "<footer" not in body and "HX-Request" in fragment.headers.get("Vary", "")


def _seed(n: int, action: str = "person.read", actor=None, at=None) -> None:
    for i in range(n):
        audit.record(action, actor=actor, object_type="person", object_id=f"P{i}")
    db.session.commit()
    if at is not None:  # move them in time behind the triggers' back: only for filter tests
        from tests.conftest import append_only_suspended

        with db.engine.begin() as conn, append_only_suspended(conn):
            conn.execute(AuditEvent.__table__.update().where(AuditEvent.action == action).values(at=at))


def test_filters_by_action_actor_type_and_period(client, login_as, make_user):
    admin = login_as("admin")
    tutor = make_user("tutor", full_name="Tiziana Tutor")
    _seed(3, "note.read", actor=tutor)
    _seed(2, "booking.changed", actor=admin, at=datetime(2026, 3, 1, 10, tzinfo=UTC))
    html = client.get(URL, query_string={"action": "note.read"}).get_data(as_text=True)
    assert "3 voci" in html and "Tiziana Tutor" in html
    html = client.get(URL, query_string={"actor": tutor.id}).get_data(as_text=True)
    assert "3 voci" in html
    html = client.get(URL, query_string={"date_from": "2026-02-28", "date_to": "2026-03-01"}).get_data(as_text=True)
    assert "2 voci" in html and "Appuntamento modificato" in html
    html = client.get(URL, query_string={"object_type": "person", "q": "tiziana"},
                      headers=htmx()).get_data(as_text=True)
    assert "3 voci" in html
    html = client.get(URL, query_string={"q": "P1"}, headers=htmx()).get_data(as_text=True)
    assert "2 voci" in html  # object id P1 of note.read and of booking.changed


def test_bad_filters_answer_422_with_a_message(client, login_as):
    login_as("admin")
    response = client.get(URL, query_string={"date_from": "2026-13-45"})
    assert response.status_code == 422
    response = client.get(URL, query_string={"date_from": "2026-05-02", "date_to": "2026-05-01"})
    assert response.status_code == 422
    assert "precedente a quella iniziale" in response.get_data(as_text=True)
    for hostile in ({"actor": "-1"}, {"pagina": "abc"}, {"action": "<script>"}, {"endpoint": "x", "_external": "1"}):
        response = client.get(URL, query_string=hostile)
        assert response.status_code == 200
        assert "<script>" not in response.get_data(as_text=True).split("</header>")[1]


def test_pagination_in_pages_of_fifty(client, login_as):
    login_as("admin")
    _seed(120)  # plus the admin's sign-in: 121 entries, 3 pages
    first = client.get(URL).get_data(as_text=True)
    assert "121 voci" in first and "pagina 1 di 3" in first
    assert 'class="pagination"' in first and 'aria-current="page"' in first
    assert f'href="{URL}?pagina=2"' in first
    last = client.get(URL, query_string={"pagina": 3}, headers=htmx()).get_data(as_text=True)
    assert "pagina 3 di 3" in last and "<th scope=\"row\">1</th>" in last  # the oldest entry
    beyond = client.get(URL, query_string={"pagina": 99}).get_data(as_text=True)
    assert "pagina 3 di 3" in beyond
    filtered = client.get(URL, query_string={"action": "person.read", "pagina": 2}).get_data(as_text=True)
    assert "action=person.read" in filtered and "pagina 2 di 3" in filtered


def test_csv_export_has_bom_semicolons_and_is_logged(client, login_as, events):
    admin = login_as("admin")
    audit.record("breakglass", actor=admin, object_type="note", object_id=9, reason="=HYPERLINK(\"x\")")
    db.session.commit()
    response = client.get(EXPORT, query_string={"object_type": "note"})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["Content-Disposition"]
    raw = response.get_data()
    assert raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[0][0] == "id" and len(rows[0]) > 10
    assert len(rows) == 2 and rows[1][5] == "Accesso straordinario (con motivazione)"
    assert rows[1][9].startswith("'=")  # a formula is neutralised for spreadsheets
    export = events("export")
    assert len(export) == 1 and export[0].actor_id == admin.id
    assert export[0].details["rows"] == 1 and export[0].details["filters"]["object_type"] == "note"
    assert audit.verify_chain()[0]
