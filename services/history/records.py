"""The rules of one historical title row (manual S 1.2.8.2.1; FEATURES J2; RULES.md "Validation").

Rules owned here, each failure naming the column and the rule in Chinese:
- Every column but 证书编号 is required; lengths are bounded by the stored columns.
- 证件类型 from admin_config/applicants.yaml; 证件号码 by GB 11643 (check character, real birth date), and the sex it
  encodes equals 性别.
- 职称系列 and 职称级别 by name; 职称名称 a title of that series at that level in the title tree, **valid on the
  批准时间**: a name with valid_to (中学一级教师 …) is accepted for approvals up to that day, not after; 职称专业 one
  of the series' specialties where the series has a specialty tree.
- 评审机构: for 职称评审 a committee of the collecting unit that was filed (备案: 已备案 or since expired) reviewing this
  series and level, or an enabled 历史评审机构 designated to the unit for this series and level (J6); for 委托评审 any
  such committee or a designated body; for 初定 exactly “初定”; for 确认 exactly “确认”.
- 评审时间 and 批准时间 as YYYY-MM-DD text or Excel dates; 评审时间 earlier than 批准时间.
- 职称文件文号 in GB/T 9704 form with 〔〕, its year equal to the 批准时间's year, and equal to the batch's 文号 (a batch is
  one 文号, S 1.2.8.2.1).
- The same person (证件号码) with the same 职称名称 twice in the file, or already held in another batch that is not
  审核不通过, is refused.
- The social-insurance check is pluggable (HISTORY_RISK_CHECK, a "module:function" taking the rows and returning
  {row number: warning}); none by default. It marks rows 高风险 without refusing them.

The rules run once per row against a `Rules` object built once per batch: a file of 100,000 rows costs one
query per table, not one per row.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from flask import current_app
from sqlalchemy import ARRAY, String, any_, bindparam, select

from app.extensions import db
from app.models import (
    Committee,
    HistoricalBody,
    HistoricalBodyCollector,
    HistoryBatch,
    HistoryRecord,
    Specialty,
    Title,
    TitleLevel,
    TitleSeries,
)
from services.applications.applicants import options as applicant_options
from services.reference.validation import (
    InvalidValue,
    check_dates_order,
    check_document_year,
    normalize_id_number,
    parse_document_number,
)

# (header, field, required, max length) in template order (issue 18, J1).
COLUMNS: tuple[tuple[str, str, bool, int], ...] = (
    ("姓名", "name", True, 50), ("性别", "gender", True, 4), ("证件类型", "id_type", True, 30),
    ("证件号码", "id_number", True, 30), ("工作单位", "work_unit", True, 100), ("职称系列", "series_name", True, 50),
    ("职称专业", "specialty_name", True, 50), ("职称级别", "level_name", True, 20), ("职称名称", "title_name", True, 50),
    ("评审机构", "review_body", True, 100), ("评审时间", "review_date", True, 20), ("批准时间", "approval_date", True, 20),
    ("职称文件文号", "doc_no", True, 60), ("证书编号", "certificate_no", False, 50),
)
HEADERS = {name: header for header, name, _, _ in COLUMNS}
FIELDS = tuple(name for _, name, _, _ in COLUMNS)
FIXED_BODIES = {"initial": "初定", "confirm": "确认"}
COMMITTEE_FILED = ("filed", "expired")  # filed once: its past reviews are real
GENDERS = ("男", "女")


def cell_text(value: Any) -> str:
    """A cell as the person typed it: dates as YYYY-MM-DD, whole numbers without .0, text stripped."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def parse_day(text: str) -> date:
    try:
        if len(text) == 10 and text[4] == "-" and text[7] == "-":
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise InvalidValue("日期格式应为 YYYY-MM-DD（如 2020-06-30）且为真实日期")


@dataclass
class Checked:
    """One row after the rules: its values (normalized where valid), the broken rules by header, the title."""

    row_no: int
    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)
    title_id: int | None = None
    approved_on: date | None = None
    high_risk: str = ""

    def record(self, batch_id: int) -> dict[str, Any]:
        return {"batch_id": batch_id, "row_no": self.row_no, "status": "failed" if self.errors else "ok",
                "errors": self.errors, "high_risk": self.high_risk, "title_id": self.title_id,
                "approved_on": self.approved_on, **self.values}


@dataclass
class _Title:
    id: int
    level_code: str
    valid_from: date | None
    valid_to: date | None


@dataclass
class _Body:
    series_codes: set[str] | None  # None: any series
    level_codes: set[str] | None


class Rules:
    """Everything the row rules read, loaded once for a batch (method, collector, 文号)."""

    def __init__(self, method: str, collector_unit_id: int, doc_no: str) -> None:
        self.method, self.collector_unit_id, self.doc_no = method, collector_unit_id, doc_no
        self.id_types = set(applicant_options().id_types)
        self.series = dict(db.session.execute(select(TitleSeries.name, TitleSeries.code)).tuples().all())
        self.levels = dict(db.session.execute(select(TitleLevel.name, TitleLevel.code)).tuples().all())
        self.level_names = {code: name for name, code in self.levels.items()}
        self.titles: dict[tuple[str, str], list[_Title]] = {}
        for row in db.session.execute(select(Title.id, Title.series_code, Title.name, Title.level_code,
                                             Title.valid_from, Title.valid_to)):
            self.titles.setdefault((row.series_code, row.name), []).append(
                _Title(row.id, row.level_code, row.valid_from, row.valid_to))
        self.specialties: dict[str, set[str]] = {}
        for series_code, name in db.session.execute(select(Specialty.series_code, Specialty.name)
                                                    .where(Specialty.enabled.is_(True))):
            self.specialties.setdefault(series_code, set()).add(name)
        self.bodies = self._bodies()
        self.risk_check = _risk_check()

    def _bodies(self) -> dict[str, _Body]:
        if self.method in FIXED_BODIES:
            return {FIXED_BODIES[self.method]: _Body(None, None)}
        committees = select(Committee).where(Committee.status.in_(COMMITTEE_FILED))
        if self.method == "review":
            committees = committees.where(Committee.forming_unit_id == self.collector_unit_id)
        bodies = {c.name: _Body({c.series_code}, set(c.level_codes)) for c in db.session.scalars(committees)}
        designated = select(HistoricalBody).join(HistoricalBodyCollector).where(
            HistoricalBody.enabled.is_(True), HistoricalBodyCollector.unit_id == self.collector_unit_id)
        for body in db.session.scalars(designated):
            bodies.setdefault(body.name, _Body(set(body.series_codes) or None, set(body.level_codes) or None))
        return bodies

    def body_rule(self) -> str:
        if self.method in FIXED_BODIES:
            return f"{_method_name(self.method)}类证书的评审机构只能填写“{FIXED_BODIES[self.method]}”"
        if self.method == "review":
            return "只能填写本单位已备案的评委会名称或本单位负责采集的历史评审机构名称"
        return "只能填写已备案的评委会名称或本单位负责采集的历史评审机构名称"

    # --- one row ------------------------------------------------------------------------------------------------

    def check(self, row_no: int, raw: Mapping[str, Any]) -> Checked:
        values = {name: cell_text(raw.get(name)) for name in FIELDS}
        checked = Checked(row_no, values)
        errors = checked.errors

        def fail(name: str, rule: str) -> None:
            errors.setdefault(HEADERS[name], rule)

        for _header, name, required, limit in COLUMNS:
            if required and not values[name]:
                fail(name, "必填")
            elif len(values[name]) > limit:
                fail(name, f"不能超过 {limit} 个字")
        if values["gender"] and values["gender"] not in GENDERS:
            fail("gender", "只能填写“男”或“女”")
        if values["id_type"] and values["id_type"] not in self.id_types:
            fail("id_type", f"只能填写{'、'.join(sorted(self.id_types))}")
        if values["id_number"] and "id_number" not in _names(errors):
            try:
                number = normalize_id_number(values["id_number"])
                values["id_number"] = number
                encoded = "男" if int(number[16]) % 2 else "女"
                if values["gender"] in GENDERS and values["gender"] != encoded:
                    fail("gender", f"与证件号码中的性别（{encoded}）不一致")
            except InvalidValue as exc:
                fail("id_number", exc.message.removeprefix("证件号码"))
        review_day = self._day(values, "review_date", fail)
        approval_day = self._day(values, "approval_date", fail)
        if review_day and approval_day:
            try:
                check_dates_order(review_day, approval_day)
            except InvalidValue as exc:
                fail("review_date", exc.message)
        checked.approved_on = approval_day
        if values["doc_no"]:
            try:
                document = parse_document_number(values["doc_no"])
                values["doc_no"] = str(document)
                if approval_day:
                    check_document_year(document, approval_day)
                if values["doc_no"] != self.doc_no:
                    fail("doc_no", f"与本批次的职称文件文号「{self.doc_no}」不一致（一个文号一批导入）")
            except InvalidValue as exc:
                fail("doc_no", exc.message)
        self._check_title(values, approval_day, checked, fail)
        return checked

    def _day(self, values: dict[str, str], name: str, fail: Callable[[str, str], None]) -> date | None:
        if not values[name]:
            return None
        try:
            return parse_day(values[name])
        except InvalidValue as exc:
            fail(name, exc.message)
            return None

    def _check_title(self, values: dict[str, str], approval_day: date | None, checked: Checked,
                     fail: Callable[[str, str], None]) -> None:
        series = self.series.get(values["series_name"])
        level = self.levels.get(values["level_name"])
        if values["series_name"] and series is None:
            fail("series_name", "不是职称树中的系列名称")
        if values["level_name"] and level is None:
            fail("level_name", f"只能填写{'、'.join(self.levels)}")
        if series and values["specialty_name"] and self.specialties.get(series) \
                and values["specialty_name"] not in self.specialties[series]:
            fail("specialty_name", f"不是{values['series_name']}系列的职称专业")
        if series and values["title_name"]:
            candidates = self.titles.get((series, values["title_name"]), [])
            at_level = [t for t in candidates if level is None or t.level_code == level]
            if not candidates:
                fail("title_name", f"不是{values['series_name']}系列的职称名称")
            elif not at_level:
                fail("title_name", f"「{values['title_name']}」是{self.level_names[candidates[0].level_code]}职称，"
                                   "与职称级别不符")
            elif approval_day:
                valid = [t for t in at_level if (t.valid_from is None or t.valid_from <= approval_day)
                         and (t.valid_to is None or approval_day <= t.valid_to)]
                if valid:
                    checked.title_id = valid[0].id
                else:
                    title = at_level[0]
                    span = (f"启用于 {title.valid_from}" if title.valid_from and approval_day < title.valid_from
                            else f"停用于 {title.valid_to}")
                    fail("title_name", f"「{values['title_name']}」在批准时间 {approval_day} 不是有效的职称名称（{span}）")
        if values["review_body"]:
            body = self.bodies.get(values["review_body"])
            if body is None:
                fail("review_body", self.body_rule())
            elif series and body.series_codes is not None and series not in body.series_codes:
                fail("review_body", f"「{values['review_body']}」不能评审{values['series_name']}系列")
            elif level and body.level_codes is not None and level not in body.level_codes:
                fail("review_body", f"「{values['review_body']}」不能评审{values['level_name']}")


def _names(errors: Mapping[str, str]) -> set[str]:
    by_header = {header: name for name, header in HEADERS.items()}
    return {by_header[h] for h in errors}


def _method_name(method: str) -> str:
    from app.models.history import METHOD_LABELS

    return METHOD_LABELS[method]


def _risk_check() -> Callable[[list[Checked]], Mapping[int, str]] | None:
    target = current_app.config.get("HISTORY_RISK_CHECK") or ""
    if not target:
        return None
    module, _, name = str(target).partition(":")
    check: Callable[[list[Checked]], Mapping[int, str]] = getattr(importlib.import_module(module), name)
    return check


# --- duplicates: inside the file and against titles already held ----------------------------------------------------

def held_elsewhere(keys: Iterable[tuple[str, str]], batch_id: int) -> dict[tuple[str, str], str]:
    """(证件号码, 职称名称) pairs already collected in another batch that was not refused → that batch's 文号.
    One statement per 2,000 people (by 证件号码, indexed), the titles compared here."""
    wanted = set(keys)
    numbers = sorted({number for number, _ in wanted})
    found: dict[tuple[str, str], str] = {}
    # PostgreSQL: one array parameter (= ANY), the same statement text every time; elsewhere an IN list.
    postgres = db.session.connection().dialect.name == "postgresql"
    for start in range(0, len(numbers), 2000):
        chunk = numbers[start:start + 2000]
        person = HistoryRecord.id_number == any_(bindparam("numbers", chunk, type_=ARRAY(String))) if postgres \
            else HistoryRecord.id_number.in_(chunk)
        rows = db.session.execute(
            select(HistoryRecord.id_number, HistoryRecord.title_name, HistoryBatch.doc_no)
            .join(HistoryBatch, HistoryBatch.id == HistoryRecord.batch_id)
            .where(person, HistoryRecord.status == "ok",
                   HistoryRecord.batch_id != batch_id,
                   HistoryBatch.status.not_in(("rejected", "checking", "failed"))))
        for number, title, doc_no in rows:
            if (number, title) in wanted:
                found.setdefault((number, title), doc_no)
    return found


def mark_duplicates(chunk: list[Checked], seen: dict[tuple[str, str], int], batch_id: int) -> None:
    """Flag rows whose person and 职称名称 stand earlier in the file (`seen`, updated) or in another batch."""
    keyed = [(c, (c.values["id_number"], c.values["title_name"])) for c in chunk
             if c.values["id_number"] and c.values["title_name"] and HEADERS["id_number"] not in c.errors]
    held = held_elsewhere((key for _, key in keyed), batch_id)
    for checked, key in keyed:
        if key in seen and seen[key] != checked.row_no:
            checked.errors.setdefault(HEADERS["id_number"], f"与第 {seen[key]} 行重复（同一人员、同一职称名称）")
        elif key in held:
            checked.errors.setdefault(HEADERS["id_number"], f"该人员已有职称「{key[1]}」的记录（文号 {held[key]}）")
        seen.setdefault(key, checked.row_no)


def apply_risk_check(rules: Rules, chunk: list[Checked]) -> None:
    if rules.risk_check is None:
        return
    warnings = rules.risk_check(chunk)
    for checked in chunk:
        if checked.row_no in warnings:
            checked.high_risk = str(warnings[checked.row_no])[:200]


def rules_for(batch: HistoryBatch) -> Rules:
    return Rules(batch.method, batch.collector_unit_id, batch.doc_no)
