"""The Celery application, created by the Flask factory from its configuration.

Broker and result store come from CELERY_BROKER_URL / CELERY_RESULT_BACKEND. The embedded default is kombu's
SQLAlchemy transport on SQLite files in instance/ (made safe for processes starting together in
services/jobs/broker.py), so `make run` needs no server; production points them at
Redis or RabbitMQ (README, "Production"). Every task runs inside the Flask application context.
"""

from __future__ import annotations

from typing import Any

from celery import Celery, Task
from celery.schedules import crontab
from celery.signals import worker_ready
from flask import Flask, has_app_context

from services.jobs.broker import register as register_embedded_broker


def init_celery(app: Flask) -> Celery:
    class FlaskTask(Task):  # type: ignore[misc]
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            if has_app_context():
                return self.run(*args, **kwargs)
            with app.app_context():
                return self.run(*args, **kwargs)

    register_embedded_broker()  # before the first connection resolves the transport's name
    celery = Celery(app.name, task_cls=FlaskTask)
    config = app.config
    celery.conf.update(
        broker_url=config["CELERY_BROKER_URL"],
        result_backend=config["CELERY_RESULT_BACKEND"],
        task_always_eager=config["CELERY_TASK_ALWAYS_EAGER"],
        task_ignore_result=True,
        task_default_queue=config["CELERY_QUEUE"],
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        # kombu's SQLAlchemy transport hands its options to create_engine, so only the brokers that take them get
        # them: Redis redelivers a message unacknowledged this long (the job's claim makes a redelivery harmless).
        broker_transport_options=({"visibility_timeout": config["JOB_STALE_SECONDS"]}
                                  if str(config["CELERY_BROKER_URL"]).startswith("redis") else {}),
        timezone="Asia/Shanghai",
        beat_schedule={
            "workflow-tick": {"task": "zhiping.workflow_tick", "schedule": float(config["WORKFLOW_TICK_SECONDS"])},
            "recover-jobs": {"task": "zhiping.recover_jobs", "schedule": 60.0},
            # 评审结果公示 ends at midnight; hourly is soon enough and costs one query when nothing is due.
            "results-release": {"task": "zhiping.results_release", "schedule": 3600.0},
            # services/notifications: send what is pending; remind of deadlines 3 working days ahead each morning.
            "deliver-notifications": {"task": "zhiping.deliver_notifications",
                                      "schedule": float(config["NOTIFY_DELIVER_SECONDS"])},
            "deadline-reminders": {"task": "zhiping.deadline_reminders", "schedule": crontab(hour=8, minute=0)},
        },
    )
    celery.set_default()
    app.extensions["celery"] = celery

    @worker_ready.connect(weak=False)  # type: ignore[untyped-decorator]
    def _recover_on_start(**_: Any) -> None:
        from services.jobs.runner import recover_stale

        with app.app_context():
            recover_stale()

    return celery
