"""评委会 and 专家库 (manual S 1.2.2; Hunan guide H 1.10–1.11; FEATURES C1–C4, D1–D5).

A committee is formed by one unit (组建单位), reviews some levels of one series (按系列) or some specialties of it
(按专业), and is valid for three years after each filing (备案). Each filing run is a CommitteeFiling row with its
own process instance. Experts are people (one row per 证件号码); CommitteeExpert is the membership of an expert
in one committee's library with a role and a list status; ExpertService is the history the drawing rules read.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, ForeignKey, Index, Numeric, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.dictionary import Specialty, Title, TitleLevel, TitleSeries
from app.models.org import Region, Unit

COMMITTEE_STATUS_LABELS = {
    "unfiled": "未备案", "filing": "备案中", "filed": "已备案", "refused": "备案不通过", "expired": "已过期",
    "deregistered": "已注销",
}
FILING_STATUS_LABELS = {"pending": "审核中", "returned": "已退回", "approved": "审核通过", "rejected": "审核不通过"}
BUILD_MODE_LABELS = {"series": "按系列创建", "specialty": "按专业创建"}
ROLE_LABELS = {"chair": "主任委员", "vice_chair": "副主任委员", "member": "委员"}
# The four lists of 专家库管理 (S 1.2.2.3) plus the states between them.
MEMBERSHIP_STATUS_LABELS = {
    "draft": "本单位新增待提交", "recommended": "下级单位推荐待审核", "submitted": "待审核",
    "in_library": "在库专家", "returned": "本单位退回", "removed": "已移出",
}


class Committee(db.Model):
    __tablename__ = "committee"
    __table_args__ = (Index("ix_committee_forming_status", "forming_unit_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    agency: Mapped[str] = mapped_column(String(50))  # 评委会办事机构
    office: Mapped[str] = mapped_column(String(50))  # 评委会办公室
    forming_unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    review_type: Mapped[str] = mapped_column(String(20))
    authorizing_unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)  # 授权管理单位(发证机构)
    filing_unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)  # 备案批复单位
    contact_name: Mapped[str] = mapped_column(String(10))
    contact_phone: Mapped[str] = mapped_column(String(20))
    address: Mapped[str] = mapped_column(String(100))
    internal_only: Mapped[bool] = mapped_column(default=False)  # 是否单位内部自主评审
    applicant_natures: Mapped[list[str]] = mapped_column(JSON, default=list)  # 申报人所在单位的单位性质
    build_mode: Mapped[str] = mapped_column(String(20))  # series / specialty
    series_code: Mapped[str] = mapped_column(ForeignKey("title_series.code"), index=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id"))  # 评审区域
    funded: Mapped[bool] = mapped_column(default=False)  # 是否拨付经费
    status: Mapped[str] = mapped_column(String(20), default="unfiled", index=True)
    filed_on: Mapped[date | None] = mapped_column()  # 最近一次备案通过时间
    valid_until: Mapped[date | None] = mapped_column()
    expiry_notified_on: Mapped[date | None] = mapped_column()
    deregister_reason: Mapped[str] = mapped_column(String(200), default="")
    deregistered_at: Mapped[datetime | None] = mapped_column()
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())

    forming_unit: Mapped[Unit] = relationship(foreign_keys=[forming_unit_id], lazy="joined")
    authorizing_unit: Mapped[Unit] = relationship(foreign_keys=[authorizing_unit_id])
    filing_unit: Mapped[Unit] = relationship(foreign_keys=[filing_unit_id])
    series: Mapped[TitleSeries] = relationship(lazy="joined")
    region: Mapped[Region] = relationship()
    levels: Mapped[list[CommitteeLevel]] = relationship(cascade="all, delete-orphan", lazy="selectin")
    specialties: Mapped[list[CommitteeSpecialty]] = relationship(cascade="all, delete-orphan", lazy="selectin")
    co_forming_units: Mapped[list[CommitteeFormingUnit]] = relationship(cascade="all, delete-orphan")
    fees: Mapped[list[CommitteeFee]] = relationship(cascade="all, delete-orphan", order_by="CommitteeFee.id")

    @property
    def status_label(self) -> str:
        return COMMITTEE_STATUS_LABELS.get(self.status, self.status)

    @property
    def build_mode_label(self) -> str:
        return BUILD_MODE_LABELS.get(self.build_mode, self.build_mode)

    @property
    def level_codes(self) -> list[str]:
        return [link.level_code for link in self.levels]


class CommitteeLevel(db.Model):
    """评审级别: a committee may review several levels (高一级代评低一级, S 1.2.2.1)."""

    __tablename__ = "committee_level"

    committee_id: Mapped[int] = mapped_column(ForeignKey("committee.id", ondelete="CASCADE"), primary_key=True)
    level_code: Mapped[str] = mapped_column(ForeignKey("title_level.code"), primary_key=True)

    level: Mapped[TitleLevel] = relationship(lazy="joined")


class CommitteeSpecialty(db.Model):
    """评审专业 the committee may review (按专业创建, and 维护评审专业 of H 1.10)."""

    __tablename__ = "committee_specialty"

    committee_id: Mapped[int] = mapped_column(ForeignKey("committee.id", ondelete="CASCADE"), primary_key=True)
    specialty_id: Mapped[int] = mapped_column(ForeignKey("specialty.id"), primary_key=True)

    specialty: Mapped[Specialty] = relationship(lazy="joined")


class CommitteeFormingUnit(db.Model):
    """Further 组建单位 maintained by the administrator (H 1.10 维护组建单位)."""

    __tablename__ = "committee_forming_unit"

    committee_id: Mapped[int] = mapped_column(ForeignKey("committee.id", ondelete="CASCADE"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), primary_key=True)

    unit: Mapped[Unit] = relationship(lazy="joined")


class CommitteeFee(db.Model):
    """缴费标准 (H 1.10 维护缴费标准): a fee item and its amount in yuan."""

    __tablename__ = "committee_fee"
    __table_args__ = (UniqueConstraint("committee_id", "item", name="uq_committee_fee_item"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    committee_id: Mapped[int] = mapped_column(ForeignKey("committee.id", ondelete="CASCADE"), index=True)
    item: Mapped[str] = mapped_column(String(30))
    amount: Mapped[Decimal] = mapped_column(Numeric(10, 2))


class CommitteeFiling(db.Model):
    """One filing run (备案申报): submitted, reviewed by the 授权管理单位 then the 备案单位, decided."""

    __tablename__ = "committee_filing"

    id: Mapped[int] = mapped_column(primary_key=True)
    committee_id: Mapped[int] = mapped_column(ForeignKey("committee.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    # 核准备案请示, stored under its sha256 (services/file_store).
    request_sha256: Mapped[str] = mapped_column(String(64))
    request_filename: Mapped[str] = mapped_column(String(200))
    request_size: Mapped[int] = mapped_column()
    request_type: Mapped[str] = mapped_column(String(10))
    expert_count: Mapped[int] = mapped_column(default=0)
    opinion: Mapped[str] = mapped_column(String(500), default="")
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    submitted_at: Mapped[datetime] = mapped_column(server_default=func.now())
    decided_at: Mapped[datetime | None] = mapped_column()
    valid_from: Mapped[date | None] = mapped_column()
    valid_until: Mapped[date | None] = mapped_column()

    committee: Mapped[Committee] = relationship()

    @property
    def status_label(self) -> str:
        return FILING_STATUS_LABELS.get(self.status, self.status)


class Expert(db.Model):
    """A person in one or more 专家库 (S 1.2.2.3 新增专家信息); identified by 证件号码."""

    __tablename__ = "expert"

    id: Mapped[int] = mapped_column(primary_key=True)
    country: Mapped[str] = mapped_column(String(20), default="中国")
    name: Mapped[str] = mapped_column(String(10), index=True)
    id_type: Mapped[str] = mapped_column(String(20), default="居民身份证")
    id_number: Mapped[str] = mapped_column(String(18), unique=True)
    gender: Mapped[str] = mapped_column(String(2))
    birth_month: Mapped[str] = mapped_column(String(6))  # yyyyMM
    retired: Mapped[bool] = mapped_column(default=False)
    work_unit: Mapped[str] = mapped_column(String(30))
    competent_unit: Mapped[str] = mapped_column(String(30), default="")
    admin_post: Mapped[str] = mapped_column(String(20))
    admin_post_level: Mapped[str] = mapped_column(String(20), default="")
    phone1: Mapped[str] = mapped_column(String(11))
    phone2: Mapped[str] = mapped_column(String(11), default="")
    honors: Mapped[str] = mapped_column(String(300))
    series_code: Mapped[str | None] = mapped_column(ForeignKey("title_series.code"))
    specialty: Mapped[str] = mapped_column(String(30))  # 现从事专业
    title_id: Mapped[int] = mapped_column(ForeignKey("title.id"))  # 现职称
    created_by_unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())

    title: Mapped[Title] = relationship(lazy="joined")
    series: Mapped[TitleSeries | None] = relationship()

    def age_on(self, day: date) -> int:
        """年龄 from 出生日期 (yyyyMM): whole years completed by `day`, counting from the first of the month."""
        year, month = int(self.birth_month[:4]), int(self.birth_month[4:6])
        return day.year - year - (1 if day.month < month else 0)

    @property
    def is_complete(self) -> bool:
        """信息是否完整: every field the manual marks required (S 1.2.2.3)."""
        return all([self.name, self.id_number, self.gender, self.birth_month, self.work_unit, self.admin_post,
                    self.phone1, self.honors, self.specialty, self.title_id])


class CommitteeExpert(db.Model):
    """An expert's place in one committee's library, with the role held and the list it stands in."""

    __tablename__ = "committee_expert"
    __table_args__ = (
        UniqueConstraint("committee_id", "expert_id", name="uq_committee_expert"),
        Index("ix_committee_expert_committee_status", "committee_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    committee_id: Mapped[int] = mapped_column(ForeignKey("committee.id", ondelete="CASCADE"))
    expert_id: Mapped[int] = mapped_column(ForeignKey("expert.id"), index=True)
    role: Mapped[str] = mapped_column(String(20), default="member")
    status: Mapped[str] = mapped_column(String(20), default="draft")
    # The unit that added or recommended the expert: the forming unit, or a subordinate recommending.
    source_unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    return_opinion: Mapped[str] = mapped_column(String(500), default="")
    submitted_at: Mapped[datetime | None] = mapped_column()
    admitted_on: Mapped[date | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    committee: Mapped[Committee] = relationship()
    expert: Mapped[Expert] = relationship(lazy="joined")
    source_unit: Mapped[Unit] = relationship()

    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(self.role, self.role)

    @property
    def status_label(self) -> str:
        return MEMBERSHIP_STATUS_LABELS.get(self.status, self.status)


class ExpertService(db.Model):
    """Expert history (D5; H 评委申报记录查询): a committee year served, the role held, and attendance.

    One row per expert, committee and year; written when a membership enters the library or a filing passes,
    and marked attended by the meeting module; the drawing rules (S 1.2.5.5) read it.
    """

    __tablename__ = "expert_service"
    __table_args__ = (UniqueConstraint("expert_id", "committee_id", "year", name="uq_expert_service_year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("expert.id"), index=True)
    committee_id: Mapped[int] = mapped_column(ForeignKey("committee.id", ondelete="CASCADE"), index=True)
    year: Mapped[int] = mapped_column()
    role: Mapped[str] = mapped_column(String(20), default="member")
    attended: Mapped[bool] = mapped_column(default=False)

    committee: Mapped[Committee] = relationship()

    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(self.role, self.role)
