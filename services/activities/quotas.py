"""职数申报 and 职数申报查询 (Hunan guide H 1.5.1, 1.22; FEATURES F8): a unit's yearly post quotas.

Rules owned here:
- A unit holding quota.declare declares its quotas for a 申报年度: the current year, the next one, or the last
  one (a late declaration). One declaration per unit and year, unless the earlier one was 审核不通过: 不通过 ends
  that declaration, not the unit's year (H 1.5.2).
- Each row names an enabled 系列 and one of its 等级 (a level the series has titles at), once per declaration.
  岗位总数, 现有人数 and 申报职数 are whole numbers ≥ 0; 现有人数 cannot exceed 岗位总数, and 申报职数 cannot
  exceed the 空缺职数 (岗位总数 − 现有人数): quotas are declared within the posts the unit has.
- A declaration is edited while 未提交 (暂存) or 已退回; submission and 职数审核 live in services/activities/quota_review.py.
- 职数申报查询 (quota.query, scope subtree): the own unit's declarations and the submitted ones of the units below
  it — a draft is its own unit's business. 导出查询结果 writes the filtered list, one line per row, and is audited.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import QuotaDeclaration, QuotaItem, Title, TitleLevel, TitleSeries, Unit, User
from app.models.quota import QUOTA_STATUS_LABELS
from services.authz import access
from services.common import audit_log
from services.common.errors import Conflict, InvalidInput, NotFound
from services.common.excel.export import write_table

DECLARE_PERMISSION = "quota.declare"
QUERY_PERMISSION = "quota.query"
EDITABLE_STATUSES = ("draft", "returned")
MAX_ROWS = 50


def declaration_years(today: date) -> list[int]:
    """申报年度 choices: next year, this year, last year."""
    return [today.year + 1, today.year, today.year - 1]


def is_editable(declaration: QuotaDeclaration) -> bool:
    return declaration.status in EDITABLE_STATUSES


def series_choices() -> list[TitleSeries]:
    return list(db.session.scalars(select(TitleSeries).where(TitleSeries.enabled.is_(True))
                                   .order_by(TitleSeries.sort_order, TitleSeries.code)))


def level_choices() -> list[TitleLevel]:
    return list(db.session.scalars(select(TitleLevel).order_by(TitleLevel.rank)))


# --- input ------------------------------------------------------------------------------------------------------

def _check_year(year: int, today: date) -> None:
    years = declaration_years(today)
    if year not in years:
        raise InvalidInput(f"申报年度：只能申报 {min(years)} 至 {max(years)} 年度的职数", field="year")


def _check_unique(unit: Unit, year: int, declaration: QuotaDeclaration | None) -> None:
    live = db.session.scalar(select(QuotaDeclaration).where(
        QuotaDeclaration.unit_id == unit.id, QuotaDeclaration.year == year, QuotaDeclaration.status != "rejected",
        QuotaDeclaration.id != (declaration.id if declaration else -1)).limit(1))
    if live is not None:
        raise Conflict(f"申报年度：本单位 {year} 年度已有职数申报（{live.status_label}），每个年度只能申报一次；"
                       "审核不通过后方可重新申报", field="year")


def _row_problems(rows: Sequence[Mapping[str, Any]]) -> dict[str, list[str]]:
    series = {s.code: s for s in series_choices()}
    levels = {lv.code: lv for lv in level_choices()}
    offered = set(db.session.execute(select(Title.series_code, Title.level_code).distinct()).tuples())
    errors: dict[str, list[str]] = {}
    seen: set[tuple[str, str]] = set()
    for number, row in enumerate(rows, start=1):
        def add(name: str, message: str, number: int = number) -> None:
            errors.setdefault(f"rows-{number}-{name}", []).append(f"第 {number} 行：{message}")

        code, level = row["series_code"], row["level_code"]
        if code not in series:
            add("series_code", "系列：请选择有效的系列")
        elif level not in levels:
            add("level_code", "等级：请选择有效的等级")
        elif (code, level) not in offered:
            add("level_code", f"等级：{series[code].name}没有{levels[level].name}职称")
        elif (code, level) in seen:
            add("level_code", f"等级：{series[code].name}{levels[level].name}已填写，每个系列、等级只填一行")
        seen.add((code, level))
        if row["current_count"] > row["post_total"]:
            add("current_count", "现有人数：不能超过岗位总数")
        elif row["requested_count"] > row["post_total"] - row["current_count"]:
            add("requested_count", f"申报职数：不能超过空缺职数 {row['post_total'] - row['current_count']}"
                                   "（岗位总数 − 现有人数）")
    return errors


def _check_rows(rows: Sequence[Mapping[str, Any]]) -> None:
    if not rows:
        raise InvalidInput("职数明细：至少填写一行（系列、等级、岗位总数、现有人数、申报职数）", field="rows")
    if len(rows) > MAX_ROWS:
        raise InvalidInput(f"职数明细：不能超过 {MAX_ROWS} 行", field="rows")
    errors = _row_problems(rows)
    if errors:
        raise InvalidInput(next(iter(errors.values()))[0], errors=errors)


def _apply(declaration: QuotaDeclaration, data: Mapping[str, Any]) -> None:
    declaration.year = data["year"]
    declaration.contact_name, declaration.contact_phone = data["contact_name"], data["contact_phone"]
    declaration.note = data.get("note") or ""
    declaration.items = [
        QuotaItem(position=n, series_code=r["series_code"], level_code=r["level_code"], post_total=r["post_total"],
                  current_count=r["current_count"], requested_count=r["requested_count"], remark=r.get("remark") or "")
        for n, r in enumerate(data["rows"], start=1)]


def _check(unit: Unit, data: Mapping[str, Any], today: date, declaration: QuotaDeclaration | None) -> None:
    _check_year(data["year"], today)
    _check_rows(data["rows"])
    _check_unique(unit, data["year"], declaration)


def create_declaration(actor: User, data: Mapping[str, Any], today: date) -> QuotaDeclaration:
    """新增 → 保存 (暂存): a draft of the actor's unit; nothing is written when a rule fails."""
    access.require_permission(actor, DECLARE_PERMISSION, actor.unit)
    _check(actor.unit, data, today, None)
    declaration = QuotaDeclaration(unit_id=actor.unit_id, status="draft", opinion="", created_by_id=actor.id)
    _apply(declaration, data)
    db.session.add(declaration)
    db.session.flush()
    audit_log.record(actor, "quota.create", f"新增 {declaration.year} 年度职数申报", "quota_declaration",
                     declaration.id)
    return declaration


def update_declaration(actor: User, declaration: QuotaDeclaration, data: Mapping[str, Any],
                       today: date) -> QuotaDeclaration:
    """修改 while 未提交 or 已退回."""
    access.require_permission(actor, DECLARE_PERMISSION, declaration.unit)
    if not is_editable(declaration):
        raise Conflict(f"该职数申报{declaration.status_label}，不能修改")
    if declaration.status == "returned" and data["year"] != declaration.year:
        raise InvalidInput("申报年度：退回修改时不能变更申报年度", field="year")
    _check(declaration.unit, data, today, declaration)
    declaration.items = []
    db.session.flush()  # the old rows go before the new ones arrive: (系列, 等级) is unique per declaration
    _apply(declaration, data)
    db.session.flush()
    audit_log.record(actor, "quota.update", f"修改 {declaration.year} 年度职数申报", "quota_declaration",
                     declaration.id)
    return declaration


def load_own_declaration(actor: User, declaration_id: int) -> QuotaDeclaration:
    """A declaration of the actor's own unit (职数申报); another unit's answers 404."""
    declaration = db.session.get(QuotaDeclaration, declaration_id)
    if declaration is None or not access.has_permission(actor, DECLARE_PERMISSION, declaration.unit):
        raise NotFound("职数申报不存在或无权查看")
    return declaration


def own_declarations(actor: User, year: int | None = None, status: str = "") -> Select[tuple[QuotaDeclaration]]:
    stmt = access.scope_to_units(select(QuotaDeclaration), QuotaDeclaration.unit_id, actor, DECLARE_PERMISSION)
    if year:
        stmt = stmt.where(QuotaDeclaration.year == year)
    if status in QUOTA_STATUS_LABELS:
        stmt = stmt.where(QuotaDeclaration.status == status)
    return stmt.order_by(QuotaDeclaration.year.desc(), QuotaDeclaration.id.desc())


# --- 职数申报查询 (H 1.22) ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Filters:
    year: int | None = None
    unit_name: str = ""
    status: str = ""

    @classmethod
    def parse(cls, args: Any) -> Filters:
        raw_year = str(args.get("year", "")).strip()
        status = str(args.get("status", ""))
        return cls(year=int(raw_year) if raw_year.isdigit() and len(raw_year) == 4 else None,
                   unit_name=str(args.get("unit_name", "")).strip()[:50],
                   status=status if status in QUOTA_STATUS_LABELS else "")


def _visible(actor: User, stmt: Select[Any]) -> Select[Any]:
    """The actor's subtree under quota.query, without the drafts of other units."""
    stmt = access.scope_to_units(stmt, QuotaDeclaration.unit_id, actor, QUERY_PERMISSION)
    return stmt.where(or_(QuotaDeclaration.status != "draft", QuotaDeclaration.unit_id == actor.unit_id))


def query_declarations(actor: User, filters: Filters) -> Select[tuple[QuotaDeclaration]]:
    stmt = _visible(actor, select(QuotaDeclaration))
    if filters.year:
        stmt = stmt.where(QuotaDeclaration.year == filters.year)
    if filters.status:
        stmt = stmt.where(QuotaDeclaration.status == filters.status)
    if filters.unit_name:
        stmt = stmt.where(QuotaDeclaration.unit.has(Unit.name.contains(filters.unit_name, autoescape=True)))
    return stmt.order_by(QuotaDeclaration.year.desc(), QuotaDeclaration.id.desc())


def load_declaration_for_query(actor: User, declaration_id: int) -> QuotaDeclaration:
    """详情 of 职数申报查询: a declaration the actor's query scope shows; else 404."""
    declaration: QuotaDeclaration | None = db.session.scalar(
        _visible(actor, select(QuotaDeclaration)).where(QuotaDeclaration.id == declaration_id))
    if declaration is None:
        raise NotFound("职数申报不存在或无权查看")
    return declaration


EXPORT_HEADERS = ("序号", "申报单位", "申报年度", "状态", "系列", "等级", "岗位总数", "现有人数", "空缺职数", "申报职数",
                  "备注", "联系人", "联系电话", "提交时间", "审核单位", "审核意见")


def export_declarations(actor: User, filters: Filters) -> bytes:
    """导出查询结果 (H 1.22 2): every row of every declaration the filters show; the export is audited."""
    stmt = query_declarations(actor, filters).options(selectinload(QuotaDeclaration.reviewing_unit))
    lines = []
    for d in db.session.scalars(stmt):
        submitted = d.submitted_at.strftime("%Y-%m-%d %H:%M") if d.submitted_at else ""
        reviewer = d.reviewing_unit.name if d.reviewing_unit else ""
        for item in d.items:
            lines.append((d.unit.name, d.year, d.status_label, item.series.name, item.level.name, item.post_total,
                          item.current_count, item.vacancy, item.requested_count, item.remark, d.contact_name,
                          d.contact_phone, submitted, reviewer, d.opinion))
    rows = [(n, *line) for n, line in enumerate(lines, start=1)]
    audit_log.record(actor, "quota.export", f"导出职数申报 {len(rows)} 行", "quota_declaration", "",
                     detail={"filters": {k: str(v) for k, v in vars(filters).items() if v}})
    return write_table("职数申报", EXPORT_HEADERS, rows)
