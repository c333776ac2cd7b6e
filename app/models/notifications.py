"""Notifications (FEATURES K4): what a person is told in the app, and its deliveries by e-mail and SMS.

A notification belongs to one staff account or one applicant. Creating one is a single INSERT (the inbox
projection writes them in bulk); which channels it goes out on is worked out later by the delivery sweep
(services/notifications/delivery.py), from the person's preferences, so the request that caused it pays nothing
more. Each delivery is a row with its attempts, so a failed send is retried and a worker that died mid-send
leaves a row another worker picks up.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db

DISPATCH_STATES = ("pending", "claimed", "done")
DELIVERY_STATUS_LABELS = {"pending": "待发送", "sending": "发送中", "sent": "已发送", "failed": "发送失败"}


class Notification(db.Model):
    __tablename__ = "notification"
    __table_args__ = (
        Index("ix_notification_user_unread", "user_id", "read_at", "id"),
        Index("ix_notification_applicant_unread", "applicant_id", "read_at", "id"),
        Index("ix_notification_dispatch", "dispatch_state", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Exactly one of the two: a staff account or an applicant (申报人).
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    applicant_id: Mapped[int | None] = mapped_column(ForeignKey("applicant.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    # What the notification is about; the web layer turns it into a link (services never build URLs).
    target_type: Mapped[str] = mapped_column(String(30), default="")
    target_id: Mapped[int | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=datetime.now)
    read_at: Mapped[datetime | None] = mapped_column()
    dispatch_state: Mapped[str] = mapped_column(String(10), default="pending")
    dispatch_by: Mapped[str | None] = mapped_column(String(120))
    # Reminders sent by a periodic sweep carry a key, so a second sweep of the same day does not repeat them.
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)


class NotificationDelivery(db.Model):
    __tablename__ = "notification_delivery"
    __table_args__ = (Index("ix_notification_delivery_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("notification.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(10))  # email / sms
    address: Mapped[str] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(10), default="pending")  # DELIVERY_STATUS_LABELS
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=datetime.now)
    claimed_by: Mapped[str | None] = mapped_column(String(120))
    claimed_at: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str] = mapped_column(Text, default="")
    sent_at: Mapped[datetime | None] = mapped_column()

    @property
    def status_label(self) -> str:
        return DELIVERY_STATUS_LABELS.get(self.status, self.status)


class NotificationPreference(db.Model):
    """A person's choice for one event and channel; without a row the event's default applies."""

    __tablename__ = "notification_preference"
    __table_args__ = (UniqueConstraint("recipient_key", "event", "channel", name="uq_notification_preference"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient_key: Mapped[str] = mapped_column(String(20))  # "u:<user id>" or "a:<applicant id>"
    event: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(10))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
