"""Configuration that every action reads, cached in the process under the configuration generation (issue 20).

A submission resolved its 审核路径 (units, 主管部门配置, 审核路径配置, the committee's checks) in about ten
statements, and every review step read the next unit's 多岗审核 levels; with PostgreSQL on another machine each
statement is a round trip. Configuration changes rarely, so each process keeps what it built, keyed by the
value of config_generation (app/models/configuration.py), which database triggers replace on every write to
the tables these structures are built from. DESIGN §1 still holds: nothing is trusted without asking the
database — only the answer is one small row instead of the whole structure.

What keeps a stale structure from ever being used:
- an entry is used only under the generation this transaction read, and a value never repeats (a rolled-back
  transaction's value is never handed out again), so an entry built inside a transaction that wrote
  configuration is simply never found by anyone else;
- the generation is read once per transaction (or taken from the instance lock's row: remember()), and again
  after this connection sent a write to a configuration table — or SQL the watcher cannot name;
- pending ORM changes are flushed before the generation is read, as the queries it replaces would autoflush;
- an entry is not stored when its build wrote anything to configuration; entries are plain immutable data
  (ids, names, tuples), never ORM objects; each app (each database) has its own cache.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from flask import current_app
from sqlalchemy import Select, event, select
from sqlalchemy.engine import Connection, Engine

from app.extensions import db, transaction_memo
from app.models.configuration import CONFIG_COLUMNS, CONFIG_TABLES, ConfigGeneration

T = TypeVar("T")

_GENERATION = ConfigGeneration.__table__
GENERATION = select(_GENERATION.c.value).where(_GENERATION.c.id == 1)
# For a statement that is sent anyway (the instance lock): the generation as one more column.
GENERATION_COLUMN = GENERATION.scalar_subquery().label("config_generation")
MAX_ENTRIES = 20_000  # a bound, not a tuning: past it new structures are built per use until the next generation
_WRITES = "config_writes"  # connection.info: writes this connection sent that may have changed configuration
_WATCHED = frozenset(CONFIG_TABLES) | frozenset(CONFIG_COLUMNS)
# Not ROLLBACK: a ROLLBACK TO SAVEPOINT may take back a configuration write, and the value with it.
_READS = ("SELECT", "BEGIN", "SAVEPOINT", "RELEASE", "COMMIT", "PRAGMA", "SHOW")


class _Store:
    """One generation's entries; replaced whole when another generation is read."""

    __slots__ = ("entries", "generation")

    def __init__(self, generation: int) -> None:
        self.generation = generation
        self.entries: dict[tuple[str, Hashable], Any] = {}


def watch(engine: Engine) -> None:
    """Count, per connection, the statements that may have written configuration, and note whether the
    transaction may have written anything (create_app installs it)."""
    event.listen(engine, "before_cursor_execute", _count_writes)
    event.listen(engine, "begin", _new_transaction)


# connection.info: False while the transaction has sent reads only (True, or absent: it may have written). A
# transaction of reads may end with COMMIT instead of ROLLBACK (app/__init__.py, psycopg: its rollback() throws
# away every prepared statement of the connection).
TRANSACTION_WROTE = "transaction_wrote"


def _new_transaction(conn: Connection) -> None:
    conn.info[TRANSACTION_WROTE] = False


def _count_writes(conn: Connection, _cursor: Any, statement: str, _parameters: Any, context: Any,
                  _executemany: bool) -> None:
    table = _written_table(statement, context)
    if table is None:
        return
    conn.info[TRANSACTION_WROTE] = True
    if table == "" or table in _WATCHED:
        conn.info[_WRITES] = conn.info.get(_WRITES, 0) + 1


def _written_table(statement: str, context: Any) -> str | None:
    """None for a read; else the table a compiled INSERT / UPDATE / DELETE writes, or "" when it cannot be named."""
    if context is not None and (context.isinsert or context.isupdate or context.isdelete):
        table = getattr(getattr(context.compiled, "statement", None), "table", None)
        return str(getattr(table, "name", None) or "")
    compiled = getattr(context, "compiled", None)
    if isinstance(getattr(compiled, "statement", None), Select) and not any(
            not isinstance(cte.element, Select) for cte in getattr(compiled, "ctes", None) or ()):
        return None  # a compiled SELECT, with a WITH of SELECTs only (the inbox's tab counts): a read
    return None if statement[:16].lstrip().upper().startswith(_READS) else ""  # text SQL: anything but a read


def _writes() -> int:
    return int(db.session.connection().info.get(_WRITES, 0))


def remember(generation: int) -> None:
    """The generation read by another statement of this transaction (the instance lock's row)."""
    transaction_memo("config_generation")["value"] = (generation, _writes())


def generation(flush: bool = True) -> int:
    """The configuration generation as this transaction sees it: one small read per transaction at most.
    `flush=False` where the caller's pending changes cannot touch what is cached (and are flushed later)."""
    if flush:
        db.session.flush()  # as the queries a cached structure replaces would autoflush
    writes = _writes()
    memo = transaction_memo("config_generation")
    held = memo.get("value")
    if held is not None and held[1] == writes:
        return int(held[0])
    value = int(db.session.connection().execute(GENERATION).scalar_one())
    memo["value"] = (value, writes)
    return value


def cached(kind: str, key: Hashable, build: Callable[[], T], flush: bool = True) -> T:
    """`build()`'s result for (kind, key) under the current generation; built (and kept) on a miss.
    `build` must return immutable plain data: it is shared by every later request of this process."""
    current = generation(flush)
    store: _Store | None = current_app.extensions.get("config_cache")
    if store is None or store.generation != current:
        store = current_app.extensions["config_cache"] = _Store(current)
    found = store.entries.get((kind, key), _MISSING)
    if found is not _MISSING:
        return found  # type: ignore[no-any-return]
    writes = _writes()
    value = build()
    if _writes() == writes and len(store.entries) < MAX_ENTRIES:
        store.entries[(kind, key)] = value
    return value


_MISSING = object()
