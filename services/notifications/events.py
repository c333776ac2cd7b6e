"""The events people are notified of, their names in Chinese and the channels they go out on by default.

In-app notifications are always on; e-mail and SMS follow the person's preferences, else these defaults.
"""

from __future__ import annotations

from dataclasses import dataclass

CHANNELS = {"email": "电子邮件", "sms": "短信"}


@dataclass(frozen=True)
class Event:
    code: str
    label: str
    default_channels: frozenset[str]
    for_applicants: bool = False  # shown on an applicant's settings page
    for_staff: bool = True


EVENTS: dict[str, Event] = {e.code: e for e in (
    Event("task_assigned", "新的待办事项", frozenset({"email"})),
    Event("application_returned", "申报被退回", frozenset({"email", "sms"}), for_applicants=True, for_staff=False),
    Event("defense_notice", "答辩通知", frozenset({"email", "sms"}), for_applicants=True, for_staff=False),
    Event("deadline_reminder", "截止时间提醒（提前 3 个工作日）", frozenset({"email"}), for_applicants=True),
    Event("committee_expiring", "评委会备案即将到期", frozenset({"email"})),
    Event("job_finished", "后台任务完成", frozenset()),
    Event("message_received", "收到新消息", frozenset({"email"}), for_applicants=True),
)}


def event_label(code: str) -> str:
    event = EVENTS.get(code)
    return event.label if event else code
