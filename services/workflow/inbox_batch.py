"""待办事项 批量通过 / 批量退回 / 批量不通过 (S 1.2.1; FEATURES P2, P5) as a background job.

Rules owned here:
- The batch is a job (services.jobs) whose items are the chosen tasks, each completed through the single action
  (`instances.complete_posted_task` with the batch's 审核结果 and 审核意见: the area's registered operation where
  there is one) by services.workflow.task_batch: its own transaction, 未处理 with the reasons when refused,
  已被他人处理 when someone was first, never twice after a retry.
- A batch of up to INLINE_LIMIT tasks is run at once by the request itself through the same `run_job` a worker
  runs (a worker that receives it too finds it claimed and does nothing); a larger one waits for a worker while
  the result page shows its progress. Either way the person lands on the same result page.
- The result page lists each task with 完成 / 已被他人处理 / 未处理, the reason and a link to handle it alone; a
  task's title is shown only to who may see the task (its candidates and completer), as the task page decides.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.models import HumanTask, HumanTaskCandidate, Job, JobItem, User
from services.common import opinions
from services.common.errors import InvalidInput, NotFound
from services.jobs import JobContext, job_kind, start_job
from services.jobs.runner import load_job, run_job
from services.workflow import inbox, instances, task_batch

KIND = "inbox.batch"
INLINE_LIMIT = 20


def start_batch(actor: User, task_ids: Sequence[int], decision: str, opinion: str) -> Job:
    """批量办理 the chosen tasks (ids checked by inbox.batch_task_ids); small batches are done on return."""
    if decision not in inbox.BATCH_DECISIONS:
        raise InvalidInput("审核结果：选项无效", field="decision")
    if not opinion:
        raise InvalidInput("审核意见：必须填写", field="opinion")
    if len(opinion) > opinions.MAX_LENGTH:
        raise InvalidInput(f"审核意见：不能超过 {opinions.MAX_LENGTH} 个字", field="opinion")
    label = instances.ACTION_LABELS[decision]
    job = start_job(actor, KIND, f"待办{label.replace('审核', '批量', 1)}（{len(task_ids)} 条）",
                    {"task_ids": [int(t) for t in task_ids], "decision": decision, "opinion": opinion})
    if len(task_ids) <= INLINE_LIMIT:
        run_job(job.id)
        db.session.expire(job)
    return job


@job_kind(KIND, "待办批量办理")
def _run_batch(ctx: JobContext, params: dict[str, Any]) -> None:
    actor = ctx.actor
    if actor is None:
        raise NotFound("启动任务的用户不存在")
    decision, opinion = str(params["decision"]), str(params["opinion"])
    task_ids = [int(t) for t in params["task_ids"]]
    ctx.set_total(len(task_ids))
    label = instances.ACTION_LABELS[decision]

    def complete(key: str) -> str:
        task_id = int(key)
        task = instances.complete_posted_task(actor, task_id, inbox.batch_form_data(actor, task_id, decision, opinion))
        return f"{task.title}：{label}"

    task_batch.complete_each(ctx, task_ids, complete)
    ctx.summary = f"{label}：共 {len(task_ids)} 条"
    ctx.result = {"next_url": f"/inbox/batch/{ctx.job_id}", "next_label": "查看办理结果"}


def load_batch(actor: User, job_id: int) -> Job:
    """A 待办批量办理 job its starter (or a platform administrator) may see; any other id is 404."""
    job = load_job(actor, job_id)
    if job.kind != KIND:
        raise NotFound("任务不存在")
    return job


def decision_label(job: Job) -> str:
    return instances.ACTION_LABELS.get(str((job.params or {}).get("decision", "")), "")


def outcomes(actor: User, job: Job) -> list[inbox.BatchOutcome]:
    """Each processed task of the batch, in the order chosen, as the result page shows it (three queries)."""
    items = {item.key: item for item in db.session.scalars(select(JobItem).where(JobItem.job_id == job.id))}
    chosen: list[Any] = list((job.params or {}).get("task_ids") or [])  # type: ignore[call-overload]
    ids = [int(t) for t in chosen if str(t) in items]
    tasks = {t.id: t for t in db.session.scalars(select(HumanTask).where(HumanTask.id.in_(ids)))}
    candidate_of = set(db.session.scalars(select(HumanTaskCandidate.task_id).where(
        HumanTaskCandidate.task_id.in_(ids), HumanTaskCandidate.user_id == actor.id)))
    shown = []
    for task_id in ids:
        item, task = items[str(task_id)], tasks.get(task_id)
        visible = task is not None and (task_id in candidate_of or task.completed_by_id == actor.id
                                        or actor.is_platform_admin)
        title = task.title if task is not None and visible else ""
        status = item.status if item.status in inbox.BATCH_LABELS else "refused"
        reason = "" if status == "done" else item.message
        shown.append(inbox.BatchOutcome(task_id, title, status, reason,  # type: ignore[arg-type]
                                        openable=status == "refused" and visible))
    return shown
