"""Job kinds for the job-layer tests: each item leaves one audit-log row, so a test can count how often an item
was processed. Imported by the tests and by the worker processes they start (job_worker.py)."""

from __future__ import annotations

import time
from typing import Any

from app.models import AuditLog
from services.common import audit_log
from services.common.errors import InvalidInput
from services.jobs import JobContext, job_kind

FAIL_ONCE: set[str] = set()


@job_kind("test.mark", "测试：逐条标记")
def mark(ctx: JobContext, params: dict[str, Any]) -> None:
    keys = [str(k) for k in range(int(params["count"]))]
    refuse = {str(k) for k in params.get("refuse", [])}
    pause = float(params.get("pause", 0))

    def handle(key: str) -> str:
        if key in refuse:
            raise InvalidInput(f"第 {key} 条：测试拒绝")
        if key in FAIL_ONCE:
            FAIL_ONCE.discard(key)
            raise RuntimeError("boom")
        audit_log.record(None, "test.mark", f"job {ctx.job_id} item {key}", "job", ctx.job_id, {"key": key})
        if pause:
            time.sleep(pause)  # the work an item takes, so that a worker can be killed in the middle of a job
        return f"已标记 {key}"

    ctx.set_total(len(keys))
    ctx.each(keys, handle)
    ctx.summary = f"标记完成 {len(keys)} 条"
    if params.get("file"):
        ctx.attach_file("结果.txt", f"共 {len(keys)} 条".encode(), "text/plain")


def marks(job_id: int) -> list[str]:
    from sqlalchemy import select

    from app.extensions import db

    return [d["key"] for d in db.session.scalars(
        select(AuditLog.detail).where(AuditLog.action == "test.mark", AuditLog.target_id == str(job_id)))]
