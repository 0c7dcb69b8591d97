"""Desk fixtures: factories for desks and weekly intervals."""

from __future__ import annotations

from datetime import time

import pytest

from app.desks.services import Weekly
from app.extensions import db


def wk(weekday: int, start: str, end: str) -> Weekly:
    """A weekly interval from 'HH:MM' strings."""
    return Weekly(weekday, time.fromisoformat(start), time.fromisoformat(end))


@pytest.fixture
def make_desk(app, network):
    """Factory: a desk in a town (Segrate by default) run by Students Lab, with optional staff."""
    from app.models import Desk

    counter = {"n": 0}

    def make(town: str = "Segrate", partner: str = "Students Lab", operators=(), tutors=(), **overrides) -> Desk:
        counter["n"] += 1
        values = dict(name=f"Sportello di prova {counter['n']}", municipality_id=network[town].id,
                      partner_id=network[partner].id)
        values.update(overrides)
        desk = Desk(**values)
        desk.operators = list(operators)
        desk.tutors = list(tutors)
        db.session.add(desk)
        db.session.commit()
        return desk

    return make


@pytest.fixture
def admin(make_user):
    """An Ufficio di Piano administrator (not signed in)."""
    return make_user("admin")


@pytest.fixture
def request_ctx(app):
    """A request context, so services can translate their messages outside a view."""
    with app.test_request_context("/"):
        yield
