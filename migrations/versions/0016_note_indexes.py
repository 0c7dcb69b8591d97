"""notes: indexes for the notes list and downloads (issue 11) — placeholder: filled in by its owner, deleted if left empty

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-26 12:05:00

"""

# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
