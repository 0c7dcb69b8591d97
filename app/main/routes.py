"""Routes of the main area."""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app, jsonify, redirect, render_template, request, session, url_for
from flask_login import current_user

from app.extensions import db
from app.main import bp
from app.policy import is_safe_next, public, requires


@bp.get("/")
@requires("dashboard.view")
def dashboard():
    """The signed-in home page: what this role can do from here."""
    return render_template("main/dashboard.html", user=current_user)


@bp.get("/accessibilita")
@public
def accessibility():
    """The accessibility statement (AgID model)."""
    return render_template("main/accessibility.html")


@bp.get("/privacy")
@public
def privacy():
    """The privacy notice for staff and the public."""
    return render_template("main/privacy.html")


@bp.post("/lingua")
@public
def set_language():
    """Switch the interface language (Italian or English) for this browser."""
    lang = request.form.get("lang", "")
    if lang in current_app.config["LANGUAGES"]:
        session["lang"] = lang
    target = request.form.get("next", "")
    return redirect(target if is_safe_next(target) else url_for("main.dashboard"), code=303)


@bp.get("/healthz")
@public
def healthz():
    """Liveness with a database round-trip: 200 when it answers, 503 otherwise."""
    try:
        db.session.execute(sa.text("SELECT 1"))
        db.session.rollback()
    except Exception:
        db.session.rollback()
        current_app.logger.warning("health check: database unreachable")
        return jsonify(status="error", database="unreachable"), 503
    return jsonify(status="ok", database="ok")
