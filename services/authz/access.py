"""The one place that decides access (STYLE: one reader per fact).

Rules:
- A permission is granted through roles; a unit's 超级管理员 holds every unit-level permission (S 1.2.9.1.3).
- Scope `unit` acts on the user's own unit only; scope `subtree` on the own unit and every unit below it
  (逐级管理, S 1.1.2: a superior sees and manages its subordinates, never its superiors or siblings);
  scope `platform` belongs to the province's platform administrators alone.
- Disabled accounts and units that are not active have no permissions.
- A permission with `unit_types` means something only in units of those types (黑名单管理 belongs to 人社部门,
  H 1.21): elsewhere nobody holds it, not even the 超级管理员.
- Individual applicants (申报人, app.models.Applicant) hold no staff permission at all.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Select, select

from app.models import Unit, User
from services.common.errors import Forbidden


@dataclass(frozen=True)
class PermissionDef:
    code: str
    name: str
    menu: str
    scope: str
    unit_types: tuple[str, ...] = ()

    def applies_to(self, unit: Unit) -> bool:
        return self.applies_to_type(unit.unit_type_code)

    def applies_to_type(self, unit_type: str) -> bool:
        return not self.unit_types or unit_type in self.unit_types


PERMISSIONS_FILE = Path(__file__).resolve().parents[2] / "admin_config" / "permissions.yaml"


# A code is dotted lower-case words: app.auth reads an account's codes joined by commas in one column.
PERMISSION_CODE = re.compile(r"[a-z][a-z0-9_]*(?:\.[a-z0-9_]+)*")


@lru_cache(maxsize=1)
def registry() -> dict[str, PermissionDef]:
    """The permission registry: admin_config/permissions.yaml, mirrored into the permission table."""
    raw = yaml.safe_load(PERMISSIONS_FILE.read_text(encoding="utf-8"))
    items = [(menu["menu"], item) for menu in raw["menus"] for item in menu["permissions"]]
    for _, item in items:
        if not PERMISSION_CODE.fullmatch(str(item["code"])):
            raise ValueError(f"admin_config/permissions.yaml：权限编码 {item['code']!r} 只能由小写字母、数字、下划线和点组成"
                             "（如 application.review）")
    return {item["code"]: PermissionDef(item["code"], item["name"], menu, item.get("scope", "unit"),
                                        tuple(item.get("unit_types", ())))
            for menu, item in items}


def permission_scopes() -> dict[str, str]:
    return {code: p.scope for code, p in registry().items()}


def _scope(code: str) -> str:
    perm = registry().get(code)
    return perm.scope if perm is not None else "unit"


@dataclass
class _RequestCodes:
    """The codes a signed-in account's roles grant, read with the account, and what they came to."""

    held: frozenset[str]
    facts: tuple[Any, ...] = ()  # the account's flags and unit that `effective` was worked out for
    effective: frozenset[str] = frozenset()


# A request's signed-in account carries the codes its roles grant (app.auth reads them with the account and drops
# them when the request ends): walking the account's roles for every check and menu entry cost more than the
# checks themselves (issue #3).
_REQUEST_CODES = "_request_permission_codes"


def hold_codes_for_request(user: User, codes: Iterable[str]) -> None:
    """The codes `user`'s roles grant, as read with the account at the start of a request; until
    forget_request_codes they stand in for `user.roles` (a change to the roles counts from the next request)."""
    setattr(user, _REQUEST_CODES, _RequestCodes(frozenset(codes)))


def forget_request_codes(user: User) -> None:
    if hasattr(user, _REQUEST_CODES):
        delattr(user, _REQUEST_CODES)


def effective_codes(user: User) -> set[str]:
    """Every permission code the user holds, regardless of target unit."""
    return set(_effective_codes(user))


def _effective_codes(user: User | Any) -> frozenset[str]:
    if not isinstance(user, User) or not user.enabled:
        return frozenset()
    if user.is_platform_admin:
        return frozenset(registry())
    held: _RequestCodes | None = getattr(user, _REQUEST_CODES, None)
    if held is None:
        return _granted(user, user.permission_codes)
    facts = (user.is_unit_admin, user.unit_id, user.unit.status, user.unit.unit_type_code)
    if held.facts != facts:
        held.facts, held.effective = facts, _granted(user, held.held)
    return held.effective


def _granted(user: User, role_codes: Iterable[str]) -> frozenset[str]:
    if user.unit.status != "active":
        return frozenset()
    applicable = _applicable_codes(user.unit.unit_type_code)
    return applicable if user.is_unit_admin else applicable.intersection(role_codes)


# unit type → the non-platform codes that mean something in units of that type, for the registry they were
# worked out from (reference data reloads replace the registry).
_APPLICABLE: tuple[dict[str, PermissionDef], dict[str, frozenset[str]]] = ({}, {})


def _applicable_codes(unit_type: str) -> frozenset[str]:
    global _APPLICABLE
    perms = registry()
    if _APPLICABLE[0] is not perms:
        _APPLICABLE = (perms, {})
    by_type = _APPLICABLE[1]
    if unit_type not in by_type:
        by_type[unit_type] = frozenset(code for code, perm in perms.items()
                                       if perm.scope != "platform" and perm.applies_to_type(unit_type))
    return by_type[unit_type]


def has_permission(user: User | Any, code: str, unit: Unit | None = None) -> bool:
    """May `user` exercise `code`, on `unit` when one is given?"""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if code not in _effective_codes(user):
        return False
    if unit is None or user.is_platform_admin:
        return True
    scope = _scope(code)
    if scope == "subtree":
        return unit.is_within(user.unit)
    return unit.id == user.unit_id


def require_permission(user: User, code: str, unit: Unit | None = None) -> None:
    if not has_permission(user, code, unit):
        raise Forbidden()


def visible_units(user: User, code: str, include_own: bool = True) -> Select[tuple[Unit]]:
    """The units the user may see under `code`: the scope helper every unit list goes through."""
    stmt = select(Unit)
    if not has_permission(user, code):
        return stmt.where(Unit.id.is_(None))
    if user.is_platform_admin:
        return stmt
    scope = _scope(code)
    if scope == "subtree":
        stmt = stmt.where(Unit.path.startswith(user.unit.path, autoescape=True))
        if not include_own:
            stmt = stmt.where(Unit.id != user.unit_id)
        return stmt
    return stmt.where(Unit.id == user.unit_id)


def scope_to_units(stmt: Select[Any], unit_column: Any, user: User, code: str) -> Select[Any]:
    """Restrict any statement with a unit foreign key to the units `user` may see under `code`."""
    if not has_permission(user, code):
        return stmt.where(unit_column.is_(None) & unit_column.is_not(None))
    if user.is_platform_admin:
        return stmt
    scope = _scope(code)
    if scope == "subtree":
        subtree = select(Unit.id).where(Unit.path.startswith(user.unit.path, autoescape=True))
        return stmt.where(unit_column.in_(subtree))
    return stmt.where(unit_column == user.unit_id)
