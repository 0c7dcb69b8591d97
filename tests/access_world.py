"""The world of the generated access matrix (tests/test_access_matrix.py) and its resolvers.

One small network, built once per test module: two partner organisations, each running one desk
in its own town, their staff, young people (one protected), appointments, notes, tickets, waiting
entries, recall tasks, feeds. For every variable a route may carry (`desk_id`, `person_id`, …)
RESOLVERS says, for a role, which objects are inside that role's scope (BRIEF, "What each may do")
and which are outside it, each with a label. The matrix test turns every route × method × role ×
object into a request; a route whose variable has no resolver fails the test with the name to add.

Values are ids (or strings). A value may be a zero-argument function: it is called before every
request, so an action that deletes or closes its object (a closure, a waiting entry) finds a fresh
one each time, and a token that an earlier request renewed is issued again.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from types import SimpleNamespace

import sqlalchemy as sa

from app.extensions import db
from app.models import (
    Appointment,
    Closure,
    ExtraOpening,
    Note,
    OpeningSchedule,
    RecallTask,
    Role,
    Status,
    Ticket,
    TutorAbsence,
    TutorAvailability,
    WaitingEntry,
)
from app.models.base import utcnow

ADMIN, COORD, OPER, TUTOR, MUNI, OBS = Role.ALL
BREAKGLASS_REASON = "Verifica disposta dal Tribunale per i minorenni, prot. 123/2026"
SECRET = "Racconta di un momento difficile a casa."
NAME_A, NAME_B, NAME_P = "Bianchi", "Forestieri", "Riservati"  # person_a, person_b (Ala Milano), person_p (protected)
OTHER_NOTE, PROTECTED_NOTE, COLLEAGUE_DRAFT = "Nota di un altro ente.", "Nota su un fascicolo protetto.", \
    "Bozza della collega."

Value = object  # an id, a string, or a function returning one (called before each request)


@dataclass
class Scope:
    """Objects inside a role's scope (the action must be allowed) and outside it (it must be refused).

    An outside entry may carry a third element, the exact status expected (None: 403 or 404 will do);
    by default objects the role cannot see at all (NOT_SEEN) must answer 404, never revealing they exist.
    """

    inside: list[tuple[str, Value]] = field(default_factory=list)
    outside: list[tuple[str, Value]] = field(default_factory=list)


def scope(inside=None, outside=None) -> Scope:
    """Build a Scope: each side is a (label, value) pair, a list of pairs, or a bare value."""
    def pairs(items, default):
        if items is None:
            return []
        if isinstance(items, list):
            return [item if isinstance(item, tuple) else (default, item) for item in items]
        return [items] if isinstance(items, tuple) else [(default, items)]
    return Scope(pairs(inside, "in scope"), pairs(outside, "out of scope"))


def resolve(value: Value):
    """The value to put in the URL or form now."""
    return value() if callable(value) else value


# --- The world ---------------------------------------------------------------------------------

def build_world(network: dict, make_user: Callable, *, finalise: Callable) -> SimpleNamespace:
    """Create the network's people and objects; returns ids by name (committed)."""
    from tests.bookings.factories import make_desk, make_person

    sl, am = network["Students Lab"], network["Ala Milano"]
    w = SimpleNamespace()
    users = dict(
        admin=make_user(ADMIN), coordinator=make_user(COORD, organisation=sl),
        operator=make_user(OPER, organisation=sl), tutor=make_user(TUTOR, organisation=sl, full_name="Marta Rossi"),
        municipal_contact=make_user(MUNI, organisation=network["Segrate"]), observer=make_user(OBS),
        colleague=make_user(TUTOR, organisation=sl, full_name="Luca Verdi"),
        tutor_b=make_user(TUTOR, organisation=am, full_name="Paolo Esterno"),
        coordinator_b=make_user(COORD, organisation=am), operator_b=make_user(OPER, organisation=am),
        staff_a=make_user(OPER, organisation=sl, full_name="Bersaglio Students Lab"),
        staff_b=make_user(OPER, organisation=am, full_name="Bersaglio Ala Milano"),
        reset_user=make_user(OPER, organisation=sl, full_name="Chi reimposta la password"),
    )
    w.actors = {role: users[role] for role in Role.ALL}  # the people who sign in
    w.emails = {role: users[role].email for role in Role.ALL}
    for name, user in users.items():
        setattr(w, name, user.id)
    w.org_a, w.org_b = sl.id, am.id
    # Partners edited by the admin screens: none of the signed-in people belongs to them.
    w.partner_x, w.partner_y = network["Somaschi"].id, network["Bussero"].id
    w.town_a, w.town_b = network["Segrate"].id, network["Rodano"].id

    desk_a = make_desk(network, town="Segrate", partner="Students Lab", name="Sportello Segrate (matrice)",
                       operators=[users["operator"]], tutors=[users["tutor"], users["colleague"]])
    desk_b = make_desk(network, town="Rodano", partner="Ala Milano", name="Sportello Rodano (matrice)",
                       operators=[users["operator_b"]], tutors=[users["tutor_b"]])
    w.desk_a, w.desk_b = desk_a.id, desk_b.id
    for desk in (desk_a, desk_b):  # weekly hours and availability end the day before FUTURE
        for schedule in desk.schedules:
            schedule.valid_to = date.today() + FUTURE - timedelta(days=1)
    for row in db.session.scalars(sa.select(TutorAvailability)):
        row.valid_to = date.today() + FUTURE - timedelta(days=1)
    db.session.commit()

    person_a = make_person(network, users["operator"], registered_desk=desk_a, first_name="Giulia")
    person_b = make_person(network, users["operator_b"], registered_desk=desk_b, first_name="Sara",
                           last_name="Forestieri", town="Rodano")
    person_p = make_person(network, users["operator"], registered_desk=desk_a, first_name="Protetta", last_name="Riservati",
                           protected=True, tutor=users["tutor"])
    w.person_a, w.person_b, w.person_p = person_a.id, person_b.id, person_p.id
    w.codes = {"a": person_a.code, "b": person_b.code, "p": person_p.code}

    def appointment(desk, tutor, person, *, hours_ago, status=Status.ATTENDED) -> int:
        start = utcnow().replace(microsecond=0) - timedelta(hours=hours_ago)
        row = Appointment(desk_id=desk, tutor_id=tutor, young_person_id=person, service="orientamento",
                          mode="presenza", starts_at=start, ends_at=start + timedelta(minutes=45), status=status,
                          uid=f"{uuid.uuid4()}@matrix.test")
        db.session.add(row)
        db.session.commit()
        return row.id

    w.appt_a = appointment(w.desk_a, w.tutor, w.person_a, hours_ago=2)        # final note note_a
    w.appt_p = appointment(w.desk_a, w.tutor, w.person_p, hours_ago=26)       # final note note_p (protected)
    w.appt_w = appointment(w.desk_a, w.tutor, w.person_a, hours_ago=50)       # no note yet: the tutor writes it
    w.appt_c = appointment(w.desk_a, w.colleague, w.person_a, hours_ago=74)   # the colleague's draft
    w.appt_b = appointment(w.desk_b, w.tutor_b, w.person_b, hours_ago=3)      # other organisation, final note
    w.appt_future = appointment(w.desk_a, w.tutor, w.person_a, hours_ago=-72, status=Status.BOOKED)
    w.appt_noshow_b = appointment(w.desk_b, w.tutor_b, w.person_b, hours_ago=98, status=Status.NO_SHOW)
    w.appt_noshow_p = appointment(w.desk_a, w.tutor, w.person_p, hours_ago=122, status=Status.NO_SHOW)
    w.appt_noshow_a = appointment(w.desk_a, w.tutor, w.person_a, hours_ago=146, status=Status.NO_SHOW)

    w.note_a = finalise(users["tutor"], w.appt_a, SECRET, attention=True).id
    w.note_p = finalise(users["tutor"], w.appt_p, PROTECTED_NOTE).id
    w.note_b = finalise(users["tutor_b"], w.appt_b, OTHER_NOTE).id
    w.note_c = finalise(users["colleague"], w.appt_c, COLLEAGUE_DRAFT, draft=True).id

    def ticket(desk, assignee=None, reference="") -> int:
        row = Ticket(reference=reference, channel="telefono", first_name="Anna", age=16, town_id=w.town_a,
                     phone="3331112222", topic="orientamento", message="Vorrei un consiglio.",
                     privacy_consent_at=utcnow(), privacy_text_version="2026-01", desk_id=desk,
                     assignee_id=assignee)
        db.session.add(row)
        db.session.commit()
        return row.id

    from app.models import QuarterlyReport

    db.session.add_all([QuarterlyReport(year=2026, quarter=2, status="issued", summary="Sintesi", issued_at=utcnow()),
                        QuarterlyReport(year=2026, quarter=3, status="draft", summary="Bozza riservata")])
    db.session.commit()

    w.ticket_a = ticket(w.desk_a, w.tutor, "RIC-2026-900001")    # assigned to the tutor
    w.ticket_a2 = ticket(w.desk_a, None, "RIC-2026-900002")      # same desk, not assigned
    w.ticket_b = ticket(w.desk_b, None, "RIC-2026-900003")
    return w


# --- Fresh objects (the request may delete or close them) -----------------------------------------

def _add(row) -> int:
    db.session.add(row)
    db.session.commit()
    return row.id


FUTURE = timedelta(days=60)  # the world's weekly hours end the day before; PostgreSQL forbids overlaps


def fresh_schedule(desk_id: int) -> Callable[[], int]:
    """The desk's next weekly hours, not started yet (created again if a request deleted them)."""
    def get() -> int:
        start = date.today() + FUTURE
        row = db.session.scalar(sa.select(OpeningSchedule).where(OpeningSchedule.desk_id == desk_id,
                                                                 OpeningSchedule.valid_from == start))
        return row.id if row else _add(OpeningSchedule(desk_id=desk_id, name="Orario futuro", valid_from=start))
    return get


def fresh_extra(desk_id: int) -> Callable[[], int]:
    return lambda: _add(ExtraOpening(desk_id=desk_id, day=date.today() + timedelta(days=45), start=time(9),
                                     end=time(12)))


def fresh_absence(tutor_id: int) -> Callable[[], int]:
    start = utcnow().replace(microsecond=0) + timedelta(days=30)
    return lambda: _add(TutorAbsence(tutor_id=tutor_id, starts_at=start, ends_at=start + timedelta(days=1),
                                     kind="ferie"))


def fresh_availability(tutor_id: int, desk_id: int) -> Callable[[], int]:
    """A tutor's availability at the desk from a future date (created again if a request deleted it)."""
    def get() -> int:
        start = date.today() + FUTURE
        row = db.session.scalar(sa.select(TutorAvailability).where(
            TutorAvailability.tutor_id == tutor_id, TutorAvailability.desk_id == desk_id,
            TutorAvailability.valid_from == start))
        return row.id if row else _add(TutorAvailability(tutor_id=tutor_id, desk_id=desk_id, valid_from=start))
    return get


def fresh_closure(*, desk_id: int | None = None) -> Callable[[], int]:
    start = utcnow().replace(microsecond=0) + timedelta(days=20)
    kind = "desk" if desk_id else "all"
    return lambda: _add(Closure(scope=kind, desk_id=desk_id, starts_at=start, ends_at=start + timedelta(hours=3),
                                reason="Chiusura di prova"))


def open_waiting(person_id: int, desk_id: int) -> Callable[[], int]:
    """The open waiting entry of a person at a desk (reopened if a request closed it)."""
    def get() -> int:
        row = db.session.scalar(sa.select(WaitingEntry).where(WaitingEntry.young_person_id == person_id,
                                                              WaitingEntry.desk_id == desk_id,
                                                              WaitingEntry.service == "orientamento"))
        if row is None:
            return _add(WaitingEntry(young_person_id=person_id, desk_id=desk_id, service="orientamento"))
        row.status, row.closed_at, row.closed_by_id = "waiting", None, None
        db.session.commit()
        return row.id
    return get


def open_recall(appointment_id: int) -> Callable[[], int]:
    """The open recall task of a missed appointment (reopened if a request closed it)."""
    def get() -> int:
        row = db.session.scalar(sa.select(RecallTask).where(RecallTask.appointment_id == appointment_id))
        if row is None:
            appointment = db.session.get(Appointment, appointment_id)
            return _add(RecallTask(appointment_id=appointment_id, young_person_id=appointment.young_person_id,
                                   desk_id=appointment.desk_id))
        row.outcome, row.closed_at, row.closed_by_id = None, None, None
        db.session.commit()
        return row.id
    return get


def flagged(note_id: int) -> Callable[[], int]:
    """A final note flagged for attention and not yet seen (a "presa visione" marks it seen)."""
    def get() -> int:
        db.session.execute(sa.update(Note).where(Note.id == note_id).values(attention_seen_at=None))
        db.session.commit()
        return note_id
    return get


def open_consent(person_id: int) -> Callable[[], int]:
    """A consent record of the person, not withdrawn (reopened if a request withdrew it)."""
    def get() -> int:
        from app.models import ConsentRecord, ConsentText

        row = db.session.scalar(sa.select(ConsentRecord).where(ConsentRecord.young_person_id == person_id,
                                                               ConsentRecord.kind == "notice"))
        if row is None:
            text = db.session.scalar(sa.select(ConsentText).order_by(ConsentText.id))
            if text is None:
                text = ConsentText(version="matrice-1", title="Informativa", body="Testo.",
                                   effective_from=date(2026, 1, 1))
                db.session.add(text)
                db.session.flush()
            return _add(ConsentRecord(young_person_id=person_id, kind="notice", text_version=text.version))
        row.withdrawn_at, row.withdrawn_by_id = None, None
        db.session.commit()
        return row.id
    return get


def link_token(appointment_id: int) -> Callable[[], str]:
    def get() -> str:
        from app.bookings import messages

        appointment = db.session.get(Appointment, appointment_id)
        appointment.status = Status.BOOKED
        token = messages.issue_link(appointment)
        db.session.commit()
        return token
    return get


def tutor_feed_token(tutor_id: int) -> Callable[[], str]:
    def get() -> str:
        from app.bookings import messages
        from app.models import User

        return messages.issue_tutor_feed(db.session.get(User, tutor_id))
    return get


def desk_feed_token(desk_id: int, admin_id: int) -> Callable[[], str]:
    def get() -> str:
        from app.desks import feeds
        from app.models import User

        row = feeds.renew_feed(db.session.get(User, admin_id), "desk", desk_id)
        db.session.commit()
        return feeds.link_token(row)
    return get


def reset_token(user_id: int) -> Callable[[], str]:
    def get() -> str:
        from app.auth.services import make_reset_token
        from app.models import User

        return make_reset_token(db.session.get(User, user_id))
    return get


UNKNOWN_TOKEN = ("unknown token", "Zm9vYmFyLW5vbi1lc2lzdGUtcXVlc3RvLXRva2VuLTEyMzQ1")


# --- Resolvers: URL variable -> (world, role, endpoint, method) -> Scope ----------------------------

def _desk(w, role, endpoint, method) -> Scope:
    from app.policy import declared_access

    access = declared_access(endpoint)
    if access == "desks.view":  # BRIEF: opening hours are seen network-wide, a town's contact its own only
        if role == MUNI:
            return scope(("own town's desk", w.desk_a), ("another town's desk", w.desk_b))
        return scope([("own desk", w.desk_a), ("another organisation's desk", w.desk_b)])
    if access == "availability.edit" and role == COORD:
        # A coordinator edits their own tutors wherever they work; another desk's page lists none of them.
        return scope([("desk where own tutors work", w.desk_a),
                      ("another desk: only own tutors are listed", w.desk_b)])
    if role == OPER:
        return scope(("own desk", w.desk_a), ("a desk not assigned to them", w.desk_b))
    return scope([("a desk", w.desk_a), ("another organisation's desk", w.desk_b)])


def _child(make: Callable[[int], Callable], *, of_tutor: bool = False):
    """A desk's own row (schedule, extra opening, availability, absence): the other desk's is out of scope."""
    def resolver(w, role, endpoint, method) -> Scope:
        if of_tutor:
            inside, outside = make(w.tutor), make(w.tutor_b)
        else:
            inside, outside = make(w.desk_a), make(w.desk_b)
        return scope(("the desk's own row", inside), ("another desk's row", outside))
    return resolver


def _availability_row(w, role, endpoint, method) -> Scope:
    return scope(("the desk's tutor", fresh_availability(w.tutor, w.desk_a)),
                 ("another desk's tutor", fresh_availability(w.tutor_b, w.desk_b)))


def _closure(w, role, endpoint, method) -> Scope:
    if role == ADMIN:
        return scope([("desk closure", fresh_closure(desk_id=w.desk_a)), ("network closure", fresh_closure())])
    return scope(("own desk's closure", fresh_closure(desk_id=w.desk_a)),
                 [("another desk's closure", fresh_closure(desk_id=w.desk_b)),
                  ("network closure (Ufficio di Piano only)", fresh_closure())])


def _town(w, role, endpoint, method) -> Scope:
    return scope(("a town", w.town_a), ("not a town", w.org_a))


def _person(w, role, endpoint, method) -> Scope:
    from app.policy import declared_access

    if declared_access(endpoint) == "privacy.manage":
        # The data controller answers every data subject's request, protected records included
        # (app/policy/privacy.py); only a missing record is refused.
        return scope([("a young person", w.person_a), ("another organisation's", w.person_b),
                      ("protected record (data controller)", w.person_p)], ("no such person", 987654))
    if role == ADMIN:
        if endpoint == "notes.dossier":  # notes only through break-glass, one at a time
            return scope(outside=[("notes without break-glass", w.person_a), ("protected record", w.person_p)])
        return scope([("own organisation's", w.person_a), ("another organisation's", w.person_b)],
                     ("protected record", w.person_p))
    if role == COORD:
        return scope([("registered by own organisation", w.person_a), ("protected, own tutor's", w.person_p)],
                     ("another organisation's", w.person_b))
    if role == OPER:
        return scope(("registered at own desk", w.person_a),
                     [("protected record at own desk", w.person_p), ("another desk's", w.person_b)])
    if role == TUTOR:
        return scope([("own young person", w.person_a), ("own protected record", w.person_p)],
                     ("another organisation's", w.person_b))
    return scope(("any", w.person_a))


def _appointment(w, role, endpoint, method) -> Scope:
    if endpoint.startswith("notes."):  # the note editor: only the appointment's own tutor
        if role == TUTOR:
            return scope(("own appointment", w.appt_w), ("a colleague's appointment", w.appt_c))
        return scope(outside=("someone else's session", w.appt_w))
    if role == ADMIN:
        return scope([("an appointment", w.appt_a), ("another organisation's", w.appt_b)])
    if role == TUTOR:
        return scope(("own appointment", w.appt_a), [("a colleague's", w.appt_c), ("another organisation's", w.appt_b)])
    if role in (COORD, OPER):
        return scope(("own organisation's / own desk's", w.appt_a), ("another organisation's desk", w.appt_b))
    return scope(("any", w.appt_a))


def _note(w, role, endpoint, method) -> Scope:
    if role == ADMIN:  # BRIEF: the Ufficio di Piano reads a note only by break-glass, with a reason
        breakglass = (endpoint == "notes.view" and method == "GET") or endpoint == "notes.breakglass" or (
            endpoint == "notes.download" and method == "POST")
        protected = ("protected record (no break-glass either)", w.note_p)
        if breakglass:
            return scope(("by break-glass", w.note_a), protected)
        return scope(outside=[("without break-glass", w.note_a), protected])
    if endpoint == "notes.breakglass" or (endpoint == "notes.download" and method == "POST"):
        return scope(outside=("break-glass is for the Ufficio di Piano", w.note_a, None))
    if role == COORD:
        if endpoint == "notes.acknowledge":
            return scope(("flagged note of own organisation", flagged(w.note_a)),
                         ("another organisation's", w.note_b))
        return scope([("own organisation's", w.note_a), ("protected, own tutor's", w.note_p)],
                     ("another organisation's", w.note_b))
    if role == TUTOR:
        if endpoint == "notes.acknowledge":
            return scope(outside=[("own note: coordinators acknowledge", flagged(w.note_a), 403),
                                  ("another organisation's", w.note_b)])
        return scope([("own final note", w.note_a), ("own protected record", w.note_p)],
                     [("a colleague's draft", w.note_c), ("another organisation's", w.note_b)])
    return scope(("any", w.note_a))


def _ticket(w, role, endpoint, method) -> Scope:
    if role == ADMIN:
        return scope([("a desk's request", w.ticket_a), ("another desk's", w.ticket_b)])
    if role == TUTOR:
        return scope(("assigned to them", w.ticket_a),
                     [("same desk, not assigned to them", w.ticket_a2), ("another desk's", w.ticket_b)])
    if role in (COORD, OPER):
        return scope(("own desk's request", w.ticket_a), ("another organisation's desk", w.ticket_b))
    return scope(("any", w.ticket_a))


def _user(w, role, endpoint, method) -> Scope:
    if role == ADMIN:
        return scope([("own organisation's staff", w.staff_a), ("another organisation's", w.staff_b)])
    if role == COORD:
        return scope(("own organisation's staff", w.staff_a),
                     [("another organisation's", w.staff_b), ("an administrator", w.admin)])
    return scope(("any", w.staff_a))


def _organisation(w, role, endpoint, method) -> Scope:
    return scope([("a partner", w.partner_x), ("a town", w.partner_y)])


def _waiting(w, role, endpoint, method) -> Scope:
    own = ("own desk's entry", open_waiting(w.person_a, w.desk_a))
    if role == ADMIN:
        return scope(own, ("protected record", open_waiting(w.person_p, w.desk_a)))
    return scope(own, ("another organisation's desk", open_waiting(w.person_b, w.desk_b)))


def _recall(w, role, endpoint, method) -> Scope:
    own = ("own desk's recall", open_recall(w.appt_noshow_a))
    if role == ADMIN:
        return scope(own, ("protected record", open_recall(w.appt_noshow_p)))
    if role == COORD:
        return scope([own, ("protected, own tutor's", open_recall(w.appt_noshow_p))],
                     ("another organisation's desk", open_recall(w.appt_noshow_b)))
    return scope(own, [("another organisation's desk", open_recall(w.appt_noshow_b)),
                       ("protected record", open_recall(w.appt_noshow_p))])


def _quarter(w, role, endpoint, method) -> Scope:
    if role == OBS:  # Città Metropolitana sees the reports issued to it, never a draft
        return scope(("an issued report", 2), [("a draft not issued yet", 3), ("no such quarter", 5)])
    return scope([("an issued report", 2), ("a draft", 3)], ("no such quarter", 5))


TOKENS: dict[str, Callable] = {
    "bookings.link": lambda w: link_token(w.appt_future),
    "bookings.link_action": lambda w: link_token(w.appt_future),
    "bookings.tutor_feed": lambda w: tutor_feed_token(w.tutor),
    "desks.feed": lambda w: desk_feed_token(w.desk_a, w.admin),
    "auth.reset_password": lambda w: reset_token(w.reset_user),
}


def _token(w, role, endpoint, method) -> Scope:
    if endpoint not in TOKENS:
        raise LookupError(f"no token kind for {endpoint}: add it to TOKENS in tests/access_world.py")
    return scope(("a valid token", TOKENS[endpoint](w)), UNKNOWN_TOKEN)


# Variables naming objects that a role outside their scope must not even learn exist: 404, never 403.
NOT_SEEN = {"person_id", "appointment_id", "note_id", "ticket_id", "user_id", "entry_id", "task_id", "record_id",
            "token", "number", "year", "quarter", "organisation_id", "town_id"}

# A child object belongs to the object of another variable of the same route: only that parent's
# first inside value is combined with it (another inside parent would simply not own the child).
CHILD_OF = {"schedule_id": "desk_id", "extra_id": "desk_id", "absence_id": "desk_id", "row_id": "desk_id",
            "record_id": "person_id", "number": "note_id"}

RESOLVERS: dict[str, Callable[..., Scope]] = {
    "desk_id": _desk,
    "schedule_id": _child(fresh_schedule),
    "extra_id": _child(fresh_extra),
    "absence_id": _child(fresh_absence, of_tutor=True),
    "row_id": _availability_row,
    "closure_id": _closure,
    "town_id": _town,
    "person_id": _person,
    "appointment_id": _appointment,
    "note_id": _note,
    "number": lambda w, role, endpoint, method: scope(("first version", 1), ("no such version", 99)),
    "ticket_id": _ticket,
    "record_id": lambda w, role, endpoint, method: scope(("the person's consent", open_consent(w.person_a)),
                                                         ("another person's consent", open_consent(w.person_b))),
    "year": lambda w, role, endpoint, method: scope(("a reported year", 2026), ("a future year", 2027)),
    "quarter": _quarter,
    "user_id": _user,
    "organisation_id": _organisation,
    "entry_id": _waiting,
    "task_id": _recall,
    "token": _token,
    "action": lambda w, role, endpoint, method: scope(("confirm", "conferma"), ("unknown action", "rifiuta")),
    "filename": lambda w, role, endpoint, method: scope(("a vendored file", "js/app.js"),
                                                         ("a missing file", "nessun-file.js")),
}


# --- Objects named by the form or the query string -------------------------------------------------
# Sent as the form of a POST and as the query string of a GET. Needed where an empty form cannot
# reach the access check (the object comes from the form, or the form is validated first).

def _form_waiting_add(w, role, endpoint, method) -> Scope:
    def form(person, desk):
        return {"persona": person, "sportello": desk, "servizio": "orientamento"}
    if role == ADMIN:
        return scope(("a person", form(w.person_b, w.desk_b)), ("protected record", form(w.person_p, w.desk_a)))
    if role in (COORD, OPER):
        return scope(("own person and desk", form(w.person_a, w.desk_a)),
                     ("another organisation's person", form(w.person_b, w.desk_b)))
    return scope(("any", form(w.person_a, w.desk_a)))


def _form_agenda_sheet(w, role, endpoint, method) -> Scope:
    if role in (ADMIN, COORD):
        return scope([("a desk", {"sportello": w.desk_a}), ("another desk", {"sportello": w.desk_b})])
    if role == OPER:
        return scope(("own desk", {"sportello": w.desk_a}), ("another organisation's desk", {"sportello": w.desk_b}))
    if role == TUTOR:  # the day sheet has phone numbers: for those who book at the desk
        return scope(outside=[("own desk: the sheet is for those who book", {"sportello": w.desk_a}),
                              ("another organisation's desk", {"sportello": w.desk_b})])
    return scope(("any", {"sportello": w.desk_a}))


def _form_booking(w, role, endpoint, method) -> Scope:
    def form(person, desk, tutor):
        return {"person": person, "desk": desk, "service": "orientamento", "mode": "presenza",
                "slot": f"{tutor}|2030-01-07T09:00:00+00:00"}
    if role in (ADMIN, COORD, OPER):
        inside = ("own person, desk and tutor", form(w.person_a, w.desk_a, w.tutor))
        if role == ADMIN:
            return scope([inside, ("another organisation's", form(w.person_b, w.desk_b, w.tutor_b))],
                         ("protected record", form(w.person_p, w.desk_a, w.tutor)))
        return scope(inside, [("another organisation's person, desk and tutor", form(w.person_b, w.desk_b, w.tutor_b)),
                              ("another organisation's person, own desk and tutor", form(w.person_b, w.desk_a, w.tutor)),
                              ("protected record" if role == OPER else "another organisation's tutor",
                               form(w.person_p, w.desk_a, w.tutor) if role == OPER
                               else form(w.person_a, w.desk_b, w.tutor_b))])
    return scope(("any", form(w.person_a, w.desk_a, w.tutor)))


def _query_person(key: str):
    """Pages that preselect a young person from the query: someone out of scope is simply not shown."""
    def resolver(w, role, endpoint, method) -> Scope:
        return scope([("own person", {key: w.person_a}), ("someone out of scope: not shown", {key: w.person_b}),
                      ("a protected record: not shown unless theirs", {key: w.person_p})])
    return resolver


def _query_desk(key: str):
    """Filters by desk in the query: another desk's rows are simply not shown."""
    def resolver(w, role, endpoint, method) -> Scope:
        return scope([("own desk", {key: w.desk_a}), ("another desk: nothing of it shown", {key: w.desk_b})])
    return resolver


def _form_report(w, role, endpoint, method) -> Scope:
    """Dashboard filters: a desk or town outside the viewer's report scope is refused (app/policy/reports.py)."""
    if role in (ADMIN, OBS, None):
        return scope([("the whole network", {}), ("a desk", {"sportello": w.desk_a}),
                      ("another desk", {"sportello": w.desk_b})])
    if role == MUNI:
        return scope([("own town", {"comune": w.town_a}), ("own town's desk", {"sportello": w.desk_a})],
                     [("another town", {"comune": w.town_b}), ("another town's desk", {"sportello": w.desk_b})])
    return scope([("own scope", {}), ("own desk", {"sportello": w.desk_a})],
                 ("another organisation's desk", {"sportello": w.desk_b}))


def _form_tutor_feed(w, role, endpoint, method) -> Scope:
    if role == TUTOR:
        return scope(("own feed", {}))
    return scope(outside=("only tutors have a private feed", {}))


def _form_feed(w, role, endpoint, method) -> Scope:
    return scope(("a desk's feed", {"scope": "desk", "target_id": w.desk_a}),
                 ("no such desk", {"scope": "desk", "target_id": 987654}))


FORMS: dict[str, Callable[..., Scope]] = {
    "notes.breakglass": lambda w, role, endpoint, method: scope(("a reason", {"reason": BREAKGLASS_REASON})),
    "notes.download": lambda w, role, endpoint, method: scope(("a reason", {"reason": BREAKGLASS_REASON})),
    "bookings.waiting_close": lambda w, role, endpoint, method: scope(("withdrawn", {"esito": "withdrawn"})),
    "bookings.recall_close": lambda w, role, endpoint, method: scope(("unreachable", {"esito": "unreachable"})),
    "bookings.waiting_add": _form_waiting_add,
    "bookings.create": _form_booking,
    "bookings.agenda_feed": _form_tutor_feed,
    "privacy.index": lambda w, role, endpoint, method: scope([
        ("search by name: a protected record is found only by its exact code", {"q": NAME_P[:6]}),
        ("search by part of a name", {"q": NAME_B[:6]})]),
    "reports.dashboard": _form_report,
    "reports.export_csv": _form_report,
    "bookings.new": _query_person("person"),
    "bookings.waiting_new": _query_person("persona"),
    "bookings.waiting_hint": _query_desk("sportello"),
    "bookings.agenda_view": _query_desk("sportello"),
    "bookings.occupancy": lambda w, role, endpoint, method: scope([
        ("own town", {"comune": w.town_a}), ("another town: nothing of it shown to a town's contact",
                                             {"comune": w.town_b})]),
    "bookings.agenda_sheet": _form_agenda_sheet,
    "desks.feed_renew": _form_feed,
    "desks.feed_revoke": _form_feed,
}


# --- What a role must never read, on any page, fragment, CSV or feed -------------------------------



def never_shown(role, endpoint: str, access: str | None) -> list[str]:
    """Names and note texts outside the role's scope: they must not appear in any answer it gets."""
    if role is None:
        return [NAME_B, NAME_P, SECRET, OTHER_NOTE, PROTECTED_NOTE, COLLEAGUE_DRAFT]
    if role == ADMIN:  # break-glass opens one note at a time; the data controller sees every record
        texts = [PROTECTED_NOTE]
        if endpoint not in ("notes.breakglass", "notes.download"):
            texts += [SECRET, OTHER_NOTE, COLLEAGUE_DRAFT]
        if access != "privacy.manage" or endpoint == "privacy.index":  # the controller's search: exact code only
            texts.append(NAME_P)
        return texts
    if role == COORD:
        return [NAME_B, OTHER_NOTE, "Bersaglio Ala Milano"]
    if role == TUTOR:
        return [NAME_B, OTHER_NOTE, COLLEAGUE_DRAFT]
    if role == OPER:
        return [NAME_B, NAME_P, SECRET, OTHER_NOTE, PROTECTED_NOTE, COLLEAGUE_DRAFT]
    texts = [NAME_A, NAME_B, NAME_P, SECRET, OTHER_NOTE, PROTECTED_NOTE, COLLEAGUE_DRAFT]
    if role == MUNI and access != "public":  # a town's contact sees its own town's desks (the public page lists all)
        texts.append("Sportello Rodano (matrice)")
    return texts


def finalise_note(app):
    """Factory for build_world: a final note (through the notes services, PDF archived) or a draft."""
    from app.models import User
    from app.notes import services

    def make(tutor: User, appointment_id: int, summary: str, *, attention: bool = False, draft: bool = False):
        data = services.NoteData(outcomes={7: "avviato"}, summary=summary, needs_attention=attention)
        with app.test_request_context():
            if draft:
                return services.save_draft(tutor, appointment_id, data, 0)
            return services.finalise(tutor, appointment_id, data, 0)
    return make


__all__ = ["BREAKGLASS_REASON", "CHILD_OF", "FORMS", "NOT_SEEN", "never_shown", "RESOLVERS", "SECRET", "Scope", "build_world", "finalise_note", "resolve"]
