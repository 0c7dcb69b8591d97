"""Use cases of accounts: authenticate, change and reset a password."""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from flask import current_app, url_for
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.security import check_password_hash, generate_password_hash

from app import mail
from app.auth.sessions import revoke_all_sessions
from app.domain.errors import Invalid
from app.extensions import db
from app.models import User
from app.models.base import utcnow

# Compared against when the e-mail is unknown, so both paths cost the same time.
_DUMMY_HASHES: dict[str, str] = {}


def normalise_email(email: str) -> str:
    """E-mail addresses are compared trimmed and lower-cased."""
    return (email or "").strip().lower()


def hash_password(password: str) -> str:
    """Hash with the configured method (scrypt; fast pbkdf2 only in tests)."""
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def _dummy_hash() -> str:
    method = current_app.config["PASSWORD_HASH_METHOD"]
    if method not in _DUMMY_HASHES:
        _DUMMY_HASHES[method] = generate_password_hash("not-a-password", method=method)
    return _DUMMY_HASHES[method]


def authenticate(email: str, password: str) -> User | None:
    """The active user with these credentials, or None. Same cost whether the e-mail exists or not."""
    user = db.session.scalar(sa.select(User).where(User.email == normalise_email(email)))
    if user is None:
        check_password_hash(_dummy_hash(), password or "")
        return None
    if not check_password_hash(user.password_hash, password or "") or not user.is_active:
        return None
    return user


def validate_new_password(password: str, user: User | None = None) -> None:
    """Raise Invalid unless the password is long enough and not trivially guessable."""
    minimum = current_app.config["PASSWORD_MIN_LENGTH"]
    if len(password) < minimum:
        raise Invalid(_("La password deve avere almeno %(n)d caratteri.", n=minimum), field="new_password")
    if len(password) > 128:
        raise Invalid(_("La password può avere al massimo 128 caratteri."), field="new_password")
    lowered = password.lower()
    if user is not None and user.email.split("@")[0] in lowered:
        raise Invalid(_("La password non può contenere il tuo indirizzo e-mail."), field="new_password")
    if len(set(password)) < 5:
        raise Invalid(_("La password è troppo semplice: usa più caratteri diversi."), field="new_password")


def set_password(user: User, password: str) -> None:
    """Store a new password and revoke every session opened with the old one."""
    validate_new_password(password, user)
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    revoke_all_sessions(user.id)


def change_password(user: User, current_password: str, new_password: str) -> None:
    """Change one's own password after checking the current one."""
    if not check_password_hash(user.password_hash, current_password or ""):
        raise Invalid(_("La password attuale non è corretta."), field="current_password")
    set_password(user, new_password)
    db.session.commit()


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="password-reset")


def password_fingerprint(user: User) -> str:
    """Changes whenever the password does: a reset link works once, a pending sign-in dies with a new password."""
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


# A reset link is asked for by the person and lives an hour; an invitation is
# sent by an administrator and waits a few days for the newcomer.
RESET, INVITE = "reset", "invite"


def _max_age(purpose: str) -> int:
    if purpose == INVITE:
        return int(current_app.config.get("ACCOUNT_INVITE_MAX_AGE", 72 * 3600))
    return int(current_app.config["PASSWORD_RESET_MAX_AGE"])


def make_reset_token(user: User, purpose: str = RESET) -> str:
    """A signed one-time token bound to the current password hash."""
    return _serializer().dumps({"u": user.id, "f": password_fingerprint(user), "p": purpose})


def account_link(user: User, purpose: str = RESET) -> str:
    """The absolute link to choose a password, for an e-mail."""
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + url_for(
        "auth.reset_password", token=make_reset_token(user, purpose)
    )


def request_password_reset(email: str) -> None:
    """Queue a reset link if the account exists and is active; silent otherwise (no enumeration)."""
    user = db.session.scalar(sa.select(User).where(User.email == normalise_email(email)))
    if user is None or not user.is_active:
        return
    body = _(
        "Buongiorno,\n\nè stato chiesto di reimpostare la password del tuo account dell'intranet "
        "Hub dei Talenti. Per sceglierne una nuova apri questo collegamento entro un'ora:\n\n%(link)s\n\n"
        "Se non sei stato tu, ignora questo messaggio: la password resta invariata.\n\n"
        "Ufficio di Piano — Distretto Sociale Est Milano",
        link=account_link(user),
    )
    mail.queue_mail(user.email, _("Hub dei Talenti: reimpostazione della password"), body)
    db.session.commit()


def queue_invitation(user: User) -> None:
    """Queue the welcome e-mail with a link to choose a first password (the caller commits)."""
    days = _max_age(INVITE) // 86400 or 1
    body = _(
        "Buongiorno %(name)s,\n\nl'Ufficio di Piano ha creato il tuo account dell'intranet "
        "Hub dei Talenti (%(email)s). Per attivarlo scegli la tua password da questo collegamento, "
        "valido per %(days)d giorni e utilizzabile una sola volta:\n\n%(link)s\n\n"
        "Se il collegamento è scaduto, usa «Password dimenticata?» nella pagina di accesso.\n\n"
        "Ufficio di Piano — Distretto Sociale Est Milano",
        name=user.full_name, email=user.email, days=days, link=account_link(user, INVITE),
    )
    mail.queue_mail(user.email, _("Hub dei Talenti: il tuo nuovo account"), body)


def read_account_token(token: str) -> tuple[User, str] | None:
    """The user and purpose of a valid, unused, unexpired token; None otherwise."""
    try:
        data, signed_at = _serializer().loads(token, max_age=_max_age(INVITE), return_timestamp=True)
    except BadSignature:  # SignatureExpired is a BadSignature too
        return None
    if not isinstance(data, dict):
        return None
    purpose = data.get("p", RESET)
    if purpose not in (RESET, INVITE) or (utcnow() - signed_at).total_seconds() > _max_age(purpose):
        return None
    user = db.session.get(User, data.get("u")) if isinstance(data.get("u"), int) else None
    if user is None or not user.is_active or data.get("f") != password_fingerprint(user):
        return None
    return user, purpose


def user_for_reset_token(token: str) -> User | None:
    """The user a valid, unused, unexpired token belongs to."""
    found = read_account_token(token)
    return found[0] if found else None


def reset_password(token: str, new_password: str) -> User:
    """Set a new password through a reset link."""
    user = user_for_reset_token(token)
    if user is None:
        raise Invalid(_("Il collegamento non è valido o è scaduto. Chiedine uno nuovo."))
    set_password(user, new_password)
    db.session.commit()
    return user
