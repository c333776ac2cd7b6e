"""A Celery worker for bench/jobs.py: the app on the benchmark's database (overrides as JSON in BENCH_OVERRIDES),
the benchmark's job kinds, and a bare task for the floor. One solo worker process."""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from app import create_app  # noqa: E402
from services.jobs import JobContext, job_kind  # noqa: E402

CPU_ROUNDS = 60_000


def cpu_work(seed: str) -> str:
    """About 20 ms of pure CPU (pbkdf2): an item that a second core can run alongside."""
    return hashlib.pbkdf2_hmac("sha256", seed.encode(), b"bench", CPU_ROUNDS).hex()[:8]


@job_kind("bench.small", "基准：小任务")
def small(ctx: JobContext, params: dict[str, Any]) -> None:
    ctx.summary = "ok"


@job_kind("bench.cpu", "基准：计算任务")
def cpu(ctx: JobContext, params: dict[str, Any]) -> None:
    ctx.summary = cpu_work(str(params["n"]))


if __name__ == "__main__":
    overrides = json.loads(os.environ["BENCH_OVERRIDES"])
    flask_app = create_app(overrides, instance_path=os.environ["BENCH_INSTANCE"])
    celery = flask_app.extensions["celery"]
    ticks = os.environ["BENCH_TICKS"]

    @celery.task(name="bench.bare")
    def bare() -> None:
        """The floor: a task that only records that it ran (one byte appended to a file)."""
        fd = os.open(ticks, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        os.write(fd, b".")
        os.close(fd)

    celery.worker_main(["worker", "--pool=solo", "--loglevel=WARNING", "--without-gossip", "--without-mingle",
                        "--without-heartbeat", "-Q", overrides["CELERY_QUEUE"], "-n", f"bench{os.getpid()}@%h"])
