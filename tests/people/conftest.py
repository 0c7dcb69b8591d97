"""Fixtures of the people tests: the bookings world, inside a request context for the services."""

from __future__ import annotations

import pytest

from tests.bookings.conftest import world  # noqa: F401 - re-exported fixture


@pytest.fixture(autouse=True)
def request_context(app):
    """Services translate their messages, which needs a request."""
    with app.test_request_context():
        yield
