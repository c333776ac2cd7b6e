"""Application factory."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine

from app.config import build_config
from app.extensions import csrf, db, login_manager, migrate


def freeze_startup_heap() -> None:
    """For a serving process (wsgi.py, app/worker.py), once the app is built: what start-up made (modules, mappers,
    routes, parsed diagrams, about 240,000 objects) leaves the garbage collector's generations, so a full
    collection walks only what requests made. Measured over bench/review_chain.py's 10,000 actions (SQLite,
    gc.callbacks): full collections of 160-184 ms became 11-39 ms (more of them, less time in all), with the same
    actions/s and CPU per action. Garbage already made is collected first, not kept. Before a fork (gunicorn
    --preload, Celery's prefork pool) it also spares the children copying pages the collector would touch."""
    gc.collect()
    gc.freeze()


def create_app(overrides: dict[str, Any] | None = None, instance_path: str | None = None) -> Flask:
    root = Path(__file__).resolve().parent.parent
    app = Flask(__name__, instance_path=instance_path or str(root / "instance"), instance_relative_config=True)
    app.config.update(build_config(Path(app.instance_path), overrides))

    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(__file__).parent / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "请先登录"
    login_manager.login_message_category = "warning"

    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            _configure_sqlite(db.engine)
        elif db.engine.dialect.driver == "psycopg":
            _configure_psycopg(db.engine)
        from services.common import config_cache

        config_cache.watch(db.engine)  # the cached configuration is re-checked after a write to it

    from app import auth, web
    from app.blueprints import register_blueprints
    from app.cli import register_cli

    auth.init_app(app)
    web.init_app(app)
    register_blueprints(app)
    register_cli(app)
    _bind_business_operations()
    from services.jobs.celery_app import init_celery

    init_celery(app)
    from app import tasks  # noqa: F401  (the periodic tasks and every module that registers a job kind)
    return app


def _bind_business_operations() -> None:
    """Bind the operations the diagrams in bpmn/ declare (services/workflow/scripting.py) to the services."""
    from services.activities import activity_publication, quota_review, review_plans
    from services.applications import application_review
    from services.committees import committee_filing
    from services.experts import experts
    from services.history import review as history_review
    from services.meetings import meetings
    from services.org import registration, superior_change
    from services.results import confirmation as result_confirmation
    from services.results import filing as result_filing
    from services.results import publicity as result_publicity
    from services.talent import confirmations, talent_records

    registration.register_operations()
    superior_change.register_operations()
    committee_filing.register_operations()
    experts.register_operations()
    activity_publication.register_operations()
    application_review.register_operations()
    quota_review.register_operations()
    history_review.register_operations()
    meetings.register_operations()
    result_publicity.register_operations()
    result_confirmation.register_operations()
    result_filing.register_operations()
    talent_records.register_operations()
    review_plans.register_operations()
    confirmations.register_operations()


def _configure_psycopg(engine: Engine) -> None:
    """pool_pre_ping in one round trip the checkout would pay anyway (issue 20): SQLAlchemy's ping runs
    `SELECT 1` on an idle connection, and psycopg, not in autocommit, sends its `BEGIN` before it — two round
    trips, after which the connection is in a transaction and the request's first statement sends no BEGIN. The
    `BEGIN` alone checks the connection as well (a dead one raises OperationalError, which SQLAlchemy treats as a
    disconnect and replaces) and leaves the connection in the same state, so the ping sends only that. A
    connection already in a transaction, in autocommit, or a psycopg without the generator falls back to
    SQLAlchemy's own ping."""
    from psycopg.pq import TransactionStatus

    from services.common import config_cache

    dialect = engine.dialect
    default_ping = dialect.do_ping

    def do_ping(dbapi_connection: Any) -> bool:
        start = getattr(dbapi_connection, "_start_query", None)
        if (start is None or dbapi_connection.autocommit
                or dbapi_connection.info.transaction_status != TransactionStatus.IDLE):
            return default_ping(dbapi_connection)
        with dbapi_connection.lock:
            dbapi_connection.wait(start())
        return True

    dialect.do_ping = do_ping  # type: ignore[method-assign]

    # A transaction that only read ends with COMMIT, which ends it as ROLLBACK would: psycopg's rollback() drops
    # every statement it had prepared on the connection (and its use counts), so a request that only reads — most
    # pages, whose transaction the session rolls back — never had a statement prepared and PostgreSQL planned each
    # of its statements every time (0.4–0.7 ms for the user loader, the tab counts and the page's list). Any
    # statement that may write (config_cache's watcher: a compiled INSERT / UPDATE / DELETE, a WITH holding one,
    # text SQL that is not a read), an aborted transaction, or a connection the watcher has not seen: ROLLBACK.
    default_rollback = dialect.do_rollback

    def do_rollback(proxied: Any) -> None:
        raw = getattr(proxied, "dbapi_connection", None)
        try:
            info = proxied.info  # the pool's record of the connection (none for the dialect's first connect)
        except NotImplementedError:
            info = None
        if (raw is not None and isinstance(info, dict) and info.get(config_cache.TRANSACTION_WROTE) is False
                and raw.info.transaction_status == TransactionStatus.INTRANS):
            raw.commit()
            return
        default_rollback(proxied)

    dialect.do_rollback = do_rollback  # type: ignore[method-assign]


def _configure_sqlite(engine: Engine) -> None:
    """Foreign keys on; WAL for concurrent readers, with synchronous=NORMAL (the setting SQLite documents for
    WAL: no corruption on a crash, but the last commits before a power cut may be lost; production runs on
    PostgreSQL) and a checkpoint every 10,000 pages rather than 1,000 (each checkpoint syncs the file: a bulk
    job's item writes ~20 pages, so the default made every 50th commit wait for the disk, and a page written
    again before the checkpoint is copied once); pysqlite's own transaction handling off so that SQLAlchemy's BEGIN / SAVEPOINT work as
    documented (tests nest each one in a rolled-back transaction)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.execute("PRAGMA wal_autocheckpoint=10000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN")
