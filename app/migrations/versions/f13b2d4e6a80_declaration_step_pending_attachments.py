"""declaration step: pending attachments kept across a refused 审核通过

Revision ID: f13b2d4e6a80
Revises: e13a7c0d5f21
Create Date: 2026-12-04 02:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f13b2d4e6a80'
down_revision = 'e13a7c0d5f21'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('declaration_step') as batch_op:
        batch_op.add_column(sa.Column('pending_attachments', sa.JSON(), nullable=False, server_default='{}'))


def downgrade():
    with op.batch_alter_table('declaration_step') as batch_op:
        batch_op.drop_column('pending_attachments')
