"""Browser harness: the real app on a free local port, the demo data, Debian's Chromium, axe-core.

The server, Playwright and the browser live for the tests/browser package only, so the rest of
the suite runs without a browser or an event loop left behind. One browser per run; tests open
one context per role (`signed_in(role)`).
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable, Iterator

import pytest
from werkzeug.serving import WSGIRequestHandler, make_server

from app import create_app
from app.config import TestingConfig
from app.extensions import db
from tests.browser import support
from tests.browser.support import DEMO_EMAILS, login, new_context_for, watched_page
from tests.conftest import _clean

CHROMIUM = os.environ.get("HUB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _chromium_available() -> bool:
    return os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK) or shutil.which(CHROMIUM) is not None


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict:
    """Launch Debian's Chromium (Playwright's own download is not available here)."""
    if not _chromium_available():
        message = f"Chromium not found at {CHROMIUM}: install it with `bash tools/system-deps.sh`"
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(message + " (CI=true: browser tests must run, not skip)", pytrace=False)
        pytest.skip(message)
    return {"executable_path": CHROMIUM, "headless": True, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="package")
def playwright() -> Iterator:
    """Playwright for this package only (overrides pytest-playwright's session-wide one)."""
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    yield pw
    pw.stop()


@pytest.fixture(scope="package")
def browser_type(playwright, browser_name):
    """Chromium, whatever --browser says: it is the only browser installed."""
    return playwright.chromium


@pytest.fixture(scope="package")
def launch_browser(browser_type_launch_args, browser_type) -> Callable:
    """Launch helper used by the `browser` fixture."""

    def launch(**kwargs):
        return browser_type.launch(**{**browser_type_launch_args, **kwargs})

    return launch


@pytest.fixture(scope="package")
def browser(launch_browser) -> Iterator:
    """One headless Chromium for the whole browser package."""
    instance = launch_browser()
    yield instance
    instance.close()


class _QuietHandler(WSGIRequestHandler):
    """Request handler that does not log every asset request into the test output."""

    def log_request(self, code="-", size="-") -> None:
        """Log only server errors."""
        if str(code).startswith("5"):
            super().log_request(code, size)


@pytest.fixture(scope="package")
def live_server(database_url) -> Iterator[str]:
    """The real app, seeded like `flask seed-demo` with HUB_DEMO=1, on a free 127.0.0.1 port."""
    # Assets cached by the browser for the run: every page need not revalidate a dozen files.
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=database_url, HUB_DEMO=True,
                     SEND_FILE_MAX_AGE_DEFAULT=3600)
    _clean(app)
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output + repr(result.exception)
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="hub-live-server", daemon=True)
    thread.start()
    support.LIVE_APP = app
    _SIGNED_IN_STATE.clear()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        support.LIVE_APP = None
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        with app.app_context():
            db.engine.dispose()


@pytest.fixture(scope="package")
def base_url(live_server) -> str:
    """Relative URLs in page.goto() resolve against the live server."""
    return live_server


@pytest.fixture(scope="package")
def browser_context_args(base_url) -> dict:
    """Context defaults: the live server, Italian locale, Rome time zone, desktop size."""
    return {
        "base_url": base_url,
        "locale": "it-IT",
        "timezone_id": "Europe/Rome",
        "viewport": {"width": 1280, "height": 900},
    }


@pytest.fixture
def context(browser, browser_context_args) -> Iterator:
    """A fresh browser context (cookies, storage) with the CSP listener installed."""
    ctx = new_context_for(browser, browser_context_args)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context) -> Iterator:
    """A page in a fresh context; console CSP errors are collected in page.csp_console."""
    yield watched_page(context)


# role -> storage state (the session cookie) of a sign-in already done in this run: each role signs in
# (password and authenticator code) once, later contexts reuse the session while it is still open.
_SIGNED_IN_STATE: dict[str, dict] = {}


@pytest.fixture
def signed_in(browser, browser_context_args) -> Iterator[Callable]:
    """Factory: a page signed in as the demo account of a role, in its own context, on the dashboard."""
    contexts = []

    def open_as(role: str, **context_overrides):
        state = _SIGNED_IN_STATE.get(role)
        if state is not None:
            context_overrides = {"storage_state": state, **context_overrides}
        ctx = new_context_for(browser, browser_context_args, **context_overrides)
        contexts.append(ctx)
        page = watched_page(ctx)
        if state is not None:
            page.goto("/")
            if "/login" not in page.url:
                return page
            ctx.clear_cookies()  # the session was closed (a test signed out): sign in again
        login(page, DEMO_EMAILS[role])
        _SIGNED_IN_STATE[role] = ctx.storage_state()
        return page

    yield open_as
    for ctx in contexts:
        ctx.close()


