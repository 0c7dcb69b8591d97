"""Access policy: the one place that says which role may do what, on which object.

Every endpoint declares its access with `@public` or `@requires(permission)`;
`enforce_declared_access` (a before_request hook) refuses any endpoint that
declares nothing, so a forgotten declaration fails closed. Object-level rules
live here too, as `can_*` questions and `scoped_*` query filters, so views never
test roles themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

import sqlalchemy as sa
from flask import abort, current_app, redirect, request, url_for
from flask_login import current_user

from app.extensions import db
from app.htmx import is_htmx as _is_htmx
from app.models import Organisation, Role, User

ADMIN, COORD, OPER, TUTOR, MUNI, OBS = (
    Role.ADMIN,
    Role.COORDINATOR,
    Role.OPERATOR,
    Role.TUTOR,
    Role.MUNICIPAL_CONTACT,
    Role.OBSERVER,
)
EVERYONE = frozenset(Role.ALL)

# Permission -> roles that hold it. The object-level scope of each role is
# decided by the can_*/scoped_* functions below (BRIEF, "What each may do").
PERMISSIONS: dict[str, frozenset[str]] = {
    # Own account: every signed-in person.
    "account.self": EVERYONE,
    "dashboard.view": EVERYONE,
    # Partners, users, desks.
    "partners.view": frozenset({ADMIN, COORD}),
    "partners.manage": frozenset({ADMIN}),
    "users.view": frozenset({ADMIN, COORD}),
    "users.manage": frozenset({ADMIN, COORD}),
    "audit.read": frozenset({ADMIN}),
    # --- Desks and opening hours (issue 4) ---
    "desks.view": EVERYONE,
    "desks.manage": frozenset({ADMIN}),
    "hours.edit": frozenset({ADMIN, OPER}),
    "availability.edit": frozenset({ADMIN, COORD, OPER}),
    "feeds.manage": frozenset({ADMIN}),
    # --- Young people and bookings (issue 5) ---
    "people.view": frozenset({ADMIN, COORD, OPER, TUTOR}),
    "people.register": frozenset({ADMIN, COORD, OPER}),
    "bookings.view": frozenset({ADMIN, COORD, OPER, TUTOR}),
    "bookings.manage": frozenset({ADMIN, COORD, OPER}),
    # --- Bookings: calendars, waiting list (issue 5) ---
    "agenda.view": frozenset({ADMIN, COORD, OPER, TUTOR}),
    # Occupancy without names is for those who may not see names (staff have the agenda).
    "occupancy.view": frozenset({MUNI, OBS}),
    "waiting.manage": frozenset({ADMIN, COORD, OPER}),
    # --- Session notes (issue 6): admin reads only by break-glass (see can_read_note) ---
    "notes.view": frozenset({ADMIN, COORD, TUTOR}),
    "notes.write": frozenset({TUTOR}),
    "notes.addendum": frozenset({COORD, TUTOR}),
    # --- Helpdesk (issue 7): the queue is scoped by scoped_tickets ---
    "helpdesk.view": frozenset({ADMIN, COORD, OPER, TUTOR}),
    "helpdesk.intake": frozenset({ADMIN, COORD, OPER}),
    "helpdesk.assign": frozenset({ADMIN, COORD, OPER}),
}

PUBLIC = "public"

# Which roles each role may hand out when managing users.
ASSIGNABLE_ROLES: dict[str, tuple[str, ...]] = {
    ADMIN: Role.ALL,
    COORD: (COORD, OPER, TUTOR),
}


def has_permission(user, permission: str) -> bool:
    """True when the user's role holds the permission (no object check)."""
    if permission == PUBLIC:
        return True
    if not getattr(user, "is_authenticated", False):
        return False
    try:
        return user.role in PERMISSIONS[permission]
    except KeyError:
        raise LookupError(f"unknown permission {permission!r}") from None


def public(view: Callable) -> Callable:
    """Declare a view open to everyone, signed in or not."""
    view.access = PUBLIC  # type: ignore[attr-defined]
    return view


def requires(permission: str) -> Callable[[Callable], Callable]:
    """Declare the permission a view needs; checked by enforce_declared_access."""
    if permission not in PERMISSIONS:
        raise LookupError(f"unknown permission {permission!r}")

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args, **kwargs):
            return view(*args, **kwargs)

        wrapped.access = permission  # type: ignore[attr-defined]
        return wrapped

    return decorate


def declared_access(endpoint: str | None) -> str | None:
    """The permission an endpoint declares, or None when it declares nothing."""
    if endpoint is None:
        return None
    if endpoint == "static" or endpoint.endswith(".static"):
        return PUBLIC
    view = current_app.view_functions.get(endpoint)
    return getattr(view, "access", None)


def enforce_declared_access():
    """before_request: the same check for full pages and htmx fragments."""
    if request.endpoint is None:  # 404/405 are answered by the router
        return None
    access = declared_access(request.endpoint)
    if access is None:
        current_app.logger.error("endpoint %s declares no access policy", request.endpoint)
        abort(403)
    if access == PUBLIC:
        return None
    if not current_user.is_authenticated:
        login_url = url_for("auth.login", next=_safe_next_target())
        if _is_htmx():
            response = current_app.response_class(status=401)
            response.headers["HX-Redirect"] = login_url
            return response
        if request.method != "GET":
            abort(401)
        return redirect(login_url)
    if not has_permission(current_user, access):
        abort(403)
    return None


def _safe_next_target() -> str | None:
    """The path to come back to after sign-in (same-site paths only)."""
    if request.method != "GET" or _is_htmx():
        return None
    return request.full_path.rstrip("?") if request.query_string else request.path


def is_safe_next(target: str | None) -> bool:
    """Only same-site absolute paths are accepted as `next=` (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return False
    return "\\" not in target and "\n" not in target and "\r" not in target


# --- Users -----------------------------------------------------------------

def scoped_users(query: sa.Select, user) -> sa.Select:
    """Filter a User query to the accounts the user may see."""
    if user.role == ADMIN:
        return query
    if user.role == COORD:
        return query.where(
            User.organisation_id == user.organisation_id, User.role.in_(ASSIGNABLE_ROLES[COORD])
        )
    return query.where(sa.false())


def can_manage_user(actor, target: User) -> bool:
    """Admin manages everyone; a coordinator the non-admin staff of their organisation."""
    if actor.role == ADMIN:
        return True
    if actor.role == COORD:
        return target.organisation_id == actor.organisation_id and target.role in ASSIGNABLE_ROLES[COORD]
    return False


def assignable_roles(actor) -> tuple[str, ...]:
    """Roles the actor may give to an account."""
    return ASSIGNABLE_ROLES.get(actor.role, ())


def assignable_organisations(actor) -> list[Organisation]:
    """Organisations the actor may place an account in."""
    query = sa.select(Organisation).where(Organisation.active.is_(True)).order_by(Organisation.name)
    if actor.role != ADMIN:
        query = query.where(Organisation.id == actor.organisation_id)
    return list(db.session.scalars(query))


def get_user_or_404(user_id: int, actor) -> User:
    """Load an account the actor may manage; 404 when out of scope (no existence leak)."""
    target = db.session.scalar(scoped_users(sa.select(User), actor).where(User.id == user_id))
    if target is None or not can_manage_user(actor, target):
        abort(404)
    return target


# --- Organisations --------------------------------------------------------

def scoped_organisations(query: sa.Select, user) -> sa.Select:
    """Filter an Organisation query to those the user may see in admin screens."""
    if user.role == ADMIN:
        return query
    return query.where(Organisation.id == user.organisation_id)


def can_manage_organisation(actor, organisation: Organisation | None = None) -> bool:
    """Only the Ufficio di Piano (admin) creates and edits partners."""
    return has_permission(actor, "partners.manage")


def get_organisation_or_404(organisation_id: int, actor) -> Organisation:
    """Load a partner the actor may manage; 404 when out of scope."""
    organisation = db.session.scalar(
        scoped_organisations(sa.select(Organisation), actor).where(Organisation.id == organisation_id)
    )
    if organisation is None or not can_manage_organisation(actor, organisation):
        abort(404)
    return organisation


# --- Desks -------------------------------------------------------------------

def scoped_desks(query: sa.Select, user) -> sa.Select:
    """Filter a Desk query to the desks the user may see (a town's contact: only that town's)."""
    from app.models import Desk

    if user.role == MUNI:
        return query.where(Desk.municipality_id == user.organisation_id)
    return query


def editable_desks(query: sa.Select, user) -> sa.Select:
    """Filter a Desk query to the desks whose hours and closures the user may edit."""
    from app.models import Desk, desk_operators

    if user.role == ADMIN:
        return query
    if user.role == OPER:
        own = sa.select(desk_operators.c.desk_id).where(desk_operators.c.user_id == user.id)
        return query.where(Desk.id.in_(own))
    return query.where(sa.false())


def can_edit_hours(user, desk) -> bool:
    """Admin edits every desk's hours; an operator only the desks assigned to them."""
    if user.role == ADMIN:
        return True
    if user.role == OPER:
        return any(op.id == user.id for op in desk.operators)
    return False


def can_manage_desks(user) -> bool:
    """Only the Ufficio di Piano creates desks and assigns their staff."""
    return user.role == ADMIN


def can_close_network(user) -> bool:
    """Town-wide and network-wide closures are for the Ufficio di Piano."""
    return user.role == ADMIN


def can_edit_availability(user, tutor, desk) -> bool:
    """A tutor's availability at a desk: admin, the tutor's coordinator, or an operator of that desk."""
    if tutor.role != TUTOR:
        return False
    if user.role == ADMIN:
        return True
    if user.role == COORD:
        return tutor.organisation_id == user.organisation_id
    if user.role == OPER and desk is not None:
        return any(op.id == user.id for op in desk.operators)
    return False


def can_edit_absences(user, tutor) -> bool:
    """A tutor's absences: admin, the tutor's coordinator, or an operator of a desk where they work."""
    from app.models import desk_operators, desk_tutors

    if tutor.role != TUTOR:
        return False
    if user.role in (ADMIN, COORD):
        return can_edit_availability(user, tutor, None)
    if user.role == OPER:
        shared = (
            sa.select(sa.literal(1))
            .select_from(desk_tutors.join(desk_operators, desk_operators.c.desk_id == desk_tutors.c.desk_id))
            .where(desk_tutors.c.user_id == tutor.id, desk_operators.c.user_id == user.id)
        )
        return db.session.scalar(shared) is not None
    return False


def get_desk_or_404(desk_id: int, user, action: str = "view"):
    """Load a desk the user may see (404 otherwise); 403 when seen but `action` is not allowed."""
    from app.models import Desk

    desk = db.session.scalar(scoped_desks(sa.select(Desk), user).where(Desk.id == desk_id))
    if desk is None:
        abort(404)
    allowed = {
        "view": lambda: True,
        "edit_hours": lambda: can_edit_hours(user, desk),
        "manage": lambda: can_manage_desks(user),
    }[action]()
    if not allowed:
        abort(403)
    return desk


# --- Desk calendars and feeds --------------------------------------------------

def can_see_closure_reasons(user) -> bool:
    """Closure reasons are for signed-in staff; the public timetable shows only dates."""
    return bool(getattr(user, "is_authenticated", False))


def can_see_feed_links(user) -> bool:
    """Anyone who may see a desk's calendar may subscribe to its feed (the desk is scoped already)."""
    return has_permission(user, "desks.view")


def can_manage_feeds(user) -> bool:
    """Issuing, renewing and revoking feed tokens is for the Ufficio di Piano."""
    return has_permission(user, "feeds.manage")


# --- Young people --------------------------------------------------------------
# BRIEF: admin all; coordinator own organisation's (registered by it, or with an
# appointment with one of its tutors); operator own desks' (registered at, or with an
# appointment at, one of their desks); tutor own (name and code only). A protected
# record is seen only by its tutor of record and that tutor's coordinator.

def _own_desk_ids(user) -> sa.Select:
    from app.models import desk_operators

    return sa.select(desk_operators.c.desk_id).where(desk_operators.c.user_id == user.id)


def _org_tutor_ids(organisation_id: int) -> sa.Select:
    return sa.select(User.id).where(User.organisation_id == organisation_id, User.role == TUTOR)


def scoped_young_people(query: sa.Select, user) -> sa.Select:
    """Filter a YoungPerson query to the records the user may see (protected ones included only for their tutor/coordinator)."""
    from app.models import Appointment, YoungPerson

    def met(condition) -> sa.ColumnElement:
        return YoungPerson.id.in_(sa.select(Appointment.young_person_id).where(condition))

    if user.role == ADMIN:
        return query.where(YoungPerson.protected.is_(False))
    if user.role == COORD:
        org_tutors = _org_tutor_ids(user.organisation_id)
        return query.where(
            sa.or_(YoungPerson.registered_org_id == user.organisation_id,
                   YoungPerson.tutor_id.in_(org_tutors), met(Appointment.tutor_id.in_(org_tutors))),
            sa.or_(YoungPerson.protected.is_(False), YoungPerson.tutor_id.in_(org_tutors)),
        )
    if user.role == OPER:
        desks = _own_desk_ids(user)
        return query.where(
            sa.or_(YoungPerson.registered_desk_id.in_(desks), met(Appointment.desk_id.in_(desks))),
            YoungPerson.protected.is_(False),
        )
    if user.role == TUTOR:
        return query.where(
            sa.or_(YoungPerson.tutor_id == user.id, met(Appointment.tutor_id == user.id)),
            sa.or_(YoungPerson.protected.is_(False), YoungPerson.tutor_id == user.id),
        )
    return query.where(sa.false())


def can_view_young_person(user, person) -> bool:
    """True when the record is in the user's scope (one query)."""
    from app.models import YoungPerson

    found = db.session.scalar(
        scoped_young_people(sa.select(YoungPerson.id), user).where(YoungPerson.id == person.id)
    )
    return found is not None


def can_view_person_details(user, person) -> bool:
    """Contacts, consent and birth date: everyone in scope except tutors (name and code only)."""
    return user.role in (ADMIN, COORD, OPER) and can_view_young_person(user, person)


def can_register_young_people(user) -> bool:
    """Operators, coordinators and the Ufficio di Piano register young people."""
    return has_permission(user, "people.register")


def get_young_person_or_404(person_id: int, user):
    """Load a young person in the user's scope; 404 otherwise (no existence leak)."""
    from app.models import YoungPerson

    person = db.session.scalar(scoped_young_people(sa.select(YoungPerson), user).where(YoungPerson.id == person_id))
    if person is None:
        abort(404)
    return person


# --- Bookings --------------------------------------------------------------------
# BRIEF: book / move / cancel — admin all, coordinator own organisation's tutors,
# operator own desks; a tutor sees their own appointments.

def scoped_appointments(query: sa.Select, user) -> sa.Select:
    """Filter an Appointment query to those the user may see."""
    from app.models import Appointment

    if user.role == ADMIN:
        return query
    if user.role == COORD:
        return query.where(Appointment.tutor_id.in_(_org_tutor_ids(user.organisation_id)))
    if user.role == OPER:
        return query.where(Appointment.desk_id.in_(_own_desk_ids(user)))
    if user.role == TUTOR:
        return query.where(Appointment.tutor_id == user.id)
    return query.where(sa.false())


def bookable_desks(query: sa.Select, user) -> sa.Select:
    """Filter a Desk query to the desks where the user may book (coordinators: any, for their tutors)."""
    from app.models import Desk

    if user.role in (ADMIN, COORD):
        return query
    if user.role == OPER:
        return query.where(Desk.id.in_(_own_desk_ids(user)))
    return query.where(sa.false())


def can_book(user, desk, tutor) -> bool:
    """May the user book (or move, cancel) an appointment with this tutor at this desk?"""
    if not has_permission(user, "bookings.manage"):
        return False
    if user.role == ADMIN:
        return True
    if user.role == COORD:
        return tutor is not None and tutor.organisation_id == user.organisation_id
    if user.role == OPER:
        return desk is not None and any(op.id == user.id for op in desk.operators)
    return False


def can_manage_appointment(user, appointment) -> bool:
    """Confirm, cancel, reschedule or record attendance of this appointment."""
    return can_book(user, appointment.desk, appointment.tutor)


def can_override_hours(user) -> bool:
    """Only the Ufficio di Piano may book outside opening hours or availability (with a reason)."""
    return user.role == ADMIN


def get_appointment_or_404(appointment_id: int, user, action: str = "view"):
    """Load an appointment the user may see (404 otherwise); 403 when `action` is "manage" and not allowed."""
    from app.models import Appointment

    appointment = db.session.scalar(
        scoped_appointments(sa.select(Appointment), user).where(Appointment.id == appointment_id)
    )
    if appointment is None:
        abort(404)
    if action == "manage" and not can_manage_appointment(user, appointment):
        abort(403)
    return appointment


# --- Bookings: calendars, waiting list -------------------------------------------------
# The agenda lists scoped_appointments (operator: own desks; tutor: own; coordinator: own
# organisation's tutors; admin: all). Occupancy (municipal contacts, observers) shows counts
# per desk and slot only — never a name or a code. Waiting entries and recall tasks: the
# desks where the user books, and only young people in their scope.

def agenda_is_personal(user) -> bool:
    """A tutor's agenda is "La mia agenda": their own appointments, today and the week ahead."""
    return user.role == TUTOR


def agenda_desks(query: sa.Select, user) -> sa.Select:
    """Desks offered as a filter of the agenda (and whose day sheet the user may print)."""
    from app.models import Appointment, Desk

    if user.role == TUTOR:
        return query.where(Desk.id.in_(sa.select(Appointment.desk_id).where(Appointment.tutor_id == user.id)))
    return bookable_desks(query, user)


def agenda_tutors(query: sa.Select, user) -> sa.Select:
    """Tutors offered as a filter of the agenda."""
    query = query.where(User.role == TUTOR)
    if user.role == ADMIN:
        return query
    if user.role == COORD:
        return query.where(User.organisation_id == user.organisation_id)
    if user.role == OPER:
        from app.models import desk_tutors

        return query.where(User.id.in_(sa.select(desk_tutors.c.user_id).where(
            desk_tutors.c.desk_id.in_(_own_desk_ids(user)))))
    return query.where(User.id == user.id)


def occupancy_desks(query: sa.Select, user) -> sa.Select:
    """Desks whose occupancy (no names) the user may see: a town's contact only that town's."""
    return scoped_desks(query, user)


def can_have_tutor_feed(user) -> bool:
    """Only tutors get a private feed of their own appointments."""
    return user.role == TUTOR


def scoped_waiting(query: sa.Select, user) -> sa.Select:
    """Filter a WaitingEntry query to bookable desks and young people in scope."""
    from app.models import Desk, WaitingEntry, YoungPerson

    desks = bookable_desks(sa.select(Desk.id), user)
    people = scoped_young_people(sa.select(YoungPerson.id), user)
    return query.where(WaitingEntry.desk_id.in_(desks), WaitingEntry.young_person_id.in_(people))


def scoped_recall_tasks(query: sa.Select, user) -> sa.Select:
    """Filter a RecallTask query: the operators of the desk (admin all), young people in scope."""
    from app.models import Desk, RecallTask, YoungPerson

    desks = bookable_desks(sa.select(Desk.id), user)
    people = scoped_young_people(sa.select(YoungPerson.id), user)
    return query.where(RecallTask.desk_id.in_(desks), RecallTask.young_person_id.in_(people))


# --- Session notes -------------------------------------------------------------------------
# BRIEF: a tutor writes and finalises their own notes, and reads finalised notes on the same
# young person by their own organisation; a coordinator reads their organisation's notes;
# the Ufficio di Piano (admin) only by break-glass with a written reason, audited; operators,
# municipal contacts and observers never. Protected records: only their tutor and coordinator.

def scoped_notes(query: sa.Select, user) -> sa.Select:
    """Filter a Note query to the notes whose content the user may read without break-glass."""
    from app.models import Note, NoteStatus, YoungPerson

    if user.role == TUTOR:
        org_tutors = _org_tutor_ids(user.organisation_id)
        people = scoped_young_people(sa.select(YoungPerson.id), user)
        return query.where(sa.or_(
            Note.author_id == user.id,
            sa.and_(Note.status == NoteStatus.FINAL, Note.author_id.in_(org_tutors), Note.young_person_id.in_(people)),
        ))
    if user.role == COORD:
        org_tutors = _org_tutor_ids(user.organisation_id)
        unprotected_or_ours = sa.select(YoungPerson.id).where(
            sa.or_(YoungPerson.protected.is_(False), YoungPerson.tutor_id.in_(org_tutors)))
        return query.where(Note.author_id.in_(org_tutors), Note.young_person_id.in_(unprotected_or_ours))
    return query.where(sa.false())


def scoped_breakglass_notes(query: sa.Select, user) -> sa.Select:
    """Notes the Ufficio di Piano may open by break-glass: all but those on protected records."""
    from app.models import Note, YoungPerson

    if user.role != ADMIN:
        return query.where(sa.false())
    return query.where(Note.young_person_id.in_(sa.select(YoungPerson.id).where(YoungPerson.protected.is_(False))))


def needs_breakglass(user) -> bool:
    """Whether reading a note requires a written reason each time (the Ufficio di Piano)."""
    return user.role == ADMIN


def can_write_note(user, appointment) -> bool:
    """Only the appointment's own tutor writes its note, once the session has started and was not missed."""
    from app.models import Status

    return (user.role == TUTOR and appointment.tutor_id == user.id
            and appointment.status in (Status.BOOKED, Status.CONFIRMED, Status.ATTENDED))


def can_add_addendum(user, note) -> bool:
    """Addenda to a final note: its author, or a coordinator of the author's organisation who may read it."""
    if not note.is_final or not has_permission(user, "notes.addendum"):
        return False
    if user.role == TUTOR:
        return note.author_id == user.id
    return user.role == COORD and note.author.organisation_id == user.organisation_id and can_read_note(user, note)


def can_acknowledge_attention(user, note) -> bool:
    """A coordinator who may read a final note flagged for attention marks it as seen ("presa visione")."""
    return (user.role == COORD and note.is_final and note.needs_attention and note.attention_seen_at is None
            and can_read_note(user, note))


def can_read_note(user, note) -> bool:
    """True when the note is in the user's reading scope (break-glass not counted)."""
    from app.models import Note

    found = db.session.scalar(scoped_notes(sa.select(Note.id), user).where(Note.id == note.id))
    return found is not None


def can_book_follow_up(user, appointment) -> bool:
    """The follow-up goes straight to the booking flow for those who book; a tutor asks the desk instead."""
    return can_book(user, appointment.desk, appointment.tutor)


def get_note_or_404(note_id: int, user, *, breakglass: bool = False):
    """Load a note the user may read (404 otherwise, no existence leak); admin only with breakglass=True."""
    from app.models import Note

    query = sa.select(Note).where(Note.id == note_id)
    if needs_breakglass(user):
        if not breakglass:
            abort(404)
        note = db.session.scalar(scoped_breakglass_notes(query, user))
    else:
        note = db.session.scalar(scoped_notes(query, user))
    if note is None:
        abort(404)
    return note


def watched_notes(query: sa.Select, user) -> sa.Select:
    """Notes whose reads the user is shown: a tutor their own, a coordinator their organisation's."""
    from app.models import Note

    if user.role == TUTOR:
        return query.where(Note.author_id == user.id)
    if user.role == COORD:
        return query.where(Note.author_id.in_(_org_tutor_ids(user.organisation_id)))
    return query.where(sa.false())


# --- Helpdesk ------------------------------------------------------------------------------
# BRIEF: helpdesk queue — admin all; coordinator own organisation's (desks it runs, or assigned
# to its staff); operator own desks' (or assigned to them); tutor only what is assigned to them.

def scoped_tickets(query: sa.Select, user) -> sa.Select:
    """Filter a Ticket query to the requests the user may see."""
    from app.models import Desk, Ticket

    if user.role == ADMIN:
        return query
    if user.role == COORD:
        org_desks = sa.select(Desk.id).where(Desk.partner_id == user.organisation_id)
        org_staff = sa.select(User.id).where(User.organisation_id == user.organisation_id)
        return query.where(sa.or_(Ticket.desk_id.in_(org_desks), Ticket.assignee_id.in_(org_staff)))
    if user.role == OPER:
        return query.where(sa.or_(Ticket.desk_id.in_(_own_desk_ids(user)), Ticket.assignee_id == user.id))
    if user.role == TUTOR:
        return query.where(Ticket.assignee_id == user.id)
    return query.where(sa.false())


def intake_desks(query: sa.Select, user) -> sa.Select:
    """Desks whose queue the user may file a request into (operators: their own; coordinators: their org's)."""
    from app.models import Desk

    if user.role == ADMIN:
        return query
    if user.role == COORD:
        return query.where(Desk.partner_id == user.organisation_id)
    if user.role == OPER:
        return query.where(Desk.id.in_(_own_desk_ids(user)))
    return query.where(sa.false())


def can_work_ticket(user, ticket) -> bool:
    """Change status, priority, comment: staff who hold the queue, or the assignee (a tutor included)."""
    if ticket.assignee_id == user.id and has_permission(user, "helpdesk.view"):
        return True
    return has_permission(user, "helpdesk.assign")


def can_assign_ticket(user, ticket=None) -> bool:
    """Assigning is for those who hold the queue (admin, coordinators, operators), not tutors."""
    return has_permission(user, "helpdesk.assign")


def assignable_staff(query: sa.Select, user, desk=None) -> sa.Select:
    """People a ticket may be assigned to: operators and tutors in the assigner's reach."""
    from app.models import desk_operators, desk_tutors

    query = query.where(User.role.in_((OPER, TUTOR)), User.active.is_(True))
    if user.role == ADMIN:
        return query
    if user.role == COORD:
        return query.where(User.organisation_id == user.organisation_id)
    if user.role == OPER:
        desks = _own_desk_ids(user)
        return query.where(sa.or_(
            User.id == user.id,
            User.id.in_(sa.select(desk_operators.c.user_id).where(desk_operators.c.desk_id.in_(desks))),
            User.id.in_(sa.select(desk_tutors.c.user_id).where(desk_tutors.c.desk_id.in_(desks)))))
    return query.where(sa.false())


def can_book_ticket(user, ticket) -> bool:
    """"Prenota" on a ticket: those who book (the booking itself checks desk and tutor again)."""
    return has_permission(user, "bookings.manage") and ticket.status != "closed"


def get_ticket_or_404(ticket_id: int, user, action: str = "view"):
    """Load a ticket in the user's scope (404 otherwise); 403 when `action` ("work", "assign", "book") is not allowed."""
    from app.models import Ticket

    ticket = db.session.scalar(scoped_tickets(sa.select(Ticket), user).where(Ticket.id == ticket_id))
    if ticket is None:
        abort(404)
    allowed = {
        "view": lambda: True,
        "work": lambda: can_work_ticket(user, ticket),
        "assign": lambda: can_assign_ticket(user, ticket),
        "book": lambda: can_book_ticket(user, ticket),
    }[action]()
    if not allowed:
        abort(403)
    return ticket
