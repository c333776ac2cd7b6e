"""待办事项 at scale: the inbox page and its tab counts over 1,000,000 open tasks in 2,000 units (issue #3).

The data: 2,000 units with two reviewers each; 1,000,000 open human tasks (one process instance each) spread
over five business types and a year of creation dates, each with candidate rows for its unit's reviewers. One
unit is busy (BUSY_TASKS open tasks, a 33,000-task bucket as in DESIGN §6); the rest share the remainder.
Rows go in with raw executemany on SQLite and COPY on PostgreSQL (DESIGN §5).

Measured, as a reviewer of the busy unit, REQUESTS times each (p95):
- page:  `GET /inbox/?tab=todo` through a signed-in Flask test client (the real view: page, tab counts, filters);
- count: `services.workflow.inbox.tab_counts` (what the view calls for the tab badges);
- bare SQL: exactly the statements those two issue (captured once), replayed on a raw DB-API connection.

Also `page_statements`: the statements one real `GET /inbox/?tab=todo` sends (the user loader, the counts, the
page, the filters' choices, the opinions …); with --explain each is shown with its plan — `EXPLAIN (ANALYZE,
BUFFERS)` on PostgreSQL, `EXPLAIN QUERY PLAN` on SQLite — and its own time (median of 20 on a raw connection).

SQLite always (a temporary file); PostgreSQL too when TEST_DATABASE_URL is set (a dedicated schema, dropped
afterwards). Targets (issue 20, at 1,000,000 open tasks): page p95 ≤ 12 ms and tab counts p95 ≤ 5 ms on both.

Run: .venv/bin/python bench/inbox.py [--tasks N] [--explain] [--databases sqlite,postgres] [--profile FILE]
(last line of output is a JSON object; --tasks 10000 for the small case, the busy unit then holds a third)
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flask import Flask  # noqa: E402
from sqlalchemy import event, select  # noqa: E402

from app.extensions import db  # noqa: E402
from app.models import ProcessDefinition, Region, Role, RolePermission, Unit, User  # noqa: E402
from bench.support.app_db import PASSWORD, build_app, drop_schema, signed_in  # noqa: E402
from services.reference.validation import credit_code_check_char  # noqa: E402
from services.workflow import inbox  # noqa: E402

TASKS = 1_000_000
UNITS = 2_000
REVIEWERS_PER_UNIT = 2
BUSY_TASKS = 33_000
REQUESTS = 50
BUDGET_SECONDS = 40  # per database and kind: stop early (after at least 10) when requests are slow
CHUNK = 20_000
SCHEMA = "bench_inbox"
TYPES = {  # business type → (share, task name, BPMN id, form key, post)
    "unit_registration": (0.10, "注册审核", "review_by_level", "review/unit_opinion", "unit_reviewer"),
    "unit_superior_change": (0.05, "新上级单位审核", "review_by_level", "review/unit_opinion", "unit_reviewer"),
    "committee_filing": (0.05, "评委会备案审核", "review_by_level", "review/unit_opinion", "unit_reviewer"),
    "expert_review": (0.10, "专家库审核", "review_by_level", "review/unit_opinion", "unit_reviewer"),
    "application_review": (0.70, "申报材料审核", "review_by_level", "review/unit_opinion", "unit_reviewer"),
}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华"
INSTANCE_COLUMNS = ("id", "definition_id", "business_type", "business_id", "title", "unit_id", "status", "state",
                    "lock_version", "created_at", "updated_at")
TASK_COLUMNS = ("id", "instance_id", "task_uuid", "bpmn_id", "name", "form_key", "post", "status", "business_type",
                "business_id", "title", "unit_id", "level_no", "applicant_name", "series_code", "level_code",
                "created_at", "decision")
CANDIDATE_COLUMNS = ("task_id", "user_id", "is_open", "business_type", "created_at")  # the task's copies


def ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def p95(samples: list[float]) -> float:
    return ms(statistics.quantiles(samples, n=20)[-1])


# --- the data ---------------------------------------------------------------------------------------------

def build_units_and_reviewers() -> tuple[list[int], dict[int, list[int]], str]:
    """UNITS units (one 人社 root above them) with REVIEWERS_PER_UNIT reviewers each; the busy reviewer's name."""
    from services.org.accounts import hash_password

    region = db.session.scalar(select(Region.id).where(Region.code == "510100B"))
    root = Unit(name="基准人社局", credit_code=_credit_code(0), unit_type_code="hr", nature_code="organ",
                region_id=region, phone="028-86000000", depth=0)
    db.session.add(root)
    db.session.flush()
    root.path = f"/{root.id}/"
    units = [Unit(name=f"基准单位{n}", credit_code=_credit_code(n), parent_id=root.id, unit_type_code="declaring",
                  nature_code="institution", region_id=region, phone="028-86000000", depth=1)
             for n in range(1, UNITS + 1)]
    db.session.add_all(units)
    db.session.flush()
    for unit in units:
        unit.path = f"{root.path}{unit.id}/"
    busy_hash = hash_password(PASSWORD)
    reviewers: dict[int, list[User]] = {}
    for index, unit in enumerate(units):
        role = Role(unit_id=unit.id, name="审核人员",
                    permissions=[RolePermission(permission_code=c) for c in ("inbox.view", "registration.review")])
        reviewers[unit.id] = [User(username=f"bench_{index}_{k}", password_hash=busy_hash if index == 0 else "-",
                                   name=f"审核员{index}-{k}", unit_id=unit.id, roles=[role], session_token=f"t{index}{k}")
                              for k in range(REVIEWERS_PER_UNIT)]
        db.session.add_all(reviewers[unit.id])
    db.session.commit()
    busy_user = reviewers[units[0].id][0].username
    return [u.id for u in units], {u: [r.id for r in rs] for u, rs in reviewers.items()}, busy_user


def _credit_code(n: int) -> str:
    body = f"12510100{n:09d}"
    return body + credit_code_check_char(body)


def generate(unit_ids: list[int], reviewers: dict[int, list[int]], definitions: dict[str, int],
             first_instance_id: int, first_task_id: int) -> Iterator[tuple[list[tuple], list[tuple], list[tuple]]]:
    """Chunks of (instances, tasks, candidates); deterministic."""
    rng = random.Random(20260101)
    types = list(TYPES)
    weights = [TYPES[t][0] for t in types]
    now = datetime(2026, 3, 1, 9, 0, 0)
    # The busy unit first, then the others in turn.
    per_unit = [busy_tasks()] + [0] * (len(unit_ids) - 1)
    rest = TASKS - busy_tasks()
    for index in range(1, len(unit_ids)):
        per_unit[index] = rest // (len(unit_ids) - 1) + (1 if index <= rest % (len(unit_ids) - 1) else 0)
    owners = (unit_ids[index] for index, count in enumerate(per_unit) for _ in range(count))
    instances: list[tuple] = []
    tasks: list[tuple] = []
    candidates: list[tuple] = []
    for n, unit_id in enumerate(owners):
        instance_id, task_id = first_instance_id + n, first_task_id + n
        business_type = rng.choices(types, weights)[0]
        name, bpmn_id, form_key, post = TYPES[business_type][1:]
        applicant = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)
        title = f"{TYPES[business_type][1]}：{applicant}（{n}）"
        created = now - timedelta(seconds=rng.randrange(365 * 86400))
        record_unit = rng.choice(unit_ids)
        instances.append((instance_id, definitions.get(business_type, definitions["unit_review"]), business_type, n,
                          title, record_unit, "running", b"{}", 1, created, created))
        tasks.append((task_id, instance_id, str(uuid.UUID(int=rng.getrandbits(128))), bpmn_id, name, form_key, post,
                      "open", business_type, n, title, unit_id, rng.randint(1, 2), applicant, "", "", created, ""))
        candidates.extend((task_id, user_id, True, business_type, created) for user_id in reviewers[unit_id])
        if len(tasks) == CHUNK:
            yield instances, tasks, candidates
            instances, tasks, candidates = [], [], []
    if tasks:
        yield instances, tasks, candidates


def busy_tasks() -> int:
    return min(BUSY_TASKS, TASKS // 3)


def _insert_sql(table: str, columns: tuple[str, ...]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


LOADED_TABLES = ("process_instance", "human_task", "human_task_candidate")


def load_sqlite(path: Path, chunks: Iterator[tuple[list[tuple], list[tuple], list[tuple]]]) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous=OFF")  # bulk load only; the app's own connections keep their settings
    conn.execute("BEGIN")
    # Secondary indexes are built once after the load (many times faster than maintained row by row).
    indexes = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND "
                           f"tbl_name IN {LOADED_TABLES} AND sql NOT LIKE 'CREATE UNIQUE%'").fetchall()
    for name, _ in indexes:
        conn.execute(f'DROP INDEX "{name}"')
    for instances, tasks, candidates in chunks:
        conn.executemany(_insert_sql("process_instance", INSTANCE_COLUMNS), instances)
        conn.executemany(_insert_sql("human_task", TASK_COLUMNS), tasks)
        conn.executemany(_insert_sql("human_task_candidate", CANDIDATE_COLUMNS), candidates)
    for _, sql in indexes:
        conn.execute(sql)
    conn.execute("COMMIT")
    conn.close()


def load_postgres(url: str, chunks: Iterator[tuple[list[tuple], list[tuple], list[tuple]]]) -> None:
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"),
                         options=f"-csearch_path={SCHEMA}") as conn, conn.cursor() as cur:
        cur.execute("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = %s AND tablename = ANY(%s) "
                    "AND indexdef NOT LIKE 'CREATE UNIQUE%%'", (SCHEMA, list(LOADED_TABLES)))
        indexes = cur.fetchall()
        for name, _ in indexes:
            cur.execute(f'DROP INDEX "{name}"')
        for instances, tasks, candidates in chunks:
            for table, columns, rows in (("process_instance", INSTANCE_COLUMNS, instances),
                                         ("human_task", TASK_COLUMNS, tasks),
                                         ("human_task_candidate", CANDIDATE_COLUMNS, candidates)):
                with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
        for _, sql in indexes:
            cur.execute(sql)
        for table in ("process_instance", "human_task"):
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        conn.commit()
        conn.autocommit = True
        # What autovacuum does after a load this size (insert-triggered VACUUM since PostgreSQL 13, and ANALYZE):
        # the visibility map lets the inbox's index-only scans skip the heap. The test server runs with
        # autovacuum off, so the bench does it.
        cur.execute("VACUUM ANALYZE")


# --- the measurements -------------------------------------------------------------------------------------

def captured(app: Flask, call: Callable[[], Any]) -> list[tuple[str, Any]]:
    """The SQL statements (with parameters) `call` sends, in order."""
    statements: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if not statement.startswith(("BEGIN", "SAVEPOINT", "RELEASE")):
            statements.append((statement, parameters))

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", record)
        try:
            call()
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
    return statements


def measure(app: Flask, busy_user: str, label: str) -> dict[str, float]:
    client = signed_in(app, busy_user)
    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.username == busy_user))
        db.session.remove()

    def as_user(func: Callable[[User], Any]) -> Callable[[], Any]:
        def run() -> Any:
            user = db.session.get(User, user_id)
            assert user is not None
            return func(user)
        return run

    counts = as_user(inbox.tab_counts)
    page_sql = captured(app, as_user(lambda user: inbox.inbox_page(user, "todo", inbox.InboxFilters())))
    count_sql = captured(app, counts)
    with app.app_context():
        sample = as_user(lambda user: inbox.inbox_page(user, "todo", inbox.InboxFilters()))()
        tab = counts()
        db.session.remove()
    assert len(sample.items) == 20 and tab["todo_total"] == min(busy_tasks(), inbox.COUNT_CAP + 1), (
        len(sample.items), tab)
    request_sql = captured(app, lambda: client.get("/inbox/?tab=todo"))

    if PROFILE:  # the page's own Python, apart from the measured requests
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(REQUESTS):
            client.get("/inbox/?tab=todo")
        profiler.disable()
        profiler.dump_stats(f"{PROFILE}.{label}")
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)

    page, count = [], []
    started = time.perf_counter()
    while len(page) < REQUESTS and (len(page) < 10 or time.perf_counter() - started < BUDGET_SECONDS):
        began = time.perf_counter()
        response = client.get("/inbox/?tab=todo")
        page.append(time.perf_counter() - began)
        assert response.status_code == 200, response.status_code
        with app.app_context():
            user = db.session.get(User, user_id)
            began = time.perf_counter()
            inbox.tab_counts(user)
            count.append(time.perf_counter() - began)
            db.session.remove()

    page_bare, count_bare = [], []
    with app.app_context():
        raw = db.engine.raw_connection()
        try:
            cursor = raw.cursor()
            started = time.perf_counter()
            while len(page_bare) < REQUESTS and (len(page_bare) < 10
                                                  or time.perf_counter() - started < BUDGET_SECONDS):
                for statements, samples in ((page_sql, page_bare), (count_sql, count_bare)):
                    began = time.perf_counter()
                    for statement, parameters in statements:
                        cursor.execute(statement, parameters)
                        cursor.fetchall()
                    samples.append(time.perf_counter() - began)
            raw.rollback()
        finally:
            raw.close()
        if EXPLAIN:
            explain(label, request_sql)
    return {f"{label}_page_p95_ms": p95(page), f"{label}_count_p95_ms": p95(count),
            f"{label}_page_sql_p95_ms": p95(page_bare), f"{label}_count_sql_p95_ms": p95(count_bare),
            f"{label}_samples": len(page), f"{label}_page_statements": len(request_sql)}


EXPLAIN = False
PROFILE = ""


def explain(label: str, statements: list[tuple[str, Any]]) -> None:
    """Each statement of one GET /inbox/?tab=todo with its own time (median of 20, raw connection) and its plan:
    EXPLAIN (ANALYZE, BUFFERS) on PostgreSQL, EXPLAIN QUERY PLAN on SQLite."""
    raw = db.engine.raw_connection()
    try:
        cursor = raw.cursor()
        prefix = "EXPLAIN QUERY PLAN " if label == "sqlite" else "EXPLAIN (ANALYZE, BUFFERS) "
        print(f"-- {label}: the {len(statements)} statements of GET /inbox/?tab=todo")
        for n, (statement, parameters) in enumerate(statements, 1):
            samples = []
            for _ in range(20):
                began = time.perf_counter()
                cursor.execute(statement, parameters)
                cursor.fetchall()
                samples.append(time.perf_counter() - began)
            cursor.execute(prefix + statement, parameters)
            print(f"-- {label} #{n} median {ms(statistics.median(samples)):.3f} ms: {' '.join(statement.split())[:400]}")
            for row in cursor.fetchall():
                print("   ", " ".join(str(v) for v in row))
        raw.rollback()
    finally:
        raw.close()


def run(label: str, tmp: Path, postgres_url: str | None) -> dict[str, float]:
    began = time.perf_counter()
    app = build_app(tmp, postgres_url, SCHEMA)
    with app.app_context():
        unit_ids, reviewers, busy_user = build_units_and_reviewers()
        definitions = dict(db.session.execute(select(ProcessDefinition.process_id, ProcessDefinition.id)).all())
        db.session.remove()
    chunks = generate(unit_ids, reviewers, definitions, first_instance_id=1, first_task_id=1)
    if postgres_url:
        load_postgres(postgres_url, chunks)
    else:
        load_sqlite(tmp / "bench.db", chunks)
    loaded = time.perf_counter() - began
    figures = measure(app, busy_user, label)
    with app.app_context():
        db.engine.dispose()
    print(f"{label}: built {TASKS:,} open tasks over {UNITS:,} units in {loaded:.0f} s; p95 of "
          f"{figures[f'{label}_samples']}: page {figures[f'{label}_page_p95_ms']} ms (bare SQL {figures[f'{label}_page_sql_p95_ms']} ms), "
          f"tab counts {figures[f'{label}_count_p95_ms']} ms (bare SQL {figures[f'{label}_count_sql_p95_ms']} ms); "
          f"{figures[f'{label}_page_statements']} statements per page")
    return figures


def main() -> None:
    global TASKS, EXPLAIN, PROFILE
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=TASKS)
    parser.add_argument("--explain", action="store_true", help="print each statement of the page with its plan")
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--profile", default="", help="cProfile REQUESTS pages before measuring; stats to FILE.<database>")
    args = parser.parse_args()
    PROFILE = args.profile
    TASKS, EXPLAIN = args.tasks, args.explain or os.environ.get("BENCH_EXPLAIN") == "1"
    wanted = [d.strip() for d in args.databases.split(",")]
    figures: dict[str, Any] = {"benchmark": "inbox", "tasks": TASKS, "units": UNITS, "busy_unit_tasks": busy_tasks(),
                               "requests": REQUESTS}
    if "sqlite" in wanted:
        with tempfile.TemporaryDirectory(prefix="bench_inbox_") as tmp:
            figures.update(run("sqlite", Path(tmp), None))
    postgres_url = os.environ.get("TEST_DATABASE_URL") if "postgres" in wanted else None
    if postgres_url:
        try:
            with tempfile.TemporaryDirectory(prefix="bench_inbox_pg_") as tmp:
                figures.update(run("postgres", Path(tmp), postgres_url))
        finally:
            drop_schema(postgres_url, SCHEMA)
    else:
        print("postgres: skipped (set TEST_DATABASE_URL to measure PostgreSQL too)")
    for label in ("sqlite", "postgres"):
        if f"{label}_page_p95_ms" in figures:
            page, count = figures[f"{label}_page_p95_ms"], figures[f"{label}_count_p95_ms"]
            print(f"{label}: page p95 {page} ms (target ≤ 12: {'met' if page <= 12 else 'NOT met'}; the bare SQL "
                  f"{figures[f'{label}_page_sql_p95_ms']} ms is its floor), tab counts p95 {count} ms (target ≤ 5: "
                  f"{'met' if count <= 5 else 'NOT met'}; bare SQL {figures[f'{label}_count_sql_p95_ms']} ms)")
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
