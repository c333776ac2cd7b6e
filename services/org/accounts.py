"""Accounts and roles (S 1.2.9.1.3 工作人员管理, 1.2.9.1.4 角色管理; FEATURES A5, A6, A10).

Rules owned here:
- Passwords: at least 8 characters with letters and digits; stored hashed, never shown again.
- Sign-in is locked for LOGIN_LOCK_MINUTES after LOGIN_MAX_FAILURES consecutive failures (A10).
- Disabling an account or resetting its password ends its sessions everywhere (session_token rotates).
- A unit's 超级管理员 manages its staff and roles; nobody disables or demotes themselves.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from app.extensions import db
from app.models import Role, RolePermission, Unit, User
from services.authz import access
from services.common import audit_log, opinions
from services.common.errors import Conflict, Forbidden, InvalidInput, NotFound
from services.workflow import instances


class LoginFailed(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=current_app.config.get("PASSWORD_HASH_METHOD", "scrypt"))


def generate_initial_password() -> str:
    """12 characters, letters and digits, meeting the password policy; shown once to whoever created it."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789"
    while True:
        pw = "".join(secrets.choice(alphabet) for _ in range(12))
        if any(c.isdigit() for c in pw) and any(c.isalpha() for c in pw):
            return pw


def check_password_policy(password: str, field: str = "password") -> None:
    if len(password) < 8 or len(password) > 64:
        raise InvalidInput("密码：长度须为 8–64 位", field=field)
    if not any(c.isdigit() for c in password) or not any(c.isalpha() for c in password):
        raise InvalidInput("密码：须同时包含字母和数字", field=field)


# A fixed hash to compare against for unknown usernames, so the reply time does not reveal which exist.
_DUMMY_HASH: str | None = None


def failed_login_message(wrong: str = "用户名或密码错误") -> str:
    """The one answer to a wrong account or password, known or not: nothing tells which accounts exist (A10)."""
    return (f"{wrong}；连续失败 {current_app.config['LOGIN_MAX_FAILURES']} 次将锁定账号 "
            f"{current_app.config['LOGIN_LOCK_MINUTES']} 分钟")


def authenticate(username: str, password: str, now: datetime, ip: str = "") -> User:
    """Check credentials; count failures and lock the account after too many (A10). A wrong password answers as an
    unknown account does (no 还可尝试 N 次, no 已锁定): only who knows the password learns that it is locked."""
    global _DUMMY_HASH
    user = db.session.scalar(select(User).where(func.lower(User.username) == username.strip().lower()))
    if user is None:
        _DUMMY_HASH = _DUMMY_HASH or hash_password(secrets.token_hex(8))
        check_password_hash(_DUMMY_HASH, password)
        raise LoginFailed(failed_login_message())
    if not check_password_hash(user.password_hash, password):
        if user.locked_until is not None and user.locked_until > now:
            raise LoginFailed(failed_login_message())
        max_failures = int(current_app.config["LOGIN_MAX_FAILURES"])
        user.failed_logins += 1
        if user.failed_logins >= max_failures:
            user.failed_logins = 0
            user.locked_until = now + timedelta(minutes=int(current_app.config["LOGIN_LOCK_MINUTES"]))
            audit_log.record(None, "auth.locked", f"账号 {user.username} 连续登录失败，已锁定", "user",
                             user.id, ip=ip, unit_id=user.unit_id)
        raise LoginFailed(failed_login_message())
    if user.locked_until is not None and user.locked_until > now:
        minutes = max(1, int((user.locked_until - now).total_seconds() // 60) + 1)
        raise LoginFailed(f"登录失败次数过多，账号已锁定，请 {minutes} 分钟后再试")
    if not user.enabled:
        raise LoginFailed("账号已停用，请联系本单位管理员")
    if user.unit.status != "active" and not user.is_platform_admin:
        raise LoginFailed("所在单位尚未通过审核或已注销，暂不能登录")
    user.failed_logins = 0
    user.locked_until = None
    if user.last_login_at is None:
        opinions.seed_default_opinions(user)  # a first sign-in finds 常用意见 to start from
    user.last_login_at = now
    if not user.session_token:
        user.session_token = secrets.token_hex(8)
    audit_log.record(user, "auth.login", "登录系统", "user", user.id, ip=ip)
    return user


def change_password(user: User, old_password: str, new_password: str) -> None:
    if not check_password_hash(user.password_hash, old_password):
        raise InvalidInput("原密码：不正确", field="old_password")
    check_password_policy(new_password, field="new_password")
    if old_password == new_password:
        raise InvalidInput("新密码：不能与原密码相同", field="new_password")
    user.password_hash = hash_password(new_password)
    user.must_change_password = False
    user.session_token = secrets.token_hex(8)
    audit_log.record(user, "auth.change_password", "修改登录密码", "user", user.id)


def _load_roles(unit: Unit, role_ids: list[int]) -> list[Role]:
    if not role_ids:
        return []
    roles = list(db.session.scalars(select(Role).where(Role.id.in_(role_ids), Role.unit_id == unit.id)))
    if len(roles) != len(set(role_ids)):
        raise InvalidInput("角色：只能选择本单位的角色", field="role_ids")
    return roles


def _check_username(username: str, user: User | None = None) -> None:
    clash = db.session.scalar(
        select(User.id).where(func.lower(User.username) == username.lower(), User.id != (user.id if user else -1))
    )
    if clash is not None:
        raise Conflict("登录账号：已被占用，请换一个", field="username")


def create_staff(actor: User, unit: Unit, data: dict[str, Any], role_ids: list[int]) -> User:
    access.require_permission(actor, "staff.manage", unit)
    _check_username(data["username"])
    check_password_policy(data["password"])
    user = User(
        username=data["username"], password_hash=hash_password(data["password"]), name=data["name"],
        phone=data["phone"], id_number=data.get("id_number"), unit_id=unit.id,
        must_change_password=True, session_token=secrets.token_hex(8),
    )
    user.roles = _load_roles(unit, role_ids)
    db.session.add(user)
    db.session.flush()
    audit_log.record(actor, "staff.create", f"新增工作人员 {user.name}（{user.username}）", "user", user.id,
                     detail={"roles": [r.name for r in user.roles]})
    _staff_changed(unit.id)
    return user


def update_staff(actor: User, user: User, data: dict[str, Any], role_ids: list[int]) -> User:
    access.require_permission(actor, "staff.manage", user.unit)
    _check_username(data["username"], user)
    user.username = data["username"]
    user.name = data["name"]
    user.phone = data["phone"]
    user.id_number = data.get("id_number")
    before = {role.id for role in user.roles}
    user.roles = _load_roles(user.unit, role_ids)
    audit_log.record(actor, "staff.update", f"修改工作人员 {user.name}", "user", user.id,
                     detail={"roles": [r.name for r in user.roles]})
    if {role.id for role in user.roles} != before:  # a new phone number offers no task to anyone
        _staff_changed(user.unit_id)
    return user


def set_staff_enabled(actor: User, user: User, enabled: bool) -> None:
    access.require_permission(actor, "staff.manage", user.unit)
    if user.id == actor.id:
        raise Forbidden("不能停用自己的账号")
    user.enabled = enabled
    if not enabled:
        user.session_token = secrets.token_hex(8)
    audit_log.record(actor, "staff.enable" if enabled else "staff.disable",
                     f"{'启用' if enabled else '停用'}工作人员 {user.name}", "user", user.id)
    _staff_changed(user.unit_id)


def reset_password(actor: User, user: User) -> str:
    """A new random password, shown once to the administrator; the user must change it at next sign-in."""
    access.require_permission(actor, "staff.manage", user.unit)
    password = generate_initial_password()
    user.password_hash = hash_password(password)
    user.must_change_password = True
    user.failed_logins = 0
    user.locked_until = None
    user.session_token = secrets.token_hex(8)
    audit_log.record(actor, "staff.reset_password", f"重置工作人员 {user.name} 的密码", "user", user.id)
    return password


def _staff_changed(unit_id: int) -> None:
    """Who may act changed in the unit: its open tasks are offered to who may act now."""
    db.session.flush()
    instances.refresh_candidates(unit_id)


def load_staff(actor: User, user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None or user.is_platform_admin or not access.has_permission(actor, "staff.manage", user.unit):
        raise NotFound("工作人员不存在或无权查看")
    return user


def save_role(actor: User, unit: Unit, role: Role | None, name: str, description: str, codes: list[str]) -> Role:
    """A new role is created in `unit`; an existing one stays in its own unit, whoever edits it."""
    if role is not None:
        unit = db.session.get(Unit, role.unit_id) or unit
    access.require_permission(actor, "role.manage", unit)
    registry = access.registry()
    unknown = [c for c in codes if c not in registry]
    if unknown:
        raise InvalidInput(f"权限：未知的权限码 {', '.join(unknown)}", field="permissions")
    platform = [c for c in codes if registry[c].scope == "platform"]
    if platform:
        raise InvalidInput("权限：省级平台权限不能授予单位角色", field="permissions")
    foreign = [registry[c].name for c in codes if not registry[c].applies_to(unit)]
    if foreign:
        raise InvalidInput(f"权限：{'、'.join(foreign)} 不适用于本单位类型", field="permissions")
    clash = db.session.scalar(
        select(Role.id).where(Role.unit_id == unit.id, Role.name == name, Role.id != (role.id if role else -1))
    )
    if clash is not None:
        raise Conflict("角色名称：本单位已有同名角色", field="name")
    created = role is None
    if role is None:
        role = Role(unit_id=unit.id)
        db.session.add(role)
    role.name = name
    role.description = description
    role.permissions = [RolePermission(permission_code=c) for c in sorted(set(codes))]
    db.session.flush()
    audit_log.record(actor, "role.create" if created else "role.update", f"{'新增' if created else '修改'}角色「{name}」",
                     "role", role.id, detail={"permissions": sorted(set(codes))})
    _staff_changed(role.unit_id)
    return role


def delete_role(actor: User, role: Role) -> None:
    access.require_permission(actor, "role.manage", db.session.get(Unit, role.unit_id))
    audit_log.record(actor, "role.delete", f"删除角色「{role.name}」", "role", role.id)
    db.session.delete(role)
    _staff_changed(role.unit_id)


def load_role(actor: User, role_id: int) -> Role:
    role = db.session.get(Role, role_id)
    if role is None or not access.has_permission(actor, "role.manage", db.session.get(Unit, role.unit_id)):
        raise NotFound("角色不存在或无权查看")
    return role
