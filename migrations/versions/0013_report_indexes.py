"""reports: indexes for the monitoring statements (issue 11)

A report nobody asked for yet (a custom period on /monitoraggio, its CSV) reads the period's
sessions: ~57,000 attended or absent appointments for eight months of the whole network at bench
scale 1. app/reports/indicators.py now reads them in one statement for every count of people
(was one statement per table) and once for outcomes and referrals (was twice); these indexes let
those reads touch index pages only:

- ix_appointments_start_cover (starts_at) INCLUDE (status, desk_id, young_person_id, tutor_id,
  service, ends_at, id): the period's appointments by an index-only range scan, with every column
  the scopes (desk, tutor), the filters (desk, service, organisation's tutors), the counts, the
  booked hours and the notes join need. Before: a parallel sequential scan of the whole table
  (26,000 pages, ~150 ms per statement) or a range scan with a heap visit per row. On SQLite a plain
  index on starts_at (no INCLUDE there).
- ix_appointments_person_attended (young_person_id, starts_at) WHERE status = 'attended': each
  reached young person's first attended session ever ("new" in the period and per month), one
  index-only probe per person (~6,500 for the network's eight months), where the old NOT EXISTS ran
  per appointment (twice ~51,000 probes with a heap visit).
- ix_notes_final_appointment (appointment_id) INCLUDE (id, referrals) WHERE status = 'final': the
  final notes of the period's sessions without reading the notes' heap (600,000 rows, 72,000 pages:
  ~300 ms per statement, twice per report).

Measured with /tmp-style EXPLAIN ANALYZE of report_for() on hub_bench_s1 (period 2024-06-01 ..
2025-01-31, cache off), database CPU of the backend, parallel workers off, on the shared 2-core
machine (load average ~10, so read the ratios): admin 4,814 -> ~900 ms, coordinator 3,153 -> ~400 ms,
town contact 561 -> ~210 ms; statements 17 -> 11 (suppressed viewers: 9 -> 2 more per filter).

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-26 12:05:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

ATTENDED = sa.text("status = 'attended'")
FINAL = sa.text("status = 'final'")


def upgrade():
    op.create_index("ix_appointments_start_cover", "appointments", ["starts_at"],
                    postgresql_include=["status", "desk_id", "young_person_id", "tutor_id", "service", "ends_at",
                                        "id"])
    op.create_index("ix_appointments_person_attended", "appointments", ["young_person_id", "starts_at"],
                    postgresql_where=ATTENDED, sqlite_where=ATTENDED)
    op.create_index("ix_notes_final_appointment", "notes", ["appointment_id"],
                    postgresql_include=["id", "referrals"], postgresql_where=FINAL, sqlite_where=FINAL)


def downgrade():
    op.drop_index("ix_notes_final_appointment", table_name="notes")
    op.drop_index("ix_appointments_person_attended", table_name="appointments")
    op.drop_index("ix_appointments_start_cover", table_name="appointments")
