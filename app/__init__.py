"""Hub dei Talenti intranet: the application factory."""

from __future__ import annotations

import logging

from flask import Flask, request, session
from werkzeug.middleware.proxy_fix import ProxyFix

from app.config import Config, config_from_env
from app.extensions import babel, csrf, db, limiter, login_manager, migrate


def create_app(config: type[Config] | None = None, **overrides) -> Flask:
    """Build the app from a config class (HUB_ENV by default) plus overrides."""
    config = config or config_from_env()
    app = Flask(__name__, instance_path=str(config.INSTANCE_DIR), instance_relative_config=False)
    app.config.from_object(config)
    app.config.update(overrides)
    config.finalise(app.config)
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)

    if app.config["PROXY_COUNT"]:
        n = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)

    from app import logs

    logs.init_app(app)

    db.init_app(app)
    from app import database

    database.init_app(app)
    migrate.init_app(app, db, directory=str(config.BASE_DIR / "migrations"))
    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=_select_locale, timezone_selector=lambda: "Europe/Rome")

    from app.auth import sessions

    sessions.init_app(app, login_manager)

    from app import errors, formatting, mail, navigation, policy, security

    app.before_request(policy.enforce_declared_access)
    security.init_app(app)
    errors.init_app(app)
    formatting.init_app(app)
    navigation.init_app(app)
    mail.init_app(app)

    from app.admin import bp as admin_bp
    from app.auth import bp as auth_bp
    from app.bookings import bp as bookings_bp
    from app.desks import bp as desks_bp
    from app.helpdesk import bp as helpdesk_bp
    from app.main import bp as main_bp
    from app.people import bp as people_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(admin_bp, url_prefix="/admin")
    app.register_blueprint(desks_bp)
    app.register_blueprint(people_bp)
    app.register_blueprint(bookings_bp)
    app.register_blueprint(helpdesk_bp)

    from app.notes import bp as notes_bp

    app.register_blueprint(notes_bp)

    from app.audit import bp as audit_bp

    app.register_blueprint(audit_bp, url_prefix="/admin/registro")

    from app.ops import bp as ops_bp

    app.register_blueprint(ops_bp)

    from app.reports import bp as reports_bp

    app.register_blueprint(reports_bp)

    from app.privacy import bp as privacy_bp

    app.register_blueprint(privacy_bp)

    from app import cli

    cli.init_app(app)
    return app


def _select_locale() -> str:
    """Italian unless the person chose another language (stored in the session)."""
    from flask import current_app

    lang = session.get("lang")
    if lang in current_app.config["LANGUAGES"]:
        return lang
    if request.args.get("lang") in current_app.config["LANGUAGES"]:
        return request.args["lang"]
    return current_app.config["BABEL_DEFAULT_LOCALE"]


logging.getLogger("weasyprint").setLevel(logging.ERROR)
