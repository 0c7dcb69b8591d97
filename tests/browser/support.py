"""Helpers for browser tests: contexts with a CSP listener, sign-in, axe-core, reports."""

from __future__ import annotations

import functools
import json
import os
import re
from pathlib import Path

import pytest

from tests.conftest import DEMO_PASSWORD

AXE_JS = Path(__file__).resolve().parent.parent / "vendor" / "axe-core" / "axe.min.js"
BI_CSS = Path(__file__).resolve().parents[2] / "app/static/vendor/bootstrap-italia/css/bootstrap-italia.min.css"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# Layout and accessibility checks look at markup, which no database changes: they run in the SQLite pass
# only, while the journeys (which write) run on both databases.
markup_only = pytest.mark.skipif(os.environ.get("HUB_TEST_DB") == "postgresql",
                                 reason="checks markup, which no database changes: runs on SQLite (the browser "
                                        "journeys run on both)")
SCREENSHOT_DIR = Path(os.environ.get("HUB_SCREENSHOT_DIR", "/tmp/hub-screenshots"))

# role -> demo e-mail (app/seed.py DEMO_ACCOUNTS)
DEMO_EMAILS = {
    "admin": "admin@hub.test",
    "coordinator": "coordinatore@hub.test",
    "operator": "operatore@hub.test",
    "tutor": "tutor@hub.test",
    "municipal_contact": "comune@hub.test",
    "observer": "osservatore@hub.test",
}

# Records Content-Security-Policy violations before any page script runs (init scripts are not
# subject to the page's CSP). Read back with `csp_violations(page)`.
CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__cspViolations.push(e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline') +
    (e.sourceFile ? ' at ' + e.sourceFile + ':' + e.lineNumber : ''));
});
"""


def new_context_for(browser, context_args: dict, **overrides):
    """A context with the CSP violation listener."""
    ctx = browser.new_context(**{**context_args, **overrides})
    ctx.set_default_timeout(15_000)
    ctx.add_init_script(CSP_LISTENER)
    return ctx


def watched_page(context):
    """A new page whose console messages about the CSP are kept in `page.csp_console`."""
    page = context.new_page()
    page.csp_console = []

    def on_console(message):
        if "Content Security Policy" in message.text:
            page.csp_console.append(message.text)

    page.on("console", on_console)
    return page


# The app served by the live server (set by its fixture): second-factor codes are computed in its context.
LIVE_APP = None


def current_code(email: str) -> str:
    """A code the live app accepts now for a demo account (fixed demo secret, unused time step)."""
    from tests.conftest import totp_code

    assert LIVE_APP is not None, "the live_server fixture is not running"
    with LIVE_APP.app_context():
        return totp_code(email)


def login(page, email: str, password: str = DEMO_PASSWORD) -> None:
    """Sign in through the real forms (password, then the authenticator code) and wait for the dashboard."""
    page.goto("/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click("form[action$='/login'] button[type=submit]")
    if "/login/codice" in page.url:
        page.fill("input[name=code]", current_code(email))
        with page.expect_navigation():
            page.click("form[action$='/login/codice'] button[type=submit]")
    assert "/login" not in page.url, f"sign-in as {email} failed: {page.url}"


def wait_for_htmx(page) -> None:
    """Wait until no htmx request is in flight (content loaded on `load` triggers)."""
    page.wait_for_function("() => !document.querySelector('.htmx-request')")


@functools.cache
def _axe_source() -> str:
    return AXE_JS.read_text(encoding="utf-8") + "\n;void 0;"


def run_axe(page) -> list[dict]:
    """Run the vendored axe-core with the WCAG 2.1 A/AA rules; returns the violations."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        # add_script_tag() inlines the file, which our strict CSP rightly refuses;
        # evaluating through the DevTools protocol is not subject to the page's CSP.
        page.evaluate(_axe_source())
    return page.evaluate(
        """async (tags) => {
            const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
            return result.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => ({target: n.target, html: n.html.slice(0, 200)})),
            }));
        }""",
        AXE_TAGS,
    )


@functools.cache
def _harmless_font_prefix() -> str:
    """The start of the VideoJS icon font that Bootstrap Italia's CSS embeds as a data: URL.

    Chromium fetches data: fonts eagerly and the CSP (font-src 'self') blocks it; nothing on our
    pages uses video.js, so this one blocked font is harmless (UI_GUIDE §1). Any other blocked
    resource is still reported.
    """
    css = BI_CSS.read_text(encoding="utf-8")
    match = re.search(r"@font-face\{font-family:VideoJS;src:url\((data:[^)]{60})", css)
    return match.group(1) if match else "\0"


def csp_violations(page) -> list[str]:
    """CSP violations seen by the page listener and in the console (the known VideoJS font excepted)."""
    harmless = _harmless_font_prefix()
    console = [m for m in getattr(page, "csp_console", []) if harmless not in m]
    # The listener cannot tell fonts apart (blockedURI is just "data"): data: fonts are judged
    # from the console message, which carries the URL.
    seen = [v for v in page.evaluate("() => window.__cspViolations || []") if not v.startswith("font-src blocked data")]
    return [v[:300] for v in seen + console]


def describe_violations(url: str, violations: list[dict]) -> str:
    """A readable report: rule id, impact, target and page."""
    lines = []
    for v in violations:
        for node in v["nodes"]:
            lines.append(f"{url}: [{v['impact']}] {v['id']} — {v['help']} — target {json.dumps(node['target'])}"
                         f" — {node['html']}")
    return "\n".join(lines)
