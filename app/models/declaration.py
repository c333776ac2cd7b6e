"""职称申报 (Hunan guide 二; manual S 1.2.3.1–1.2.3.4, 1.2.5.1; FEATURES F1–F6, B5–B7, G1).

A Declaration is one applicant's declaration against one review activity (one live per person per activity).
The applicant's profile is copied into `snapshot` at each submission, so later edits never change what a
reviewer saw. The review chain's facts live here, not in the process instance: the path resolved at submission
(`path`: the units in order, then the committee), where it stands (`step`), where each 退回 must come back to
(`resume_steps`) and who delegated it (委托评审). Each arrival at a unit is a DeclarationStep row: the unit pages'
tabs (初审 / 复审 / 上级单位退回重审 / 已上报 / 已退回 / 不通过) read those rows, never a workflow.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.activity import ReviewActivity
from app.models.applicant import Applicant
from app.models.committee import Committee
from app.models.dictionary import Specialty, TitleLevel
from app.models.org import Unit

DECLARATION_STATUS_LABELS = {"draft": "暂存", "reviewing": "审核中", "returned": "已退回", "rejected": "不通过",
                             "accepted": "资格审核通过"}
EVALUATION_METHOD_LABELS = {"normal": "正常申报", "exceptional": "破格申报"}
# Why a declaration is at a unit: its first arrival, again after this unit returned it down (复审), or sent back
# down by a superior (上级单位退回重审).
ARRIVAL_LABELS = {"first": "初审", "recheck": "复审", "returned": "上级单位退回重审"}
STEP_STATUS_LABELS = {"pending": "待审核", "passed": "已上报", "returned": "已退回", "rejected": "不通过",
                      "accepted": "资格审核通过"}
# Targets a 退回 may name besides a unit on the path.
RETURN_TO_APPLICANT = "applicant"


class Declaration(db.Model):
    __tablename__ = "declaration"
    __table_args__ = (
        UniqueConstraint("applicant_id", "activity_id", name="uq_declaration_applicant_activity"),
        Index("ix_declaration_activity_status", "activity_id", "status"),
        Index("ix_declaration_committee_status", "committee_id", "status"),
        Index("ix_declaration_unit_status", "unit_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    applicant_id: Mapped[int] = mapped_column(ForeignKey("applicant.id"), index=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("review_activity.id"))
    # The committee that reviews it: the activity's, or the one a 主管部门 / 人社部门 delegated it to (B7).
    committee_id: Mapped[int] = mapped_column(ForeignKey("committee.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))  # 申报单位 (the applicant's unit at submission)
    year: Mapped[int] = mapped_column(index=True)
    series_code: Mapped[str] = mapped_column(String(50))  # 申报系列 (the committee's series)
    level_code: Mapped[str] = mapped_column(ForeignKey("title_level.code"))  # 申报层级
    specialty_id: Mapped[int | None] = mapped_column(ForeignKey("specialty.id"))  # 申报专业
    method_code: Mapped[str] = mapped_column(String(30))  # 取得方式 (admin_config/review_methods.yaml)
    evaluation_method: Mapped[str] = mapped_column(String(20), default="normal")  # 评价方式
    exceptional_condition_id: Mapped[int | None] = mapped_column(
        ForeignKey("review_activity_exceptional.id", ondelete="SET NULL"))
    # 申报材料: {requirement id: [{sha256, filename, size, file_type}]}
    materials: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    assessments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # 任职以来考核信息
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # the profile as submitted

    status: Mapped[str] = mapped_column(String(20), default="draft", index=True)
    path: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # [{unit_id, role, name}] then committee
    step: Mapped[int] = mapped_column(default=0)  # index into path where it stands
    # The units that returned it and wait for it to come back, innermost last (a stack of path indexes).
    resume_steps: Mapped[list[int]] = mapped_column(JSON, default=list)
    current_unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    delegated_by_unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))  # 委托评审 (B7)
    delegation_letter: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # 委托评审函
    opinion: Mapped[str] = mapped_column(String(500), default="")  # the last 退回 / 不通过 opinion
    first_submitted_at: Mapped[datetime | None] = mapped_column()
    submitted_at: Mapped[datetime | None] = mapped_column()
    accepted_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())

    applicant: Mapped[Applicant] = relationship(lazy="joined")
    activity: Mapped[ReviewActivity] = relationship()
    committee: Mapped[Committee] = relationship()
    unit: Mapped[Unit] = relationship(foreign_keys=[unit_id])
    current_unit: Mapped[Unit | None] = relationship(foreign_keys=[current_unit_id])
    delegated_by_unit: Mapped[Unit | None] = relationship(foreign_keys=[delegated_by_unit_id])
    level: Mapped[TitleLevel] = relationship(lazy="joined")
    specialty: Mapped[Specialty | None] = relationship(lazy="joined")
    achievements: Mapped[list[DeclarationAchievement]] = relationship(
        cascade="all, delete-orphan", order_by="DeclarationAchievement.id")
    steps: Mapped[list[DeclarationStep]] = relationship(
        cascade="all, delete-orphan", order_by="DeclarationStep.id", back_populates="declaration")

    @property
    def status_label(self) -> str:
        return DECLARATION_STATUS_LABELS.get(self.status, self.status)

    @property
    def evaluation_method_label(self) -> str:
        return EVALUATION_METHOD_LABELS.get(self.evaluation_method, self.evaluation_method)

    @property
    def at_committee(self) -> bool:
        return bool(self.path) and self.step == len(self.path) - 1


class DeclarationAchievement(db.Model):
    """One achievement the applicant entered for an activity's 业绩成果配置 item, in one of its templates."""

    __tablename__ = "declaration_achievement"

    id: Mapped[int] = mapped_column(primary_key=True)
    declaration_id: Mapped[int] = mapped_column(ForeignKey("declaration.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("review_activity_achievement.id", ondelete="CASCADE"))
    template_code: Mapped[str] = mapped_column(String(20))
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # the template's field values
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # 附件信息


class DeclarationStep(db.Model):
    """One arrival of a declaration at a unit on its path (the committee's step names its forming unit)."""

    __tablename__ = "declaration_step"
    __table_args__ = (
        Index("ix_declaration_step_unit_latest", "unit_id", "latest", "status"),
        Index("ix_declaration_step_declaration", "declaration_id", "unit_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    declaration_id: Mapped[int] = mapped_column(ForeignKey("declaration.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    step: Mapped[int] = mapped_column()  # index into Declaration.path
    role: Mapped[str] = mapped_column(String(20))  # 申报单位 / 主管部门 / 人社部门 / 评委会 …
    arrival: Mapped[str] = mapped_column(String(20), default="first")  # ARRIVAL_LABELS
    status: Mapped[str] = mapped_column(String(20), default="pending")  # STEP_STATUS_LABELS
    latest: Mapped[bool] = mapped_column(default=True)  # the newest row of this declaration at this unit
    arrived_at: Mapped[datetime] = mapped_column(default=datetime.now)
    decided_at: Mapped[datetime | None] = mapped_column()
    opinion: Mapped[str] = mapped_column(Text, default="")
    return_to: Mapped[str] = mapped_column(String(20), default="")  # applicant, or the path index returned to
    # 本单位人员审核 (B6, F2): the unit's publicity and its recommendation.
    publicity_start: Mapped[date | None] = mapped_column()
    publicity_end: Mapped[date | None] = mapped_column()
    # {kind: {sha256, filename, size, file_type}} for 公示证明附件 / 单位综合推荐意见 / 事业单位岗位情况表 / 委托评审函
    attachments: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Files a reviewer chose on a 审核通过 that was refused for another reason, kept for the next try (same shape).
    pending_attachments: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, server_default="{}")
    # 委托评审 (B7): the committee a 主管部门 / 人社部门 delegates the declaration to when it passes it.
    delegate_committee_id: Mapped[int | None] = mapped_column(ForeignKey("committee.id"))

    declaration: Mapped[Declaration] = relationship(back_populates="steps")
    unit: Mapped[Unit] = relationship()

    @property
    def arrival_label(self) -> str:
        return ARRIVAL_LABELS.get(self.arrival, self.arrival)

    @property
    def status_label(self) -> str:
        return STEP_STATUS_LABELS.get(self.status, self.status)
