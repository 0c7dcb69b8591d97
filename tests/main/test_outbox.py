"""The outbox: two drains running at once send every message exactly once (SQLite and PostgreSQL)."""

import threading

import sqlalchemy as sa

from app import mail
from app.extensions import db
from app.models import OutboxMessage


def test_two_overlapping_drains_send_each_message_once(app, monkeypatch):
    for i in range(4):
        mail.queue_mail(f"persona{i}@example.test", "Promemoria", "Testo")
    db.session.commit()
    sent: list[str] = []
    a_is_sending = threading.Event()
    b_has_claimed = threading.Event()
    real_claim = mail._claim_next

    def claim(now):
        message = real_claim(now)
        if threading.current_thread().name == "drain-b":
            b_has_claimed.set()
        return message

    def send(email):
        if threading.current_thread().name == "drain-a" and not a_is_sending.is_set():
            a_is_sending.set()
            assert b_has_claimed.wait(30), "the second drain never got to claim"
        sent.append(email["To"])

    monkeypatch.setattr(mail, "_claim_next", claim)
    monkeypatch.setattr(mail, "_send", send)

    def drain():
        with app.app_context():
            mail.deliver_pending()
            db.session.remove()

    first = threading.Thread(target=drain, name="drain-a")
    first.start()
    assert a_is_sending.wait(30)  # the first drain holds message 1 while the second one starts
    second = threading.Thread(target=drain, name="drain-b")
    second.start()
    first.join(60)
    second.join(60)

    assert sorted(sent) == [f"persona{i}@example.test" for i in range(4)]
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).where(OutboxMessage.sent_at.is_(None))) == 0


def test_a_request_that_queues_mail_starts_delivery_right_away(app, client, make_user, monkeypatch):
    user = make_user("tutor")
    kicked = []
    monkeypatch.setattr(mail, "deliver_in_background", lambda app: kicked.append(app))
    client.get("/password/reset")
    assert kicked == []  # nothing queued, nothing to deliver
    response = client.post("/password/reset", data={"email": user.email})
    assert response.status_code == 303
    assert len(kicked) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 1
