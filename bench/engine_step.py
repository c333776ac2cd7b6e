"""One user-task step: the bare engine against the app's HTTP endpoint, same diagram, same run (issues #3, 20).

Default run (issue 20): the production diagram application_review (calling unit_review), a declaration's 16-step
life on bench/review_chain.py's world — school L1 (公示 and uploads) and L2; 教育局 L1, L2 审核退回 to the school;
the school again L1, L2; 教育局 L1, L2; 市人社局 L1, L2 审核退回 to the applicant; the applicant 重新提交; 市人社局
L1, L2; 省人社厅 L1, L2; the committee's 参评资格审核 — on CHAIN_LIVES declarations, each life after the previous.
- app:  the page's own POST through a Flask test client signed in as the actor: /application-review/applications/
  <id> (or /qualification/<id>) with task_id, decision, opinion, 退回至 and, at the school's first arrival, the 公示
  dates and two PDF uploads; /applicant/declarations/<id>/submit with the 修改说明 for the applicant; 302 each.
- bare: the same life on an instance of the same diagram on a raw DB-API connection to the same SQLite file:
  SELECT the blob, load it on the cached spec, complete the ready user task with the same form data, engine steps,
  dump, UPDATE with the version check, COMMIT. The diagram's business operations (route_declaration …) are replaced
  by pure-Python stand-ins that route exactly as the real ones (the floor has no business records).
`ratio` = median app step / median bare step (target ≤ 2.5), with `ratio_by_step` over the 16 steps.

`--diagram superior_change` runs the smallest diagram instead (issue #3's run, target ≤ 2.0), as follows.

The diagram is unit_superior_change (calling unit_review): the new superior's reviewer returns the request
(审核退回) and the unit's administrator corrects it (修改变更申请), LIFE_REQUESTS times per instance, on
LIVES instances. Per step:

- bare: read the instance's blob from the database, load it on the cached spec, complete the ready user task,
  run engine steps, dump the blob, UPDATE it with the version check, COMMIT — on a raw DB-API connection to
  the same SQLite file (the floor any request that saves must pay).
- app:  `POST /inbox/tasks/<id>` through a Flask test client signed in as the candidate: session and user load,
  permission check, task page context, form validation, row lock, engine step, save, inbox projection, trail,
  commit, 302. Between steps (untimed) the flash is taken out of the session, as the browser's GET of /inbox/
  does.

Both paths step their own instance of the same life in turn, so they see the same instance sizes. Medians are
over every step; `ratio` = app / bare (target ≤ 2.0). Engine only (no database) is printed beside them, and
`ratio_by_step` (the ratio of the medians at each step of a life: instances grow by a return and a correction
per two steps, the engine's share with them).

`--breakdown` adds a third pass of the app path with timers wrapped around its parts (they add their own cost,
so its total is above app_ms): sign-in (the user loader), the session cookie, the engine (load / complete /
dump), each SQL statement, the inbox projection's Python, the commit, and the rest of the request; printed as
medians per request and as `breakdown_ms` in the JSON.

`flask_floor_ms` is the same test client posting the same form to a minimal Flask app in the same run: a signed
session cookie, one flash, a 302, no database and no work: what any Flask request of this shape costs here.

Run: .venv/bin/python bench/engine_step.py [--diagram chain|superior_change] [--lives N] [--life N] [--breakdown]
(last line of output is a JSON object; --life and --breakdown belong to superior_change)
"""

from __future__ import annotations

import argparse
import functools
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flask.testing import FlaskClient  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from app.extensions import db  # noqa: E402
from app.models import (  # noqa: E402
    AuditLevel,
    AuditLevelMember,
    HumanTask,
    Region,
    Role,
    RolePermission,
    Unit,
    User,
)
from bench.support.app_db import PASSWORD, build_app, signed_in  # noqa: E402
from services.reference.validation import credit_code_check_char  # noqa: E402
from services.workflow import definitions, instances, runner, state  # noqa: E402
from services.workflow.scripting import build_script_engine  # noqa: E402

LIVES = 40
LIFE_REQUESTS = 6  # return, correct, return, correct, return, correct (--life N)
REVIEW_FORM = {"decision": "return", "opinion": "请补充变更理由"}
CORRECTION_FORM = {"note": "已补充变更理由"}


def ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def _credit_code(n: int) -> str:
    body = f"11510100{n:09d}"
    return body + credit_code_check_char(body)


def build_scene() -> dict[str, Any]:
    """A 人社 unit reviewing in one level (one reviewer) and a subordinate unit asking to change to it."""
    from services.org.accounts import hash_password

    region = db.session.scalar(select(Region.id).where(Region.code == "510100B"))
    superior = Unit(name="基准测试人社局", credit_code=_credit_code(1), unit_type_code="hr", nature_code="organ",
                    region_id=region, phone="028-86000000", depth=0)
    db.session.add(superior)
    db.session.flush()
    superior.path = f"/{superior.id}/"
    unit = Unit(name="基准测试医院", credit_code=_credit_code(2), parent_id=superior.id, unit_type_code="declaring",
                nature_code="institution", region_id=region, phone="028-86000000", depth=1)
    db.session.add(unit)
    db.session.flush()
    unit.path = f"{superior.path}{unit.id}/"
    password_hash = hash_password(PASSWORD)
    role = Role(unit_id=superior.id, name="审核人员",
                permissions=[RolePermission(permission_code=c) for c in ("inbox.view", "registration.review")])
    reviewer = User(username="bench_reviewer", password_hash=password_hash, name="审核员", unit_id=superior.id,
                    roles=[role], session_token="r")
    admin = User(username="bench_unit_admin", password_hash=password_hash, name="单位管理员", unit_id=unit.id,
                 is_unit_admin=True, session_token="a")
    db.session.add_all([reviewer, admin])
    db.session.flush()
    level = AuditLevel(unit_id=superior.id, item_type="unit_registration", level_no=1, name="第1级审核")
    level.members = [AuditLevelMember(user_id=reviewer.id)]
    db.session.add(level)
    db.session.commit()
    return {"superior_id": superior.id, "unit_id": unit.id, "reviewer": reviewer.username,
            "unit_admin": admin.username}


def start_instance(scene: dict[str, Any], n: int) -> int:
    instance = instances.start_process(
        "unit_superior_change", "unit_superior_change", n, f"变更上级单位（基准 {n}）", scene["unit_id"],
        {"change_request_id": n, "levels": [1], "reviewing_unit_id": scene["superior_id"]}, None)
    db.session.commit()
    return instance.id


def open_task_id(instance_id: int) -> int:
    task_id = db.session.scalar(select(HumanTask.id).where(HumanTask.instance_id == instance_id,
                                                           HumanTask.status == "open"))
    db.session.remove()
    assert task_id is not None
    return task_id


def bare_step(conn: sqlite3.Connection, parsed: Any, engine: Any, instance_id: int, form: dict[str, str]) -> float:
    began = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    blob, version = conn.execute("SELECT state, lock_version FROM process_instance WHERE id = ?",
                                 (instance_id,)).fetchone()
    workflow = state.load_state(blob, parsed, engine)
    runner.complete_task(workflow, runner.ready_user_tasks(workflow)[0].task_id, form)
    updated = conn.execute("UPDATE process_instance SET state = ?, lock_version = ? WHERE id = ? AND lock_version = ?",
                           (state.dump_state(workflow), version + 1, instance_id, version)).rowcount
    conn.execute("COMMIT")
    elapsed = time.perf_counter() - began
    assert updated == 1
    return elapsed


def consume_flash(client: FlaskClient) -> None:
    """What the browser's GET of the 302's target does to the session: the flash is shown once and dropped.
    Without it each client's cookie carried every flash of the run (≈120 messages, several KB, past what a
    browser keeps), and every timed request paid for signing and parsing it."""
    with client.session_transaction() as session:
        session.pop("_flashes", None)


def flask_floor(requests: int = 2000) -> float:
    """Median seconds of the same POST to a Flask app that only flashes and redirects (session cookie signed)."""
    from flask import Flask, flash, redirect, session

    minimal = Flask("floor")
    minimal.secret_key = "bench-floor"

    @minimal.post("/inbox/tasks/<int:task_id>")
    def complete(task_id: int) -> Any:
        flash(f"已办理「变更上级单位（基准 {task_id}）」：审核退回", "success")
        return redirect("/inbox/")

    @minimal.post("/login")
    def login() -> str:
        session.update({"_user_id": "1:token", "_fresh": True, "_id": "0" * 128})
        return ""

    client = minimal.test_client()
    client.post("/login")
    times = []
    for n in range(requests):
        began = time.perf_counter()
        client.post(f"/inbox/tasks/{n}", data=REVIEW_FORM)
        times.append(time.perf_counter() - began)
        consume_flash(client)
    return statistics.median(times)


SQL = "SQL statements (all of them)"


@contextmanager
def timed_parts() -> Iterator[dict[str, float]]:
    """Wrap the app path's parts with timers for --breakdown: seconds per part of the request in flight. A
    statement's time also goes to "sql in <part>" of the part that ran it, so breakdown() can tell them apart."""
    import flask.sessions
    import flask_login.login_manager
    import sqlalchemy.engine.base
    import sqlalchemy.orm

    parts: dict[str, float] = defaultdict(float)
    running: list[str] = []
    targets: list[tuple[Any, str, str]] = [
        (flask_login.login_manager.LoginManager, "_load_user", "sign-in (user loader)"),
        (flask.sessions.SecureCookieSessionInterface, "open_session", "session cookie"),
        (flask.sessions.SecureCookieSessionInterface, "save_session", "session cookie"),
        (state, "load_state", "engine: load"),
        (runner, "complete_task", "engine: complete + engine steps"),
        (state, "dump_state", "engine: dump"),
        (instances, "_project", "inbox projection"),
        (sqlalchemy.orm.Session, "commit", "commit"),
        (sqlalchemy.engine.base.Connection, "_execute_context", SQL),
    ]
    saved = [(owner, name, getattr(owner, name)) for owner, name, _ in targets]

    def timer(function: Callable[..., Any], label: str) -> Callable[..., Any]:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            running.append(label)
            try:
                return function(*args, **kwargs)
            finally:
                running.pop()
                seconds = time.perf_counter() - began
                parts[label] += seconds
                if label == SQL and running:
                    parts[f"sql in {running[-1]}"] += seconds
        return wrapper

    for owner, name, label in targets:
        setattr(owner, name, timer(getattr(owner, name), label))
    try:
        yield parts
    finally:
        for owner, name, function in saved:
            setattr(owner, name, function)


def breakdown(samples: list[dict[str, float]]) -> dict[str, float]:
    """Median ms per part of a request; a part's own time leaves out the SQL it ran (counted under SQL)."""
    rows: dict[str, list[float]] = defaultdict(list)
    for parts in samples:
        rest = parts["request"]
        for label, seconds in parts.items():
            if label == "request" or label.startswith("sql in "):
                continue
            own = seconds - parts.get(f"sql in {label}", 0.0)
            rows[label].append(own)
            rest -= own
        rows["rest: test client, Flask, form, row lock and task checks, trail, view"].append(rest)
    return {label: ms(statistics.median(values)) for label, values in rows.items()}


# --- the application_review chain (default) ------------------------------------------------------------------

CHAIN_LIVES = 30
# (actor, decision, 退回至): actor "<role>_l<level>" (review_chain.ROLE_NAMES), "applicant" or "qualify".
CHAIN_LIFE: tuple[tuple[str, str, str], ...] = (
    ("school_l1", "pass", ""), ("school_l2", "pass", ""),
    ("competent_l1", "pass", ""), ("competent_l2", "return", "0"),
    ("school_l1", "pass", ""), ("school_l2", "pass", ""),
    ("competent_l1", "pass", ""), ("competent_l2", "pass", ""),
    ("city_l1", "pass", ""), ("city_l2", "return", "applicant"),
    ("applicant", "submit", ""),
    ("city_l1", "pass", ""), ("city_l2", "pass", ""),
    ("province_l1", "pass", ""), ("province_l2", "pass", ""),
    ("qualify", "pass", ""),
)
CHAIN_OPINION = {"pass": "材料齐全，同意上报", "return": "请补充材料"}
CORRECTION_NOTE = "已按要求补充材料"


class ChainStandIns:
    """The diagram's business operations for the bare path: they route as services.applications.application_review
    does (path index, the stack of units waiting for a return), on a dict instead of the database."""

    def __init__(self, unit_ids: list[int], committee_unit_id: int) -> None:
        self.path = [*unit_ids, committee_unit_id]
        self.step, self.resume = 0, []  # type: ignore[var-annotated]

    def route_declaration(self, declaration_id: int) -> dict[str, Any]:
        at_committee = self.step == len(self.path) - 1
        return {"unit_id": self.path[self.step], "levels": [1] if at_committee else [1, 2],
                "at_committee": at_committee}

    def pass_declaration(self, declaration_id: int, opinion: str = "") -> str:
        if self.step == len(self.path) - 1:
            return "accepted"
        waiting = [index for index in self.resume if index > self.step]
        self.resume = waiting[:-1]
        self.step = waiting[-1] if waiting else self.step + 1
        return "next"

    def return_declaration(self, declaration_id: int, opinion: str = "", return_to: str = "") -> str:
        self.resume.append(self.step)
        if return_to in ("", "applicant"):
            return "applicant"
        self.step = int(return_to)
        return "unit"

    def reject_declaration(self, declaration_id: int, opinion: str = "") -> None:
        raise AssertionError("the life has no 不通过")

    def engine(self) -> Any:
        from services.workflow.scripting import WHITELIST, FunctionRegistry

        registry = FunctionRegistry(dict(WHITELIST))
        for name in ("route_declaration", "pass_declaration", "return_declaration", "reject_declaration"):
            registry.register(name, getattr(self, name), replace=True)
        return build_script_engine(registry)


def chain_bare_step(conn: sqlite3.Connection, parsed: Any, engine: Any, instance_id: int,
                    form: dict[str, str]) -> float:
    began = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    blob, version = conn.execute("SELECT state, lock_version FROM process_instance WHERE id = ?",
                                 (instance_id,)).fetchone()
    workflow = state.load_state(blob, parsed, engine)
    runner.complete_task(workflow, runner.ready_user_tasks(workflow)[0].task_id, form)
    updated = conn.execute("UPDATE process_instance SET state = ?, lock_version = ? WHERE id = ? AND lock_version = ?",
                           (state.dump_state(workflow), version + 1, instance_id, version)).rowcount
    conn.execute("COMMIT")
    elapsed = time.perf_counter() - began
    assert updated == 1
    return elapsed


def run_chain(lives: int) -> dict[str, Any]:
    import io

    from bench import review_chain
    from services.org.accounts import hash_password

    with tempfile.TemporaryDirectory(prefix="bench_engine_step_chain_") as tmp:
        app = build_app(Path(tmp))
        with app.app_context():
            world = review_chain.build_world(lives)
        declaration_ids = review_chain.draft(app, world)
        with app.app_context():
            from app.models import Applicant, Declaration, Unit

            usernames = dict(db.session.execute(select(User.id, User.username)).tuples().all())
            applicant_hash = hash_password(PASSWORD)
            applicants = {}
            for declaration in db.session.scalars(select(Declaration).where(Declaration.id.in_(declaration_ids))):
                applicant = db.session.get(Applicant, declaration.applicant_id)
                assert applicant is not None
                applicant.password_hash = applicant_hash
                applicants[declaration.id] = applicant.id_number
            units = {u.id: u.unit_type_code for u in db.session.scalars(select(Unit))}
            definition = definitions.latest("application_review")
            assert definition is not None
            parsed, definition_id = definitions.parsed(definition), definition.id
            db.session.commit()
            db.session.remove()
        clients: dict[str, FlaskClient] = {}

        def staff(user_id: int) -> FlaskClient:
            name = usernames[user_id]
            if name not in clients:
                clients[name] = signed_in(app, name)
            return clients[name]

        def applicant_client(declaration_id: int) -> FlaskClient:
            client = app.test_client()
            response = client.post("/applicant/login", data={"account": applicants[declaration_id],
                                                             "password": PASSWORD})
            assert response.status_code == 302, response.status_code
            return client

        raw = sqlite3.connect(Path(tmp) / "bench.db", isolation_level=None)
        raw.execute("PRAGMA busy_timeout=5000")
        raw.execute("PRAGMA synchronous=NORMAL")  # as the app's connections (app/__init__.py), for a fair ratio
        today = date.today()
        bare, app_times, engine_only, statuses = [], [], [], []
        by_step: dict[int, tuple[list[float], list[float]]] = defaultdict(lambda: ([], []))
        for life, declaration_id in enumerate(declaration_ids):
            with app.app_context():
                applicant = db.session.scalar(select(Applicant).join(Declaration, Declaration.applicant_id ==
                                                                     Applicant.id).where(Declaration.id == declaration_id))
                assert applicant is not None
                review_chain.declarations.submit(applicant, db.session.get(Declaration, declaration_id), datetime.now())
                db.session.commit()
                path = db.session.get(Declaration, declaration_id).path  # type: ignore[union-attr]
                path_units = [int(entry["unit_id"]) for entry in path[:-1]]
                db.session.remove()
            stand_ins = ChainStandIns(path_units, 0)  # the committee step needs no unit of its own here
            engine = stand_ins.engine()
            with app.app_context():
                with instances.acting_as(None):
                    workflow = runner.start(parsed, {"declaration_id": -life - 1}, engine)
                blob = state.dump_state(workflow)
                bare_instance = raw.execute(
                    "INSERT INTO process_instance (definition_id, business_type, business_id, title, unit_id, status, "
                    "state, lock_version) VALUES (?, 'bench_bare', ?, 'bare', NULL, 'running', ?, 1) RETURNING id",
                    (definition_id, life, blob)).fetchone()[0]
            for step, (actor, decision, return_to) in enumerate(CHAIN_LIFE):
                form = ({"note": CORRECTION_NOTE} if actor == "applicant" else
                        {"decision": decision, "opinion": CHAIN_OPINION[decision], "return_to": return_to})
                # Engine only, on a copy of the bare instance's blob (nothing saved; the stand-ins' routing state
                # is kept aside so the bare step that follows routes the same way).
                saved = (stand_ins.step, list(stand_ins.resume))
                began = time.perf_counter()
                workflow = state.load_state(blob, parsed, engine)
                runner.complete_task(workflow, runner.ready_user_tasks(workflow)[0].task_id, form)
                state.dump_state(workflow)
                engine_only.append(time.perf_counter() - began)
                stand_ins.step, stand_ins.resume = saved
                bare.append(chain_bare_step(raw, parsed, engine, bare_instance, form))
                blob = raw.execute("SELECT state FROM process_instance WHERE id = ?", (bare_instance,)).fetchone()[0]

                # The app's step: the page's POST as the actor.
                with app.app_context():
                    task_id, unit_id, level_no = review_chain.open_tasks(app)[declaration_id]
                if actor == "applicant":
                    client = applicant_client(declaration_id)
                    url, data = f"/applicant/declarations/{declaration_id}/submit", {"note": CORRECTION_NOTE}
                else:
                    level = 1 if actor == "qualify" else int(actor[-1])
                    assert actor == "qualify" or level == level_no, (actor, level_no)
                    user_id = world.qualifier_id if actor == "qualify" else world.reviewers[unit_id][level - 1][0]
                    client = staff(user_id)
                    kind = "qualification" if actor == "qualify" else "applications"
                    url = f"/application-review/{kind}/{declaration_id}"
                    data = {"task_id": str(task_id), **form}
                    first_at_school = actor == "school_l1" and units[unit_id] == "declaring" and step == 0
                    if first_at_school:
                        data.update({"publicity_start": f"{today - timedelta(days=14):%Y-%m-%d}",
                                     "publicity_end": f"{today - timedelta(days=3):%Y-%m-%d}",
                                     "publicity_proof": (io.BytesIO(review_chain.PDF), "公示证明.pdf"),
                                     "recommendation": (io.BytesIO(review_chain.PDF), "推荐意见.pdf")})
                began = time.perf_counter()
                response = client.post(url, data=data, content_type="multipart/form-data")
                app_times.append(time.perf_counter() - began)
                statuses.append(response.status_code)
                if response.status_code != 302:
                    raise SystemExit(f"life {life} step {step} ({actor} {decision}): {response.status_code}\n"
                                     f"{response.get_data(as_text=True)[:2000]}")
                consume_flash(client)
                by_step[step][0].append(bare[-1])
                by_step[step][1].append(app_times[-1])
        raw.close()
        with app.app_context():
            accepted = db.session.scalar(select(func.count()).select_from(Declaration).where(
                Declaration.status == "accepted"))
        assert accepted == len(declaration_ids), accepted
        floor = flask_floor()
    return {
        "benchmark": "engine_step",
        "diagram": "application_review (+ unit_review), the 16-step life",
        "steps": len(app_times),
        "life_steps": len(CHAIN_LIFE),
        "bare_ms": ms(statistics.median(bare)),
        "app_ms": ms(statistics.median(app_times)),
        "ratio": round(statistics.median(app_times) / statistics.median(bare), 2),
        "bare_p90_ms": ms(statistics.quantiles(bare, n=10)[-1]),
        "app_p90_ms": ms(statistics.quantiles(app_times, n=10)[-1]),
        "engine_only_ms": ms(statistics.median(engine_only)),
        "flask_floor_ms": ms(floor),
        "ratio_by_step": [round(statistics.median(a) / statistics.median(b), 2)
                          for b, a in (by_step[step] for step in range(len(CHAIN_LIFE)))],
        "steps_named": [f"{actor} {decision}{' → ' + target if target else ''}" for actor, decision, target in
                        CHAIN_LIFE],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--diagram", choices=("chain", "superior_change"), default="chain")
    parser.add_argument("--lives", type=int, default=CHAIN_LIVES, help="declarations whose life is run (chain)")
    parser.add_argument("--life", type=int, default=LIFE_REQUESTS, help="steps per instance (even; superior_change)")
    parser.add_argument("--breakdown", action="store_true", help="also time the parts of the app's request")
    args = parser.parse_args()
    if args.diagram == "chain":
        figures = run_chain(max(2, args.lives))
        print(f"bare step (SELECT blob + load + complete + engine steps + dump + UPDATE + COMMIT), median of "
              f"{len(CHAIN_LIFE)} × {args.lives}: {figures['bare_ms']} ms (p90 {figures['bare_p90_ms']} ms); engine "
              f"alone {figures['engine_only_ms']} ms")
        print(f"app step (the review page's POST / the applicant's 重新提交 through the test client, 302): "
              f"{figures['app_ms']} ms (p90 {figures['app_p90_ms']} ms)")
        print(f"ratio app / bare: {figures['ratio']} (target ≤ 2.5: {'met' if figures['ratio'] <= 2.5 else 'NOT met'})"
              f"; by step: {list(zip(figures['steps_named'], figures['ratio_by_step'], strict=True))}")
        print(f"a minimal Flask app (session cookie, flash, 302, no database): {figures['flask_floor_ms']} ms")
        print(json.dumps(figures, ensure_ascii=False))
        return
    life_steps = max(2, args.life - args.life % 2)
    lives = max(4, LIVES * LIFE_REQUESTS // life_steps)
    with tempfile.TemporaryDirectory(prefix="bench_engine_step_") as tmp:
        app = build_app(Path(tmp))
        with app.app_context():
            scene = build_scene()
            definition = definitions.latest("unit_superior_change")
            assert definition is not None
            parsed = definitions.parsed(definition)
            db.session.remove()
        engine = build_script_engine()
        clients = {"review": signed_in(app, scene["reviewer"]), "correct": signed_in(app, scene["unit_admin"])}
        raw = sqlite3.connect(Path(tmp) / "bench.db", isolation_level=None)
        raw.execute("PRAGMA busy_timeout=5000")
        raw.execute("PRAGMA synchronous=NORMAL")  # as the app's connections (app/__init__.py), for a fair ratio

        bare, app_times, engine_only, statuses = [], [], [], []
        by_step: dict[int, tuple[list[float], list[float]]] = defaultdict(lambda: ([], []))
        for life in range(lives):
            with app.app_context():
                app_instance = start_instance(scene, 2 * life + 1)
                bare_instance = start_instance(scene, 2 * life + 2)
                db.session.remove()
            blob = raw.execute("SELECT state FROM process_instance WHERE id = ?", (bare_instance,)).fetchone()[0]
            for step in range(life_steps):
                kind, form = ("review", REVIEW_FORM) if step % 2 == 0 else ("correct", CORRECTION_FORM)
                # Engine only, on a copy of the bare instance's blob (nothing saved).
                began = time.perf_counter()
                workflow = state.load_state(blob, parsed, engine)
                runner.complete_task(workflow, runner.ready_user_tasks(workflow)[0].task_id, form)
                state.dump_state(workflow)
                engine_only.append(time.perf_counter() - began)

                bare.append(bare_step(raw, parsed, engine, bare_instance, form))
                blob = raw.execute("SELECT state FROM process_instance WHERE id = ?", (bare_instance,)).fetchone()[0]

                with app.app_context():
                    task_id = open_task_id(app_instance)
                began = time.perf_counter()
                response = clients[kind].post(f"/inbox/tasks/{task_id}", data=form)
                app_times.append(time.perf_counter() - began)
                statuses.append(response.status_code)
                consume_flash(clients[kind])
                by_step[step][0].append(bare[-1])
                by_step[step][1].append(app_times[-1])

        samples: list[dict[str, float]] = []
        if args.breakdown:
            for life in range(lives // 2):
                with app.app_context():
                    instance_id = start_instance(scene, 2 * lives + life + 1)
                    db.session.remove()
                for step in range(life_steps):
                    kind, form = ("review", REVIEW_FORM) if step % 2 == 0 else ("correct", CORRECTION_FORM)
                    with app.app_context():
                        task_id = open_task_id(instance_id)
                    with timed_parts() as parts:
                        began = time.perf_counter()
                        response = clients[kind].post(f"/inbox/tasks/{task_id}", data=form)
                        parts["request"] = time.perf_counter() - began
                    statuses.append(response.status_code)
                    samples.append(dict(parts))
                    consume_flash(clients[kind])
        raw.close()
        floor = flask_floor()
        if set(statuses) != {302}:
            raise SystemExit(f"the endpoint did not answer 302 every time: {sorted(set(statuses))}")

    figures: dict[str, Any] = {
        "benchmark": "engine_step",
        "diagram": "unit_superior_change (+ unit_review)",
        "steps": len(app_times),
        "life_steps": life_steps,
        "bare_ms": ms(statistics.median(bare)),
        "app_ms": ms(statistics.median(app_times)),
        "ratio": round(statistics.median(app_times) / statistics.median(bare), 2),
        "bare_p90_ms": ms(statistics.quantiles(bare, n=10)[-1]),
        "app_p90_ms": ms(statistics.quantiles(app_times, n=10)[-1]),
        "engine_only_ms": ms(statistics.median(engine_only)),
        "flask_floor_ms": ms(floor),
        "ratio_by_step": [round(statistics.median(a) / statistics.median(b), 2)
                          for b, a in (by_step[step] for step in range(life_steps))],
    }
    print(f"bare step (SELECT blob + load + complete + engine steps + dump + UPDATE + COMMIT), median of "
          f"{len(bare)}: {figures['bare_ms']} ms (p90 {figures['bare_p90_ms']} ms); engine alone "
          f"{figures['engine_only_ms']} ms")
    print(f"app step (POST /inbox/tasks/<id> through the test client, 302): {figures['app_ms']} ms "
          f"(p90 {figures['app_p90_ms']} ms)")
    print(f"ratio app / bare: {figures['ratio']} (target ≤ 2.0); by step of the life: {figures['ratio_by_step']}")
    print(f"a minimal Flask app (session cookie, flash, 302, no database), same client and form: "
          f"{figures['flask_floor_ms']} ms")
    if samples:
        figures["breakdown_ms"] = breakdown(samples)
        print(f"app request by part, median ms of {len(samples)} timed requests (timers add their own cost):")
        for label, value in figures["breakdown_ms"].items():
            print(f"  {value:7.3f}  {label}")
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
