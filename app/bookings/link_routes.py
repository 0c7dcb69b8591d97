"""The young person's private link: see, confirm or cancel one appointment without an account."""

from __future__ import annotations

from flask import abort, redirect, render_template, request, url_for

from app.bookings import bp, messages
from app.domain.errors import DomainError, NotFound
from app.extensions import limiter
from app.policy import public

LINK_LIMIT = "30 per minute"


def _view(token: str) -> messages.LinkView:
    try:
        return messages.find_link(token)
    except NotFound:
        abort(404)


def _render(view: messages.LinkView, status: int = 200, error: str | None = None, done: str | None = None):
    response = render_template("bookings/link.html", view=view, a=view.appointment, error=error, done=done,
                               tutor_name=messages.tutor_first_name(view.appointment.tutor),
                               token=request.view_args["token"])
    return response, status, {"X-Robots-Tag": "noindex", "Cache-Control": "no-store"}


@bp.get("/a/<token>")
@public
@limiter.limit(LINK_LIMIT)
def link(token: str):
    """What the private link shows: when, where, with whom (first name), and confirm/cancel buttons."""
    return _render(_view(token), done=request.args.get("fatto"))


@bp.post("/a/<token>/<action>")
@public
@limiter.limit(LINK_LIMIT)
def link_action(token: str, action: str):
    """Confirm or cancel through the private link; 409 when the link no longer allows it."""
    if action not in ("conferma", "annulla"):
        abort(404)
    _view(token)  # 404 for an unknown token
    try:
        if action == "conferma":
            messages.confirm_by_link(token)
        else:
            messages.cancel_by_link(token, request.form.get("motivo", ""))
    except DomainError as error:
        return _render(_view(token), error.status_code, error.message)
    return redirect(url_for("bookings.link", token=token, fatto=action), code=303)
