"""Numbers beyond 32 bits in ids, filters and revisions, and NUL bytes in searches: no record, never a
database error (regressions found by the hostile-input tests).

Each request below answered 500 (on SQLite and PostgreSQL, or on PostgreSQL only where noted) before ids
were parsed with app.domain.numbers.int_or_none and searches dropped NUL bytes.
"""

from __future__ import annotations

import pytest

from app.domain.numbers import INT32_MAX, INT32_MIN, int_or_none
from tests.conftest import login

HUGE = "99999999999999999999999"


@pytest.mark.parametrize(("text", "expected"), [
    ("12", 12), (" 7 ", 7), ("-3", -3), (str(INT32_MAX), INT32_MAX), (str(INT32_MIN), INT32_MIN),
    (str(INT32_MAX + 1), None), (HUGE, None), ("9" * 5000, None), ("", None), (None, None), ("1.5", None),
    ("abc", None), ("\x00", None),
])
def test_int_or_none_keeps_only_numbers_a_column_can_hold(text, expected):
    assert int_or_none(text) == expected


def test_huge_numbers_in_filters_ids_and_revisions_are_refused_cleanly(app, world):
    operator, tutor, admin = world.users["operator"], world.users["tutor"], world.users["admin"]
    cases = [
        (admin, "GET", "/admin/utenti", {"organisation": HUGE}),
        (operator, "GET", "/agenda", {"sportello": HUGE, "tutor": HUGE, "comune": HUGE}),
        (operator, "GET", "/agenda/foglio", {"sportello": HUGE}),
        (operator, "GET", "/appuntamenti/nuovo", {"person": HUGE, "desk": HUGE, "tutor": HUGE}),
        (operator, "POST", "/appuntamenti", {"person": HUGE, "desk": HUGE, "service": "orientamento",
                                             "slot": f"{HUGE}|2026-12-01T09:00:00+00:00", "override_tutor": HUGE}),
        (operator, "GET", "/lista-attesa/nuova", {"persona": HUGE}),
        (operator, "GET", "/lista-attesa/suggerimenti", {"desk": HUGE}),
        (operator, "GET", "/richieste", {"sportello": HUGE, "comune": HUGE}),
        (operator, "GET", "/richieste", {"assegnate": HUGE}),  # only on PostgreSQL (a cast to integer)
        (operator, "GET", "/richieste", {"assegnate": "²"}),  # a digit for str.isdigit, not for int()
        (admin, "POST", f"/orari/gestione/{world.desk.id}", {"name": "Sportello", "operator_ids": HUGE,
                                                            "tutor_ids": HUGE, "municipality_id": HUGE}),
        (admin, "POST", "/orari/applica", {"desk_ids": HUGE}),
        (admin, "POST", "/orari/feed/rinnova", {"scope": "desk", "target_id": "2147483648"}),  # PostgreSQL
        (operator, "GET", f"/richieste/{world.ticket.id}/prenota", {"person": HUGE, "desk": HUGE}),
        (operator, "POST", "/richieste/assegna", {"ticket_ids": HUGE, "assignee": HUGE}),
        (operator, "POST", "/richieste/nuova", {"town": HUGE, "desk": HUGE, "age": HUGE, "first_name": "Anna"}),
        (tutor, "POST", f"/appuntamenti/{world.draft.id}/nota", {"revision": HUGE, "summary": "Testo"}),
        (tutor, "POST", f"/appuntamenti/{world.draft.id}/nota/finalizza", {"revision": HUGE, "summary": "Testo"}),
    ]
    clients = {}
    for user, method, path, data in cases:
        if user.id not in clients:
            clients[user.id] = app.test_client()
            assert login(clients[user.id], user.email).status_code == 303
        client = clients[user.id]
        if method == "GET":
            response = client.get(path, query_string=data)
        else:
            response = client.post(path, data=data)
        assert response.status_code < 500, (method, path, response.status_code)


def test_ids_beyond_32_bits_in_addresses_are_not_found(client, login_as):
    login_as("operator")
    for path in ("/giovani/2147483648", "/giovani/99999999999999999999999999", "/appuntamenti/9223372036854775808",
                 "/orari/10000000000000000000000000/calendario"):
        assert client.get(path).status_code == 404, path


def test_a_nul_byte_in_a_person_search_is_ignored(app, world):
    """PostgreSQL refuses NUL in text: the searches of young people (three pages) answered 500 there."""
    client = app.test_client()
    assert login(client, world.users["operator"].email).status_code == 303
    for path in ("/giovani", "/appuntamenti/nuovo/persone", "/lista-attesa/nuova"):
        response = client.get(path, query_string={"q": "Bian\x00chi"})
        assert response.status_code == 200, path
    assert world.person.code in client.get("/giovani", query_string={"q": "\x00Bianchi"}).get_data(as_text=True)


def test_nul_bytes_never_reach_a_query(app, world):
    """The request drops NUL bytes from every query and form value (app.security.HubRequest): on
    PostgreSQL a NUL in the sign-in e-mail, the reset form or the users search answered 500."""
    anonymous = app.test_client()
    email = world.users["operator"].email
    assert anonymous.post("/login", data={"email": "x\x00@y.it", "password": "p"}).status_code == 422
    assert anonymous.post("/password/reset", data={"email": email + "\x00"}).status_code in (302, 303)
    signed_in = login(anonymous, email[:3] + "\x00" + email[3:])
    assert signed_in.status_code == 303  # the address without its NUL is the operator's
    admin = app.test_client()
    assert login(admin, world.users["admin"].email).status_code == 303
    page = admin.get("/admin/utenti", query_string={"q": "oper\x00ator"})
    assert page.status_code == 200 and world.users["operator"].full_name in page.get_data(as_text=True)
