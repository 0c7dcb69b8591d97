"""Quarterly reports for Città Metropolitana: the narrative the Ufficio di Piano writes before printing.

The numbers are never stored: the PDF computes them from the indicators when it is printed.
Two people editing the same quarter cannot overwrite each other: `version` is SQLAlchemy's
version counter and the edit form sends the version it was read at (409 when stale).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import UTCDateTime, utcnow
from app.models.user import User


class ReportStatus:
    """A draft while it is written; issued once the Ufficio di Piano sends it (the observer sees it then)."""

    DRAFT = "draft"
    ISSUED = "issued"
    ALL = (DRAFT, ISSUED)


REPORT_STATUSES: dict[str, object] = {
    ReportStatus.DRAFT: _l("Bozza"),
    ReportStatus.ISSUED: _l("Definitiva"),
}

# The narrative sections, in print order (the eight outcome texts come after the summary).
NARRATIVE_FIELDS: dict[str, object] = {
    "summary": _l("Sintesi del trimestre"),
    "difficulties": _l("Criticità incontrate"),
    "next_steps": _l("Prossimi passi"),
}
OUTCOME_FIELDS: tuple[str, ...] = tuple(f"outcome_{n}" for n in range(1, 9))
MAX_NARRATIVE = 6000  # characters per text: a long page each at most


class QuarterlyReport(db.Model):
    """The texts of one quarter's report (year, quarter 1–4), its status and who touched it last."""

    __tablename__ = "quarterly_reports"
    __table_args__ = (
        sa.UniqueConstraint("year", "quarter", name="uq_quarterly_reports_year_quarter"),
        sa.CheckConstraint("quarter BETWEEN 1 AND 4", name="quarter_range"),
        sa.CheckConstraint("year BETWEEN 2020 AND 2100", name="year_range"),
        sa.CheckConstraint("status IN ('draft', 'issued')", name="status_known"),
        sa.CheckConstraint("(status = 'issued') = (issued_at IS NOT NULL)", name="issued_when_issued"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(sa.SmallInteger)
    quarter: Mapped[int] = mapped_column(sa.SmallInteger)
    status: Mapped[str] = mapped_column(sa.String(8), default=ReportStatus.DRAFT)
    summary: Mapped[str] = mapped_column(sa.Text, default="")
    outcome_1: Mapped[str] = mapped_column(sa.Text, default="")
    outcome_2: Mapped[str] = mapped_column(sa.Text, default="")
    outcome_3: Mapped[str] = mapped_column(sa.Text, default="")
    outcome_4: Mapped[str] = mapped_column(sa.Text, default="")
    outcome_5: Mapped[str] = mapped_column(sa.Text, default="")
    outcome_6: Mapped[str] = mapped_column(sa.Text, default="")
    outcome_7: Mapped[str] = mapped_column(sa.Text, default="")
    outcome_8: Mapped[str] = mapped_column(sa.Text, default="")
    difficulties: Mapped[str] = mapped_column(sa.Text, default="")
    next_steps: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(default=1)

    updated_by: Mapped[User | None] = relationship(foreign_keys=[updated_by_id])

    __mapper_args__ = {"version_id_col": version}

    @property
    def is_issued(self) -> bool:
        return self.status == ReportStatus.ISSUED

    @property
    def status_label(self):
        return REPORT_STATUSES[self.status]

    @property
    def start(self) -> date:
        return quarter_start(self.year, self.quarter)

    @property
    def end(self) -> date:
        return quarter_end(self.year, self.quarter)

    def outcome_text(self, outcome: int) -> str:
        return getattr(self, f"outcome_{outcome}")

    @property
    def is_empty(self) -> bool:
        return not any(getattr(self, name) for name in (*NARRATIVE_FIELDS, *OUTCOME_FIELDS))

    def __repr__(self) -> str:
        return f"<QuarterlyReport {self.year}-T{self.quarter} {self.status}>"


def quarter_start(year: int, quarter: int) -> date:
    """First day of a quarter."""
    return date(year, 3 * quarter - 2, 1)


def quarter_end(year: int, quarter: int) -> date:
    """Last day of a quarter."""
    return date(year, 12, 31) if quarter == 4 else date(year, 3 * quarter + 1, 1) - timedelta(days=1)


def quarter_of(day: date) -> tuple[int, int]:
    """(year, quarter) containing a day."""
    return day.year, (day.month - 1) // 3 + 1

