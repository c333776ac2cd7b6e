"""certificate: 电子证照标识 (GB/T 36904)

Revision ID: 3c1e7a9d2b54
Revises: 0a48b6f431dd
Create Date: 2026-12-04 09:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = '3c1e7a9d2b54'
down_revision = '0a48b6f431dd'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('certificate') as batch_op:
        batch_op.add_column(sa.Column('license_id', sa.String(length=120), nullable=True))


def downgrade():
    with op.batch_alter_table('certificate') as batch_op:
        batch_op.drop_column('license_id')
