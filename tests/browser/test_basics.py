"""The shell in a real browser: sign-in and navigation per role, sign-out, skip link, language switch."""

from __future__ import annotations

import pytest

from tests.browser.support import DEMO_EMAILS, csp_violations

pytestmark = pytest.mark.browser

# role -> (full name, main-navigation labels it must see, labels it must not see)
EXPECTED_NAV = {
    "admin": ("Giulia Ferrari", {"Cruscotto", "Utenti", "Partner"}, set()),
    "coordinator": ("Marco Bianchi", {"Cruscotto", "Utenti", "Partner"}, set()),
    "operator": ("Sara Colombo", {"Cruscotto"}, {"Utenti", "Partner"}),
    "tutor": ("Luca Rossi", {"Cruscotto"}, {"Utenti", "Partner"}),
    "municipal_contact": ("Paola Galli", {"Cruscotto"}, {"Utenti", "Partner"}),
    "observer": ("Andrea Conti", {"Cruscotto"}, {"Utenti", "Partner"}),
}


def nav_labels(page) -> set[str]:
    """The labels of the main navigation links."""
    return {text.strip() for text in page.locator(".it-header-navbar-wrapper a.nav-link").all_inner_texts()}


@pytest.mark.parametrize("role", list(DEMO_EMAILS))
def test_demo_account_signs_in_and_sees_its_navigation(signed_in, role):
    """Each demo account lands on its dashboard, greeted by name, with its role's menu only."""
    page = signed_in(role)
    name, must_see, must_not_see = EXPECTED_NAV[role]
    assert page.url.endswith("/")
    assert name in page.locator("h1").inner_text()
    assert name in page.locator("#user-menu").inner_text()
    labels = nav_labels(page)
    assert must_see <= labels, labels
    assert not (must_not_see & labels), labels
    current = page.locator(".it-header-navbar-wrapper a.nav-link[aria-current=page]")
    assert current.count() == 1 and current.inner_text().strip() == "Cruscotto"
    assert csp_violations(page) == []


def test_wrong_password_is_refused_in_the_form(page):
    """A wrong password keeps the person on the sign-in page with a message by the field."""
    page.goto("/login")
    page.fill("input[name=email]", DEMO_EMAILS["operator"])
    page.fill("input[name=password]", "not-the-password")
    page.click("form[action$='/login'] button[type=submit]")
    page.wait_for_selector("#password[aria-invalid=true]")
    assert "/login" in page.url
    assert page.locator("#password-err").inner_text().strip()


def test_sign_out_from_the_user_menu(signed_in):
    """'Esci' in the user dropdown ends the session: back to sign-in, pages need a new sign-in."""
    page = signed_in("operator")
    page.click("#user-menu")
    exit_button = page.get_by_role("button", name="Esci")
    assert exit_button.is_visible()
    with page.expect_navigation():
        exit_button.click()
    assert page.url.endswith("/login")
    assert page.locator(".flash-messages [role=status]").inner_text().strip()
    page.goto("/")
    assert "/login" in page.url


def test_skip_link_moves_focus_to_main(page):
    """The first Tab reaches 'Vai al contenuto'; Enter moves focus to <main>."""
    page.goto("/login")
    page.keyboard.press("Tab")
    focused = page.evaluate("() => [document.activeElement.textContent.trim(), document.activeElement.getAttribute('href')]")
    assert focused == ["Vai al contenuto", "#main"]
    assert page.locator(".skiplinks a").is_visible()  # visible while focused
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "main"


def test_language_switch_to_english_and_back(signed_in):
    """The footer switch sets English for the session (html lang) and stays on the same page."""
    page = signed_in("tutor")
    page.goto("/privacy")
    with page.expect_navigation():
        page.click(".language-switch button[value=en]")
    assert page.url.endswith("/privacy")
    assert page.get_attribute("html", "lang") == "en"
    assert page.get_attribute(".language-switch button[value=en]", "aria-current") == "true"
    page.goto("/")
    assert page.get_attribute("html", "lang") == "en"  # remembered for the session
    with page.expect_navigation():
        page.click(".language-switch button[value=it]")
    assert page.get_attribute("html", "lang") == "it"
    assert "Vai al contenuto" in page.locator(".skiplinks a").inner_text()
