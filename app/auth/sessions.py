"""Server-side sessions behind Flask-Login: the cookie carries a token, the row decides."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import Flask, current_app, session
from flask_login import LoginManager, login_user, logout_user

from app import audit
from app.extensions import db
from app.models import User, UserFactor, UserSession
from app.models.base import utcnow
from app.models.user import hash_token, new_token

TOUCH_EVERY = timedelta(minutes=1)


# Whether the account has a confirmed authenticator, asked in the same statement as the session (the
# two-factor gate needs it on every request of admins, coordinators and tutors); two_factor.has_second_factor
# reads it from the user under this key.
SECOND_FACTOR_KEY = "_has_second_factor"
_CONFIRMED_FACTOR = (
    sa.exists().where(UserFactor.user_id == User.id, UserFactor.confirmed_at.is_not(None)).label("has_factor")
)
# Built once: every signed-in request runs it, and building it cost as much as the database's answer.
_SESSION_OF_TOKEN = (
    sa.select(User, UserSession.id, UserSession.created_at, UserSession.last_seen_at, UserSession.revoked_at,
              _CONFIRMED_FACTOR)
    .join(UserSession, UserSession.user_id == User.id)
    .where(UserSession.token_hash == sa.bindparam("token_hash", required=True))
)


def load_user_from_token(token: str) -> User | None:
    """Flask-Login's user_loader: a live, unexpired, unrevoked session row.

    One statement per request: the session's times, the account with its organisation, and whether a second
    factor is confirmed.
    """
    if not token or len(token) > 100:
        return None
    found = db.session.execute(_SESSION_OF_TOKEN, {"token_hash": hash_token(token)}).first()
    if found is None:
        return None
    user, session_id, created_at, last_seen_at, revoked_at, has_factor = found
    if revoked_at is not None or not user.is_active:
        return None
    now = utcnow()
    idle = timedelta(minutes=current_app.config["SESSION_IDLE_MINUTES"])
    absolute = timedelta(hours=current_app.config["SESSION_ABSOLUTE_HOURS"])
    if now - last_seen_at > idle or now - created_at > absolute:
        db.session.execute(sa.update(UserSession).where(UserSession.id == session_id).values(revoked_at=now))
        db.session.commit()
        return None
    if now - last_seen_at > TOUCH_EVERY:
        db.session.execute(sa.update(UserSession).where(UserSession.id == session_id).values(last_seen_at=now))
        db.session.commit()
    user.__dict__[SECOND_FACTOR_KEY] = bool(has_factor)
    user.current_session_token = token
    return user


def start_session(user: User) -> None:
    """Open a new server-side session and bind it to a fresh cookie (no fixation)."""
    token = new_token()
    db.session.add(UserSession(token_hash=hash_token(token), user_id=user.id))
    # A plain UPDATE: signing in must not bump User.version and make an open admin form stale.
    db.session.execute(sa.update(User).where(User.id == user.id).values(last_login_at=utcnow()))
    db.session.commit()
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    user.current_session_token = token
    login_user(user, remember=False)


def end_session(user: User) -> None:
    """Revoke the current session row, then clear the cookie."""
    token = getattr(user, "current_session_token", None)
    audit.record("auth.logout", actor=user, object_type="user", object_id=user.id)
    if token:
        db.session.execute(
            sa.update(UserSession)
            .where(UserSession.token_hash == hash_token(token), UserSession.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
    db.session.commit()
    logout_user()
    session.clear()


def revoke_all_sessions(user_id: int) -> int:
    """Revoke every open session of an account (password change, deactivation)."""
    result = db.session.execute(
        sa.update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return result.rowcount or 0


def init_app(app: Flask, login_manager: LoginManager) -> None:
    """Bind Flask-Login with our loader; the policy hook does the redirecting."""
    login_manager.init_app(app)
    login_manager.session_protection = "basic"
    login_manager.user_loader(load_user_from_token)
