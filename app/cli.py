"""Command-line tools: `flask seed-demo`, `flask demo-code`, `flask create-admin`, `flask send-outbox`."""

from __future__ import annotations

import time

import click
import sqlalchemy as sa
from flask import Flask, current_app

from app.extensions import db


def init_app(app: Flask) -> None:
    """Register the commands."""

    @app.cli.command("seed-demo")
    def seed_demo():
        """Load the partner network; with HUB_DEMO=1 also the demo people (idempotent)."""
        from app import seed
        from app.auth.services import hash_password

        orgs = seed.seed_network()
        if current_app.config["HUB_DEMO"]:
            seed.seed_demo_people(orgs, hash_password(seed.DEMO_PASSWORD))
            for hook in SEED_HOOKS:
                hook(orgs)
        db.session.commit()
        click.echo(f"Rete caricata: {len(orgs)} organizzazioni.")
        if current_app.config["HUB_DEMO"]:
            click.echo(f"Account dimostrativi (password: {seed.DEMO_PASSWORD}; secondo fattore: chiave TOTP "
                       "da aggiungere a un'app di autenticazione, oppure `flask demo-code EMAIL`):")
            for email, _name, role, org in seed.DEMO_ACCOUNTS:
                click.echo(f"  {email:<24} {role:<18} {org:<20} TOTP: {seed.demo_totp_secret(email)}")
            click.echo("Gli altri account dimostrativi: codice con `flask demo-code EMAIL`.")
        else:
            click.echo("HUB_DEMO non attivo: nessun account dimostrativo creato.")

    @app.cli.command("demo-code")
    @click.argument("email")
    def demo_code(email: str):
        """Print the current sign-in code of a demo account (HUB_DEMO=1 only): no phone needed."""
        from app import seed
        from app.auth import two_factor
        from app.auth.services import normalise_email
        from app.models import User

        if not current_app.config["HUB_DEMO"]:
            raise click.ClickException("Disponibile solo in modalità dimostrativa (HUB_DEMO=1).")
        email = normalise_email(email)
        if email not in {person[0] for person in seed.DEMO_PEOPLE}:
            raise click.ClickException("Non è un account dimostrativo.")
        user = db.session.scalar(sa.select(User).where(User.email == email))
        factor = two_factor.factor_of(user.id) if user is not None else None
        secret = two_factor.decrypt_secret(factor.secret_encrypted) if factor and factor.confirmed_at else None
        if secret is None:
            raise click.ClickException("Questo account non ha un secondo fattore attivo: esegui `flask seed-demo`.")
        step = two_factor.current_step()
        if factor.last_counter is not None and factor.last_counter >= step:
            step = factor.last_counter + 1  # the current code was used already: the next one is accepted too
        seconds = (step + 1) * two_factor.STEP_SECONDS - int(time.time())
        click.echo(f"{two_factor.code_for(secret, step)}  (valido per circa {max(seconds, 1)} secondi)")

    @app.cli.command("create-admin")
    @click.option("--email", prompt=True)
    @click.option("--name", prompt="Nome e cognome")
    @click.password_option()
    def create_admin(email: str, name: str, password: str):
        """Create an Ufficio di Piano administrator (first installation)."""
        from app import seed
        from app.auth.services import hash_password, normalise_email, validate_new_password
        from app.domain.errors import Invalid
        from app.models import Organisation, Role, User

        orgs = seed.seed_network()
        try:
            validate_new_password(password)
        except Invalid as error:
            raise click.ClickException(error.message) from None
        if db.session.scalar(sa.select(User).where(User.email == normalise_email(email))):
            raise click.ClickException("Esiste già un account con questo indirizzo.")
        office = orgs["Ufficio di Piano"]
        assert isinstance(office, Organisation)
        db.session.add(User(email=normalise_email(email), full_name=name, role=Role.ADMIN,
                            organisation_id=office.id, password_hash=hash_password(password)))
        db.session.commit()
        click.echo("Amministratore creato.")

    @app.cli.command("send-outbox")
    @click.option("--limit", default=200, show_default=True)
    def send_outbox(limit: int):
        """Deliver queued e-mail (run every minute from cron or a systemd timer)."""
        from app import mail

        sent = mail.deliver_pending(limit)
        click.echo(f"Messaggi inviati: {sent}")

    @app.cli.command("send-reminders")
    @click.option("--deliver/--no-deliver", default=True, show_default=True)
    def send_reminders(deliver: bool):
        """Queue tomorrow's appointment reminders (cron, daily; never twice) and deliver the outbox."""
        from app import mail
        from app.bookings import messages

        queued = messages.send_reminders()
        sent = mail.deliver_pending(1000) if deliver else 0
        click.echo(f"Promemoria accodati: {queued}; messaggi inviati: {sent}")

    @app.cli.command("audit-verify")
    @click.option("--batch-size", default=1000, show_default=True)
    def audit_verify(batch_size: int):
        """Check the audit log's hash chain; exit 1 at the first broken link."""
        from app.audit import chain_head, verify_chain
        from app.formatting import format_datetime
        from app.models import AuditEvent

        ok, broken_id, checked = verify_chain(batch_size)
        if not ok:
            entry = db.session.get(AuditEvent, broken_id)
            at = f"{format_datetime(entry.at)} (ora italiana)" if entry else "?"
            click.echo(f"Registro attività ALTERATO: catena interrotta alla voce {broken_id} del {at}, "
                       f"dopo {checked - 1} voci integre.", err=True)
            raise SystemExit(1)
        click.echo(f"Registro attività integro: {checked} voci verificate.")
        head = chain_head()
        if head is not None:
            # Kept elsewhere, the last hash also reveals a later removal of the newest entries.
            click.echo(f"Ultima voce: {head.id} del {format_datetime(head.at)}, hash {head.hash}")

    from app.ops.cli import register as register_ops

    register_ops(app)  # flask backup PATH, flask restore PATH


# Later areas register functions(orgs) that add their demo data.
SEED_HOOKS: list = []

from app.desks.demo import seed_desks  # noqa: E402 - registered after SEED_HOOKS exists

SEED_HOOKS.append(seed_desks)

from app.bookings.demo import seed_bookings  # noqa: E402 - after the desks: it books at their desks

SEED_HOOKS.append(seed_bookings)

from app.helpdesk.demo import seed_tickets  # noqa: E402 - after the bookings: booked tickets link their appointments

SEED_HOOKS.append(seed_tickets)

from app.notes.demo import seed_notes  # noqa: E402 - after the bookings: notes go on their attended sessions

SEED_HOOKS.append(seed_notes)

from app.reports.demo import seed_history  # noqa: E402 - last: it writes history before the bookings demo's

SEED_HOOKS.append(seed_history)

from app.reports.demo import seed_quarterly_report  # noqa: E402 - an issued report for the observer to download

SEED_HOOKS.append(seed_quarterly_report)
