"""Starting, running, cancelling and recovering jobs; the per-item transaction that makes a job idempotent.

Rules owned here:
- `start_job` commits the caller's transaction with the new `Job` row before the message goes to the broker, so
  the worker always finds the row (and the work the request did before it).
- A worker runs a job only after claiming it with one conditional UPDATE: from 排队中, or from 运行中 when the
  heartbeat is older than JOB_STALE_SECONDS (its worker died). A second delivery of the same message claims
  nothing and returns, so duplicates from the broker or from `recover_stale` are harmless.
- `JobContext.each` commits each item's work together with its `job_item` row and the job's counters. A worker
  killed mid-item loses that item's transaction, and the retry redoes it; an item with a row is never redone;
  two workers racing on one item (a slow worker taken for dead) collide on the unique (job_id, key) and the
  loser's transaction is rolled back. A `ServiceError` from the handler refuses that item with its message
  (未处理 + reason; its `item_status` when it names one, such as "taken") and the job goes on; any other error
  fails the job, keeping what was done.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import and_, bindparam, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import Job, JobItem, User
from services.common import audit_log
from services.common.errors import Conflict, Forbidden, InvalidInput, NotFound, ServiceError
from services.common.file_store import StoredFile, store

log = logging.getLogger(__name__)

Handler = Callable[[str], "str | None"]


@dataclass(frozen=True)
class JobKind:
    name: str
    label: str
    run: Callable[[JobContext, dict[str, Any]], None]
    cancellable: bool


_KINDS: dict[str, JobKind] = {}
# Each item's record and the job's counter and heartbeat, built once: an item of a bulk job costs about a
# millisecond of its own, and building an ORM statement per item cost a third of that (issue 17).
_JOB, _ITEM = Job.__table__, JobItem.__table__
_NEW_ITEM = insert(_ITEM)
_COUNTED = {counter: update(_JOB).where(_JOB.c.id == bindparam("job_id"))
            .values({counter: _JOB.c[counter] + 1, _JOB.c.heartbeat_at: bindparam("now")})
            .returning(_JOB.c.cancel_requested, _JOB.c.worker) for counter in ("done", "refused")}
# Called with a job's id once it has finished and its end is committed (services/notifications tells the starter);
# registered by the packages above this one, which services/jobs may not import.
_FINISHED_LISTENERS: list[Callable[[int], None]] = []


def on_job_finished(listener: Callable[[int], None]) -> None:
    if listener not in _FINISHED_LISTENERS:
        _FINISHED_LISTENERS.append(listener)


def job_kind(name: str, label: str, cancellable: bool = True) -> Callable[[Any], Any]:
    """Register `run(ctx, params)` as the job kind `name` (label: what the job does, in Chinese).
    `cancellable=False` for kinds whose work is one transaction (all or none) and cannot stop half-way."""

    def register(run: Callable[[JobContext, dict[str, Any]], None]) -> Callable[[JobContext, dict[str, Any]], None]:
        _KINDS[name] = JobKind(name, label, run, cancellable)
        return run

    return register


def kind_label(name: str) -> str:
    kind = _KINDS.get(name)
    return kind.label if kind else name


def is_cancellable(job: Job) -> bool:
    kind = _KINDS.get(job.kind)
    return bool(kind and kind.cancellable) and not job.finished


class JobCancelled(Exception):
    """Raised inside a running job when someone asked to cancel it."""


class _JobLost(Exception):
    """This worker no longer owns the job (another worker reclaimed it as stale)."""


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class JobContext:
    """What a job kind's function gets: its parameters, the person who started it, progress and per-item work."""

    def __init__(self, job: Job, worker: str) -> None:
        self.job_id = job.id
        self.params: dict[str, Any] = dict(job.params or {})
        self.started_by_id = job.started_by_id
        self.worker = worker
        self.summary = ""
        self.result: dict[str, Any] | None = None
        self.result_file: tuple[StoredFile, str] | None = None  # (stored file, mimetype), set by attach_file

    @property
    def actor(self) -> User | None:
        return db.session.get(User, self.started_by_id) if self.started_by_id else None

    def set_total(self, total: int) -> None:
        self._touch({Job.total: total})
        db.session.commit()

    def report_progress(self, done: int, total: int) -> None:
        """Progress of work that is not split into items (one transaction, e.g. a file's row check)."""
        self._touch({Job.done: done, Job.total: total})
        db.session.commit()

    def check_cancelled(self) -> None:
        self._touch({})
        db.session.commit()

    def each(self, keys: Iterable[object], handler: Handler) -> None:
        """Run `handler(key)` for every key not yet processed by this job, each in its own transaction."""
        processed = set(db.session.scalars(select(JobItem.key).where(JobItem.job_id == self.job_id)))
        for raw in keys:
            key = str(raw)
            if key in processed:
                continue
            try:
                message, status = handler(key) or "", "done"
            except ServiceError as exc:
                db.session.rollback()
                # An error may name a finer 未处理 (services.workflow.task_batch: "taken", another person was first).
                message, status = exc.message, getattr(exc, "item_status", "refused")
            except Exception:
                db.session.rollback()
                raise
            try:
                now = datetime.now()
                connection = db.session.connection()
                connection.execute(_NEW_ITEM, {"job_id": self.job_id, "key": key, "status": status,
                                               "message": message[:2000], "at": now})
                counter = _COUNTED["done" if status == "done" else "refused"]  # "taken" counts with the refused
                self._check(connection.execute(counter, {"job_id": self.job_id, "now": now}).one())
                db.session.commit()
            except IntegrityError:
                db.session.rollback()  # another worker recorded this item first: its work stands, ours is undone
            processed.add(key)

    def attach_file(self, filename: str, content: bytes, mimetype: str) -> None:
        checked = StoredFile(hashlib.sha256(content).hexdigest(), filename, len(content), mimetype)
        store(checked, content)
        self.result_file = (checked, mimetype)

    def _touch(self, values: dict[Any, Any]) -> None:
        """Heartbeat (and `values`) in one statement that also says whether to stop."""
        self._check(db.session.execute(
            update(Job).where(Job.id == self.job_id).values({Job.heartbeat_at: datetime.now(), **values})
            .returning(Job.cancel_requested, Job.worker)).one())

    def _check(self, row: Any) -> None:
        """The job's row after a heartbeat: stop when another worker took it over or someone asked to cancel."""
        if row.worker != self.worker:
            raise _JobLost()
        if row.cancel_requested:
            db.session.commit()  # what was done so far stands
            raise JobCancelled()


def start_job(actor: User | None, kind: str, title: str, params: dict[str, Any] | None = None) -> Job:
    """Record a job and queue it. Commits the caller's transaction first (the worker must see what it did)."""
    if kind not in _KINDS:
        raise InvalidInput(f"未知的任务类型：{kind}")
    job = Job(kind=kind, title=title[:200], params=params or {}, state="queued",
              started_by_id=actor.id if actor else None, unit_id=actor.unit_id if actor else None,
              created_at=datetime.now())
    db.session.add(job)
    db.session.flush()
    audit_log.record(actor, "job.start", f"启动后台任务：{job.title}", "job", job.id, {"kind": kind})
    db.session.commit()
    _enqueue(job.id)
    db.session.expire(job)
    return job


def _enqueue(job_id: int) -> None:
    import services.jobs.tasks  # noqa: F401  (registers the task with every Celery app)

    # The Celery app of this Flask app, not the process's default: another app may have been created since.
    run_job_task = current_app.extensions["celery"].tasks["zhiping.run_job"]
    try:
        run_job_task.apply_async(args=[job_id], retry=True,
                                 retry_policy={"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5})
    except Exception:  # broker unreachable: the row stays 排队中 and recover_stale queues it again
        log.exception("job %s could not be queued", job_id)


def run_job(job_id: int) -> bool:
    """Claim the job and run it; False when there was nothing to claim (finished, cancelled, or alive elsewhere)."""
    me, now = worker_name(), datetime.now()
    stale = now - timedelta(seconds=current_app.config["JOB_STALE_SECONDS"])
    result = db.session.execute(
        update(Job).where(Job.id == job_id, or_(Job.state == "queued",
                                                and_(Job.state == "running", Job.heartbeat_at < stale)))
        .values(state="running", worker=me, started_at=func.coalesce(Job.started_at, now), heartbeat_at=now,
                attempts=Job.attempts + 1, error=""))
    claimed: int = getattr(result, "rowcount", 0)  # an UPDATE's CursorResult
    db.session.commit()
    if not claimed:
        return False
    job = db.session.get(Job, job_id)
    assert job is not None
    ctx, kind_name = JobContext(job, me), job.kind
    kind = _KINDS.get(kind_name)
    # End the read transaction now: on SQLite a snapshot held through the job's work cannot be upgraded to the
    # final write once another worker has committed ("database is locked"); the work starts its own.
    db.session.commit()
    state, error = "done", ""
    try:
        if kind is None:
            raise InvalidInput(f"未知的任务类型：{kind_name}")
        kind.run(ctx, dict(ctx.params))
    except JobCancelled:
        db.session.rollback()
        state = "cancelled"
    except _JobLost:
        db.session.rollback()
        return False
    except ServiceError as exc:
        db.session.rollback()
        state, error = "failed", exc.message
    except Exception as exc:
        db.session.rollback()
        log.exception("job %s (%s) failed", job_id, kind_name)
        state, error = "failed", (f"任务执行出错（{type(exc).__name__}），已记录日志。可点击“重试”继续，"
                                  "已处理的条目不会重复处理。")
    values: dict[Any, Any] = {Job.state: state, Job.finished_at: datetime.now(), Job.error: error}
    if state == "done":
        values.update({Job.summary: ctx.summary, Job.result: ctx.result})
        if ctx.result_file:
            checked, mimetype = ctx.result_file
            values.update({Job.result_sha256: checked.sha256, Job.result_filename: checked.filename,
                           Job.result_mimetype: mimetype})
    db.session.execute(update(Job).where(Job.id == job_id, Job.worker == me).values(values))
    db.session.commit()
    for listener in _FINISHED_LISTENERS:
        try:
            listener(job_id)
            db.session.commit()
        except Exception:  # a listener's failure never changes the job's outcome
            db.session.rollback()
            log.exception("job %s: finished listener failed", job_id)
    return True


def load_job(actor: User, job_id: int) -> Job:
    """A job its starter (or the platform administrator) may see."""
    job = db.session.get(Job, job_id)
    if job is None or not (job.started_by_id == actor.id or actor.is_platform_admin):
        raise NotFound("任务不存在")
    return job


def cancel_job(actor: User, job: Job) -> None:
    if job.finished:
        raise Conflict("任务已结束，无法取消")
    if not is_cancellable(job):
        raise Conflict(f"“{kind_label(job.kind)}”一次完成全部数据，不能中途取消")
    if job.started_by_id != actor.id and not actor.is_platform_admin:
        raise Forbidden("只能取消自己启动的任务")
    now = datetime.now()
    result = db.session.execute(
        update(Job).where(Job.id == job.id, Job.state == "queued")
        .values(state="cancelled", cancel_requested=True, finished_at=now))
    cancelled_at_once: int = getattr(result, "rowcount", 0)
    if not cancelled_at_once:
        db.session.execute(update(Job).where(Job.id == job.id).values(cancel_requested=True))
    audit_log.record(actor, "job.cancel", f"取消后台任务：{job.title}", "job", job.id)
    db.session.commit()
    db.session.expire(job)


def retry_job(actor: User, job: Job) -> None:
    """Run a failed job again; the items it processed are skipped."""
    if job.state != "failed":
        raise Conflict("只有失败的任务可以重试")
    if job.started_by_id != actor.id and not actor.is_platform_admin:
        raise Forbidden("只能重试自己启动的任务")
    db.session.execute(update(Job).where(Job.id == job.id, Job.state == "failed")
                       .values(state="queued", error="", finished_at=None, cancel_requested=False))
    audit_log.record(actor, "job.retry", f"重试后台任务：{job.title}", "job", job.id)
    db.session.commit()
    _enqueue(job.id)
    db.session.expire(job)


def recover_stale() -> int:
    """Queue again the jobs whose worker died (heartbeat older than JOB_STALE_SECONDS) and those 排队中 for longer
    than JOB_REQUEUE_SECONDS (their message was lost with a broker); the claim makes extra deliveries harmless."""
    now = datetime.now()
    config = current_app.config
    ids = list(db.session.scalars(select(Job.id).where(or_(
        and_(Job.state == "running", Job.heartbeat_at < now - timedelta(seconds=config["JOB_STALE_SECONDS"])),
        and_(Job.state == "queued", Job.created_at < now - timedelta(seconds=config["JOB_REQUEUE_SECONDS"]))))))
    db.session.rollback()
    for job_id in ids:
        _enqueue(job_id)
    return len(ids)
