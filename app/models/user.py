"""Staff accounts and their server-side sign-in sessions."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import UTCDateTime, utcnow
from app.models.organisation import Organisation


class Role:
    """The six roles of the BRIEF, in the order the interface lists them."""

    ADMIN = "admin"
    COORDINATOR = "coordinator"
    OPERATOR = "operator"
    TUTOR = "tutor"
    MUNICIPAL_CONTACT = "municipal_contact"
    OBSERVER = "observer"

    ALL = (ADMIN, COORDINATOR, OPERATOR, TUTOR, MUNICIPAL_CONTACT, OBSERVER)


class User(UserMixin, db.Model):
    """A member of staff of a partner organisation."""

    __tablename__ = "users"
    __table_args__ = (
        sa.CheckConstraint(
            "role IN ('admin', 'coordinator', 'operator', 'tutor', "
            "'municipal_contact', 'observer')",
            name="role_known",
        ),
        # Migration 0014: the accounts list is paged in name order.
        sa.Index("ix_users_full_name", "full_name", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    full_name: Mapped[str] = mapped_column(sa.String(120))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[str] = mapped_column(sa.String(32), index=True)
    organisation_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organisations.id", ondelete="RESTRICT"), index=True
    )
    active: Mapped[bool] = mapped_column(default=True)
    locale: Mapped[str] = mapped_column(sa.String(5), default="it")
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    organisation: Mapped[Organisation] = relationship(lazy="joined")

    __mapper_args__ = {"version_id_col": version}

    # Set when the user is loaded for a request: the session that carried it.
    current_session_token = None

    def get_id(self) -> str | None:
        """Flask-Login stores the session token, never the user id."""
        return self.current_session_token

    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return self.active and self.organisation.active

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role}>"


def hash_token(token: str) -> str:
    """Tokens are stored hashed so a database dump cannot be replayed as cookies."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    """A fresh unguessable token."""
    return secrets.token_urlsafe(32)


class UserSession(db.Model):
    """One signed-in browser. Logout or a password change revokes it for good."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(lazy="joined")
