"""Demo desks (HUB_DEMO=1 only): one or two per town, run by the three associations. Idempotent.

Hours are plausible examples, not the real ones; addresses and patron-saint days are
left empty because we cannot check them.
"""

from __future__ import annotations

from datetime import date, time

import sqlalchemy as sa

from app.extensions import db
from app.models import (
    AvailabilityInterval,
    Desk,
    OpeningSchedule,
    Organisation,
    ScheduleInterval,
    TutorAvailability,
    User,
)

WINTER_FROM = date(2026, 9, 1)
WINTER_TO = date(2027, 6, 30)
SUMMER_FROM = date(2027, 7, 1)
SUMMER_TO = date(2027, 8, 31)
AUTUMN_FROM = date(2027, 9, 1)

MON, TUE, WED, THU, FRI, SAT = range(6)


def _t(text: str) -> time:
    return time.fromisoformat(text)


def _week(*entries: tuple[tuple[int, ...], str, str]) -> list[tuple[int, time, time]]:
    """(weekdays, start, end) entries as a flat list of weekly intervals."""
    return [(day, _t(start), _t(end)) for days, start, end in entries for day in days]


# name, town, partner, services, operators, winter hours, summer hours
DESKS: list[dict] = [
    dict(name="Sportello Orientamento Segrate", town="Segrate", partner="Students Lab", rooms=2,
         services=("orientamento", "cv_lavoro", "scelte_studio"), operators=("operatore@hub.test",),
         winter=_week(((MON, WED), "09:00", "12:30"), ((MON, WED), "14:00", "17:30"), ((FRI,), "09:00", "12:30")),
         summer=_week(((MON, WED), "09:00", "13:00"))),
    dict(name="Sportello Orientamento Vimodrone", town="Vimodrone", partner="Students Lab", rooms=1,
         services=("orientamento", "cv_lavoro", "peer_to_peer"), operators=("operatore@hub.test",),
         winter=_week(((TUE, THU), "09:00", "12:30"), ((TUE, THU), "14:00", "17:00")),
         summer=_week(((TUE,), "09:00", "13:00"))),
    dict(name="Sportello Orientamento Cassina de' Pecchi", town="Cassina de' Pecchi", partner="Students Lab",
         rooms=1, services=("orientamento", "scelte_studio"), operators=(),
         winter=_week(((TUE, FRI), "14:00", "17:30")),
         summer=_week(((TUE,), "14:00", "17:30"))),
    dict(name="Sportello Giovani Rodano", town="Rodano", partner="Ala Milano", rooms=1,
         services=("ascolto", "peer_to_peer"), operators=("operatore.rodano@hub.test",),
         winter=_week(((TUE,), "14:30", "18:30"), ((THU,), "09:00", "12:30")),
         summer=_week(((TUE,), "14:30", "18:30"))),
    dict(name="Sportello Ascolto Gessate", town="Gessate", partner="Ala Milano", rooms=1,
         services=("ascolto",), operators=("operatore.rodano@hub.test",),
         winter=_week(((WED,), "14:30", "18:00"), ((FRI,), "09:30", "12:30")),
         summer=_week(((WED,), "14:30", "18:00"))),
    dict(name="Sportello Ascolto Pioltello", town="Pioltello", partner="Somaschi", rooms=2,
         services=("ascolto", "violenza_genere", "orientamento"), operators=("operatore.pioltello@hub.test",),
         winter=_week(((MON, THU), "14:00", "18:00"), ((SAT,), "09:30", "12:30")),
         summer=_week(((MON, THU), "14:00", "18:00"))),
    dict(name="Sportello Donne e Giovani Bussero", town="Bussero", partner="Somaschi", rooms=1,
         services=("violenza_genere", "ascolto"), operators=("operatore.pioltello@hub.test",),
         winter=_week(((TUE, FRI), "09:00", "12:30")),
         summer=_week(((TUE,), "09:00", "12:30"))),
]

# tutor e-mail -> [(desk name, weekly availability)]; never two desks at the same time.
TUTORS: dict[str, list[tuple[str, list]]] = {
    "tutor@hub.test": [
        ("Sportello Orientamento Segrate", _week(((MON, WED), "09:00", "12:30"), ((MON, WED), "14:00", "17:30"))),
        ("Sportello Orientamento Vimodrone", _week(((TUE, THU), "09:00", "12:30"))),
    ],
    "tutor2@hub.test": [
        ("Sportello Orientamento Segrate", _week(((FRI,), "09:00", "12:30"))),
        ("Sportello Orientamento Vimodrone", _week(((TUE, THU), "14:00", "17:00"))),
        ("Sportello Orientamento Cassina de' Pecchi", _week(((FRI,), "14:00", "17:30"))),
    ],
    "tutor.ala@hub.test": [
        ("Sportello Giovani Rodano", _week(((TUE,), "14:30", "18:30"), ((THU,), "09:00", "12:30"))),
        ("Sportello Ascolto Gessate", _week(((WED,), "14:30", "18:00"), ((FRI,), "09:30", "12:30"))),
    ],
    "tutor.somaschi@hub.test": [
        ("Sportello Ascolto Pioltello", _week(((MON, THU), "14:00", "18:00"))),
        ("Sportello Donne e Giovani Bussero", _week(((TUE, FRI), "09:00", "12:30"))),
    ],
}


def _schedule(name: str, valid_from: date, valid_to: date | None, intervals) -> OpeningSchedule:
    return OpeningSchedule(name=name, valid_from=valid_from, valid_to=valid_to,
                           intervals=[ScheduleInterval(weekday=d, start=s, end=e) for d, s, e in intervals])


def seed_desks(orgs: dict[str, Organisation]) -> list[Desk]:
    """Create the demo desks, their hours, staff and tutor availability when missing."""
    users = {u.email: u for u in db.session.scalars(sa.select(User))}
    desks: dict[str, Desk] = {}
    for entry in DESKS:
        desk = db.session.scalar(sa.select(Desk).where(Desk.name == entry["name"]))
        if desk is None:
            desk = Desk(name=entry["name"], municipality_id=orgs[entry["town"]].id,
                        partner_id=orgs[entry["partner"]].id, rooms=entry["rooms"])
            desk.services = entry["services"]
            desk.operators = [users[e] for e in entry["operators"] if e in users]
            desk.schedules = [
                _schedule("Orario invernale", WINTER_FROM, WINTER_TO, entry["winter"]),
                _schedule("Orario estivo", SUMMER_FROM, SUMMER_TO, entry["summer"]),
                _schedule("Orario invernale", AUTUMN_FROM, None, entry["winter"]),
            ]
            db.session.add(desk)
        desks[desk.name] = desk
    db.session.flush()
    for email, assignments in TUTORS.items():
        tutor = users.get(email)
        if tutor is None:
            continue
        for desk_name, intervals in assignments:
            desk = desks[desk_name]
            if tutor not in desk.tutors:
                desk.tutors.append(tutor)
            exists = db.session.scalar(sa.select(TutorAvailability.id).where(
                TutorAvailability.tutor_id == tutor.id, TutorAvailability.desk_id == desk.id))
            if exists is None:
                db.session.add(TutorAvailability(
                    tutor_id=tutor.id, desk_id=desk.id, valid_from=WINTER_FROM, valid_to=None,
                    intervals=[AvailabilityInterval(weekday=d, start=s, end=e) for d, s, e in intervals],
                ))
    db.session.flush()
    return list(desks.values())
