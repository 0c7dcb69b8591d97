"""Two-factor sign-in: authenticator apps (TOTP, RFC 6238) and one-time recovery codes.

Admin, coordinator and tutor must have a confirmed factor (SECOND_FACTOR_ROLES in the policy);
the others may add one from their account page. TOTP secrets are stored encrypted (Fernet),
recovery codes as SHA-256 of 120 random bits. A time step accepted once for an account is
refused afterwards (replay), and every failed code counts towards the sign-in lockout.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time

import pyotp
import segno
import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app, session
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from app import audit, mail
from app.auth.services import password_fingerprint
from app.auth.sessions import SECOND_FACTOR_KEY, revoke_all_sessions
from app.domain.errors import Conflict, Invalid
from app.extensions import db
from app.models import RecoveryCode, User, UserFactor
from app.models.base import utcnow
from app.policy import SECOND_FACTOR_ROLES

STEP_SECONDS = 30
DIGITS = 6
VALID_WINDOW = 1  # the previous and the next 30-second step are accepted too (clock drift)
RECOVERY_CODE_COUNT = 10
# Crockford's base32 in lower case: no i, l, o, u to misread; 24 characters = 120 bits.
RECOVERY_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
RECOVERY_LENGTH = 24
PENDING_KEY = "pending_second_factor"

audit.register_action("auth.2fa_failed", _l("Codice di verifica non valido"))
audit.register_action("auth.2fa_enrolled", _l("Verifica in due passaggi attivata"))
audit.register_action("auth.2fa_disabled", _l("Verifica in due passaggi disattivata"))
audit.register_action("auth.2fa_reset", _l("Secondo fattore azzerato dall'amministrazione"))
audit.register_action("auth.recovery_code_used", _l("Codice di recupero usato"))
audit.register_action("auth.recovery_codes_regenerated", _l("Codici di recupero rigenerati"))
audit.register_action("auth.login_throttled", _l("Accesso bloccato per troppi tentativi"))


# --- Secrets at rest -------------------------------------------------------------------

def _fernet_for(material: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"hub-totp-secrets").derive(material.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def _cipher() -> MultiFernet:
    configured = [k.strip() for k in (current_app.config.get("TOTP_ENCRYPTION_KEY") or "").split(",") if k.strip()]
    return MultiFernet([_fernet_for(k) for k in configured or [current_app.config["SECRET_KEY"]]])


def encrypt_secret(secret: str) -> str:
    """The secret encrypted with the current key (first of HUB_TOTP_KEY)."""
    return _cipher().encrypt(secret.encode()).decode()


def decrypt_secret(token: str) -> str | None:
    """The base32 secret, or None when no configured key opens it (key lost or changed)."""
    try:
        return _cipher().decrypt(token.encode()).decode()
    except InvalidToken:
        return None


# --- Presentation ---------------------------------------------------------------------------

def grouped(secret: str, size: int = 4) -> str:
    """A secret or code in groups, for typing it by hand."""
    return " ".join(secret[i:i + size] for i in range(0, len(secret), size))


def provisioning_uri(user: User, secret: str) -> str:
    """The otpauth:// address an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=current_app.config["TOTP_ISSUER"])


def qr_svg(uri: str) -> Markup:
    """The QR code as inline SVG, drawn on the server (no script, no outside service)."""
    svg = segno.make(uri, error="m").svg_inline(
        scale=5, border=4, dark="#000", light="#fff", svgclass="totp-qr",
        title=_("Codice QR da inquadrare con l'app di autenticazione"),
    )
    return Markup(svg.replace("<svg ", '<svg role="img" ', 1))  # noqa: S704 - segno's own SVG, no user input


# --- Who needs what ------------------------------------------------------------------------

def factor_of(user_id: int) -> UserFactor | None:
    """The account's factor row (confirmed or being enrolled)."""
    return db.session.scalar(sa.select(UserFactor).where(UserFactor.user_id == user_id))


def has_second_factor(user: User) -> bool:
    """True when the account has a confirmed authenticator (cached for the request; the user loader fills it)."""
    cached = user.__dict__.get(SECOND_FACTOR_KEY)
    if cached is None:
        cached = db.session.scalar(
            sa.select(sa.func.count()).select_from(UserFactor)
            .where(UserFactor.user_id == user.id, UserFactor.confirmed_at.is_not(None))
        ) > 0
        user.__dict__[SECOND_FACTOR_KEY] = cached
    return cached


def is_required(user: User) -> bool:
    """The role must use a second factor."""
    return user.role in SECOND_FACTOR_ROLES


def must_enrol(user: User) -> bool:
    """Signed in with a password only, in a role that needs a second factor: enrolment first."""
    return is_required(user) and not has_second_factor(user)


# --- TOTP ------------------------------------------------------------------------------------

def new_secret() -> str:
    """A fresh 160-bit base32 secret."""
    return pyotp.random_base32()


def current_step(now: float | None = None) -> int:
    """The 30-second time step of `now` (Unix time)."""
    return int((time.time() if now is None else now) // STEP_SECONDS)


def code_for(secret: str, step: int) -> str:
    """The 6-digit code of a time step."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).generate_otp(step)


def _matching_step(secret: str, code: str, now: float | None = None) -> int | None:
    """The accepted time step the code belongs to, or None. Every candidate is compared."""
    found = None
    base = current_step(now)
    for step in range(base - VALID_WINDOW, base + VALID_WINDOW + 1):
        if hmac.compare_digest(code_for(secret, step), code):
            found = step
    return found


def _accept_totp(factor: UserFactor, code: str, now: float | None = None) -> bool:
    """Accept a code once: the step must be newer than the last accepted one (atomic)."""
    secret = decrypt_secret(factor.secret_encrypted)
    if secret is None:
        current_app.logger.error("TOTP secret cannot be decrypted: check HUB_TOTP_KEY/SECRET_KEY")
        return False
    step = _matching_step(secret, code, now)
    if step is None:
        return False
    result = db.session.execute(
        sa.update(UserFactor)
        .where(UserFactor.id == factor.id,
               sa.or_(UserFactor.last_counter.is_(None), UserFactor.last_counter < step))
        .values(last_counter=step, last_used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


# --- Recovery codes ---------------------------------------------------------------------------

def _hash_code(code: str) -> str:
    return hashlib.sha256(f"hub-recovery:{code}".encode()).hexdigest()


def _normalise_recovery(code: str) -> str:
    cleaned = "".join(ch for ch in code.lower() if ch.isalnum())
    return cleaned.translate(str.maketrans({"i": "1", "l": "1", "o": "0"}))


def new_recovery_codes(user: User) -> list[str]:
    """Replace every recovery code of the account with 10 fresh ones (the caller commits)."""
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = ["".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_LENGTH))
             for _ in range(RECOVERY_CODE_COUNT)]
    db.session.add_all(RecoveryCode(user_id=user.id, code_hash=_hash_code(c)) for c in codes)
    return [grouped(c, 4).replace(" ", "-") for c in codes]


def remaining_recovery_codes(user: User) -> int:
    """Recovery codes not used yet."""
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    )


def _use_recovery_code(user: User, code: str) -> bool:
    cleaned = _normalise_recovery(code)
    if len(cleaned) != RECOVERY_LENGTH:
        return False
    result = db.session.execute(
        sa.update(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.code_hash == _hash_code(cleaned),
               RecoveryCode.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


# --- Checking a code --------------------------------------------------------------------------

def _clean_code(code: str | None) -> str:
    return "".join((code or "").split())[:64]


def _looks_like_totp(cleaned: str) -> bool:
    """Six ASCII digits ("²" passes isdigit(), and compare_digest refuses non-ASCII text)."""
    return cleaned.isascii() and cleaned.isdigit() and len(cleaned) == DIGITS


def verify(user: User, code: str | None, *, allow_recovery: bool = True) -> str | None:
    """Check a code of a confirmed factor: "totp" or "recovery" when accepted (the caller commits)."""
    factor = factor_of(user.id)
    if factor is None or factor.confirmed_at is None:
        return None
    cleaned = _clean_code(code)
    if _looks_like_totp(cleaned):
        return "totp" if _accept_totp(factor, cleaned) else None
    if allow_recovery and _use_recovery_code(user, cleaned):
        audit.record("auth.recovery_code_used", actor=user, object_type="user", object_id=user.id,
                     details={"remaining": remaining_recovery_codes(user)})
        _notify(user, _("è stato usato un codice di recupero per accedere."))
        return "recovery"
    return None


def record_failure(user: User, step: str) -> None:
    """Audit a refused code at once (the request's transaction is rolled back or empty)."""
    audit.record_now("auth.2fa_failed", actor=user if step != "login" else None, object_type="user",
                     object_id=user.id, details={"step": step})


# --- Enrolment and management -----------------------------------------------------------------

def _notify(user: User, what: str) -> None:
    """Tell the person by e-mail that the sign-in of their account changed (the caller commits)."""
    body = _(
        "Buongiorno %(name)s,\n\nsul tuo account dell'intranet Hub dei Talenti: %(what)s\n\n"
        "Se non sei stato tu, avvisa subito l'Ufficio di Piano.\n\n"
        "Ufficio di Piano — Distretto Sociale Est Milano",
        name=user.full_name, what=what,
    )
    mail.queue_mail(user.email, _("Hub dei Talenti: sicurezza del tuo account"), body)


def pending_enrolment(user: User) -> tuple[UserFactor, str]:
    """The factor being enrolled and its secret; created on first call, kept until confirmed."""
    factor = factor_of(user.id)
    if factor is not None and factor.confirmed_at is not None:
        raise Conflict(_("La verifica in due passaggi è già attiva su questo account."))
    secret = decrypt_secret(factor.secret_encrypted) if factor is not None else None
    if factor is None:
        secret = new_secret()
        factor = UserFactor(user_id=user.id, secret_encrypted=encrypt_secret(secret))
        db.session.add(factor)
    elif secret is None:  # unreadable with today's key: start over with a new secret
        secret = new_secret()
        factor.secret_encrypted = encrypt_secret(secret)
    db.session.commit()
    return factor, secret


def confirm_enrolment(user: User, code: str | None) -> list[str]:
    """Confirm the authenticator with a code from it; returns the recovery codes (shown once)."""
    factor = factor_of(user.id)
    if factor is None or factor.confirmed_at is not None:
        raise Conflict(_("Non c'è una configurazione in corso: ricarica la pagina."))
    cleaned = _clean_code(code)
    if not _looks_like_totp(cleaned) or not _accept_totp(factor, cleaned):
        db.session.rollback()
        raise Invalid(_("Il codice non è corretto. Controlla che l'orologio del telefono sia esatto e "
                        "inserisci il codice a 6 cifre che l'app mostra ora."), field="code")
    factor.confirmed_at = utcnow()
    codes = new_recovery_codes(user)
    audit.record("auth.2fa_enrolled", actor=user, object_type="user", object_id=user.id)
    _notify(user, _("è stata attivata la verifica in due passaggi."))
    db.session.commit()
    user.__dict__[SECOND_FACTOR_KEY] = True
    return codes


def regenerate_recovery_codes(user: User, code: str | None) -> list[str]:
    """New recovery codes after checking a current authenticator code; the old ones stop working."""
    if verify(user, code, allow_recovery=False) is None:
        db.session.rollback()
        record_failure(user, "recovery_codes")
        raise Invalid(_("Il codice non è corretto: inserisci il codice a 6 cifre che l'app mostra ora."),
                      field="code")
    codes = new_recovery_codes(user)
    audit.record("auth.recovery_codes_regenerated", actor=user, object_type="user", object_id=user.id)
    _notify(user, _("sono stati generati nuovi codici di recupero; quelli precedenti non valgono più."))
    db.session.commit()
    return codes


def _remove_factor(user_id: int) -> None:
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
    db.session.execute(sa.delete(UserFactor).where(UserFactor.user_id == user_id))


def disable(user: User, code: str | None) -> None:
    """Remove one's own factor (roles where it is optional), after checking a current code."""
    if is_required(user):
        raise Invalid(_("Per il tuo ruolo la verifica in due passaggi è obbligatoria."))
    if verify(user, code, allow_recovery=False) is None:
        db.session.rollback()
        record_failure(user, "disable")
        raise Invalid(_("Il codice non è corretto: inserisci il codice a 6 cifre che l'app mostra ora."),
                      field="code")
    _remove_factor(user.id)
    audit.record("auth.2fa_disabled", actor=user, object_type="user", object_id=user.id)
    _notify(user, _("è stata disattivata la verifica in due passaggi."))
    db.session.commit()
    user.__dict__[SECOND_FACTOR_KEY] = False


def reset(actor: User, target: User) -> int:
    """Administration: remove the account's factor and recovery codes, close all its sessions.

    The person enrols again at the next sign-in. Returns the number of sessions closed.
    """
    _remove_factor(target.id)
    closed = revoke_all_sessions(target.id)
    audit.record("auth.2fa_reset", actor=actor, object_type="user", object_id=target.id,
                 details={"sessions_closed": closed})
    _notify(target, _("l'amministrazione ha azzerato la verifica in due passaggi e chiuso le sessioni aperte; "
                      "al prossimo accesso la configurerai di nuovo."))
    db.session.commit()
    return closed


def enrol_with_secret(user: User, secret: str) -> UserFactor:
    """Give an account a confirmed factor with a known secret (demo accounts, test fixtures)."""
    factor = factor_of(user.id)
    if factor is None:
        factor = UserFactor(user_id=user.id, secret_encrypted="")
        db.session.add(factor)
    factor.secret_encrypted = encrypt_secret(secret)
    factor.confirmed_at = factor.confirmed_at or utcnow()
    return factor


# --- The sign-in waiting for its code ---------------------------------------------------------

def begin_pending(user: User, account_key: str, email_pseudonym: str, next_url: str) -> None:
    """Remember, in the signed session cookie, a sign-in whose password was right."""
    session[PENDING_KEY] = {"u": user.id, "t": int(time.time()), "f": password_fingerprint(user),
                            "k": account_key, "e": email_pseudonym, "n": next_url or ""}


def pending_data() -> dict | None:
    """The raw pending sign-in, expired or not (for rate-limit keys)."""
    data = session.get(PENDING_KEY)
    return data if isinstance(data, dict) else None


def pending_user() -> tuple[User, dict] | None:
    """The user of a pending sign-in that is recent and still valid, with its data."""
    data = pending_data()
    if data is None:
        return None
    age = time.time() - float(data.get("t", 0))
    if not 0 <= age <= current_app.config["SECOND_FACTOR_PENDING_MINUTES"] * 60:
        return None
    user = db.session.get(User, data.get("u")) if isinstance(data.get("u"), int) else None
    if user is None or not user.is_active or data.get("f") != password_fingerprint(user):
        return None
    return user, data


def clear_pending() -> None:
    """Forget the pending sign-in."""
    session.pop(PENDING_KEY, None)
