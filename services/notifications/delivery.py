"""The delivery sweep Celery beat runs every NOTIFY_DELIVER_SECONDS: new notifications become deliveries, due
deliveries are sent.

Rules:
- Expanding a notification into deliveries and marking it done is one transaction that starts with a conditional
  UPDATE … RETURNING, so two workers never expand the same notification, and a worker that dies leaves it pending.
- A delivery exists only for a channel the person has switched on (or left at its default on) and has an
  address for (e-mail address, mobile number).
- Sending claims due rows with one conditional UPDATE (待发送 → 发送中), then sends each in its own transaction.
  A failure counts an attempt and waits RETRY_BASE_SECONDS × 2^(attempts-1) (at most an hour) before the next;
  after NOTIFY_MAX_ATTEMPTS it is 发送失败 with the error kept. A row left 发送中 by a dead worker is pending
  again after JOB_STALE_SECONDS.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import insert, select, update

from app.extensions import db
from app.models import Applicant, Notification, NotificationDelivery, NotificationPreference, User
from services.jobs.runner import worker_name
from services.notifications.events import CHANNELS, EVENTS
from services.notifications.senders import Sender, sender_for

log = logging.getLogger(__name__)

RETRY_BASE_SECONDS = 60
MAIL_FOOTER = "\n\n—— 请登录职称评审管理平台查看详情。本邮件由系统自动发送，请勿直接回复。"


@dataclass(frozen=True)
class SweepReport:
    expanded: int
    sent: int
    failed: int


def deliver_pending(limit: int = 500, senders: Mapping[str, Sender] | None = None) -> SweepReport:
    """One sweep: expand up to `limit` new notifications, then send up to `limit` due deliveries."""
    expanded = expand_new(limit)
    sent, failed = send_due(limit, senders)
    return SweepReport(expanded, sent, failed)


def expand_new(limit: int) -> int:
    pending = (select(Notification.id).where(Notification.dispatch_state == "pending")
               .order_by(Notification.id).limit(limit).scalar_subquery())
    claimed = db.session.execute(
        update(Notification).where(Notification.id.in_(pending), Notification.dispatch_state == "pending")
        .values(dispatch_state="done", dispatch_by=worker_name())
        .returning(Notification.id, Notification.user_id, Notification.applicant_id, Notification.event)).all()
    if not claimed:
        db.session.commit()
        return 0
    addresses = _addresses({r.user_id for r in claimed if r.user_id}, {r.applicant_id for r in claimed
                                                                      if r.applicant_id})
    keys = {f"u:{r.user_id}" if r.user_id else f"a:{r.applicant_id}" for r in claimed}
    chosen = {(p.recipient_key, p.event, p.channel): p.enabled for p in db.session.execute(
        select(NotificationPreference.recipient_key, NotificationPreference.event, NotificationPreference.channel,
               NotificationPreference.enabled).where(NotificationPreference.recipient_key.in_(keys)))}
    now = datetime.now()
    rows = []
    for row in claimed:
        key = f"u:{row.user_id}" if row.user_id else f"a:{row.applicant_id}"
        event = EVENTS.get(row.event)
        for channel in CHANNELS:
            default = bool(event and channel in event.default_channels)
            address = addresses.get((key, channel))
            if address and chosen.get((key, row.event, channel), default):
                rows.append({"notification_id": row.id, "channel": channel, "address": address,
                             "status": "pending", "attempts": 0, "next_attempt_at": now, "last_error": ""})
    if rows:
        db.session.execute(insert(NotificationDelivery), rows)
    db.session.commit()
    return len(claimed)


def _addresses(user_ids: set[int], applicant_ids: set[int]) -> dict[tuple[str, str], str]:
    found: dict[tuple[str, str], str] = {}
    for prefix, model, ids in (("u", User, user_ids), ("a", Applicant, applicant_ids)):
        if not ids:
            continue
        for ident, email, phone in db.session.execute(
                select(model.id, model.email, model.phone).where(model.id.in_(ids))):
            if email:
                found[(f"{prefix}:{ident}", "email")] = email
            if phone:
                found[(f"{prefix}:{ident}", "sms")] = phone
    return found


def send_due(limit: int, senders: Mapping[str, Sender] | None = None) -> tuple[int, int]:
    config = current_app.config
    now, me = datetime.now(), worker_name()
    db.session.execute(update(NotificationDelivery).where(
        NotificationDelivery.status == "sending",
        NotificationDelivery.claimed_at < now - timedelta(seconds=int(config["JOB_STALE_SECONDS"])))
        .values(status="pending"))
    due = (select(NotificationDelivery.id).where(NotificationDelivery.status == "pending",
                                                 NotificationDelivery.next_attempt_at <= now)
           .order_by(NotificationDelivery.id).limit(limit).scalar_subquery())
    ids = list(db.session.scalars(
        update(NotificationDelivery).where(NotificationDelivery.id.in_(due), NotificationDelivery.status == "pending")
        .values(status="sending", claimed_by=me, claimed_at=now).returning(NotificationDelivery.id)))
    db.session.commit()
    if not ids:
        return 0, 0
    work = db.session.execute(
        select(NotificationDelivery.id, NotificationDelivery.channel, NotificationDelivery.address,
               NotificationDelivery.attempts, Notification.title, Notification.body)
        .join(Notification, Notification.id == NotificationDelivery.notification_id)
        .where(NotificationDelivery.id.in_(ids)).order_by(NotificationDelivery.id)).all()
    db.session.commit()
    chosen: dict[str, Sender] = dict(senders or {})
    sent = failed = 0
    for item in work:
        sender = chosen.setdefault(item.channel, sender_for(item.channel, config))
        values: dict[str, Any]
        try:
            body = item.body + (MAIL_FOOTER if item.channel == "email" else "")
            sender.send(item.address, item.title, body)
            values = {"status": "sent", "sent_at": datetime.now(), "attempts": item.attempts + 1, "last_error": ""}
            sent += 1
        except Exception as exc:  # any failure of a sender is retried later; the error is kept for the page
            log.warning("delivery %s via %s failed: %s", item.id, item.channel, exc)
            attempts = item.attempts + 1
            final = attempts >= int(config["NOTIFY_MAX_ATTEMPTS"])
            pause = min(RETRY_BASE_SECONDS * 2 ** (attempts - 1), 3600)
            values = {"status": "failed" if final else "pending", "attempts": attempts,
                      "last_error": f"{type(exc).__name__}: {exc}"[:2000],
                      "next_attempt_at": datetime.now() + timedelta(seconds=pause)}
            failed += final
        db.session.execute(update(NotificationDelivery).where(NotificationDelivery.id == item.id,
                                                              NotificationDelivery.claimed_by == me)
                           .values(values))
        db.session.commit()
    return sent, failed
