"""Writing many rows at once (DESIGN §5): COPY on PostgreSQL, Core executemany elsewhere.

`insert_rows(table, rows)` writes a list of dicts whose keys are the table's columns, inside the session's
transaction (a rollback undoes them). PostgreSQL takes them through psycopg's COPY … FROM STDIN (several times
faster than INSERT for tens of thousands of rows, DESIGN §6); JSON values are sent as JSON text.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import JSON, Table

from app.extensions import db
from services.common import config_cache


def insert_rows(table: Table, rows: Sequence[dict[str, Any]]) -> None:
    if not rows:
        return
    connection = db.session.connection()
    if connection.dialect.name != "postgresql":
        connection.execute(table.insert(), list(rows))
        return
    columns = list(rows[0])
    json_columns = {name for name in columns if isinstance(table.c[name].type, JSON)}
    names = ", ".join(f'"{name}"' for name in columns)
    # COPY goes round SQLAlchemy's events: the transaction is marked as written by hand (see config_cache).
    connection.info[config_cache.TRANSACTION_WROTE] = True
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row([orjson.dumps(row[name]).decode() if name in json_columns else row[name]
                            for name in columns])
