"""PostgreSQL: lz4, not pglz, for the large values written on every step

Issue 20: a process instance's state (20–30 KB of SpiffWorkflow JSON) is rewritten by every workflow step and a
declaration's snapshot at every submission; PostgreSQL compresses such values as it moves them out of line,
and pglz costs the server more than lz4 (a 30 KB state's UPDATE and COMMIT on a quiet 2-core machine: median
0.85 → 0.66 ms, over a bare small UPDATE and COMMIT of 0.39 ms), for a table that grew 14 MB against lz4's 10 MB
over 500 rows. Values already stored keep their compression until rewritten. A server built without lz4 (or
before PostgreSQL 14) keeps pglz.

Revision ID: 9a4d2c7e1b36
Revises: 7c1e5a9d3f20
Create Date: 2026-12-04 22:20:00

"""
from alembic import op


revision = '9a4d2c7e1b36'
down_revision = '7c1e5a9d3f20'
branch_labels = None
depends_on = None

COLUMNS = (("process_instance", "state"), ("declaration", "snapshot"))


def _set_compression(method: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column in COLUMNS:
        # In a PL/pgSQL block so a server without the method (or without the clause) leaves the default alone
        # instead of failing the upgrade.
        op.execute(f"""DO $$ BEGIN
                EXECUTE 'ALTER TABLE {table} ALTER COLUMN {column} SET COMPRESSION {method}';
            EXCEPTION WHEN feature_not_supported OR syntax_error OR invalid_parameter_value THEN
                RAISE NOTICE 'compression % not available for {table}.{column}: %', '{method}', SQLERRM;
            END $$""")


def upgrade():
    _set_compression("lz4")


def downgrade():
    _set_compression("pglz")
