"""E-mail through the outbox: queue in the caller's transaction, deliver afterwards.

A mail server that is down delays messages but never blocks or loses the change
that caused them. Delivery claims rows with `SKIP LOCKED` on PostgreSQL, so
several app instances or cron runs never send the same message twice.
"""

from __future__ import annotations

import smtplib
import threading
from datetime import timedelta
from email.message import EmailMessage
from email.utils import make_msgid

import sqlalchemy as sa
from flask import Flask, current_app, g, has_request_context

from app.extensions import db
from app.models import OutboxMessage
from app.models.base import utcnow

MAX_ATTEMPTS = 12


def queue_mail(
    recipient: str,
    subject: str,
    body: str,
    *,
    dedup_key: str | None = None,
    attachment: tuple[str, str, str] | None = None,
) -> OutboxMessage:
    """Add a message to the outbox in the current transaction (the caller commits)."""
    message = OutboxMessage(recipient=recipient, subject=subject[:200], body_text=body, dedup_key=dedup_key)
    if attachment:
        message.attachment_name, message.attachment_type, message.attachment_text = attachment
    db.session.add(message)
    if has_request_context():
        g.outbox_queued = True  # delivered right after the response (see init_app)
    return message


def _backoff(attempts: int) -> timedelta:
    """1, 2, 4 … minutes, capped at six hours."""
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 360))


def _build(message: OutboxMessage) -> EmailMessage:
    email = EmailMessage()
    email["From"] = current_app.config["MAIL_DEFAULT_SENDER"]
    email["To"] = message.recipient
    email["Subject"] = message.subject
    email["Message-ID"] = make_msgid(domain="hub-dei-talenti.invalid")
    email.set_content(message.body_text)
    if message.attachment_text is not None:
        maintype, _, subtype = (message.attachment_type or "text/plain").partition("/")
        subtype, _, params = subtype.partition(";")
        email.add_attachment(
            message.attachment_text.encode(),
            maintype=maintype,
            subtype=subtype.strip(),
            filename=message.attachment_name,
        )
    return email


def _send(email: EmailMessage) -> None:
    config = current_app.config
    if not config["MAIL_SERVER"]:
        folder = config["INSTANCE_DIR"] / "mail"
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{utcnow():%Y%m%dT%H%M%S%f}.eml"
        (folder / name).write_bytes(bytes(email))
        return
    smtp_class = smtplib.SMTP_SSL if config["MAIL_USE_SSL"] else smtplib.SMTP
    with smtp_class(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=config["MAIL_TIMEOUT"]) as smtp:
        if config["MAIL_USE_TLS"]:
            smtp.starttls()
        if config["MAIL_USERNAME"]:
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
        smtp.send_message(email)


CLAIM_LEASE = timedelta(minutes=10)


def _due_query(now):
    return (
        sa.select(OutboxMessage)
        .where(
            OutboxMessage.sent_at.is_(None),
            OutboxMessage.next_attempt_at <= now,
            OutboxMessage.attempts < MAX_ATTEMPTS,
        )
        .order_by(OutboxMessage.id)
        .limit(1)
    )


def _claim_next(now) -> OutboxMessage | None:
    """The next due message, reserved for this drain.

    PostgreSQL: the row stays locked (`FOR UPDATE SKIP LOCKED`) until this drain commits,
    so parallel drains on several nodes skip it. SQLite has no row locks: the row is
    leased instead (its next attempt pushed past the lease) in a serialised write, so a
    second drain running at the same time does not pick it up.
    """
    if db.engine.dialect.name == "postgresql":
        return db.session.scalar(_due_query(now).with_for_update(skip_locked=True))
    from app.database import serialised_write

    with serialised_write() as session:
        message = session.scalar(_due_query(now))
        if message is not None:
            message.next_attempt_at = now + CLAIM_LEASE
    return message


def deliver_pending(limit: int = 50) -> int:
    """Send due messages one by one, each in its own short transaction. Returns how many were sent."""
    sent = 0
    for _ in range(limit):
        now = utcnow()
        message = _claim_next(now)
        if message is None:
            db.session.rollback()
            break
        try:
            _send(_build(message))
        except (OSError, smtplib.SMTPException) as exc:
            message.attempts += 1
            message.next_attempt_at = now + _backoff(message.attempts)
            message.last_error = type(exc).__name__[:300]
            current_app.logger.warning("mail delivery failed, will retry (attempt %s)", message.attempts)
        else:
            message.attempts += 1
            message.sent_at = utcnow()
            sent += 1
        db.session.commit()
    return sent


def deliver_in_background(app: Flask) -> None:
    """Drain the outbox in a daemon thread after the request (no-op when disabled)."""
    if not app.config.get("MAIL_BACKGROUND_DELIVERY", True):
        return

    def run():
        with app.app_context():
            try:
                deliver_pending()
            except Exception:  # the cron command will try again
                app.logger.exception("background mail delivery failed")
            finally:
                db.session.remove()

    threading.Thread(target=run, daemon=True, name="outbox").start()


def init_app(app: Flask) -> None:
    """After a successful request that queued e-mail, start delivering it at once.

    The cron job (`flask send-outbox`) remains the safety net for retries and restarts.
    """

    @app.after_request
    def kick_outbox(response):
        if g.pop("outbox_queued", False) and response.status_code < 400:
            deliver_in_background(app)
        return response
