"""Look and feel of the shell (UI_GUIDE §3): the layout parts are there and fit desktop and phone widths.

Screenshots of each case are written to $HUB_SCREENSHOT_DIR (default /tmp/hub-screenshots) for
a person to look at; the assertions check what can be checked mechanically.
"""

from __future__ import annotations

import pytest

from tests.browser.support import (
    SCREENSHOT_DIR,
    describe_violations,
    login,
    markup_only,
    new_context_for,
    run_axe,
    watched_page,
)

pytestmark = [pytest.mark.browser, markup_only]

VIEWPORTS = {
    "desktop": {"width": 1280, "height": 900},
    "tablet": {"width": 1024, "height": 768},  # the narrowest width with the full navbar
    "phone": {"width": 390, "height": 844},
}
# name -> (demo account or None for signed out, path)
SCREENS = {
    "login": (None, "/login"),
    "dashboard-admin": ("admin@hub.test", "/"),
    "dashboard-operator": ("operatore@hub.test", "/"),
    "error-404": ("tutor@hub.test", "/pagina-che-non-esiste"),
}


@pytest.fixture(scope="module", params=list(VIEWPORTS))
def viewport(request, browser, browser_context_args):
    """A (name, context) pair for one screen width, shared by this module's tests."""
    context = new_context_for(browser, browser_context_args, viewport=VIEWPORTS[request.param])
    yield request.param, context
    context.close()


def _open(context, account: str | None, path: str):
    """A page at path, signed in as account (the context keeps one session at a time)."""
    context.clear_cookies()
    page = watched_page(context)
    if account:
        login(page, account)
    page.goto(path)
    return page


def _no_horizontal_scroll(page) -> bool:
    return page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.parametrize("screen", list(SCREENS))
def test_screens_render_without_overflow(viewport, screen):
    """Each key screen renders the header and footer, fits the width, and is saved as a PNG."""
    name, context = viewport
    account, path = SCREENS[screen]
    page = _open(context, account, path)
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT_DIR / f"{screen}-{name}.png"), full_page=True)
    assert page.locator(".it-header-slim-wrapper").is_visible()
    assert page.locator(".it-header-center-wrapper .it-brand-title").is_visible()
    assert page.locator("footer.it-footer a[href='/accessibilita']").is_visible()
    assert _no_horizontal_scroll(page), f"{screen} scrolls sideways at {name} width"
    violations = run_axe(page)  # the crawler runs at desktop width only
    assert not violations, describe_violations(page.url, violations)
    page.close()


def test_signed_in_shell_has_navbar_user_menu_and_footer(viewport):
    """Signed in: navbar (toggler on phones), user dropdown with 'Esci', footer small prints."""
    name, context = viewport
    page = _open(context, "admin@hub.test", "/")
    if name == "phone":
        toggler = page.locator("button.custom-navbar-toggler")
        assert toggler.is_visible()
        toggler.click()
        # Once open, Bootstrap Italia traps focus in the menu, starting on its close button.
        page.wait_for_function("() => document.activeElement && document.activeElement.matches('#nav .close-menu')")
        page.screenshot(path=str(SCREENSHOT_DIR / f"menu-open-{name}.png"))
        page.locator("#nav .close-menu").click()
        page.locator(".navbar-backdrop").wait_for(state="detached")
    assert page.locator("nav.navbar a.nav-link[aria-current=page]").count() == 1
    page.click("#user-menu")
    menu = page.locator(".it-header-slim-right-zone .dropdown-menu")
    menu.wait_for(state="visible")
    assert menu.get_by_role("button", name="Esci").is_visible()
    page.screenshot(path=str(SCREENSHOT_DIR / f"user-menu-{name}.png"))
    violations = run_axe(page)  # with the dropdown open
    assert not violations, describe_violations(page.url, violations)
    small_prints = page.locator(".it-footer-small-prints-list a").all_inner_texts()
    assert any("accessibilità" in text for text in small_prints)
    assert any("privacy" in text.lower() for text in small_prints)
    page.close()


def test_breadcrumbs_and_flash_message(viewport):
    """The breadcrumb trail marks the current page; a flash message is a dismissible alert."""
    name, context = viewport
    page = _open(context, "admin@hub.test", "/account/password")
    crumbs = page.locator("nav.breadcrumb-container ol.breadcrumb li.breadcrumb-item")
    assert crumbs.count() >= 2
    assert crumbs.last.get_attribute("aria-current") == "page"
    page.click("#user-menu")
    with page.expect_navigation():
        page.get_by_role("button", name="Esci").click()
    flash = page.locator(".flash-messages .alert")
    assert flash.count() == 1 and flash.get_attribute("role") == "status"
    page.screenshot(path=str(SCREENSHOT_DIR / f"flash-{name}.png"))
    flash.locator(".btn-close").click()
    flash.wait_for(state="detached")
    page.close()
