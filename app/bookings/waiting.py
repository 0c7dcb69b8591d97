"""Waiting lists and no-show recall tasks.

When no slot suits, a young person goes on a desk's waiting list for a service. When a
cancellation frees a future slot of that desk and service (`on_cancelled`, called in the
cancelling transaction), the open entries are marked, and the desk's operators see those
people first (agenda badge, waiting list, booking picker hint). A no-show (`on_no_show`)
opens a recall task for the desk's operators, numbered by the young person's no-shows.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _

from app import policy
from app.domain.errors import Conflict, Invalid, NotFound
from app.extensions import db
from app.models import (
    DESK_SERVICES,
    RECALL_OUTCOMES,
    Appointment,
    Desk,
    RecallTask,
    Status,
    WaitingEntry,
    YoungPerson,
)
from app.models.base import utcnow

# --- Hooks called by the booking services (inside their transaction) -----------------


def on_cancelled(appointment: Appointment) -> int:
    """A future slot of this desk and service was freed: mark the open entries. Returns how many."""
    if appointment.starts_at <= utcnow():
        return 0
    result = db.session.execute(
        sa.update(WaitingEntry)
        .where(WaitingEntry.desk_id == appointment.desk_id, WaitingEntry.service == appointment.service,
               WaitingEntry.status == "waiting", WaitingEntry.young_person_id != appointment.young_person_id)
        .values(slot_freed_at=utcnow(), freed_starts_at=appointment.starts_at)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def no_show_count(young_person_id: int) -> int:
    """How many appointments this young person missed."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(Appointment).where(
        Appointment.young_person_id == young_person_id, Appointment.status == Status.NO_SHOW)) or 0


def on_no_show(appointment: Appointment) -> RecallTask:
    """Open the recall task of a missed appointment, numbered by the person's no-shows so far."""
    db.session.flush()
    task = RecallTask(appointment_id=appointment.id, young_person_id=appointment.young_person_id,
                      desk_id=appointment.desk_id, attempt=max(no_show_count(appointment.young_person_id), 1))
    db.session.add(task)
    return task


# --- Waiting list -------------------------------------------------------------------------


def add_entry(actor, young_person_id: int, desk_id: int, service: str, preferences: str = "") -> WaitingEntry:
    """Put a young person on a desk's waiting list for a service (one open entry each)."""
    desk = db.session.scalar(policy.bookable_desks(sa.select(Desk), actor).where(Desk.id == desk_id))
    person = db.session.get(YoungPerson, young_person_id)
    if desk is None:
        raise NotFound(_("Sportello non trovato."))
    if person is None or not policy.can_view_young_person(actor, person):
        raise NotFound(_("Persona non trovata."))
    if person.erased_at is not None:
        raise Invalid(_("I dati di questa persona sono stati cancellati: non si può prenotare."))
    if service not in DESK_SERVICES or service not in desk.services:
        raise Invalid(_("Lo sportello non offre questo servizio."), field="service")
    existing = db.session.scalar(sa.select(WaitingEntry).where(
        WaitingEntry.young_person_id == person.id, WaitingEntry.desk_id == desk.id,
        WaitingEntry.service == service, WaitingEntry.status == "waiting"))
    if existing is not None:
        raise Conflict(_("La persona è già in lista d'attesa per questo servizio in questo sportello."))
    entry = WaitingEntry(young_person_id=person.id, desk_id=desk.id, service=service,
                         preferences=(preferences or "").strip()[:300], created_by_id=actor.id)
    db.session.add(entry)
    db.session.commit()
    return entry


def open_entries(actor, desk_ids: list[int] | None = None, service: str | None = None) -> list[WaitingEntry]:
    """Open entries in the actor's scope: those with a freed slot first, then oldest first."""
    query = policy.scoped_waiting(sa.select(WaitingEntry), actor).where(WaitingEntry.status == "waiting")
    if desk_ids is not None:
        query = query.where(WaitingEntry.desk_id.in_(desk_ids))
    if service:
        query = query.where(WaitingEntry.service == service)
    query = query.order_by(WaitingEntry.slot_freed_at.is_(None), WaitingEntry.slot_freed_at.desc(),
                           WaitingEntry.created_at)
    return list(db.session.scalars(query))


def freed_count(actor) -> int:
    """Open entries in scope whose desk and service had a slot freed: call them first."""
    query = policy.scoped_waiting(sa.select(sa.func.count(WaitingEntry.id)), actor).select_from(WaitingEntry)
    return db.session.scalar(query.where(WaitingEntry.status == "waiting",
                                         WaitingEntry.slot_freed_at.is_not(None))) or 0


def close_entry(actor, entry_id: int, status: str) -> WaitingEntry:
    """Close an entry: the person was booked, or no longer waits."""
    if status not in ("booked", "withdrawn"):
        raise Invalid(_("Esito non valido."), field="status")
    entry = db.session.scalar(policy.scoped_waiting(sa.select(WaitingEntry), actor).where(WaitingEntry.id == entry_id))
    if entry is None:
        raise NotFound(_("Voce non trovata."))
    if entry.status != "waiting":
        raise Conflict(_("La voce è già chiusa."))
    entry.status = status
    entry.closed_at = utcnow()
    entry.closed_by_id = actor.id
    db.session.commit()
    return entry


# --- Recall tasks -----------------------------------------------------------------------------


def open_tasks(actor) -> list[RecallTask]:
    """Open recall tasks in the actor's scope, oldest first."""
    query = policy.scoped_recall_tasks(sa.select(RecallTask), actor).where(RecallTask.closed_at.is_(None))
    return list(db.session.scalars(query.order_by(RecallTask.created_at)))


def close_task(actor, task_id: int, outcome: str, note: str = "") -> RecallTask:
    """Close a recall task with its outcome."""
    if outcome not in RECALL_OUTCOMES:
        raise Invalid(_("Scegli l'esito della chiamata."), field="outcome")
    task = db.session.scalar(policy.scoped_recall_tasks(sa.select(RecallTask), actor).where(RecallTask.id == task_id))
    if task is None:
        raise NotFound(_("Richiamo non trovato."))
    if task.closed_at is not None:
        raise Conflict(_("Il richiamo è già chiuso."))
    task.outcome = outcome
    task.outcome_note = (note or "").strip()[:300]
    task.closed_at = utcnow()
    task.closed_by_id = actor.id
    db.session.commit()
    return task
