"""专技人才统计 (S 1.2.13.2; L2): the table of 图 2.10.3 over the approved talent records of a unit's subtree.

Columns, as the manual: 合计; 具有专业技术职务人员 正高级 / 副高级 / 中级 / 初级 (助理级 + 员级); 只具有职业资格证书人员;
其他人员 (neither a title nor a certificate) — these six add up to 合计; then 基本情况 女 / 少数民族 / 中共党员 (预备党员
included) / 港澳台及外籍人士 and 学历 博士 / 硕士 / 大学本科 (the highest held). Rows: the manual's categories, in its
order. One grouped query; the figures are exact (one row per person, a few thousand per unit tree).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import xlsxwriter
from sqlalchemy import ColumnElement, Integer, and_, case, func, select
from sqlalchemy.orm import InstrumentedAttribute

from app.extensions import db
from app.models import TalentRecord, Unit, User
from app.models.talent import TALENT_CATEGORIES
from services.authz import access
from services.common import audit_log

PERMISSION = "talent.stats"
COLUMNS = (("total", "合计"), ("senior_full", "正高级"), ("senior_deputy", "副高级"), ("intermediate", "中级"),
           ("junior", "初级"), ("qualification_only", "只具有职业资格证书人员"), ("other", "其他人员"),
           ("female", "女"), ("minority", "少数民族"), ("party", "中共党员"), ("overseas", "港澳台及外籍人士"),
           ("doctor", "博士"), ("master", "硕士"), ("bachelor", "大学本科"))


@dataclass(frozen=True)
class TalentTable:
    rows: list[tuple[str, dict[str, int]]]
    totals: dict[str, int]


def _flag(condition: ColumnElement[bool] | InstrumentedAttribute[bool]) -> ColumnElement[int]:
    return func.sum(case((condition, 1), else_=0)).cast(Integer)


def talent_table(actor: User, unit: Unit | None = None) -> TalentTable:
    """The table over `unit`'s subtree (default: the actor's unit), approved records only."""
    access.require_permission(actor, PERMISSION, unit)
    root = unit or actor.unit
    r = TalentRecord
    titled = ~r.qualification_only
    stmt = (select(r.category, func.count(),
                   _flag(and_(titled, r.title_level_code == "senior_full")),
                   _flag(and_(titled, r.title_level_code == "senior_deputy")),
                   _flag(and_(titled, r.title_level_code == "intermediate")),
                   _flag(and_(titled, r.title_level_code.in_(("assistant", "junior")))),
                   _flag(r.qualification_only),
                   _flag(and_(titled, r.title_level_code.is_(None))),
                   _flag(r.female), _flag(r.ethnic_minority), _flag(r.party_member), _flag(r.overseas),
                   _flag(r.education == "博士"), _flag(r.education == "硕士"), _flag(r.education == "大学本科"))
            .where(r.status == "approved",
                   r.unit_id.in_(select(Unit.id).where(Unit.path.startswith(root.path, autoescape=True))))
            .group_by(r.category))
    found = {row[0]: dict(zip((c for c, _ in COLUMNS), (int(v or 0) for v in row[1:]), strict=True))
             for row in db.session.execute(stmt)}
    rows = [(category, found.get(category, dict.fromkeys((c for c, _ in COLUMNS), 0)))
            for category in TALENT_CATEGORIES]
    totals = {c: sum(values[c] for _, values in rows) for c, _ in COLUMNS}
    return TalentTable(rows, totals)


def export_table(actor: User, table: TalentTable) -> bytes:
    """The table as xlsx with the manual's three header rows; the export is on the audit trail."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet("专技人才统计")
    head = book.add_format({"bold": True, "align": "center", "valign": "vcenter", "border": 1, "bg_color": "#F2F2F2",
                            "text_wrap": True})
    cell = book.add_format({"border": 1, "align": "center"})
    left = book.add_format({"border": 1})
    sheet.merge_range(0, 0, 2, 0, "项目", head)
    sheet.merge_range(0, 1, 0, 7, "专业技术人员类别", head)
    sheet.merge_range(0, 8, 0, 11, "基本情况", head)
    sheet.merge_range(0, 12, 0, 14, "学历", head)
    sheet.merge_range(1, 1, 2, 1, "合计", head)
    sheet.merge_range(1, 2, 1, 5, "具有专业技术职务人员", head)
    for col, label in enumerate(("正高级", "副高级", "中级", "初级"), start=2):
        sheet.write(2, col, label, head)
    for col, (_, label) in enumerate(COLUMNS[5:], start=6):
        sheet.merge_range(1, col, 2, col, label, head)
    for index, (category, values) in enumerate([*table.rows, ("合计", table.totals)], start=3):
        sheet.write(index, 0, category, left)
        for col, (code, _) in enumerate(COLUMNS, start=1):
            sheet.write_number(index, col, values[code], cell)
    sheet.set_column(0, 0, 22)
    sheet.set_column(1, 14, 10)
    book.close()
    audit_log.record(actor, "talent.stats.export", "导出专技人才统计表", "unit", actor.unit_id)
    return buffer.getvalue()
