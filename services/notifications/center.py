"""Creating notifications, the bell's unread count, the list, marking read, and each person's preferences.

Rules:
- `notify` writes every notification of one event in one INSERT in the caller's transaction and reads nothing:
  the inbox projection calls it on its hot path (issue 19: "one bulk insert, no per-row queries").
- A person sees only their own notifications: every query here is keyed by the recipient, so another person's id
  answers 404.
- The unread count stops at UNREAD_CAP (the bell shows "99+"): a count past that changes nothing anyone does.
- Preferences: in-app always; e-mail / SMS per event as the person chose, else the event's default.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import ColumnElement, Select, delete, func, insert, select, update

from app.extensions import db, transaction_memo
from app.models import Applicant, Notification, NotificationPreference, User
from services.common.errors import InvalidInput, NotFound
from services.notifications.events import CHANNELS, EVENTS

UNREAD_CAP = 99
_NOTIFICATION = Notification.__table__
_NEW_NOTIFICATIONS = insert(_NOTIFICATION)  # built once: the inbox projection writes through it on every step


@dataclass(frozen=True)
class Recipient:
    kind: Literal["user", "applicant"]
    id: int

    @property
    def key(self) -> str:
        return f"{'u' if self.kind == 'user' else 'a'}:{self.id}"


def user_recipient(user_id: int) -> Recipient:
    return Recipient("user", user_id)


def applicant_recipient(applicant_id: int) -> Recipient:
    return Recipient("applicant", applicant_id)


def recipient_of(account: User | Applicant | Any) -> Recipient:
    """The signed-in account as a recipient (applicants carry is_applicant)."""
    if getattr(account, "is_applicant", False) is True:
        return applicant_recipient(int(account.id))
    return user_recipient(int(account.id))


def _row(recipient: Recipient, event: str, title: str, body: str, target: tuple[str, int | None],
         now: datetime, dedupe_key: str | None = None) -> dict[str, Any]:
    return {"user_id": recipient.id if recipient.kind == "user" else None,
            "applicant_id": recipient.id if recipient.kind == "applicant" else None,
            "event": event, "title": title[:200], "body": body, "target_type": target[0], "target_id": target[1],
            "created_at": now, "read_at": None, "dispatch_state": "pending", "dispatch_by": None,
            "dedupe_key": dedupe_key}


def notify(event: str, recipients: Iterable[Recipient], title: str, body: str = "",
           target: tuple[str, int | None] = ("", None), dedupe_keys: Sequence[str | None] | None = None) -> int:
    """Notify each recipient (duplicates once) of `event`; one INSERT. Returns how many were written."""
    if event not in EVENTS:
        raise InvalidInput(f"未知的通知事件：{event}")
    now = datetime.now()
    unique = list(dict.fromkeys(recipients))
    keys = list(dedupe_keys) if dedupe_keys is not None else [None] * len(unique)
    rows = [_row(r, event, title, body, target, now, key) for r, key in zip(unique, keys, strict=True)]
    if rows:
        _forget_unread_counts()
        db.session.execute(_NEW_NOTIFICATIONS, rows)
    return len(rows)


def task_assigned_rows(tasks: Iterable[tuple[int, int | None, str, str]]) -> list[dict[str, Any]]:
    """The notification rows of tasks_assigned, unwritten: for a caller that writes them in a statement of its own
    (the inbox projection on PostgreSQL, whose task ids come from the same statement: target_id None here)."""
    now = datetime.now()
    _forget_unread_counts()  # the caller writes them
    return [_row(user_recipient(user_id), "task_assigned", f"新的待办：{name}", f"{title}（{name}）待您办理。",
                 ("task", task_id), now)
            for user_id, task_id, title, name in tasks]


def tasks_assigned(tasks: Iterable[tuple[int, int, str, str]]) -> int:
    """New 待办 for their candidates: (user id, task id, business title, task name) per candidate; one INSERT."""
    rows = task_assigned_rows(tasks)
    if rows:
        db.session.execute(_NEW_NOTIFICATIONS, rows)
    return len(rows)


# --- reading ----------------------------------------------------------------------------------------------------

def _mine(recipient: Recipient) -> ColumnElement[bool]:
    if recipient.kind == "user":
        return Notification.user_id == recipient.id
    return Notification.applicant_id == recipient.id


def unread_count_column(user_id: Any) -> Any:
    """A staff account's unread count as a scalar subquery, for a statement that reads the account anyway (the
    user loader): the bell costs no statement of its own. `user_id` is a value or a bind parameter — not a column of
    the outer statement: the count's LIMIT needs a derived table, through which the column would not correlate."""
    return _capped_unread(Notification.user_id == user_id).scalar_subquery()


def _capped_unread(mine: ColumnElement[bool]) -> Select[tuple[int]]:
    """The unread notifications `mine` selects, counted up to UNREAD_CAP + 1."""
    capped = select(Notification.id).where(mine, Notification.read_at.is_(None)).limit(UNREAD_CAP + 1).subquery()
    return select(func.count()).select_from(capped)


_PRELOADED = "unread_counts"  # transaction_memo: recipient key → the count read with the account


def remember_unread_count(recipient: Recipient, count: int) -> None:
    """The count as read with the account, valid while this transaction writes no notification."""
    transaction_memo(_PRELOADED)[recipient.key] = count


def _forget_unread_counts() -> None:
    transaction_memo(_PRELOADED).clear()


def unread_count(recipient: Recipient) -> int:
    """Unread notifications, counted up to UNREAD_CAP + 1 (shown as "99+"): the count read with the account in this
    transaction when nothing has written a notification since, else one statement."""
    preloaded = transaction_memo(_PRELOADED).get(recipient.key)
    if preloaded is not None:
        return int(preloaded)
    return int(db.session.scalar(_capped_unread(_mine(recipient))) or 0)


def unread_label(count: int) -> str:
    return f"{UNREAD_CAP}+" if count > UNREAD_CAP else str(count)


def list_statement(recipient: Recipient, status: str = "", event: str = "") -> Any:
    """The recipient's notifications, newest first; status "unread" / "read" and an event filter."""
    stmt = select(Notification).where(_mine(recipient))
    if status == "unread":
        stmt = stmt.where(Notification.read_at.is_(None))
    elif status == "read":
        stmt = stmt.where(Notification.read_at.is_not(None))
    if event:
        stmt = stmt.where(Notification.event == event)
    return stmt.order_by(Notification.id.desc())


def load_own(recipient: Recipient, notification_id: int) -> Notification:
    notification = db.session.scalar(select(Notification).where(Notification.id == notification_id,
                                                                _mine(recipient)))
    if notification is None:
        raise NotFound("通知不存在")
    return notification


def mark_read(recipient: Recipient, notification_ids: Iterable[int] | None = None) -> int:
    """Mark the given notifications (or all) of the recipient read; returns how many changed."""
    stmt = update(Notification).where(_mine(recipient), Notification.read_at.is_(None))
    if notification_ids is not None:
        ids = [i for i in notification_ids]
        if not ids:
            return 0
        stmt = stmt.where(Notification.id.in_(ids))
    _forget_unread_counts()
    result = db.session.execute(stmt.values(read_at=datetime.now()).execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0) or 0)


# --- preferences --------------------------------------------------------------------------------------------------

def preferences(recipient: Recipient) -> dict[tuple[str, str], bool]:
    """(event, channel) → on/off for every event and channel, the person's rows over the defaults."""
    chosen = {(p.event, p.channel): p.enabled for p in db.session.scalars(
        select(NotificationPreference).where(NotificationPreference.recipient_key == recipient.key))}
    return {(code, channel): chosen.get((code, channel), channel in event.default_channels)
            for code, event in EVENTS.items() for channel in CHANNELS}


def set_email(user: User, raw: str) -> None:
    """The staff account's e-mail address for notifications (blank clears it)."""
    value = (raw or "").strip()
    if not value:
        user.email = None
        return
    try:
        user.email = validate_email(value, check_deliverability=False).normalized[:60]
    except EmailNotValidError:
        raise InvalidInput("电子邮箱：格式不正确", field="email") from None


def save_preferences(recipient: Recipient, enabled: set[tuple[str, str]]) -> None:
    """Replace the person's choices: `enabled` holds the (event, channel) pairs switched on."""
    unknown = [pair for pair in enabled if pair[0] not in EVENTS or pair[1] not in CHANNELS]
    if unknown:
        raise InvalidInput(f"提醒方式：未知的事件或渠道 {unknown[0][0]}/{unknown[0][1]}", field="channels")
    db.session.execute(delete(NotificationPreference).where(NotificationPreference.recipient_key == recipient.key))
    db.session.execute(insert(NotificationPreference), [
        {"recipient_key": recipient.key, "event": code, "channel": channel, "enabled": (code, channel) in enabled}
        for code in EVENTS for channel in CHANNELS])
