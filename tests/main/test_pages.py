"""Public pages, health check and error pages."""

import sqlalchemy as sa

from app.extensions import db
from tests.conftest import htmx


def test_healthz_answers_ok_with_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok"}


def test_healthz_answers_503_when_database_fails(client, monkeypatch):
    def broken(*args, **kwargs):
        raise sa.exc.OperationalError("SELECT 1", {}, Exception("down"))

    monkeypatch.setattr(db.session, "execute", broken)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json["status"] == "error"


def test_accessibility_statement_is_public_and_linked(client):
    response = client.get("/login")
    assert 'href="/accessibilita"' in response.get_data(as_text=True)
    page = client.get("/accessibilita").get_data(as_text=True)
    assert "Dichiarazione di accessibilità" in page
    assert "WCAG 2.1" in page and "Difensore civico" in page


def test_404_page_in_house_style_and_fragment_for_htmx(client):
    full = client.get("/non-esiste")
    assert full.status_code == 404
    assert "Pagina non trovata" in full.get_data(as_text=True)
    assert "<footer" in full.get_data(as_text=True)
    fragment = client.get("/non-esiste", headers=htmx())
    assert fragment.status_code == 404
    body = fragment.get_data(as_text=True)
    assert "Pagina non trovata" in body and "<footer" not in body
    assert "HX-Request" in fragment.headers.get("Vary", "")
    assert "HX-Request" in full.headers.get("Vary", "")


def test_405_keeps_allow_header(client):
    response = client.post("/healthz")
    assert response.status_code == 405
    assert "GET" in response.headers["Allow"]
    assert "Operazione non consentita" in response.get_data(as_text=True)


def test_security_headers_on_every_response(client):
    for path in ("/login", "/healthz", "/non-esiste", "/static/css/app.css"):
        headers = client.get(path).headers
        assert "script-src 'self'" in headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"


def test_english_translation_switch(client):
    response = client.post("/lingua", data={"lang": "en", "next": "/login"})
    assert response.status_code == 303
    page = client.get("/login").get_data(as_text=True)
    assert 'lang="en"' in page
