"""专技人才 (S 1.2.13; FEATURES L1, L2) and 职称确认 (S 1.2.14; L3): an individual's records reviewed up their
units to the 人社部门.

A talent record carries, besides what the person entered, the facts the statistics table counts, copied from
the profile at submission (gender, ethnic minority, party member, title level, highest education), so the table
is one grouped query and later profile edits do not change what was reviewed.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, ForeignKey, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.org import Unit

if TYPE_CHECKING:
    from app.models.applicant import Applicant

# The rows of the 专技人才统计 table (S 1.2.13.2 图 2.10.3), in the manual's order and words.
TALENT_CATEGORIES = ("高等学校教师", "哲学社会科学研究人员", "自然科学研究工程", "卫生技术人员", "工程技术人员",
                     "农业技术人员", "新闻专业人员", "出版专业人员", "图书资料专业人员", "文物博物专业人员", "档案专业人员")
REVIEW_STATUS_LABELS = {"reviewing": "审核中", "returned": "已退回", "rejected": "不通过", "approved": "审核通过"}
EDUCATION_BUCKETS = ("博士", "硕士", "大学本科", "其他")


class TalentRecord(db.Model):
    __tablename__ = "talent_record"
    __table_args__ = (Index("ix_talent_record_status_unit", "status", "unit_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    applicant_id: Mapped[int] = mapped_column(ForeignKey("applicant.id"), unique=True)  # one record a person
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))  # the person's unit at submission
    category: Mapped[str] = mapped_column(String(30))  # TALENT_CATEGORIES
    qualification_only: Mapped[bool] = mapped_column(default=False)  # 只具有职业资格证书 (no title)
    qualification_name: Mapped[str] = mapped_column(String(50), default="")
    overseas: Mapped[bool] = mapped_column(default=False)  # 港澳台及外籍人士
    # Copied from the profile at submission (the table's columns).
    name: Mapped[str] = mapped_column(String(20))
    female: Mapped[bool] = mapped_column(default=False)
    ethnic_minority: Mapped[bool] = mapped_column(default=False)
    party_member: Mapped[bool] = mapped_column(default=False)
    title_level_code: Mapped[str | None] = mapped_column(String(20))
    education: Mapped[str] = mapped_column(String(10), default="其他")  # EDUCATION_BUCKETS
    # The review: the applicant's unit, then its superiors up to the nearest 人社部门 (unit ids).
    path: Mapped[list[int]] = mapped_column(JSON, default=list)
    step: Mapped[int] = mapped_column(default=0)
    current_unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    status: Mapped[str] = mapped_column(String(12), default="reviewing")
    opinion: Mapped[str] = mapped_column(String(500), default="")
    submitted_at: Mapped[datetime] = mapped_column(default=datetime.now)
    decided_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    applicant: Mapped[Applicant] = relationship()
    unit: Mapped[Unit] = relationship(foreign_keys=[unit_id])
    current_unit: Mapped[Unit | None] = relationship(foreign_keys=[current_unit_id])

    @property
    def status_label(self) -> str:
        return REVIEW_STATUS_LABELS.get(self.status, self.status)


class TitleConfirmation(db.Model):
    """职称确认 (S 1.2.14): a person asks their units to confirm a title obtained elsewhere; 不通过 is kept."""

    __tablename__ = "title_confirmation"
    __table_args__ = (Index("ix_title_confirmation_status_unit", "status", "unit_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    applicant_id: Mapped[int] = mapped_column(ForeignKey("applicant.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    title_name: Mapped[str] = mapped_column(String(30))  # 资格名称
    level_code: Mapped[str] = mapped_column(ForeignKey("title_level.code"))
    obtained_on: Mapped[date] = mapped_column()  # 取得资格时间
    issuer: Mapped[str] = mapped_column(String(50))  # 发证机关 / 评审机构
    certificate_no: Mapped[str] = mapped_column(String(50), default="")
    attachment: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # 证书扫描件
    path: Mapped[list[int]] = mapped_column(JSON, default=list)
    step: Mapped[int] = mapped_column(default=0)
    current_unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    status: Mapped[str] = mapped_column(String(12), default="reviewing")
    opinion: Mapped[str] = mapped_column(String(500), default="")
    submitted_at: Mapped[datetime] = mapped_column(default=datetime.now)
    decided_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    applicant: Mapped[Applicant] = relationship()
    unit: Mapped[Unit] = relationship(foreign_keys=[unit_id])
    current_unit: Mapped[Unit | None] = relationship(foreign_keys=[current_unit_id])

    @property
    def status_label(self) -> str:
        return REVIEW_STATUS_LABELS.get(self.status, self.status)
