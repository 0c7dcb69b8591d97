"""search: indexes for the register's and the helpdesk queue's search, and the queue's desk filter (issue 11)

Measured with EXPLAIN ANALYZE on the scale-1 bench database (50,000 young people, 1,000,000
appointments, 100,000 tickets), the indexes created in a transaction rolled back afterwards, the old
and the new statements run alternately (minimum of 5; the machine had a load average of ~10 on 2
cores, so read the ratios). Database time per request:

- ix_young_people_last_name_trgm, ix_young_people_first_name_trgm (GIN, pg_trgm): the search keeps
  its rule, every word `ILIKE '%word%'` on first or last name, which only a trigram index can answer.
  The candidates are read from the index and sorted (app/people/services.py: with a LIMIT the
  planner walked ix_young_people_name in order, reading 44,000 rows to reach "Rossi"). "Rossi"
  (947 in the register): operator 351 -> 61 ms, admin 265 -> 11 ms, tutor 185 -> 18 ms, coordinator
  489 -> 258 ms; "Giulia Rossi" 238 -> 50 ms; "zzz" 161 -> 0.6 ms. The match itself is now ~1.6 ms;
  what remains for operators and coordinators is the scope (app/policy/people.py): "met at my
  desks" hashes every appointment of the desk (~50,000 rows; a coordinator's tutors: ~350,000).
  Words shorter than 3 letters have no trigram and keep the ordered walk.
- ix_young_people_code_prefix (text_pattern_ops): a code or its start (`LIKE 'HDT-2019-0123%'`)
  under any collation: 1 index row instead of the name-index walk (179 -> 39 ms, the rest is scope).
- ix_tickets_{reference,first_name,email,phone}_trgm (GIN, pg_trgm): the queue's search on the
  "tutte" and closed tabs (all the history): "Rossi" 64 -> 0.5 ms, "giulia" 125 -> 17 ms. The
  "aperte" tab was already bounded by ix_tickets_queue (the open tickets): 1.4 -> 0.7 ms.
- ix_tickets_desk_assignee: the queue page's desk filter asks "does this desk have a ticket I can
  see" once per desk, from the index alone, instead of collecting the desk of every ticket in scope
  (operator 70 -> ~30 ms). The search fragment no longer asks at all (the form is the page's).

pg_trgm is a *trusted* extension since PostgreSQL 13: the database owner creates it without being a
superuser (checked on 15.20: a NOSUPERUSER role owning a fresh database ran CREATE EXTENSION pg_trgm
and built a gin_trgm_ops index), so `flask db upgrade` run as the owner role (docs/deploy.md) is
enough, as for btree_gist (0002). On SQLite (tests, development) the same queries run unindexed.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-26 12:05:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

TRIGRAM_INDEXES = {
    "ix_young_people_last_name_trgm": ("young_people", "last_name"),
    "ix_young_people_first_name_trgm": ("young_people", "first_name"),
    **{f"ix_tickets_{column}_trgm": ("tickets", column) for column in ("reference", "first_name", "email", "phone")},
}


def upgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
        for name, (table, column) in TRIGRAM_INDEXES.items():
            op.create_index(name, table, [column], postgresql_using='gin',
                            postgresql_ops={column: 'gin_trgm_ops'})
        op.create_index('ix_young_people_code_prefix', 'young_people', ['code'],
                        postgresql_ops={'code': 'text_pattern_ops'})
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.create_index('ix_tickets_desk_assignee', ['desk_id', 'assignee_id'], unique=False)


def downgrade():
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_desk_assignee')
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_index('ix_young_people_code_prefix', table_name='young_people')
        for name, (table, _column) in reversed(list(TRIGRAM_INDEXES.items())):
            op.drop_index(name, table_name=table)
        # The extension stays: other databases' objects may use it, and dropping it needs its owner.
