"""tickets and the privacy tools search names without accents too; the unfolded name indexes go

After 0019 the register's search folds names with hub_fold(); now the helpdesk queue's search (the
ticket's first name) and the privacy tools' search (a young person's names) do the same, through
app/text.py::contains_folded. So:

- ix_tickets_first_name_folded_trgm: GIN (pg_trgm) over hub_fold(first_name), replacing
  ix_tickets_first_name_trgm (the number and the contacts keep their ILIKE and their 0012 indexes).
- ix_young_people_{first,last}_name_trgm (0012) are dropped: no query compares the raw names any more,
  the 0019 folded indexes answer every name search, and each index costs every insert and update.

PostgreSQL only, like 0012 and 0019; on SQLite the search folds with a GLOB pattern and nothing changes.

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-26 16:20:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None

UNFOLDED = {
    "ix_young_people_last_name_trgm": ("young_people", "last_name"),
    "ix_young_people_first_name_trgm": ("young_people", "first_name"),
    "ix_tickets_first_name_trgm": ("tickets", "first_name"),
}


def upgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute("CREATE INDEX ix_tickets_first_name_folded_trgm ON tickets USING gin (hub_fold(first_name) gin_trgm_ops)")
    for name in UNFOLDED:
        op.drop_index(name)


def downgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    for name, (table, column) in UNFOLDED.items():
        op.create_index(name, table, [column], postgresql_using='gin', postgresql_ops={column: 'gin_trgm_ops'})
    op.execute("DROP INDEX ix_tickets_first_name_folded_trgm")
