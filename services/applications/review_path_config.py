"""主管部门配置 and 审核路径配置: the rows services.applications.review_paths reads (S 1.2.3.5; H 1.4–1.8; FEATURES B2, B3).

Rules owned here:
- Only a 人社部门 configures (path.config: unit_types [hr], scope subtree). Each row belongs to the unit that
  created it; a 人社部门 sees and changes the rows of its own subtree, never another city's (404, not 403).
- 主管部门配置: one 主管部门 per region and committee. The region lies in the configuring 人社部门's territory
  (省本级 / 市本级 stand for their province or city); the committee's 评审区域 covers the region; the 主管部门 is
  an active 主管部门 unit of the configuring unit's subtree.
- 审核路径: one 受理机构 per 下级机构, 取得方式 and 职称等级; the method must apply to the level's grade. The
  下级机构 and a 受理机构 unit belong to the configuring unit's subtree; a 受理机构 must not sit below its own
  下级机构 (that is a loop). A 受理评委会 (the 终审机构) must review the level and cover the 下级机构's region.
- Every change is on the audit trail in the same transaction; services flush, the request commits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import Committee, CompetentAssignment, Region, ReviewPathLink, TitleLevel, Unit, User
from services.applications.review_paths import methods
from services.authz import access
from services.common import audit_log
from services.common.errors import Conflict, InvalidInput, NotFound
from services.org.units import region_is_within, territory_of

CONFIG = "path.config"
QUERY = "path.query"
CHOICE_LIMIT = 1000


# ---------------------------------------------------------------- lists


@dataclass(frozen=True)
class Filters:
    keyword: str = ""
    method: str = ""
    level: str = ""

    @classmethod
    def parse(cls, args: Mapping[str, Any]) -> Filters:
        return cls(str(args.get("keyword") or "").strip()[:50], str(args.get("method") or "").strip()[:30],
                   str(args.get("level") or "").strip()[:20])


def assignments_query(actor: User, filters: Filters) -> Select[tuple[CompetentAssignment]]:
    """主管部门配置 rows the actor may see, newest first; keyword matches committee or 主管部门 names."""
    stmt = access.scope_to_units(select(CompetentAssignment), CompetentAssignment.owner_unit_id, actor, CONFIG)
    if filters.keyword:
        like = f"%{filters.keyword}%"
        stmt = stmt.where(or_(CompetentAssignment.committee.has(Committee.name.ilike(like)),
                              CompetentAssignment.competent_unit.has(Unit.name.ilike(like))))
    return stmt.order_by(CompetentAssignment.id.desc())


def links_query(actor: User, filters: Filters) -> Select[tuple[ReviewPathLink]]:
    """审核路径 rows the actor may see; keyword matches the 下级机构, 受理机构 or 受理评委会."""
    stmt = access.scope_to_units(select(ReviewPathLink), ReviewPathLink.owner_unit_id, actor, CONFIG)
    if filters.method:
        stmt = stmt.where(ReviewPathLink.method_code == filters.method)
    if filters.level:
        stmt = stmt.where(ReviewPathLink.level_code == filters.level)
    if filters.keyword:
        like = f"%{filters.keyword}%"
        stmt = stmt.where(or_(ReviewPathLink.subordinate_unit.has(Unit.name.ilike(like)),
                              ReviewPathLink.superior_unit.has(Unit.name.ilike(like)),
                              ReviewPathLink.committee.has(Committee.name.ilike(like))))
    return stmt.order_by(ReviewPathLink.method_code, ReviewPathLink.level_code, ReviewPathLink.id.desc())


def load_assignment(actor: User, assignment_id: int) -> CompetentAssignment:
    stmt = assignments_query(actor, Filters()).where(CompetentAssignment.id == assignment_id)
    found = db.session.scalar(stmt)
    if found is None:
        raise NotFound("主管部门配置不存在或无权查看")
    return found


def load_link(actor: User, link_id: int) -> ReviewPathLink:
    found = db.session.scalar(links_query(actor, Filters()).where(ReviewPathLink.id == link_id))
    if found is None:
        raise NotFound("审核路径配置不存在或无权查看")
    return found


# ---------------------------------------------------------------- choices


def unit_choices(actor: User, permission: str, unit_types: tuple[str, ...] = ()) -> list[Unit]:
    stmt = access.visible_units(actor, permission).where(Unit.status == "active")
    if unit_types:
        stmt = stmt.where(Unit.unit_type_code.in_(unit_types))
    return list(db.session.scalars(stmt.order_by(Unit.path).limit(CHOICE_LIMIT)))


def committee_choices() -> list[Committee]:
    return list(db.session.scalars(select(Committee).where(Committee.status != "deregistered")
                                   .order_by(Committee.name).limit(CHOICE_LIMIT)))


def level_choices() -> list[tuple[str, str]]:
    return [(lv.code, lv.name) for lv in db.session.scalars(select(TitleLevel).order_by(TitleLevel.rank))]


# ---------------------------------------------------------------- input


def _id(data: Mapping[str, Any], name: str) -> int | None:
    raw = str(data.get(name) or "").strip()
    return int(raw) if raw.isdigit() and len(raw) < 10 else None


def _fail(errors: dict[str, list[str]]) -> None:
    if errors:
        raise InvalidInput(next(iter(errors.values()))[0], errors=errors)


def _in_scope(actor: User, unit: Unit | None) -> bool:
    return unit is not None and access.has_permission(actor, CONFIG, unit)


def _clean_assignment(actor: User, data: Mapping[str, Any]) -> tuple[Region, Committee, Unit]:
    errors: dict[str, list[str]] = {}
    code = str(data.get("region_code") or "").strip()
    region = db.session.scalar(select(Region).where(Region.code == code)) if code else None
    if region is None:
        errors["region_code"] = ["地区：请选择有效的行政区划"]
    elif not actor.is_platform_admin and not region_is_within(region, territory_of(actor.unit.region)):
        errors["region_code"] = [f"地区：{region.full_name} 不在本单位的管辖地区内"]
    committee_id = _id(data, "committee_id")
    committee = db.session.get(Committee, committee_id) if committee_id else None
    if committee is None or committee.status == "deregistered":
        errors["committee_id"] = ["评委会：请选择有效的评委会"]
    elif region is not None and not region_is_within(region, territory_of(committee.region)):
        errors["committee_id"] = [f"评委会：{committee.name} 的评审区域不含 {region.full_name}"]
    unit_id = _id(data, "competent_unit_id")
    unit = db.session.get(Unit, unit_id) if unit_id else None
    if not _in_scope(actor, unit) or unit is None or unit.status != "active" or unit.unit_type_code != "competent":
        errors["competent_unit_id"] = ["主管部门：请选择本单位管辖范围内的主管部门"]
    _fail(errors)
    assert region is not None and committee is not None and unit is not None
    return region, committee, unit


def _describe_assignment(a: CompetentAssignment) -> str:
    return f"{a.region.full_name} · {a.committee.name} → 主管部门 {a.competent_unit.name}"


def _flush_unique(message: str, field: str) -> None:
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as exc:
        raise Conflict(message, field=field) from exc


def create_assignment(actor: User, data: Mapping[str, Any]) -> CompetentAssignment:
    region, committee, unit = _clean_assignment(actor, data)
    _check_assignment_unique(region, committee, None)
    assignment = CompetentAssignment(region=region, committee=committee, competent_unit=unit,
                                     owner_unit_id=actor.unit_id, created_by_id=actor.id)
    db.session.add(assignment)
    _flush_unique("评委会：该地区的该评委会已配置主管部门，请修改原配置", "committee_id")
    audit_log.record(actor, "competent_assignment.create", f"新增主管部门配置：{_describe_assignment(assignment)}",
                     "competent_assignment", assignment.id)
    return assignment


def _check_assignment_unique(region: Region, committee: Committee, assignment_id: int | None) -> None:
    clash = db.session.scalar(select(CompetentAssignment.id).where(
        CompetentAssignment.region_id == region.id, CompetentAssignment.committee_id == committee.id,
        CompetentAssignment.id != (assignment_id or 0)))
    if clash is not None:
        raise Conflict("评委会：该地区的该评委会已配置主管部门，请修改原配置", field="committee_id")


def update_assignment(actor: User, assignment: CompetentAssignment, data: Mapping[str, Any]) -> None:
    region, committee, unit = _clean_assignment(actor, data)
    _check_assignment_unique(region, committee, assignment.id)
    before = _describe_assignment(assignment)
    assignment.region, assignment.committee, assignment.competent_unit = region, committee, unit
    db.session.flush()
    audit_log.record(actor, "competent_assignment.update", f"修改主管部门配置：{before} 改为 "
                     f"{_describe_assignment(assignment)}", "competent_assignment", assignment.id)


def delete_assignment(actor: User, assignment: CompetentAssignment) -> None:
    audit_log.record(actor, "competent_assignment.delete", f"删除主管部门配置：{_describe_assignment(assignment)}",
                     "competent_assignment", assignment.id)
    db.session.delete(assignment)
    db.session.flush()


@dataclass(frozen=True)
class LinkInput:
    method_code: str
    level: TitleLevel
    subordinate: Unit
    superior: Unit | None
    committee: Committee | None


def _clean_link(actor: User, data: Mapping[str, Any]) -> LinkInput:
    errors: dict[str, list[str]] = {}
    method = methods().get(str(data.get("method_code") or "").strip())
    if method is None:
        errors["method_code"] = ["取得方式：请选择有效的取得方式"]
    level_code = str(data.get("level_code") or "").strip()
    level = db.session.get(TitleLevel, level_code) if level_code else None
    if level is None:
        errors["level_code"] = ["职称等级：请选择有效的职称等级"]
    elif method is not None and level.grade not in method.grades:
        errors["level_code"] = [f"职称等级：取得方式“{method.name}”不适用于{level.name}职称"]
    sub_id = _id(data, "subordinate_unit_id")
    subordinate = db.session.get(Unit, sub_id) if sub_id else None
    if not _in_scope(actor, subordinate):
        errors["subordinate_unit_id"] = ["下级机构：请选择本单位管辖范围内的单位"]
    target = str(data.get("target_type") or "").strip()
    superior = committee = None
    if target == "unit":
        sup_id = _id(data, "superior_unit_id")
        superior = db.session.get(Unit, sup_id) if sup_id else None
        if not _in_scope(actor, superior) or superior is None or superior.status != "active":
            errors["superior_unit_id"] = ["受理机构：请选择本单位管辖范围内的有效单位"]
        elif subordinate is not None and superior.is_within(subordinate):
            errors["superior_unit_id"] = [f"受理机构：{superior.name} 是 {subordinate.name} 本身或其下级，会形成循环"]
    elif target == "committee":
        committee_id = _id(data, "committee_id")
        committee = db.session.get(Committee, committee_id) if committee_id else None
        if committee is None or committee.status == "deregistered":
            errors["committee_id"] = ["受理评委会：请选择有效的评委会"]
        elif level is not None and level.code not in committee.level_codes:
            errors["committee_id"] = [f"受理评委会：{committee.name} 不能评审{level.name}职称"]
        elif subordinate is not None and not region_is_within(subordinate.region, territory_of(committee.region)):
            errors["committee_id"] = [f"受理评委会：{committee.name} 的评审区域不含 {subordinate.name} 所在地区"]
    else:
        errors["target_type"] = ["受理节点类型：请选择单位或评委会"]
    _fail(errors)
    assert method is not None and level is not None and subordinate is not None
    return LinkInput(method.code, level, subordinate, superior, committee)


def _describe_link(link: ReviewPathLink) -> str:
    method = methods().get(link.method_code)
    return (f"{method.name if method else link.method_code}·{link.level.name}：{link.subordinate_unit.name} → "
            f"{link.superior_name}")


def _check_link_unique(cleaned: LinkInput, link_id: int | None) -> None:
    clash = db.session.scalar(select(ReviewPathLink.id).where(
        ReviewPathLink.method_code == cleaned.method_code, ReviewPathLink.level_code == cleaned.level.code,
        ReviewPathLink.subordinate_unit_id == cleaned.subordinate.id, ReviewPathLink.id != (link_id or 0)))
    if clash is not None:
        raise Conflict(f"下级机构：{cleaned.subordinate.name} 已配置该取得方式和职称等级的受理机构，请修改原配置",
                       field="subordinate_unit_id")


def _apply_link(link: ReviewPathLink, cleaned: LinkInput) -> None:
    link.method_code, link.level = cleaned.method_code, cleaned.level
    link.subordinate_unit = cleaned.subordinate
    link.superior_unit, link.committee = cleaned.superior, cleaned.committee
    link.superior_unit_id = cleaned.superior.id if cleaned.superior else None
    link.committee_id = cleaned.committee.id if cleaned.committee else None


def create_link(actor: User, data: Mapping[str, Any]) -> ReviewPathLink:
    cleaned = _clean_link(actor, data)
    _check_link_unique(cleaned, None)
    link = ReviewPathLink(owner_unit_id=actor.unit_id, created_by_id=actor.id)
    _apply_link(link, cleaned)
    db.session.add(link)
    _flush_unique("下级机构：已配置该取得方式和职称等级的受理机构", "subordinate_unit_id")
    audit_log.record(actor, "review_path.create", f"新增审核路径：{_describe_link(link)}", "review_path_link", link.id)
    return link


def update_link(actor: User, link: ReviewPathLink, data: Mapping[str, Any]) -> None:
    cleaned = _clean_link(actor, data)
    _check_link_unique(cleaned, link.id)
    before = _describe_link(link)
    _apply_link(link, cleaned)
    db.session.flush()
    audit_log.record(actor, "review_path.update", f"修改审核路径：{before} 改为 {_describe_link(link)}",
                     "review_path_link", link.id)


def delete_link(actor: User, link: ReviewPathLink) -> None:
    audit_log.record(actor, "review_path.delete", f"删除审核路径：{_describe_link(link)}", "review_path_link", link.id)
    db.session.delete(link)
    db.session.flush()


def load_query_unit(actor: User, raw_id: str | None) -> Unit:
    """The unit 审核路径配置查询 is asked about: one the actor may see (path.query, subtree), else 404."""
    raw = (raw_id or "").strip()
    if not raw.isdigit() or len(raw) > 9:
        raise InvalidInput("单位：请选择要查询的单位", field="unit_id")
    unit = db.session.get(Unit, int(raw))
    if unit is None or not access.has_permission(actor, QUERY, unit):
        raise NotFound("单位不存在或无权查看")
    return unit
