"""appointments (young_person_id, desk_id): the register search's scope probed per candidate (issue 11)

The register's search (GET /giovani?q=..., htmx fragment) first narrows the register to its
candidates (trigram or code-prefix indexes, 0012) and then asks, for each, whether it is in the
user's scope (app/policy/people.py, `scoped_young_people(..., per_candidate=True)`). For an operator
that is "met at one of my desks": with this index the question is an index-only probe of the
candidate's own entries (~20, one leaf page) instead of reading the same ~20 appointments from the
table (the only index starting with young_person_id had no desk_id). Tutors and coordinators use
ix_appointments_person_tutor (0016) the same way.

Measured on hub_bench_s1 (50,000 young people, 1,000,000 appointments), indexes created in a
transaction rolled back, EXPLAIN ANALYZE, load average ~9 on 2 cores (read the ratios):
operatore01 "Rossi": hashing the desk's ~50,000 appointments 55-75 ms -> per-candidate probes
without this index 82 ms (20,800 buffers, heap reads) -> with it 16-20 ms (3,435 buffers).
The lists that apply the scope to everyone (waiting list, recall tasks, notes) keep the hashed
plan; their plans do not change with this index.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-26 13:10:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_appointments_person_desk", "appointments", ["young_person_id", "desk_id"])


def downgrade():
    op.drop_index("ix_appointments_person_desk", table_name="appointments")
