"""Flask extension instances, bound to the app in create_app()."""

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from typing import Any, TypeVar

from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData, bindparam, inspect, update
from sqlalchemy.orm import DeclarativeBase, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

T = TypeVar("T")

# Stable constraint names so Alembic migrations are identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()


def loaded_from_row(entity: type[T], row: Mapping[Any, Any], prefix: str = "", **related: Any) -> T:
    """The session's object for a row read through Core (`row[prefix + column name]` for every column): the one
    the session holds already, or one built from the row and attached as if a query had loaded it — no history,
    so nothing is written back; relationships not given load lazily on first use. For the hot paths where
    building objects through an ORM query cost more than the work itself (issue #3)."""
    mapper = inspect(entity)
    present = db.session.identity_map.get(mapper.identity_key_from_primary_key(
        [row[prefix + column.name] for column in mapper.primary_key]))
    if present is not None:
        return present  # type: ignore[no-any-return]
    obj = entity()
    # As the ORM's loader fills an object: straight into its dict, without attribute events.
    inspect(obj).dict.update({attr: row[prefix + name] for name, attr in _column_attributes(entity)}, **related)
    make_transient_to_detached(obj)
    db.session.add(obj)
    return obj


def write_columns(record: Any, changes: Mapping[str, Any]) -> None:
    """One UPDATE of a loaded row by its primary key through Core: `changes` (attribute → value) together with
    whatever the caller changed on it through the ORM and has not flushed, the object then kept equal to the row as
    if loaded so: no flush work for it. For the hot paths where the ORM's flush of an object cost more than its
    statement (issues 17, 20). An object the ORM must write itself (not yet inserted, deleted, or with a
    relationship changed) takes `changes` as attribute sets, for its flush."""
    state = inspect(record)
    columns = _column_names(type(record))
    pending = {key: state.dict[key] for key in state.committed_state if key in state.dict}
    if state.key is None or state.deleted or any(key not in columns for key in pending):
        for name, value in changes.items():
            setattr(record, name, value)
        return
    values = {**pending, **changes}
    if not values:
        return
    # The SET clause comes from the parameters' names; SQLAlchemy caches one compiled form per set of names. Core
    # applies the columns' onupdate defaults as the ORM's flush would.
    db.session.connection().execute(_update_by_id(type(record)),
                                    {"record_id": state.identity[0], **{columns[k]: v for k, v in values.items()}})
    for key, value in values.items():
        set_committed_value(record, key, value)
    if pending:  # every change the object held is written: no longer one for the flush to look at
        state._commit_all(state.dict, db.session.identity_map)
    refreshed = _updated_by_database(type(record))
    if refreshed:
        db.session.expire(record, refreshed)  # as the ORM's flush leaves them: read again on first use


@cache
def _column_names(entity: type) -> dict[str, str]:
    """Attribute → column name of `entity`'s column attributes."""
    return {attr: name for name, attr in _column_attributes(entity)}


@cache
def _updated_by_database(entity: type) -> list[str]:
    """The attributes whose columns an UPDATE sets from an onupdate default (updated_at = now())."""
    columns = inspect(entity).local_table.c
    return [attr for name, attr in _column_attributes(entity) if columns[name].onupdate is not None]


@cache
def _update_by_id(entity: type) -> Any:
    table = inspect(entity).local_table
    return update(table).where(table.c.id == bindparam("record_id"))


@cache
def _column_attributes(entity: type) -> tuple[tuple[str, str], ...]:
    """(column name, attribute name) of every column of `entity`'s table."""
    mapper = inspect(entity)
    return tuple((column.name, mapper.get_property_by_column(column).key) for column in mapper.local_table.c)


def transaction_memo(name: str) -> dict[Any, Any]:
    """A dict that lives as long as db.session's current transaction: what one action has read and will read again
    (the declaration's arrivals, a unit's review levels, the instance row it locked) without asking the database
    twice. A commit or rollback starts a new transaction, and so an empty memo: nothing outlives what the
    transaction saw (DESIGN §1: nothing relies on memory of a previous request)."""
    session = db.session()
    transaction = session.get_transaction()
    if transaction is None:  # nothing read yet: nothing to remember (and no transaction to tie it to)
        return {}
    held = session.info.get("transaction_memo")
    if held is None or held[0] is not transaction:
        held = (transaction, {})
        session.info["transaction_memo"] = held
    memo: dict[Any, Any] = held[1].setdefault(name, {})
    return memo


# The reads the items of one chunk of a bulk job share (see shared_reads); None outside such a chunk.
_SHARED_READS: ContextVar[dict[str, dict[Any, Any]] | None] = ContextVar("shared_reads", default=None)


@contextmanager
def shared_reads() -> Iterator[None]:
    """Within the block, `shared_memo` outlives each transaction: a chunk of a bulk job, whose items each commit
    on their own but ask the same questions (the 文号's batch row, the issuing unit's 证书发放 staff), asks them
    once. The block is short (one chunk: ≤ 100 items, a second or so), so what it remembers is as fresh as what
    one long transaction would have read; every item still applies every check itself."""
    token = _SHARED_READS.set({})
    try:
        yield
    finally:
        _SHARED_READS.reset(token)


def shared_memo(name: str) -> dict[Any, Any]:
    """A dict shared by the transactions of a `shared_reads` block; outside one, a new empty dict each time (the
    single action reads afresh). Only what was read from committed rows may go in (never a row the transaction
    itself wrote: its item may still be rolled back)."""
    shared = _SHARED_READS.get()
    if shared is None:
        return {}
    return shared.setdefault(name, {})
