"""Audit screen: filters, pages and CSV export of the log (admin only: permission audit.read)."""

from __future__ import annotations

from flask import Response, render_template, request, stream_with_context
from flask_babel import gettext as _
from wtforms.fields.choices import SelectChoice as Choice

from app.audit import bp, services
from app.audit.chain import ACTION_LABELS, OBJECT_TYPE_LABELS, action_label, object_type_label, record_now
from app.audit.forms import AuditFilterForm
from app.htmx import is_htmx as _is_htmx
from app.models.base import utcnow
from app.policy import requires

FILTER_NAMES = ("date_from", "date_to", "actor", "action", "object_type", "q")


def _filter_form() -> tuple[AuditFilterForm, services.AuditFilters | None]:
    """The form bound to the query string, and the filters when they are valid."""
    form = AuditFilterForm(request.args)
    form.actor.choices = [Choice("", _("Tutti gli utenti"))] + [
        Choice(u.id, f"{u.full_name} · {u.organisation.short_name}") for u in services.known_actors()
    ]
    form.action.choices = [Choice("", _("Tutte le azioni"))] + sorted(
        (Choice(code, action_label(code)) for code in ACTION_LABELS), key=lambda c: c.label.lower())
    form.object_type.choices = [Choice("", _("Tutti i tipi"))] + sorted(
        (Choice(code, object_type_label(code)) for code in OBJECT_TYPE_LABELS), key=lambda c: c.label.lower())
    if not form.validate():
        return form, None
    return form, services.AuditFilters(
        date_from=form.date_from.data, date_to=form.date_to.data, actor_id=form.actor.data,
        action=(form.action.data or "")[:64], object_type=(form.object_type.data or "")[:40],
        q=(form.q.data or "").strip(),
    )


def _page_number() -> int:
    try:
        return max(1, min(int(request.args.get("pagina", "1")), 10**6))
    except ValueError:
        return 1


@bp.get("")
@requires("audit.read")
def index():
    """The audit log, newest first, with filters and active search (htmx gets the results only)."""
    form, filters = _filter_form()
    status = 200
    if filters is None:
        result, status = None, 422
    else:
        result = services.search_events(filters, _page_number())
    args = {k: v for k, v in request.args.items() if k in FILTER_NAMES and v}
    template = "audit/_results.html" if _is_htmx() else "audit/index.html"
    return render_template(template, form=form, result=result, args=args,
                           filtered=bool(args)), status


@bp.get("/esporta.csv")
@requires("audit.read")
def export():
    """Download the filtered log as CSV (UTF-8 with BOM, `;`); the export itself is logged."""
    form, filters = _filter_form()
    if filters is None:
        return render_template("audit/index.html", form=form, result=None, args={}, filtered=True), 422
    rows = services.count_events(filters)
    # Logged before the first byte leaves: an export that is cut off midway still shows up.
    record_now("export", object_type="audit_log",
               details={"format": "csv", "rows": rows, "filters": filters.summary()})
    filename = f"registro-attivita-{utcnow().strftime('%Y%m%d-%H%M')}.csv"
    response = Response(stream_with_context(services.export_csv(filters)), mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
