"""reports: quarterly report narratives written by the Ufficio di Piano (issue 8)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26 09:10:00

"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
