"""Desk routes: the desk list, per-desk hours editing, closures, tutor availability, desk management."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice as Choice

from app.desks import bp, services
from app.desks.forms import (
    GRID_ROWS,
    AbsenceForm,
    AvailabilityForm,
    ClosureForm,
    DeskForm,
    ExtraOpeningForm,
    PatronForm,
    ScheduleForm,
    parse_week_grid,
    week_grid_values,
)
from app.domain.errors import DomainError, FormInvalid, Invalid, Stale
from app.errors import render_error
from app.extensions import db
from app.htmx import is_htmx as _is_htmx
from app.htmx import page_or_fragment as _page_or_fragment
from app.htmx import redirect_after_post as _done
from app.htmx import show_error
from app.models import (
    ABSENCE_KINDS,
    DESK_SERVICES,
    Closure,
    Desk,
    ExtraOpening,
    OpeningSchedule,
    Organisation,
    OrganisationKind,
    Role,
    TutorAbsence,
    TutorAvailability,
    User,
)
from app.policy import (
    can_close_network,
    can_edit_absences,
    can_edit_availability,
    can_edit_hours,
    editable_desks,
    get_desk_or_404,
    requires,
)

PREVIEW_DAYS = 31


def _towns() -> list[Organisation]:
    return list(db.session.scalars(
        sa.select(Organisation).where(Organisation.kind == OrganisationKind.MUNICIPALITY).order_by(Organisation.name)
    ))


def _editable(user) -> list[Desk]:
    query = editable_desks(sa.select(Desk).join(Desk.municipality), user)
    return list(db.session.scalars(query.order_by(Organisation.name, Desk.name)))


def _now() -> datetime:
    return datetime.now(UTC)


# --- Desk list and read-only page ------------------------------------------------

@bp.get("/orari")
@requires("desks.view")
def index():
    """The desks the user may see, with open now / next opening, filterable by town and service."""
    from app.desks.calendar_routes import render_desk_index

    return render_desk_index()


@bp.get("/orari/<int:desk_id>")
@requires("desks.view")
def detail(desk_id: int):
    """A desk's details, weekly hours in force and upcoming exceptions (read-only)."""
    desk = get_desk_or_404(desk_id, current_user)
    return render_template(
        "desks/detail.html", desk=desk, schedules=services.current_and_future_schedules(desk),
        closures=services.closures_affecting(desk, _now()), extras=_future_extras(desk),
        can_edit=can_edit_hours(current_user, desk), services_catalogue=DESK_SERVICES,
        can_availability=current_user.role in (Role.ADMIN, Role.COORDINATOR) or can_edit_hours(current_user, desk),
    )


def _future_extras(desk: Desk) -> list[ExtraOpening]:
    return list(db.session.scalars(
        sa.select(ExtraOpening).where(ExtraOpening.desk_id == desk.id, ExtraOpening.day >= services.today_local())
        .order_by(ExtraOpening.day, ExtraOpening.start)
    ))


# --- Hours editing for one desk -------------------------------------------------------

def _hours_page(desk: Desk, *, schedule_form=None, grid=None, grid_error=None, closure_form=None,
                extra_form=None, preview=None, status: int = 200, fragment: str | None = None):
    """Render the hours page (or one of its sections for htmx)."""
    if schedule_form is None:
        schedule_form = ScheduleForm()
        schedule_form.valid_from.data = services.today_local() + timedelta(days=1)
    if grid is None:
        current = services.current_and_future_schedules(desk)
        grid = week_grid_values(current[-1].intervals) if current else {}
    context = dict(
        desk=desk, schedules=services.current_and_future_schedules(desk),
        closures=services.closures_affecting(desk, _now()), extras=_future_extras(desk),
        schedule_form=schedule_form, grid=grid, grid_error=grid_error, grid_rows=GRID_ROWS,
        closure_form=closure_form or ClosureForm(), extra_form=extra_form or ExtraOpeningForm(),
        preview=preview, today=services.today_local(), can_delete_closure=services.can_delete_closure,
    )
    template = fragment if (fragment and _is_htmx()) else "desks/hours.html"
    return render_template(template, **context), status


@bp.get("/orari/<int:desk_id>/modifica")
@requires("hours.edit")
def hours(desk_id: int):
    """Edit a desk's weekly hours, closures and extra openings."""
    desk = get_desk_or_404(desk_id, current_user, "edit_hours")
    return _hours_page(desk)


def _read_schedule(form: ScheduleForm):
    """Validate the schedule form and its weekly grid; raises Invalid with the first problem."""
    grid = {k: v for k, v in request.form.items() if k.startswith("w")}
    intervals = parse_week_grid(request.form)
    if not form.validate():
        raise FormInvalid(_("Controlla i campi evidenziati."))
    return grid, intervals


@bp.post("/orari/<int:desk_id>/orari")
@requires("hours.edit")
def schedule_create(desk_id: int):
    """Add weekly hours from a date; the hours in force end the day before."""
    desk = get_desk_or_404(desk_id, current_user, "edit_hours")
    form = ScheduleForm()
    grid = {k: v for k, v in request.form.items() if k.startswith("w")}
    try:
        grid, intervals = _read_schedule(form)
        services.create_schedule(current_user, desk, form.name.data, form.valid_from.data, form.valid_to.data,
                                 intervals)
    except DomainError as error:
        if error.status_code != 422:
            raise
        grid_error = error.message if error.field == "intervals" else None
        if error.field != "intervals" and not isinstance(error, FormInvalid):
            show_error(form, error)
        return _hours_page(desk, schedule_form=form, grid=grid, grid_error=grid_error, status=422,
                           fragment="desks/_schedules.html")
    return _done(url_for("desks.hours", desk_id=desk.id), _("Orario «%(name)s» salvato.", name=form.name.data))


@bp.post("/orari/<int:desk_id>/anteprima")
@requires("hours.edit")
def schedule_preview(desk_id: int):
    """Preview the coming month's open hours with the schedule being entered (nothing is saved)."""
    desk = get_desk_or_404(desk_id, current_user, "edit_hours")
    form = ScheduleForm()
    grid = {k: v for k, v in request.form.items() if k.startswith("w")}
    preview = {"error": None, "days": []}
    status = 200
    try:
        grid, intervals = _read_schedule(form)
        items = services.validate_intervals(intervals)
        start = max(form.valid_from.data, services.today_local())
        end = start + timedelta(days=PREVIEW_DAYS - 1)
        calendar = services.preview_with_schedule(desk, form.valid_from.data, form.valid_to.data, items, start, end)
        preview["days"] = services.open_days(calendar, start, end)
    except Invalid as error:
        preview["error"] = error.message
        status = 422
    if _is_htmx():
        return render_template("desks/_preview.html", desk=desk, preview=preview), status
    return _hours_page(desk, schedule_form=form, grid=grid, preview=preview, status=status)


@bp.post("/orari/<int:desk_id>/orari/<int:schedule_id>/elimina")
@requires("hours.edit")
def schedule_delete(desk_id: int, schedule_id: int):
    """Remove a schedule that has not started yet."""
    desk = get_desk_or_404(desk_id, current_user, "edit_hours")
    schedule = db.session.get(OpeningSchedule, schedule_id)
    if schedule is None or schedule.desk_id != desk.id:
        abort(404)
    target = url_for("desks.hours", desk_id=desk.id)
    try:
        services.delete_schedule(current_user, schedule)
    except Invalid as error:
        flash(error.message, "danger")
        return redirect(target, code=303)
    return _done(target, _("Orario eliminato."))


@bp.post("/orari/<int:desk_id>/chiusure")
@requires("hours.edit")
def closure_create(desk_id: int):
    """Close this desk for a day, a range of days or part of a day."""
    desk = get_desk_or_404(desk_id, current_user, "edit_hours")
    form = ClosureForm()
    try:
        if not form.validate():
            raise FormInvalid(_("Controlla i campi evidenziati."))
        starts_at, ends_at = services.closure_span(form.start_day.data, form.end_day.data, form.start_time.data,
                                                   form.end_time.data)
        services.create_closure(current_user, "desk", starts_at, ends_at, form.reason.data, desk_ids=[desk.id])
    except Invalid as error:
        if not isinstance(error, FormInvalid):
            show_error(form, error)
        return _hours_page(desk, closure_form=form, status=422, fragment="desks/_closures.html")
    return _done(url_for("desks.hours", desk_id=desk.id), _("Chiusura registrata."))


@bp.post("/orari/chiusure/<int:closure_id>/elimina")
@requires("hours.edit")
def closure_delete(closure_id: int):
    """Remove a closure."""
    closure = db.session.get(Closure, closure_id)
    if closure is None:
        abort(404)
    if closure.desk_id is not None:
        get_desk_or_404(closure.desk_id, current_user)
    services.delete_closure(current_user, closure)
    back = request.form.get("back", "")
    target = (url_for("desks.hours", desk_id=closure.desk_id) if back == "desk" and closure.desk_id
              else url_for("desks.closures"))
    return _done(target, _("Chiusura eliminata."))


@bp.post("/orari/<int:desk_id>/aperture")
@requires("hours.edit")
def extra_create(desk_id: int):
    """Open the desk on a date outside its weekly hours."""
    desk = get_desk_or_404(desk_id, current_user, "edit_hours")
    form = ExtraOpeningForm()
    try:
        if not form.validate():
            raise FormInvalid(_("Controlla i campi evidenziati."))
        services.create_extra_opening(current_user, desk, form.day.data, form.start.data, form.end.data,
                                      form.note.data)
    except Invalid as error:
        if not isinstance(error, FormInvalid):
            show_error(form, error)
        return _hours_page(desk, extra_form=form, status=422, fragment="desks/_extras.html")
    return _done(url_for("desks.hours", desk_id=desk.id), _("Apertura straordinaria registrata."))


@bp.post("/orari/<int:desk_id>/aperture/<int:extra_id>/elimina")
@requires("hours.edit")
def extra_delete(desk_id: int, extra_id: int):
    """Remove an extra opening."""
    desk = get_desk_or_404(desk_id, current_user, "edit_hours")
    row = db.session.get(ExtraOpening, extra_id)
    if row is None or row.desk_id != desk.id:
        abort(404)
    services.delete_extra_opening(current_user, row)
    return _done(url_for("desks.hours", desk_id=desk.id), _("Apertura straordinaria eliminata."))


# --- Several desks at once ----------------------------------------------------------

@bp.route("/orari/applica", methods=["GET", "POST"])
@requires("hours.edit")
def bulk():
    """Give several desks the same weekly hours from a date, all at once or none."""
    desks = _editable(current_user)
    form = ScheduleForm()
    form.desk_ids.choices = [Choice(d.id, d.name) for d in desks]
    grid: dict = {}
    grid_error = None
    desk_errors: dict[int, str] = {}
    status = 200
    if request.method == "GET":
        form.valid_from.data = services.today_local() + timedelta(days=1)
    else:
        grid = {k: v for k, v in request.form.items() if k.startswith("w")}
        try:
            grid, intervals = _read_schedule(form)
            created = services.apply_schedule(current_user, form.desk_ids.data, form.name.data,
                                              form.valid_from.data, form.valid_to.data, intervals)
            return _done(url_for("desks.index"),
                         _("Orario «%(name)s» applicato a %(n)s sportelli.", name=form.name.data, n=len(created)))
        except services.BulkInvalid as error:
            desk_errors = error.errors
            form.form_errors.append(error.message)
            status = 422
        except DomainError as error:
            if error.status_code not in (403, 422):
                raise
            status = 422
            if error.field == "intervals":
                grid_error = error.message
            elif not isinstance(error, FormInvalid):
                show_error(form, error)
    return _page_or_fragment("desks/bulk.html", "desks/_bulk_form.html", status, form=form, desks=desks,
                             grid=grid, grid_error=grid_error, grid_rows=GRID_ROWS, desk_errors=desk_errors)


@bp.route("/orari/chiusure", methods=["GET", "POST"])
@requires("hours.edit")
def closures():
    """Close several desks, a whole town or the whole network (a holiday bridge, 15 August, …)."""
    desks = _editable(current_user)
    network = can_close_network(current_user)
    form = ClosureForm()
    form.desk_ids.choices = [Choice(d.id, d.name) for d in desks]
    form.municipality_id.choices = [Choice("", _("— scegli —"))] + [Choice(t.id, t.name) for t in _towns()]
    status = 200
    if request.method == "POST":
        try:
            if not form.validate():
                raise FormInvalid(_("Controlla i campi evidenziati."))
            starts_at, ends_at = services.closure_span(form.start_day.data, form.end_day.data,
                                                       form.start_time.data, form.end_time.data)
            rows = services.create_closure(current_user, form.scope.data, starts_at, ends_at, form.reason.data,
                                           desk_ids=form.desk_ids.data or (),
                                           municipality_id=form.municipality_id.data)
            return _done(url_for("desks.closures"), _("Chiusura registrata (%(n)s).", n=len(rows)))
        except DomainError as error:
            if error.status_code not in (403, 422):
                raise
            status = 422
            if not isinstance(error, FormInvalid):
                show_error(form, error)
    now = _now()
    query = sa.select(Closure).where(Closure.ends_at > now).order_by(Closure.starts_at)
    if not network:
        query = query.where(sa.or_(Closure.scope != "desk", Closure.desk_id.in_([d.id for d in desks])))
    upcoming = list(db.session.scalars(query))
    return _page_or_fragment("desks/closures.html", "desks/_closure_bulk_form.html", status, form=form,
                             desks=desks, network=network, upcoming=upcoming,
                             can_delete_closure=services.can_delete_closure)


# --- Tutor availability and absences ---------------------------------------------------

def _availability_context(desk: Desk):
    tutors = [t for t in desk.tutors if can_edit_availability(current_user, t, desk)]
    if not tutors and not can_edit_hours(current_user, desk) and current_user.role != Role.COORDINATOR:
        abort(403)
    tutor_ids = [t.id for t in tutors]
    rows = list(db.session.scalars(
        sa.select(TutorAvailability)
        .where(TutorAvailability.desk_id == desk.id, TutorAvailability.tutor_id.in_(tutor_ids),
               sa.or_(TutorAvailability.valid_to.is_(None), TutorAvailability.valid_to >= services.today_local()))
        .order_by(TutorAvailability.tutor_id, TutorAvailability.valid_from)
    ))
    absences = list(db.session.scalars(
        sa.select(TutorAbsence).where(TutorAbsence.tutor_id.in_(tutor_ids), TutorAbsence.ends_at > _now())
        .order_by(TutorAbsence.starts_at)
    ))
    return tutors, rows, absences


def _availability_page(desk: Desk, *, form=None, absence_form=None, grid=None, grid_error=None, status=200,
                       fragment: str | None = None):
    tutors, rows, absences = _availability_context(desk)
    choices = [Choice("", _("— scegli —"))] + [Choice(t.id, t.full_name) for t in tutors]
    form = form or AvailabilityForm()
    form.tutor_id.choices = choices
    if form.valid_from.data is None:
        form.valid_from.data = services.today_local() + timedelta(days=1)
    absence_form = absence_form or AbsenceForm(prefix="absence")
    absence_form.tutor_id.choices = choices
    template = fragment if (fragment and _is_htmx()) else "desks/availability.html"
    return render_template(
        template, desk=desk, tutors=tutors, rows=rows, absences=absences, form=form, absence_form=absence_form,
        grid=grid or {}, grid_error=grid_error, grid_rows=GRID_ROWS, today=services.today_local(),
    ), status


def _tutor_of(desk: Desk, tutor_id) -> User:
    tutor = next((t for t in desk.tutors if t.id == tutor_id), None)
    if tutor is None:
        raise Invalid(_("Scegli un tutor assegnato a questo sportello."), field="tutor_id")
    return tutor


@bp.get("/orari/<int:desk_id>/disponibilita")
@requires("availability.edit")
def availability(desk_id: int):
    """Weekly availability and absences of the tutors working at a desk."""
    desk = get_desk_or_404(desk_id, current_user)
    return _availability_page(desk)


@bp.post("/orari/<int:desk_id>/disponibilita")
@requires("availability.edit")
def availability_create(desk_id: int):
    """Set a tutor's weekly availability at this desk from a date."""
    desk = get_desk_or_404(desk_id, current_user)
    form = AvailabilityForm()
    tutors, _rows, _absences = _availability_context(desk)
    form.tutor_id.choices = [Choice("", "")] + [Choice(t.id, t.full_name) for t in tutors]
    grid = {k: v for k, v in request.form.items() if k.startswith("w")}
    try:
        intervals = parse_week_grid(request.form)
        if not form.validate():
            raise FormInvalid(_("Controlla i campi evidenziati."))
        tutor = _tutor_of(desk, form.tutor_id.data)
        services.set_tutor_availability(current_user, tutor, desk, form.valid_from.data, form.valid_to.data,
                                        intervals)
    except DomainError as error:
        if error.status_code not in (403, 422):
            raise
        grid_error = error.message if error.field == "intervals" else None
        if error.field != "intervals" and not isinstance(error, FormInvalid):
            show_error(form, error)
        return _availability_page(desk, form=form, grid=grid, grid_error=grid_error, status=422,
                                  fragment="desks/_availability_form.html")
    return _done(url_for("desks.availability", desk_id=desk.id), _("Disponibilità salvata."))


@bp.post("/orari/<int:desk_id>/disponibilita/<int:row_id>/elimina")
@requires("availability.edit")
def availability_delete(desk_id: int, row_id: int):
    """End a tutor's availability at this desk (or remove it if it has not started)."""
    desk = get_desk_or_404(desk_id, current_user)
    row = db.session.get(TutorAvailability, row_id)
    if row is None or row.desk_id != desk.id:
        abort(404)
    services.delete_tutor_availability(current_user, row)
    return _done(url_for("desks.availability", desk_id=desk.id), _("Disponibilità aggiornata."))


@bp.post("/orari/<int:desk_id>/assenze")
@requires("availability.edit")
def absence_create(desk_id: int):
    """Record a tutor's absence over whole days."""
    desk = get_desk_or_404(desk_id, current_user)
    form = AbsenceForm(prefix="absence")
    tutors, _rows, _absences = _availability_context(desk)
    form.tutor_id.choices = [Choice("", "")] + [Choice(t.id, t.full_name) for t in tutors]
    try:
        if not form.validate():
            raise FormInvalid(_("Controlla i campi evidenziati."))
        tutor = _tutor_of(desk, form.tutor_id.data)
        starts_at, ends_at = services.closure_span(form.start_day.data, form.end_day.data)
        services.add_absence(current_user, tutor, starts_at, ends_at, form.kind.data, form.note.data)
    except DomainError as error:
        if error.status_code not in (403, 422):
            raise
        if not isinstance(error, FormInvalid):
            show_error(form, error)
        return _availability_page(desk, absence_form=form, status=422, fragment="desks/_absence_form.html")
    return _done(url_for("desks.availability", desk_id=desk.id), _("Assenza registrata."))


@bp.post("/orari/<int:desk_id>/assenze/<int:absence_id>/elimina")
@requires("availability.edit")
def absence_delete(desk_id: int, absence_id: int):
    """Remove a tutor's absence."""
    desk = get_desk_or_404(desk_id, current_user)
    row = db.session.get(TutorAbsence, absence_id)
    # The absence of a tutor of this desk (as listed on its page), whom the user may manage.
    if row is None or row.tutor_id not in {t.id for t in desk.tutors} or not can_edit_absences(current_user, row.tutor):
        abort(404)
    services.delete_absence(current_user, row)
    return _done(url_for("desks.availability", desk_id=desk.id), _("Assenza eliminata."))


# --- Desk management (Ufficio di Piano) ------------------------------------------------

def _desk_form_choices(form: DeskForm) -> None:
    towns = _towns()
    partners = list(db.session.scalars(
        sa.select(Organisation).where(Organisation.active.is_(True),
                                      Organisation.kind != OrganisationKind.METROPOLITAN_AUTHORITY)
        .order_by(Organisation.name)
    ))
    staff = list(db.session.scalars(
        sa.select(User).where(User.role.in_([Role.OPERATOR, Role.TUTOR]), User.active.is_(True))
        .order_by(User.full_name)
    ))
    form.municipality_id.choices = [Choice("", _("— scegli —"))] + [Choice(t.id, t.name) for t in towns]
    form.partner_id.choices = [Choice("", _("— scegli —"))] + [Choice(p.id, p.name) for p in partners]
    form.operator_ids.choices = [Choice(u.id, f"{u.full_name} ({u.organisation.short_name})")
                                 for u in staff if u.role == Role.OPERATOR]
    form.tutor_ids.choices = [Choice(u.id, f"{u.full_name} ({u.organisation.short_name})")
                              for u in staff if u.role == Role.TUTOR]


def _desk_data(form: DeskForm) -> services.DeskData:
    return services.DeskData(
        name=form.name.data or "", municipality_id=form.municipality_id.data, partner_id=form.partner_id.data,
        address=form.address.data or "", rooms=form.rooms.data or 1, phone=form.phone.data or "",
        email=form.email.data or "", notes=form.notes.data or "", active=bool(form.active.data),
        slot_minutes=form.slot_minutes.data or 45,
        buffer_minutes=form.buffer_minutes.data if form.buffer_minutes.data is not None else 15,
        min_notice_minutes=form.min_notice_minutes.data if form.min_notice_minutes.data is not None else 120,
        services=tuple(form.services.data or ()), operator_ids=tuple(form.operator_ids.data or ()),
        tutor_ids=tuple(form.tutor_ids.data or ()),
    )


@bp.get("/orari/gestione")
@requires("desks.manage")
def manage():
    """Every desk, with links to create and edit them, and the towns' patron days."""
    return _manage_page()


def _manage_page(status: int = 200, kept: dict | None = None):
    desks = list(db.session.scalars(sa.select(Desk).join(Desk.municipality).order_by(Organisation.name, Desk.name)))
    return render_template("desks/manage.html", desks=desks, towns=_towns(), services_catalogue=DESK_SERVICES,
                           kept=kept or {}), status


def _desk_differences(form: DeskForm, desk: Desk) -> list[tuple[str, str]]:
    """After a stale save: the fields whose saved value now differs from what was sent, as (label, saved value)."""
    yes_no = _("sì") if desk.active else _("no")
    saved: dict[str, tuple[object, str]] = {
        "name": (desk.name, desk.name),
        "municipality_id": (desk.municipality_id, desk.municipality.name),
        "partner_id": (desk.partner_id, desk.partner.name),
        **{name: (getattr(desk, name) or "", getattr(desk, name) or "") for name in ("address", "phone", "email",
                                                                                      "notes")},
        **{name: (getattr(desk, name), str(getattr(desk, name))) for name in (
            "rooms", "slot_minutes", "buffer_minutes", "min_notice_minutes")},
        "active": (desk.active, yes_no),
        "services": (set(desk.services), ", ".join(str(DESK_SERVICES[c]) for c in desk.services)),
        "operator_ids": ({u.id for u in desk.operators}, ", ".join(u.full_name for u in desk.operators)),
        "tutor_ids": ({u.id for u in desk.tutors}, ", ".join(u.full_name for u in desk.tutors)),
    }
    changes = []
    for name, (value, shown) in saved.items():
        sent = form[name].data
        if isinstance(value, str):
            sent, value = " ".join(str(sent or "").split()), " ".join(value.split())
        elif isinstance(value, set):
            sent = set(sent or ())
        elif isinstance(value, bool):
            sent = bool(sent)
        if sent != value:
            changes.append((str(form[name].label.text), shown or _("(vuoto)")))
    return changes


@bp.route("/orari/gestione/nuovo", methods=["GET", "POST"], defaults={"desk_id": None})
@bp.route("/orari/gestione/<int:desk_id>", methods=["GET", "POST"])
@requires("desks.manage")
def desk_form(desk_id: int | None):
    """Create a desk or edit one: details, services, operators and tutors.

    The edit form carries the desk's version: a form opened on an older version gets 409, writes nothing,
    keeps what the person typed and lists the saved values that differ; a missing version is a 422.
    """
    desk = get_desk_or_404(desk_id, current_user, "manage") if desk_id else None
    form = DeskForm(obj=desk) if request.method == "GET" and desk else DeskForm()
    _desk_form_choices(form)
    if request.method == "GET" and desk:
        form.services.data = desk.services
        form.operator_ids.data = [u.id for u in desk.operators]
        form.tutor_ids.data = [u.id for u in desk.tutors]
        form.version.data = str(desk.version)
    status, changes = 200, None
    if request.method == "POST":
        try:
            if not form.validate():
                raise FormInvalid(_("Controlla i campi evidenziati."))
            if desk is None:
                desk = services.create_desk(current_user, _desk_data(form))
                message = _("Sportello «%(name)s» creato.", name=desk.name)
            else:
                services.update_desk(current_user, desk, _desk_data(form), form.version.data)
                message = _("Sportello «%(name)s» aggiornato.", name=desk.name)
            return _done(url_for("desks.manage"), message)
        except Stale as error:
            db.session.rollback()
            status = 409
            form.form_errors.append(error.message)
            # The person's input stays in the form; above it, what is saved now where it differs. The form now
            # carries the current version: saving again is a choice made after seeing the differences.
            desk = get_desk_or_404(desk.id, current_user, "manage")
            changes = _desk_differences(form, desk)
            form.version.data = str(desk.version)
        except Invalid as error:
            db.session.rollback()
            status = 422
            if not isinstance(error, FormInvalid):
                show_error(form, error)
    return _page_or_fragment("desks/desk_form.html", "desks/_desk_form.html", status, form=form, desk=desk,
                             changes=changes)


@bp.post("/orari/gestione/comuni/<int:town_id>/patrono")
@requires("desks.manage")
def patron(town_id: int):
    """Set or clear a town's patron-saint day; the form carries the town's version (stale -> 409, nothing saved)."""
    town = db.session.get(Organisation, town_id)
    if town is None or town.kind != OrganisationKind.MUNICIPALITY:
        abort(404)
    form = PatronForm()
    try:
        if not form.validate():
            raise Invalid(_("Giorno o mese del santo patrono non validi."))
        services.set_patron_day(current_user, town, form.patron_saint.data, form.patron_month.data,
                                form.patron_day.data, form.version.data)
    except Stale as error:
        db.session.rollback()
        town = db.session.get(Organisation, town_id)
        if town.patron_month:
            saved = f"{town.patron_saint or ''} {town.patron_day:02d}/{town.patron_month:02d}".strip()
        else:
            saved = _("(vuoto)")
        message = f"{error.message} {_('Salvato ora: %(saved)s.', saved=saved)}"
        # The row keeps what the person typed (with the current version): saving again is a deliberate choice.
        typed = {"patron_saint": request.form.get("patron_saint", ""),
                 "patron_day": request.form.get("patron_day", ""),
                 "patron_month": request.form.get("patron_month", "")}
        return _patron_refused(message, 409, {town.id: typed})
    except Invalid as error:
        db.session.rollback()
        message = f"{town.short_name}: {error.message}"
        if error.field == "version":
            return _patron_refused(message, 422)
        flash(message, "danger")
        return redirect(url_for("desks.manage"), code=303)
    return _done(url_for("desks.manage"), _("Santo patrono di %(town)s aggiornato.", town=town.short_name))


def _patron_refused(message: str, status: int, kept: dict | None = None):
    """A refused patron day: the management page as it is now (or the error fragment for htmx), nothing saved."""
    if _is_htmx():
        return render_error(status, message)
    flash(message, "danger")
    return _manage_page(status, kept)


# Kept for templates that show a local time range.
def _time_range(start: time, end: time) -> str:
    return f"{start:%H:%M}–{end:%H:%M}"


def _closure_period(closure) -> str:
    """A closure's period in local time: whole days as dates, otherwise with times."""
    start, end = closure.starts_at.astimezone(services.ROME), closure.ends_at.astimezone(services.ROME)
    if start.time() == time(0) and end.time() == time(0):
        last = end.date() - timedelta(days=1)
        if last == start.date():
            return start.strftime("%d/%m/%Y")
        return _("dal %(a)s al %(b)s", a=start.strftime("%d/%m/%Y"), b=last.strftime("%d/%m/%Y"))
    if start.date() == end.date():
        return f"{start:%d/%m/%Y} {start:%H:%M}–{end:%H:%M}"
    return _("dal %(a)s al %(b)s", a=f"{start:%d/%m/%Y %H:%M}", b=f"{end:%d/%m/%Y %H:%M}")


def _closure_target(closure) -> str:
    """Who a closure covers, in words."""
    if closure.scope == "all":
        return _("Tutti gli sportelli")
    if closure.scope == "municipality":
        return _("Tutti gli sportelli di %(town)s", town=closure.municipality.short_name)
    return closure.desk.name


bp.add_app_template_filter(_time_range, "time_range")
bp.add_app_template_filter(_closure_period, "closure_period")
bp.add_app_template_filter(_closure_target, "closure_target")
bp.add_app_template_global(lambda kind: ABSENCE_KINDS.get(kind, kind), "absence_label")
