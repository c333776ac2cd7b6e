"""多岗审核: who reviews at which level inside a unit (S 1.2.9.1.2; FEATURES B1).

The only code that resolves review levels and candidates (STYLE: one reader per fact).
- A unit may configure, per audit item type, ordered levels each with its staff; a review passes level 1 → N.
- With no configuration, any enabled staff holding the item's review permission (the unit's 超级管理员
  included) reviews, in one level.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Row, bindparam, delete, select

from app.extensions import db, shared_memo, transaction_memo
from app.models import AuditLevel, AuditLevelMember, Role, RolePermission, Unit, User, UserRole
from services.authz import access
from services.common import audit_log, config_cache
from services.common.errors import InvalidInput

QUALIFICATION_ITEM = "application_qualification"
ISSUE_PERMISSION = "certificate.issue"
ITEMS_FILE = Path(__file__).resolve().parents[2] / "admin_config" / "audit_items.yaml"


@dataclass(frozen=True)
class AuditItem:
    code: str
    name: str
    permission: str
    business_types: tuple[str, ...]


@lru_cache(maxsize=1)
def audit_items() -> dict[str, AuditItem]:
    raw = yaml.safe_load(ITEMS_FILE.read_text(encoding="utf-8"))["audit_items"]
    return {i["code"]: AuditItem(i["code"], i["name"], i["permission"], tuple(i["business_types"])) for i in raw}


@lru_cache(maxsize=1)
def business_type_names() -> dict[str, str]:
    """业务类型 → its name in 待办事项 (the `business_types` mapping of audit_items.yaml)."""
    raw = yaml.safe_load(ITEMS_FILE.read_text(encoding="utf-8")).get("business_types") or {}
    return {str(code): str(name) for code, name in raw.items()}


@lru_cache(maxsize=1)
def submit_permissions() -> dict[str, str]:
    """业务类型 → the permission of the staff who correct and resubmit it after 退回 (`submitters` in the file)."""
    raw = yaml.safe_load(ITEMS_FILE.read_text(encoding="utf-8")).get("submitters") or {}
    return {str(code): str(permission) for code, permission in raw.items()}


def item_for_business(business_type: str) -> AuditItem | None:
    for item in audit_items().values():
        if business_type in item.business_types:
            return item
    return None


def configured_levels(unit_id: int, item_type: str) -> list[AuditLevel]:
    return list(db.session.scalars(
        select(AuditLevel).where(AuditLevel.unit_id == unit_id, AuditLevel.item_type == item_type)
        .order_by(AuditLevel.level_no)
    ))


def review_levels(unit_id: int, item_type: str) -> list[int]:
    """The level numbers a review passes through in this unit: the configured ones, else [1]. Read with the
    levels' members (one statement), which the first level's task then takes as its candidates."""
    return sorted({number for number, _user_id in _configured(unit_id, item_type)}) or [1]


# Every configured level of a unit's item type with its enabled members, and a unit's enabled administrators
# (post unit_admin): Core statements built once, read on the connection — they run on each completed step, where
# the ORM's per-statement work cost several times the query (issue #3).
_LEVEL, _MEMBER, _USER = AuditLevel.__table__, AuditLevelMember.__table__, User.__table__
_CONFIGURED_MEMBERS = (
    select(_LEVEL.c.level_no, _USER.c.id).select_from(_LEVEL)
    .outerjoin(_MEMBER, _MEMBER.c.level_id == _LEVEL.c.id)
    .outerjoin(_USER, (_USER.c.id == _MEMBER.c.user_id) & _USER.c.enabled.is_(True))
    .where(_LEVEL.c.unit_id == bindparam("unit_id"), _LEVEL.c.item_type == bindparam("item_type"))
    .order_by(_USER.c.id)
)
_UNIT_ADMINS = select(_USER.c.id).where(_USER.c.unit_id == bindparam("unit_id"), _USER.c.is_unit_admin.is_(True),
                                        _USER.c.enabled.is_(True))
# The unit's enabled 超级管理员 and the enabled staff its roles grant a permission.
_ROLE, _GRANT, _USER_ROLE = Role.__table__, RolePermission.__table__, UserRole.__table__
_ADMINS_AND_HOLDERS = (
    select(_USER.c.id)
    .where(_USER.c.unit_id == bindparam("unit_id"), _USER.c.enabled.is_(True),
           _USER.c.is_unit_admin.is_(True) | _USER.c.id.in_(
               select(_USER_ROLE.c.user_id)
               .join(_ROLE, _ROLE.c.id == _USER_ROLE.c.role_id)
               .join(_GRANT, _GRANT.c.role_id == _ROLE.c.id)
               .where(_ROLE.c.unit_id == bindparam("unit_id"), _GRANT.c.permission_code == bindparam("permission"))))
    .order_by(_USER.c.id)
)


def _read(statement: Any, **params: Any) -> Sequence[Row[Any]]:
    db.session.flush()  # as the ORM's autoflush would: the rows show what this session already changed
    return db.session.connection().execute(statement, params).all()


def _configured(unit_id: int, item_type: str) -> Sequence[tuple[int, int | None]]:
    """(level number, enabled member id or None) of the unit's configured levels for the item; remembered for the
    transaction (a routing step asks for the levels, then for the first level's staff)."""
    memo = transaction_memo("audit_levels")
    rows = memo.get((unit_id, item_type))
    if rows is None:
        # Kept per process under the configuration generation: audit_level, its members and the staff's enabled
        # flag are configuration tables (app/models/configuration.py), so a change is seen by the next read.
        rows = config_cache.cached("audit_levels", (unit_id, item_type), lambda: tuple(
            (number, user_id) for number, user_id in _read(_CONFIGURED_MEMBERS, unit_id=unit_id, item_type=item_type)))
        transaction_memo("audit_levels")[(unit_id, item_type)] = rows
    return rows


def forget_levels() -> None:
    """The transaction changed staff or levels: read them again."""
    transaction_memo("audit_levels").clear()
    shared_memo("admins_and_holders").clear()


def candidate_user_ids(unit_id: int, item_type: str, level_no: int) -> list[int]:
    """The staff who may act at `level_no`; enabled accounts only."""
    configured = _configured(unit_id, item_type)
    if configured:
        return [user_id for number, user_id in configured if number == level_no and user_id is not None]
    return _admins_and_holders(unit_id, audit_items()[item_type].permission)


def _admins_and_holders(unit_id: int, permission: str) -> list[int]:
    """The unit's enabled 超级管理员 and the enabled staff its roles grant `permission`; read once per chunk of a
    bulk job (shared_memo: each of its items makes a task for the same people)."""
    memo = shared_memo("admins_and_holders")
    held = memo.get((unit_id, permission))
    if held is None:
        held = [row.id for row in _read(_ADMINS_AND_HOLDERS, unit_id=unit_id, permission=permission)]
        memo[(unit_id, permission)] = held
    return list(held)


def save_levels(actor: User, unit: Unit, item_type: str, levels: list[dict[str, Any]]) -> list[AuditLevel]:
    """Replace the unit's levels for `item_type`. levels: [{"name": str, "user_ids": [int, ...]}, ...] in order.

    An empty list removes the configuration (back to "any holder of the permission, one level").
    """
    access.require_permission(actor, "audit.config", unit)
    if item_type not in audit_items():
        raise InvalidInput("审核事项类型：无效", field="item_type")
    staff = set(db.session.scalars(select(User.id).where(User.unit_id == unit.id, User.enabled.is_(True))))
    for number, level in enumerate(levels, start=1):
        if not level["user_ids"]:
            raise InvalidInput(f"第 {number} 级：至少选择一名审核人员", field=f"level_{number}")
        foreign = set(level["user_ids"]) - staff
        if foreign:
            raise InvalidInput(f"第 {number} 级：只能选择本单位已启用的工作人员", field=f"level_{number}")
        if len(level.get("name") or "") > 30:
            raise InvalidInput(f"第 {number} 级：级别名称不能超过 30 个字", field=f"level_{number}")
    forget_levels()
    db.session.execute(delete(AuditLevel).where(AuditLevel.unit_id == unit.id, AuditLevel.item_type == item_type))
    db.session.flush()
    saved = []
    for number, level in enumerate(levels, start=1):
        row = AuditLevel(unit_id=unit.id, item_type=item_type, level_no=number,
                         name=level.get("name") or f"第{number}级审核")
        row.members = [AuditLevelMember(user_id=uid) for uid in sorted(set(level["user_ids"]))]
        db.session.add(row)
        saved.append(row)
    db.session.flush()
    audit_log.record(actor, "audit_chain.save", f"保存多岗审核配置「{audit_items()[item_type].name}」共 {len(levels)} 级",
                     "unit", unit.id, detail={"item_type": item_type,
                                              "levels": [sorted(set(lv["user_ids"])) for lv in levels]})
    return saved


@dataclass(frozen=True)
class Assignment:
    unit_id: int | None
    level_no: int | None
    user_ids: list[int]


def assign_task(post: str, business_type: str, data: dict[str, Any], owner_unit_id: int | None) -> Assignment:
    """Who works a READY user task: the reviewing unit's level staff, the owning unit's administrators,
    or nobody by account (post `applicant`: the applicant acts through their own page)."""
    if post == "unit_reviewer":
        unit_id = int(data["reviewing_unit_id"])
        level_no = int(data.get("level") or 1)
        item = item_for_business(business_type)
        if item is None:
            raise InvalidInput(f"业务类型 {business_type} 未配置审核事项")
        return Assignment(unit_id, level_no, candidate_user_ids(unit_id, item.code, level_no))
    if post == "committee_reviewer":  # 参评资格审核 (S 1.2.5.1) at the committee's forming unit
        unit_id = int(data["reviewing_unit_id"])
        return Assignment(unit_id, 1, candidate_user_ids(unit_id, QUALIFICATION_ITEM, 1))
    if post == "unit_admin" and owner_unit_id is not None:  # correct and resubmit after 退回
        permission = submit_permissions().get(business_type)
        if permission is None:
            return Assignment(owner_unit_id, None, [row.id for row in _read(_UNIT_ADMINS, unit_id=owner_unit_id)])
        return Assignment(owner_unit_id, None, _admins_and_holders(owner_unit_id, permission))
    if post == "issuer" and owner_unit_id is not None:  # 发证 (S 1.2.8.1): the issuing unit's 证书发放 staff
        return Assignment(owner_unit_id, None, _admins_and_holders(owner_unit_id, ISSUE_PERMISSION))
    return Assignment(owner_unit_id, None, [])
