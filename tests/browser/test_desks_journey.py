"""Acceptance, in a real browser: summer hours from 1 July and the 15 August closure reach every calendar.

An operator gives the two desks assigned to them new summer hours from 1 July 2027 and closes
them on 15 August 2027 through the editing screens; the staff calendars, the public timetable
and the iCalendar feed show it, in the right local times. A municipal contact sees only their
town's desks and cannot edit. (2027: the dates must lie ahead of today, 26 November 2026.)
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time

import pytest
from icalendar import Calendar

from tests.browser.support import SCREENSHOT_DIR, csp_violations, describe_violations, run_axe

pytestmark = pytest.mark.browser

SUMMER_FROM, SUMMER_TO = "2027-07-01", "2027-08-31"
CLOSED_ON = "2027-08-15"
REASON = "Chiusura interna di agosto"  # shown to staff only
OPENS, CLOSES = "08:30", "13:30"  # no demo desk has these times, so they prove the change

# Elements sticking out on the right (a scrolling table inside .table-responsive does not count).
WIDER_THAN_VIEWPORT = """() => {
  const limit = document.documentElement.clientWidth + 1, found = [];
  if (document.documentElement.scrollWidth <= limit) return found;
  for (const el of document.querySelectorAll('body *')) {
    if (el.closest('.table-responsive') && !el.closest('.visually-hidden')) continue;
    const box = el.getBoundingClientRect();
    if (box.width && box.right > limit) found.push(el.tagName.toLowerCase() + '.' + el.className + ' →' + Math.round(box.right));
  }
  return found.length ? found.slice(0, 8) : ['the document, ' + document.documentElement.scrollWidth + 'px wide'];
}"""


def _operator_desks(page) -> list[tuple[int, str]]:
    """(id, name) of the desks on /orari that this person may edit."""
    page.goto("/orari")
    desks = []
    for card in page.locator("article.desk-card").all():
        if card.get_by_role("link", name=re.compile("Modifica orari")).count():
            link = card.locator("h3 a")
            desk_id = int(re.search(r"/orari/(\d+)/calendario", link.get_attribute("href")).group(1))
            desks.append((desk_id, link.inner_text().strip()))
    return desks


@pytest.fixture(scope="module")
def journey(browser, browser_context_args):
    """Run the operator's changes once for the module; returns the two desks changed."""
    from tests.browser.support import DEMO_EMAILS, login, new_context_for, watched_page

    context = new_context_for(browser, browser_context_args)
    page = watched_page(context)
    login(page, DEMO_EMAILS["operator"])
    desks = _operator_desks(page)[:2]
    assert len(desks) == 2, f"the demo operator should edit two desks, got {desks}"

    page.goto("/orari/applica")
    for desk_id, _name in desks:
        page.locator(f"label[for=bulk-desk-{desk_id}]").click()  # BI draws the box on the label
    page.fill("#name", "Estate 2027")
    page.fill("#valid_from", SUMMER_FROM)
    page.fill("#valid_to", SUMMER_TO)
    for weekday in range(5):
        page.fill(f"#bulk-grid-w{weekday}_0_start", OPENS)
        page.fill(f"#bulk-grid-w{weekday}_0_end", CLOSES)
    with page.expect_navigation():
        page.get_by_role("button", name="Applica agli sportelli scelti").click()
    assert "applicato a 2 sportelli" in page.locator(".flash-messages").inner_text()

    page.goto("/orari/chiusure")
    for desk_id, _name in desks:
        page.locator(f"label[for=closure-desk-{desk_id}]").click()
    page.fill("#start_day", CLOSED_ON)
    page.fill("#reason", REASON)
    with page.expect_navigation():
        page.get_by_role("button", name="Registra la chiusura").click()
    assert "Chiusura registrata (2)" in page.locator(".flash-messages").inner_text()
    assert csp_violations(page) == []
    context.close()
    return desks


def test_staff_calendars_show_new_summer_hours_and_the_closure(signed_in, journey):
    """Week of 5 July: Monday to Friday 08:30–13:30; August month (reached through htmx): closed on the 15th."""
    page = signed_in("operator")
    for desk_id, name in journey:
        page.goto(f"/orari/{desk_id}/calendario?vista=settimana&data=2027-07-05")
        grid = page.locator("#desk-calendar table")
        assert grid.locator("text=08:30–13:30").count() == 5, name
        page.get_by_role("link", name="Mese", exact=True).click()
        page.wait_for_selector("#calendar-title:has-text('Luglio 2027')")
        page.get_by_role("link", name="Mese successivo").click()
        page.wait_for_selector("#calendar-title:has-text('Agosto 2027')")
        assert "vista=mese" in page.url and "data=2027-08-01" in page.url
        august = page.locator("#desk-calendar table").inner_text()
        assert REASON in august and "tutto il giorno" in august
        assert august.count("08:30–13:30") == 22  # every weekday of August 2027 (the 15th is a Sunday)
    assert csp_violations(page) == []


def test_public_timetable_shows_summer_hours_and_closure_without_reason_or_names(page, journey):
    """/sportelli without sign-in: the summer season with its microdata, 15 August closed, no reason, no names."""
    response = page.goto("/sportelli")
    assert response.status == 200
    for desk_id, name in journey:
        article = page.locator(f"#sportello-{desk_id}")
        text = article.inner_text()
        assert name in text
        assert "Dal 01/07/2027 fino al 31/08/2027" in text and f"{OPENS}–{CLOSES}" in text
        assert "15/08/2027: chiuso" in text
        summer = article.locator("[itemprop=openingHoursSpecification]:has(meta[itemprop=validFrom][content='2027-07-01'])")
        assert summer.count() == 5
        assert summer.first.locator("time[itemprop=opens]").get_attribute("datetime") == OPENS
        assert article.locator("[itemprop=specialOpeningHoursSpecification] meta[itemprop=validFrom]"
                               f"[content='{CLOSED_ON}']").count() == 1
    body = page.locator("body").inner_text()
    assert REASON not in body
    for staff in ("Sara Colombo", "Luca Rossi", "Matteo Gallo", "Giulia Ferrari"):
        assert staff not in body
    assert csp_violations(page) == []


def test_feed_lists_summer_hours_and_closure_in_local_time(signed_in, journey):
    """The admin creates the desk's feed link; the feed parses, has VTIMEZONE Europe/Rome and the right times."""
    desk_id, name = journey[0]
    page = signed_in("admin")
    page.goto(f"/orari/{desk_id}/calendario")
    feed_section = page.locator("section[aria-labelledby=feed-title] li").first
    if not feed_section.locator("a.feed-link").count():
        with page.expect_navigation():
            feed_section.get_by_role("button", name=re.compile("Crea il link")).click()
        feed_section = page.locator("section[aria-labelledby=feed-title] li").first
    url = feed_section.locator("a.feed-link").get_attribute("href")
    assert re.search(r"/feed/[A-Za-z0-9_-]{20,}\.ics$", url)

    anonymous = page.context.browser.new_context()
    try:
        response = anonymous.request.get(url)
        assert response.status == 200
        assert response.headers["content-type"] == "text/calendar; charset=utf-8"
        body = response.body()
    finally:
        anonymous.close()
    calendar = Calendar.from_ical(body)
    assert [tz.tz_name for tz in calendar.timezones] == ["Europe/Rome"]
    events = list(calendar.walk("VEVENT"))
    openings = {e.start.astimezone(UTC): e for e in events if str(e["UID"]).startswith(f"open-{desk_id}-")}
    summer = openings[datetime(2027, 7, 5, 6, 30, tzinfo=UTC)]  # 08:30 summer time (UTC+2)
    assert summer.start.time() == time(8, 30) and summer.end.time() == time(13, 30)
    assert str(summer.start.tzinfo) == "Europe/Rome"
    winter = [e for at, e in openings.items() if at.date() == date(2027, 1, 11)]  # a Monday in winter
    assert winter and all(e.start.utcoffset().total_seconds() == 3600 for e in winter)
    closures = [e for e in events if str(e["UID"]).startswith(f"closed-{desk_id}-")]
    assert any(e.start == date(2027, 8, 15) and REASON in str(e["SUMMARY"]) for e in closures)
    assert b"DTSTART;TZID=Europe/Rome:20270705T083000" in body


def test_municipal_contact_sees_only_own_town_and_cannot_edit(signed_in, journey):
    """The Rodano contact: Rodano's desks only, no edit buttons; other towns' desks are 404, editing is 403."""
    page = signed_in("municipal_contact")
    page.goto("/orari")
    cards = page.locator("article.desk-card")
    assert cards.count() >= 1
    for text in cards.all_inner_texts():
        assert "Rodano" in text
    content = page.locator("main").inner_text()
    assert "Modifica orari" not in content and "Applica un orario" not in content and "Chiusure" not in content
    own = int(re.search(r"/orari/(\d+)/calendario", cards.first.locator("h3 a").get_attribute("href")).group(1))
    response = page.goto(f"/orari/{own}/calendario?vista=mese")
    assert response.status == 200 and "Modifica orari" not in page.locator("main").inner_text()
    other_id, _name = journey[0]  # a Segrate/Vimodrone desk
    assert page.goto(f"/orari/{other_id}/calendario").status == 404
    assert page.goto(f"/orari/{own}/modifica").status == 403
    assert csp_violations(page) == []


@pytest.mark.parametrize("width,height,label", [(1280, 900, "desktop"), (390, 844, "phone")])
def test_desk_pages_look_right_and_pass_axe(signed_in, journey, width, height, label):
    """Screenshots of the index, a month calendar, the public page and the door timetable; axe finds nothing."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    page = signed_in("admin", viewport={"width": width, "height": height})
    desk_id, _name = journey[0]
    problems = []
    for slug, url in (("desks-index", "/orari"),
                      ("desks-month", f"/orari/{desk_id}/calendario?vista=mese&data=2027-08-01"),
                      ("desks-week", f"/orari/{desk_id}/calendario?vista=settimana&data=2027-07-05"),
                      ("desks-print", f"/orari/{desk_id}/stampa?data=2027-07-05"),
                      ("desks-public", "/sportelli"),
                      ("desks-feeds", "/orari/feed")):
        assert page.goto(url).status == 200, url
        page.screenshot(path=str(SCREENSHOT_DIR / f"{slug}-{label}.png"), full_page=True)
        violations = run_axe(page)
        if violations:
            problems.append(describe_violations(url, violations))
        wide = page.evaluate(WIDER_THAN_VIEWPORT)
        assert not wide, f"{url} scrolls sideways at {width}px because of {wide}"
        if slug in ("desks-print", "desks-public"):
            page.emulate_media(media="print")
            page.screenshot(path=str(SCREENSHOT_DIR / f"{slug}-{label}-print.png"), full_page=True)
            assert not page.locator("header.it-header-wrapper").is_visible()  # print CSS drops the shell
            page.emulate_media(media="screen")
    assert not problems, "\n".join(problems)
    assert csp_violations(page) == []
