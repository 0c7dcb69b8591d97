"""Where a page's time goes: every SQL statement of the bench's main pages, timed with EXPLAIN ANALYZE.

    .venv/bin/python bench/explain.py [hub_bench_s1] [--plans] [--min-ms 2]

Signs in as the bench accounts (through the real forms, second factor included) with Flask's test
client against a bench database, records each page's statements and runs EXPLAIN (ANALYZE,
BUFFERS) on them: the statement count, the database time per page, and the plans of the slow ones.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("database", nargs="?", default="hub_bench_s1")
    parser.add_argument("--plans", action="store_true", help="print the plans of the slow statements")
    parser.add_argument("--min-ms", type=float, default=2.0)
    args = parser.parse_args()
    import run

    os.environ.update(run.app_env(args.database))
    import pyotp
    import sqlalchemy as sa

    from app import create_app
    from app.extensions import db
    from app.models import Desk, Note, User, YoungPerson, desk_operators
    from app.ops.benchdata import BENCH_PASSWORD, totp_secret

    app = create_app()
    app.config["WTF_CSRF_ENABLED"] = False
    with app.app_context():
        def client_for(email: str):
            client = app.test_client()
            with app.app_context():
                answer = client.post("/login", data={"email": email, "password": BENCH_PASSWORD})
            if answer.headers.get("Location", "").endswith("/login/codice"):
                with app.app_context():
                    client.post("/login/codice", data={"code": pyotp.TOTP(totp_secret(2026, email)).now()})
            return client

        operator = db.session.scalar(sa.select(User).where(User.email == "operatore01@bench.hub.test"))
        desk = db.session.scalar(sa.select(Desk).join(desk_operators, desk_operators.c.desk_id == Desk.id)
                                 .where(desk_operators.c.user_id == operator.id))
        person = db.session.scalar(sa.select(YoungPerson.id).where(YoungPerson.registered_desk_id == desk.id)
                                   .order_by(YoungPerson.id.desc()).limit(1))
        tutor = db.session.scalar(sa.select(User).where(User.email == "tutor01.1@bench.hub.test"))
        note = db.session.scalar(sa.select(Note).where(Note.author_id == tutor.id, Note.status == "draft").limit(1))
        pages = [
            (operator.email, "/healthz", {}),
            (operator.email, f"/orari/{desk.id}/calendario", {}),
            (operator.email, f"/appuntamenti/nuovo?person={person}&service={desk.services[0]}&desk={desk.id}",
             {"HX-Request": "true"}),
            (operator.email, "/richieste?stato=aperte&q=Rossi", {"HX-Request": "true"}),
            (operator.email, "/richieste", {}),
            (operator.email, "/giovani?q=Rossi", {"HX-Request": "true"}),
            (operator.email, f"/giovani/{person}", {}),
            (operator.email, "/appuntamenti", {}),
            (operator.email, "/agenda", {}),
            (tutor.email, "/agenda", {}),
            (tutor.email, "/note", {}),
            (tutor.email, f"/appuntamenti/{note.appointment_id}/nota" if note else "/note", {}),
            ("coordinatore1.studentslab@bench.hub.test", "/note", {}),
            ("admin1@bench.hub.test", "/monitoraggio", {}),
            ("coordinatore1.studentslab@bench.hub.test", "/monitoraggio", {}),
            ("admin1@bench.hub.test", "/richieste", {}),
        ]
        clients: dict = {}
        for email, url, headers in pages:
            if email not in clients:  # one sign-in per account (a code is accepted once per time step)
                clients[email] = client_for(email)
            client = clients[email]
            seen: list = []

            def record(_conn, _cursor, statement, parameters, _context, _many, seen=seen):
                seen.append((statement, parameters))

            sa.event.listen(db.engine, "before_cursor_execute", record)
            try:
                with app.app_context():  # a fresh context per request, as in production (Flask-Login caches in g)
                    status = client.get(url, headers=headers).status_code
            finally:
                sa.event.remove(db.engine, "before_cursor_execute", record)
            total, slow = 0.0, []
            with db.engine.connect() as conn:
                raw = conn.connection.driver_connection
                for statement, parameters in seen:
                    if not statement.lstrip().upper().startswith("SELECT"):
                        continue
                    rows = raw.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement, parameters).fetchone()
                    plan = rows[0][0]
                    ms = plan["Execution Time"] + plan["Planning Time"]
                    total += ms
                    if ms >= args.min_ms:
                        slow.append((ms, statement, parameters))
                raw.rollback()
            print(f"{url[:70]:<72} {status}  {len(seen):>3} statements  {total:8.1f} ms in the database")
            for ms, statement, parameters in sorted(slow, key=lambda s: s[0], reverse=True):
                print(f"    {ms:7.1f} ms  {' '.join(statement.split())[:160]}")
                if args.plans:
                    with db.engine.connect() as conn:
                        raw = conn.connection.driver_connection
                        for line in raw.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters):
                            print("        " + line[0])
                        raw.rollback()


if __name__ == "__main__":
    main()
