"""主管部门配置 and 审核路径 (manual S 1.2.3.5; Hunan guide H 1.4–1.8, 1.28; FEATURES B2, B3).

CompetentAssignment: in a region, declarations to one committee go through one 主管部门 (S 1.2.3.5:
设置后申报单位按照对应关系进行材料的提交). ReviewPathLink: for one 取得方式 and 职称等级 a 下级机构 sends its
declarations to one 受理机构, a unit or the committee that is the path's 终审机构 (H 1.4–1.8). Both rows
belong to the 人社部门 that configured them (owner_unit_id), which scopes who sees and changes them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.committee import Committee
from app.models.dictionary import TitleLevel
from app.models.org import Region, Unit


class CompetentAssignment(db.Model):
    __tablename__ = "competent_assignment"
    __table_args__ = (UniqueConstraint("region_id", "committee_id", name="uq_competent_assignment_region_committee"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id"), index=True)
    committee_id: Mapped[int] = mapped_column(ForeignKey("committee.id", ondelete="CASCADE"), index=True)
    competent_unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    owner_unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())

    region: Mapped[Region] = relationship(lazy="joined")
    committee: Mapped[Committee] = relationship(lazy="joined")
    competent_unit: Mapped[Unit] = relationship(foreign_keys=[competent_unit_id], lazy="joined")
    owner_unit: Mapped[Unit] = relationship(foreign_keys=[owner_unit_id])


class ReviewPathLink(db.Model):
    __tablename__ = "review_path_link"
    __table_args__ = (
        # One 受理机构 per 下级机构, method and level: the path is deterministic.
        UniqueConstraint("method_code", "level_code", "subordinate_unit_id", name="uq_review_path_link_step"),
        CheckConstraint("(superior_unit_id IS NULL) <> (committee_id IS NULL)", name="ck_review_path_link_target"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    method_code: Mapped[str] = mapped_column(String(30))  # admin_config/review_methods.yaml
    level_code: Mapped[str] = mapped_column(ForeignKey("title_level.code"))
    subordinate_unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    superior_unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    committee_id: Mapped[int | None] = mapped_column(ForeignKey("committee.id", ondelete="CASCADE"), index=True)
    owner_unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())

    level: Mapped[TitleLevel] = relationship(lazy="joined")
    subordinate_unit: Mapped[Unit] = relationship(foreign_keys=[subordinate_unit_id], lazy="joined")
    superior_unit: Mapped[Unit | None] = relationship(foreign_keys=[superior_unit_id], lazy="joined")
    committee: Mapped[Committee | None] = relationship(lazy="joined")
    owner_unit: Mapped[Unit] = relationship(foreign_keys=[owner_unit_id])

    @property
    def superior_name(self) -> str:
        if self.committee is not None:
            return self.committee.name
        return self.superior_unit.name if self.superior_unit is not None else ""

    @property
    def is_final(self) -> bool:
        """是否为终审机构 (H 1.28 注1): the 受理机构 is a committee."""
        return self.committee_id is not None
