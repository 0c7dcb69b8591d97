"""Numbers beyond 32 bits in ids, filters and revisions: no record, never a database error (regressions).

Each request below answered 500 on SQLite and PostgreSQL before ids were parsed with
app.domain.numbers.int_or_none (found by the hostile-input tests).
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
