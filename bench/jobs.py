"""Background jobs (issue 14): starting a job from a web request, job throughput on the embedded broker and on
Redis with one worker, and how throughput scales from one worker to two on this 2-core machine.

Figures, each beside a floor measured in the same run:
- enqueue_ms_p95: `GET /application-review/query/export` through a signed-in Flask test client with
  EXPORT_INLINE_ROWS=-1, so every request records a job and publishes it (embedded broker). Floors: the same
  client on `GET /jobs/` (a plain page), and a bare `send_task` publish.
- embedded_jobs_per_s / redis_jobs_per_s: JOBS small jobs (rows inserted in bulk, messages published up front),
  drained by one solo worker; floor: JOBS bare tasks (no database) through the same broker and worker.
- scale_2_workers: CPU_JOBS jobs of ~20 ms pure CPU each on Redis, throughput with two worker processes ÷ with
  one; target ≥ 1.6.

SQLite database in a temporary folder. Redis on 127.0.0.1:6379 (database 14, a queue of its own) when it answers.
Run: .venv/bin/python bench/jobs.py   (BENCH_JOBS=1000 for a quick run; last line of output is a JSON object)
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from celery import Celery  # noqa: E402
from sqlalchemy import func, insert, select  # noqa: E402

from app.extensions import db  # noqa: E402
from app.models import Job, Region, Unit, User  # noqa: E402
from bench.support.app_db import PASSWORD, build_app  # noqa: E402

JOBS = int(os.environ.get("BENCH_JOBS", "10000"))
CPU_JOBS = int(os.environ.get("BENCH_CPU_JOBS", "300"))
REQUESTS = 200
REDIS_URL = "redis://127.0.0.1:6379/14"


def p95(samples: list[float]) -> float:
    return round(statistics.quantiles(samples, n=20)[18], 2)


def redis_answers() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5).ping())
    except redis.RedisError:
        return False


class Bench:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.app = build_app(tmp)
        self.app.config.update(EXPORT_INLINE_ROWS=-1)
        self.overrides = {key: self.app.config[key] for key in ("SQLALCHEMY_DATABASE_URI", "UPLOAD_FOLDER",
                                                                 "SECRET_KEY")}

    def broker(self, kind: str) -> dict[str, Any]:
        url = REDIS_URL if kind == "redis" else f"sqla+sqlite:///{self.tmp / f'broker-{uuid.uuid4().hex[:6]}.sqlite'}"
        queue = f"bench-{uuid.uuid4().hex[:8]}"
        client = Celery(broker=url, set_as_current=False)
        return {"url": url, "queue": queue, "client": client, "ticks": str(self.tmp / f"ticks-{queue}")}

    def start_workers(self, broker: dict[str, Any], count: int) -> list[subprocess.Popen[bytes]]:
        overrides = {**self.overrides, "CELERY_BROKER_URL": broker["url"], "CELERY_QUEUE": broker["queue"],
                     "CELERY_RESULT_BACKEND": f"db+sqlite:///{self.tmp / 'results.sqlite'}"}
        env = {**os.environ, "BENCH_OVERRIDES": json.dumps(overrides), "BENCH_INSTANCE": str(self.tmp),
               "BENCH_TICKS": broker["ticks"]}
        return [subprocess.Popen([sys.executable, str(ROOT / "bench" / "support" / "jobs_worker.py")], env=env)
                for _ in range(count)]

    def insert_jobs(self, kind: str, count: int) -> list[int]:
        with self.app.app_context():
            first = (db.session.scalar(select(func.max(Job.id))) or 0) + 1
            now = datetime.now()
            db.session.execute(insert(Job), [{"kind": kind, "title": f"bench {n}", "params": {"n": n}, "state": "queued",
                                              "created_at": now} for n in range(count)])
            db.session.commit()
            return list(range(first, first + count))

    def done(self, ids: list[int]) -> int:
        with self.app.app_context():
            n = db.session.scalar(select(func.count()).select_from(Job).where(
                Job.id.between(ids[0], ids[-1]), Job.state == "done")) or 0
            db.session.remove()
            return n

    def drain_jobs(self, broker: dict[str, Any], kind: str, count: int, workers: int) -> float:
        """Jobs per second: messages published first, then the workers started and timed until all are done."""
        ids = self.insert_jobs(kind, count)
        for job_id in ids:
            broker["client"].send_task("zhiping.run_job", args=[job_id], queue=broker["queue"])
        procs = self.start_workers(broker, workers)
        try:
            wait(lambda: self.done(ids[:1]) == 1, 120)  # the first job marks the workers as up
            started, before = time.perf_counter(), self.done(ids)
            wait(lambda: self.done(ids) == count, 1800, 0.2)
            return round((count - before) / (time.perf_counter() - started), 1)
        finally:
            stop(procs)

    def drain_bare(self, broker: dict[str, Any], count: int) -> float:
        ticks = Path(broker["ticks"])
        for _ in range(count):
            broker["client"].send_task("bench.bare", queue=broker["queue"])
        procs = self.start_workers(broker, 1)
        try:
            wait(lambda: ticks.exists() and ticks.stat().st_size >= 1, 120)
            started, before = time.perf_counter(), ticks.stat().st_size
            wait(lambda: ticks.stat().st_size >= count, 1800, 0.1)
            return round((count - before) / (time.perf_counter() - started), 1)
        finally:
            stop(procs)

    def enqueue_latency(self) -> dict[str, float]:
        from services.org.accounts import hash_password

        with self.app.app_context():
            unit = db.session.scalar(select(Unit).limit(1))
            if unit is None:
                unit = Unit(name="基准单位", credit_code="12510000MB0000000X", unit_type_code="hr", nature_code="organ",
                            region_id=db.session.scalar(select(Region.id).limit(1)), phone="028-86000000", contact_name="联系人", depth=0, status="active",
                            path="/")
                db.session.add(unit)
                db.session.flush()
                unit.path = f"/{unit.id}/"
            db.session.add(User(username="bench_admin", password_hash=hash_password(PASSWORD),
                                name="基准管理员", phone="13800000000", unit_id=unit.id, is_platform_admin=True,
                                enabled=True, session_token="bench"))
            db.session.commit()
        broker = self.broker("embedded")
        self.app.extensions["celery"].conf.broker_url = broker["url"]
        client = self.app.test_client()
        assert client.post("/login", data={"username": "bench_admin", "password": PASSWORD}).status_code == 302

        def timed(path: str, status: int) -> list[float]:
            samples = []
            for _ in range(REQUESTS):
                started = time.perf_counter()
                response = client.get(path)
                samples.append((time.perf_counter() - started) * 1000)
                assert response.status_code == status, (path, response.status_code)
            return samples

        page = timed("/jobs/", 200)
        enqueue = timed("/application-review/query/export", 302)
        publish = []
        for _ in range(REQUESTS):
            started = time.perf_counter()
            broker["client"].send_task("bench.bare", queue=broker["queue"])
            publish.append((time.perf_counter() - started) * 1000)
        return {"enqueue_ms_p95": p95(enqueue), "floor_page_ms_p95": p95(page), "floor_publish_ms_p95": p95(publish)}


def wait(predicate: Any, timeout: float, every: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("benchmark timed out")
        time.sleep(every)


def stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        proc.terminate()
    for proc in procs:
        proc.wait(30)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        bench = Bench(Path(tmp))
        figures: dict[str, Any] = {"jobs": JOBS, "cpu_jobs": CPU_JOBS}
        figures.update(bench.enqueue_latency())
        print(f"enqueue p95 {figures['enqueue_ms_p95']} ms (plain page {figures['floor_page_ms_p95']} ms, "
              f"bare publish {figures['floor_publish_ms_p95']} ms)", flush=True)
        embedded = bench.broker("embedded")
        figures["embedded_bare_tasks_per_s"] = bench.drain_bare(embedded, JOBS)
        figures["embedded_jobs_per_s"] = bench.drain_jobs(bench.broker("embedded"), "bench.small", JOBS, 1)
        print(f"embedded: {figures['embedded_jobs_per_s']} jobs/s (bare tasks {figures['embedded_bare_tasks_per_s']}/s)",
              flush=True)
        if redis_answers():
            figures["redis_bare_tasks_per_s"] = bench.drain_bare(bench.broker("redis"), JOBS)
            figures["redis_jobs_per_s"] = bench.drain_jobs(bench.broker("redis"), "bench.small", JOBS, 1)
            print(f"redis: {figures['redis_jobs_per_s']} jobs/s (bare tasks {figures['redis_bare_tasks_per_s']}/s)",
                  flush=True)
            one = bench.drain_jobs(bench.broker("redis"), "bench.cpu", CPU_JOBS, 1)
            two = bench.drain_jobs(bench.broker("redis"), "bench.cpu", CPU_JOBS, 2)
            figures.update(cpu_jobs_per_s_1_worker=one, cpu_jobs_per_s_2_workers=two,
                           scale_2_workers=round(two / one, 2))
            print(f"CPU-bound: 1 worker {one}/s, 2 workers {two}/s, scale {figures['scale_2_workers']} (target ≥ 1.6)",
                  flush=True)
        else:
            print("Redis does not answer on 127.0.0.1:6379: redis_jobs_per_s and scale_2_workers not measured")
        figures["embedded_ratio_to_bare"] = round(figures["embedded_jobs_per_s"] / figures["embedded_bare_tasks_per_s"], 3)
        if "redis_jobs_per_s" in figures:
            figures["redis_ratio_to_bare"] = round(figures["redis_jobs_per_s"] / figures["redis_bare_tasks_per_s"], 3)
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
