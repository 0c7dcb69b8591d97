"""Fixtures of the sign-in tests."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import OutboxMessage

SESSION_COOKIE = "hub_session"


@pytest.fixture
def outbox(app):
    """Function returning the queued messages for a recipient, oldest first."""

    def messages(recipient: str | None = None) -> list[OutboxMessage]:
        query = sa.select(OutboxMessage).order_by(OutboxMessage.id)
        if recipient is not None:
            query = query.where(OutboxMessage.recipient == recipient)
        db.session.expire_all()
        return list(db.session.scalars(query))

    return messages


def link_path(message: OutboxMessage) -> str:
    """The path of the password link inside an e-mail body."""
    match = re.search(r"https?://[^/\s]+(/password/reset/\S+)", message.body_text)
    assert match, message.body_text
    return match.group(1)


def field_error(html: str, field_id: str) -> str:
    """The text shown under a form field, or '' when there is none."""
    match = re.search(rf'id="{field_id}-err">([^<]*)<', html)
    return match.group(1).strip() if match else ""
