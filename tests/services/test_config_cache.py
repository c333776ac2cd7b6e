"""The configuration cache (services/common/config_cache.py, issue 20) never serves a stale structure.

A submission takes its 审核路径 and every step its 多岗审核 levels from a per-process cache checked against the
configuration generation, which database triggers replace on every write to a configuration table. These tests
write configuration every way the application can — ORM changes not yet flushed, Core statements, raw SQL in
another process — and require the next read to see it; and that an unchanged configuration is really served from
the cache (or the round trips it saves would be imaginary).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from review_path_helpers import LEVEL, METHOD, SERIES, build_chain, configure_chain
from sqlalchemy import delete, event, select, text

from app import create_app
from app.extensions import db
from app.models import AuditLevel, AuditLevelMember, ReviewPathLink, Unit, User
from app.models.configuration import CONFIG_COLUMNS, CONFIG_TABLES
from services.applications import application_review, review_paths
from services.authz import audit_chain
from services.common import config_cache
from services.reference import reference_data

ROOT = Path(__file__).resolve().parents[2]
ITEM = application_review.AUDIT_ITEM


class Statements:
    def __init__(self) -> None:
        self.sql: list[str] = []

    def __call__(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.sql.append(statement)

    def reading(self, table: str) -> int:
        return sum(1 for s in self.sql if s.lstrip().upper().startswith("SELECT") and f"FROM {table}" in s)


def _watching() -> Statements:
    statements = Statements()
    event.listen(db.session.get_bind(), "before_cursor_execute", statements)
    return statements


def _stop(statements: Statements) -> None:
    event.remove(db.session.get_bind(), "before_cursor_execute", statements)


def _generation() -> int:
    return int(db.session.scalar(text("SELECT value FROM config_generation WHERE id = 1")))


def _names(path: review_paths.PathSummary) -> list[str]:
    return [step.name for step in path.steps]


def _path(chain: Any) -> review_paths.PathSummary:
    return review_paths.cached_path(chain.school, LEVEL, SERIES, METHOD)


def test_every_configuration_table_replaces_the_generation_on_write(database: Any) -> None:
    bind = db.session.get_bind()
    if bind.dialect.name == "sqlite":
        triggers = {(row.tbl_name, row.name) for row in db.session.execute(text(
            "SELECT tbl_name, name FROM sqlite_master WHERE type = 'trigger'"))}
        for table in CONFIG_TABLES:
            for event_name in ("insert", "update", "delete"):
                assert (table, f"config_generation_{table}_{event_name}") in triggers
        for table in CONFIG_COLUMNS:
            assert (table, f"config_generation_{table}_update") in triggers
            assert (table, f"config_generation_{table}_delete") in triggers
    else:
        triggered = set(db.session.scalars(text(
            "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE NOT t.tgisinternal AND t.tgname LIKE 'config_generation_%'")))
        assert set(CONFIG_TABLES) | set(CONFIG_COLUMNS) <= triggered
    before = _generation()
    db.session.execute(text("UPDATE title_level SET name = name WHERE code = :code"), {"code": LEVEL})
    assert _generation() != before


def test_a_path_change_is_seen_by_the_next_submission(make_unit: Any) -> None:
    chain = build_chain(make_unit)
    configure_chain(chain)
    assert _names(_path(chain)) == ["乐山第一中学校", "乐山市教育局", "乐山市人力资源和社会保障局",
                                    "乐山市中小学教师中级职称评审委员会"]
    db.session.commit()
    statements = _watching()
    try:
        assert _path(chain).complete
        assert statements.reading("review_path_link") == 0, "an unchanged configuration is served from the cache"
        # An ORM change not yet flushed: flushed before the generation is read, as a query would autoflush.
        chain.competent.name = "乐山市教育和体育局"
        assert _names(_path(chain))[1] == "乐山市教育和体育局"
        db.session.commit()
        # A Core statement: the city's link to the committee is gone, so the path stops at the city.
        db.session.execute(delete(ReviewPathLink).where(ReviewPathLink.subordinate_unit_id == chain.city.id))
        broken = _path(chain)
        assert not broken.complete and "乐山市人力资源和社会保障局 没有上级机构" in (broken.broken or "")
        db.session.rollback()
        assert _path(chain).complete  # the rolled-back change is not what the cache serves either
    finally:
        _stop(statements)


def test_a_level_change_is_seen_by_the_next_step(make_unit: Any, make_user: Any) -> None:
    unit = make_unit()
    first, second = make_user(unit, name="一级"), make_user(unit, name="二级")
    admin = make_user(unit, admin=True)
    audit_chain.save_levels(admin, unit, ITEM, [{"name": "第1级", "user_ids": [first.id]}])
    db.session.commit()
    assert audit_chain.candidate_user_ids(unit.id, ITEM, 1) == [first.id]
    db.session.commit()
    statements = _watching()
    try:
        assert audit_chain.candidate_user_ids(unit.id, ITEM, 1) == [first.id]
        assert statements.reading("audit_level") == 0, "unchanged levels are served from the cache"
        db.session.commit()
        audit_chain.save_levels(admin, unit, ITEM, [{"name": "第1级", "user_ids": [first.id, second.id]}])
        assert audit_chain.candidate_user_ids(unit.id, ITEM, 1) == [first.id, second.id]
        db.session.commit()
        first.enabled = False  # 停用 (not flushed yet): no longer offered the unit's tasks
        assert audit_chain.candidate_user_ids(unit.id, ITEM, 1) == [second.id]
    finally:
        _stop(statements)


# --- two processes sharing one database --------------------------------------------------------------------

def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="module")
def shared_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Overrides of a database of this module's own (committed rows, unlike the suite's rolled-back one)."""
    tmp_dir = tmp_path_factory.mktemp("config_cache")
    url = os.environ.get("TEST_DATABASE_URL")
    overrides: dict[str, Any] = {"TESTING": True, "SECRET_KEY": "test", "UPLOAD_FOLDER": str(tmp_dir / "uploads"),
                                 "CELERY_TASK_ALWAYS_EAGER": True}
    schema = "cfgcache_" + re.sub(r"\W", "_", f"{ROOT.name[:20]}_{_worker()}").lower()
    if url:
        admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        overrides.update(SQLALCHEMY_DATABASE_URI=url,
                         SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {"options": f"-csearch_path={schema}"}})
    else:
        overrides["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{tmp_dir / 'shared.db'}"
    overrides["INSTANCE"] = str(tmp_dir)
    yield overrides
    if url:
        admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        admin.dispose()


def _app(overrides: dict[str, Any]) -> Flask:
    values = dict(overrides)
    return create_app(values, instance_path=values.pop("INSTANCE"))


_OTHER_PROCESS = """
import json, sys
from sqlalchemy import text
from app import create_app
from app.extensions import db
overrides, statement, params = json.loads(sys.argv[1])
app = create_app(overrides, instance_path=overrides.pop("INSTANCE"))
with app.app_context():
    db.session.execute(text(statement), params)
    db.session.commit()
"""


def _in_another_process(overrides: dict[str, Any], statement: str, **params: Any) -> None:
    subprocess.run([sys.executable, "-c", _OTHER_PROCESS, json.dumps([overrides, statement, params])],
                   cwd=ROOT, check=True, timeout=120)


def test_a_change_made_by_another_process_is_seen(shared_database: dict[str, Any]) -> None:
    app = _app(shared_database)
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        reference_data.load_all(ROOT / "admin_config")
        region = db.session.scalar(text("SELECT id FROM region WHERE code = '510100B'"))
        unit = Unit(name="共享库测试单位", credit_code="12510100MB0000001X", unit_type_code="declaring",
                    nature_code="institution", region_id=region, phone="028-86000000", contact_name="联系人", depth=0)
        db.session.add(unit)
        db.session.flush()
        unit.path = f"/{unit.id}/"
        users = [User(username=f"shared{n}", password_hash="-", name=f"审核{n}", phone="13800000000",
                      unit_id=unit.id, session_token=f"s{n}") for n in (1, 2)]
        db.session.add_all(users)
        db.session.flush()
        level = AuditLevel(unit_id=unit.id, item_type=ITEM, level_no=1, name="第1级")
        level.members = [AuditLevelMember(user_id=users[0].id)]
        db.session.add(level)
        db.session.commit()
        unit_id, first, second = unit.id, users[0].id, users[1].id

    def candidates() -> tuple[list[int], int]:
        with app.app_context():
            statements = _watching()
            try:
                found = audit_chain.candidate_user_ids(unit_id, ITEM, 1)
                db.session.commit()
            finally:
                _stop(statements)
            return found, statements.reading("audit_level")

    assert candidates() == ([first], 1)
    assert candidates() == ([first], 0)  # this process's cache
    # Another process (its own app and cache) moves the level to the second user with hand-written SQL.
    _in_another_process(shared_database, "UPDATE audit_level_member SET user_id = :second WHERE user_id = :first",
                        first=first, second=second)
    assert candidates() == ([second], 1)
    assert candidates() == ([second], 0)
    _in_another_process(shared_database, "UPDATE app_user SET enabled = false WHERE id = :second", second=second)
    assert candidates() == ([], 1)
    # A second app in this process over the same database has a cache of its own, and sees the same.
    other = _app(shared_database)
    with other.app_context():
        assert audit_chain.candidate_user_ids(unit_id, ITEM, 1) == []
        db.session.commit()
    with app.app_context():
        assert config_cache.generation() == db.session.scalar(select(text("value")).select_from(
            text("config_generation")))
    for application in (app, other):
        with application.app_context():
            db.engine.dispose()


# --- a transaction of reads ends with COMMIT on psycopg (app/__init__.py) -------------------------------------

def _psycopg_only(app: Flask) -> None:
    with app.app_context():
        if db.engine.dialect.driver != "psycopg":
            pytest.skip("psycopg only: SQLite has no prepared statements to keep")


def _prepared(conn: sa.Connection) -> int:
    return int(conn.execute(text("SELECT count(*) FROM pg_prepared_statements")).scalar_one())


def test_a_transaction_of_reads_keeps_the_statements_psycopg_prepared(app: Flask) -> None:
    _psycopg_only(app)
    with app.app_context(), db.engine.connect() as conn:
        for _ in range(6):  # psycopg prepares a statement at its 6th use on a connection
            conn.execute(select(User.id).where(User.id == -1)).all()
        assert conn.info[config_cache.TRANSACTION_WROTE] is False
        conn.rollback()  # as the session ends a request that only read
        assert _prepared(conn) >= 1, "the prepared statement survives the end of a transaction of reads"


def test_a_transaction_that_wrote_is_rolled_back_whatever_wrote_it(app: Flask) -> None:
    _psycopg_only(app)
    from app.models import AuditLog

    log = AuditLog.__table__
    with app.app_context(), db.engine.connect() as conn:
        for write in (sa.insert(log).values(action="rollback_probe", actor_name="测试"),
                      text("INSERT INTO audit_log (action, actor_name, target_type, target_id, summary, ip) "
                           "VALUES ('rollback_probe', '', '', '', '', '')"),
                      text("WITH made AS (INSERT INTO audit_log (action, actor_name, target_type, target_id, summary, "
                           "ip) VALUES ('rollback_probe', '', '', '', '', '') RETURNING id) SELECT id FROM made")):
            conn.execute(select(User.id).where(User.id == -1)).all()
            conn.execute(write)
            assert conn.info[config_cache.TRANSACTION_WROTE] is True
            conn.rollback()
            assert conn.execute(select(sa.func.count()).where(log.c.action == "rollback_probe")).scalar_one() == 0
            conn.rollback()


def test_copy_marks_its_transaction_as_written(app: Flask, database: Any) -> None:
    from app.models import AuditLog
    from services.common import bulk

    bulk.insert_rows(AuditLog.__table__, [{"actor_name": "测试", "action": "copy", "target_type": "unit",
                                           "target_id": "1", "summary": "", "detail": {}, "ip": ""}])
    assert db.session.connection().info[config_cache.TRANSACTION_WROTE] is True
