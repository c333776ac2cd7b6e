"""Load test: reviewers opening their 待办 and passing declarations on a real gunicorn over PostgreSQL (issue 20).

The world is bench/review_chain.py's (四川省: schools → 教育局 → 市人社局 → 省人社厅 → committee, two levels per unit,
two reviewers per level), in a schema of its own on TEST_DATABASE_URL (dropped afterwards). DECLARATIONS declarations
are submitted and passed by their schools through the services (not measured), so they wait at the four 教育局.
Then gunicorn starts on 127.0.0.1 with 2 sync workers (DATABASE_POOL_SIZE=1, DATABASE_MAX_OVERFLOW=2), and
REVIEWERS threads — the 16 reviewers of the four 教育局 (both levels, two per level) and the first level-1 reviewer
of each 市人社局 — each sign in through /login and loop for --seconds: GET /inbox/?tab=todo, pick one of the
page's tasks at random, POST /inbox/tasks/<id> (审核通过, with the page's CSRF token). A 302 is a completed step; a
409 is the other reviewer of the same level having taken it first (a lost race, answered as designed); a 5xx or
anything else is a failure. Only 127.0.0.1; bounded in time (the server is stopped at the end, even on error).

Afterwards, in the database: every completed task was completed once (one `done` row per task uuid, one trail
entry per completed task), every declaration still under review has exactly one open task, at the unit its
declaration stands at (nothing lost), and the 302s counted by the clients equal the tasks completed in the run
(nothing doubled, nothing lost in between).

Printed: throughput (completed steps/s, requests/s), p95 of the inbox page and of the POST, beside the floor of
the same run: the p95 of `GET /login` (a page with no database work) under the same load.

Run: TEST_DATABASE_URL=postgresql+psycopg://… .venv/bin/python bench/load_review.py [--seconds 60]
[--declarations 1500]   (last line of output is a JSON object)
"""

from __future__ import annotations

import argparse
import html
import json
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from app.extensions import db  # noqa: E402
from app.models import Applicant, Declaration, HumanTask, Unit, User, WorkflowEvent  # noqa: E402
from bench import review_chain  # noqa: E402
from bench.support.app_db import PASSWORD, build_app, drop_schema  # noqa: E402
from services.applications import application_review  # noqa: E402

SCHEMA = "bench_load_review"
REVIEWERS = 20
WORKERS = 2
OPINION = "材料齐全，同意上报"
TASK_LINK = re.compile(r'href="/inbox/tasks/(\d+)"')
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *_args: Any, **_kwargs: Any) -> None:
        return None  # a 302 is the answer we measure, not something to follow


class Browser:
    """One reviewer's cookies and requests (urllib, no redirects followed)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()), NoRedirect())

    def request(self, path: str, form: dict[str, str] | None = None) -> tuple[int, str, float]:
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        began = time.perf_counter()
        try:
            with self.opener.open(self.base + path, data=data, timeout=30) as response:
                body = response.read().decode()
                status = response.status
        except urllib.error.HTTPError as err:
            status, body = err.code, err.read().decode(errors="replace")
        return status, body, time.perf_counter() - began

    def sign_in(self, username: str) -> None:
        status, body, _ = self.request("/login")
        token = CSRF.search(body)
        assert status == 200 and token, status
        status, _, _ = self.request("/login", {"username": username, "password": PASSWORD,
                                               "csrf_token": html.unescape(token.group(1))})
        if status != 302:
            raise RuntimeError(f"sign-in of {username} answered {status}")


def prepare(app: Any, count: int) -> tuple[list[str], list[int]]:
    """The world, `count` declarations submitted and passed by their schools; the reviewers' user names."""
    with app.app_context():
        world = review_chain.build_world(count)
    declaration_ids = review_chain.draft(app, world)
    with app.app_context():
        applicants = dict(db.session.execute(select(Declaration.id, Declaration.applicant_id)).tuples().all())
        review_chain.APPLICANT_TOKENS.update(
            db.session.execute(select(Applicant.id, Applicant.session_token)).tuples().all())
        review_chain.TOKENS.update(db.session.execute(select(User.id, User.session_token)).tuples().all())
    for declaration_id in declaration_ids:
        review_chain.timed(app, review_chain.submit_action(applicants[declaration_id], declaration_id))
    for level in (1, 2):
        tasks = review_chain.open_tasks(app)
        for declaration_id in declaration_ids:
            task_id, unit_id, _ = tasks[declaration_id]
            review_chain.timed(app, review_chain.review_action(world.reviewers[unit_id][level - 1][0], declaration_id,
                                                               task_id, level == 1))
    with app.app_context():
        units = {row.id: row for row in db.session.execute(select(Unit.id, Unit.unit_type_code, Unit.parent_id))}
        competent = [u for u in world.reviewers if units[u].unit_type_code == "competent"]
        cities = [u for u in world.reviewers if units[u].unit_type_code == "hr" and units[u].parent_id is not None]
        ids = [user_id for unit in competent for level in world.reviewers[unit] for user_id in level]
        ids += [world.reviewers[unit][0][0] for unit in cities]
        names = dict(db.session.execute(select(User.id, User.username).where(User.id.in_(ids))).tuples().all())
    return [names[i] for i in ids[:REVIEWERS]], declaration_ids


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(url: str, tmp: Path, port: int) -> subprocess.Popen[bytes]:
    separator = "&" if "?" in url else "?"
    env = {**os.environ, "DATABASE_URL": f"{url}{separator}options=-csearch_path%3D{SCHEMA}",
           "SECRET_KEY": "bench-load-secret", "UPLOAD_FOLDER": str(tmp / "uploads"),
           "DATABASE_POOL_SIZE": "1", "DATABASE_MAX_OVERFLOW": "2"}
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "-w", str(WORKERS), "-b", f"127.0.0.1:{port}", "--timeout", "60",
         "--log-level", "warning", "wsgi:app"], cwd=ROOT, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=10) as response:
                if response.status == 200:
                    return server
        except OSError:  # not listening yet, or a worker still importing the app
            time.sleep(0.2)
        except BaseException:
            stop_server(server)
            raise
    stop_server(server)
    raise RuntimeError("gunicorn did not answer within 60 s")


def stop_server(server: subprocess.Popen[bytes]) -> None:
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def reviewer_loop(base: str, username: str, until: float, results: dict[str, list[Any]], lock: threading.Lock,
                  seed: int) -> None:
    rng = random.Random(seed)
    browser = Browser(base)
    browser.sign_in(username)
    inbox_times, post_times, statuses, failures = [], [], [], []
    while time.monotonic() < until:
        status, body, elapsed = browser.request("/inbox/?tab=todo")
        inbox_times.append(elapsed)
        if status != 200:
            failures.append(f"GET /inbox/ {status}")
            continue
        tasks = TASK_LINK.findall(body)
        token = CSRF.search(body)
        if not tasks or token is None:
            time.sleep(0.05)  # nothing waits for this reviewer yet (a 市人社局 before the 教育局 passed some)
            continue
        task_id = rng.choice(tasks)
        status, body, elapsed = browser.request(f"/inbox/tasks/{task_id}", {
            "decision": "pass", "opinion": OPINION, "csrf_token": html.unescape(token.group(1))})
        post_times.append(elapsed)
        statuses.append(status)
        if status not in (302, 409):
            failures.append(f"POST /inbox/tasks/{task_id} {status}: {body[:200]}")
    with lock:
        results["inbox"] += inbox_times
        results["post"] += post_times
        results["statuses"] += statuses
        results["failures"] += failures


def floor_loop(base: str, until: float, samples: list[float]) -> None:
    browser = Browser(base)
    while time.monotonic() < until:
        _, _, elapsed = browser.request("/login")
        samples.append(elapsed)
        time.sleep(0.2)


def check(app: Any, started_at: Any, completed_by_clients: int) -> dict[str, Any]:
    """Nothing lost, nothing doubled: read back from the database."""
    with app.app_context():
        doubled = db.session.scalar(select(func.count()).select_from(
            select(HumanTask.instance_id, HumanTask.task_uuid).where(HumanTask.status == "done")
            .group_by(HumanTask.instance_id, HumanTask.task_uuid).having(func.count() > 1).subquery()))
        done_in_run = db.session.scalar(select(func.count()).select_from(HumanTask).where(
            HumanTask.status == "done", HumanTask.completed_at >= started_at))
        events_in_run = db.session.scalar(select(func.count()).select_from(WorkflowEvent).where(
            WorkflowEvent.at >= started_at, WorkflowEvent.human_task_id.is_not(None)))
        reviewing = db.session.execute(select(Declaration.id, Declaration.current_unit_id).where(
            Declaration.status == "reviewing")).all()
        open_rows = db.session.execute(select(HumanTask.business_id, HumanTask.unit_id).where(
            HumanTask.business_type == application_review.BUSINESS_TYPE, HumanTask.status == "open")).all()
    open_by_declaration: dict[int, list[int | None]] = {}
    for business_id, unit_id in open_rows:
        open_by_declaration.setdefault(business_id, []).append(unit_id)
    lost = [d for d, unit in reviewing if open_by_declaration.get(d) != [unit]]
    return {"doubled_tasks": doubled or 0, "done_in_run": done_in_run or 0, "trail_entries_in_run": events_in_run or 0,
            "completed_by_clients": completed_by_clients, "declarations_without_one_open_task": len(lost),
            "consistent": (doubled or 0) == 0 and not lost and done_in_run == completed_by_clients == events_in_run}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--declarations", type=int, default=1500)  # 20 reviewers pass ~3,300 in 60 s here: 600 ran out of work
    args = parser.parse_args()
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        print("load_review: skipped (set TEST_DATABASE_URL: the load test runs on PostgreSQL only)")
        return
    seconds = max(5, min(args.seconds, 600))  # bounded in time, whatever is asked
    figures: dict[str, Any] = {"benchmark": "load_review", "workers": WORKERS, "reviewers": REVIEWERS,
                               "seconds": seconds, "declarations": args.declarations}
    with tempfile.TemporaryDirectory(prefix="bench_load_review_") as tmp_name:
        tmp = Path(tmp_name)
        server = None
        try:
            began = time.perf_counter()
            app = build_app(tmp, url, SCHEMA)
            reviewers, _ = prepare(app, args.declarations)
            print(f"prepared {args.declarations} declarations waiting at the 教育局 in "
                  f"{time.perf_counter() - began:.0f} s; {len(reviewers)} reviewers", flush=True)
            port = free_port()
            server = start_server(url, tmp, port)
            base = f"http://127.0.0.1:{port}"
            started_at = datetime.now()  # the server stamps completed_at with datetime.now() on this machine
            results: dict[str, list[Any]] = {"inbox": [], "post": [], "statuses": [], "failures": []}
            lock = threading.Lock()
            floor: list[float] = []
            until = time.monotonic() + seconds
            threads = [threading.Thread(target=reviewer_loop, args=(base, name, until, results, lock, n))
                       for n, name in enumerate(reviewers)]
            threads.append(threading.Thread(target=floor_loop, args=(base, until, floor)))
            wall = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=seconds + 60)
            wall = time.perf_counter() - wall
        finally:
            if server is not None:
                stop_server(server)
        statuses = results["statuses"]
        completed = statuses.count(302)
        figures.update({
            "completed_steps": completed, "lost_races_409": statuses.count(409),
            "failures": len(results["failures"]), "server_errors_5xx": sum(1 for s in statuses if s >= 500),
            "steps_per_s": round(completed / wall, 1),
            "requests_per_s": round((len(results["inbox"]) + len(statuses)) / wall, 1),
            "inbox_p95_ms": review_chain.p95(results["inbox"]), "inbox_median_ms": review_chain.ms(
                statistics.median(results["inbox"])),
            "post_p95_ms": review_chain.p95(results["post"]) if len(results["post"]) > 1 else None,
            "post_median_ms": review_chain.ms(statistics.median(results["post"])) if results["post"] else None,
            "floor_login_page_p95_ms": review_chain.p95(floor) if len(floor) > 1 else None,
        })
        figures.update(check(app, started_at, completed))
        with app.app_context():
            db.engine.dispose()
        drop_schema(url, SCHEMA)
    for failure in results["failures"][:10]:
        print("failure:", failure)
    print(f"{figures['completed_steps']} steps passed in {seconds} s by {len(reviewers)} reviewers on gunicorn -w "
          f"{WORKERS}: {figures['steps_per_s']} steps/s, {figures['requests_per_s']} requests/s; inbox p95 "
          f"{figures['inbox_p95_ms']} ms, POST p95 {figures['post_p95_ms']} ms (floor: GET /login p95 "
          f"{figures['floor_login_page_p95_ms']} ms); {figures['lost_races_409']} lost races (409), "
          f"{figures['server_errors_5xx']} 5xx, {figures['failures']} failures")
    print(f"database: {figures['done_in_run']} tasks done in the run, {figures['trail_entries_in_run']} trail entries, "
          f"{figures['doubled_tasks']} doubled, {figures['declarations_without_one_open_task']} declarations without "
          f"exactly one open task at their unit → {'consistent' if figures['consistent'] else 'NOT consistent'}")
    print(json.dumps(figures, ensure_ascii=False))
    if not figures["consistent"] or figures["server_errors_5xx"] or figures["failures"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
