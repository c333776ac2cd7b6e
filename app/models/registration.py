"""Unit self-registration and changes of superior, each reviewed by a superior (S 1.1.2.2, 1.2.9.1.1, 1.2.9.2.1)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.accounts import User
from app.models.org import Region, Unit, UnitNature, UnitType

# "returned" is never stored: a request is 已退回 while its correction task is open (services decide).
REVIEW_STATUS_LABELS = {"pending": "待审核", "returned": "已退回", "approved": "审核通过", "rejected": "审核不通过"}


class UnitRegistration(db.Model):
    """用户权限申请 of a unit that is not yet in the tree; the unit and its 超级管理员 exist only once approved."""

    __tablename__ = "unit_registration"
    __table_args__ = (Index("ix_unit_registration_superior_status", "superior_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    superior_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    name: Mapped[str] = mapped_column(String(50))
    credit_code: Mapped[str] = mapped_column(String(18), index=True)
    unit_type_code: Mapped[str] = mapped_column(ForeignKey("unit_type.code"))
    nature_code: Mapped[str] = mapped_column(ForeignKey("unit_nature.code"))
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id"))
    contact_name: Mapped[str] = mapped_column(String(10), default="")
    phone: Mapped[str] = mapped_column(String(20))
    address: Mapped[str] = mapped_column(String(100), default="")
    legal_person_name: Mapped[str | None] = mapped_column(String(10))
    legal_person_id_number: Mapped[str | None] = mapped_column(String(18))
    legal_person_phone: Mapped[str | None] = mapped_column(String(20))
    handler_name: Mapped[str] = mapped_column(String(10))
    handler_id_number: Mapped[str] = mapped_column(String(18))
    handler_phone: Mapped[str] = mapped_column(String(20))
    handler_username: Mapped[str] = mapped_column(String(30), index=True)
    # 企业营业执照: stored once under its sha256 in UPLOAD_FOLDER; the name is only shown, never used as a path.
    licence_sha256: Mapped[str] = mapped_column(String(64))
    licence_filename: Mapped[str] = mapped_column(String(200))
    licence_size: Mapped[int] = mapped_column()
    licence_type: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending / approved / rejected
    opinion: Mapped[str] = mapped_column(String(500), default="")
    # sha256 of the applicant's access token; the token itself is shown once and never stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    admin_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    password_issued_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())

    superior: Mapped[Unit] = relationship(foreign_keys=[superior_id])
    unit_type: Mapped[UnitType] = relationship()
    nature: Mapped[UnitNature] = relationship()
    region: Mapped[Region] = relationship()
    unit: Mapped[Unit | None] = relationship(foreign_keys=[unit_id])
    admin: Mapped[User | None] = relationship(foreign_keys=[admin_id])


class SuperiorChangeRequest(db.Model):
    """变更上级单位: reviewed by the new superior; the unit moves with its whole subtree once approved."""

    __tablename__ = "superior_change_request"
    __table_args__ = (Index("ix_superior_change_request_unit_status", "unit_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    old_parent_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    new_parent_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    reason: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending / approved / rejected
    opinion: Mapped[str] = mapped_column(String(500), default="")
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())
    decided_at: Mapped[datetime | None] = mapped_column()

    unit: Mapped[Unit] = relationship(foreign_keys=[unit_id])
    old_parent: Mapped[Unit | None] = relationship(foreign_keys=[old_parent_id])
    new_parent: Mapped[Unit] = relationship(foreign_keys=[new_parent_id])
    requested_by: Mapped[User | None] = relationship()
