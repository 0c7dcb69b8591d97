"""Acceptance, in a real browser: the operator's phone-call journey and its e-mail at a real SMTP server.

An operator of the Segrate desk takes a call, searches for the young person, registers them
when not found, picks the service and desk, then a free slot, and books. The confirmation
leaves through the outbox and reaches an SMTP server listening on loopback (aiosmtpd) with
an iCalendar file (METHOD:REQUEST). Moving the appointment and then cancelling it produce
messages for the same calendar event: same UID, SEQUENCE 0 → 1 → 2, the last METHOD:CANCEL.
"""

from __future__ import annotations

import re
import socket
import threading
from email import message_from_bytes, policy

import pytest
from icalendar import Calendar

from app import create_app
from app.config import TestingConfig
from app.extensions import db
from tests.browser.support import DEMO_EMAILS, csp_violations, login, new_context_for, wait_for_htmx, watched_page

pytestmark = pytest.mark.browser

FIRST, LAST = "Zelinda", "Quaranta"  # no demo person has these names
EMAIL = "zelinda.quaranta@example.test"
DESK = "Sportello Orientamento Segrate"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Inbox:
    """aiosmtpd handler that keeps every message it receives."""

    def __init__(self):
        self.messages: list = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        with self.lock:
            self.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"

    def to(self, address: str) -> list:
        with self.lock:
            return [m for rcpts, m in self.messages if address in rcpts]


@pytest.fixture(scope="module")
def smtp_inbox():
    """A real SMTP server on a free loopback port; yields (inbox, port)."""
    from aiosmtpd.controller import Controller

    inbox = _Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


@pytest.fixture(scope="module")
def deliver(smtp_inbox, database_url, live_server):
    """Drain the live app's outbox (same database) towards the loopback SMTP server."""
    _inbox, port = smtp_inbox
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=database_url, MAIL_SERVER="127.0.0.1", MAIL_PORT=port,
                     MAIL_TIMEOUT=5)

    def run() -> int:
        from app import mail

        with app.app_context():
            try:
                return mail.deliver_pending(500)
            finally:
                db.session.remove()

    yield run
    with app.app_context():
        db.engine.dispose()


def _invitation(message) -> tuple[str, str, int, object]:
    """(METHOD, UID, SEQUENCE, event) of the message's calendar attachment."""
    parts = [p for p in message.iter_attachments() if p.get_content_type() == "text/calendar"]
    assert len(parts) == 1, [p.get_content_type() for p in message.iter_attachments()]
    assert parts[0].get_filename().endswith(".ics")
    calendar = Calendar.from_ical(parts[0].get_content())
    [event] = list(calendar.walk("VEVENT"))
    assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == ["Europe/Rome"]
    return str(calendar["METHOD"]), str(event["UID"]), int(event["SEQUENCE"]), event


def _choose(page, selector: str, label_text: str) -> None:
    """Select the option whose label starts with `label_text`."""
    value = page.eval_on_selector(selector, """(el, text) => {
        const o = [...el.options].find(o => o.textContent.trim().startsWith(text)); return o ? o.value : null; }""",
                                  label_text)
    assert value, f"no option {label_text!r} in {selector}"
    page.select_option(selector, value)


def test_phone_call_to_booking_to_email_then_move_and_cancel(browser, browser_context_args, smtp_inbox, deliver):
    inbox, _port = smtp_inbox
    context = new_context_for(browser, browser_context_args)
    page = watched_page(context)
    login(page, DEMO_EMAILS["operator"])

    # The phone rings: "Nuovo appuntamento", look the caller up — not registered yet.
    page.goto("/appuntamenti/nuovo")
    page.fill("#booking-q", FIRST)
    page.press("#booking-q", "Enter")
    wait_for_htmx(page)
    assert "Nessuna persona trovata" in page.locator("#person-choices").inner_text()

    # Register them (inline link to the register, back to the booking with the person chosen).
    with page.expect_navigation():
        page.get_by_role("link", name="Registra una nuova persona").click()
    page.fill("#first_name", FIRST)
    page.fill("#last_name", LAST)
    page.fill("#birth_date", "2004-03-15")
    page.select_option("#gender", "F")
    _choose(page, "#residence_town_id", "Segrate")
    page.select_option("#study_work_status", "studente")
    page.fill("#email", EMAIL)
    page.fill("#phone", "3471234567")
    _choose(page, "#registered_desk_id", DESK)  # registered at this desk: in the operator's scope
    page.locator("label[for=privacy_consent]").click()
    with page.expect_navigation():
        page.get_by_role("button", name=re.compile("^Registra")).click()
    if "Registra comunque" in page.content():  # possible duplicates were shown: it is a new person
        with page.expect_navigation():
            page.get_by_role("button", name="Registra comunque").click()
    assert "/appuntamenti/nuovo" in page.url and "person=" in page.url
    assert f"{FIRST} {LAST}" in page.locator("#booking").inner_text()

    # Service and desk (their town first), then the slots.
    page.select_option("#booking-service", "orientamento")
    _choose(page, "#booking-desk", DESK)
    page.get_by_role("button", name="Mostra gli orari liberi").click()
    wait_for_htmx(page)
    slots = page.locator("button[name=slot]")
    assert slots.count() >= 2, "the Segrate desk should offer free slots in the coming days"
    chosen = slots.first.inner_text().strip()
    with page.expect_navigation():
        slots.first.click()  # the booking: one click on the slot
    assert re.search(r"/appuntamenti/\d+$", page.url), page.url
    assert "Appuntamento prenotato" in page.content()
    first_url = page.url

    # The confirmation leaves through the outbox and arrives at the SMTP server.
    assert deliver() >= 1
    [booked] = inbox.to(EMAIL)
    assert booked["To"] == EMAIL and "Appuntamento fissato" in booked["Subject"]
    method, uid, sequence, event = _invitation(booked)
    assert (method, sequence) == ("REQUEST", 0)
    assert chosen.split(" ")[0] in booked.get_body(("plain",)).get_content()  # the time, e.g. 09:00
    assert "/a/" in booked.get_body(("plain",)).get_content()
    assert "Orientamento" not in booked.as_string()  # no service in the message

    # Move it: the next free slot; same calendar event, SEQUENCE 1.
    page.get_by_role("link", name="Sposta").click()
    page.wait_for_url(re.compile(r"/sposta"))
    new_slots = page.locator("button[name=slot]")
    assert new_slots.count() >= 1
    with page.expect_navigation():
        new_slots.nth(1 if new_slots.count() > 1 else 0).click()
    assert "Appuntamento spostato" in page.content() and page.url != first_url
    deliver()
    moved = inbox.to(EMAIL)[-1]
    assert "spostato" in moved["Subject"]
    method, moved_uid, sequence, moved_event = _invitation(moved)
    assert (method, moved_uid, sequence) == ("REQUEST", uid, 1)
    assert moved_event.decoded("DTSTART") != event.decoded("DTSTART")

    # Cancel it: METHOD:CANCEL, same UID, SEQUENCE 2.
    page.select_option("#by_kind", "young_person")
    page.fill("#reason", "Ha trovato lavoro")
    page.get_by_role("button", name="Annulla appuntamento").click()
    page.wait_for_selector("text=Annullato")
    deliver()
    cancelled = inbox.to(EMAIL)[-1]
    method, cancelled_uid, sequence, cancelled_event = _invitation(cancelled)
    assert (method, cancelled_uid, sequence) == ("CANCEL", uid, 2)
    assert str(cancelled_event["STATUS"]) == "CANCELLED"
    assert [m["Subject"].split("— ")[-1] for m in inbox.to(EMAIL)] == [
        "Appuntamento fissato", "Appuntamento spostato", "Appuntamento annullato"]
    assert csp_violations(page) == []
    context.close()


def test_operator_agenda_and_municipal_occupancy_show_the_demo_history(signed_in):
    operator = signed_in("operator")
    operator.goto("/agenda?vista=week")
    assert operator.locator("section.agenda-day").count() == 7
    assert operator.get_by_role("heading", name="Agenda").count() >= 1
    contact = signed_in("municipal_contact")
    contact.goto("/occupazione")
    html = contact.content()
    assert "Sportello Giovani Rodano" in html and "HDT-" not in html
    assert csp_violations(contact) == []
