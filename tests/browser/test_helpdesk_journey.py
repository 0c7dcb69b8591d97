"""Acceptance, in a real browser: a request sent on /richiesta reaches the Segrate operator, becomes a booking.

Signed out, a young person finds the form from the sign-in page and sends a request for the
Segrate desk; the confirmation gives a reference. The demo Segrate operator finds it in the queue,
assigns it to themself, presses "Prenota", registers the young person, picks the first free slot
and sees the ticket as booked. The Rodano operator never sees it. Axe and the CSP are checked on the
public form and on the queue.
"""

from __future__ import annotations

import re

import pytest

from tests.browser.support import csp_violations, describe_violations, login, new_context_for, run_axe, watched_page

pytestmark = pytest.mark.browser

PHONE = "347 123 9876"  # no demo person has it: the operator registers a new record


def _accessible(page) -> None:
    """No axe violation and no CSP violation on the current page."""
    violations = run_axe(page)
    assert not violations, describe_violations(page.url, violations)
    assert not csp_violations(page), csp_violations(page)


def test_request_to_booking_for_segrate_and_invisible_to_rodano(browser, browser_context_args):
    """The whole journey, public form to booked ticket, with the Rodano operator as a negative check."""
    public = new_context_for(browser, browser_context_args, viewport={"width": 390, "height": 844})
    page = watched_page(public)
    page.goto("/login")
    page.get_by_role("link", name="Chiedi un appuntamento o un consiglio").click()
    page.wait_for_url(re.compile(r"/richiesta$"))
    _accessible(page)
    page.fill("#first_name", "Ilaria")
    page.fill("#age", "17")
    page.select_option("#town", label="Segrate")
    page.fill("#phone", PHONE)
    page.fill("#email", "ilaria@example.test")
    page.select_option("#topic", value="orientamento")
    page.select_option("#desk", label="Sportello Orientamento Segrate (Segrate)")
    page.fill("#message", "Vorrei capire che università scegliere.")
    page.locator("label[for=privacy_consent]").click()
    page.get_by_role("button", name="Invia la richiesta").click()
    page.wait_for_url(re.compile(r"/richiesta/inviata$"))
    reference = page.locator("#reference").inner_text().strip()
    assert re.fullmatch(r"RIC-\d{4}-\d{6}", reference)
    _accessible(page)
    public.close()

    operator_ctx = new_context_for(browser, browser_context_args)
    op = watched_page(operator_ctx)
    login(op, "operatore@hub.test")
    op.goto("/richieste")
    _accessible(op)
    op.fill("#hd-q", reference)
    row_link = op.locator("#ticket-queue").get_by_role("link", name=reference)
    row_link.wait_for()
    row_link.click()
    op.wait_for_url(re.compile(r"/richieste/\d+$"))
    ticket_url = op.url
    op.select_option("#assignee", label="Sara Colombo")
    op.get_by_role("button", name="Assegna", exact=True).click()
    op.wait_for_url(ticket_url)
    assert op.locator("#ticket-assignee").inner_text().strip() == "Sara Colombo"

    op.locator("#book-ticket").click()
    op.get_by_role("link", name="Registra una nuova persona").click()
    op.wait_for_url(re.compile(r"/giovani/nuova"))
    op.fill("#first_name", "Ilaria")
    op.fill("#last_name", "Prova Browser")
    op.fill("#birth_date", "2009-03-14")
    op.select_option("#gender", value="F")
    op.select_option("#study_work_status", value="studente")
    op.select_option("#residence_town_id", label="Segrate")
    op.fill("#phone", PHONE)
    op.select_option("#registered_desk_id", label="Sportello Orientamento Segrate")
    op.locator("label[for=privacy_consent]").click()
    op.get_by_role("button", name=re.compile(r"^Registra")).click()
    if op.get_by_role("button", name="Registra comunque").count():
        op.get_by_role("button", name="Registra comunque").click()
    op.wait_for_url(re.compile(r"/richieste/\d+/prenota"))
    assert op.locator("#tb-service").input_value() == "orientamento"
    first_slot = op.locator("button.slot").first
    first_slot.wait_for()
    first_slot.click()
    op.wait_for_url(ticket_url)
    assert op.locator("#ticket-status").inner_text().strip() == "Prenotata"
    assert op.get_by_text("Appuntamento prenotato per il").count()
    op.goto(f"/richieste?stato=booked&q={reference}")
    assert op.locator("#ticket-queue").get_by_role("link", name=reference).count() == 1
    operator_ctx.close()

    rodano_ctx = new_context_for(browser, browser_context_args)
    rodano = watched_page(rodano_ctx)
    login(rodano, "operatore.rodano@hub.test")
    rodano.goto(f"/richieste?stato=tutte&q={reference}")
    assert rodano.locator("#ticket-queue").get_by_role("link", name=reference).count() == 0
    assert rodano.locator("#ticket-queue").get_by_text("Nessuna richiesta.").count() == 1
    response = rodano.goto(ticket_url)
    assert response.status == 404
    rodano_ctx.close()
