"""评审结果 (manual S 1.2.6 (6)–(7), S 1.2.7; FEATURES G12, H1–H3): publicity, complaints, result confirmation.

A ResultPublicity publicises the passers of one counted meeting for a period of working days; each passer is a
ResultEntry, which carries the result through confirmation at the 授权管理单位 (or the delegating unit, B7) and
the committee's 职称文件文号. A Complaint (我要反馈, or 线下投诉 recorded by staff) against an entry holds it back
from confirmation until it is settled.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.declaration import Declaration
from app.models.org import Unit

PUBLICITY_STATUS_LABELS = {"published": "公示中", "ended": "公示结束", "withdrawn": "已撤回", "closed": "已办结"}
ENTRY_STATUS_LABELS = {
    "publicity": "公示中", "held": "投诉处理中", "confirming": "未确认", "returned": "已退回", "confirmed": "已通过",
    "rejected": "不通过", "revoked": "投诉成立，不予确认",
}
COMPLAINT_STATUS_LABELS = {"open": "待处理", "settled": "已处理"}
OUTCOME_LABELS = {"upheld": "投诉成立", "dismissed": "投诉不成立"}


class ResultPublicity(db.Model):
    __tablename__ = "result_publicity"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("review_meeting.id"), index=True)
    committee_id: Mapped[int] = mapped_column(ForeignKey("committee.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)  # the committee's forming unit
    title: Mapped[str] = mapped_column(String(100))
    start_on: Mapped[date] = mapped_column()
    end_on: Mapped[date] = mapped_column()
    working_days: Mapped[int] = mapped_column()
    contact_name: Mapped[str] = mapped_column(String(20))
    contact_phone: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(12), default="published", index=True)
    notice_pdf: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # the generated notice's file record
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    published_at: Mapped[datetime] = mapped_column(server_default=func.now())
    withdrawn_at: Mapped[datetime | None] = mapped_column()
    withdraw_reason: Mapped[str] = mapped_column(String(200), default="")

    unit: Mapped[Unit] = relationship()

    @property
    def status_label(self) -> str:
        return PUBLICITY_STATUS_LABELS.get(self.status, self.status)


class ResultEntry(db.Model):
    """One passer's result from publicity to confirmation; the public page shows name, unit and title only."""

    __tablename__ = "result_entry"
    __table_args__ = (Index("ix_result_entry_confirming_status", "confirming_unit_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    publicity_id: Mapped[int] = mapped_column(ForeignKey("result_publicity.id"), index=True)
    declaration_id: Mapped[int] = mapped_column(ForeignKey("declaration.id"), unique=True)
    committee_id: Mapped[int] = mapped_column(ForeignKey("committee.id"), index=True)
    committee_unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)  # the forming unit
    confirming_unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))  # 授权管理单位, or the delegating unit
    delegated: Mapped[bool] = mapped_column(default=False)  # B7: 线上委托结果确认
    position: Mapped[int] = mapped_column(default=0)
    name: Mapped[str] = mapped_column(String(50))
    work_unit: Mapped[str] = mapped_column(String(100))
    title_name: Mapped[str] = mapped_column(String(50))  # 资格名称 (series level title)
    specialty: Mapped[str] = mapped_column(String(50), default="")
    status: Mapped[str] = mapped_column(String(12), default="publicity", index=True)
    opinion: Mapped[str] = mapped_column(String(500), default="")  # the last 确认 / 退回 / 不通过 opinion
    supplement_note: Mapped[str] = mapped_column(String(500), default="")  # 补充材料
    supplement_files: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    doc_no: Mapped[str] = mapped_column(String(60), default="")  # 职称文件文号 (H3)
    approved_on: Mapped[date | None] = mapped_column()
    certificate_queued_at: Mapped[datetime | None] = mapped_column()  # 提交发证信息
    decided_at: Mapped[datetime | None] = mapped_column()

    declaration: Mapped[Declaration] = relationship()
    publicity: Mapped[ResultPublicity] = relationship()
    confirming_unit: Mapped[Unit] = relationship(foreign_keys=[confirming_unit_id])

    @property
    def status_label(self) -> str:
        return ENTRY_STATUS_LABELS.get(self.status, self.status)


class Complaint(db.Model):
    """我要反馈 by a signed-in person, or 线下投诉 recorded by the committee's staff, against one entry."""

    __tablename__ = "result_complaint"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("result_entry.id"), index=True)
    publicity_id: Mapped[int] = mapped_column(ForeignKey("result_publicity.id"), index=True)
    offline: Mapped[bool] = mapped_column(default=False)
    filed_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    filed_by_applicant_id: Mapped[int | None] = mapped_column(ForeignKey("applicant.id"))
    complainant_name: Mapped[str] = mapped_column(String(50))
    complainant_phone: Mapped[str] = mapped_column(String(20))
    content: Mapped[str] = mapped_column(Text)
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(10), default="open", index=True)
    outcome: Mapped[str] = mapped_column(String(10), default="")
    outcome_reason: Mapped[str] = mapped_column(String(500), default="")
    settled_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    settled_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    entry: Mapped[ResultEntry] = relationship()

    @property
    def status_label(self) -> str:
        return COMPLAINT_STATUS_LABELS.get(self.status, self.status)

    @property
    def outcome_label(self) -> str:
        return OUTCOME_LABELS.get(self.outcome, "")


FILING_STATUS_LABELS = {"pending": "审核中", "returned": "已退回", "approved": "已备案", "rejected": "备案不通过"}


class ResultFiling(db.Model):
    """评审结果申请备案 (G13): a meeting's results filed with the 授权管理单位, with the 备案文号, the 备案时间 and
    the 评审工作报告 (H3)."""

    __tablename__ = "result_filing"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("review_meeting.id"), index=True)
    committee_id: Mapped[int] = mapped_column(ForeignKey("committee.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)  # the committee's forming unit
    authorizing_unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    doc_no: Mapped[str] = mapped_column(String(60))  # 备案文号
    filed_on: Mapped[date] = mapped_column()  # 备案时间
    passed_count: Mapped[int] = mapped_column(default=0)
    report: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # 评审工作报告
    status: Mapped[str] = mapped_column(String(12), default="pending", index=True)
    opinion: Mapped[str] = mapped_column(String(500), default="")
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    submitted_at: Mapped[datetime] = mapped_column(server_default=func.now())
    decided_at: Mapped[datetime | None] = mapped_column()

    unit: Mapped[Unit] = relationship(foreign_keys=[unit_id])
    authorizing_unit: Mapped[Unit] = relationship(foreign_keys=[authorizing_unit_id])

    @property
    def status_label(self) -> str:
        return FILING_STATUS_LABELS.get(self.status, self.status)
