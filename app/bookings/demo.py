"""Demo history (HUB_DEMO=1 only): young people with invented names and their appointments.

The last two months and the next two weeks at every demo desk, in every state, drawn from
the availability engine so the integrity rules hold (desk open, tutor available, no overlap
for a tutor or a young person, never more than the desk's rooms). Deterministic (seeded
random), idempotent (skipped when the demo history exists) and fast: bulk inserts.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa

from app.domain import availability as engine
from app.extensions import db
from app.formatting import ROME
from app.models import (
    Appointment,
    AppointmentEvent,
    Desk,
    Organisation,
    OrganisationKind,
    RecallTask,
    Role,
    Status,
    User,
    WaitingEntry,
    YoungPerson,
)
from app.models.base import utcnow
from app.models.young_person import format_code

SEED = 2026
PEOPLE = 320
PAST_DAYS = 60
FUTURE_DAYS = 14
UID_SUFFIX = "@demo.hub-dei-talenti"
PRIVACY_VERSION = "2026-01"

FIRST_F = ("Giulia", "Sofia", "Aurora", "Alice", "Ginevra", "Emma", "Giorgia", "Beatrice", "Vittoria", "Martina",
           "Chiara", "Anna", "Noemi", "Sara", "Elisa", "Camilla", "Ludovica", "Rebecca", "Amira", "Fatima",
           "Ioana", "Mei", "Nadia", "Bianca", "Greta", "Marta", "Irene", "Asia", "Nicole", "Lucia")
FIRST_M = ("Leonardo", "Francesco", "Tommaso", "Edoardo", "Alessandro", "Lorenzo", "Mattia", "Gabriele",
           "Riccardo", "Andrea", "Diego", "Samuele", "Pietro", "Filippo", "Davide", "Giacomo", "Nicolò", "Simone",
           "Omar", "Youssef", "Karim", "Adrian", "Luca", "Marco", "Elia", "Christian", "Manuel", "Kevin",
           "Federico", "Michele")
LAST = ("Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci", "Marino", "Greco",
        "Bruno", "Gallo", "Conti", "De Luca", "Mancini", "Costa", "Giordano", "Rizzo", "Lombardi", "Moretti",
        "Barbieri", "Fontana", "Santoro", "Mariani", "Rinaldi", "Caruso", "Ferrara", "Galli", "Martini", "Leone",
        "Longo", "Gentile", "Martinelli", "Vitale", "Lombardo", "Serra", "Coppola", "De Santis", "D'Angelo",
        "Marchetti", "Parisi", "Villa", "Conte", "Ferraro", "Ferri", "Fabbri", "Bianco", "Marini", "Grasso",
        "Valentini", "El Amrani", "Popescu", "Chen", "Hossain", "Kaur", "Diallo")
SCHOOLS = ("ITIS Molinari", "Liceo Machiavelli", "IIS Argentia", "Università degli Studi di Milano",
           "Politecnico di Milano", "CFP Afol Est Milano", "Liceo Levi-Montalcini", "")
CANCEL_REASONS = ("Impegno scolastico", "Malattia", "Sovrapposizione con il lavoro", "Non più necessario",
                  "Tutor assente")


def _already_seeded() -> bool:
    return db.session.scalar(sa.select(Appointment.id).where(Appointment.uid.like(f"%{UID_SUFFIX}")).limit(1)) \
        is not None


def _birth_date(rng: random.Random, today: date) -> date:
    age_days = rng.randint(13 * 365 + 40, 31 * 365)
    return today - timedelta(days=age_days)


def _people(rng: random.Random, towns: list[Organisation], registrar: dict[int, User], today: date) -> list[dict]:
    """Young people (invented names) as insert rows; codes are set from their ids afterwards."""
    rows = []
    now = utcnow()
    for n in range(PEOPLE):
        female = rng.random() < 0.52
        first = rng.choice(FIRST_F if female else FIRST_M)
        last = rng.choice(LAST)
        town = rng.choice(towns)
        birth = _birth_date(rng, today)
        minor = (today.year - birth.year) < 18
        user = registrar[town.id]
        slug = f"{first}.{last}".lower().replace(" ", "").replace("'", "")
        status = "studente" if minor else rng.choice(("studente", "studente", "lavora", "neet", "in_cerca", "altro"))
        rows.append(dict(
            code=f"DEMO-{n}", first_name=first, last_name=last, birth_date=birth,
            gender="F" if female else rng.choice(("M", "M", "M", "altro", "nd")), residence_town_id=town.id,
            residence_other="", study_work_status=status, school=rng.choice(SCHOOLS) if status == "studente" else "",
            phone=f"3{rng.randint(10, 99)}{rng.randint(1000000, 9999999)}",
            email="" if minor else f"{slug}{n}@esempio.invalid",
            preferred_channel=rng.choice(("telefono", "email", "sms")),
            guardian_name=f"Genitore di {first}" if minor else "",
            guardian_contact=f"famiglia.{slug}{n}@esempio.invalid" if minor else "",
            guardian_consent=minor, privacy_consent_at=now - timedelta(days=rng.randint(PAST_DAYS + 1, 200)),
            privacy_text_version=PRIVACY_VERSION, privacy_collected_by_id=user.id, protected=False, tutor_id=None,
            registered_desk_id=None, registered_org_id=user.organisation_id, created_by_id=user.id,
            created_at=now, updated_at=now, version=1,
        ))
    return rows


def _overlaps(intervals: list[tuple[datetime, datetime]], start: datetime, end: datetime) -> bool:
    return any(s < end and e > start for s, e in intervals)


def seed_bookings(orgs: dict[str, Organisation]) -> int:
    """Add the demo young people and two and a half months of appointments; returns how many appointments."""
    from app.desks import services as desk_services

    if _already_seeded():
        return 0
    desks = list(db.session.scalars(sa.select(Desk).where(Desk.active.is_(True)).order_by(Desk.id)))
    if not desks:
        return 0
    rng = random.Random(SEED)
    now = utcnow()
    today = now.astimezone(ROME).date()
    first, last = today - timedelta(days=PAST_DAYS), today + timedelta(days=FUTURE_DAYS)
    admin = db.session.scalar(sa.select(User).where(User.role == Role.ADMIN).order_by(User.id).limit(1))
    if admin is None:
        return 0

    # Registrars: an operator of a desk in the town, else the admin.
    towns = list(db.session.scalars(sa.select(Organisation).where(Organisation.kind == OrganisationKind.MUNICIPALITY)
                                    .order_by(Organisation.id)))
    registrar = {t.id: admin for t in towns}
    for desk in desks:
        if desk.operators:
            registrar[desk.municipality_id] = desk.operators[0]
    rows = _people(rng, towns, registrar, today)
    ids = list(db.session.scalars(sa.insert(YoungPerson).returning(YoungPerson.id, sort_by_parameter_order=True),
                                  rows))
    table = YoungPerson.__table__
    db.session.execute(table.update().where(table.c.id == sa.bindparam("pk")).values(code=sa.bindparam("new_code")),
                       [{"pk": pid, "new_code": format_code(today.year, pid)} for pid in ids])
    people_by_town: dict[int, list[int]] = {}
    for pid, row in zip(ids, rows, strict=True):
        people_by_town.setdefault(row["residence_town_id"], []).append(pid)
    all_people = ids

    calendars = desk_services.desk_calendars([d.id for d in desks], first, last)
    tutor_cals = desk_services.tutor_calendars([d.id for d in desks], first, last)
    window_now = datetime.combine(first - timedelta(days=1), time(0), ROME)
    person_busy: dict[int, list] = {}
    tutor_busy: dict[int, list] = {}
    appointments: list[dict] = []
    for desk in desks:
        tutors = [t for t in tutor_cals if any(desk_id == desk.id for desk_id, _schedule in t.availability)]
        rules = desk_services.slot_rules(desk)
        slots = engine.bookable_slots(calendars[desk.id], tutors, [], first, last,
                                      engine.SlotRules(length=rules.length, buffer=rules.buffer,
                                                       min_notice=timedelta(0)), window_now)
        desk_busy: list[tuple[datetime, datetime]] = []
        operator = desk.operators[0] if desk.operators else admin
        for slot in slots:
            if slot.desk_id != desk.id:
                continue
            future = slot.start > now
            if rng.random() > (0.6 if future else 0.8):
                continue
            padded = (slot.start - rules.buffer, slot.end + rules.buffer)
            if _overlaps(tutor_busy.get(slot.tutor_id, []), *padded):
                continue
            if sum(1 for s, e in desk_busy if s < slot.end and e > slot.start) >= desk.rooms:
                continue
            pool = people_by_town.get(desk.municipality_id) or all_people
            person_id = None
            for _attempt in range(6):
                candidate = rng.choice(pool if rng.random() < 0.8 else all_people)
                if not _overlaps(person_busy.get(candidate, []), *padded):
                    person_id = candidate
                    break
            if person_id is None:
                continue
            roll = rng.random()
            if future:
                status = Status.CANCELLED if roll < 0.08 else (Status.CONFIRMED if roll < 0.4 else Status.BOOKED)
            else:
                status = (Status.CANCELLED if roll < 0.12 else Status.NO_SHOW if roll < 0.24
                          else Status.BOOKED if roll < 0.27 else Status.ATTENDED)
            created = min(slot.start - timedelta(days=rng.randint(2, 20), hours=rng.randint(0, 8)), now)
            row = dict(desk_id=desk.id, tutor_id=slot.tutor_id, young_person_id=person_id,
                       service=rng.choice(desk.services), mode=rng.choice(("presenza",) * 6 + ("telefono", "video")),
                       starts_at=slot.start.astimezone(UTC), ends_at=slot.end.astimezone(UTC), status=status,
                       cancel_reason="", cancelled_by_kind=None, cancelled_by_id=None, cancelled_at=None,
                       uid=f"{uuid.UUID(int=rng.getrandbits(128))}{UID_SUFFIX}", sequence=0,
                       created_by_id=operator.id, created_at=created, updated_by_id=operator.id, updated_at=created,
                       version=1)
            if status == Status.CANCELLED:
                row.update(cancel_reason=rng.choice(CANCEL_REASONS), cancelled_at=min(slot.start, now) -
                           timedelta(hours=rng.randint(2, 40)), sequence=1,
                           cancelled_by_kind=rng.choice(("young_person", "young_person", "desk", "tutor")),
                           cancelled_by_id=operator.id)
                row["cancelled_at"] = max(row["cancelled_at"], created)
            else:
                tutor_busy.setdefault(slot.tutor_id, []).append(padded)
                person_busy.setdefault(person_id, []).append(padded)
                desk_busy.append((slot.start, slot.end))
            appointments.append(row)
    if not appointments:
        return 0
    appointment_ids = list(db.session.scalars(
        sa.insert(Appointment).returning(Appointment.id, sort_by_parameter_order=True), appointments))
    events, recalls, no_shows = [], [], {}
    for aid, row in zip(appointment_ids, appointments, strict=True):
        events.append(dict(appointment_id=aid, at=row["created_at"], actor_id=row["created_by_id"], kind="created",
                           from_status=None, to_status=Status.BOOKED, detail="demo"))
        status = row["status"]
        if status != Status.BOOKED:
            at = row["cancelled_at"] or max(min(row["starts_at"], now), row["created_at"])
            kind = {"confirmed": "confirmed", "attended": "attended", "no_show": "no_show",
                    "cancelled": "cancelled"}[status]
            events.append(dict(appointment_id=aid, at=at, actor_id=row["created_by_id"], kind=kind,
                               from_status=Status.BOOKED, to_status=status, detail="demo"))
        if status == Status.NO_SHOW:
            count = no_shows[row["young_person_id"]] = no_shows.get(row["young_person_id"], 0) + 1
            recent = row["starts_at"] > now - timedelta(days=10)
            recalls.append(dict(appointment_id=aid, young_person_id=row["young_person_id"], desk_id=row["desk_id"],
                                attempt=count, created_at=row["starts_at"] + timedelta(hours=1),
                                outcome=None if recent else rng.choice(("rebooked", "unreachable", "declined")),
                                outcome_note="", closed_at=None if recent else row["starts_at"] + timedelta(days=2),
                                closed_by_id=None if recent else row["created_by_id"]))
    db.session.execute(sa.insert(AppointmentEvent), events)
    if recalls:
        db.session.execute(sa.insert(RecallTask), recalls)
    # A few people waiting for a desk and service.
    waiting_rows, seen = [], set()
    for desk in desks:
        for _n in range(3):
            pid = rng.choice(people_by_town.get(desk.municipality_id) or all_people)
            service = rng.choice(desk.services)
            if (pid, desk.id, service) in seen:
                continue
            seen.add((pid, desk.id, service))
            waiting_rows.append(dict(young_person_id=pid, desk_id=desk.id, service=service, status="waiting",
                                     preferences=rng.choice(("Solo pomeriggio", "Dopo le 16", "Il venerdì", "")),
                                     created_at=now - timedelta(days=rng.randint(1, 15)),
                                     created_by_id=(desk.operators[0] if desk.operators else admin).id))
    if waiting_rows:
        db.session.execute(sa.insert(WaitingEntry), waiting_rows)
    db.session.flush()
    return len(appointments)
