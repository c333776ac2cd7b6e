"""inbox: denormalized 待办 bucket columns on human_task_candidate, 已办 index on human_task

Revision ID: c3f1a9d27e54
Revises: 8095ca97fadb
Create Date: 2026-12-02 02:00:00.000000

A user's 待办 page and tab counts read human_task_candidate alone (issue #3): is_open, business_type and
created_at copy the task's own and are kept equal by services.workflow.instances.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c3f1a9d27e54'
down_revision = '8095ca97fadb'
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN (no table copy on SQLite); the copy below then runs once, for NOT NULL and the indexes.
    op.add_column('human_task_candidate', sa.Column('is_open', sa.Boolean(), nullable=False, server_default=sa.true()))
    op.add_column('human_task_candidate', sa.Column('business_type', sa.String(length=40), nullable=False,
                                                    server_default=''))
    op.add_column('human_task_candidate', sa.Column('created_at', sa.DateTime(), nullable=True))

    # Backfill from the tasks (UPDATE … FROM: PostgreSQL, and SQLite since 3.33).
    op.execute(
        "UPDATE human_task_candidate SET is_open = (human_task.status = 'open'), "
        "business_type = human_task.business_type, created_at = human_task.created_at "
        "FROM human_task WHERE human_task.id = human_task_candidate.task_id"
    )

    with op.batch_alter_table('human_task_candidate', schema=None) as batch_op:
        batch_op.alter_column('created_at', existing_type=sa.DateTime(), nullable=False)
        batch_op.alter_column('is_open', existing_type=sa.Boolean(), server_default=None)
        batch_op.alter_column('business_type', existing_type=sa.String(length=40), server_default=None)
        batch_op.create_index('ix_human_task_candidate_inbox', ['user_id', 'is_open', 'created_at', 'task_id'],
                              unique=False)
        batch_op.create_index('ix_human_task_candidate_inbox_type',
                              ['user_id', 'is_open', 'business_type', 'created_at', 'task_id'], unique=False)

    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.drop_index('ix_human_task_completed_by_id')
        batch_op.create_index('ix_human_task_done', ['completed_by_id', 'completed_at', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.drop_index('ix_human_task_done')
        batch_op.create_index('ix_human_task_completed_by_id', ['completed_by_id'], unique=False)

    with op.batch_alter_table('human_task_candidate', schema=None) as batch_op:
        batch_op.drop_index('ix_human_task_candidate_inbox_type')
        batch_op.drop_index('ix_human_task_candidate_inbox')
        batch_op.drop_column('created_at')
        batch_op.drop_column('business_type')
        batch_op.drop_column('is_open')
