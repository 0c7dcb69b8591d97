"""Configuration classes: every value comes from the environment."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
INSTANCE_DIR = Path(os.environ.get("HUB_INSTANCE_DIR", BASE_DIR / "instance"))

DEFAULT_SECRETS = {"", "dev", "change-me", "changeme", "secret", "development"}


def _bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _database_url(default: str) -> str:
    url = os.environ.get("DATABASE_URL", default)
    # psycopg 3 is the driver we ship; accept the common short forms.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _local_secret_key() -> str:
    """A random key kept in instance/ so development sessions survive restarts.

    Never a hard-coded fallback: each installation gets its own key.
    """
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    path = INSTANCE_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


class Config:
    """Settings shared by every environment."""

    ENV_NAME = "base"
    SECRET_KEY = os.environ.get("SECRET_KEY", "")
    SQLALCHEMY_DATABASE_URI = _database_url(f"sqlite:///{INSTANCE_DIR / 'hub.db'}")
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    REDIS_URL = os.environ.get("REDIS_URL", "")
    HUB_DEMO = _bool("HUB_DEMO")
    INSTANCE_DIR = INSTANCE_DIR
    BASE_DIR = BASE_DIR
    ARCHIVE_DIR = Path(os.environ.get("HUB_ARCHIVE_DIR", INSTANCE_DIR / "archive"))

    # Mail: messages are queued in the outbox and delivered by SMTP.
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "25"))
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME", "")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD", "")
    MAIL_USE_TLS = _bool("MAIL_USE_TLS")
    MAIL_USE_SSL = _bool("MAIL_USE_SSL")
    MAIL_TIMEOUT = float(os.environ.get("MAIL_TIMEOUT", "10"))
    # Deliver right after the request that queued a message; `flask send-outbox` retries.
    MAIL_BACKGROUND_DELIVERY = _bool("MAIL_BACKGROUND_DELIVERY", True)
    MAIL_DEFAULT_SENDER = os.environ.get(
        "MAIL_DEFAULT_SENDER", "Hub dei Talenti <noreply@hub-dei-talenti.invalid>"
    )
    # Public base URL used in e-mailed links (the app may sit behind a proxy).
    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000")
    # Number of proxies in front of the app whose X-Forwarded-* headers we trust.
    PROXY_COUNT = int(os.environ.get("PROXY_COUNT", "0"))

    # Sessions: server-side rows; the cookie only carries a random token.
    SESSION_COOKIE_NAME = "hub_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_DURATION = 0
    SESSION_IDLE_MINUTES = int(os.environ.get("SESSION_IDLE_MINUTES", "30"))
    SESSION_ABSOLUTE_HOURS = int(os.environ.get("SESSION_ABSOLUTE_HOURS", "12"))
    PASSWORD_RESET_MAX_AGE = 3600
    PASSWORD_HASH_METHOD = "scrypt"  # noqa: S105 - a method name, not a secret
    PASSWORD_MIN_LENGTH = 12

    # Throttling of sign-in attempts (Flask-Limiter syntax).
    LOGIN_LIMIT_PER_ADDRESS = os.environ.get("LOGIN_LIMIT_PER_ADDRESS", "30 per minute")
    LOGIN_FAILURES_PER_ACCOUNT = os.environ.get("LOGIN_FAILURES_PER_ACCOUNT", "5 per 15 minutes")
    # Two-factor sign-in (TOTP). Secrets are encrypted with HUB_TOTP_KEY (comma-separated: the first
    # encrypts, all decrypt, for rotation); empty: a key derived from SECRET_KEY.
    TOTP_ENCRYPTION_KEY = os.environ.get("HUB_TOTP_KEY", "")
    TOTP_ISSUER = os.environ.get("HUB_TOTP_ISSUER", "Hub dei Talenti")
    SECOND_FACTOR_PENDING_MINUTES = int(os.environ.get("SECOND_FACTOR_PENDING_MINUTES", "5"))
    RATELIMIT_HEADERS_ENABLED = False
    RATELIMIT_SWALLOW_ERRORS = True  # a Redis outage must not stop sign-in

    WTF_CSRF_TIME_LIMIT = None  # tied to the session instead
    # Request size: no route takes files; the largest legitimate form is a session note (three text
    # fields of at most 50,000 characters each: under 1 MB urlencoded for Italian text). Larger: 413.
    MAX_CONTENT_LENGTH = 2 * 1024 * 1024
    MAX_FORM_MEMORY_SIZE = 2 * 1024 * 1024
    MAX_FORM_PARTS = 500  # multipart only (our forms send urlencoded); the queue's bulk assign sends the most

    # Accounts, audit, helpdesk and notes (defaults match the code's own defaults).
    ACCOUNT_INVITE_MAX_AGE = int(os.environ.get("ACCOUNT_INVITE_MAX_AGE", str(72 * 3600)))
    AUDIT_PSEUDONYM_KEY = os.environ.get("AUDIT_PSEUDONYM_KEY", "")  # empty: derived from SECRET_KEY
    AUDIT_RECORD_IP = _bool("AUDIT_RECORD_IP", True)  # a keyed hash of the address, never the address
    HELPDESK_LIMIT_PER_ADDRESS = os.environ.get("HELPDESK_LIMIT_PER_ADDRESS", "20 per minute")
    HELPDESK_SERVICE_LEVEL_DAYS = int(os.environ.get("HELPDESK_SERVICE_LEVEL_DAYS", "2"))
    NOTES_PDF_SHOW_NAME = _bool("NOTES_PDF_SHOW_NAME", False)
    NOTES_RENDER_TIMEOUT = int(os.environ.get("NOTES_RENDER_TIMEOUT", "30"))
    NOTES_RENDER_MEMORY_MB = int(os.environ.get("NOTES_RENDER_MEMORY_MB", "1024"))

    # Retention (GDPR art. 5.1.e): `flask retention --apply` acts on what is older than these periods.
    RETENTION_INACTIVE_PERSON_MONTHS = int(os.environ.get("RETENTION_INACTIVE_PERSON_MONTHS", "36"))
    RETENTION_NOTES_YEARS = int(os.environ.get("RETENTION_NOTES_YEARS", "10"))
    RETENTION_DRAFT_NOTES_MONTHS = int(os.environ.get("RETENTION_DRAFT_NOTES_MONTHS", "12"))
    RETENTION_TICKETS_MONTHS = int(os.environ.get("RETENTION_TICKETS_MONTHS", "24"))
    RETENTION_OUTBOX_DAYS = int(os.environ.get("RETENTION_OUTBOX_DAYS", "90"))
    RETENTION_SESSIONS_DAYS = int(os.environ.get("RETENTION_SESSIONS_DAYS", "30"))
    RETENTION_AUDIT_YEARS = int(os.environ.get("RETENTION_AUDIT_YEARS", "10"))
    # Contact of the data protection officer, shown in the privacy notice.
    PRIVACY_DPO_CONTACT = os.environ.get("PRIVACY_DPO_CONTACT", "rpd@comune.pioltello.mi.it")

    BABEL_DEFAULT_LOCALE = "it"
    BABEL_DEFAULT_TIMEZONE = "Europe/Rome"
    LANGUAGES = ("it", "en")
    HSTS = False

    @classmethod
    def finalise(cls, config: dict) -> None:
        """Fill values that depend on others, after overrides are applied."""
        if not config.get("SECRET_KEY"):
            config["SECRET_KEY"] = _local_secret_key()
        if not config.get("RATELIMIT_STORAGE_URI"):
            config["RATELIMIT_STORAGE_URI"] = config.get("REDIS_URL") or "memory://"


class DevelopmentConfig(Config):
    """Local use: `make run`."""

    ENV_NAME = "development"


class TestingConfig(Config):
    """The test suite: fast hashes, explicit database, no outside mail."""

    ENV_NAME = "testing"
    TESTING = True
    SECRET_KEY = "test-secret-key-not-for-production-" + "x" * 16
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"  # noqa: S105 - fast hashes for tests only
    TOTP_ENCRYPTION_KEY = "test-totp-key-not-for-production-" + "t" * 16  # shared with tests/ops nodes
    SQLALCHEMY_DATABASE_URI = _database_url(os.environ.get("TEST_DATABASE_URL", "sqlite://"))
    MAIL_SERVER = ""
    RATELIMIT_STORAGE_URI = "memory://"
    HUB_DEMO = True
    MAIL_BACKGROUND_DELIVERY = False


class ProductionConfig(Config):
    """Behind gunicorn and a TLS proxy: refuses to start without a real secret."""

    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = True
    HSTS = True

    @classmethod
    def finalise(cls, config: dict) -> None:
        key = config.get("SECRET_KEY") or ""
        if key.strip().lower() in DEFAULT_SECRETS or len(key) < 32:
            raise RuntimeError(
                "SECRET_KEY must be set to a random value of at least 32 characters "
                "in production (e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`)."
            )
        if config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite") and not _bool("HUB_ALLOW_SQLITE"):
            raise RuntimeError("Production needs DATABASE_URL pointing at PostgreSQL.")
        super().finalise(config)


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def config_from_env() -> type[Config]:
    """The configuration class named by HUB_ENV (development by default)."""
    name = os.environ.get("HUB_ENV", "development")
    try:
        return CONFIGS[name]
    except KeyError:
        raise RuntimeError(f"HUB_ENV must be one of {', '.join(CONFIGS)}, not {name!r}") from None
