"""职数申报 (Hunan guide H 1.5, 1.22; FEATURES F8): a unit's yearly declaration of post quotas.

A declaration names its year and one row per 系列 × 等级 (岗位总数, 现有人数, 申报职数). It is reviewed by the
unit's superior through bpmn/quota_review.bpmn (职数审核); the instance keeps only routing facts, the
declaration its own status.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, func, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.dictionary import TitleLevel, TitleSeries
from app.models.org import Unit

QUOTA_STATUS_LABELS = {"draft": "未提交", "pending": "审核中", "returned": "已退回", "approved": "审核通过",
                       "rejected": "审核不通过"}


class QuotaDeclaration(db.Model):
    __tablename__ = "quota_declaration"
    __table_args__ = (
        Index("ix_quota_declaration_unit_year", "unit_id", "year"),
        # One live declaration per unit and year; a 审核不通过 one may be followed by a new one.
        Index("uq_quota_declaration_unit_year_live", "unit_id", "year", unique=True,
              sqlite_where=text("status != 'rejected'"), postgresql_where=text("status != 'rejected'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))  # 申报单位
    reviewing_unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)  # 上级单位 at submission
    year: Mapped[int] = mapped_column(index=True)  # 申报年度
    contact_name: Mapped[str] = mapped_column(String(10))  # 联系人
    contact_phone: Mapped[str] = mapped_column(String(20))  # 联系电话
    note: Mapped[str] = mapped_column(String(500), default="")  # 申报说明
    status: Mapped[str] = mapped_column(String(20), default="draft", index=True)
    opinion: Mapped[str] = mapped_column(String(500), default="")  # the last 退回 / 不通过 / 通过 opinion
    submitted_at: Mapped[datetime | None] = mapped_column()
    decided_at: Mapped[datetime | None] = mapped_column()  # 审核通过 or 审核不通过
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())

    unit: Mapped[Unit] = relationship(foreign_keys=[unit_id], lazy="joined")
    reviewing_unit: Mapped[Unit | None] = relationship(foreign_keys=[reviewing_unit_id])
    items: Mapped[list[QuotaItem]] = relationship(cascade="all, delete-orphan", lazy="selectin",
                                                  order_by="QuotaItem.position")

    @property
    def status_label(self) -> str:
        return QUOTA_STATUS_LABELS.get(self.status, self.status)

    @property
    def total_requested(self) -> int:
        return sum(item.requested_count for item in self.items)


class QuotaItem(db.Model):
    """One row of a declaration: 系列, 等级, 岗位总数, 现有人数, 申报职数 (空缺职数 = 岗位总数 − 现有人数)."""

    __tablename__ = "quota_item"
    __table_args__ = (UniqueConstraint("declaration_id", "series_code", "level_code",
                                       name="uq_quota_item_declaration_series_level"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    declaration_id: Mapped[int] = mapped_column(ForeignKey("quota_declaration.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column()
    series_code: Mapped[str] = mapped_column(ForeignKey("title_series.code"))  # 系列
    level_code: Mapped[str] = mapped_column(ForeignKey("title_level.code"))  # 等级
    post_total: Mapped[int] = mapped_column()  # 岗位总数
    current_count: Mapped[int] = mapped_column()  # 现有人数
    requested_count: Mapped[int] = mapped_column()  # 申报职数
    remark: Mapped[str] = mapped_column(String(200), default="")  # 备注

    series: Mapped[TitleSeries] = relationship(lazy="joined")
    level: Mapped[TitleLevel] = relationship(lazy="joined")

    @property
    def vacancy(self) -> int:
        """空缺职数."""
        return self.post_total - self.current_count
