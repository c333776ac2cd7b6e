"""The Celery tasks beat fires for notifications: the delivery sweep and the daily deadline reminders."""

from __future__ import annotations

from celery import shared_task

from app.extensions import db
from services.notifications.delivery import deliver_pending
from services.notifications.reminders import send_deadline_reminders


@shared_task(name="zhiping.deliver_notifications", ignore_result=True)  # type: ignore[untyped-decorator]
def deliver_notifications_task() -> int:
    report = deliver_pending()
    return report.sent


@shared_task(name="zhiping.deadline_reminders", ignore_result=True)  # type: ignore[untyped-decorator]
def deadline_reminders_task() -> int:
    written = send_deadline_reminders()
    db.session.commit()
    return written
