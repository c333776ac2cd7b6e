"""The Celery tasks behind jobs: one that runs a job by id, one that queues again the stale ones."""

from __future__ import annotations

from celery import shared_task

from services.jobs.runner import recover_stale, run_job


@shared_task(  # type: ignore[untyped-decorator]
    name="zhiping.run_job", ignore_result=True, acks_late=True, reject_on_worker_lost=True)
def run_job_task(job_id: int) -> None:
    run_job(job_id)


@shared_task(  # type: ignore[untyped-decorator]
    name="zhiping.recover_jobs", ignore_result=True)
def recover_jobs_task() -> int:
    return recover_stale()
