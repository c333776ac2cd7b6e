"""Completing many human tasks as one background job (P5; issue 17: "the inbox's generic batch should use the same
machinery"): the 待办事项 batch (services.workflow.inbox_batch) and the issuers' 批量发证 (services.certificates.bulk)
both clear their tasks through `complete_each`.

Rules owned here:
- Each task is completed by the caller's `complete` — the very operation of the single action, so a batch applies
  exactly its checks — in its own transaction with its `job_item` row (services.jobs.JobContext.each): one refusal
  does not undo the others, and a job run again after a crash skips the tasks it has recorded, so no task is
  completed twice.
- A task that could not be completed is 未处理 with every reason the refusal names; a task another person
  completed first is told apart ("taken": 已由 王某 于 … 办理（审核通过）), as the task page's 409 says it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from app.extensions import db
from app.models import HumanTask, User
from services.common.errors import Conflict, ServiceError
from services.jobs import JobContext
from services.workflow import instances

Complete = Callable[[str], "str | None"]  # the task id as the job item's key → the item's message


class TaskTaken(Conflict):
    """The task was completed by someone else before this batch reached it: its item reads 已被他人处理."""

    item_status = "taken"


class TaskRefused(ServiceError):
    """The task's single action refused it: its item reads 未处理 with every reason named once."""

    status = 409


@dataclass(frozen=True)
class Handled:
    """Who completed a task, and how: told to someone whose attempt lost the race (HTTP 409)."""

    name: str
    at: datetime | None
    decision: str

    @property
    def summary(self) -> str:
        when = f"于 {self.at:%Y-%m-%d %H:%M} " if self.at else ""
        return f"已由 {self.name} {when}办理（{instances.ACTION_LABELS.get(self.decision, self.decision)}）"


def handled_by(task_id: int) -> Handled | None:
    row = db.session.execute(
        select(User.name, HumanTask.completed_at, HumanTask.decision)
        .join(User, User.id == HumanTask.completed_by_id).where(HumanTask.id == task_id)).first()
    return Handled(row[0], row[1], row[2]) if row else None


def error_reason(exc: ServiceError) -> str:
    """Every problem the refusal names (a 申报单位's pass lists 公示时间 and each missing attachment), once each."""
    messages = [m for field_messages in exc.errors.values() for m in field_messages] or [exc.message]
    return "；".join(dict.fromkeys(messages))


def refusal(task_id: int, exc: ServiceError) -> ServiceError:
    """What the job item records for a task its single action refused (the caller's transaction rolled back)."""
    task = db.session.get(HumanTask, task_id)
    if isinstance(exc, Conflict) and task is not None and task.status != "open":
        handled = handled_by(task_id)
        return TaskTaken(handled.summary if handled else exc.message)
    return TaskRefused(error_reason(exc))


def complete_each(ctx: JobContext, task_ids: Iterable[object], complete: Complete) -> None:
    """`complete(key)` for every task of the job not yet recorded, each in its own transaction."""

    def handle(key: str) -> str | None:
        try:
            return complete(key)
        except (TaskTaken, TaskRefused):
            raise
        except ServiceError as exc:
            db.session.rollback()  # read who handled the task from a clean transaction
            raise refusal(int(key), exc) from exc

    ctx.each(task_ids, handle)
