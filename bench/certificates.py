"""Certificate issuance (issue 17): the real bulk job beside its floors, in one run.

- floor_s: the same 1,000 certificates' HTML (the pages the job rendered, read back from the database) rendered by
  wkhtmltopdf directly, CHUNK (100) per process, no splitting, nothing stored.
- issue_s: 1,000 发放 tasks cleared through the real job (`certificates.clear`, action issue, run by run_job in this
  process): numbers, verification codes, PDFs (one wkhtmltopdf process per 100 + pypdf split), QR codes, the seal,
  storage, and each task completed in its own transaction with its job_item row.
- ratio = issue_s / floor_s (target ≤ 1.5).
- bulk_task_ms: per task, 1,000 审核发证信息 tasks cleared (action pass: no PDFs) through the same job.
- bare_step_ms: the engine step of the same diagram on the same SQLite file, as bench/engine_step.py's "bare":
  BEGIN, read the instance blob, load it on the cached spec, complete the ready task (decision pass), run engine
  steps, dump, UPDATE with the version check, COMMIT — on a raw sqlite3 connection.
- bulk_ratio = bulk_task_ms / bare_step_ms (target ≤ 1.5).
- app_step_ms / bulk_vs_app_step: the single action on the same diagram (issuance.complete_task and a commit, one
  task at a time, no job around it): what the job's own machinery adds to each task.
- bare_step_mean_ms / bulk_ratio_mean: the bare step's mean, like for like with bulk_task_ms (a job's total over
  its tasks is a mean, and on a shared machine the median leaves out the preempted steps the mean keeps).
- bare_task_ms / bare_task_mean_ms / bulk_vs_bare_task: the bare step plus every write a bulk item must make in its
  own transaction (the inbox projection: the task done, its candidates closed, the new task, its candidate and its
  notification; the trail; the issuance's status; the job's item and counter), as raw SQL on the raw connection:
  the floor of a bulk item without the application's layers.

SQLite database in a temporary folder. Run: .venv/bin/python bench/certificates.py [--people N]
(last line of output is a JSON object)
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from app.extensions import db  # noqa: E402
from app.models import (  # noqa: E402
    Certificate,
    HumanTask,
    Issuance,
    IssuanceBatch,
    Job,
    ProcessInstance,
    Region,
    Unit,
    User,
)
from bench.support.app_db import PASSWORD, build_app  # noqa: E402
from services.certificates import bulk, documents, issuance  # noqa: E402
from services.jobs import run_job  # noqa: E402
from services.reference.validation import credit_code_check_char, id_number_check_char  # noqa: E402
from services.workflow import definitions, runner, state  # noqa: E402
from services.workflow.scripting import build_script_engine  # noqa: E402


def _people(count: int, start: int) -> list[dict[str, Any]]:
    items = []
    for n in range(start, start + count):
        body = f"51110219800101{n % 1000:03d}"
        items.append({"name": f"基准{n}", "id_number": body + id_number_check_char(body), "work_unit": "乐山第一中学校",
                      "series_name": "中小学教师", "specialty_name": "数学", "title_name": "一级教师",
                      "level_name": "中级", "qualified_on": "2026-11-30",
                      "committee_name": "乐山市中小学教师中级职称评审委员会", "approval_no": "乐人社〔2026〕88号",
                      "approved_on": "2026-12-01"})
    return items


def build_scene() -> dict[str, int]:
    from services.org.accounts import hash_password

    region = db.session.scalar(select(Region.id).where(Region.code == "511100"))
    body = "11511100000000001"
    unit = Unit(name="乐山市人力资源和社会保障局", credit_code=body + credit_code_check_char(body), unit_type_code="hr",
                nature_code="organ", region_id=region, phone="0833-2000000", depth=0)
    db.session.add(unit)
    db.session.flush()
    unit.path = f"/{unit.id}/"
    user = User(username="bench_issuer", password_hash=hash_password(PASSWORD), name="发证员", unit_id=unit.id,
                is_unit_admin=True, session_token="b")
    db.session.add(user)
    db.session.commit()
    return {"unit_id": unit.id, "user_id": user.id}


def open_task_ids(unit_id: int, bpmn_id: str) -> list[int]:
    return list(db.session.scalars(select(HumanTask.id).where(
        HumanTask.unit_id == unit_id, HumanTask.status == "open", HumanTask.bpmn_id == bpmn_id).order_by(HumanTask.id)))


def run_clearing(user_id: int, action: str, task_ids: list[int]) -> float:
    job = Job(kind="certificates.clear", title="基准", state="queued", started_by_id=user_id, created_at=datetime.now(),
              params={"action": action, "task_ids": task_ids, "opinion": "", "batch_id": None})
    db.session.add(job)
    db.session.commit()
    job_id = job.id
    began = time.perf_counter()
    assert run_job(job_id)
    elapsed = time.perf_counter() - began
    finished = db.session.get(Job, job_id)
    assert finished is not None and finished.state == "done" and finished.done == len(task_ids), (
        finished.state, finished.done, finished.refused, finished.error)
    return elapsed


def _dry_certificates(count: int) -> list[Certificate]:
    """Unsaved certificates shaped like the job's (same fields, same lengths), for the floor measured before it."""
    people = _people(count, 0)
    made = []
    for n, item in enumerate(people):
        person = Issuance(**{k: v for k, v in item.items() if k not in ("qualified_on", "approved_on")},
                          source="review", issuer_unit_id=0, level_rank=3, gender="男", birth_month="1980-01",
                          id_type="居民身份证")
        made.append(Certificate(issuance=person, number=f"1100202630{n:05d}", verify_code="x" * 22,
                                issuer_name="乐山市人力资源和社会保障局", issued_on=datetime.now().date()))
    return made


def floor_seconds(pages: list[documents.CertificatePage], tmp: Path) -> float:
    """wkhtmltopdf straight on the HTML, 100 certificates per process (the HTML written beforehand)."""
    files = []
    for start in range(0, len(pages), documents.CHUNK):
        path = tmp / f"floor{start}.html"
        path.write_text(documents.document_html(pages[start:start + documents.CHUNK]), encoding="utf-8")
        files.append(path)
    options = []
    for key, value in documents._OPTIONS.items():  # the same options the job passes through pdfkit
        options += [f"--{key}"] + ([value] if value else [])
    began = time.perf_counter()
    for path in files:
        subprocess.run(["wkhtmltopdf", *options, str(path), str(path.with_suffix(".pdf"))], check=True,
                       capture_output=True)
    return time.perf_counter() - began


def bare_steps(database: Path, instance_ids: list[int]) -> list[float]:
    parsed = definitions.parsed(definitions.newest_or_deploy("certificate_issuance"))
    engine = build_script_engine()
    conn = sqlite3.connect(database, isolation_level=None)
    conn.execute("PRAGMA busy_timeout=5000")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA wal_autocheckpoint=10000")  # as the application's connections (app/__init__.py)
    times = []
    for instance_id in instance_ids:
        began = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        blob, version = conn.execute("SELECT state, lock_version FROM process_instance WHERE id = ?",
                                     (instance_id,)).fetchone()
        workflow = state.load_state(blob, parsed, engine)
        runner.complete_task(workflow, runner.ready_user_tasks(workflow)[0].task_id, {"decision": "pass", "opinion": ""})
        updated = conn.execute("UPDATE process_instance SET state = ?, lock_version = ? WHERE id = ? AND lock_version = ?",
                               (state.dump_state(workflow), version + 1, instance_id, version)).rowcount
        conn.execute("COMMIT")
        times.append(time.perf_counter() - began)
        assert updated == 1
    conn.close()
    return times


_TASK_SQL = {
    "task": "SELECT t.instance_id, t.task_uuid, t.business_id, t.status, EXISTS (SELECT 1 FROM human_task_candidate c "
            "WHERE c.task_id = t.id AND c.user_id = ?) FROM human_task t WHERE t.id = ?",
    "instance": "SELECT state, lock_version FROM process_instance WHERE id = ?",
    "done": "UPDATE human_task SET status = 'done', decision = ?, completed_by_id = ?, completed_at = ? "
            "WHERE id = ? AND status = 'open'",
    "closed": "UPDATE human_task_candidate SET is_open = 0 WHERE task_id = ?",
    "event": "INSERT INTO workflow_event (instance_id, human_task_id, bpmn_id, task_name, actor_id, actor_name, unit_id, "
             "unit_name, action, opinion, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "save": "UPDATE process_instance SET state = ?, lock_version = ?, status = ? WHERE id = ? AND lock_version = ?",
    "new_task": "INSERT INTO human_task (instance_id, task_uuid, bpmn_id, name, form_key, post, status, business_type, "
                "business_id, title, unit_id, applicant_name, series_code, level_code, created_at, decision) "
                "VALUES (?, ?, ?, ?, ?, ?, 'open', 'certificate_issuance', ?, '', ?, '', '', '', ?, '') RETURNING id",
    "candidate": "INSERT INTO human_task_candidate (task_id, user_id, is_open, business_type, created_at) "
                 "VALUES (?, ?, 1, 'certificate_issuance', ?)",
    "notify": "INSERT INTO notification (user_id, event, title, body, target_type, target_id, created_at, "
              "dispatch_state) VALUES (?, 'task_assigned', ?, ?, 'task', ?, ?, 'pending')",
    "issuance": "UPDATE issuance SET status = 'queued', batch_id = ? WHERE id = ?",
    "item": "INSERT INTO job_item (job_id, key, status, message, at) VALUES (?, ?, 'done', ?, ?)",
    "job": "UPDATE job SET done = done + 1, heartbeat_at = ? WHERE id = ? RETURNING cancel_requested, worker",
}


def bare_tasks(database: Path, task_ids: list[int], user_id: int, unit_id: int, job_id: int, batch_id: int) -> list[float]:
    """The bare step plus every write a bulk item must make in its transaction (DESIGN §2: the inbox projection, the
    trail; issue 17: the issuance's status, the job's item and counter), as raw SQL on a raw sqlite3 connection with
    the statements prepared once: what one item costs without the application's layers."""
    parsed = definitions.parsed(definitions.newest_or_deploy("certificate_issuance"))
    engine = build_script_engine()
    conn = sqlite3.connect(database, isolation_level=None)
    for pragma in ("busy_timeout=5000", "synchronous=NORMAL", "wal_autocheckpoint=10000", "foreign_keys=ON"):
        conn.execute(f"PRAGMA {pragma}")
    sql = _TASK_SQL
    times = []
    for task_id in task_ids:
        began = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        instance_id, task_uuid, business_id, status, is_candidate = conn.execute(sql["task"], (user_id, task_id)).fetchone()
        assert status == "open" and is_candidate
        blob, version = conn.execute(sql["instance"], (instance_id,)).fetchone()
        workflow = state.load_state(blob, parsed, engine)
        runner.complete_task(workflow, task_uuid, {"decision": "pass", "opinion": ""})
        now = datetime.now()
        assert conn.execute(sql["done"], ("pass", user_id, now, task_id)).rowcount == 1
        conn.execute(sql["closed"], (task_id,))
        conn.execute(sql["event"], (instance_id, task_id, "review_issuance", "审核发证信息", user_id, "发证员", unit_id,
                                    "乐山市人力资源和社会保障局", "pass", "", now))
        assert conn.execute(sql["save"], (state.dump_state(workflow), version + 1, "running", instance_id,
                                          version)).rowcount == 1
        for ready in runner.ready_user_tasks(workflow):
            (new_id,) = conn.execute(sql["new_task"], (instance_id, ready.task_id, ready.bpmn_id, ready.name,
                                                       ready.form_key, ready.post, business_id, unit_id, now)).fetchone()
            conn.execute(sql["candidate"], (new_id, user_id, now))
            conn.execute(sql["notify"], (user_id, f"新的待办：{ready.name}", f"（{ready.name}）待您办理。", new_id, now))
        conn.execute(sql["issuance"], (batch_id, business_id))
        conn.execute(sql["item"], (job_id, str(task_id), "审核通过", now))
        conn.execute(sql["job"], (now, job_id)).fetchone()
        conn.execute("COMMIT")
        times.append(time.perf_counter() - began)
    conn.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=1000)
    people = parser.parse_args().people
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        app = build_app(tmp)
        with app.app_context():
            scene = build_scene()
            user = db.session.get(User, scene["user_id"])
            # Five queues of `people`: to issue, to clear without PDFs, for the bare engine step, for the app's step,
            # for the bare task (the bare step with the item's writes).
            for start in (0, people, 2 * people, 3 * people, 4 * people):
                issuance.queue(user, "review", _people(people, start))
                db.session.commit()
            pending = open_task_ids(scene["unit_id"], "review_issuance")
            to_issue, to_pass = pending[:people], pending[people:2 * people]
            to_step, to_app_step = pending[2 * people:3 * people], pending[3 * people:4 * people]
            to_bare_task = pending[4 * people:]
            for task_id in to_issue:
                issuance.complete_task(user, task_id, "pass")
            db.session.commit()
            issue_ids = open_task_ids(scene["unit_id"], "issue_certificate")
            step_instances = list(db.session.scalars(select(HumanTask.instance_id).where(HumanTask.id.in_(to_step))))
            db.session.remove()

            # The floor is measured just before and just after the job (on the same pages: numbers and codes are
            # all alike in length), and the two runs averaged: on a shared 2-core machine the load drifts.
            shape = [documents.CertificatePage(**{**bulk.page_for(c, c.issuance, "").__dict__})
                     for c in _dry_certificates(people)]
            floor_before = floor_seconds(shape, tmp)
            issue_s = run_clearing(scene["user_id"], "issue", issue_ids)
            db.session.remove()
            certificates = list(db.session.scalars(select(Certificate).join(Issuance).order_by(Certificate.id)))
            assert len(certificates) == people and len({c.number for c in certificates}) == people
            pages = [bulk.page_for(c, c.issuance, "") for c in certificates]
            db.session.remove()
            floor_after = floor_seconds(pages, tmp)
            floor_s = (floor_before + floor_after) / 2
            bulk_s = run_clearing(scene["user_id"], "pass", to_pass)
            app_steps = []
            user = db.session.get(User, scene["user_id"])
            for task_id in to_app_step:  # the single action: one task, one transaction, no job around it
                began = time.perf_counter()
                issuance.complete_task(user, task_id, "pass")
                db.session.commit()
                app_steps.append(time.perf_counter() - began)
            batch_id = db.session.scalar(select(IssuanceBatch.id).where(IssuanceBatch.issuer_unit_id == scene["unit_id"]))
            job = Job(kind="certificates.clear", title="基准（裸任务）", state="running", worker="bench",
                      started_by_id=scene["user_id"], created_at=datetime.now(), params={})
            db.session.add(job)
            db.session.commit()
            bare_job_id = job.id
            db.session.remove()
            steps = bare_steps(tmp / "bench.db", step_instances)
            tasks = bare_tasks(tmp / "bench.db", to_bare_task, scene["user_id"], scene["unit_id"], bare_job_id, batch_id)
            assert db.session.scalar(select(ProcessInstance.id).limit(1)) is not None
    bulk_task_ms = bulk_s * 1000 / people
    bare_step_ms = statistics.median(steps) * 1000
    bare_step_mean_ms = statistics.mean(steps) * 1000
    bare_task_mean_ms = statistics.mean(tasks) * 1000
    app_step_ms = statistics.median(app_steps) * 1000
    result = {"people": people, "floor_s": round(floor_s, 3), "floor_runs_s": [round(floor_before, 3),
                                                                             round(floor_after, 3)], "issue_s": round(issue_s, 3),
              "ratio": round(issue_s / floor_s, 3), "bulk_task_ms": round(bulk_task_ms, 3),
              "bare_step_ms": round(bare_step_ms, 3), "bulk_ratio": round(bulk_task_ms / bare_step_ms, 3),
              "app_step_ms": round(app_step_ms, 3), "bulk_vs_app_step": round(bulk_task_ms / app_step_ms, 3),
              "bare_step_mean_ms": round(bare_step_mean_ms, 3),
              "bulk_ratio_mean": round(bulk_task_ms / bare_step_mean_ms, 3),
              "bare_task_ms": round(statistics.median(tasks) * 1000, 3), "bare_task_mean_ms": round(bare_task_mean_ms, 3),
              "bulk_vs_bare_task": round(bulk_task_ms / bare_task_mean_ms, 3),
              "issue_ms_per_certificate": round(issue_s * 1000 / people, 3)}
    print(f"floor {floor_s:.2f} s, issue {issue_s:.2f} s ({result['ratio']}×); bulk {bulk_task_ms:.2f} ms/task, "
          f"bare step {bare_step_ms:.2f} ms ({result['bulk_ratio']}×)")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
