"""Demo helpdesk tickets: a few dozen requests in every status, at every desk (idempotent)."""

from __future__ import annotations

import random
from datetime import timedelta

import sqlalchemy as sa

from app.extensions import db
from app.models import Appointment, Desk, Ticket, TicketComment, TicketStatus, User
from app.models.base import utcnow
from app.models.ticket import format_reference, ticket_appointments

FIRST_NAMES = ("Giulia", "Matteo", "Sofia", "Luca", "Aurora", "Leonardo", "Ginevra", "Tommaso", "Alice", "Edoardo",
               "Beatrice", "Riccardo", "Emma", "Lorenzo", "Chiara", "Samuele", "Martina", "Gabriele")

MESSAGES = {
    "orientamento": "Finisco la terza media e non so quale scuola scegliere.",
    "cv_lavoro": "Vorrei una mano a scrivere il curriculum per un lavoro estivo.",
    "scelte_studio": "Sono al quarto anno e sto pensando all'università, vorrei capire le possibilità.",
    "ascolto": "Ultimamente sono molto in ansia per la scuola e vorrei parlarne con qualcuno.",
    "violenza_genere": "Vorrei parlare con qualcuno di una situazione con il mio ex ragazzo.",
    "peer_to_peer": "Mi piacerebbe partecipare agli incontri tra pari.",
    "altro": "Vorrei sapere quali attività ci sono per i ragazzi nel mio comune.",
}

CHANNELS = ("web", "web", "web", "telefono", "sportello", "email", "scuola")
STATUS_PLAN = (
    [TicketStatus.NEW] * 12 + [TicketStatus.IN_PROGRESS] * 8 + [TicketStatus.WAITING] * 5
    + [TicketStatus.BOOKED] * 4 + [TicketStatus.CLOSED] * 7
)
OUTCOMES = ("risolto", "inviato_altro_servizio", "non_raggiungibile", "rinuncia", "duplicato", "risolto", "risolto")


def seed_tickets(orgs) -> None:
    """Add the demo tickets once (nothing happens when tickets already exist)."""
    if db.session.scalar(sa.select(sa.func.count(Ticket.id))):
        return
    desks = list(db.session.scalars(sa.select(Desk).where(Desk.active.is_(True)).order_by(Desk.id)))
    if not desks:
        return
    rng = random.Random(7)
    now = utcnow()
    users = {u.email: u for u in db.session.scalars(sa.select(User))}
    operator = users.get("operatore@hub.test")
    tutor = users.get("tutor@hub.test")
    booked_appointments = list(db.session.scalars(
        sa.select(Appointment).where(Appointment.starts_at > now).order_by(Appointment.starts_at).limit(20)))
    for n, status in enumerate(STATUS_PLAN):
        desk = desks[n % len(desks)]
        topic = desk.services[n % len(desk.services)] if desk.services else "altro"
        if n % 9 == 8:
            topic = "altro"
        appointment = None
        if status == TicketStatus.BOOKED:
            appointment = next((a for a in booked_appointments if a.desk_id == desk.id), None) or \
                (booked_appointments.pop(0) if booked_appointments else None)
            if appointment is None:
                status = TicketStatus.IN_PROGRESS
            else:
                desk = appointment.desk
                if appointment in booked_appointments:
                    booked_appointments.remove(appointment)
        age = 11 + (n * 5) % 20
        channel = CHANNELS[n % len(CHANNELS)]
        ticket = Ticket(
            reference=f"TMP-DEMO-{n}", channel=channel, status=status, priority="normal",
            first_name=FIRST_NAMES[n % len(FIRST_NAMES)], age=age, town_id=desk.municipality_id,
            phone=f"33{rng.randrange(10**7, 10**8)}" if n % 3 else "", email=f"richiesta{n}@example.test",
            topic=topic, preferred_times=("martedì pomeriggio", "dopo le 16", "")[n % 3],
            message=MESSAGES.get(topic, MESSAGES["altro"]),
            referrer="IIS Machiavelli, Pioltello" if channel == "scuola" else "",
            guardian_name="Un genitore" if age < 14 else "", guardian_contact="3330000000" if age < 14 else "",
            guardian_consent=age < 14, privacy_consent_at=now, privacy_text_version="2026-01", desk_id=desk.id,
            received_at=now - timedelta(hours=3 + n * 7), outcome=None,
        )
        if topic == "violenza_genere" or n in (3, 17):
            ticket.priority = "urgent"
        if status != TicketStatus.NEW or n % 4 == 0:
            assignee = operator if desk.operators and operator in desk.operators else \
                (desk.operators[0] if desk.operators else None)
            if n % 5 == 0 and tutor is not None and tutor in desk.tutors:
                assignee = tutor
            ticket.assignee_id = assignee.id if assignee else None
            ticket.assignee_seen = status != TicketStatus.NEW
        if status == TicketStatus.CLOSED:
            ticket.outcome = OUTCOMES[n % len(OUTCOMES)]
            ticket.closed_at = now - timedelta(hours=n)
        if appointment is not None:
            ticket.young_person_id = appointment.young_person_id
        db.session.add(ticket)
        db.session.flush()
        ticket.reference = format_reference(now.year, ticket.id)
        if appointment is not None:
            db.session.execute(sa.insert(ticket_appointments).values(ticket_id=ticket.id,
                                                                     appointment_id=appointment.id))
        if status in (TicketStatus.IN_PROGRESS, TicketStatus.WAITING) and ticket.assignee_id:
            db.session.add(TicketComment(ticket_id=ticket.id, author_id=ticket.assignee_id,
                                         body="Chiamato, richiamare dopo le 17."))
    db.session.flush()
