"""审核路径 resolution (Hunan guide H 1.4–1.8, 1.28; manual S 1.2.3.5; FEATURES B3, B4).

The one reader of the configured paths: the declaration flow and the 审核路径配置查询 page both call
resolve_path(). Rules owned here:
- A path runs 申报单位 → 主管部门 → 人社部门 … → 评委会; every method (取得方式, admin_config/review_methods.yaml)
  and 职称等级 has its own chain (H 1.4–1.8). A method applies only to the grades it lists.
- From each unit the next 受理机构 is its ReviewPathLink for the method and level. A 申报单位 without one sends
  to the 主管部门 configured for its region (or the nearest enclosing region) and an eligible committee
  (主管部门配置, S 1.2.3.5). Any other unit without one breaks the path: it has no superior and is not a
  终审机构 — its superior must designate it as a 下级机构 (H 1.28 操作步骤 5).
- The path ends at a committee, the 终审机构 (H 1.28 注1). It must be 已备案 and within validity, of the series,
  review the level, the specialty (H 1.28 注2) and the applicant unit's region (评审区域, S 1.2.2.1), accept the
  unit's nature, and — when 单位内部自主评审 — the unit must belong to its forming unit.
- Unknown codes are input errors (InvalidInput naming the field); everything else is a PathBreak saying at which
  step the path stops and why, in words a 经办人 can act on.

resolve_path() only reads: about ten queries whatever the configuration's size. A submission takes the path
from cached_path() instead: the same resolution, kept per process under the configuration generation
(services/common/config_cache.py), so it costs one small read while the configuration is unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path

import yaml
from flask import current_app
from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import lazyload

from app.extensions import db
from app.models import (
    Committee,
    CommitteeLevel,
    CompetentAssignment,
    Region,
    ReviewPathLink,
    Specialty,
    TitleLevel,
    TitleSeries,
    Unit,
)
from services.committees.committees import is_active_committee
from services.common import config_cache
from services.common.errors import InvalidInput
from services.org.units import region_is_within, territory_of

ROLE_DECLARING, ROLE_COMPETENT, ROLE_HR, ROLE_COMMITTEE = "申报单位", "主管部门", "人社部门", "评委会"
ROLE_BY_UNIT_TYPE = {"competent": ROLE_COMPETENT, "hr": ROLE_HR}
# Unit types that declare for their staff and may rely on 主管部门配置 for their first step.
DECLARING_TYPES = ("declaring", "self_review", "central")
MAX_STEPS = 12  # a longer chain is a configuration loop, not a real 逐级 path


@dataclass(frozen=True)
class Method:
    code: str
    name: str
    grades: tuple[str, ...]


@lru_cache(maxsize=4)
def _methods_from(config_dir: str) -> tuple[Method, ...]:
    raw = yaml.safe_load((Path(config_dir) / "review_methods.yaml").read_text(encoding="utf-8"))
    return tuple(Method(m["code"], m["name"], tuple(m["grades"])) for m in raw["methods"])


def methods() -> dict[str, Method]:
    """取得方式 by code, in the order of admin_config/review_methods.yaml."""
    return {m.code: m for m in _methods_from(str(current_app.config["ADMIN_CONFIG_DIR"]))}


def method_choices() -> list[tuple[str, str]]:
    return [(m.code, m.name) for m in methods().values()]


@dataclass(frozen=True)
class PathStep:
    role: str  # 申报单位 / 主管部门 / 人社部门 / 评委会 (or the unit type's name for other units)
    unit: Unit | None = None
    committee: Committee | None = None
    via: str = ""  # how this step was reached: 审核路径配置 / 主管部门配置

    @property
    def name(self) -> str:
        if self.committee is not None:
            return self.committee.name
        return self.unit.name if self.unit is not None else ""


@dataclass(frozen=True)
class PathBreak:
    """Where the path stops: after step `index` (0 = the applicant's unit) and why."""

    index: int
    reason: str


@dataclass
class ResolvedPath:
    steps: list[PathStep] = field(default_factory=list)
    broken: PathBreak | None = None

    @property
    def complete(self) -> bool:
        return self.broken is None and bool(self.steps) and self.steps[-1].committee is not None

    @property
    def committee(self) -> Committee | None:
        return self.steps[-1].committee if self.complete else None


@dataclass(frozen=True)
class Request:
    """What an applicant declares (拟申报职称等级, 系列, 取得方式, 专业), checked against the dictionary."""

    level: TitleLevel
    series: TitleSeries
    method: Method
    specialty: Specialty | None


def check_request(level_code: str, series_code: str, method_code: str, specialty_code: str = "") -> Request:
    """Look the codes up; an unknown one is an InvalidInput naming its field."""
    method = methods().get(method_code or "")
    if method is None:
        raise InvalidInput("取得方式：请选择有效的取得方式", field="method")
    level = db.session.get(TitleLevel, level_code) if level_code else None
    if level is None:
        raise InvalidInput("拟申报职称等级：请选择有效的职称等级", field="level")
    series = db.session.get(TitleSeries, series_code, options=[lazyload(TitleSeries.titles)]) if series_code else None
    if series is None:
        raise InvalidInput("系列：请选择有效的职称系列", field="series")
    specialty = None
    if specialty_code:
        specialty = db.session.scalar(select(Specialty).where(
            Specialty.series_code == series.code, or_(Specialty.code == specialty_code, Specialty.name == specialty_code))
            .limit(1))
        if specialty is None:
            raise InvalidInput(f"专业：{series.name}系列中没有专业“{specialty_code}”", field="specialty")
    return Request(level, series, method, specialty)


def _region_chain(region: Region) -> list[Region]:
    chain: list[Region] = []
    node: Region | None = region
    while node is not None:
        chain.append(node)
        node = node.parent
    return chain


def committee_problem(committee: Committee, request: Request, unit: Unit, today: date) -> str | None:
    """Why `committee` cannot be the 终审机构 of this declaration, or None when it can."""
    if committee.status == "deregistered":
        return f"评委会 {committee.name} 已注销"
    if committee.status != "filed":
        return f"评委会 {committee.name} 状态为{committee.status_label}，不是已备案评委会"
    if not is_active_committee(committee, today):
        return f"评委会 {committee.name} 已过期（有效期至 {committee.valid_until}），需重新备案"
    if committee.series_code != request.series.code:
        return f"评委会 {committee.name} 评审{committee.series.name}系列，不能评审{request.series.name}系列"
    if request.level.code not in committee.level_codes:
        return f"评委会 {committee.name} 不能评审{request.level.name}职称"
    if request.specialty is not None and (committee.specialties or committee.build_mode == "specialty"):
        covered = {link.specialty_id for link in committee.specialties}
        node: Specialty | None = request.specialty
        while node is not None and node.id not in covered:
            node = node.parent  # a committee reviewing a 专业类别 reviews its sub-specialties
        if node is None:
            return f"评委会 {committee.name} 未维护可评审专业“{request.specialty.name}”（是否能评审该专业：否）"
    # 评审区域 outside the committee's region must go through 委托评审 (S 1.2.2.1).
    if not region_is_within(unit.region, territory_of(committee.region)):
        return f"评委会 {committee.name} 的评审区域（{committee.region.full_name}）不含 {unit.name} 所在地区"
    if committee.applicant_natures and unit.nature_code not in committee.applicant_natures:
        return f"评委会 {committee.name} 不受理单位性质为{unit.nature.name}的申报"
    if committee.internal_only and not unit.is_within(committee.forming_unit):
        return f"评委会 {committee.name} 为单位内部自主评审，不受理 {committee.forming_unit.name} 以外单位的申报"
    return None


# A path's reads, built once with bind parameters: the eager joins of committees and path links made computing the
# cache key of a statement built per call cost more than running it (issue 20; a path is resolved on a unit's first
# submission under a configuration).
_CANDIDATE_COMMITTEES = (
    select(Committee).join(CommitteeLevel).where(Committee.series_code == bindparam("series_code"),
                                                 CommitteeLevel.level_code == bindparam("level_code"),
                                                 Committee.status != "deregistered")
    .options(lazyload(Committee.series)).order_by(Committee.id)
)
# lazyload: the committees are in the identity map already, so reading them costs no query.
_ASSIGNMENTS = select(CompetentAssignment).options(lazyload(CompetentAssignment.committee)).where(
    CompetentAssignment.committee_id.in_(bindparam("committee_ids", expanding=True)),
    CompetentAssignment.region_id.in_(bindparam("region_ids", expanding=True)))
_LINK_FROM = select(ReviewPathLink).options(lazyload(ReviewPathLink.committee)).where(
    ReviewPathLink.method_code == bindparam("method_code"), ReviewPathLink.level_code == bindparam("level_code"),
    ReviewPathLink.subordinate_unit_id == bindparam("unit_id"))


def _candidate_committees(request: Request) -> list[Committee]:
    """Committees of the series reviewing the level: the only ones 主管部门配置 is looked up for."""
    return list(db.session.scalars(_CANDIDATE_COMMITTEES, {"series_code": request.series.code,
                                                           "level_code": request.level.code}))


def _competent_for(unit: Unit, committees: list[Committee], request: Request,
                   today: date) -> tuple[CompetentAssignment | None, str]:
    """The 主管部门 configured for the unit's region (nearest first) and an eligible committee, else a reason."""
    eligible = {c.id: c for c in committees if committee_problem(c, request, unit, today) is None}
    if not eligible:
        reasons = [problem for c in committees if (problem := committee_problem(c, request, unit, today))]
        detail = "；".join(reasons[:3]) if reasons else f"没有评审{request.series.name}系列{request.level.name}职称的评委会"
        return None, f"没有可受理该申报的已备案评委会（{detail}）"
    chain = _region_chain(unit.region)
    assignments = list(db.session.scalars(_ASSIGNMENTS, {"committee_ids": list(eligible),
                                                         "region_ids": [r.id for r in chain]}))
    depth = {region.id: n for n, region in enumerate(chain)}
    if not assignments:
        names = "、".join(c.name for c in eligible.values())
        return None, (f"{unit.region.full_name} 未为评委会 {names} 配置主管部门（主管部门配置），"
                      f"{unit.name} 的申报无处提交")
    return min(assignments, key=lambda a: (depth[a.region_id], a.committee_id)), ""


def _link_from(unit: Unit, request: Request) -> ReviewPathLink | None:
    return db.session.scalar(_LINK_FROM, {"method_code": request.method.code, "level_code": request.level.code,
                                          "unit_id": unit.id})


def _role(unit: Unit) -> str:
    return ROLE_BY_UNIT_TYPE.get(unit.unit_type_code, unit.unit_type.name)


def resolve_path(unit: Unit, level_code: str, series_code: str, method: str, specialty_code: str = "",
                 today: date | None = None, committee_id: int | None = None) -> ResolvedPath:
    """The whole 审核路径 of a declaration from `unit`, or as much of it as exists and the PathBreak.

    `committee_id` narrows the 终审机构 to the one the applicant chose. Raises InvalidInput for unknown
    codes (field: method / level / series / specialty); never writes.
    """
    request = check_request(level_code, series_code, method, specialty_code)
    return resolve_request(unit, request, today or date.today(), committee_id)


def resolve_request(unit: Unit, request: Request, today: date, committee_id: int | None = None) -> ResolvedPath:
    path = ResolvedPath([PathStep(ROLE_DECLARING, unit=unit)])
    if unit.status != "active":
        path.broken = PathBreak(0, f"{unit.name} 状态为{unit.status_label}，不能申报")
        return path
    if request.level.grade not in request.method.grades:
        path.broken = PathBreak(0, f"取得方式“{request.method.name}”不适用于{request.level.name}（{request.level.grade}）职称")
        return path
    committees = [c for c in _candidate_committees(request) if committee_id is None or c.id == committee_id]
    current, seen = unit, {unit.id}
    while len(path.steps) <= MAX_STEPS:
        index = len(path.steps) - 1
        link = _link_from(current, request)
        if link is not None and link.committee is not None:
            if committee_id is not None and link.committee_id != committee_id:
                path.broken = PathBreak(index, f"{current.name} 的{request.method.name}审核路径通往 {link.committee.name}，"
                                               f"不是所选评委会")
                return path
            path.steps.append(PathStep(ROLE_COMMITTEE, committee=link.committee, via="审核路径配置"))
            problem = committee_problem(link.committee, request, unit, today)
            if problem:
                path.broken = PathBreak(index + 1, problem)
            return path
        if link is not None and link.superior_unit is not None:
            following, via = link.superior_unit, "审核路径配置"
        elif index == 0 and current.unit_type_code in DECLARING_TYPES:
            assignment, reason = _competent_for(current, committees, request, today)
            if assignment is None:
                path.broken = PathBreak(index, reason)
                return path
            following, via = assignment.competent_unit, "主管部门配置"
        else:
            path.broken = PathBreak(index, f"{current.name} 没有上级机构（未配置{request.method.name}"
                                           f"{request.level.name}审核路径），且不是终审机构，需由其上级指定其为下级机构")
            return path
        if following.id in seen:
            path.broken = PathBreak(index, f"审核路径出现循环：{current.name} 的上级机构 {following.name} 已在路径中")
            return path
        path.steps.append(PathStep(_role(following), unit=following, via=via))
        if following.status != "active":
            path.broken = PathBreak(index + 1, f"{following.name} 状态为{following.status_label}，不能受理申报")
            return path
        current = following
        seen.add(current.id)
    path.broken = PathBreak(len(path.steps) - 1, f"审核路径超过 {MAX_STEPS} 级，请检查配置")
    return path


@dataclass(frozen=True)
class StepSummary:
    """A path step as a submission stores it (declaration.path): plain data, shared between requests."""

    role: str
    name: str
    unit_id: int | None = None
    committee_id: int | None = None


@dataclass(frozen=True)
class PathSummary:
    steps: tuple[StepSummary, ...]
    broken: str | None  # the PathBreak's reason

    @property
    def complete(self) -> bool:
        return self.broken is None and bool(self.steps) and self.steps[-1].committee_id is not None


def _summary(path: ResolvedPath) -> PathSummary:
    steps = tuple(StepSummary(step.role, step.name, step.unit.id if step.unit is not None else None,
                              step.committee.id if step.committee is not None else None) for step in path.steps)
    broken = path.broken.reason if path.broken else (None if path.complete else "审核路径不完整")
    return PathSummary(steps, broken)


def cached_path(unit: Unit, level_code: str, series_code: str, method: str, specialty_code: str = "",
                today: date | None = None, committee_id: int | None = None) -> PathSummary:
    """resolve_path()'s answer as plain data, resolved once per configuration generation and day (a committee's
    validity is checked against `today`); unknown codes raise InvalidInput as there, every time."""
    day = today or date.today()
    return config_cache.cached(
        "review_path", (unit.id, level_code, series_code, method, specialty_code, day, committee_id),
        lambda: _summary(resolve_path(unit, level_code, series_code, method, specialty_code, day, committee_id)))


def cached_committee_problem(committee: Committee, request: Request, unit: Unit, today: date) -> str | None:
    """committee_problem() once per configuration generation and day for the same committee, request and unit."""
    key = (committee.id, request.level.code, request.series.code, request.method.code,
           request.specialty.id if request.specialty is not None else None, unit.id, today)
    return config_cache.cached("committee_problem", key, lambda: committee_problem(committee, request, unit, today))


# ---------------------------------------------------------------- 查询机构上下级 (H 1.28 操作步骤 1–4)


def superiors_of(unit: Unit) -> list[ReviewPathLink]:
    """Every 受理机构 that designated `unit` as its 下级机构, for any method and level."""
    return list(db.session.scalars(select(ReviewPathLink).where(ReviewPathLink.subordinate_unit_id == unit.id)
                                   .order_by(ReviewPathLink.method_code, ReviewPathLink.level_code)))


def subordinates_of(unit: Unit) -> list[ReviewPathLink]:
    """Every 下级机构 `unit` designated, for any method and level."""
    return list(db.session.scalars(select(ReviewPathLink).where(ReviewPathLink.superior_unit_id == unit.id)
                                   .order_by(ReviewPathLink.method_code, ReviewPathLink.level_code)))


def competent_assignments_of(unit: Unit) -> list[CompetentAssignment]:
    """The regions and committees for which `unit` is the configured 主管部门."""
    return list(db.session.scalars(select(CompetentAssignment).where(CompetentAssignment.competent_unit_id == unit.id)
                                   .order_by(CompetentAssignment.id)))
