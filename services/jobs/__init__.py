"""Background jobs on Celery (issue 14; the platform's long work: imports, large exports, certificate
generation, notifications, BPMN timers).

A job kind is a function registered with `@job_kind`; `start_job` records a `Job` row and hands its id to Celery;
a worker runs it through `JobContext`, whose `each` gives every item its own transaction and a `job_item` row, so
that a job run again after its worker died (`recover_stale`) neither repeats an item nor loses one. Progress,
the summary, a result file and the error in Chinese are on the row, for the job pages (app/blueprints/jobs).
Imports only services/common: every area may use it.
"""

from services.jobs.runner import (
    JobCancelled,
    JobContext,
    cancel_job,
    job_kind,
    recover_stale,
    retry_job,
    run_job,
    start_job,
)

__all__ = ["JobCancelled", "JobContext", "cancel_job", "job_kind", "recover_stale", "retry_job", "run_job",
           "start_job"]
