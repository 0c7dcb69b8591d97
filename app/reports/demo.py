"""Demo history for monitoring (HUB_DEMO=1 only): a year of past sessions so the dashboard has a trend.

The bookings demo covers the last two months. This hook adds, before that, the previous
opening hours of every desk (school year 2025/26 and summer 2026, copied from the current
ones) and about ten months of sessions on those hours: mostly attended, some no-shows and
cancellations, final notes with outcomes and referrals, a few protected young people
(gender-violence support) and the helpdesk requests that led to first appointments, so the
waiting time has data. Deterministic (seeded random), idempotent (skipped when its
appointments exist); bulk inserts, a second or two on SQLite.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from app.extensions import db
from app.formatting import ROME
from app.models import (
    Appointment,
    Desk,
    Note,
    NoteOutcome,
    OpeningSchedule,
    Organisation,
    ScheduleInterval,
    Status,
    Ticket,
    User,
    YoungPerson,
)
from app.models.base import utcnow
from app.models.ticket import ticket_appointments
from app.models.young_person import format_code

SEED = 2608
UID_SUFFIX = "@storico.hub-dei-talenti"
HISTORY_DAYS = 365
FILL = 0.5              # share of the free slots that were booked
PROTECTED_PEOPLE = 6
OUTCOME_WEIGHTS = {1: 9, 2: 7, 3: 3, 4: 8, 5: 5, 6: 4, 7: 5, 8: 1}
REFERRALS = ["scuola", "centro_impiego", "consultorio", "servizi_sociali", "centro_antiviolenza", "altro"]
SUMMARY = "Nota del percorso registrata nell'anno 2025/26 (storico dimostrativo)."


def _already_seeded() -> bool:
    return db.session.scalar(sa.select(Appointment.id).where(Appointment.uid.like(f"%{UID_SUFFIX}")).limit(1)) \
        is not None


def _past_schedules(desks: list[Desk], first: date) -> None:
    """Give each desk the hours it had before its current schedules: winter hours until June, summer hours after."""
    for desk in desks:
        schedules = sorted(desk.schedules, key=lambda s: s.valid_from)
        if not schedules or schedules[0].valid_from <= first:
            continue
        current = schedules[0]
        winter = [(i.weekday, i.start, i.end) for i in current.intervals]
        summer_source = next((s for s in schedules if "estiv" in s.name.lower()), current)
        summer = [(i.weekday, i.start, i.end) for i in summer_source.intervals]
        summer_from = date(current.valid_from.year, 7, 1)
        rows = [("Orario invernale 2025/26", first, summer_from - timedelta(days=1), winter)]
        if summer_from < current.valid_from:
            rows.append(("Orario estivo 2026", summer_from, current.valid_from - timedelta(days=1), summer))
        for name, valid_from, valid_to, intervals in rows:
            schedule = OpeningSchedule(desk_id=desk.id, name=name, valid_from=valid_from, valid_to=valid_to)
            schedule.intervals = [ScheduleInterval(weekday=w, start=s, end=e) for w, s, e in intervals]
            db.session.add(schedule)
    db.session.flush()


def seed_history(orgs: dict[str, Organisation]) -> int:
    """Add about ten months of past sessions with notes; returns how many appointments."""
    from app.desks import services as desk_services

    if _already_seeded():
        return 0
    desks = list(db.session.scalars(sa.select(Desk).where(Desk.active.is_(True)).order_by(Desk.id)))
    people = list(db.session.execute(sa.select(YoungPerson.id, YoungPerson.residence_town_id,
                                               YoungPerson.first_name).order_by(YoungPerson.id)))
    if not desks or not people:
        return 0
    rng = random.Random(SEED)
    now = utcnow()
    today = now.astimezone(ROME).date()
    first = today - timedelta(days=HISTORY_DAYS)
    earliest = db.session.scalar(sa.select(sa.func.min(Appointment.starts_at)))
    last = (earliest.astimezone(ROME).date() if earliest else today) - timedelta(days=1)
    if last <= first:
        return 0
    _past_schedules(desks, first)
    calendars = desk_services.desk_calendars([d.id for d in desks], first, last)
    from app.domain.availability import open_intervals

    # A few protected young people, followed at the desks offering gender-violence support.
    violence_desks = [d for d in desks if "violenza_genere" in d.services] or desks[-1:]
    protected_ids: list[int] = []
    for n in range(PROTECTED_PEOPLE):
        desk = violence_desks[n % len(violence_desks)]
        if not desk.tutors:
            continue
        registrar = desk.operators[0] if desk.operators else desk.tutors[0]
        person = YoungPerson(
            code=f"STORICO-{n}", first_name=rng.choice(["Sara", "Giada", "Noemi", "Elisa", "Chiara"]),
            last_name=rng.choice(["Riva", "Sala", "Galli", "Villa"]),
            birth_date=today - timedelta(days=rng.randint(16 * 365, 28 * 365)), gender="F",
            residence_town_id=desk.municipality_id, study_work_status=rng.choice(["studente", "lavora", "neet"]),
            phone=f"3{rng.randint(10, 99)}{rng.randint(1000000, 9999999)}", privacy_consent_at=now,
            privacy_text_version="2026-01", privacy_collected_by_id=registrar.id, protected=True,
            tutor_id=desk.tutors[0].id, registered_desk_id=desk.id, registered_org_id=registrar.organisation_id,
            created_by_id=registrar.id,
        )
        db.session.add(person)
        db.session.flush()
        person.code = format_code(today.year - 1, person.id)
        protected_ids.append(person.id)

    by_town: dict[int, list[int]] = {}
    for pid, town_id, _name in people:
        by_town.setdefault(town_id, []).append(pid)
    all_ids = [p[0] for p in people]
    names = {p[0]: p[2] for p in people}
    person_busy: set[tuple[int, datetime]] = set()
    tutor_busy: set[tuple[int, datetime]] = set()
    appointments: list[dict] = []
    for desk in desks:
        tutors = [t.id for t in desk.tutors]
        if not tutors:
            continue
        operator_id = desk.operators[0].id if desk.operators else tutors[0]
        step = timedelta(minutes=desk.slot_minutes + desk.buffer_minutes)
        length = timedelta(minutes=desk.slot_minutes)
        protected_here = [p for p in protected_ids if desk in violence_desks]
        for interval in open_intervals(calendars[desk.id], first, last):
            start = interval.start
            while start + length <= interval.end:
                for _room in range(desk.rooms):
                    if rng.random() > FILL:
                        continue
                    tutor = rng.choice(tutors)
                    if (tutor, start) in tutor_busy:
                        continue
                    pool = protected_here if protected_here and rng.random() < 0.08 else \
                        (by_town.get(desk.municipality_id) or all_ids)
                    person = rng.choice(pool if rng.random() < 0.85 else all_ids)
                    if (person, start) in person_busy:
                        continue
                    roll = rng.random()
                    status = Status.CANCELLED if roll < 0.1 else Status.NO_SHOW if roll < 0.2 else Status.ATTENDED
                    created = start - timedelta(days=rng.randint(2, 25), hours=rng.randint(0, 8))
                    row = dict(desk_id=desk.id, tutor_id=tutor, young_person_id=person,
                               service=rng.choice(desk.services), mode="presenza", starts_at=start.astimezone(UTC),
                               ends_at=(start + length).astimezone(UTC), status=status, cancel_reason="",
                               cancelled_by_kind=None, cancelled_by_id=None, cancelled_at=None,
                               uid=f"{uuid.UUID(int=rng.getrandbits(128))}{UID_SUFFIX}", sequence=0,
                               created_by_id=operator_id, created_at=created, updated_by_id=operator_id,
                               updated_at=created, version=1)
                    if status == Status.CANCELLED:
                        row.update(cancelled_by_kind="young_person", cancelled_by_id=operator_id,
                                   cancelled_at=start - timedelta(hours=rng.randint(2, 40)),
                                   cancel_reason="Impegno scolastico")
                    else:
                        tutor_busy.add((tutor, start))
                        person_busy.add((person, start))
                    appointments.append(row)
                start += step
    if not appointments:
        return 0
    ids = list(db.session.scalars(sa.insert(Appointment).returning(Appointment.id, sort_by_parameter_order=True),
                                  appointments))

    # Final notes on most attended sessions: outcomes 1–3 each, progress growing over the year.
    notes, firsts = [], {}
    for appt_id, row in zip(ids, appointments, strict=True):
        if row["status"] == Status.ATTENDED:
            firsts.setdefault(row["young_person_id"], (appt_id, row))
            if rng.random() < 0.85:
                notes.append((appt_id, row))
    note_rows = [dict(appointment_id=a, author_id=r["tutor_id"], young_person_id=r["young_person_id"],
                      status="draft", topics="", summary=SUMMARY, agreements="",
                      referrals=",".join(c for c in REFERRALS if c in _referrals(rng, r["service"])),
                      referral_other="", needs_attention=False, revision=1, created_at=r["ends_at"],
                      saved_at=r["ends_at"]) for a, r in notes]
    note_ids = list(db.session.scalars(sa.insert(Note).returning(Note.id, sort_by_parameter_order=True), note_rows))
    outcome_rows = []
    numbers, weights = list(OUTCOME_WEIGHTS), list(OUTCOME_WEIGHTS.values())
    for note_id, (_a, r) in zip(note_ids, notes, strict=True):
        age = (today - r["starts_at"].astimezone(ROME).date()).days / HISTORY_DAYS  # 1 = a year ago
        chosen = set(rng.choices(numbers, weights, k=rng.randint(1, 3)))
        for number in sorted(chosen):
            roll = rng.random() + (1 - age) * 0.5
            progress = "raggiunto" if roll > 1.05 else "in_corso" if roll > 0.55 else "avviato"
            outcome_rows.append(dict(note_id=note_id, outcome=number, progress=progress))
    db.session.execute(sa.insert(NoteOutcome), outcome_rows)
    notes_table = Note.__table__
    db.session.execute(
        notes_table.update().where(notes_table.c.id == sa.bindparam("pk"))
        .values(status="final", finalised_at=sa.bindparam("at"), finalised_by_id=sa.bindparam("by"),
                content_hash=sa.bindparam("digest")),
        [{"pk": nid, "at": r["ends_at"] + timedelta(hours=2), "by": r["tutor_id"],
          "digest": hashlib.sha256(f"storico-{nid}".encode()).hexdigest()} for nid, (_a, r) in zip(note_ids, notes,
                                                                                                  strict=True)],
    )

    # The requests that led to a third of the first sessions (waiting time from request to appointment).
    admin = db.session.scalar(sa.select(User).where(User.role == "admin").order_by(User.id).limit(1))
    tickets = []
    for n, (pid, (appt_id, row)) in enumerate(sorted(firsts.items())):
        if rng.random() > 0.35:
            continue
        received = row["starts_at"] - timedelta(days=rng.choice([1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 15, 21, 28]),
                                                hours=rng.randint(0, 9))
        tickets.append((appt_id, Ticket(
            reference=f"RIC-S-{n:06d}", channel=rng.choice(["web", "telefono", "sportello", "scuola"]),
            status="booked", first_name=names.get(pid, "Richiedente"), phone="3330000000", topic=row["service"],
            privacy_consent_at=received, privacy_text_version="2026-01", desk_id=row["desk_id"],
            young_person_id=pid, created_by_id=admin.id if admin else None, received_at=received,
            updated_at=received)))
    db.session.add_all([t for _a, t in tickets])
    db.session.flush()
    if tickets:
        db.session.execute(ticket_appointments.insert(),
                           [{"ticket_id": t.id, "appointment_id": a} for a, t in tickets])
    db.session.flush()
    return len(ids)


def _referrals(rng: random.Random, service: str) -> set[str]:
    """Most sessions refer nowhere; gender-violence support refers to the anti-violence centre."""
    if service == "violenza_genere" and rng.random() < 0.5:
        return {"centro_antiviolenza"}
    roll = rng.random()
    if roll < 0.08:
        return {"scuola"}
    if roll < 0.14:
        return {"centro_impiego"}
    if roll < 0.17:
        return {"consultorio"}
    if roll < 0.19:
        return {"servizi_sociali", "altro"}
    return set()


# The last complete quarter's report, written and made final by the Ufficio di Piano, so the
# observer (Città Metropolitana) has one to download in the demo.
DEMO_REPORT_TEXTS = {
    "summary": "Nel trimestre gli sportelli dei sette Comuni sono rimasti aperti secondo gli orari stagionali; "
               "l'orientamento allo studio resta la richiesta più frequente, seguita dall'ascolto.",
    "outcome_1": "Colloqui individuali di bilancio delle competenze con i giovani in uscita dalla scuola media.",
    "outcome_4": "Incontri sui percorsi dopo il diploma, con materiali delle università e degli ITS del territorio.",
    "outcome_7": "Prese in carico congiunte con i servizi sociali per i casi di maggiore fragilità.",
    "difficulties": "Meno presenze nelle settimane di chiusura estiva e durante gli esami.",
    "next_steps": "Aperture serali a Segrate e Pioltello; incontri nelle scuole superiori dei Comuni della rete.",
}


def seed_quarterly_report(orgs: dict[str, Organisation]) -> bool:
    """An issued report for the last complete quarter (once); True when it was added."""
    from app.models import QuarterlyReport, ReportStatus
    from app.models.report import quarter_of, quarter_start

    year, quarter = quarter_of(utcnow().astimezone(ROME).date())
    last = quarter_start(year, quarter) - timedelta(days=1)
    year, quarter = quarter_of(last)
    exists = db.session.scalar(sa.select(QuarterlyReport.id).where(QuarterlyReport.year == year,
                                                                   QuarterlyReport.quarter == quarter))
    admin = db.session.scalar(sa.select(User).where(User.email == "admin@hub.test"))
    if exists is not None or admin is None:
        return False
    db.session.add(QuarterlyReport(year=year, quarter=quarter, status=ReportStatus.ISSUED, issued_at=utcnow(),
                                   updated_by_id=admin.id, **DEMO_REPORT_TEXTS))
    return True
