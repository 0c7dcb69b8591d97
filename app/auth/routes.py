"""Sign-in area routes: thin, the logic is in services.py and sessions.py."""

from __future__ import annotations

import hashlib

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app import audit
from app.auth import bp, services
from app.auth.forms import ChangePasswordForm, LoginForm, ResetPasswordForm, ResetRequestForm
from app.auth.sessions import end_session, start_session
from app.domain.errors import Invalid
from app.extensions import limiter
from app.policy import is_safe_next, public, requires


def _account_key() -> str:
    """Rate-limit key for failed sign-ins: the submitted e-mail, hashed (exists or not)."""
    email = services.normalise_email(request.form.get("email", ""))
    return "login-account:" + hashlib.sha256(email.encode()).hexdigest()


def _login_failed(response) -> bool:
    return response.status_code != 303


@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_ADDRESS"], methods=["POST"])
@limiter.limit(
    lambda: current_app.config["LOGIN_FAILURES_PER_ACCOUNT"],
    key_func=_account_key,
    methods=["POST"],
    deduct_when=_login_failed,
    scope="login-account",
)
def login():
    """Sign in with e-mail and password."""
    if current_user.is_authenticated:
        return redirect(url_for("main.dashboard"))
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if form.validate_on_submit():
        user = services.authenticate(form.email.data, form.password.data)
        if user is not None:
            audit.record("auth.login", actor=user, object_type="user", object_id=user.id)
            start_session(user)  # commits the audit entry with the new session
            current_app.logger.info("sign-in", extra={"user_id": user.id})
            target = form.next.data if is_safe_next(form.next.data) else url_for("main.dashboard")
            return redirect(target, code=303)
        current_app.logger.info("sign-in failed")
        # Only a keyed hash of the submitted address: repeated attempts correlate, the address is not stored.
        audit.record_now("auth.login_failed", details={
            "email_pseudonym": audit.pseudonym(services.normalise_email(form.email.data), "email")})
        form.password.errors.append(_("E-mail o password non corretti."))
    status = 422 if request.method == "POST" else 200
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
@requires("account.self")
def logout():
    """Sign out: the server-side session is revoked, so a copied cookie stops working."""
    end_session(current_user)
    flash(_("Sei uscito dall'intranet."), "success")
    return redirect(url_for("auth.login"), code=303)


@bp.route("/account/password", methods=["GET", "POST"])
@requires("account.self")
def change_password():
    """Change one's own password; every other session is closed."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        try:
            services.change_password(user, form.current_password.data, form.new_password.data)
        except Invalid as error:
            getattr(form, error.field or "new_password").errors.append(error.message)
        else:
            audit.record("auth.password_changed", actor=user, object_type="user", object_id=user.id)
            start_session(user)
            flash(_("Password cambiata. Le altre sessioni aperte sono state chiuse."), "success")
            return redirect(url_for("main.dashboard"), code=303)
    status = 422 if request.method == "POST" else 200
    return render_template("auth/change_password.html", form=form), status


@bp.route("/password/reset", methods=["GET", "POST"])
@public
@limiter.limit("5 per 15 minutes", methods=["POST"])
def request_reset():
    """Ask for a reset link; the answer is the same whether the e-mail exists or not."""
    form = ResetRequestForm()
    if form.validate_on_submit():
        services.request_password_reset(form.email.data)
        flash(
            _("Se l'indirizzo corrisponde a un account attivo, riceverai a breve un'e-mail con il collegamento."),
            "info",
        )
        return redirect(url_for("auth.login"), code=303)
    status = 422 if request.method == "POST" else 200
    return render_template("auth/reset_request.html", form=form), status


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@public
@limiter.limit("10 per 15 minutes", methods=["POST"])
def reset_password(token: str):
    """Choose a password from an e-mailed reset or invitation link (works once, then expires)."""
    found = services.read_account_token(token)
    if found is None:
        return render_template("auth/reset_invalid.html"), 404
    purpose = found[1]
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            user = services.reset_password(token, form.new_password.data)
        except Invalid as error:
            form.new_password.errors.append(error.message)
        else:
            audit.record_now("auth.password_reset", actor=user, object_type="user", object_id=user.id,
                             details={"purpose": purpose})
            flash(_("Password impostata. Ora puoi accedere."), "success")
            return redirect(url_for("auth.login"), code=303)
    status = 422 if request.method == "POST" else 200
    return render_template("auth/reset_password.html", form=form, token=token, purpose=purpose), status
