"""desks: optimistic version (issue 11 review)

- desks.version: the optimistic version (`version_id_col`) that partners, users, appointments and
  tickets already carry. Two administrators editing the same desk (details, services, operators,
  tutors) used to overwrite each other silently; now the second save, made on a form opened at an
  older version, gets 409 and writes nothing. Existing rows start at 1 (server default, kept so that
  rows inserted outside the ORM also get a version). No index: the column is only compared on the
  row's own primary-key UPDATE.

Works on SQLite (batch mode; ADD COLUMN with a constant default needs no table copy).

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-26 13:25:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('desks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), nullable=False, server_default=sa.text('1')))


def downgrade():
    with op.batch_alter_table('desks', schema=None) as batch_op:
        batch_op.drop_column('version')
