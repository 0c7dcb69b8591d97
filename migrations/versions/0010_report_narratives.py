"""reports: quarterly report narratives written by the Ufficio di Piano (issue 8)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26 09:10:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

TEXTS = ('summary', 'outcome_1', 'outcome_2', 'outcome_3', 'outcome_4', 'outcome_5', 'outcome_6', 'outcome_7',
         'outcome_8', 'difficulties', 'next_steps')


def upgrade():
    op.create_table('quarterly_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('year', sa.SmallInteger(), nullable=False),
    sa.Column('quarter', sa.SmallInteger(), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    *[sa.Column(name, sa.Text(), nullable=False) for name in TEXTS],
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint('quarter BETWEEN 1 AND 4', name=op.f('ck_quarterly_reports_quarter_range')),
    sa.CheckConstraint('year BETWEEN 2020 AND 2100', name=op.f('ck_quarterly_reports_year_range')),
    sa.CheckConstraint("status IN ('draft', 'issued')", name=op.f('ck_quarterly_reports_status_known')),
    sa.CheckConstraint("(status = 'issued') = (issued_at IS NOT NULL)",
                       name=op.f('ck_quarterly_reports_issued_when_issued')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_quarterly_reports_updated_by_id_users'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quarterly_reports')),
    sa.UniqueConstraint('year', 'quarter', name='uq_quarterly_reports_year_quarter')
    )


def downgrade():
    op.drop_table('quarterly_reports')
