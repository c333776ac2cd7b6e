"""职称初定/认定受理机构 (Hunan guide H 1.3; FEATURES N3): the bodies that accept 初定 / 认定 applications, with the
name printed on the certificates they issue."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.org import Unit

ACCEPTANCE_TYPES = {"initial": "职称初定", "recognition": "职称认定"}
ACCEPTANCE_GRADES = ("初级", "中级", "高级")
ACCEPTANCE_STATUS_LABELS = {"active": "正常", "deregistered": "已注销"}


class AcceptanceAgency(db.Model):
    __tablename__ = "acceptance_agency"
    __table_args__ = (UniqueConstraint("node_type", "unit_id", "grade", name="uq_acceptance_agency"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    node_type: Mapped[str] = mapped_column(String(20))  # 受理节点类型: ACCEPTANCE_TYPES
    grade: Mapped[str] = mapped_column(String(10))  # 职称等级
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)  # 机构名称: a unit of the platform
    certificate_name: Mapped[str] = mapped_column(String(60))  # 打在职称证书上的机构名称
    contact_phone: Mapped[str] = mapped_column(String(20), default="")
    status: Mapped[str] = mapped_column(String(20), default="active")
    deregister_reason: Mapped[str] = mapped_column(String(200), default="")
    deregistered_at: Mapped[datetime | None] = mapped_column()
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    unit: Mapped[Unit] = relationship(lazy="joined")

    @property
    def type_label(self) -> str:
        return ACCEPTANCE_TYPES.get(self.node_type, self.node_type)

    @property
    def status_label(self) -> str:
        return ACCEPTANCE_STATUS_LABELS.get(self.status, self.status)
