"""Deadline reminders, swept once a day by Celery beat (never on a page load).

A 评审活动's times (S 1.2.4.1) bind different people, and each is reminded when the time falls within the next
REMIND_WORKING_DAYS working days (the calendar of admin_config/calendar.yaml: weekends, holidays, 调休):
- 个人初次提交截止时间 — applicants whose declaration is still 暂存;
- 个人修改提交截止时间 — applicants whose declaration was 退回 to them;
- 评委会接收申报截止时间 — the staff holding an open 申报材料审核 task of the activity (after it no unit passes a
  declaration up, S 1.2.3.1).
Each person is reminded once per activity and deadline (the notification's dedupe key), however often the sweep
runs. Committee filing expiry is the committee_filing diagram's timer (fired by beat's workflow tick).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select

from app.extensions import db
from app.models import Declaration, HumanTask, HumanTaskCandidate, Notification, ReviewActivity
from services.notifications.center import Recipient, applicant_recipient, notify, user_recipient
from services.reference import workdays

REMIND_WORKING_DAYS = 3
DEADLINES = {
    "first_submit_deadline": ("个人初次提交截止时间", "draft"),
    "revise_submit_deadline": ("个人修改提交截止时间", "returned"),
    "committee_receive_deadline": ("评委会接收申报截止时间", ""),
}


def horizon(today: date, working_days: int = REMIND_WORKING_DAYS) -> date:
    """The day `working_days` working days after `today`."""
    calendar, day, counted = workdays.calendar(), today, 0
    while counted < working_days:
        day += timedelta(days=1)
        counted += calendar.is_working_day(day)
    return day


def send_deadline_reminders(today: date | None = None) -> int:
    """Remind everyone whose deadline falls after today and within the horizon; returns how many were written."""
    today = today or date.today()
    start, end = datetime.combine(today + timedelta(days=1), datetime.min.time()), \
        datetime.combine(horizon(today) + timedelta(days=1), datetime.min.time())
    written = 0
    for field, (label, declaration_status) in DEADLINES.items():
        column = getattr(ReviewActivity, field)
        activities = db.session.execute(select(ReviewActivity.id, ReviewActivity.name, column).where(
            ReviewActivity.status == "published", column >= start, column < end)).all()
        for activity_id, name, deadline in activities:
            recipients = (_applicants(activity_id, declaration_status) if declaration_status
                          else _task_holders(activity_id))
            written += _remind(recipients, activity_id, field, label, name, deadline)
    return written


def _applicants(activity_id: int, status: str) -> list[Recipient]:
    return [applicant_recipient(i) for i in db.session.scalars(select(Declaration.applicant_id).where(
        Declaration.activity_id == activity_id, Declaration.status == status).distinct())]


def _task_holders(activity_id: int) -> list[Recipient]:
    return [user_recipient(i) for i in db.session.scalars(
        select(HumanTaskCandidate.user_id).join(HumanTask, HumanTask.id == HumanTaskCandidate.task_id)
        .where(HumanTask.activity_id == activity_id, HumanTask.status == "open",
               HumanTask.business_type == "application_review").distinct())]


def _remind(recipients: list[Recipient], activity_id: int, field: str, label: str, activity_name: str,
            deadline: datetime) -> int:
    keyed = {f"deadline:{field}:{activity_id}:{r.key}": r for r in recipients}
    if not keyed:
        return 0
    done = set(db.session.scalars(select(Notification.dedupe_key).where(Notification.dedupe_key.in_(list(keyed)))))
    fresh = [(key, r) for key, r in keyed.items() if key not in done]
    if not fresh:
        return 0
    when = deadline.strftime("%Y-%m-%d %H:%M")
    return notify("deadline_reminder", [r for _, r in fresh], f"{label}临近：{activity_name}",
                  f"评审活动“{activity_name}”的{label}为 {when}，请在此之前办理。", ("activity", activity_id),
                  dedupe_keys=[key for key, _ in fresh])
