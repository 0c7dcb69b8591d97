"""Admin routes: thin views over services.py, scoped by the policy module."""

from __future__ import annotations

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.admin import bp, services
from app.admin.forms import Choice, OrganisationForm, UserFilterForm, UserForm, int_or_none
from app.domain import numbers
from app.domain.errors import Conflict, DomainError, Invalid, Stale
from app.extensions import db
from app.formatting import organisation_kind_label, role_label
from app.htmx import is_htmx as _is_htmx
from app.htmx import page_or_fragment as _page_or_fragment
from app.htmx import redirect_after_post, show_error
from app.models import Organisation
from app.policy import (
    assignable_organisations,
    assignable_roles,
    get_organisation_or_404,
    get_user_or_404,
    has_permission,
    requires,
    scoped_organisations,
)


def _done(endpoint: str, message: str, **values):
    """After a successful POST: back to an admin page (303, or HX-Redirect for htmx)."""
    return redirect_after_post(url_for(endpoint, **values), message)


def _differences(form, saved: dict[str, tuple[object, str]]) -> list[tuple[str, str]]:
    """After a stale save: the fields whose saved value now differs from what was sent, as (label, saved value)."""
    changes = []
    for name, (value, shown) in saved.items():
        sent = form[name].data
        if isinstance(value, str):
            sent, value = " ".join(str(sent or "").split()), " ".join(value.split())
            if name == "email":  # stored normalised
                sent, value = sent.lower(), value.lower()
        if sent != value:
            changes.append((str(form[name].label.text), shown or _("(vuoto)")))
    return changes


# --- Accounts ------------------------------------------------------------------

def _filters_from(form: UserFilterForm) -> services.UserFilters:
    return services.UserFilters(
        q=(form.q.data or "")[:100], role=form.role.data or "",
        organisation_id=form.organisation.data, status=form.status.data or "",
    )


def _page_number() -> int:
    return numbers.int_or_none(request.args.get("pagina")) or 1


@bp.get("/utenti")
@requires("users.view")
def users():
    """Accounts the viewer may manage, a page at a time, with active search (htmx gets the results only)."""
    form = UserFilterForm(request.args)
    form.role.choices = [Choice("", _("Tutti i ruoli"))] + [
        Choice(r, role_label(r)) for r in assignable_roles(current_user)
    ]
    organisations = db.session.scalars(
        scoped_organisations(sa.select(Organisation), current_user).order_by(Organisation.name)
    ).all()
    form.organisation.choices = [Choice("", _("Tutte le organizzazioni"))] + [Choice(o.id, o.name) for o in organisations]
    result = services.search_users(current_user, _filters_from(form), _page_number())
    # The page links carry the filters that are set, so page 2 of a search is page 2 of that search.
    args = {name: value for name in ("q", "role", "organisation", "status") if (value := request.args.get(name))}
    return _page_or_fragment("admin/users.html", "admin/_users.html", form=form, result=result, args=args,
                             filtered=bool(args), can_manage=has_permission(current_user, "users.manage"))


def _user_form(target=None, formdata=None) -> UserForm:
    form = UserForm(formdata=formdata, obj=target)
    form.set_choices(assignable_roles(current_user), _organisation_choices(target), role_label)
    if target is not None:
        del form.email  # the address is the sign-in name: not edited here
        if formdata is None:
            form.version.data = str(target.version)
    return form


def _organisation_choices(target) -> list[Organisation]:
    organisations = assignable_organisations(current_user)
    if target is not None and target.organisation not in organisations:
        organisations.append(target.organisation)
    return organisations


@bp.route("/utenti/nuovo", methods=["GET", "POST"])
@requires("users.manage")
def user_create():
    """Create an account; the person receives a link to choose their password."""
    form = _user_form(formdata=request.form if request.method == "POST" else None)
    if request.method == "GET" and len(form.organisation_id.choices) == 2:
        form.organisation_id.data = form.organisation_id.choices[1].value
    status = 200
    if form.validate_on_submit():
        try:
            user = services.create_user(
                current_user, full_name=form.full_name.data, email=form.email.data,
                role=form.role.data, organisation_id=int_or_none(form.organisation_id.data),
            )
        except Invalid as error:
            show_error(form, error)
        else:
            return _done("admin.users", _("Account di %(name)s creato: abbiamo inviato un'e-mail a %(email)s "
                                          "con il collegamento per scegliere la password.",
                                          name=user.full_name, email=user.email))
    if request.method == "POST":
        status = 422
    return _page_or_fragment("admin/user_form.html", "admin/_user_form.html", status, form=form, target=None)


@bp.route("/utenti/<int:user_id>", methods=["GET", "POST"])
@requires("users.manage")
def user_edit(user_id: int):
    """Edit name, role and organisation; a form opened on an older version gets 409."""
    target = get_user_or_404(user_id, current_user)
    form = _user_form(target, formdata=request.form if request.method == "POST" else None)
    status, changes = 200, None
    if form.validate_on_submit():
        try:
            services.update_user(
                current_user, target, full_name=form.full_name.data, role=form.role.data,
                organisation_id=int_or_none(form.organisation_id.data), version=form.version.data,
            )
        except Conflict as error:
            db.session.rollback()
            form.form_errors.append(error.message)
            status = 409
            if isinstance(error, Stale):
                # The person's input stays in the form; above it, what is saved now where it differs.
                target = get_user_or_404(user_id, current_user)
                changes = _differences(form, {
                    "full_name": (target.full_name, target.full_name),
                    "role": (target.role, role_label(target.role)),
                    "organisation_id": (target.organisation_id, target.organisation.name),
                })
                form.version.data = str(target.version)
        except Invalid as error:
            show_error(form, error)
            status = 422
        else:
            return _done("admin.users", _("Dati di %(name)s aggiornati.", name=target.full_name))
    elif request.method == "POST":
        status = 422
    return _page_or_fragment("admin/user_form.html", "admin/_user_form.html", status, form=form, target=target,
                             changes=changes)


@bp.post("/utenti/<int:user_id>/stato")
@requires("users.manage")
def user_set_active(user_id: int):
    """Deactivate (all sessions closed) or reactivate an account."""
    target = get_user_or_404(user_id, current_user)
    active = request.form.get("active") == "1"
    error = None
    try:
        services.set_user_active(current_user, target, active, request.form.get("version"))
    except DomainError as exc:
        db.session.rollback()
        target = get_user_or_404(user_id, current_user)
        error = exc
    if _is_htmx():
        notice = error.message if error else (
            _("Account riattivato.") if target.active else _("Account disattivato: le sue sessioni sono chiuse."))
        status = error.status_code if error else 200
        return render_template("admin/_user_row.html", u=target, notice=notice, failed=bool(error)), status
    if error:
        flash(error.message, "danger")
        return redirect(url_for("admin.users"), code=303)
    message = (_("Account di %(name)s riattivato.", name=target.full_name) if target.active
               else _("Account di %(name)s disattivato: le sue sessioni sono state chiuse.", name=target.full_name))
    return _done("admin.users", message)


@bp.post("/utenti/<int:user_id>/invito")
@requires("users.manage")
def user_invite(user_id: int):
    """E-mail the person a new link to choose their password."""
    target = get_user_or_404(user_id, current_user)
    try:
        services.resend_invitation(current_user, target)
    except Invalid as error:
        flash(error.message, "danger")
        return redirect(url_for("admin.user_edit", user_id=target.id), code=303)
    return _done("admin.user_edit", _("Collegamento inviato a %(email)s.", email=target.email), user_id=target.id)


@bp.post("/utenti/<int:user_id>/secondo-fattore")
@requires("users.reset_factor")
def user_reset_factor(user_id: int):
    """Remove the person's authenticator and recovery codes (lost phone): all sessions closed."""
    from app.auth import two_factor

    target = get_user_or_404(user_id, current_user)
    two_factor.reset(current_user._get_current_object(), target)
    return _done("admin.user_edit", _("Verifica in due passaggi di %(name)s azzerata e sessioni chiuse: "
                                      "al prossimo accesso la configurerà di nuovo.", name=target.full_name),
                 user_id=target.id)


# --- Partner organisations -------------------------------------------------------

@bp.get("/partner")
@requires("partners.view")
def organisations():
    """Partner organisations of the network."""
    query = scoped_organisations(sa.select(Organisation), current_user).order_by(Organisation.name)
    return _page_or_fragment(
        "admin/organisations.html", "admin/_organisations.html",
        organisations=db.session.scalars(query).all(),
        can_manage=has_permission(current_user, "partners.manage"),
    )


def _organisation_data(form: OrganisationForm) -> services.OrganisationData:
    return services.OrganisationData(
        name=form.name.data or "", short_name=form.short_name.data or "", kind=form.kind.data or "",
        istat_code=form.istat_code.data or "", role_in_programme=form.role_in_programme.data or "",
        address=form.address.data or "", email=form.email.data or "", phone=form.phone.data or "",
        website=form.website.data or "", active=bool(form.active.data),
    )


@bp.route("/partner/nuovo", methods=["GET", "POST"], defaults={"organisation_id": None})
@bp.route("/partner/<int:organisation_id>", methods=["GET", "POST"])
@requires("partners.manage")
def organisation_edit(organisation_id: int | None):
    """Create a partner, or edit one; a form opened on an older version gets 409 and saves nothing."""
    organisation = get_organisation_or_404(organisation_id, current_user) if organisation_id else None
    # A POST is read from what was sent only: a missing field is empty (and refused), never the stored value,
    # and a missing "active" box cannot quietly deactivate the partner behind an empty request.
    posted = request.method == "POST"
    form = OrganisationForm(formdata=request.form if posted else None, obj=None if posted else organisation)
    form.set_choices(organisation_kind_label)
    if organisation is not None and not posted:
        form.version.data = str(organisation.version)
    status, changes = 200, None
    if form.validate_on_submit():
        try:
            if organisation is None:
                organisation = services.create_organisation(current_user, _organisation_data(form))
                message = _("Partner %(name)s aggiunto.", name=organisation.name)
            else:
                services.update_organisation(current_user, organisation, _organisation_data(form),
                                             form.version.data)
                message = _("Dati di %(name)s aggiornati.", name=organisation.name)
        except DomainError as error:
            db.session.rollback()
            show_error(form, error)
            status = error.status_code
            if isinstance(error, Stale):
                # The person's input stays in the form; above it, what is saved now where it differs. The form
                # now carries the current version: saving again is a choice made after seeing the differences.
                organisation = get_organisation_or_404(organisation.id, current_user)
                changes = _differences(form, _organisation_shown(organisation))
                form.version.data = str(organisation.version)
        else:
            return _done("admin.organisations", message)
    elif posted:
        status = 422
    return _page_or_fragment("admin/organisation_form.html", "admin/_organisation_form.html", status,
                             form=form, organisation=organisation, changes=changes)


def _organisation_shown(organisation: Organisation) -> dict[str, tuple[object, str]]:
    """The saved fields of a partner, as values to compare with a form and as shown to the person."""
    shown = {name: (getattr(organisation, name) or "", getattr(organisation, name) or "") for name in (
        "name", "short_name", "istat_code", "role_in_programme", "address", "email", "phone", "website")}
    shown["kind"] = (organisation.kind, organisation_kind_label(organisation.kind))
    shown["active"] = (organisation.active, _("sì") if organisation.active else _("no"))
    return shown
