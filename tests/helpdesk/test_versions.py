"""Two people acting at once never overwrite each other: every ticket edit carries the version it was built on.

Stale version → 409 naming who changed what, nothing written (no row, no audit line); right version →
applied; missing or garbage version → 422; htmx gets the fragment; the bulk assignment is all or nothing.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value

from app.domain.errors import Conflict, Invalid
from app.extensions import db
from app.helpdesk import services
from app.models import AuditEvent, Ticket
from tests.conftest import htmx
from tests.helpdesk.conftest import versions


def _audit(ticket: Ticket, action: str | None = None) -> int:
    """How many audit lines the ticket has (of one action, if given)."""
    query = sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.object_type == "ticket",
                                                          AuditEvent.object_id == str(ticket.id))
    if action:
        query = query.where(AuditEvent.action == action)
    return db.session.scalar(query)


def _fresh(ticket: Ticket) -> Ticket:
    return db.session.get(Ticket, ticket.id, populate_existing=True)


@pytest.fixture
def other(app, make_user):
    """Someone else working the same queue at the same time (an administrator sees every ticket)."""
    return make_user("admin", full_name="Giulia Concorrente")


def _meanwhile(app, actor, ticket, *, assignee=None, urgent=None):
    """The other person's edit, committed while our page is still open."""
    with app.test_request_context():
        if urgent is not None:
            services.set_priority(actor, ticket, urgent, version=ticket.version)
        else:
            services.assign(actor, {ticket.id: ticket.version}, assignee.id if assignee else None)
    return _fresh(ticket)


# --- Priority --------------------------------------------------------------------------------

def test_priority_with_the_right_version_is_applied_and_audited(client, desks, make_ticket, sign_in):
    ticket = make_ticket()
    seen = ticket.version
    sign_in(desks.operator)
    response = client.post(f"/richieste/{ticket.id}/priorita", data={"urgent": "1", "version": seen})
    assert response.status_code == 303
    ticket = _fresh(ticket)
    assert ticket.priority == "urgent" and ticket.version == seen + 1
    assert _audit(ticket, "helpdesk.priority_changed") == 1


def test_stale_priority_is_a_409_that_names_who_changed_what_and_writes_nothing(
        app, client, desks, make_ticket, sign_in, other):
    ticket = make_ticket()
    seen = ticket.version  # the operator's page is open on this version
    ticket = _meanwhile(app, other, ticket, assignee=desks.tutor)
    before = (ticket.version, _audit(ticket))
    sign_in(desks.operator)
    response = client.post(f"/richieste/{ticket.id}/priorita", data={"urgent": "1", "version": seen})
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "Nessuna modifica salvata" in page and ticket.reference in page
    assert "Giulia Concorrente" in page and "assegnata a Tutor Segrate" in page
    assert "<html" in page  # without htmx: the whole ticket page, as it is now
    assert f'name="version" value="{ticket.version}"' in page  # a conscious retry uses the new version
    ticket = _fresh(ticket)
    assert ticket.priority == "normal" and (ticket.version, _audit(ticket)) == before


@pytest.mark.parametrize("version", [None, "", "abc", "0", "-1", "99999999999999999999", "1.0"])
def test_priority_without_a_usable_version_is_refused_with_422(client, desks, make_ticket, sign_in, version):
    ticket = make_ticket()
    seen = ticket.version
    sign_in(desks.operator)
    data = {"urgent": "1"} if version is None else {"urgent": "1", "version": version}
    response = client.post(f"/richieste/{ticket.id}/priorita", data=data)
    assert response.status_code == 422
    assert "ricarica la pagina" in response.get_data(as_text=True)
    ticket = _fresh(ticket)
    assert (ticket.priority, ticket.version, _audit(ticket, "helpdesk.priority_changed")) == ("normal", seen, 0)


def test_htmx_gets_the_ticket_fragment_with_the_conflict(app, client, desks, make_ticket, sign_in, other):
    ticket = make_ticket()
    seen = ticket.version
    ticket = _meanwhile(app, other, ticket, urgent=True)
    sign_in(desks.operator)
    response = client.post(f"/richieste/{ticket.id}/priorita", data={"urgent": "1", "version": seen},
                           headers=htmx())
    page = response.get_data(as_text=True)
    assert response.status_code == 409 and "<html" not in page and page.lstrip().startswith('<div id="ticket">')
    assert "Giulia Concorrente" in page and "urgente" in page
    assert "HX-Request" in response.headers.get("Vary", "")
    done = client.post(f"/richieste/{ticket.id}/priorita", data={"urgent": "0", "version": ticket.version},
                       headers=htmx())
    assert done.status_code == 204 and done.headers["HX-Redirect"] == f"/richieste/{ticket.id}"
    assert _fresh(ticket).priority == "normal"


# --- Status ------------------------------------------------------------------------------------

@pytest.mark.parametrize("version", [None, "", "abc"])
def test_status_without_a_version_is_refused_not_unchecked(client, desks, make_ticket, sign_in, version):
    ticket = make_ticket()
    seen = ticket.version
    sign_in(desks.operator)
    data = {"status": "in_progress"} if version is None else {"status": "in_progress", "version": version}
    response = client.post(f"/richieste/{ticket.id}/stato", data=data)
    assert response.status_code == 422
    ticket = _fresh(ticket)
    assert (ticket.status, ticket.version, _audit(ticket, "helpdesk.status_changed")) == ("new", seen, 0)


def test_stale_status_keeps_the_users_choice_and_writes_nothing(app, client, desks, make_ticket, sign_in, other):
    ticket = make_ticket()
    seen = ticket.version
    ticket = _meanwhile(app, other, ticket, assignee=desks.tutor)
    before = _audit(ticket)
    sign_in(desks.operator)
    response = client.post(f"/richieste/{ticket.id}/stato",
                           data={"status": "closed", "outcome": "duplicato", "version": seen}, headers=htmx())
    page = response.get_data(as_text=True)
    assert response.status_code == 409 and "<html" not in page and "Giulia Concorrente" in page
    assert 'selected value="closed"' in page and 'selected value="duplicato"' in page
    ticket = _fresh(ticket)
    assert (ticket.status, ticket.outcome, _audit(ticket)) == ("new", None, before)


def test_opening_a_ticket_does_not_make_open_forms_stale(app, client, desks, make_ticket, sign_in):
    """The assignee reading the ticket (badge cleared) is not an edit: the operator's form stays valid."""
    ticket = make_ticket()
    with app.test_request_context():
        services.assign(desks.operator, {ticket.id: ticket.version}, desks.tutor.id)
    seen = _fresh(ticket).version
    sign_in(desks.tutor)
    assert client.get(f"/richieste/{ticket.id}").status_code == 200
    assert _fresh(ticket).assignee_seen and _fresh(ticket).version == seen
    client.post("/logout")
    sign_in(desks.operator)
    assert client.post(f"/richieste/{ticket.id}/priorita",
                       data={"urgent": "1", "version": seen}).status_code == 303


# --- Assignment ----------------------------------------------------------------------------------

def test_bulk_assignment_is_all_or_nothing_and_lists_what_changed(app, client, desks, make_ticket, sign_in, other):
    first, second, third = make_ticket(), make_ticket(first_name="Bruno"), make_ticket(first_name="Carla")
    shown = versions(first, second, third)  # the queue the operator is looking at
    second = _meanwhile(app, other, second, assignee=desks.tutor)  # given to someone meanwhile
    before = [_audit(t) for t in (first, second, third)]
    sign_in(desks.operator)
    response = client.post("/richieste/assegna", data={
        "ticket_ids": [first.id, second.id, third.id], **shown, "assignee": desks.tutor.id,
        "next": "/richieste?stato=tutte"})
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "Nessuna richiesta è stata assegnata" in page and second.reference in page
    assert "Giulia Concorrente" in page and "assegnata a Tutor Segrate" in page
    assert first.reference + " (" not in page and third.reference + " (" not in page
    # The selection and the chosen person are kept; the rows carry the versions as they are now.
    for ticket in (first, second, third):
        assert f'id="sel-{ticket.id}" checked' in page
    assert f'<option value="{desks.tutor.id}" selected>' in page
    assert f'name="version-{second.id}" value="{_fresh(second).version}"' in page
    assert [_fresh(t).assignee_id for t in (first, second, third)] == [None, desks.tutor.id, None]
    assert [_audit(t) for t in (first, second, third)] == before
    # A second, conscious press with the versions now shown goes through.
    again = client.post("/richieste/assegna", data={
        "ticket_ids": [first.id, second.id, third.id], **versions(*map(_fresh, (first, second, third))),
        "assignee": desks.tutor.id, "next": "/richieste?stato=tutte"})
    assert again.status_code == 303
    assert {_fresh(t).assignee_id for t in (first, second, third)} == {desks.tutor.id}


def test_bulk_assignment_conflict_for_htmx_is_the_queue_fragment(app, client, desks, make_ticket, sign_in, other):
    first, second = make_ticket(), make_ticket(first_name="Bruno")
    shown = versions(first, second)
    _meanwhile(app, other, first, urgent=True)
    sign_in(desks.operator)
    response = client.post("/richieste/assegna", headers=htmx(), data={
        "ticket_ids": [first.id, second.id], **shown, "assignee": desks.tutor.id, "next": "/richieste"})
    page = response.get_data(as_text=True)
    assert response.status_code == 409 and page.lstrip().startswith('<div id="ticket-queue">')
    assert first.reference in page and "Giulia Concorrente" in page
    assert (_fresh(first).assignee_id, _fresh(second).assignee_id) == (None, None)


@pytest.mark.parametrize("missing", ["absent", "", "xyz"])
def test_bulk_assignment_without_a_version_for_each_ticket_is_422(client, desks, make_ticket, sign_in, missing):
    first, second = make_ticket(), make_ticket(first_name="Bruno")
    data = {"ticket_ids": [first.id, second.id], **versions(first), "assignee": desks.tutor.id}
    if missing != "absent":
        data[f"version-{second.id}"] = missing
    sign_in(desks.operator)
    response = client.post("/richieste/assegna", data=data)
    assert response.status_code == 422 and "ricarica la pagina" in response.get_data(as_text=True)
    assert (_fresh(first).assignee_id, _fresh(second).assignee_id) == (None, None)
    assert _audit(first, "helpdesk.assigned") == _audit(second, "helpdesk.assigned") == 0


def test_taking_a_ticket_someone_just_took_from_its_page(app, client, desks, make_ticket, sign_in, other):
    """Both press "Assegna" on the same ticket: the second is told who has it, and keeps their choice."""
    ticket = make_ticket()
    seen = ticket.version
    ticket = _meanwhile(app, other, ticket, assignee=desks.tutor)
    sign_in(desks.operator)
    response = client.post("/richieste/assegna", data={
        "ticket_ids": ticket.id, f"version-{ticket.id}": seen, "assignee": desks.operator.id,
        "next": f"/richieste/{ticket.id}"})
    page = response.get_data(as_text=True)
    assert response.status_code == 409 and 'id="ticket-assignee">Tutor Segrate<' in page
    assert "Giulia Concorrente" in page and f'<option value="{desks.operator.id}" selected>' in page
    assert _fresh(ticket).assignee_id == desks.tutor.id


# --- The compare-and-set itself (a write racing between our read and our UPDATE) ------------------

def _bump_behind_the_session(ticket: Ticket) -> None:
    """Another transaction's committed edit that our read has not seen (the loaded version stays the old one)."""
    read = ticket.version
    db.session.execute(sa.update(Ticket).where(Ticket.id == ticket.id).values(version=Ticket.version + 1)
                       .execution_options(synchronize_session=False))
    db.session.commit()
    set_committed_value(ticket, "version", read)


def test_priority_update_is_compare_and_set(app, desks, make_ticket):
    ticket = make_ticket()
    seen = ticket.version
    with app.test_request_context():
        _bump_behind_the_session(ticket)
        assert ticket.version == seen  # our read still says "unchanged"
        with pytest.raises(Conflict):
            services.set_priority(desks.operator, ticket, True, version=seen)
    ticket = _fresh(ticket)
    assert ticket.priority == "normal" and _audit(ticket, "helpdesk.priority_changed") == 0


def test_bulk_update_is_compare_and_set_and_all_or_nothing(app, desks, make_ticket):
    first, second = make_ticket(), make_ticket(first_name="Bruno")
    shown = {first.id: first.version, second.id: second.version}
    with app.test_request_context():
        first.version  # noqa: B018 - both read before the other transaction commits
        _bump_behind_the_session(second)
        assert second.version == shown[second.id]  # so the refusal can only come from the UPDATE's WHERE
        with pytest.raises(Conflict) as refused:
            services.assign(desks.operator, shown, desks.tutor.id)
    assert second.reference in refused.value.message and first.reference + " (" not in refused.value.message
    assert (_fresh(first).assignee_id, _fresh(second).assignee_id) == (None, None)
    assert _audit(first, "helpdesk.assigned") == _audit(second, "helpdesk.assigned") == 0


def test_services_refuse_a_missing_version(app, desks, make_ticket):
    ticket = make_ticket()
    with app.test_request_context():
        for call in (lambda: services.set_priority(desks.operator, ticket, True, version=None),
                     lambda: services.set_status(desks.operator, ticket, "in_progress", version=None),
                     lambda: services.assign(desks.operator, {ticket.id: None}, desks.tutor.id)):
            with pytest.raises(Invalid):
                call()
            db.session.rollback()
