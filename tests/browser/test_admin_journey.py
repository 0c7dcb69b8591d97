"""Administration in a real browser: the accounts list's pages and a partner saved over a newer version.

The crawl sees the accounts list on one page (the demo network has few accounts) and never a 409:
here the page size is lowered so the pagination shows, and a partner is changed behind an open form.
Both are checked with axe-core (WCAG 2.1 A/AA) and the CSP.
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from app.admin import services
from app.extensions import db
from app.models import Organisation
from tests.browser import support
from tests.browser.support import csp_violations, describe_violations, run_axe, wait_for_htmx

pytestmark = pytest.mark.browser


def _accessible(page) -> None:
    violations = run_axe(page)
    assert not violations, describe_violations(page.url, violations)
    assert csp_violations(page) == []


def test_accounts_list_pages_keep_the_filters(signed_in, monkeypatch):
    monkeypatch.setattr(services, "USERS_PER_PAGE", 2)
    page = signed_in("admin")
    page.goto("/admin/utenti?status=active")
    pagination = page.get_by_role("navigation", name="Pagine degli account")
    assert pagination.count() == 1
    current = pagination.locator("[aria-current=page]")
    assert current.inner_text().strip().endswith("1")
    first_names = page.locator("#user-results tbody th").all_inner_texts()
    _accessible(page)

    pagination.get_by_role("link", name="Pagina successiva").click()  # htmx swaps the results
    wait_for_htmx(page)
    page.wait_for_url(re.compile(r"pagina=2"))
    assert "status=active" in page.url
    second_names = page.locator("#user-results tbody th").all_inner_texts()
    assert second_names and set(second_names).isdisjoint(first_names)
    assert page.get_by_role("navigation", name="Pagine degli account").locator(
        "[aria-current=page]").inner_text().strip().endswith("2")
    _accessible(page)


def test_partner_saved_over_a_newer_version_gets_a_readable_409(signed_in):
    page = signed_in("admin")
    with support.LIVE_APP.app_context():
        org = db.session.scalar(sa.select(Organisation).where(Organisation.kind == "association")
                                .order_by(Organisation.id))
        org_id, phone = org.id, org.phone
    page.goto(f"/admin/partner/{org_id}")
    page.fill("#address", "via del Test 1")
    with support.LIVE_APP.app_context():  # another administrator saves first
        other = db.session.get(Organisation, org_id)
        other.phone = "02 555 0101"
        db.session.commit()
    page.get_by_role("button", name="Salva").click()
    wait_for_htmx(page)
    alert = page.locator("#form-errors")
    alert.wait_for()
    assert "modificato da un altro utente" in alert.inner_text()
    assert "02 555 0101" in alert.inner_text()
    assert page.input_value("#address") == "via del Test 1"  # the input is kept
    _accessible(page)
    with support.LIVE_APP.app_context():
        saved = db.session.get(Organisation, org_id)
        assert saved.address != "via del Test 1"
        saved.phone = phone
        db.session.commit()
