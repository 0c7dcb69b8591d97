"""The register's search: every word matches any part of a first or last name, whatever the case;
results in name order, a page at a time, with an honest "more than N" instead of a count."""

from __future__ import annotations

import re

from app.people import services
from tests.bookings.factories import make_desk, make_person
from tests.conftest import htmx, login

CODE_RE = re.compile(r">(HDT-\d{4}-\d{6})<")


def _codes(client, url: str) -> list[str]:
    response = client.get(url, headers=htmx())
    assert response.status_code == 200
    return CODE_RE.findall(response.get_data(as_text=True))


def test_every_word_matches_any_part_of_a_first_or_last_name(client, world):
    rossi = make_person(world.network, world.operator, first_name="Marta", last_name="Rossi",
                        registered_desk=world.desk)
    de_luca = make_person(world.network, world.operator, first_name="Luca", last_name="De Luca",
                          registered_desk=world.desk)
    bianchi = world.person  # Giulia Bianchi
    login(client, world.operator.email)
    expected = {
        "ROSSI": [rossi.code],  # case does not matter
        "oss": [rossi.code],  # a part of the name (three letters: the trigram indexes on PostgreSQL)
        "ro": [rossi.code],  # shorter words match the same way
        "luca": [de_luca.code],  # first and last name, counted once
        "marta rossi": [rossi.code],  # every word must match
        "marta luca": [],
        "i": [bianchi.code, rossi.code],  # name order: Bianchi, De Luca has no "i", Rossi
        bianchi.code.lower(): [bianchi.code],  # a code, whatever the case
    }
    for q, codes in expected.items():
        assert _codes(client, f"/giovani?q={q}") == codes, q


def test_a_common_name_shows_a_page_in_name_order_and_says_there_are_more(client, world):
    people = [make_person(world.network, world.operator, first_name=f"Nome{n:02d}", last_name="Pagani",
                          registered_desk=world.desk) for n in (7, 3, 25, 1, 12, 9, 18, 2, 24, 5, 11, 16, 21, 4, 8,
                                                                 14, 19, 23, 6, 10, 13, 15, 17, 20, 22)]
    in_order = [p.code for p in sorted(people, key=lambda p: (p.last_name, p.first_name, p.id))]
    login(client, world.operator.email)
    first = client.get("/giovani?q=pagani", headers=htmx()).get_data(as_text=True)
    assert CODE_RE.findall(first) == in_order[:services.SEARCH_LIMIT]
    assert "Più di 20 persone" in first and "affina la ricerca" in first
    assert 'href="/giovani?q=pagani&amp;pagina=2"' in first and 'hx-target="#people-results"' in first
    second = client.get("/giovani?q=pagani&pagina=2", headers=htmx()).get_data(as_text=True)
    assert CODE_RE.findall(second) == in_order[services.SEARCH_LIMIT:]
    assert "Più di" not in second and "pagina=3" not in second and 'href="/giovani?q=pagani&amp;pagina=1"' in second
    # Without htmx the same pages are plain links on the full page.
    page = client.get("/giovani?q=pagani&pagina=2").get_data(as_text=True)
    assert "<html" in page and CODE_RE.findall(page) == in_order[services.SEARCH_LIMIT:]
    # A page number that is not one is the first page.
    assert _codes(client, "/giovani?q=pagani&pagina=%C2%B2") == in_order[:services.SEARCH_LIMIT]


def test_the_search_stays_in_the_operators_scope(client, world, network, make_user):
    other = make_user("operator", organisation=network["Ala Milano"])
    make_desk(network, town="Rodano", partner="Ala Milano", name="Sportello Ala", operators=[other])
    login(client, other.email)
    assert _codes(client, "/giovani?q=bianchi") == []
    assert _codes(client, f"/giovani?q={world.person.code}") == []


def test_a_page_past_the_last_says_so_and_leads_back(client, world):
    login(client, world.operator.email)
    html = client.get("/giovani?q=bianchi&pagina=3", headers=htmx()).get_data(as_text=True)
    assert "Nessun altro risultato" in html and 'href="/giovani?q=bianchi&amp;pagina=2"' in html
    assert CODE_RE.findall(html) == []


def test_past_the_last_page_offered_the_search_must_be_narrowed(app, world):
    page = services.SearchPage([world.person], services.MAX_SEARCH_PAGE, has_more=True)
    assert page.has_more and not page.has_next


def test_pages_hold_only_the_people_in_scope_however_they_interleave_with_the_others(client, world, network,
                                                                                      make_user):
    """Pages and "more" count only the people in scope, with a short word or not."""
    other = make_user("operator", organisation=network["Ala Milano"])
    elsewhere = make_desk(network, town="Rodano", partner="Ala Milano", name="Sportello Ala", operators=[other])
    mine, theirs = [], []
    for n in range(50):  # names alternate between the operator's desk and another one, in name order
        desk, into = (world.desk, mine) if n % 5 in (0, 2, 3) else (elsewhere, theirs)
        into.append(make_person(network, world.operator if desk is world.desk else other,
                                first_name=f"Nome{n:02d}", last_name="Paganelli", registered_desk=desk))
    assert len(mine) == 30
    login(client, world.operator.email)
    for q in ("paganelli", "nome paganelli", "om paganelli"):  # "om": a word too short for the trigrams
        first = client.get(f"/giovani?q={q}", headers=htmx()).get_data(as_text=True)
        assert CODE_RE.findall(first) == [p.code for p in mine[:20]], q
        assert "Più di 20 persone" in first, q
        second = client.get(f"/giovani?q={q}&pagina=2", headers=htmx()).get_data(as_text=True)
        assert CODE_RE.findall(second) == [p.code for p in mine[20:]], q
        assert "Più di" not in second, q
    assert _codes(client, "/giovani?q=Nome01 paganelli") == []  # another desk's, not in scope
    assert _codes(client, "/giovani?q=Nome02 pa") == [mine[1].code]
