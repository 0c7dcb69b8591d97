"""Outgoing e-mail, written in the same transaction as the change it reports."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.base import UTCDateTime, utcnow


class OutboxMessage(db.Model):
    """An e-mail waiting to be sent, or already sent (kept for the record)."""

    __tablename__ = "outbox_messages"
    __table_args__ = (sa.Index("ix_outbox_pending", "sent_at", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(sa.String(254))
    subject: Mapped[str] = mapped_column(sa.String(200))
    body_text: Mapped[str] = mapped_column(sa.Text)
    # Optional attachment (e.g. an iCalendar invitation), stored as text.
    attachment_name: Mapped[str | None] = mapped_column(sa.String(100))
    attachment_type: Mapped[str | None] = mapped_column(sa.String(100))
    attachment_text: Mapped[str | None] = mapped_column(sa.Text)
    # A stable key so the same logical message is never queued twice.
    dedup_key: Mapped[str | None] = mapped_column(sa.String(120), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str] = mapped_column(sa.String(300), default="")
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
