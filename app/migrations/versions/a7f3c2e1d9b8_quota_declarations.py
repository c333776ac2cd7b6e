"""quota declarations (职数申报, 职数审核, 职数申报查询)

Revision ID: a7f3c2e1d9b8
Revises: d3e250b019a8
Create Date: 2026-12-03 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a7f3c2e1d9b8'
down_revision = 'd3e250b019a8'
branch_labels = None
depends_on = None

LIVE = "status != 'rejected'"


def upgrade():
    op.create_table('quota_declaration',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('reviewing_unit_id', sa.Integer(), nullable=True),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('contact_name', sa.String(length=10), nullable=False),
    sa.Column('contact_phone', sa.String(length=20), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('opinion', sa.String(length=500), nullable=False),
    sa.Column('submitted_at', sa.DateTime(), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('updated_at', sa.DateTime(), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['app_user.id'], name=op.f('fk_quota_declaration_created_by_id_app_user')),
    sa.ForeignKeyConstraint(['reviewing_unit_id'], ['unit.id'], name=op.f('fk_quota_declaration_reviewing_unit_id_unit')),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_quota_declaration_unit_id_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quota_declaration'))
    )
    with op.batch_alter_table('quota_declaration', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quota_declaration_reviewing_unit_id'), ['reviewing_unit_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_quota_declaration_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_quota_declaration_year'), ['year'], unique=False)
        batch_op.create_index('ix_quota_declaration_unit_year', ['unit_id', 'year'], unique=False)
        batch_op.create_index('uq_quota_declaration_unit_year_live', ['unit_id', 'year'], unique=True,
                              sqlite_where=sa.text(LIVE), postgresql_where=sa.text(LIVE))

    op.create_table('quota_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('declaration_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('series_code', sa.String(length=50), nullable=False),
    sa.Column('level_code', sa.String(length=20), nullable=False),
    sa.Column('post_total', sa.Integer(), nullable=False),
    sa.Column('current_count', sa.Integer(), nullable=False),
    sa.Column('requested_count', sa.Integer(), nullable=False),
    sa.Column('remark', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['declaration_id'], ['quota_declaration.id'], name=op.f('fk_quota_item_declaration_id_quota_declaration'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['level_code'], ['title_level.code'], name=op.f('fk_quota_item_level_code_title_level')),
    sa.ForeignKeyConstraint(['series_code'], ['title_series.code'], name=op.f('fk_quota_item_series_code_title_series')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quota_item')),
    sa.UniqueConstraint('declaration_id', 'series_code', 'level_code', name='uq_quota_item_declaration_series_level')
    )
    with op.batch_alter_table('quota_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quota_item_declaration_id'), ['declaration_id'], unique=False)


def downgrade():
    with op.batch_alter_table('quota_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quota_item_declaration_id'))

    op.drop_table('quota_item')
    with op.batch_alter_table('quota_declaration', schema=None) as batch_op:
        batch_op.drop_index('uq_quota_declaration_unit_year_live')
        batch_op.drop_index('ix_quota_declaration_unit_year')
        batch_op.drop_index(batch_op.f('ix_quota_declaration_year'))
        batch_op.drop_index(batch_op.f('ix_quota_declaration_status'))
        batch_op.drop_index(batch_op.f('ix_quota_declaration_reviewing_unit_id'))

    op.drop_table('quota_declaration')
