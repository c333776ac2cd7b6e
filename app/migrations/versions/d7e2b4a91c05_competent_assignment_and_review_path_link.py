"""review paths: 主管部门配置 (competent_assignment) and 审核路径 (review_path_link)

Revision ID: d7e2b4a91c05
Revises: 11414f483db0
Create Date: 2026-12-02 03:00:00.000000

FEATURES B2/B3 (manual S 1.2.3.5; Hunan guide H 1.4–1.8): who receives declarations for a committee in a
region, and the per-method, per-level chain of 受理机构 from a unit up to the committee.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'd7e2b4a91c05'
down_revision = '11414f483db0'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'competent_assignment',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('region_id', sa.Integer(), nullable=False),
        sa.Column('committee_id', sa.Integer(), nullable=False),
        sa.Column('competent_unit_id', sa.Integer(), nullable=False),
        sa.Column('owner_unit_id', sa.Integer(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
        sa.Column('updated_at', sa.DateTime(), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
        sa.ForeignKeyConstraint(['committee_id'], ['committee.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['competent_unit_id'], ['unit.id']),
        sa.ForeignKeyConstraint(['created_by_id'], ['app_user.id']),
        sa.ForeignKeyConstraint(['owner_unit_id'], ['unit.id']),
        sa.ForeignKeyConstraint(['region_id'], ['region.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('region_id', 'committee_id', name='uq_competent_assignment_region_committee'),
    )
    for column in ('region_id', 'committee_id', 'competent_unit_id', 'owner_unit_id'):
        op.create_index(f'ix_competent_assignment_{column}', 'competent_assignment', [column])
    op.create_table(
        'review_path_link',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('method_code', sa.String(length=30), nullable=False),
        sa.Column('level_code', sa.String(length=20), nullable=False),
        sa.Column('subordinate_unit_id', sa.Integer(), nullable=False),
        sa.Column('superior_unit_id', sa.Integer(), nullable=True),
        sa.Column('committee_id', sa.Integer(), nullable=True),
        sa.Column('owner_unit_id', sa.Integer(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
        sa.Column('updated_at', sa.DateTime(), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
        sa.CheckConstraint('(superior_unit_id IS NULL) <> (committee_id IS NULL)', name='ck_review_path_link_target'),
        sa.ForeignKeyConstraint(['committee_id'], ['committee.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['created_by_id'], ['app_user.id']),
        sa.ForeignKeyConstraint(['level_code'], ['title_level.code']),
        sa.ForeignKeyConstraint(['owner_unit_id'], ['unit.id']),
        sa.ForeignKeyConstraint(['subordinate_unit_id'], ['unit.id']),
        sa.ForeignKeyConstraint(['superior_unit_id'], ['unit.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('method_code', 'level_code', 'subordinate_unit_id', name='uq_review_path_link_step'),
    )
    for column in ('subordinate_unit_id', 'superior_unit_id', 'committee_id', 'owner_unit_id'):
        op.create_index(f'ix_review_path_link_{column}', 'review_path_link', [column])


def downgrade():
    op.drop_table('review_path_link')
    op.drop_table('competent_assignment')
