"""The unit tree (manual S 1.1.2, 1.2.9; FEATURES A1, A2, A4, A7).

Rules owned here:
- A superior creates a subordinate in three steps (basic info → legal person for non-人社 units → 经办人,
  who becomes the subordinate's 超级管理员), offering only the unit types its own type may grant.
- 职称业务归属地 of a subordinate lies inside its superior's territory (省本级 covers the province,
  市本级 its city).
- 统一社会信用代码 is unique; its type prefix must fit the chosen 单位性质 (GB 32100-2015).
- A unit edits its own basic info; changing the superior is a review flow (workflow issue), not an edit.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, or_, select

from app.extensions import db
from app.models import Region, Role, RolePermission, Unit, UnitNature, UnitType, UnitTypeGrant, User
from services.authz import access
from services.common import audit_log
from services.common.errors import Conflict, InvalidInput, NotFound
from services.org.accounts import generate_initial_password, hash_password


@dataclass(frozen=True)
class NewSubordinate:
    unit: Unit
    admin: User
    initial_password: str


def allowed_child_types(parent: Unit) -> list[UnitType]:
    stmt = (
        select(UnitType)
        .join(UnitTypeGrant, UnitTypeGrant.grantee_code == UnitType.code)
        .where(UnitTypeGrant.grantor_code == parent.unit_type_code)
        .order_by(UnitType.sort_order)
    )
    return list(db.session.scalars(stmt))


def territory_of(region: Region) -> Region:
    """省本级 / 市本级 stand for their province or city; a county stands for itself."""
    if region.level in ("province_own", "city_own") and region.parent is not None:
        return region.parent
    return region


def region_is_within(region: Region, ancestor: Region) -> bool:
    node: Region | None = region
    while node is not None:
        if node.id == ancestor.id:
            return True
        node = node.parent
    return False


def get_region(code: str) -> Region:
    region = db.session.scalar(select(Region).where(Region.code == code))
    if region is None:
        raise InvalidInput("职称业务归属地：请选择有效的行政区划", field="region_code")
    return region


def _check_basic(basic: dict[str, Any], parent: Unit | None, unit: Unit | None = None) -> tuple[Region, UnitNature]:
    nature = db.session.get(UnitNature, basic["nature_code"])
    if nature is None:
        raise InvalidInput("单位性质：请选择有效的单位性质", field="nature_code")
    prefixes = [p for p in nature.credit_code_prefixes.split(",") if p]
    if prefixes and basic["credit_code"][:2] not in prefixes:
        raise InvalidInput(
            f"统一社会信用代码：前两位 {basic['credit_code'][:2]} 与单位性质「{nature.name}」不符"
            f"（{nature.name}应以 {' / '.join(prefixes)} 开头）",
            field="credit_code",
        )
    clash = db.session.scalar(
        select(Unit).where(Unit.credit_code == basic["credit_code"], Unit.id != (unit.id if unit else -1))
    )
    if clash is not None:
        raise Conflict(f"统一社会信用代码：已被单位「{clash.name}」使用", field="credit_code")
    region = get_region(basic["region_code"])
    if parent is not None:
        scope = territory_of(parent.region)
        if not region_is_within(region, scope):
            raise InvalidInput(
                f"职称业务归属地：须在上级单位的归属地范围内（{scope.full_name}）", field="region_code"
            )
    return region, nature


def _check_handler_username(username: str, user: User | None = None) -> None:
    clash = db.session.scalar(
        select(User.id).where(func.lower(User.username) == username.lower(), User.id != (user.id if user else -1))
    )
    if clash is not None:
        raise Conflict("登录账号：已被占用，请换一个", field="username")


def create_default_roles(unit: Unit, roles: list[dict[str, Any]]) -> None:
    for spec in roles:
        if spec.get("unit_types") and unit.unit_type_code not in spec["unit_types"]:
            continue  # e.g. 黑名单管理 only in 人社部门 (admin_config/roles.yaml)
        role = Role(unit_id=unit.id, name=spec["name"], description=spec.get("description", ""))
        role.permissions = [RolePermission(permission_code=code) for code in spec["permissions"]]
        db.session.add(role)


def check_new_unit(parent: Unit, basic: dict[str, Any], legal: dict[str, Any] | None,
                   username: str) -> tuple[UnitType, Region]:
    """The rules every new subordinate meets, whether its superior creates it (A2) or it registers itself (A3)."""
    unit_type = db.session.get(UnitType, basic["unit_type_code"])
    if unit_type is None or unit_type.code not in {t.code for t in allowed_child_types(parent)}:
        raise InvalidInput(
            f"单位类型：{parent.unit_type.name}不能新增该类型的下级单位", field="unit_type_code"
        )
    region, _ = _check_basic(basic, parent)
    if unit_type.needs_legal_person and not legal:
        raise InvalidInput("法人信息：非人社部门单位须维护法人信息", field="legal_person_name")
    _check_handler_username(username)
    return unit_type, region


def create_subordinate(
    actor: User,
    parent: Unit,
    basic: dict[str, Any],
    legal: dict[str, Any] | None,
    handler: dict[str, Any],
    default_roles: list[dict[str, Any]],
) -> NewSubordinate:
    """Create a subordinate unit, its default roles and its 超级管理员 in one flush."""
    access.require_permission(actor, "unit.sub.manage", parent)
    return add_subordinate(actor, parent, basic, legal, handler, default_roles)


def add_subordinate(
    actor: User | None,
    parent: Unit,
    basic: dict[str, Any],
    legal: dict[str, Any] | None,
    handler: dict[str, Any],
    default_roles: list[dict[str, Any]],
) -> NewSubordinate:
    """create_subordinate without the access check, for callers that decided access themselves
    (an approved registration: the superior's reviewers approved it, S 1.2.9.2.1)."""
    unit_type, region = check_new_unit(parent, basic, legal, handler["username"])

    unit = Unit(
        name=basic["name"], credit_code=basic["credit_code"], parent_id=parent.id,
        unit_type_code=unit_type.code, nature_code=basic["nature_code"], region_id=region.id,
        contact_name=basic.get("contact_name") or handler["name"], phone=basic["phone"],
        address=basic.get("address") or "", depth=parent.depth + 1, status="active",
    )
    if unit_type.needs_legal_person and legal:
        unit.legal_person_name = legal["legal_person_name"]
        unit.legal_person_id_number = legal["legal_person_id_number"]
        unit.legal_person_phone = legal["legal_person_phone"]
    db.session.add(unit)
    db.session.flush()
    unit.path = f"{parent.path}{unit.id}/"
    create_default_roles(unit, default_roles)

    password = generate_initial_password()
    admin = User(
        username=handler["username"], password_hash=hash_password(password), name=handler["name"],
        id_number=handler.get("id_number"), phone=handler["phone"], unit_id=unit.id,
        is_unit_admin=True, must_change_password=True, session_token=secrets.token_hex(8),
    )
    db.session.add(admin)
    db.session.flush()
    audit_log.record(
        actor, "unit.create", f"新增下级单位「{unit.name}」，经办人 {admin.name}（{admin.username}）",
        "unit", unit.id, detail={"parent_id": parent.id, "unit_type": unit_type.code},
    )
    return NewSubordinate(unit, admin, password)


def update_basic_info(actor: User, unit: Unit, basic: dict[str, Any], permission: str) -> Unit:
    """Edit a unit's basic info: its own (unit.self.edit) or a subordinate's (unit.sub.manage).

    The unit type is granted by the superior, so only a superior may change it, and only to a type its
    own type may grant; the superior itself is changed through the superior-change review flow (A4).
    """
    access.require_permission(actor, permission, unit)
    if permission == "unit.sub.manage" and unit.id == actor.unit_id and not actor.is_platform_admin:
        raise InvalidInput("不能通过下级单位管理编辑本单位，请使用本级单位管理")
    region, _ = _check_basic(basic, unit.parent, unit)
    if "unit_type_code" in basic and basic["unit_type_code"] != unit.unit_type_code:
        if permission != "unit.sub.manage" or unit.parent is None or basic["unit_type_code"] not in {
            t.code for t in allowed_child_types(unit.parent)
        }:
            raise InvalidInput("单位类型：不能改为该类型", field="unit_type_code")
        unit.unit_type_code = basic["unit_type_code"]
    before = {"name": unit.name, "credit_code": unit.credit_code, "region_id": unit.region_id}
    unit.name = basic["name"]
    unit.credit_code = basic["credit_code"]
    unit.nature_code = basic["nature_code"]
    unit.region_id = region.id
    unit.phone = basic["phone"]
    unit.contact_name = basic.get("contact_name") or unit.contact_name
    unit.address = basic.get("address") or ""
    db.session.flush()
    audit_log.record(actor, "unit.update", f"修改单位「{unit.name}」基本信息", "unit", unit.id,
                     detail={"before": before})
    return unit


def update_legal_person(actor: User, unit: Unit, legal: dict[str, Any], permission: str) -> None:
    access.require_permission(actor, permission, unit)
    unit.legal_person_name = legal["legal_person_name"]
    unit.legal_person_id_number = legal["legal_person_id_number"]
    unit.legal_person_phone = legal["legal_person_phone"]
    audit_log.record(actor, "unit.legal_person", f"修改单位「{unit.name}」法人信息", "unit", unit.id)


def unit_admin(unit: Unit) -> User | None:
    """The unit's 经办人 / 超级管理员 (the first of them when a unit has several)."""
    return db.session.scalar(
        select(User).where(User.unit_id == unit.id, User.is_unit_admin.is_(True)).order_by(User.id).limit(1)
    )


def update_handler(actor: User, unit: Unit, handler: dict[str, Any]) -> User:
    """A superior maintains its subordinate's 经办人 (S 1.2.9.2.2 编辑下级单位信息)."""
    access.require_permission(actor, "unit.sub.manage", unit)
    admin = unit_admin(unit)
    if admin is None:
        raise NotFound("该单位尚无经办人")
    _check_handler_username(handler["username"], admin)
    admin.username = handler["username"]
    admin.name = handler["name"]
    admin.phone = handler["phone"]
    admin.id_number = handler.get("id_number")
    audit_log.record(actor, "unit.handler", f"修改单位「{unit.name}」经办人为 {admin.name}", "user", admin.id)
    return admin


def load_unit(actor: User, unit_id: int, permission: str) -> Unit:
    """A unit by id, or 404 when it does not exist or lies outside what `actor` may see.

    Foreign ids answer 404 rather than 403 so that ids of other units' records cannot be probed.
    """
    unit = db.session.get(Unit, unit_id)
    if unit is None or not access.has_permission(actor, permission, unit):
        raise NotFound("单位不存在或无权查看")
    return unit


def subordinate_query(
    actor: User, keyword: str = "", unit_type: str = "", region_code: str = "", status: str = ""
) -> Select[tuple[Unit]]:
    """下级单位信息管理: every unit below the actor's, filtered; ordered by tree path."""
    stmt = access.visible_units(actor, "unit.sub.view", include_own=False)
    if keyword:
        like = f"%{keyword}%"
        stmt = stmt.where(or_(Unit.name.ilike(like), Unit.credit_code.ilike(like)))
    if unit_type:
        stmt = stmt.where(Unit.unit_type_code == unit_type)
    if region_code:
        region = db.session.scalar(select(Region).where(Region.code == region_code))
        if region is not None:
            stmt = stmt.where(Unit.region_id.in_(_region_subtree_ids(region)))
    if status:
        stmt = stmt.where(Unit.status == status)
    return stmt.order_by(Unit.path)


def _region_subtree_ids(region: Region) -> list[int]:
    ids = [region.id]
    frontier = [region.id]
    while frontier:
        frontier = list(db.session.scalars(select(Region.id).where(Region.parent_id.in_(frontier))))
        ids.extend(frontier)
    return ids


def regions_tree() -> list[dict[str, Any]]:
    """Regions as nested dicts for the cascading picker on unit forms."""
    rows = db.session.execute(
        select(Region.id, Region.code, Region.name, Region.parent_id).order_by(Region.sort_order, Region.code)
    ).all()
    by_parent: dict[int | None, list[dict[str, Any]]] = {}
    for row in rows:
        by_parent.setdefault(row.parent_id, []).append({"id": row.id, "code": row.code, "name": row.name})

    def attach(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for node in nodes:
            node["children"] = attach(by_parent.get(node.pop("id"), []))
        return nodes

    return attach(by_parent.get(None, []))


def create_root_unit(basic: dict[str, Any], handler: dict[str, Any], default_roles: list[dict[str, Any]]) -> tuple[Unit, User]:
    """The top of the tree (the province's 人社厅), created by the command line, never through the pages."""
    region, _ = _check_basic(basic, None)
    _check_handler_username(handler["username"])
    unit = Unit(name=basic["name"], credit_code=basic["credit_code"], unit_type_code=basic["unit_type_code"],
                nature_code=basic["nature_code"], region_id=region.id, phone=basic["phone"],
                contact_name=basic.get("contact_name") or handler["name"], address=basic.get("address") or "",
                depth=0, status="active")
    db.session.add(unit)
    db.session.flush()
    unit.path = f"/{unit.id}/"
    create_default_roles(unit, default_roles)
    admin = User(username=handler["username"], password_hash=hash_password(generate_initial_password()),
                 name=handler["name"], phone=handler["phone"], id_number=handler.get("id_number"),
                 unit_id=unit.id, is_unit_admin=True, session_token=secrets.token_hex(8))
    db.session.add(admin)
    db.session.flush()
    audit_log.record(None, "unit.create", f"初始化顶级单位「{unit.name}」", "unit", unit.id, unit_id=unit.id)
    return unit, admin
