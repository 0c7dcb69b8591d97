"""Sign-in area routes: thin, the logic is in services.py, sessions.py and two_factor.py."""

from __future__ import annotations

import hashlib

from flask import current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app import audit
from app.auth import bp, services, two_factor
from app.auth.forms import ChangePasswordForm, CodeForm, LoginForm, ResetPasswordForm, ResetRequestForm
from app.auth.sessions import end_session, start_session
from app.domain.errors import Invalid
from app.extensions import db, limiter
from app.policy import before_second_factor, is_safe_next, public, requires

AFTER_ENROLMENT = "after_enrolment"


def _account_key_for(email: str) -> str:
    return "login-account:" + hashlib.sha256(services.normalise_email(email).encode()).hexdigest()


def _account_key() -> str:
    """Rate-limit key for failed sign-ins: the submitted e-mail, hashed (exists or not)."""
    return _account_key_for(request.form.get("email", "")[:254])


def _pending_account_key() -> str:
    """The same key at the code step, for the account whose password was right."""
    data = two_factor.pending_data()
    return str(data.get("k")) if data and data.get("k") else "login-account:none"


def _email_pseudonym(email: str) -> str:
    return audit.pseudonym(services.normalise_email(email), "email")


def _login_failed(response) -> bool:
    return response.status_code != 303


def _throttled(_limit) -> None:
    """Audit a sign-in refused by a rate limit: one entry per refused request, no lookups."""
    if g.get("login_throttle_recorded"):
        return
    g.login_throttle_recorded = True
    if request.endpoint == "auth.login_code":
        data = two_factor.pending_data() or {}
        details = {"step": "code", "email_pseudonym": str(data.get("e") or "")}
    else:
        details = {"step": "password", "email_pseudonym": _email_pseudonym(request.form.get("email", "")[:254])}
    audit.record_now("auth.login_throttled", details=details)


def _failures_per_account() -> str:
    return current_app.config["LOGIN_FAILURES_PER_ACCOUNT"]


def _per_address() -> str:
    return current_app.config["LOGIN_LIMIT_PER_ADDRESS"]


@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit(_per_address, methods=["POST"], on_breach=_throttled)
@limiter.shared_limit(_failures_per_account, scope="login-account", key_func=_account_key, methods=["POST"],
                      deduct_when=_login_failed, on_breach=_throttled)
def login():
    """Sign in with e-mail and password; then the code, when the account has a second factor."""
    if current_user.is_authenticated:
        return redirect(url_for("main.dashboard"))
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if form.validate_on_submit():
        user = services.authenticate(form.email.data, form.password.data)
        if user is not None:
            target = form.next.data if is_safe_next(form.next.data) else url_for("main.dashboard")
            if two_factor.has_second_factor(user):
                two_factor.begin_pending(user, _account_key(), _email_pseudonym(form.email.data), target)
                return redirect(url_for("auth.login_code"), code=303)
            audit.record("auth.login", actor=user, object_type="user", object_id=user.id,
                         details={"method": "password"})
            start_session(user)  # commits the audit entry with the new session
            current_app.logger.info("sign-in", extra={"user_id": user.id})
            if two_factor.must_enrol(user):
                session[AFTER_ENROLMENT] = target
                return redirect(url_for("auth.two_factor_setup"), code=303)
            return redirect(target, code=303)
        current_app.logger.info("sign-in failed")
        # Only a keyed hash of the submitted address: repeated attempts correlate, the address is not stored.
        audit.record_now("auth.login_failed", details={"email_pseudonym": _email_pseudonym(form.email.data)})
        form.password.errors.append(_("E-mail o password non corretti."))
    status = 422 if request.method == "POST" else 200
    return render_template("auth/login.html", form=form), status


@bp.route("/login/codice", methods=["GET", "POST"])
@public
@limiter.limit(_per_address, methods=["POST"], on_breach=_throttled)
@limiter.shared_limit(_failures_per_account, scope="login-account", key_func=_pending_account_key,
                      methods=["POST"], deduct_when=_login_failed, on_breach=_throttled)
def login_code():
    """Second step of sign-in: a code of the authenticator app or a recovery code."""
    if current_user.is_authenticated:
        return redirect(url_for("main.dashboard"))
    found = two_factor.pending_user()
    if found is None:
        two_factor.clear_pending()
        flash(_("La verifica è scaduta o non è più valida: accedi di nuovo."), "warning")
        return redirect(url_for("auth.login"), code=303)
    user, data = found
    form = CodeForm()
    if form.validate_on_submit():
        method = two_factor.verify(user, form.code.data)
        if method is not None:
            audit.record("auth.login", actor=user, object_type="user", object_id=user.id,
                         details={"method": method})
            start_session(user)  # also forgets the pending sign-in
            current_app.logger.info("sign-in", extra={"user_id": user.id})
            if method == "recovery":
                flash(_("Hai usato un codice di recupero: ne restano %(n)d. Puoi generarne di nuovi da "
                        "«Sicurezza dell'account».", n=two_factor.remaining_recovery_codes(user)), "warning")
            target = data.get("n") if is_safe_next(data.get("n")) else url_for("main.dashboard")
            return redirect(target, code=303)
        db.session.rollback()
        current_app.logger.info("second factor failed", extra={"user_id": user.id})
        two_factor.record_failure(user, "login")
        form.code.errors.append(_("Codice non valido o già usato. Inserisci il codice a 6 cifre che l'app "
                                  "mostra ora, oppure uno dei codici di recupero."))
    status = 422 if request.method == "POST" else 200
    return render_template("auth/login_code.html", form=form), status


# --- Account security: the second factor ---------------------------------------------------

@bp.get("/account/sicurezza")
@requires("account.self")
def security():
    """Sicurezza dell'account: the second factor, its recovery codes."""
    user = current_user._get_current_object()
    enrolled = two_factor.has_second_factor(user)
    return render_template("auth/security.html", enrolled=enrolled, required=two_factor.is_required(user),
                           remaining=two_factor.remaining_recovery_codes(user) if enrolled else 0,
                           form=CodeForm())


@bp.route("/account/sicurezza/attiva", methods=["GET", "POST"])
@requires("account.self")
@before_second_factor
def two_factor_setup():
    """Enrol an authenticator app: QR code or secret by hand, then a code to confirm."""
    user = current_user._get_current_object()
    if two_factor.has_second_factor(user):
        return redirect(url_for("auth.security"))
    form = CodeForm()
    if form.validate_on_submit():
        try:
            codes = two_factor.confirm_enrolment(user, form.code.data)
        except Invalid as error:
            form.code.errors.append(error.message)
        else:
            target = session.get(AFTER_ENROLMENT)
            target = target if is_safe_next(target) else url_for("main.dashboard")
            start_session(user)  # a new session token for the stronger sign-in
            return render_template("auth/recovery_codes.html", codes=codes, target=target, enrolled_now=True)
    _factor, secret = two_factor.pending_enrolment(user)
    status = 422 if request.method == "POST" else 200
    return render_template(
        "auth/two_factor_setup.html", form=form, required=two_factor.must_enrol(user),
        secret=two_factor.grouped(secret), qr=two_factor.qr_svg(two_factor.provisioning_uri(user, secret)),
    ), status


@bp.post("/account/sicurezza/codici")
@requires("account.self")
def recovery_codes():
    """New recovery codes (a current code of the app is needed); the old ones stop working."""
    user = current_user._get_current_object()
    form = CodeForm()
    if form.validate_on_submit():
        try:
            codes = two_factor.regenerate_recovery_codes(user, form.code.data)
        except Invalid as error:
            form.code.errors.append(error.message)
        else:
            return render_template("auth/recovery_codes.html", codes=codes, target=url_for("auth.security"),
                                   enrolled_now=False)
    enrolled = two_factor.has_second_factor(user)
    return render_template("auth/security.html", enrolled=enrolled, required=two_factor.is_required(user),
                           remaining=two_factor.remaining_recovery_codes(user) if enrolled else 0,
                           form=form, failed="codes"), 422


@bp.post("/account/sicurezza/disattiva")
@requires("account.self")
def two_factor_disable():
    """Remove one's own authenticator, where the role does not require it."""
    user = current_user._get_current_object()
    form = CodeForm()
    if form.validate_on_submit():
        try:
            two_factor.disable(user, form.code.data)
        except Invalid as error:
            form.code.errors.append(error.message)
        else:
            flash(_("Verifica in due passaggi disattivata."), "success")
            return redirect(url_for("auth.security"), code=303)
    enrolled = two_factor.has_second_factor(user)
    return render_template("auth/security.html", enrolled=enrolled, required=two_factor.is_required(user),
                           remaining=two_factor.remaining_recovery_codes(user) if enrolled else 0,
                           form=form, failed="disable"), 422


@bp.post("/logout")
@requires("account.self")
@before_second_factor
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
