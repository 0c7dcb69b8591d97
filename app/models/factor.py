"""Second factors of sign-in: one TOTP authenticator per account and its one-time recovery codes."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.base import UTCDateTime, utcnow


class UserFactor(db.Model):
    """An authenticator app (TOTP, RFC 6238) bound to an account.

    The shared secret is stored encrypted (Fernet, key from HUB_TOTP_KEY or SECRET_KEY). Until
    `confirmed_at` is set the enrolment is in progress and the factor is not used for sign-in.
    `last_counter` is the last accepted 30-second time step: a code of that step or an earlier one
    is refused, so an observed code cannot be replayed.
    """

    __tablename__ = "user_factors"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    secret_encrypted: Mapped[str] = mapped_column(sa.String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_counter: Mapped[int | None] = mapped_column(sa.BigInteger)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RecoveryCode(db.Model):
    """A one-time recovery code (120 random bits), stored as its SHA-256 only."""

    __tablename__ = "recovery_codes"
    __table_args__ = (sa.UniqueConstraint("user_id", "code_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
