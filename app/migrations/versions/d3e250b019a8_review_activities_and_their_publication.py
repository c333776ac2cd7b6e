"""review activities and their publication (评审活动发布, 评审活动发布审核)

Revision ID: d3e250b019a8
Revises: d7e2b4a91c05
Create Date: 2026-12-02 02:02:11.907308

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd3e250b019a8'
down_revision = 'd7e2b4a91c05'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('review_activity',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('committee_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('reviewing_unit_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('scope', sa.String(length=50), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=20), nullable=False),
    sa.Column('review_method', sa.String(length=20), nullable=False),
    sa.Column('exceptional_review', sa.Boolean(), nullable=False),
    sa.Column('written_exam', sa.String(length=20), nullable=False),
    sa.Column('interview', sa.String(length=20), nullable=False),
    sa.Column('specialty_groups', sa.Boolean(), nullable=False),
    sa.Column('group_method', sa.String(length=20), nullable=False),
    sa.Column('apply_start', sa.DateTime(), nullable=False),
    sa.Column('first_submit_deadline', sa.DateTime(), nullable=False),
    sa.Column('revise_submit_deadline', sa.DateTime(), nullable=False),
    sa.Column('committee_receive_deadline', sa.DateTime(), nullable=False),
    sa.Column('health_page', sa.Boolean(), nullable=False),
    sa.Column('school_teacher_page', sa.Boolean(), nullable=False),
    sa.Column('vocational_teacher_page', sa.Boolean(), nullable=False),
    sa.Column('arrangement', sa.String(length=500), nullable=False),
    sa.Column('document_number', sa.String(length=50), nullable=False),
    sa.Column('public', sa.Boolean(), nullable=False),
    sa.Column('policy_files', sa.JSON(), nullable=False),
    sa.Column('plan_files', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('opinion', sa.String(length=500), nullable=False),
    sa.Column('submitted_at', sa.DateTime(), nullable=True),
    sa.Column('published_at', sa.DateTime(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('updated_at', sa.DateTime(), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.ForeignKeyConstraint(['committee_id'], ['committee.id'], name=op.f('fk_review_activity_committee_id_committee')),
    sa.ForeignKeyConstraint(['created_by_id'], ['app_user.id'], name=op.f('fk_review_activity_created_by_id_app_user')),
    sa.ForeignKeyConstraint(['reviewing_unit_id'], ['unit.id'], name=op.f('fk_review_activity_reviewing_unit_id_unit')),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_review_activity_unit_id_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_activity'))
    )
    with op.batch_alter_table('review_activity', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_activity_committee_id'), ['committee_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_review_activity_reviewing_unit_id'), ['reviewing_unit_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_review_activity_status'), ['status'], unique=False)
        batch_op.create_index('ix_review_activity_unit_status', ['unit_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_review_activity_year'), ['year'], unique=False)

    op.create_table('review_activity_achievement',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('activity_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=30), nullable=False),
    sa.Column('templates', sa.JSON(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('required', sa.Boolean(), nullable=False),
    sa.Column('min_count', sa.Integer(), nullable=False),
    sa.Column('max_count', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['activity_id'], ['review_activity.id'], name=op.f('fk_review_activity_achievement_activity_id_review_activity'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_activity_achievement'))
    )
    with op.batch_alter_table('review_activity_achievement', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_activity_achievement_activity_id'), ['activity_id'], unique=False)

    op.create_table('review_activity_exceptional',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('activity_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('level_code', sa.String(length=20), nullable=True),
    sa.Column('title', sa.String(length=50), nullable=False),
    sa.Column('description', sa.String(length=500), nullable=False),
    sa.Column('proof_required', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['activity_id'], ['review_activity.id'], name=op.f('fk_review_activity_exceptional_activity_id_review_activity'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['level_code'], ['title_level.code'], name=op.f('fk_review_activity_exceptional_level_code_title_level')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_activity_exceptional'))
    )
    with op.batch_alter_table('review_activity_exceptional', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_activity_exceptional_activity_id'), ['activity_id'], unique=False)

    op.create_table('review_activity_level',
    sa.Column('activity_id', sa.Integer(), nullable=False),
    sa.Column('level_code', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['activity_id'], ['review_activity.id'], name=op.f('fk_review_activity_level_activity_id_review_activity'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['level_code'], ['title_level.code'], name=op.f('fk_review_activity_level_level_code_title_level')),
    sa.PrimaryKeyConstraint('activity_id', 'level_code', name=op.f('pk_review_activity_level'))
    )
    op.create_table('review_activity_material',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('activity_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('required', sa.Boolean(), nullable=False),
    sa.Column('max_files', sa.Integer(), nullable=False),
    sa.Column('max_size_mb', sa.Integer(), nullable=False),
    sa.Column('file_types', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['activity_id'], ['review_activity.id'], name=op.f('fk_review_activity_material_activity_id_review_activity'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_activity_material'))
    )
    with op.batch_alter_table('review_activity_material', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_activity_material_activity_id'), ['activity_id'], unique=False)

    op.create_table('review_activity_specialty',
    sa.Column('activity_id', sa.Integer(), nullable=False),
    sa.Column('specialty_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['activity_id'], ['review_activity.id'], name=op.f('fk_review_activity_specialty_activity_id_review_activity'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['specialty_id'], ['specialty.id'], name=op.f('fk_review_activity_specialty_specialty_id_specialty')),
    sa.PrimaryKeyConstraint('activity_id', 'specialty_id', name=op.f('pk_review_activity_specialty'))
    )


def downgrade():
    op.drop_table('review_activity_specialty')
    with op.batch_alter_table('review_activity_material', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_activity_material_activity_id'))

    op.drop_table('review_activity_material')
    op.drop_table('review_activity_level')
    with op.batch_alter_table('review_activity_exceptional', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_activity_exceptional_activity_id'))

    op.drop_table('review_activity_exceptional')
    with op.batch_alter_table('review_activity_achievement', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_activity_achievement_activity_id'))

    op.drop_table('review_activity_achievement')
    with op.batch_alter_table('review_activity', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_activity_year'))
        batch_op.drop_index('ix_review_activity_unit_status')
        batch_op.drop_index(batch_op.f('ix_review_activity_status'))
        batch_op.drop_index(batch_op.f('ix_review_activity_reviewing_unit_id'))
        batch_op.drop_index(batch_op.f('ix_review_activity_committee_id'))

    op.drop_table('review_activity')
