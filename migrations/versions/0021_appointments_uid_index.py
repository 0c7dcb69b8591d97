"""appointments: drop ix_appointments_uid, which uq_appointments_uid_sequence already answers

Every lookup by calendar UID (`uid = ?`) is answered by the unique (uid, sequence) index, whose first
column it is. The second index cost every booking one more entry in an index as large as the unique
one (83 MB each at the bench's scale 1), on a random page: the UIDs were random UUIDs. New UIDs now
start with the time (app/bookings/services.py::new_uid), so a booking's entry in the unique index
lands beside the previous bookings' instead.

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-27 02:45:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('appointments', schema=None) as batch_op:
        batch_op.drop_index('ix_appointments_uid')


def downgrade():
    with op.batch_alter_table('appointments', schema=None) as batch_op:
        batch_op.create_index('ix_appointments_uid', ['uid'], unique=False)
