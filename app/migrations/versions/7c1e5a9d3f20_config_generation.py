"""configuration generation: one row, replaced by triggers on every write to cached configuration

Issue 20: the review path, 多岗审核 levels and the newest process versions are cached per process and checked
against this value (app/models/configuration.py), read in one small statement or with the instance lock.

Revision ID: 7c1e5a9d3f20
Revises: 3c1e7a9d2b54
Create Date: 2026-12-04 09:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = '7c1e5a9d3f20'
down_revision = '3c1e7a9d2b54'
branch_labels = None
depends_on = None

# A frozen copy of app.models.configuration.CONFIG_TABLES / CONFIG_COLUMNS as of this revision
# (tests/services/test_config_cache.py checks that every listed table bumps the value).
TABLES = (
    "unit", "unit_type", "unit_nature", "region", "committee", "committee_level", "committee_specialty",
    "specialty", "title_level", "title_series", "competent_assignment", "review_path_link", "audit_level",
    "audit_level_member", "process_definition",
)
COLUMNS = {"app_user": ("enabled", "unit_id")}
BUMP_SQLITE = "UPDATE config_generation SET value = random() WHERE id = 1;"


def upgrade():
    op.create_table('config_generation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_config_generation'))
    )
    op.execute("INSERT INTO config_generation (id, value) VALUES (1, 0)")
    if op.get_bind().dialect.name == "postgresql":
        # A sequence never hands out a value twice, even when the transaction that drew it rolls back.
        op.execute("CREATE SEQUENCE config_generation_seq")
        op.execute("""CREATE FUNCTION bump_config_generation() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                UPDATE config_generation SET value = nextval('config_generation_seq') WHERE id = 1;
                RETURN NULL;
            END $$""")
        for table in TABLES:
            op.execute(f"CREATE TRIGGER config_generation_{table} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
                       f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION bump_config_generation()")
        for table, columns in COLUMNS.items():
            op.execute(f"CREATE TRIGGER config_generation_{table} AFTER UPDATE OF {', '.join(columns)} OR DELETE "
                       f"OR TRUNCATE ON {table} FOR EACH STATEMENT EXECUTE FUNCTION bump_config_generation()")
        return
    # SQLite has row triggers only, and no sequence outside the transaction: a 64-bit random value instead.
    for table in TABLES:
        for event in ("INSERT", "UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER config_generation_{table}_{event.lower()} AFTER {event} ON {table} "
                       f"BEGIN {BUMP_SQLITE} END")
    for table, columns in COLUMNS.items():
        op.execute(f"CREATE TRIGGER config_generation_{table}_update AFTER UPDATE OF {', '.join(columns)} "
                   f"ON {table} BEGIN {BUMP_SQLITE} END")
        op.execute(f"CREATE TRIGGER config_generation_{table}_delete AFTER DELETE ON {table} BEGIN {BUMP_SQLITE} END")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in (*TABLES, *COLUMNS):
            op.execute(f"DROP TRIGGER IF EXISTS config_generation_{table} ON {table}")
        op.execute("DROP FUNCTION IF EXISTS bump_config_generation()")
        op.execute("DROP SEQUENCE IF EXISTS config_generation_seq")
    else:
        for table in TABLES:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS config_generation_{table}_{event}")
        for table in COLUMNS:
            op.execute(f"DROP TRIGGER IF EXISTS config_generation_{table}_update")
            op.execute(f"DROP TRIGGER IF EXISTS config_generation_{table}_delete")
    op.drop_table('config_generation')
