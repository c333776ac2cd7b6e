"""Notifications (FEATURES K4): in-app notifications with a bell in the top bar, sent on by e-mail and SMS.

Events (`events.EVENTS`) — a new task in someone's 待办, a 退回 to an applicant, a 答辩通知, a deadline 3 working
days ahead, a committee filing about to expire, a finished background job, a message received — call `notify`
(or `tasks_assigned` from the inbox projection), which writes the notifications in one INSERT inside the caller's
transaction: nothing is sent before the caller commits, and nothing is sent when it rolls back.

Sending is the job layer's: Celery beat runs `delivery.deliver_pending` every NOTIFY_DELIVER_SECONDS. It turns new
notifications into deliveries by the person's preferences (`preferences`; in-app is always on), then sends each
through the channel's sender (`senders`: SMTP e-mail, SMS behind an interface whose default only logs), each in
its own transaction, retrying a failed send with growing pauses up to NOTIFY_MAX_ATTEMPTS. Deadline reminders
are swept daily by beat (`reminders`), never on a page load. Imports services/common, jobs and reference only.
"""

from services.notifications import job_events  # noqa: F401  (a finished job tells its starter)
from services.notifications.center import (
    Recipient,
    applicant_recipient,
    notify,
    task_assigned_rows,
    tasks_assigned,
    user_recipient,
)

__all__ = ["Recipient", "applicant_recipient", "notify", "task_assigned_rows", "tasks_assigned", "user_recipient"]
