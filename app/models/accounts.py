"""Accounts, roles and permissions (S 1.2.9.1.3, 1.2.9.1.4)."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import ForeignKey, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.org import Unit


class Permission(db.Model):
    """A permission code from admin_config/permissions.yaml with its Chinese description."""

    __tablename__ = "permission"

    code: Mapped[str] = mapped_column(String(60), primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    menu: Mapped[str] = mapped_column(String(30), default="")
    # unit: acts on the own unit; subtree: own unit and its subordinates; platform: province administrators only.
    scope: Mapped[str] = mapped_column(String(20), default="unit")
    sort_order: Mapped[int] = mapped_column(default=0)


class Role(db.Model):
    """A set of permissions defined by a unit's super administrator."""

    __tablename__ = "role"
    __table_args__ = (UniqueConstraint("unit_id", "name", name="uq_role_unit_id_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    name: Mapped[str] = mapped_column(String(30))
    description: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    permissions: Mapped[list[RolePermission]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def permission_codes(self) -> set[str]:
        return {p.permission_code for p in self.permissions}


class RolePermission(db.Model):
    __tablename__ = "role_permission"

    role_id: Mapped[int] = mapped_column(ForeignKey("role.id", ondelete="CASCADE"), primary_key=True)
    permission_code: Mapped[str] = mapped_column(ForeignKey("permission.code"), primary_key=True)


class UserRole(db.Model):
    __tablename__ = "user_role"

    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True)
    role_id: Mapped[int] = mapped_column(ForeignKey("role.id", ondelete="CASCADE"), primary_key=True, index=True)


class User(UserMixin, db.Model):
    """A staff account of a unit, or the province's platform administrator."""

    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(30), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(10))
    id_number: Mapped[str | None] = mapped_column(String(18))
    phone: Mapped[str] = mapped_column(String(20), default="")
    # Where e-mail notifications go (FEATURES K4); the person sets it on 消息提醒设置.
    email: Mapped[str | None] = mapped_column(String(60))
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    # The first account of a unit is its 超级管理员 (S 1.2.9.1.3).
    is_unit_admin: Mapped[bool] = mapped_column(default=False)
    is_platform_admin: Mapped[bool] = mapped_column(default=False)
    enabled: Mapped[bool] = mapped_column(default=True)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column()
    must_change_password: Mapped[bool] = mapped_column(default=False)
    # Changing it invalidates every existing session of the account (sign-out everywhere).
    session_token: Mapped[str] = mapped_column(String(32), default="")
    last_login_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    unit: Mapped[Unit] = relationship(lazy="joined")
    roles: Mapped[list[Role]] = relationship(secondary="user_role", lazy="selectin")

    @property
    def is_active(self) -> bool:  # Flask-Login refuses disabled accounts
        return self.enabled

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    @property
    def permission_codes(self) -> set[str]:
        codes: set[str] = set()
        for role in self.roles:
            codes |= role.permission_codes
        return codes
