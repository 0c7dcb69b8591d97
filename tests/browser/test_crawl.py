"""Crawl every page each demo role can reach (and the public ones): no 4xx/5xx, no axe violation, no CSP error.

Pages added later by any area are covered as soon as they are linked from the navigation.
"""

from __future__ import annotations

import re
from collections import deque
from urllib.parse import urldefrag, urlsplit

import pytest

from tests.browser.support import (
    DEMO_EMAILS,
    csp_violations,
    describe_violations,
    login,
    markup_only,
    new_context_for,
    run_axe,
    wait_for_htmx,
    watched_page,
)

pytestmark = pytest.mark.browser

MAX_PAGES = 40
SKIP = re.compile(r"(logout|download|feed|/static/|\.(ics|pdf|csv|xlsx|zip|json)$)", re.IGNORECASE)
PUBLIC_START = ["/login", "/accessibilita", "/privacy"]


def _shape(path: str) -> str:
    """The page kind behind a path: /admin/users/12 and /admin/users/7 are one shape."""
    return re.sub(r"/\d+(?=/|$)", "/<n>", path)


class Crawler:
    """Breadth-first visit of same-origin GET links, bounded, checking each page."""

    def __init__(self, page, origin: str, signed_in: bool = False, skip_paths: frozenset[str] = frozenset()):
        self.page = page
        self.skip_paths = skip_paths
        self.origin = origin
        self.signed_in = signed_in
        self.referrer: dict[str, str] = {}
        self.seen_shapes: set[str] = set()
        self.seen_query_paths: set[str] = set()
        self.visited: list[str] = []
        self.problems: list[str] = []

    def accept(self, url: str) -> str | None:
        """The normalised URL to visit, or None when it is out of scope or already covered."""
        url, _fragment = urldefrag(url)
        parts = urlsplit(url)
        if f"{parts.scheme}://{parts.netloc}" != self.origin or SKIP.search(parts.path):
            return None
        if parts.path in self.skip_paths:
            return None
        shape = _shape(parts.path)
        if parts.query:
            # Only the first link with a query string for each path (filters, pages, weeks).
            if shape in self.seen_query_paths:
                return None
            self.seen_query_paths.add(shape)
            key = shape + "?"
        else:
            key = shape
        if key in self.seen_shapes:
            return None
        self.seen_shapes.add(key)
        return url

    def links(self, selector: str = "a[href]") -> list[str]:
        """Absolute hrefs of the links matching a selector on the current page."""
        return self.page.eval_on_selector_all(selector, "els => els.map(e => e.href)")

    def check(self, url: str) -> None:
        """Open one page and record any 4xx/5xx, accessibility violation or CSP violation."""
        response = self.page.goto(url)
        self.visited.append(url)
        status = response.status if response else 0
        if status >= 500 or status == 0:
            self.problems.append(f"{url}: HTTP {status}")
            return
        if status >= 400:
            # A link the app shows should open: 403/404 here means a link offered to the wrong people.
            self.problems.append(f"{url}: HTTP {status} for a link shown on {self.referrer.get(url, '?')}")
        if self.signed_in and urlsplit(self.page.url).path == "/login":
            self.problems.append(f"{url}: sent back to the sign-in page (session lost?)")
            return
        wait_for_htmx(self.page)
        violations = run_axe(self.page)
        if violations:
            self.problems.append(describe_violations(url, violations))
        csp = csp_violations(self.page)
        if csp:
            self.problems.append(f"{url}: CSP violations: {csp}")

    def crawl(self, start: list[str], first_links_selector: str | None = None) -> None:
        """Visit the start pages, then the links found on them, breadth first, up to MAX_PAGES."""
        queue: deque[str] = deque()
        for url in start:
            accepted = self.accept(url if url.startswith("http") else self.origin + url)
            if accepted:
                queue.append(accepted)
        first = True
        while queue and len(self.visited) < MAX_PAGES:
            url = queue.popleft()
            self.check(url)
            found = []
            if first and first_links_selector:
                found = self.links(first_links_selector)  # the navigation comes first
            found += self.links()
            first = False
            for link in found:
                accepted = self.accept(link)
                if accepted:
                    self.referrer[accepted] = url
                    queue.append(accepted)


@markup_only
@pytest.mark.parametrize("role", list(DEMO_EMAILS))
def test_every_page_of_a_role_is_accessible(browser, browser_context_args, live_server, role):
    """Signed in as each demo role: every reachable page answers, passes axe and the CSP."""
    context = new_context_for(browser, browser_context_args)
    try:
        page = watched_page(context)
        login(page, DEMO_EMAILS[role])
        # The statements differ from the public crawl's only by the header, checked on every page.
        crawler = Crawler(page, live_server, signed_in=True, skip_paths=frozenset({"/accessibilita", "/privacy"}))
        crawler.crawl(["/"], first_links_selector=".it-header-navbar-wrapper a.nav-link")
    finally:
        context.close()
    print(f"{role}: {len(crawler.visited)} pages: " + ", ".join(urlsplit(u).path for u in crawler.visited))
    assert len(crawler.visited) >= 1
    assert not crawler.problems, f"{role}:\n" + "\n".join(crawler.problems)


def test_public_pages_are_accessible(browser, browser_context_args, live_server):
    """Signed out: the sign-in page, the statements and every public page linked from them."""
    context = new_context_for(browser, browser_context_args)
    try:
        page = watched_page(context)
        crawler = Crawler(page, live_server)
        crawler.crawl(PUBLIC_START)
    finally:
        context.close()
    paths = {urlsplit(u).path for u in crawler.visited}
    print("public: " + ", ".join(sorted(paths)))
    assert set(PUBLIC_START) <= paths
    assert not crawler.problems, "public pages:\n" + "\n".join(crawler.problems)
