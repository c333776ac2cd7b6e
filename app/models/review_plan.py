"""评审方案呈报 (Hunan guide H 1.2.2, 1.13, 1.14, 1.23; FEATURES E6): a committee's plan for a review activity —
参评人员, 专家需求, 打分细则 — submitted to the 备案批复单位 for review, as a normal or a special plan."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, ForeignKey, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db

if TYPE_CHECKING:
    from app.models.activity import ReviewActivity
    from app.models.committee import Committee
    from app.models.org import Unit

PLAN_KINDS = {"normal": "正常方案", "special": "特殊方案"}
PLAN_STATUS_LABELS = {"draft": "未呈报", "pending": "审核中", "returned": "已退回", "approved": "审核通过",
                      "rejected": "审核不通过"}


class ReviewPlan(db.Model):
    __tablename__ = "review_plan"

    id: Mapped[int] = mapped_column(primary_key=True)
    committee_id: Mapped[int] = mapped_column(ForeignKey("committee.id"), index=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("review_activity.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)  # the committee's forming unit
    reviewing_unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)  # 备案批复单位
    kind: Mapped[str] = mapped_column(String(10), default="normal")  # PLAN_KINDS
    name: Mapped[str] = mapped_column(String(100))  # 方案名称
    meeting_at: Mapped[datetime | None] = mapped_column()  # 评审时间
    location: Mapped[str] = mapped_column(String(100), default="")  # 评审地点
    description: Mapped[str] = mapped_column(Text, default="")  # 方案说明
    # 参评人员 as submitted: the activity's declarations that passed 参评资格审核.
    participants: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    expert_needs: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # [{specialty, level, count}]
    scoring_rules: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # [{item, score, note}]
    attachment: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(12), default="draft", index=True)
    opinion: Mapped[str] = mapped_column(String(500), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    submitted_at: Mapped[datetime | None] = mapped_column()
    decided_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    committee: Mapped[Committee] = relationship()
    activity: Mapped[ReviewActivity] = relationship()
    unit: Mapped[Unit] = relationship(foreign_keys=[unit_id])
    reviewing_unit: Mapped[Unit] = relationship(foreign_keys=[reviewing_unit_id])

    @property
    def kind_label(self) -> str:
        return PLAN_KINDS.get(self.kind, self.kind)

    @property
    def status_label(self) -> str:
        return PLAN_STATUS_LABELS.get(self.status, self.status)

    @property
    def business_type(self) -> str:
        """Special plans are a business of their own, reviewed by other staff (H 1.14)."""
        return "review_plan_special" if self.kind == "special" else "review_plan"
