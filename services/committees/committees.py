"""评委会备案申报: the committee record of the forming unit (manual S 1.2.2.1; FEATURES C1, C2).

Rules owned here:
- 组建单位 is the unit of the person who creates the committee, locked afterwards.
- 授权管理单位 and 备案批复单位 are the forming unit itself or one of its superiors, of the unit types
  admin_config/committee_rules.yaml allows; the 备案单位 must sit at a region level fit for the committee's highest
  grade (高级 → province, 中级 → city or province, 初级 → any 人社部门).
- 评审级别 are several levels (高一级代评低一级); 评审系列 one series; 按专业创建 names at least one specialty of that series.
- 评审区域 is a region of the tree; 对外联系电话 is a mobile or a fixed line with area code (≤20).
- A committee may be edited while it is not under review (未备案, 备案不通过, 已过期, 已备案) or while its filing
  stands returned; 已注销 committees are read-only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Select, or_, select

from app.extensions import db
from app.models import (
    Committee,
    CommitteeFiling,
    CommitteeLevel,
    CommitteeSpecialty,
    Region,
    Specialty,
    TitleLevel,
    TitleSeries,
    Unit,
    UnitNature,
    User,
)
from services.authz import access
from services.common import audit_log
from services.common.errors import Conflict, InvalidInput, NotFound
from services.reference.validation import InvalidValue, normalize_phone

RULES_FILE = Path(__file__).resolve().parents[2] / "admin_config" / "committee_rules.yaml"
FILING_PERMISSION = "committee.filing"
EDITABLE_STATUSES = ("unfiled", "refused", "expired", "filed")
GRADE_ORDER = ("高级", "中级", "初级")


@lru_cache(maxsize=1)
def rules() -> dict[str, Any]:
    """admin_config/committee_rules.yaml: composition minimums, validity, eligible units, choices."""
    loaded: dict[str, Any] = yaml.safe_load(RULES_FILE.read_text(encoding="utf-8"))
    return loaded


def review_type_choices() -> list[tuple[str, str]]:
    return [(t["code"], t["name"]) for t in rules()["review_types"]]


def level_choices() -> list[tuple[str, str]]:
    return [(lv.code, lv.name) for lv in db.session.scalars(select(TitleLevel).order_by(TitleLevel.rank))]


def series_choices() -> list[tuple[str, str]]:
    return [(s.code, s.name) for s in db.session.scalars(
        select(TitleSeries).where(TitleSeries.enabled.is_(True)).order_by(TitleSeries.sort_order, TitleSeries.name))]


def nature_choices() -> list[tuple[str, str]]:
    return [(n.code, n.name) for n in db.session.scalars(select(UnitNature).order_by(UnitNature.sort_order))]


def specialty_choices(series_code: str) -> list[tuple[int, str]]:
    rows = db.session.scalars(select(Specialty).where(Specialty.series_code == series_code,
                                                      Specialty.enabled.is_(True)).order_by(Specialty.code))
    return [(s.id, f"{s.code} {s.name}") for s in rows]


def highest_grade(level_codes: list[str]) -> str:
    """The highest 高级 / 中级 / 初级 among the levels (admin_config/titles.yaml gives each level its grade)."""
    grades = set(db.session.scalars(select(TitleLevel.grade).where(TitleLevel.code.in_(level_codes))))
    return next((grade for grade in GRADE_ORDER if grade in grades), "初级")


def _chain(unit: Unit) -> list[Unit]:
    """The unit and its superiors, nearest first."""
    ids = [int(part) for part in unit.path.strip("/").split("/") if part]
    units = {u.id: u for u in db.session.scalars(select(Unit).where(Unit.id.in_(ids), Unit.status == "active"))}
    return [units[i] for i in reversed(ids) if i in units]


def authorizing_unit_choices(forming_unit: Unit) -> list[Unit]:
    """授权管理单位(发证机构): the forming unit or a superior of an allowed type (S 1.2.2.1)."""
    allowed = set(rules()["authorizing_unit_types"])
    return [u for u in _chain(forming_unit) if u.unit_type_code in allowed]


def filing_unit_choices(forming_unit: Unit, grade: str | None = None) -> list[Unit]:
    """备案批复单位: a 人社部门 at or above the forming unit whose region level fits the grade (S 1.2.2.1 【备案单位】)."""
    allowed = set(rules()["filing_unit_types"])
    levels = set(rules()["filing_region_levels"].get(grade or "初级", []))
    return [u for u in _chain(forming_unit) if u.unit_type_code in allowed and u.region.level in levels]


@dataclass(frozen=True)
class CommitteeInput:
    values: dict[str, Any]
    level_codes: list[str]
    specialty_ids: list[int]
    region: Region


def _text(data: Mapping[str, Any], name: str, label: str, limit: int, errors: dict[str, list[str]],
          required: bool = True) -> str:
    value = str(data.get(name) or "").strip()
    if required and not value:
        errors.setdefault(name, []).append(f"{label}：必填")
    elif len(value) > limit:
        errors.setdefault(name, []).append(f"{label}：不能超过 {limit} 个字")
    return value


def _ids(raw: Any) -> list[int]:
    values = raw if isinstance(raw, list | tuple) else [raw] if raw not in (None, "") else []
    return sorted({int(v) for v in values if str(v).strip().isdigit()})


def _strings(raw: Any) -> list[str]:
    values = raw if isinstance(raw, list | tuple) else [raw] if raw not in (None, "") else []
    return sorted({str(v).strip() for v in values if str(v).strip()})


def _yes_no(data: Mapping[str, Any], name: str, label: str, errors: dict[str, list[str]]) -> bool:
    value = str(data.get(name) or "").strip().lower()
    if value not in ("true", "false", "1", "0", "是", "否"):
        errors.setdefault(name, []).append(f"{label}：请选择是或否")
        return False
    return value in ("true", "1", "是")


def clean_input(forming_unit: Unit, data: Mapping[str, Any]) -> CommitteeInput:
    """Check the 基本信息 and 评审范围 of S 1.2.2.1; every problem is reported at once, beside its field."""
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {
        "name": _text(data, "name", "评委会名称", 50, errors),
        "agency": _text(data, "agency", "评委会办事机构", 50, errors),
        "office": _text(data, "office", "评委会办公室", 50, errors),
        "contact_name": _text(data, "contact_name", "对外联系人", 10, errors),
        "address": _text(data, "address", "联系地址", 100, errors),
        "internal_only": _yes_no(data, "internal_only", "是否单位内部自主评审", errors),
        "funded": _yes_no(data, "funded", "是否拨付经费", errors),
    }
    phone = _text(data, "contact_phone", "对外联系电话", 20, errors)
    if phone and "contact_phone" not in errors:
        try:
            values["contact_phone"] = normalize_phone(phone)
        except InvalidValue as exc:
            errors.setdefault("contact_phone", []).append(f"对外联系电话：{exc.message}，座机需填写区号")
    review_type = str(data.get("review_type") or "")
    if review_type not in dict(review_type_choices()):
        errors.setdefault("review_type", []).append("评审类型：请选择")
    values["review_type"] = review_type
    level_codes = [c for c in _strings(data.get("level_codes")) if c in dict(level_choices())]
    if not level_codes:
        errors.setdefault("level_codes", []).append("评审级别：至少选择一个级别")
    natures = _strings(data.get("applicant_natures"))
    if set(natures) - set(dict(nature_choices())):
        errors.setdefault("applicant_natures", []).append("申报人所在单位的单位性质：选择有误")
    values["applicant_natures"] = natures
    build_mode = str(data.get("build_mode") or "")
    if build_mode not in ("series", "specialty"):
        errors.setdefault("build_mode", []).append("组建方式：请选择按系列创建或按专业创建")
    values["build_mode"] = build_mode
    series = db.session.get(TitleSeries, str(data.get("series_code") or ""))
    if series is None or not series.enabled:
        errors.setdefault("series_code", []).append("评审系列：请从职称系列中选择")
    values["series_code"] = series.code if series else ""
    specialty_ids = _ids(data.get("specialty_ids"))
    if specialty_ids and series is not None:
        known = set(db.session.scalars(select(Specialty.id).where(
            Specialty.id.in_(specialty_ids), Specialty.series_code == series.code, Specialty.enabled.is_(True))))
        if known != set(specialty_ids):
            errors.setdefault("specialty_ids", []).append("评审专业：只能选择所选评审系列下的专业")
    if build_mode == "specialty" and not specialty_ids:
        errors.setdefault("specialty_ids", []).append("评审专业：按专业创建时至少选择一个专业")
    region = db.session.scalar(select(Region).where(Region.code == str(data.get("region_code") or "")))
    if region is None:
        errors.setdefault("region_code", []).append("评审区域：请选择有效的行政区划")
    grade = highest_grade(level_codes) if level_codes else None
    _check_unit(data, "authorizing_unit_id", "授权管理单位", authorizing_unit_choices(forming_unit), values, errors)
    _check_unit(data, "filing_unit_id", "备案批复单位", filing_unit_choices(forming_unit, grade), values, errors)
    if errors:
        raise InvalidInput(next(iter(errors.values()))[0], errors=errors)
    assert region is not None
    return CommitteeInput(values, level_codes, specialty_ids, region)


def _check_unit(data: Mapping[str, Any], name: str, label: str, allowed: list[Unit], values: dict[str, Any],
                errors: dict[str, list[str]]) -> None:
    raw = str(data.get(name) or "")
    chosen = int(raw) if raw.isdigit() else None
    if chosen not in {u.id for u in allowed}:
        errors.setdefault(name, []).append(f"{label}：只能从本单位或上级单位中可承担该职责的单位中选择")
    values[name] = chosen


def _apply(committee: Committee, cleaned: CommitteeInput) -> None:
    for key, value in cleaned.values.items():
        setattr(committee, key, value)
    committee.region_id = cleaned.region.id
    committee.levels = [CommitteeLevel(level_code=code) for code in cleaned.level_codes]
    committee.specialties = [CommitteeSpecialty(specialty_id=sid) for sid in cleaned.specialty_ids]


def create_committee(actor: User, data: Mapping[str, Any]) -> Committee:
    """新增评委会: 组建单位 is the actor's own unit (locked, S 1.2.2.1 填写说明)."""
    access.require_permission(actor, FILING_PERMISSION, actor.unit)
    cleaned = clean_input(actor.unit, data)
    committee = Committee(forming_unit_id=actor.unit_id, status="unfiled", created_by_id=actor.id)
    _apply(committee, cleaned)
    db.session.add(committee)
    db.session.flush()
    audit_log.record(actor, "committee.create", f"新增评委会「{committee.name}」", "committee", committee.id)
    return committee


def open_filing(committee: Committee) -> CommitteeFiling | None:
    return db.session.scalar(select(CommitteeFiling).where(
        CommitteeFiling.committee_id == committee.id, CommitteeFiling.status.in_(("pending", "returned"))))


def returned_filing(committee: Committee) -> CommitteeFiling | None:
    filing = open_filing(committee)
    return filing if filing is not None and filing.status == "returned" else None


def is_editable(committee: Committee) -> bool:
    if committee.status == "deregistered":
        return False
    return committee.status in EDITABLE_STATUSES or returned_filing(committee) is not None


def update_committee(actor: User, committee: Committee, data: Mapping[str, Any]) -> Committee:
    if not is_editable(committee):
        raise Conflict(f"评委会「{committee.name}」{committee.status_label}，当前不能编辑")
    cleaned = clean_input(committee.forming_unit, data)
    _apply(committee, cleaned)
    db.session.flush()
    audit_log.record(actor, "committee.update", f"编辑评委会「{committee.name}」", "committee", committee.id)
    return committee


def own_committees(actor: User, keyword: str = "", status: str = "") -> Select[tuple[Committee]]:
    """评委会备案申报 list: the committees the actor's unit formed (scope unit)."""
    stmt = access.scope_to_units(select(Committee), Committee.forming_unit_id, actor, FILING_PERMISSION)
    if keyword:
        stmt = stmt.where(Committee.name.icontains(keyword[:50], autoescape=True))
    if status:
        stmt = stmt.where(Committee.status == status)
    return stmt.order_by(Committee.id.desc())


def load_own_committee(actor: User, committee_id: int) -> Committee:
    """A committee the actor's unit formed; other units' ids answer 404 so they cannot be probed."""
    committee = db.session.get(Committee, committee_id)
    if committee is None or not access.has_permission(actor, FILING_PERMISSION, committee.forming_unit):
        raise NotFound("评委会不存在或无权查看")
    return committee


def related_committees(unit: Unit) -> Select[tuple[Committee]]:
    """Committees a unit formed, authorizes or files (for reviewers' and subordinates' pickers)."""
    return select(Committee).where(or_(Committee.forming_unit_id == unit.id, Committee.authorizing_unit_id == unit.id,
                                       Committee.filing_unit_id == unit.id))


def add_years(day: date, years: int) -> date:
    """The same day `years` later; 29 February becomes 28 February in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def is_active_committee(committee: Committee, today: date | None = None) -> bool:
    """已备案 and within validity: may open review activities and hold meetings (RULES.md; FEATURES C2)."""
    today = today or date.today()
    return committee.status == "filed" and committee.valid_until is not None and today <= committee.valid_until
