"""Request size limits: no route takes files; bodies, form fields and form parts are bounded (413 in Italian)."""

from __future__ import annotations

import io
import re
from pathlib import Path

import sqlalchemy as sa

from app.extensions import db
from app.models import Ticket
from tests.conftest import htmx

APP_DIR = Path(__file__).resolve().parents[2] / "app"
MB = 1024 * 1024


def _public_request(network, **overrides) -> dict:
    data = {"first_name": "Anna", "age": "16", "town": str(network["Segrate"].id), "phone": "333 111 2222",
            "topic": "orientamento", "message": "Vorrei scegliere l'università.", "privacy_consent": "y"}
    data.update(overrides)
    return data


def test_no_route_accepts_file_uploads():
    """If one ever does, it needs its own size and type checks (and this test an update)."""
    pattern = re.compile(r"request\.files|FileField|FileStorage|enctype=\"multipart/form-data\"")
    offenders = [str(p.relative_to(APP_DIR)) for p in APP_DIR.rglob("*") if p.suffix in {".py", ".html"}
                 and pattern.search(p.read_text(encoding="utf-8"))]
    assert offenders == []


def test_limits_are_configured(app):
    assert app.config["MAX_CONTENT_LENGTH"] == 2 * MB
    assert app.config["MAX_FORM_MEMORY_SIZE"] == 2 * MB
    assert app.config["MAX_FORM_PARTS"] == 500


def test_a_body_over_two_megabytes_is_refused_in_italian_page_and_fragment(client, login_as, network):
    big = {"message": "x" * (2 * MB + 1)}
    page = client.post("/richiesta", data=_public_request(network, **big))
    assert page.status_code == 413 and "Contenuto troppo grande" in page.get_data(as_text=True)
    assert "<footer" in page.get_data(as_text=True)
    fragment = client.post("/richiesta", data=_public_request(network, **big), headers=htmx())
    body = fragment.get_data(as_text=True)
    assert fragment.status_code == 413 and "Contenuto troppo grande" in body and "<footer" not in body
    login_as("operator")
    signed_in = client.post("/giovani/nuova", data={"first_name": "x" * (3 * MB)})
    assert signed_in.status_code == 413
    assert db.session.scalar(sa.select(sa.func.count(Ticket.id))) == 0


def test_a_body_that_does_not_say_its_length_is_still_bounded(client, network):
    """Chunked bodies (no Content-Length) are cut at the same limit while being read."""
    payload = ("message=" + "x" * (3 * MB)).encode()
    response = client.post("/richiesta", input_stream=io.BytesIO(payload),
                           content_type="application/x-www-form-urlencoded",
                           environ_overrides={"wsgi.input_terminated": True})
    assert response.status_code == 413


def test_a_multipart_file_is_ignored_and_a_huge_one_refused(client, network):
    small = _public_request(network, attachment=(io.BytesIO(b"%PDF-1.4 not wanted"), "cv.pdf"))
    response = client.post("/richiesta", data=small, content_type="multipart/form-data")
    assert response.status_code == 303
    ticket = db.session.scalar(sa.select(Ticket))
    assert "PDF" not in (ticket.message or "")
    huge = _public_request(network, attachment=(io.BytesIO(b"x" * (3 * MB)), "video.mp4"))
    assert client.post("/richiesta", data=huge, content_type="multipart/form-data").status_code == 413


def test_too_many_form_parts_are_refused(client, network):
    data = _public_request(network)
    data.update({f"field{n}": "x" for n in range(600)})
    response = client.post("/richiesta", data=data, content_type="multipart/form-data")
    assert response.status_code == 413
    assert "Contenuto troppo grande" in response.get_data(as_text=True)


def test_one_multipart_field_over_the_memory_limit_is_refused(client, network):
    response = client.post("/richiesta", data=_public_request(network, message="x" * (2 * MB + 10)),
                           content_type="multipart/form-data")
    assert response.status_code == 413
