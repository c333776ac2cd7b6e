"""Celery tasks at the application level: the periodic ones `celery beat` fires, and the imports of every
module that registers a job kind, so that a worker knows them all."""

from __future__ import annotations

from celery import shared_task

import services.applications.application_queries  # noqa: F401  (job kinds)
import services.certificates.bulk  # noqa: F401
import services.certificates.imports  # noqa: F401
import services.certificates.review_forms  # noqa: F401
import services.experts.expert_import  # noqa: F401
import services.history.certificates  # noqa: F401
import services.history.upload  # noqa: F401
import services.jobs.tasks  # noqa: F401
import services.meetings.draws  # noqa: F401
import services.notifications.tasks  # noqa: F401  (delivery sweep, deadline reminders)
import services.results.confirmation  # noqa: F401
from app.extensions import db


@shared_task(name="zhiping.workflow_tick", ignore_result=True)
def workflow_tick() -> int:
    """Fire due BPMN timers (committee filing expiry, deadlines); `flask workflow tick` does the same from cron."""
    from services.workflow import instances

    fired = instances.tick_due()
    db.session.commit()
    return fired


@shared_task(name="zhiping.results_release", ignore_result=True)
def results_release() -> int:
    """评审结果公示 whose period has ended: passers go to confirmation, or wait for their complaints."""
    from services.results import publicity

    released = publicity.release_due()
    db.session.commit()
    return released
