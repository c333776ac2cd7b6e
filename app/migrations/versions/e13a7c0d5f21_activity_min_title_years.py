"""review activity: 任现职称年限要求 (years since the current title a normal declaration needs)

Revision ID: e13a7c0d5f21
Revises: b2c4d6e8f0a1
Create Date: 2026-12-04 01:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e13a7c0d5f21'
down_revision = 'b2c4d6e8f0a1'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('review_activity') as batch_op:
        batch_op.add_column(sa.Column('min_title_years', sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table('review_activity') as batch_op:
        batch_op.drop_column('min_title_years')
