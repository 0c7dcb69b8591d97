"""partners: optimistic version; the accounts list sorted by an index (issue 11)

- organisations.version: the optimistic version (`version_id_col`) that the users, appointments,
  tickets and young people already carry. Two administrators editing the same partner used to
  overwrite each other silently; now the second save, made on a form opened at an older version,
  gets 409 and writes nothing. Existing rows start at 1 (server default, kept so that rows inserted
  outside the ORM also get a version).
- ix_users_full_name (full_name, id): the accounts list is paged (LIMIT/OFFSET, 25 a page) in this
  order, so a page can be read from the index and stop there instead of reading and sorting every
  account. At bench scale there are only 100 accounts (hub_bench_s1 and s001 alike): EXPLAIN ANALYZE
  of page 3 gives seq scan + sort 0.16 ms, index scan 0.09 ms (PostgreSQL still picks the seq scan at
  this size); the index keeps a page's cost flat as the network's staff grows.

Both work on SQLite (batch mode; ADD COLUMN with a constant default needs no table copy).

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-26 12:05:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), nullable=False, server_default=sa.text('1')))
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_index('ix_users_full_name', ['full_name', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index('ix_users_full_name')
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.drop_column('version')
