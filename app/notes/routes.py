"""Note routes: the editor (autosave, finalise), the note page, PDFs, addenda, break-glass, the notes list."""

from __future__ import annotations

from flask import abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app import policy
from app.audit.chain import action_label
from app.domain.errors import Conflict, DomainError, Invalid
from app.formatting import role_label
from app.htmx import is_htmx as _is_htmx
from app.models import OUTCOMES, PROGRESS, REFERRALS, Note
from app.notes import bp, listing, services
from app.notes.forms import AddendumForm, BreakGlassForm, parse_note, too_long
from app.notes.pdf import RenderFailed
from app.policy import requires


def _private(response):
    """Note pages and PDFs are never cached by the browser or a proxy."""
    response.headers["Cache-Control"] = "no-store"
    return response


def _editor(appointment, note, data, revision, *, status: int = 200, error: DomainError | None = None):
    """The editor page (or its form fragment for htmx) with the given data, which may be the user's unsaved text."""
    context = dict(appointment=appointment, note=note, data=data, revision=revision, error=error,
                   outcomes=OUTCOMES, progress=PROGRESS, referrals=REFERRALS,
                   can_book=policy.can_book_follow_up(current_user, appointment),
                   follow_up_url=services.follow_up_url(appointment))
    template = "notes/_editor.html" if _is_htmx() else "notes/editor.html"
    return _private(make_response(render_template(template, **context), status))


@bp.get("/appuntamenti/<int:appointment_id>/nota")
@requires("notes.write")
def editor(appointment_id: int):
    """"Nota del colloquio": the tutor's editor (a final note opens its read-only page)."""
    appointment = services.writable_appointment(current_user, appointment_id)
    note = services.note_of(appointment)
    if note is not None and note.is_final:
        return redirect(url_for("notes.view", note_id=note.id), code=303)
    return _editor(appointment, note, services.NoteData.of(note), note.revision if note else 0)


@bp.post("/appuntamenti/<int:appointment_id>/nota")
@requires("notes.write")
def save(appointment_id: int):
    """Save the draft: htmx autosave answers with the status line, a plain POST with the page."""
    data, revision = parse_note(request.form)
    try:
        if error := too_long(data):
            raise error
        note = services.save_draft(current_user, appointment_id, data, revision)
    except (Conflict, Invalid) as error:
        if _is_htmx():
            return _private(make_response(render_template("notes/_autosave_status.html", conflict=error,
                                                          note=None, revision=revision),
                                          200 if isinstance(error, Conflict) else error.status_code))
        appointment = services.writable_appointment(current_user, appointment_id)
        note = getattr(error, "note", None) if isinstance(error, Conflict) else services.note_of(appointment)
        return _editor(appointment, note, data, revision, status=error.status_code, error=error)
    if _is_htmx():
        return _private(make_response(render_template("notes/_autosave_status.html", note=note, conflict=None,
                                                      revision=note.revision)))
    flash(_("Bozza salvata."), "success")
    return redirect(url_for("notes.editor", appointment_id=appointment_id), code=303)


@bp.post("/appuntamenti/<int:appointment_id>/nota/finalizza")
@requires("notes.write")
def finalise(appointment_id: int):
    """Finalise: save, validate, render and archive the PDF, lock. On failure the editor keeps the text."""
    data, revision = parse_note(request.form)
    if error := too_long(data):
        appointment = services.writable_appointment(current_user, appointment_id)
        return _editor(appointment, services.note_of(appointment), data, revision, status=error.status_code,
                       error=error)
    try:
        note = services.finalise(current_user, appointment_id, data, revision)
    except (Conflict, Invalid, RenderFailed) as error:
        appointment = services.writable_appointment(current_user, appointment_id)
        stored = services.note_of(appointment)
        # After a validation or render failure the draft was saved: continue from its revision.
        if not isinstance(error, Conflict) and stored is not None and not stored.is_final:
            revision = stored.revision
        return _editor(appointment, stored, data, revision, status=error.status_code, error=error)
    flash(_("Nota finalizzata e archiviata in PDF."), "success")
    target = url_for("notes.view", note_id=note.id)
    if _is_htmx():
        response = current_app.response_class(status=204)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target, code=303)


@bp.post("/appuntamenti/<int:appointment_id>/nota/follow-up")
@requires("notes.write")
def follow_up(appointment_id: int):
    """A tutor asks the desk to book the follow-up (those who book go straight to the booking flow)."""
    services.request_follow_up(current_user, appointment_id)
    flash(_("Richiesta inviata agli operatori dello sportello: riceveranno il percorso di prenotazione "
            "già compilato."), "success")
    return redirect(url_for("notes.editor", appointment_id=appointment_id), code=303)


def _note_page(note: Note, *, breakglass_reason: str | None = None, status: int = 200, addendum_form=None):
    context = dict(note=note, addendum_form=addendum_form or AddendumForm(formdata=None),
                   can_addendum=policy.can_add_addendum(current_user, note), breakglass_reason=breakglass_reason,
                   can_acknowledge=policy.can_acknowledge_attention(current_user, note),
                   download_form=BreakGlassForm(formdata=None, reason=breakglass_reason))
    template = "notes/_note.html" if _is_htmx() else "notes/view.html"
    return _private(make_response(render_template(template, **context), status))


@bp.get("/note/<int:note_id>")
@requires("notes.view")
def view(note_id: int):
    """The note, read-only, with its addenda and PDF versions (every view is audited)."""
    if policy.needs_breakglass(current_user):
        note = policy.get_note_or_404(note_id, current_user, breakglass=True)
        template = "notes/_breakglass.html" if _is_htmx() else "notes/breakglass.html"
        return _private(make_response(render_template(template, note=note, form=BreakGlassForm(formdata=None))))
    note = policy.get_note_or_404(note_id, current_user)
    if not note.is_final and note.author_id == current_user.id:
        return redirect(url_for("notes.editor", appointment_id=note.appointment_id), code=303)
    services.record_read(current_user, note)
    return _note_page(note)


@bp.post("/note/<int:note_id>/accesso-straordinario")
@requires("notes.view")
def breakglass(note_id: int):
    """The Ufficio di Piano opens a note with a written reason (audited as break-glass and as a read)."""
    if not policy.needs_breakglass(current_user):
        abort(404)
    note = policy.get_note_or_404(note_id, current_user, breakglass=True)
    form = BreakGlassForm()
    if not form.validate_on_submit():
        template = "notes/_breakglass.html" if _is_htmx() else "notes/breakglass.html"
        return _private(make_response(render_template(template, note=note, form=form), 422))
    reason = form.reason.data.strip()
    services.record_read(current_user, note, action="breakglass", reason=reason)
    services.record_read(current_user, note, reason=reason)
    return _note_page(note, breakglass_reason=reason)


@bp.route("/note/<int:note_id>/nota.pdf", methods=["GET", "POST"])
@bp.route("/note/<int:note_id>/versione-<int:number>.pdf", methods=["GET", "POST"])
@requires("notes.view")
def download(note_id: int, number: int | None = None):
    """The archived PDF of a version (the latest by default): the exact bytes stored at that time."""
    reason = None
    if policy.needs_breakglass(current_user):
        if request.method != "POST":
            abort(404)
        note = policy.get_note_or_404(note_id, current_user, breakglass=True)
        form = BreakGlassForm()
        if not form.validate_on_submit():
            abort(422)
        reason = form.reason.data.strip()
        services.record_read(current_user, note, action="breakglass", reason=reason)
    else:
        if request.method != "GET":
            abort(405)
        note = services.readable_note(current_user, note_id)
        if note is None:
            abort(404)
    version = services.archived_version(note, number) if note.is_final else None
    if version is None:
        abort(404)
    try:
        data = services.version_bytes(version)
    except (OSError, RuntimeError):
        current_app.logger.error("archived PDF missing or altered for note version %s", version.id)
        abort(500)
    services.record_read(current_user, note, action="note.download", reason=reason, version=version.number)
    response = make_response(data)
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f'attachment; filename="nota-{note.id}-v{version.number}.pdf"'
    return _private(response)


@bp.post("/note/<int:note_id>/integrazioni")
@requires("notes.addendum")
def addendum(note_id: int):
    """Add a dated addendum to a final note; a new PDF version is archived, the old ones stay."""
    note = policy.get_note_or_404(note_id, current_user)
    form = AddendumForm()
    if not form.validate_on_submit():
        return _note_page(note, status=422, addendum_form=form)
    try:
        services.add_addendum(current_user, note, form.text.data)
    except (Invalid, Conflict, RenderFailed) as error:
        form.text.errors = [error.message]
        return _note_page(note, status=error.status_code, addendum_form=form)
    flash(_("Integrazione aggiunta: è disponibile una nuova versione del PDF."), "success")
    return redirect(url_for("notes.view", note_id=note.id), code=303)


@bp.post("/note/<int:note_id>/presa-visione")
@requires("notes.view")
def acknowledge(note_id: int):
    """The coordinator marks a note flagged for attention as seen; it leaves the "Da attenzionare" list."""
    note = policy.get_note_or_404(note_id, current_user)
    services.acknowledge_attention(current_user, note)
    flash(_("Presa visione registrata."), "success")
    return redirect(url_for("notes.view", note_id=note.id), code=303)


@bp.get("/giovani/<int:person_id>/note.pdf")
@requires("notes.view")
def dossier(person_id: int):
    """A "dossier" PDF with all the final notes on one young person that the reader may see."""
    if policy.needs_breakglass(current_user):
        abort(404)
    person = policy.person_in_scope(current_user, person_id)
    notes = services.person_final_notes(current_user, person_id) if person else []
    if not notes:
        abort(404)
    try:
        data = services.render_dossier(current_user, notes)
    except RenderFailed as error:
        flash(error.message, "danger")
        return redirect(url_for("notes.index"), code=303)
    response = make_response(data)
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f'attachment; filename="dossier-{person.code}.pdf"'
    return _private(response)


@bp.get("/note")
@requires("notes.view")
def index():
    """"Note dei colloqui": the readable notes, 50 a page newest first; on the first page the open flags and who read them."""
    before = listing.Cursor.parse(request.args.get("prima"))
    shown = listing.notes_list(current_user, before)
    # Each label once per page, not once per read (a role's label looks up every role's translation).
    role_labels = {role: role_label(role) for role in {r.actor_role for r in shown.reads if r.actor_role}}
    action_labels = {action: action_label(action) for action in {r.action for r in shown.reads}}
    return _private(make_response(render_template(
        "notes/index.html", notes=shown.notes, older=shown.older, first=before is None, reads=shown.reads,
        flagged=shown.flagged, breakglass=policy.needs_breakglass(current_user), role_labels=role_labels,
        action_labels=action_labels, view_url=_prefix("notes.view", "note_id"),
        editor_url=_prefix("notes.editor", "appointment_id", split=True))))


_MARK = 918273645


def _prefix(endpoint: str, name: str, *, split: bool = False):
    """An endpoint's address around its id, built once per page: the prefix (and, with split, the suffix)."""
    before, _mark, after = url_for(endpoint, **{name: _MARK}).partition(str(_MARK))
    return (before, after) if split else before
