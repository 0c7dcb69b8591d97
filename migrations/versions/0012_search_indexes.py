"""search: indexes for people and helpdesk search (issue 11) — placeholder: filled in by its owner, deleted if left empty

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-26 12:05:00

"""

# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
