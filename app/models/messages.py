"""通知公告 (K3) and 消息推送 / 已接收消息 (K1, K2).

A notice (公告) is published to the public home page; a message (消息) goes from a unit to chosen subordinate
units or to applicants of its scope, one receipt row per recipient carrying 未读 / 已读 and who confirmed it.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.org import Unit

if TYPE_CHECKING:
    from app.models.accounts import User
    from app.models.applicant import Applicant

# S 1.2.15.1: the eight types of 通知公告.
NOTICE_TYPES = {"notice": "通知公告", "policy": "政策法规", "document": "公布文件", "standard": "标准条件",
                "upload": "上传文件", "faq": "常见问题", "post_review": "评后公示", "conditions": "申报条件"}
NOTICE_STATUS_LABELS = {"draft": "未发布", "published": "已发布", "withdrawn": "已撤销"}
MESSAGE_AUDIENCE_LABELS = {"units": "下级单位", "applicants": "申报人"}


class Notice(db.Model):
    __tablename__ = "notice"
    __table_args__ = (Index("ix_notice_public", "status", "notice_type", "published_at"),
                      Index("ix_notice_unit", "unit_id", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))  # the publishing unit
    notice_type: Mapped[str] = mapped_column(String(20))  # NOTICE_TYPES
    title: Mapped[str] = mapped_column(String(100))
    body_html: Mapped[str] = mapped_column(Text, default="")  # sanitised when saved (services/notices)
    attachment: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # {sha256, filename, file_type}
    status: Mapped[str] = mapped_column(String(12), default="draft")
    published_at: Mapped[datetime | None] = mapped_column()
    withdrawn_at: Mapped[datetime | None] = mapped_column()
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())

    unit: Mapped[Unit] = relationship(lazy="joined")

    @property
    def type_label(self) -> str:
        return NOTICE_TYPES.get(self.notice_type, self.notice_type)

    @property
    def status_label(self) -> str:
        return NOTICE_STATUS_LABELS.get(self.status, self.status)


class Message(db.Model):
    __tablename__ = "message"
    __table_args__ = (Index("ix_message_sender_unit", "sender_unit_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sender_unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    sender_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    audience: Mapped[str] = mapped_column(String(12))  # MESSAGE_AUDIENCE_LABELS
    title: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text, default="")
    attachment: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    recipient_count: Mapped[int] = mapped_column(default=0)
    job_id: Mapped[int | None] = mapped_column()  # when sent as a background job (many recipients)
    created_at: Mapped[datetime] = mapped_column(default=datetime.now)

    sender_unit: Mapped[Unit] = relationship(lazy="joined")

    @property
    def audience_label(self) -> str:
        return MESSAGE_AUDIENCE_LABELS.get(self.audience, self.audience)


class MessageReceipt(db.Model):
    """One recipient of a message: a unit (any of its staff reads it and confirms for the unit) or an applicant."""

    __tablename__ = "message_receipt"
    __table_args__ = (UniqueConstraint("message_id", "unit_id", name="uq_message_receipt_unit"),
                      UniqueConstraint("message_id", "applicant_id", name="uq_message_receipt_applicant"),
                      Index("ix_message_receipt_unit_inbox", "unit_id", "read_at", "id"),
                      Index("ix_message_receipt_applicant_inbox", "applicant_id", "read_at", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("message.id", ondelete="CASCADE"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    applicant_id: Mapped[int | None] = mapped_column(ForeignKey("applicant.id", ondelete="CASCADE"))
    read_at: Mapped[datetime | None] = mapped_column()
    read_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))  # who confirmed for the unit
    created_at: Mapped[datetime] = mapped_column(default=datetime.now)

    message: Mapped[Message] = relationship(lazy="joined")
    unit: Mapped[Unit | None] = relationship(foreign_keys=[unit_id])
    applicant: Mapped[Applicant | None] = relationship()
    read_by: Mapped[User | None] = relationship(foreign_keys=[read_by_id])
