"""Answers every area's views share: a page or its fragment, a service error on its form, what follows a POST."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request


def is_htmx() -> bool:
    """True when htmx sent the request (it is then answered with a fragment)."""
    return request.headers.get("HX-Request") == "true"


def page_or_fragment(page: str, fragment: str, status: int = 200, **context):
    """The full page, or only its partial when htmx asks (Vary is set globally)."""
    return render_template(fragment if is_htmx() else page, **context), status


def redirect_after_post(target: str, message: str | None = None):
    """After a successful POST: a flash message, then 303 for browsers or HX-Redirect for htmx."""
    if message:
        flash(message, "success")
    if is_htmx():
        response = current_app.response_class(status=204)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target, code=303)


def show_error(form, error) -> None:
    """Show a service error (DomainError) next to its field, or above the form when the field is hidden or absent."""
    field = getattr(form, error.field, None) if error.field else None
    if field is not None and hasattr(field, "errors") and getattr(field, "type", "") != "HiddenField":
        field.errors = [*field.errors, error.message]
    else:
        form.form_errors.append(error.message)
