"""The retention job (dry run changes nothing, apply does, twice is a no-op), the notice and the admin register."""

from __future__ import annotations

import uuid
from datetime import timedelta

import sqlalchemy as sa

from app.extensions import db
from app.models import (
    Appointment,
    AuditEvent,
    Note,
    OutboxMessage,
    Status,
    Ticket,
    UserSession,
    YoungPerson,
)
from app.models.base import utcnow
from tests.bookings.factories import make_person
from tests.conftest import htmx, login
from tests.privacy.conftest import EMAIL, text_hits


def _old_world(world):
    """Four years ago: a person seen once, a request closed; an old draft; old mail and sessions."""
    long_ago = utcnow() - timedelta(days=4 * 365)
    old = make_person(world.network, world.operator, first_name="Genoveffa", last_name="Dimenticata",
                      phone="3398887776", registered_desk=world.desk)
    old.created_at = long_ago
    appointment = Appointment(desk_id=world.desk.id, tutor_id=world.tutor.id, young_person_id=old.id,
                              service="orientamento", starts_at=long_ago, ends_at=long_ago + timedelta(minutes=45),
                              status=Status.ATTENDED, uid=f"{uuid.uuid4()}@test")
    db.session.add(appointment)
    db.session.flush()
    # A draft left two years ago on a session of someone still active.
    two_years = utcnow() - timedelta(days=2 * 365)
    forgotten = Appointment(desk_id=world.desk.id, tutor_id=world.tutor.id, young_person_id=world.person.id,
                            service="orientamento", starts_at=two_years, ends_at=two_years + timedelta(minutes=45),
                            status=Status.ATTENDED, uid=f"{uuid.uuid4()}@test")
    db.session.add(forgotten)
    db.session.flush()
    db.session.add(Note(appointment_id=forgotten.id, author_id=world.tutor.id, young_person_id=world.person.id,
                        summary="Bozza dimenticata"))
    db.session.add(Ticket(reference="RIC-2022-000001", first_name="Ilario", phone="3391112223",
                          email="ilario@example.test", topic="orientamento", message="Aiuto per il CV",
                          status="closed", outcome="risolto", closed_at=long_ago, received_at=long_ago,
                          privacy_consent_at=long_ago, privacy_text_version="2026-01"))
    db.session.add_all([
        OutboxMessage(recipient="genoveffa@example.test", subject="Promemoria", body_text="Ciao Genoveffa",
                      sent_at=utcnow() - timedelta(days=100)),
        OutboxMessage(recipient="recente@example.test", subject="Promemoria", body_text="Ciao",
                      sent_at=utcnow() - timedelta(days=1)),
        OutboxMessage(recipient="attesa@example.test", subject="Promemoria", body_text="Ciao",
                      next_attempt_at=utcnow() - timedelta(days=200), created_at=utcnow() - timedelta(days=200)),
        UserSession(token_hash="a" * 64, user_id=world.operator.id, created_at=utcnow() - timedelta(days=41),
                    last_seen_at=utcnow() - timedelta(days=40), revoked_at=utcnow() - timedelta(days=40)),
    ])
    db.session.commit()
    return old


def _snapshot() -> dict:
    tables = (YoungPerson, Note, OutboxMessage, UserSession, Ticket)
    counts = {m.__tablename__: db.session.scalar(sa.select(sa.func.count()).select_from(m)) for m in tables}
    counts["names"] = sorted(db.session.scalars(sa.select(YoungPerson.first_name)))
    counts["ticket_names"] = sorted(db.session.scalars(sa.select(Ticket.first_name)))
    return counts


def test_dry_run_changes_nothing_apply_acts_and_is_idempotent(app, world):
    old = _old_world(world)
    before = _snapshot()
    runner = app.test_cli_runner()
    dry = runner.invoke(args=["retention"])
    assert dry.exit_code == 0, dry.output
    assert "simulazione" in dry.output
    assert "Giovani senza attività: 1 da trattare" in dry.output
    assert "Bozze di note mai finalizzate: 1 da trattare" in dry.output
    assert "Richieste chiuse: 1 da trattare" in dry.output
    assert "E-mail inviate: 1 da trattare" in dry.output
    assert "Sessioni di accesso terminate: 1 da trattare" in dry.output
    db.session.expire_all()
    assert _snapshot() == before
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == 0

    applied = runner.invoke(args=["retention", "--apply", "--batch-size", "1"])
    assert applied.exit_code == 0, applied.output
    db.session.expire_all()
    assert text_hits(("genoveffa", "dimenticata", "3398887776", "ilario")) == []
    old = db.session.get(YoungPerson, old.id)
    assert old.erased_at is not None and old.erased_by_id is None and "retention" in old.erasure_reason
    assert db.session.get(YoungPerson, world.person.id).erased_at is None  # active people stay
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Appointment)
                             .where(Appointment.young_person_id == old.id)) == 1  # counted still
    assert sorted(db.session.scalars(sa.select(OutboxMessage.recipient))) == [
        "altra@example.test", "attesa@example.test", "recente@example.test", EMAIL]  # the fixture's, sent today
    assert db.session.scalar(sa.select(sa.func.count()).select_from(UserSession)) == 0
    # The fixture's final note and recent draft stay; the two-year-old draft is gone.
    assert sorted(db.session.scalars(sa.select(Note.summary))) == [
        "Ha scelto di iscriversi a ingegneria.", "Zefiro racconta della famiglia."]

    again = runner.invoke(args=["retention", "--apply"])
    assert again.exit_code == 0 and again.output.count(": 0 trattati") == 5, again.output
    runs = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "privacy.retention")
                              .order_by(AuditEvent.id)).all()
    assert [r.details["counts"] for r in runs] == [
        {"inactive_people": 1, "draft_notes": 1, "final_notes": 0, "tickets": 1, "outbox": 1, "sessions": 1,
         "audit": 0},
        {"inactive_people": 0, "draft_notes": 0, "final_notes": 0, "tickets": 0, "outbox": 0, "sessions": 0,
         "audit": 0}]
    assert all(r.actor_id is None and r.details["mode"] == "apply" for r in runs)


def test_public_form_links_the_notice_with_periods_from_config(app, client):
    app.config["RETENTION_TICKETS_MONTHS"] = 27
    form = client.get("/richiesta").get_data(as_text=True)
    assert 'href="/privacy"' in form and "Leggi l’informativa privacy per giovani e famiglie" in form
    notice = client.get("/privacy").get_data(as_text=True)
    for expected in ("Comune di Pioltello", "Ufficio di Piano", "art. 9.2.g", "14 anni", "27 mesi",
                     app.config["PRIVACY_DPO_CONTACT"], "Garante per la protezione dei dati personali",
                     "Versione 2026-01"):
        assert expected in notice, expected


def test_record_of_processing_and_search_for_the_admin(client, world):
    login(client, world.admin.email)
    page = client.get("/admin/privacy")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    for expected in ("Registro delle attività di trattamento", "Fondazione Somaschi", "RETENTION_NOTES_YEARS",
                     "Misure di sicurezza", "Il lavoro di conservazione non è ancora stato eseguito"):
        assert expected in html, expected
    fragment = client.get("/admin/privacy", query_string={"q": "Quarant"}, headers=htmx()).get_data(as_text=True)
    assert "<html" not in fragment and world.person.code in fragment and "Bruno" not in fragment
    # Without case or accents, like the register's search: a request may spell the name either way.
    for q in ("QUARANT", "quàrant"):
        found = client.get("/admin/privacy", query_string={"q": q}, headers=htmx()).get_data(as_text=True)
        assert world.person.code in found, q
    person_page = client.get(f"/giovani/{world.person.id}").get_data(as_text=True)
    assert f'href="/admin/privacy/giovani/{world.person.id}"' in person_page
