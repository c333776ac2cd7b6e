"""申报审核 lists, counts and exports (manual S 1.2.3.1–1.2.3.4, 1.2.5.1; H 1.1.1–1.1.4, 1.24; FEATURES F3–F6, G1).

Every list reads Declaration and DeclarationStep rows (and the inbox projection for "is it my turn"), never a
workflow:
- 本单位人员审核 lists the declarations whose 申报单位 is the user's unit; 下级单位人员审核 those of other units
  reviewed at the user's unit; 参评资格审核 those at the committee step of a committee the user's unit formed.
- 初审 / 复审 / 上级单位退回重审 are arrivals still pending at the unit, by why they came. A list shows those the user
  has an open task on (their level's turn); the tab's count every one pending at the unit.
- 已上报 / 已退回 / 不通过 show the unit's newest row of each declaration when it is decided: one that was returned
  and came back for 复审 is under 复审, no longer under 已退回.
- 申报人员信息查询 (application.query, scope subtree): declarations that reached the user's unit or one below it.
- 申报材料综合查询 (application.stats): per committee the unit formed and activity, 申报 / 接收 / 通过 counts.
- Exports write the filtered list and are on the audit log (DESIGN §4: every export is logged).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, exists, func, or_, select
from sqlalchemy.orm import contains_eager, selectinload

from app.extensions import db
from app.models import (
    Applicant,
    Committee,
    Declaration,
    DeclarationStep,
    HumanTask,
    HumanTaskCandidate,
    ReviewActivity,
    Specialty,
    TitleLevel,
    TitleSeries,
    Unit,
    User,
)
from app.models.declaration import DECLARATION_STATUS_LABELS, EVALUATION_METHOD_LABELS
from services.activities.activities import template_config
from services.applications import application_review
from services.applications.review_paths import ROLE_COMMITTEE
from services.authz import access
from services.common import audit_log
from services.common.errors import InvalidInput, NotFound
from services.common.excel.export import XLSX_MIMETYPE, write_table
from services.jobs import JobContext, job_kind
from services.reference.validation import mask_id_number
from services.workflow import instances

QUERY_PERMISSION = "application.query"
STATS_PERMISSION = "application.stats"
SCOPES = {"own": "本单位人员审核", "subordinates": "下级单位人员审核"}
UNIT_TABS = {"first": "初审", "recheck": "复审", "sent_back": "上级单位退回重审", "passed": "已上报", "returned": "已退回",
             "rejected": "不通过"}
QUALIFY_TABS = {"pending": "待审核", "accepted": "审核通过", "returned": "审核退回", "rejected": "审核不通过"}
# A pending tab's arrival (ARRIVAL_LABELS): 上级单位退回重审 is an arrival "returned".
PENDING_ARRIVALS = {"first": "first", "recheck": "recheck", "sent_back": "returned"}
TEXT_MAX = 50


@dataclass(frozen=True)
class Filters:
    """姓名, 申报系列, 申报层级, 申报专业, 评价方式, 工作单位, 申报评委会 (S 1.2.4.2 图 2.4.15); 状态 and 年度 on 申报人员信息查询."""

    name: str = ""
    series_code: str = ""
    level_code: str = ""
    specialty_id: int | None = None
    evaluation_method: str = ""
    unit_name: str = ""
    committee_name: str = ""
    status: str = ""
    year: int | None = None

    @classmethod
    def parse(cls, args: Mapping[str, Any]) -> Filters:
        """From the query string; an unknown choice answers 400 naming the filter."""
        def text(name: str) -> str:
            return str(args.get(name, "") or "").strip()[:TEXT_MAX]

        def number(name: str, label: str) -> int | None:
            raw = text(name)
            if not raw:
                return None
            if not raw.isascii() or not raw.isdigit() or len(raw) > 9:
                raise InvalidInput(f"{label}：请选择有效选项", field=name)
            return int(raw)

        method, status = text("evaluation_method"), text("status")
        if method and method not in EVALUATION_METHOD_LABELS:
            raise InvalidInput("评价方式：请选择有效选项", field="evaluation_method")
        if status and (status not in DECLARATION_STATUS_LABELS or status == "draft"):
            raise InvalidInput("状态：请选择有效选项", field="status")
        return cls(name=text("name"), series_code=text("series_code"), level_code=text("level_code"),
                   specialty_id=number("specialty_id", "申报专业"), evaluation_method=method,
                   unit_name=text("unit_name"), committee_name=text("committee_name"), status=status,
                   year=number("year", "年度"))

    def as_args(self) -> dict[str, str]:
        return {k: str(v) for k, v in asdict(self).items() if v not in ("", None)}


def _filtered(stmt: Select[Any], filters: Filters) -> Select[Any]:
    if filters.name:
        stmt = stmt.where(Declaration.applicant.has(Applicant.name.contains(filters.name, autoescape=True)))
    if filters.series_code:
        stmt = stmt.where(Declaration.series_code == filters.series_code)
    if filters.level_code:
        stmt = stmt.where(Declaration.level_code == filters.level_code)
    if filters.specialty_id:
        stmt = stmt.where(Declaration.specialty_id == filters.specialty_id)
    if filters.evaluation_method:
        stmt = stmt.where(Declaration.evaluation_method == filters.evaluation_method)
    if filters.unit_name:
        stmt = stmt.where(Declaration.unit.has(Unit.name.contains(filters.unit_name, autoescape=True)))
    if filters.committee_name:
        stmt = stmt.where(Declaration.committee.has(Committee.name.contains(filters.committee_name, autoescape=True)))
    if filters.status:
        stmt = stmt.where(Declaration.status == filters.status)
    if filters.year:
        stmt = stmt.where(Declaration.year == filters.year)
    return stmt


def series_names() -> dict[str, str]:
    return {code: name for code, name in db.session.execute(select(TitleSeries.code, TitleSeries.name))}


# --- 本单位人员审核 / 下级单位人员审核 / 参评资格审核 --------------------------------------------------------------

def _my_open_declarations(actor: User) -> Select[tuple[int]]:
    """The declarations on which `actor` holds an open task (the inbox projection, not the engine)."""
    return select(HumanTask.business_id).join(HumanTaskCandidate, HumanTaskCandidate.task_id == HumanTask.id).where(
        HumanTask.business_type == application_review.BUSINESS_TYPE, HumanTask.status == "open",
        HumanTaskCandidate.user_id == actor.id)


def _unit_steps(actor: User, scope: str) -> Select[Any]:
    stmt = select(DeclarationStep).join(DeclarationStep.declaration).where(
        DeclarationStep.unit_id == actor.unit_id, DeclarationStep.role != ROLE_COMMITTEE)
    stmt = access.scope_to_units(stmt, DeclarationStep.unit_id, actor, application_review.REVIEW_PERMISSION)
    if scope == "own":
        return stmt.where(Declaration.unit_id == actor.unit_id)
    return stmt.where(Declaration.unit_id != actor.unit_id)


def _committee_steps(actor: User, activity_id: int | None) -> Select[Any]:
    stmt = select(DeclarationStep).join(DeclarationStep.declaration).where(
        DeclarationStep.unit_id == actor.unit_id, DeclarationStep.role == ROLE_COMMITTEE)
    stmt = access.scope_to_units(stmt, DeclarationStep.unit_id, actor, application_review.QUALIFY_PERMISSION)
    return stmt.where(Declaration.activity_id == activity_id) if activity_id else stmt


def _tab_condition(tab: str) -> ColumnElement[bool]:
    if tab in PENDING_ARRIVALS:
        return and_(DeclarationStep.status == "pending", DeclarationStep.arrival == PENDING_ARRIVALS[tab])
    if tab == "pending":
        return DeclarationStep.status == "pending"
    return and_(DeclarationStep.latest.is_(True), DeclarationStep.status == tab)


def _listed(stmt: Select[Any], actor: User, tab: str, filters: Filters) -> Select[Any]:
    stmt = _filtered(stmt.where(_tab_condition(tab)), filters)
    if tab in PENDING_ARRIVALS or tab == "pending":
        stmt = stmt.where(DeclarationStep.declaration_id.in_(_my_open_declarations(actor)))
        order: list[ColumnElement[Any]] = [DeclarationStep.arrived_at.desc(), DeclarationStep.id.desc()]
    else:
        order = [DeclarationStep.decided_at.desc(), DeclarationStep.id.desc()]
    return stmt.options(contains_eager(DeclarationStep.declaration).options(
        selectinload(Declaration.committee), selectinload(Declaration.unit))).order_by(*order)


def _counts(stmt: Select[Any], tabs: Sequence[str], filters: Filters, actor: User) -> dict[str, int]:
    """Each tab's number of what its list lists: a pending tab counts the arrivals waiting on the actor's own
    level (as _listed shows), not those at the unit's other levels (issue 13)."""
    mine = DeclarationStep.declaration_id.in_(_my_open_declarations(actor))

    def listed(tab: str) -> ColumnElement[bool]:
        return and_(_tab_condition(tab), mine) if tab in PENDING_ARRIVALS or tab == "pending" \
            else _tab_condition(tab)

    columns = [func.coalesce(func.sum(case((listed(tab), 1), else_=0)), 0) for tab in tabs]
    counted = _filtered(stmt, filters).with_only_columns(*columns)
    return dict(zip(tabs, db.session.execute(counted).one(), strict=True))


def unit_tab(tab: str) -> str:
    if tab not in UNIT_TABS:
        raise InvalidInput("标签页：选项无效", field="tab")
    return tab


def unit_list(actor: User, scope: str, tab: str, filters: Filters) -> Select[tuple[DeclarationStep]]:
    """The rows of one tab of 本单位人员审核 (scope own) or 下级单位人员审核 (scope subordinates)."""
    return _listed(_unit_steps(actor, scope), actor, unit_tab(tab), filters)


def unit_counts(actor: User, scope: str, filters: Filters) -> dict[str, int]:
    """Each tab's number, counting what the tab lists (pending: those waiting on the actor's level)."""
    return _counts(_unit_steps(actor, scope), list(UNIT_TABS), filters, actor)


def qualification_tab(tab: str) -> str:
    if tab not in QUALIFY_TABS:
        raise InvalidInput("标签页：选项无效", field="tab")
    return tab


def qualification_list(actor: User, tab: str, activity_id: int | None,
                       filters: Filters) -> Select[tuple[DeclarationStep]]:
    """参评资格审核 (S 1.2.5.1): declarations at the committee step of a committee the actor's unit formed."""
    return _listed(_committee_steps(actor, activity_id), actor, qualification_tab(tab), filters)


def qualification_counts(actor: User, activity_id: int | None, filters: Filters) -> dict[str, int]:
    return _counts(_committee_steps(actor, activity_id), list(QUALIFY_TABS), filters, actor)


def qualification_activities(actor: User) -> list[ReviewActivity]:
    """评审活动 to choose on 参评资格审核: those of the committees the unit formed, and those whose declarations
    were delegated (委托评审) to one of them."""
    received = select(Declaration.activity_id).join(DeclarationStep, DeclarationStep.declaration_id == Declaration.id)\
        .where(DeclarationStep.unit_id == actor.unit_id, DeclarationStep.role == ROLE_COMMITTEE)
    formed = select(Committee.id).where(Committee.forming_unit_id == actor.unit_id)
    return list(db.session.scalars(select(ReviewActivity).where(or_(
        ReviewActivity.committee_id.in_(formed), ReviewActivity.id.in_(received))).order_by(ReviewActivity.id.desc())))


@dataclass(frozen=True)
class ReviewRow:
    step: DeclarationStep
    declaration: Declaration
    task_id: int | None  # the actor's open task on it, when it is their turn


def review_rows(actor: User, steps: Sequence[DeclarationStep]) -> list[ReviewRow]:
    mine = instances.open_tasks_of(actor, application_review.BUSINESS_TYPE, [s.declaration_id for s in steps])
    return [ReviewRow(s, s.declaration, mine[s.declaration_id][0] if s.declaration_id in mine else None)
            for s in steps]


def open_task_id(actor: User, declaration: Declaration) -> int | None:
    mine = instances.open_tasks_of(actor, application_review.BUSINESS_TYPE, [declaration.id])
    return mine[declaration.id][0] if declaration.id in mine else None


def filter_choices() -> dict[str, Any]:
    """The drop-downs of the filter bar: series, levels and specialties that occur in declarations."""
    return {
        "series": list(db.session.execute(select(TitleSeries.code, TitleSeries.name).where(
            TitleSeries.enabled.is_(True)).order_by(TitleSeries.sort_order, TitleSeries.code))),
        "levels": list(db.session.execute(select(TitleLevel.code, TitleLevel.name).order_by(TitleLevel.rank))),
        "specialties": list(db.session.execute(select(Specialty.id, Specialty.name).where(
            Specialty.id.in_(select(Declaration.specialty_id).where(Declaration.specialty_id.is_not(None))))
            .order_by(Specialty.name))),
        "methods": list(EVALUATION_METHOD_LABELS.items()),
        "statuses": [(k, v) for k, v in DECLARATION_STATUS_LABELS.items() if k != "draft"],
    }


# --- what the applicant submitted, for the 审核 page ---------------------------------------------------------------

@dataclass(frozen=True)
class AchievementView:
    template_name: str
    fields: list[tuple[str, Any]]  # (label, value) in the template's order
    attachments: list[dict[str, Any]]


@dataclass(frozen=True)
class AchievementGroup:
    title: str
    entries: list[AchievementView]


def shown_value(value: Any, unit: str = "") -> str:
    """A field as a reader expects it: a whole number without ".0", a number with its unit (6.0 → 6 千字)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = "" if value is None else str(value)
    return f"{text} {unit}" if text and unit else text


def achievement_views(declaration: Declaration) -> list[AchievementGroup]:
    """The achievements under their 业绩成果配置 items, each field under its template's label."""
    templates = {t["code"]: t for t in template_config()["templates"]}
    groups = []
    for item in declaration.activity.achievements:
        entries = []
        for achievement in declaration.achievements:
            if achievement.item_id != item.id:
                continue
            spec = templates.get(achievement.template_code, {"name": achievement.template_code, "fields": []})
            values = achievement.fields or {}
            fields = [(f["label"], shown_value(values.get(f["name"], ""), f.get("unit", ""))) for f in spec["fields"]]
            entries.append(AchievementView(spec["name"], fields, list(achievement.attachments or [])))
        groups.append(AchievementGroup(item.title, entries))
    return groups


def material_views(declaration: Declaration) -> list[tuple[str, list[dict[str, Any]]]]:
    """申报材料: each requirement of the activity with the files submitted for it."""
    materials = declaration.materials or {}
    return [(r.name, list(materials.get(str(r.id), []))) for r in declaration.activity.material_requirements]


EXPORT_HEADERS = ("序号", "姓名", "身份证号", "工作单位", "评价方式", "申报系列", "申报层级", "申报专业", "申报评委会",
                  "提交时间", "审核环节", "到达时间", "审核状态", "审核时间", "审核意见")


def _dt(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else ""


def count_unit_list(actor: User, scope: str, tab: str, filters: Filters) -> int:
    return db.session.scalar(select(func.count()).select_from(
        unit_list(actor, scope, tab, filters).order_by(None).subquery())) or 0


@job_kind("applications.export_steps", "导出申报审核列表")
def _export_steps_job(ctx: JobContext, params: dict[str, Any]) -> None:
    actor = ctx.actor
    if actor is None:
        raise NotFound("导出人不存在")
    filters, scope, tab = Filters.parse(params["filters"]), str(params["scope"]), unit_tab(str(params["tab"]))
    steps = list(db.session.scalars(unit_list(actor, scope, tab, filters)).unique())
    ctx.report_progress(0, len(steps))
    content = export_steps(actor, str(params["title"]), steps, filters)
    ctx.report_progress(len(steps), len(steps))
    ctx.attach_file(str(params["filename"]), content, XLSX_MIMETYPE)
    ctx.summary = f"已导出 {len(steps)} 条"


def export_steps(actor: User, title: str, steps: Sequence[DeclarationStep], filters: Filters) -> bytes:
    """导出 of the list shown (one tab of a review page), audited."""
    names = series_names()
    rows = []
    for n, step in enumerate(steps, start=1):
        d = step.declaration
        rows.append((n, d.applicant.name, mask_id_number(d.applicant.id_number), d.unit.name,
                     d.evaluation_method_label, names.get(d.series_code, d.series_code), d.level.name,
                     d.specialty.name if d.specialty else "", d.committee.name, _dt(d.submitted_at),
                     step.arrival_label, _dt(step.arrived_at), step.status_label, _dt(step.decided_at), step.opinion))
    audit_log.record(actor, "declaration.export", f"导出{title} {len(rows)} 条", "declaration", "",
                     detail={"filters": filters.as_args()})
    return write_table(title, EXPORT_HEADERS, rows)


# --- 申报人员信息查询 and 职称申报审核流程查询 (H 1.1.4, 1.24) ---------------------------------------------------------

def _queryable(actor: User) -> Select[Any]:
    """Declarations that came from, or reached, the actor's unit or a unit below it (逐级管理)."""
    units = access.visible_units(actor, QUERY_PERMISSION).with_only_columns(Unit.id)
    reached = select(DeclarationStep.declaration_id).where(DeclarationStep.unit_id.in_(units))
    return select(Declaration).where(Declaration.status != "draft",
                                     or_(Declaration.unit_id.in_(units), Declaration.id.in_(reached)))


def query_declarations(actor: User, filters: Filters) -> Select[tuple[Declaration]]:
    return _filtered(_queryable(actor), filters).options(
        selectinload(Declaration.committee), selectinload(Declaration.unit), selectinload(Declaration.current_unit)
    ).order_by(Declaration.submitted_at.desc(), Declaration.id.desc())


def load_for_query(actor: User, declaration_id: int) -> Declaration:
    declaration: Declaration | None = db.session.scalar(_queryable(actor).where(Declaration.id == declaration_id))
    if declaration is None:
        raise NotFound("申报不存在或无权查看")
    return declaration


QUERY_HEADERS = ("序号", "姓名", "身份证号", "工作单位", "年度", "评价方式", "申报系列", "申报层级", "申报专业", "申报评委会",
                 "评审活动", "提交时间", "状态", "当前审核单位")


def count_query(actor: User, filters: Filters) -> int:
    """How many rows 申报人员信息查询 lists (an export of more than EXPORT_INLINE_ROWS runs as a job)."""
    return db.session.scalar(select(func.count()).select_from(
        _filtered(_queryable(actor), filters).order_by(None).subquery())) or 0


def export_query(actor: User, filters: Filters, progress: Any = None) -> bytes:
    """数据导出 of 申报人员信息查询, audited; `progress(done, total)` every 500 rows when given."""
    names = series_names()
    rows = []
    stmt = query_declarations(actor, filters).options(
        selectinload(Declaration.applicant), selectinload(Declaration.level), selectinload(Declaration.specialty),
        selectinload(Declaration.activity))
    for n, d in enumerate(db.session.scalars(stmt), start=1):
        rows.append((n, d.applicant.name, mask_id_number(d.applicant.id_number), d.unit.name, d.year,
                     d.evaluation_method_label, names.get(d.series_code, d.series_code), d.level.name,
                     d.specialty.name if d.specialty else "", d.committee.name, d.activity.name, _dt(d.submitted_at),
                     d.status_label, d.current_unit.name if d.current_unit else ""))
        if progress is not None and n % 500 == 0:
            progress(n, 0)
    audit_log.record(actor, "declaration.export", f"导出申报人员信息 {len(rows)} 条", "declaration", "",
                     detail={"filters": filters.as_args()})
    return write_table("申报人员信息", QUERY_HEADERS, rows)


@job_kind("applications.export_query", "导出申报人员信息")
def _export_query_job(ctx: JobContext, params: dict[str, Any]) -> None:
    actor = ctx.actor
    if actor is None:
        raise NotFound("导出人不存在")
    total = int(params.get("count", 0))

    def progress(done: int, _: int) -> None:
        ctx.report_progress(done, total)

    content = export_query(actor, Filters.parse(params["filters"]), progress)
    ctx.attach_file(str(params["filename"]), content, XLSX_MIMETYPE)
    ctx.summary = f"已导出申报人员信息 {total} 条"


@dataclass(frozen=True)
class PathStage:
    """One node of the declaration's 审核路径 with every arrival there (职称申报审核流程查询)."""

    index: int
    role: str
    name: str
    arrivals: list[DeclarationStep]
    current: bool

    @property
    def label(self) -> str:
        if self.current:
            return "审核中"
        return self.arrivals[-1].status_label if self.arrivals else "未到达"


def path_stages(declaration: Declaration) -> list[PathStage]:
    by_step: dict[int, list[DeclarationStep]] = {}
    for row in declaration.steps:  # ordered by id: arrivals in time order
        by_step.setdefault(row.step, []).append(row)
    reviewing = declaration.status == "reviewing"
    return [PathStage(index, entry["role"], entry["name"], by_step.get(index, []),
                      reviewing and index == declaration.step) for index, entry in enumerate(declaration.path)]


# --- 申报材料综合查询 and 评审人员统计 (S 1.2.3.3, 1.2.3.4) ---------------------------------------------------------

@dataclass(frozen=True)
class CommitteeCount:
    committee: Committee
    activity: ReviewActivity
    submitted: int  # 申报: declarations submitted to it (the committee reviewing them now, 委托评审 included)
    received: int  # 接收: those that reached the committee step
    accepted: int  # 通过: 参评资格审核通过


def committee_counts(actor: User) -> list[CommitteeCount]:
    """申报材料综合查询: for each committee the actor's unit formed and each of its activities."""
    units = access.visible_units(actor, STATS_PERMISSION).where(Unit.id == actor.unit_id).with_only_columns(Unit.id)
    committees = list(db.session.scalars(select(Committee).where(Committee.forming_unit_id.in_(units))
                                         .order_by(Committee.id)))
    ids = [c.id for c in committees]
    received = exists().where(DeclarationStep.declaration_id == Declaration.id, DeclarationStep.role == ROLE_COMMITTEE)
    counted = db.session.execute(select(
        Declaration.committee_id, Declaration.activity_id, func.count(),
        func.coalesce(func.sum(case((received, 1), else_=0)), 0),
        func.coalesce(func.sum(case((Declaration.status == "accepted", 1), else_=0)), 0),
    ).where(Declaration.committee_id.in_(ids), Declaration.first_submitted_at.is_not(None))
        .group_by(Declaration.committee_id, Declaration.activity_id))
    numbers = {(c, a): (int(s), int(r), int(p)) for c, a, s, r, p in counted}
    own = db.session.scalars(select(ReviewActivity).where(ReviewActivity.committee_id.in_(ids)))
    keys = {(a.committee_id, a.id) for a in own} | set(numbers)
    activities = {a.id: a for a in db.session.scalars(select(ReviewActivity).where(
        ReviewActivity.id.in_({a for _, a in keys})))}
    by_id = {c.id: c for c in committees}
    return [CommitteeCount(by_id[c], activities[a], *numbers.get((c, a), (0, 0, 0)))
            for c, a in sorted(keys, key=lambda k: (k[0], -k[1]))]


def passed_declarations(actor: User, committee_id: int | None = None,
                        name: str = "") -> Select[tuple[Declaration]]:
    """评审人员统计: declarations the actor's unit 审核通过 up (at any of its arrivals)."""
    passed = select(DeclarationStep.declaration_id).where(DeclarationStep.status == "passed")
    passed = access.scope_to_units(passed, DeclarationStep.unit_id, actor, STATS_PERMISSION)
    passed = passed.where(DeclarationStep.unit_id == actor.unit_id)
    stmt = select(Declaration).where(Declaration.id.in_(passed))
    if committee_id:
        stmt = stmt.where(Declaration.committee_id == committee_id)
    if name:
        stmt = stmt.where(Declaration.applicant.has(Applicant.name.contains(name[:TEXT_MAX], autoescape=True)))
    return stmt.options(selectinload(Declaration.committee), selectinload(Declaration.unit)).order_by(
        Declaration.submitted_at.desc(), Declaration.id.desc())


def passed_committees(actor: User) -> list[Committee]:
    """The 评委会 choices of 评审人员统计: those of the declarations the unit passed up."""
    ids = passed_declarations(actor).with_only_columns(Declaration.committee_id).order_by(None)
    return list(db.session.scalars(select(Committee).where(Committee.id.in_(ids)).order_by(Committee.id)))


def load_passed(actor: User, declaration_id: int) -> Declaration:
    declaration: Declaration | None = db.session.scalar(
        passed_declarations(actor).where(Declaration.id == declaration_id))
    if declaration is None:
        raise NotFound("申报不存在或不是本单位上报的申报")
    return declaration
