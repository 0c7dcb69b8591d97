"""Query discipline (issue 11): a page's number of SQL statements does not grow with the data (no N+1).

The benchmark generator (app/ops/benchdata.py) builds the same network twice over a few weeks of
history: ~3 appointments per desk, then ~30 (10x), with their notes, tickets and young people.
Each main page and fragment is requested as the role that uses it, and its statements are counted
on both; any count that grows fails the test, naming the page and the two counts.
"""

from __future__ import annotations

from contextlib import contextmanager

import sqlalchemy as sa

from app.extensions import db
from app.formatting import ROME
from app.models import Appointment, Desk, Note, NoteStatus, Ticket, User, YoungPerson, desk_operators
from app.ops import benchdata
from tests.conftest import _clean, htmx, login

SMALL, LARGE = 0.00006, 0.0006  # 60 and 600 appointments over the 20 desks
HISTORY_DAYS = 28


@contextmanager
def counting():
    """Counts the statements sent to the database while the block runs."""
    seen: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        seen.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)


def _user(email_start: str) -> User:
    return db.session.scalar(sa.select(User).where(User.email.startswith(email_start)).order_by(User.email))


def _pages(app) -> dict[str, tuple[str, str, dict]]:
    """(account, url, headers) by page name, on the data now in the database."""
    # The busiest desk and its operator (each bench desk has one).
    desk = db.session.scalar(sa.select(Desk).join(Appointment, Appointment.desk_id == Desk.id).group_by(Desk.id)
                             .order_by(sa.func.count().desc(), Desk.id).limit(1))
    operator = db.session.scalar(sa.select(User).join(desk_operators, desk_operators.c.user_id == User.id)
                                 .where(desk_operators.c.desk_id == desk.id))
    # Preferably someone living in the desk's town, on both datasets (the page loads the town once otherwise).
    person = db.session.scalar(sa.select(YoungPerson).where(YoungPerson.registered_desk_id == desk.id,
                                                            YoungPerson.protected.is_(False))
                               .order_by(YoungPerson.residence_town_id != desk.municipality_id, YoungPerson.id))
    # The tutor with the most notes (so lists are never empty on the small dataset either).
    tutor = db.session.get(User, db.session.scalar(
        sa.select(Note.author_id).group_by(Note.author_id).order_by(sa.func.count().desc(), Note.author_id).limit(1)))
    booked = sa.select(sa.func.count()).select_from(Appointment).where(Appointment.desk_id == desk.id)
    assert db.session.scalar(booked) > 0 and tutor is not None

    def busy_week(column, value) -> str:
        """The week of the latest appointment of this desk or tutor: the agenda shows rows on both datasets
        (today's may be empty on the small one, and an empty agenda skips the names' statement)."""
        latest = db.session.scalar(sa.select(sa.func.max(Appointment.starts_at)).where(column == value))
        return f"vista=week&data={latest.astimezone(ROME).date().isoformat()}"

    pages = {
        "desk calendar (week)": (operator.email, f"/orari/{desk.id}/calendario", {}),
        "slot picker (fragment)": (operator.email, f"/appuntamenti/nuovo?person={person.id}&service="
                                   f"{desk.services[0]}&desk={desk.id}", htmx()),
        "bookings list": (operator.email, "/appuntamenti", {}),
        "agenda (operator)": (operator.email, f"/agenda?{busy_week(Appointment.desk_id, desk.id)}", {}),
        "agenda (tutor)": (tutor.email, f"/agenda?{busy_week(Appointment.tutor_id, tutor.id)}", {}),
        "people search (fragment)": (operator.email, "/giovani?q=a", htmx()),
        "person page": (operator.email, f"/giovani/{person.id}", {}),
        "notes list (tutor)": (tutor.email, "/note", {}),
        "notes list (coordinator)": (_user("coordinatore1.studentslab@").email, "/note", {}),
        "helpdesk queue (operator)": (operator.email, "/richieste", {}),
        "helpdesk search (fragment)": (operator.email, "/richieste?stato=tutte&q=a", htmx()),
        "helpdesk queue (admin)": (_user("admin1@").email, "/richieste", {}),
    }
    if any(rule.rule == "/monitoraggio" for rule in app.url_map.iter_rules()):
        pages["monitoring dashboard (admin)"] = (_user("admin1@").email, "/monitoraggio", {})
        pages["monitoring dashboard (coordinator)"] = (_user("coordinatore1.studentslab@").email, "/monitoraggio",
                                                       {})
    return pages


def _measure(app) -> tuple[dict[str, int], dict[str, int]]:
    """Statements per page, and the rows behind them (so the test knows the data really grew)."""
    clients: dict[str, object] = {}
    counts = {}
    for name, (email, url, headers) in _pages(app).items():
        client = clients.get(email)
        if client is None:
            client = clients[email] = app.test_client()
            assert login(client, email, benchdata.BENCH_PASSWORD).status_code == 303
        client.get(url, headers=headers)  # warm: per-process caches (holidays, templates) fill once
        with counting() as seen:
            response = client.get(url, headers=headers)
        assert response.status_code == 200, f"{name}: {response.status_code}"
        counts[name] = len(seen)
    sizes = {model.__tablename__: db.session.scalar(sa.select(sa.func.count()).select_from(model))
             for model in (Appointment, Note, Ticket, YoungPerson)}
    sizes["final notes"] = db.session.scalar(sa.select(sa.func.count()).select_from(Note)
                                             .where(Note.status == NoteStatus.FINAL))
    return counts, sizes


def test_statements_per_page_do_not_grow_with_the_data(app):
    quiet = lambda _message: None  # noqa: E731
    benchdata.generate(SMALL, history_days=HISTORY_DAYS, log=quiet)
    small, small_sizes = _measure(app)
    db.session.remove()
    _clean(app)
    benchdata.generate(LARGE, history_days=HISTORY_DAYS, log=quiet)
    large, large_sizes = _measure(app)

    assert large_sizes["appointments"] >= 8 * small_sizes["appointments"], (small_sizes, large_sizes)
    assert large_sizes["final notes"] > small_sizes["final notes"] > 0
    grown = {name: (small[name], large[name]) for name in small if large[name] > small[name]}
    assert not grown, f"statements grew with 10x the data (small, large): {grown}"
