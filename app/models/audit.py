"""The tamper-evident audit log: an append-only hash chain of who did what, when.

Rows are written only by `app.audit` (which assigns the id and the hash under a
lock); the database refuses UPDATE, DELETE (and, on PostgreSQL, TRUNCATE)
through triggers created by migration 0004.
"""

from __future__ import annotations

import json
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import UTCDateTime
from app.models.user import User

# prev_hash of the first entry of the chain.
GENESIS_HASH = "0" * 64


class AuditEvent(db.Model):
    """One entry of the audit chain. Never updated or deleted."""

    __tablename__ = "audit_events"
    __table_args__ = (
        # A fork (two entries claiming the same predecessor) is impossible in the schema.
        sa.UniqueConstraint("prev_hash", name="uq_audit_events_prev_hash"),
        sa.UniqueConstraint("hash", name="uq_audit_events_hash"),
        sa.CheckConstraint("length(hash) = 64 AND length(prev_hash) = 64", name="hashes_are_sha256"),
        sa.CheckConstraint("action <> ''", name="action_present"),
        sa.Index("ix_audit_events_at", "at"),
        sa.Index("ix_audit_events_object", "object_type", "object_id"),
    )

    # Assigned by app.audit as last id + 1 under the chain lock: ids are gap-free in chain order.
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    # The role at the time of the event (roles change; the log must not).
    actor_role: Mapped[str | None] = mapped_column(sa.String(32))
    action: Mapped[str] = mapped_column(sa.String(64), index=True)
    object_type: Mapped[str | None] = mapped_column(sa.String(40))
    object_id: Mapped[str | None] = mapped_column(sa.String(64))
    # Why a protected record was opened (break-glass); free text written by the actor.
    reason: Mapped[str | None] = mapped_column(sa.String(500))
    # Canonical JSON (sorted keys) of a small dict: stored as text so the hash covers these exact bytes.
    details_json: Mapped[str] = mapped_column("details", sa.Text, default="{}")
    # Keyed hash (HMAC) of the client address: lets an admin correlate, never reveals the address.
    ip_hash: Mapped[str | None] = mapped_column(sa.String(64))
    prev_hash: Mapped[str] = mapped_column(sa.String(64))
    hash: Mapped[str] = mapped_column(sa.String(64))

    actor: Mapped[User | None] = relationship(lazy="joined")

    @property
    def details(self) -> dict:
        """The details as a dict."""
        try:
            value = json.loads(self.details_json or "{}")
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}

    def __repr__(self) -> str:
        return f"<AuditEvent {self.id} {self.action}>"
