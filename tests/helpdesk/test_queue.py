"""The queue: scope per role, urgent first, active search, bulk assignment, status, comments, badge, intake."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.helpdesk import services
from app.models import Closure, Ticket
from app.models.base import utcnow
from tests.conftest import htmx
from tests.helpdesk.conftest import versions


def _refs(response) -> set[str]:
    import re

    return set(re.findall(r"RIC-\d{4}-\d{6}", response.get_data(as_text=True)))


# --- Scope ------------------------------------------------------------------------------

def test_segrate_operator_sees_segrate_tickets_and_rodano_operator_does_not(client, desks, make_ticket, sign_in):
    segrate = make_ticket()
    rodano = make_ticket(town=str(desks.network["Rodano"].id), topic="ascolto")
    assert rodano.desk_id == desks.rodano.id
    sign_in(desks.operator)
    assert _refs(client.get("/richieste")) == {segrate.reference}
    assert client.get(f"/richieste/{rodano.id}").status_code == 404
    client.post("/logout")
    sign_in(desks.rodano_operator)
    assert _refs(client.get("/richieste")) == {rodano.reference}
    assert client.get(f"/richieste/{segrate.id}").status_code == 404
    assert client.get(f"/richieste/{segrate.id}/prenota").status_code == 404


def test_tutor_sees_only_what_is_assigned_to_them(client, desks, make_ticket, sign_in):
    mine, other = make_ticket(), make_ticket(first_name="Bruno")
    with client.application.test_request_context():
        services.assign(desks.operator, {mine.id: mine.version}, desks.tutor.id)
    sign_in(desks.tutor)
    assert _refs(client.get("/richieste")) == {mine.reference}
    assert client.get(f"/richieste/{other.id}").status_code == 404


@pytest.mark.parametrize(("org", "sees"), [("Students Lab", True), ("Ala Milano", False)])
def test_coordinator_sees_their_organisations_desks(client, desks, make_ticket, make_user, sign_in, org, sees):
    ticket = make_ticket()
    sign_in(make_user("coordinator", organisation=desks.network[org]))
    assert (ticket.reference in _refs(client.get("/richieste"))) is sees


def test_admin_sees_everything_and_others_are_refused(client, desks, make_ticket, make_user, sign_in):
    a, b = make_ticket(), make_ticket(town=str(desks.network["Rodano"].id), topic="ascolto")
    sign_in(make_user("admin"))
    assert _refs(client.get("/richieste")) == {a.reference, b.reference}
    client.post("/logout")
    sign_in(make_user("municipal_contact"))
    assert client.get("/richieste").status_code == 403
    assert client.get(f"/richieste/{a.id}").status_code == 403


def test_anonymous_is_sent_to_sign_in(client, desks):
    assert client.get("/richieste").status_code == 302


# --- Queue order, search, ages --------------------------------------------------------------

def test_urgent_first_then_oldest(client, desks, make_ticket, sign_in):
    old, new = make_ticket(first_name="Vecchia"), make_ticket(first_name="Nuova")
    urgent = make_ticket(first_name="Urgente", message="non ce la faccio più")
    old.received_at = utcnow() - timedelta(days=1)
    db.session.commit()
    with client.application.test_request_context():
        order = [t.id for t in services.queue(desks.operator, services.QueueFilters())]
    assert order == [urgent.id, old.id, new.id]
    sign_in(desks.operator)
    html = client.get("/richieste").get_data(as_text=True)
    assert html.index(urgent.reference) < html.index(old.reference) < html.index(new.reference)


def test_active_search_returns_the_fragment_only(client, desks, make_ticket, sign_in):
    anna, bruno = make_ticket(), make_ticket(first_name="Bruno", email="bruno@example.test", phone="3400000000")
    sign_in(desks.operator)
    response = client.get("/richieste?q=bruno", headers=htmx())
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html and 'id="ticket-queue"' in html
    assert _refs(response) == {bruno.reference}
    assert _refs(client.get(f"/richieste?q={anna.reference}")) == {anna.reference}


def test_status_tabs_and_filters(client, desks, make_ticket, sign_in):
    open_ticket, closed = make_ticket(), make_ticket(first_name="Chiusa")
    with client.application.test_request_context():
        services.set_status(desks.operator, closed, "closed", "risolto", version=closed.version)
    sign_in(desks.operator)
    assert _refs(client.get("/richieste")) == {open_ticket.reference}
    assert _refs(client.get("/richieste?stato=closed")) == {closed.reference}
    assert _refs(client.get("/richieste?stato=tutte")) == {open_ticket.reference, closed.reference}
    assert _refs(client.get(f"/richieste?sportello={desks.rodano.id}")) == set()
    assert _refs(client.get("/richieste?assegnate=none")) == {open_ticket.reference}


def test_overdue_past_the_service_level_counting_closures(client, desks, make_ticket, sign_in):
    ticket = make_ticket()
    ticket.received_at = utcnow() - timedelta(days=10)
    db.session.commit()
    with client.application.test_request_context():
        age = services.ages([ticket])[ticket.id]
        assert age.overdue and age.working_days >= 5
        # The desk closed for the whole period: no working day has passed.
        db.session.add(Closure(scope="desk", desk_id=desks.segrate.id, starts_at=utcnow() - timedelta(days=11),
                               ends_at=utcnow() + timedelta(days=1), reason="Lavori"))
        db.session.commit()
        assert services.ages([ticket])[ticket.id].working_days == 0
        assert not services.ages([ticket])[ticket.id].overdue
        client.application.config["HELPDESK_SERVICE_LEVEL_DAYS"] = 0
    sign_in(desks.operator)
    assert "Oltre il tempo di risposta" not in client.get("/richieste").get_data(as_text=True)


def test_overdue_ticket_is_highlighted(client, desks, make_ticket, sign_in):
    ticket = make_ticket()
    ticket.received_at = utcnow() - timedelta(days=10)
    db.session.commit()
    sign_in(desks.operator)
    assert "Oltre il tempo di risposta" in client.get("/richieste").get_data(as_text=True)


# --- Assignment and badge -----------------------------------------------------------------

def test_bulk_assignment_and_the_assignees_badge(client, app, desks, make_ticket, sign_in):
    first, second, third = make_ticket(), make_ticket(first_name="B"), make_ticket(first_name="C")
    sign_in(desks.operator)
    response = client.post("/richieste/assegna", data={"ticket_ids": [first.id, second.id],
                                                        **versions(first, second),
                                                        "assignee": desks.tutor.id, "next": "/richieste"})
    assert response.status_code == 303
    db.session.expire_all()
    assert [t.assignee_id for t in (first, second, third)] == [desks.tutor.id, desks.tutor.id, None]
    client.post("/logout")
    sign_in(desks.tutor)
    assert 'id="helpdesk-badge">2<' in client.get("/richieste").get_data(as_text=True)
    client.get(f"/richieste/{first.id}")  # opening it clears it from the badge
    assert 'id="helpdesk-badge">1<' in client.get("/richieste").get_data(as_text=True)


def test_cannot_assign_out_of_scope_tickets_or_people(client, desks, make_ticket, make_user, sign_in):
    mine = make_ticket()
    theirs = make_ticket(town=str(desks.network["Rodano"].id), topic="ascolto")
    sign_in(desks.operator)
    client.post("/richieste/assegna", data={"ticket_ids": [mine.id, theirs.id], **versions(mine, theirs),
                                            "assignee": desks.tutor.id})
    stranger = make_user("tutor", organisation=desks.network["Somaschi"])
    client.post("/richieste/assegna", data={"ticket_ids": [mine.id], **versions(mine), "assignee": stranger.id})
    db.session.expire_all()
    assert (mine.assignee_id, theirs.assignee_id) == (None, None)


def test_tutor_may_not_assign(client, desks, make_ticket, sign_in):
    ticket = make_ticket()
    sign_in(desks.tutor)
    assert client.post("/richieste/assegna", data={"ticket_ids": [ticket.id], **versions(ticket),
                                                   "assignee": desks.tutor.id}).status_code == 403


# --- Status, priority, comments -------------------------------------------------------------

def test_closing_needs_an_outcome(client, desks, make_ticket, sign_in):
    ticket = make_ticket()
    sign_in(desks.operator)
    refused = client.post(f"/richieste/{ticket.id}/stato", data={"status": "closed", "version": ticket.version})
    assert refused.status_code == 422 and "scegli l&#39;esito" in refused.get_data(as_text=True)
    done = client.post(f"/richieste/{ticket.id}/stato",
                       data={"status": "closed", "outcome": "risolto", "version": ticket.version})
    assert done.status_code == 303
    db.session.expire_all()
    assert (ticket.status, ticket.outcome) == ("closed", "risolto") and ticket.closed_at is not None


def test_stale_status_form_is_a_conflict(client, desks, make_ticket, sign_in):
    ticket = make_ticket()
    version = ticket.version
    sign_in(desks.operator)
    assert client.post(f"/richieste/{ticket.id}/stato", data={"status": "in_progress",
                                                               "version": version}).status_code == 303
    assert client.post(f"/richieste/{ticket.id}/stato", data={"status": "waiting",
                                                              "version": version}).status_code == 409


def test_booked_status_is_only_set_by_booking(client, desks, make_ticket, sign_in):
    ticket = make_ticket()
    sign_in(desks.operator)
    assert client.post(f"/richieste/{ticket.id}/stato", data={"status": "booked",
                                                              "version": ticket.version}).status_code == 422


def test_outcome_is_required_by_the_schema_too(app, desks, make_ticket):
    ticket = make_ticket()
    ticket.status = "closed"
    with pytest.raises(sa.exc.IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_priority_and_comments(client, desks, make_ticket, sign_in):
    ticket = make_ticket()
    sign_in(desks.operator)
    assert client.post(f"/richieste/{ticket.id}/priorita", data={"urgent": "1", "version": ticket.version}).status_code == 303
    assert client.post(f"/richieste/{ticket.id}/commenti", data={"body": "Richiamata alle 17\x00"}).status_code == 303
    assert client.post(f"/richieste/{ticket.id}/commenti", data={"body": "  "}).status_code == 422
    db.session.expire_all()
    assert ticket.priority == "urgent"
    assert [c.body for c in ticket.comments] == ["Richiamata alle 17"]
    assert "Richiamata alle 17" in client.get(f"/richieste/{ticket.id}").get_data(as_text=True)


def test_assigned_tutor_may_comment_other_tutors_may_not_see(client, desks, make_ticket, make_user, sign_in):
    ticket = make_ticket()
    with client.application.test_request_context():
        services.assign(desks.operator, {ticket.id: ticket.version}, desks.tutor.id)
    sign_in(desks.tutor)
    assert client.post(f"/richieste/{ticket.id}/commenti", data={"body": "Ci penso io"}).status_code == 303
    client.post("/logout")
    sign_in(make_user("tutor"))
    assert client.post(f"/richieste/{ticket.id}/commenti", data={"body": "Io no"}).status_code == 404


# --- Intake -----------------------------------------------------------------------------------

def test_operator_intake_of_a_phone_call_into_their_desk(client, desks, valid_form, sign_in):
    sign_in(desks.operator)
    assert client.get("/richieste/nuova").status_code == 200
    response = client.post("/richieste/nuova", data=valid_form(channel="telefono", desk=str(desks.segrate.id)))
    assert response.status_code == 303
    ticket = db.session.scalar(sa.select(Ticket))
    assert (ticket.channel, ticket.desk_id, ticket.created_by_id) == ("telefono", desks.segrate.id, desks.operator.id)


@pytest.mark.parametrize(("overrides", "message"), [
    ({"channel": "scuola"}, "Scrivi la scuola che segnala"),
    ({"channel": ""}, "Scegli come è arrivata"),
    ({"channel": "web"}, "Scegli come è arrivata"),
])
def test_intake_needs_a_staff_channel_and_the_school(client, desks, valid_form, sign_in, overrides, message):
    sign_in(desks.operator)
    response = client.post("/richieste/nuova", data=valid_form(**overrides))
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Ticket.id))) == 0


def test_intake_cannot_file_into_another_desks_queue(client, desks, valid_form, sign_in):
    sign_in(desks.operator)
    response = client.post("/richieste/nuova", data=valid_form(channel="sportello", desk=str(desks.rodano.id)))
    assert response.status_code == 422
    assert db.session.scalar(sa.select(sa.func.count(Ticket.id))) == 0


def test_tutor_has_no_intake(client, desks, sign_in):
    sign_in(desks.tutor)
    assert client.get("/richieste/nuova").status_code == 403
