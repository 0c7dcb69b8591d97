"""The monitoring demo history (HUB_DEMO=1): past sessions with final notes, deterministic and idempotent."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import sqlalchemy as sa

from app.extensions import db
from app.models import Appointment, Note, NoteOutcome, Status
from app.reports.demo import UID_SUFFIX, seed_history


def test_history_fills_the_year_before_the_existing_appointments_once(world):
    added = seed_history(world.network)
    db.session.commit()
    # The crafted world's first appointment is on 16/12/2025: history goes up to the day before it,
    # on the desks' Tuesday hours (09:00–13:00, one-hour slots).
    rows = db.session.execute(sa.select(Appointment.starts_at, Appointment.status)
                              .where(Appointment.uid.like(f"%{UID_SUFFIX}"))).all()
    assert added == len(rows) > 0
    assert all(start.date() < date(2025, 12, 16) and start.weekday() == 1 for start, _s in rows)
    attended = [s for _start, s in rows if s == Status.ATTENDED]
    assert attended
    finals = db.session.scalar(sa.select(sa.func.count()).select_from(Note).join(Appointment)
                               .where(Appointment.uid.like(f"%{UID_SUFFIX}"), Note.status == "final"))
    outcomes = db.session.scalar(sa.select(sa.func.count()).select_from(NoteOutcome))
    assert 0 < finals <= len(attended) and outcomes >= finals
    assert seed_history(world.network) == 0     # idempotent


def test_the_demo_has_one_issued_report_of_the_last_complete_quarter(world, make_user):
    from app.models import QuarterlyReport
    from app.models.report import quarter_of, quarter_start
    from app.reports.demo import seed_quarterly_report

    make_user("admin", email="admin@hub.test")
    assert seed_quarterly_report(world.network) is True
    db.session.commit()
    report = db.session.scalars(sa.select(QuarterlyReport)).one()
    from app.formatting import ROME

    previous = quarter_start(*quarter_of(datetime.now(ROME).date())) - timedelta(days=1)
    assert (report.year, report.quarter) == quarter_of(previous) and report.is_issued and report.summary
    assert seed_quarterly_report(world.network) is False  # once
