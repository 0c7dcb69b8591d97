"""reports: indexes for the monitoring statements (issue 11) — placeholder: filled in by its owner, deleted if left empty

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-26 12:05:00

"""

# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
