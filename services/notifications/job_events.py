"""A finished background job tells the person who started it (event job_finished)."""

from __future__ import annotations

from app.extensions import db
from app.models import Job
from services.jobs.runner import on_job_finished
from services.notifications.center import notify, user_recipient


def notify_job_finished(job_id: int) -> None:
    job = db.session.get(Job, job_id, populate_existing=True)  # its end was written through Core
    if job is None or job.started_by_id is None:
        return
    detail = job.error if job.state == "failed" else (job.summary or f"已处理 {job.done} 条，未处理 {job.refused} 条")
    notify("job_finished", [user_recipient(job.started_by_id)], f"后台任务{job.state_label}：{job.title}",
           detail, ("job", job.id))


on_job_finished(notify_job_finished)
