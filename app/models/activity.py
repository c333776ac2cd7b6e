"""评审活动 (manual S 1.2.4.1–1.2.4.2; FEATURES E1–E5).

A committee that is 已备案 opens one activity per year (年度) or several (专项). The activity carries the four
deadlines, the levels and specialties it opens, and the configuration the declaration pages obey: 业绩成果配置
(ordered items, each one or more templates of admin_config/achievement_templates.yaml), 破格条件配置 and
申报材料需求配置. Publication runs bpmn/activity_publication.bpmn at the committee's 授权管理单位; the instance
keeps only routing facts, the activity its own status.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.committee import Committee
from app.models.dictionary import Specialty, TitleLevel
from app.models.org import Unit

ACTIVITY_STATUS_LABELS = {"draft": "未提交", "pending": "审核中", "returned": "已退回", "published": "已发布",
                          "rejected": "不通过"}
CATEGORY_LABELS = {"annual": "年度评审活动", "special": "专项评审活动"}
REVIEW_METHOD_LABELS = {"exam_and_review": "全国统考+专家评审", "expert_review": "专家评审"}
WRITTEN_EXAM_LABELS = {"all": "全体参加笔试", "no_degree": "不具备规定学历笔试", "partial": "部分参加笔试",
                       "none": "不组织"}
INTERVIEW_LABELS = {"partial": "部分面试答辩", "all": "全体面试答辩", "none": "不组织"}
GROUP_METHOD_LABELS = {"vote": "专家投票", "score": "专家打分"}


class ReviewActivity(db.Model):
    __tablename__ = "review_activity"
    __table_args__ = (Index("ix_review_activity_unit_status", "unit_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    committee_id: Mapped[int] = mapped_column(ForeignKey("committee.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))  # the publishing (forming) unit
    reviewing_unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)  # 授权管理单位 at submission
    name: Mapped[str] = mapped_column(String(50))  # 评审活动名称
    scope: Mapped[str] = mapped_column(String(50))  # 申报范围
    year: Mapped[int] = mapped_column(index=True)  # 评审归属年份
    category: Mapped[str] = mapped_column(String(20))  # 评审活动类别
    review_method: Mapped[str] = mapped_column(String(20))  # 评审方式
    exceptional_review: Mapped[bool] = mapped_column(default=False)  # 是否进行破格评议
    # 任现职称年限要求: whole years a 正常申报 needs since the current title was obtained (None: not checked).
    min_title_years: Mapped[int | None] = mapped_column(default=None)
    written_exam: Mapped[str] = mapped_column(String(20))  # 评委会组织笔试
    interview: Mapped[str] = mapped_column(String(20))  # 是否组织面试答辩
    specialty_groups: Mapped[bool] = mapped_column(default=False)  # 是否设置专业组
    group_method: Mapped[str] = mapped_column(String(20), default="")  # 专业组评审方式
    apply_start: Mapped[datetime] = mapped_column()  # 申报开始时间
    first_submit_deadline: Mapped[datetime] = mapped_column()  # 个人初次提交截止时间
    revise_submit_deadline: Mapped[datetime] = mapped_column()  # 个人修改提交截止时间
    committee_receive_deadline: Mapped[datetime] = mapped_column()  # 评委会接收申报截止时间
    health_page: Mapped[bool] = mapped_column(default=False)  # 是否显示卫生专用页面
    school_teacher_page: Mapped[bool] = mapped_column(default=False)  # 是否显示中小学教师专用页面
    vocational_teacher_page: Mapped[bool] = mapped_column(default=False)  # 是否显示中职教师专用页面
    arrangement: Mapped[str] = mapped_column(String(500), default="")  # 评审活动安排
    document_number: Mapped[str] = mapped_column(String(50), default="")  # 文号录入
    public: Mapped[bool] = mapped_column(default=False)  # 是否对外公开
    # 评审政策文件(对外发布使用) and 评审工作方案(对内审核使用), stored under their sha256 (services/file_store).
    policy_files: Mapped[list[dict[str, object]]] = mapped_column(JSON, default=list)
    plan_files: Mapped[list[dict[str, object]]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(20), default="draft", index=True)
    opinion: Mapped[str] = mapped_column(String(500), default="")  # the last 退回 / 不通过 opinion
    submitted_at: Mapped[datetime | None] = mapped_column()
    published_at: Mapped[datetime | None] = mapped_column()
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())

    committee: Mapped[Committee] = relationship(lazy="joined")
    unit: Mapped[Unit] = relationship(foreign_keys=[unit_id])
    reviewing_unit: Mapped[Unit] = relationship(foreign_keys=[reviewing_unit_id])
    levels: Mapped[list[ActivityLevel]] = relationship(cascade="all, delete-orphan", lazy="selectin")
    specialties: Mapped[list[ActivitySpecialty]] = relationship(cascade="all, delete-orphan", lazy="selectin")
    achievements: Mapped[list[ActivityAchievement]] = relationship(
        cascade="all, delete-orphan", order_by="ActivityAchievement.position")
    exceptional_conditions: Mapped[list[ActivityExceptionalCondition]] = relationship(
        cascade="all, delete-orphan", order_by="ActivityExceptionalCondition.position")
    material_requirements: Mapped[list[ActivityMaterialRequirement]] = relationship(
        cascade="all, delete-orphan", order_by="ActivityMaterialRequirement.position")

    @property
    def status_label(self) -> str:
        return ACTIVITY_STATUS_LABELS.get(self.status, self.status)

    @property
    def level_codes(self) -> list[str]:
        return [link.level_code for link in self.levels]

    @property
    def specialty_ids(self) -> list[int]:
        return [link.specialty_id for link in self.specialties]


class ActivityLevel(db.Model):
    """开设级别: a subset of the committee's filed levels (S 1.2.4.1 图 2.4.2)."""

    __tablename__ = "review_activity_level"

    activity_id: Mapped[int] = mapped_column(ForeignKey("review_activity.id", ondelete="CASCADE"), primary_key=True)
    level_code: Mapped[str] = mapped_column(ForeignKey("title_level.code"), primary_key=True)

    level: Mapped[TitleLevel] = relationship(lazy="joined")


class ActivitySpecialty(db.Model):
    """本次开设的评审专业, from the committee's series (and its specialties when built 按专业)."""

    __tablename__ = "review_activity_specialty"

    activity_id: Mapped[int] = mapped_column(ForeignKey("review_activity.id", ondelete="CASCADE"), primary_key=True)
    specialty_id: Mapped[int] = mapped_column(ForeignKey("specialty.id"), primary_key=True)

    specialty: Mapped[Specialty] = relationship(lazy="joined")


class ActivityAchievement(db.Model):
    """业绩成果配置: one item shown to applicants in 序号 order, with its templates and its count limits."""

    __tablename__ = "review_activity_achievement"

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("review_activity.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column()  # 序号
    title: Mapped[str] = mapped_column(String(30))  # 展示标题
    templates: Mapped[list[str]] = mapped_column(JSON, default=list)  # 模板类别 codes
    description: Mapped[str] = mapped_column(Text, default="")  # 业绩要求描述
    required: Mapped[bool] = mapped_column(default=False)  # 申报材料需求配置: 是否必填
    min_count: Mapped[int] = mapped_column(default=0)
    max_count: Mapped[int] = mapped_column(default=10)


class ActivityExceptionalCondition(db.Model):
    """破格条件配置: the conditions a 破格 applicant picks from, each with its proof requirement."""

    __tablename__ = "review_activity_exceptional"

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("review_activity.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column()
    level_code: Mapped[str | None] = mapped_column(ForeignKey("title_level.code"))  # None: every opened level
    title: Mapped[str] = mapped_column(String(50))  # 破格条件名称
    description: Mapped[str] = mapped_column(String(500), default="")  # 条件说明
    proof_required: Mapped[bool] = mapped_column(default=True)  # 是否须上传佐证材料


class ActivityMaterialRequirement(db.Model):
    """申报材料需求配置: a material applicants upload, whether required, how many files and how large."""

    __tablename__ = "review_activity_material"

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("review_activity.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column()
    name: Mapped[str] = mapped_column(String(50))  # 材料名称
    required: Mapped[bool] = mapped_column(default=True)  # 是否必传
    max_files: Mapped[int] = mapped_column(default=1)  # 最多份数
    max_size_mb: Mapped[int] = mapped_column(default=10)  # 单个文件大小上限（MB）
    file_types: Mapped[list[str]] = mapped_column(JSON, default=list)  # 允许的文件类型
