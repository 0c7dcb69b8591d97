"""benchmark: indexes for every filter the screens use (issue 11)

Found with EXPLAIN ANALYZE on the scale-1 bench database (1,000,000 appointments; bench/explain.py):

- ix_appointments_desk_end, ix_appointments_tutor_end: "what overlaps this window" (free slots, the
  desk calendar, the bookings list) is `starts_at < end AND ends_at > start`; with only
  (desk_id, starts_at) every past appointment of the desk was read (~50,000 rows, ~250 ms) to keep
  the few that end after the window starts.
- ix_appointments_desk_person, ix_appointments_tutor_desk_person: the young people in an
  operator's or a tutor's scope, and a tutor's desks (the agenda's filters: an EXISTS per desk read
  ~1,000,000 rows, 4 s), answered from the index alone.

Search by name stays `ILIKE '%word%'` on the scoped list: with the scope fast it reads ~50,000 short
rows; pg_trgm is not assumed (an extension the database owner may not be allowed to create).

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-26 09:10:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

INDEXES = {
    "ix_appointments_desk_end": ["desk_id", "ends_at"],
    "ix_appointments_tutor_end": ["tutor_id", "ends_at"],
    "ix_appointments_desk_person": ["desk_id", "young_person_id"],
    "ix_appointments_tutor_desk_person": ["tutor_id", "desk_id", "young_person_id"],
}


def upgrade():
    with op.batch_alter_table('appointments', schema=None) as batch_op:
        for name, columns in INDEXES.items():
            batch_op.create_index(name, columns, unique=False)


def downgrade():
    with op.batch_alter_table('appointments', schema=None) as batch_op:
        for name in reversed(list(INDEXES)):
            batch_op.drop_index(name)
