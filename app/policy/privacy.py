"""Privacy tools (GDPR): who may export, erase and record consent, and on which young people.

The Ufficio di Piano (data controller, `privacy.manage`) answers data subjects' requests for
every record, protected ones included: the controller cannot refuse a right because a record
is hidden from its staff. A protected record is therefore found only by its exact code (never
by name) and every export or erasure of it is also logged as a break-glass access.
Consent is recorded by whoever may see the person's details (admin, coordinator, operator).
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort

from app.extensions import db
from app.policy.core import has_permission
from app.policy.people import can_view_person_details


def can_manage_privacy(user) -> bool:
    """Exports, erasures, retention runs, the record of processing: the data controller only."""
    return has_permission(user, "privacy.manage")


def scoped_privacy_people(query: sa.Select, user, *, exact_code: str | None = None) -> sa.Select:
    """Young people the privacy search lists: unprotected ones, plus a protected one asked for by its exact code."""
    from app.models import YoungPerson

    if not can_manage_privacy(user):
        return query.where(sa.false())
    if exact_code:
        return query.where(sa.or_(YoungPerson.protected.is_(False), YoungPerson.code == exact_code.upper()))
    return query.where(YoungPerson.protected.is_(False))


def get_person_for_privacy_or_404(person_id: int, user):
    """Load any young person for the data controller (403 for everyone else, 404 when missing)."""
    from app.models import YoungPerson

    if not can_manage_privacy(user):
        abort(403)
    person = db.session.get(YoungPerson, person_id)
    if person is None:
        abort(404)
    return person


def can_record_consent(user, person) -> bool:
    """Record or withdraw consent: those who see the person's details, while the record is not erased."""
    return (has_permission(user, "people.register") and person.erased_at is None
            and can_view_person_details(user, person))
