"""Organisation: regions, unit types and natures, and the unit tree (manual S 1.1.2, 1.2.9)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db


class Region(db.Model):
    """职称业务归属地: GB/T 2260 regions plus the 省本级 / 市本级 business nodes."""

    __tablename__ = "region"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    name: Mapped[str] = mapped_column(String(50))
    level: Mapped[str] = mapped_column(String(20))  # province / province_own / city / city_own / county
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("region.id"), index=True)
    sort_order: Mapped[int] = mapped_column(default=0)

    parent: Mapped[Region | None] = relationship(remote_side=[id])

    @property
    def full_name(self) -> str:
        names = []
        node: Region | None = self
        while node is not None:
            names.append(node.name)
            node = node.parent
        return " / ".join(reversed(names))


class UnitType(db.Model):
    """人社部门 / 主管部门 / 申报单位 / 自主评审单位 / 中央在川单位."""

    __tablename__ = "unit_type"

    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(20), unique=True)
    # 人社部门 log in through the internal platform and keep no legal-person record (S 1.1.2.1 (2)).
    needs_legal_person: Mapped[bool] = mapped_column(default=True)
    sort_order: Mapped[int] = mapped_column(default=0)


class UnitTypeGrant(db.Model):
    """Which unit types a unit of a given type may create below it (S 1.1.2.1 【单位类型】)."""

    __tablename__ = "unit_type_grant"

    grantor_code: Mapped[str] = mapped_column(ForeignKey("unit_type.code"), primary_key=True)
    grantee_code: Mapped[str] = mapped_column(ForeignKey("unit_type.code"), primary_key=True)


class UnitNature(db.Model):
    """单位性质: 机关 / 事业单位 / 企业 / 社会组织 / 其他."""

    __tablename__ = "unit_nature"

    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(20), unique=True)
    credit_code_prefixes: Mapped[str] = mapped_column(String(50), default="")
    sort_order: Mapped[int] = mapped_column(default=0)


class Unit(db.Model):
    """A unit in the tree. `path` is the materialised chain of ids ("/1/5/23/") for subtree scoping."""

    __tablename__ = "unit"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), index=True)
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    path: Mapped[str] = mapped_column(String(400), index=True, default="")
    depth: Mapped[int] = mapped_column(default=0)
    unit_type_code: Mapped[str] = mapped_column(ForeignKey("unit_type.code"))
    nature_code: Mapped[str] = mapped_column(ForeignKey("unit_nature.code"))
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id"), index=True)
    contact_name: Mapped[str] = mapped_column(String(10), default="")
    phone: Mapped[str] = mapped_column(String(20))
    address: Mapped[str] = mapped_column(String(100), default="")
    legal_person_name: Mapped[str | None] = mapped_column(String(10))
    legal_person_id_number: Mapped[str | None] = mapped_column(String(18))
    legal_person_phone: Mapped[str | None] = mapped_column(String(20))
    # active: may work; pending: self-registered and awaiting its superior; disabled: deregistered.
    status: Mapped[str] = mapped_column(String(20), default="active", index=True)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())

    parent: Mapped[Unit | None] = relationship(remote_side=[id], lazy="joined", join_depth=1)
    unit_type: Mapped[UnitType] = relationship(lazy="joined")
    nature: Mapped[UnitNature] = relationship(lazy="joined")
    region: Mapped[Region] = relationship(lazy="joined")

    def is_within(self, other: Unit) -> bool:
        """True when this unit is `other` or below it in the tree."""
        return self.path.startswith(other.path)

    STATUS_LABELS = {"active": "正常", "pending": "待审核", "disabled": "已注销"}

    @property
    def status_label(self) -> str:
        return self.STATUS_LABELS.get(self.status, self.status)
