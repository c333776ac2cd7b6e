"""专家批量新增 (manual S 1.2.2.3 批量新增; FEATURES D2; DESIGN §5 Excel).

Rules owned here:
- The template is an xlsx written by xlsxwriter with drop-down lists for every coded field (证件类型, 性别, 是否退休,
  行政职务级别, 现专业技术系列, 现职称, 评委会职务); the upload is read with python-calamine.
- A file that is not a real xlsx (whatever its name) is refused as a whole; so is a sheet without the template's
  headers. Every data row is then checked with the rules of 单个新增 (services/experts.field_errors) plus: no
  formula cells, no 证件号码 twice in the file, none already in the committee's list, and the expert's title fit for
  the committee. Rows fail with their row number and every reason; blank rows are reported and skipped.
- Nothing is written by the check. The upload waits under its sha256 until the person confirms; then the valid rows
  are checked again and inserted in one transaction with Core executemany — all of them, or none.
- The request checks only the file (size, real xlsx, the template's headers); the row check and the import run as
  background jobs (services/jobs) with progress, the check's report kept on its job row.
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from flask import current_app
from python_calamine import CalamineError
from sqlalchemy import insert, select

from app.extensions import db
from app.models import Committee, CommitteeExpert, Expert, Title, TitleSeries, User
from services.authz import access
from services.committees.committee_filing import expert_fit_problem
from services.committees.committees import rules
from services.common import audit_log
from services.common.errors import InvalidInput, NotFound
from services.common.excel.export import write_table
from services.common.excel.reader import NOT_XLSX, open_sheet
from services.common.excel.template import TemplateColumn
from services.common.excel.template import template_xlsx as excel_template
from services.experts.experts import MANAGE_PERMISSION, field_errors, recommendable_committees
from services.jobs import JobContext, job_kind

MAX_ROWS = 5000
MAX_BYTES = 10 * 1024 * 1024
ROLE_NAMES = {"主任委员": "chair", "副主任委员": "vice_chair", "委员": "member"}
# (header, field, required) in template order; the header names are those of 新增专家信息 (S 1.2.2.3).
COLUMNS = (
    ("国别", "country", False), ("姓名", "name", True), ("证件类型", "id_type", False), ("证件号码", "id_number", True),
    ("性别", "gender", True), ("出生日期(yyyyMM)", "birth_month", True), ("是否退休", "retired", False),
    ("工作单位", "work_unit", True), ("主管单位", "competent_unit", False), ("行政职务", "admin_post", True),
    ("行政职务级别", "admin_post_level", False), ("联系电话1", "phone1", True), ("联系电话2", "phone2", False),
    ("所获荣誉、称号", "honors", True), ("现专业技术系列", "series_name", False), ("现从事专业", "specialty", True),
    ("现职称", "title_name", True), ("评委会职务", "role_name", False),
)
_CELL_WITH_FORMULA = re.compile(rb'<c r="([A-Z]+)([0-9]+)"[^>]*?(?<!/)>(?:(?!</c>).)*?<f[ >/]', re.S)


@dataclass
class RowResult:
    row_no: int
    values: dict[str, Any]
    reasons: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return str(self.values.get("name") or "")

    @property
    def id_number(self) -> str:
        return str(self.values.get("id_number") or "")


@dataclass
class ImportReport:
    token: str
    valid: list[RowResult]
    failed: list[RowResult]
    skipped: list[int]  # blank rows


def template_xlsx() -> bytes:
    """下载导入模板: headers, drop-down lists for the coded fields."""
    expert_rules = rules()["expert"]
    series = list(db.session.scalars(select(TitleSeries.name).where(TitleSeries.enabled.is_(True))
                                     .order_by(TitleSeries.sort_order, TitleSeries.name)))
    titles = sorted(set(db.session.scalars(select(Title.name).where(Title.current_id.is_(None)))))
    options = {"id_type": expert_rules["id_types"], "gender": expert_rules["genders"], "retired": ["否", "是"],
               "admin_post_level": expert_rules["admin_post_levels"], "series_name": series, "title_name": titles,
               "role_name": list(ROLE_NAMES)}
    return excel_template("专家信息", [TemplateColumn(header, required, choices=options.get(name, ()))
                                       for header, name, required in COLUMNS], MAX_ROWS)


def _pending_dir() -> Path:
    return Path(current_app.config["UPLOAD_FOLDER"]) / "pending_imports"


def _read_rows(content: bytes) -> list[list[Any]]:
    sheet = open_sheet(content, MAX_BYTES)
    try:
        rows: list[list[Any]] = sheet.to_python(skip_empty_area=False)
    except (CalamineError, ValueError, OSError) as exc:
        raise InvalidInput(f"导入文件：{NOT_XLSX}", field="file") from exc
    return rows


def _formula_rows(content: bytes) -> dict[int, list[str]]:
    """Row number → cells holding formulas in the first sheet (calamine gives only their cached values)."""
    found: dict[int, list[str]] = {}
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        names = sorted(n for n in archive.namelist() if re.fullmatch(r"xl/worksheets/sheet\d+\.xml", n))
        if not names:
            return found
        xml = archive.read(names[0])
    for match in _CELL_WITH_FORMULA.finditer(xml):
        found.setdefault(int(match.group(2)), []).append(match.group(1).decode() + match.group(2).decode())
    return found


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.strftime("%Y%m")
    return str(value).strip()


def _header_map(header: list[Any]) -> dict[str, int]:
    names = {_cell(h).lstrip("*"): i for i, h in enumerate(header)}
    missing = [h for h, _, required in COLUMNS if required and h not in names]
    if missing:
        raise InvalidInput(f"导入文件：缺少列「{'」「'.join(missing)}」，请使用下载的模板", field="file")
    return {name: names[h] for h, name, _ in COLUMNS if h in names}


def check_rows(committee: Committee, content: bytes, today: date | None = None,
               progress: Any = None) -> tuple[list[RowResult], list[RowResult], list[int]]:
    """`progress(done, total)`, when given, is called every 250 rows."""
    rows = _read_rows(content)
    if not rows:
        raise InvalidInput("导入文件：没有数据", field="file")
    columns = _header_map(rows[0])
    while len(rows) > 1 and not any(_cell(v) for v in rows[-1]):
        rows.pop()  # trailing blank rows are not rows anybody filled in
    if len(rows) - 1 > MAX_ROWS:
        raise InvalidInput(f"导入文件：一次最多导入 {MAX_ROWS} 行", field="file")
    formulas = _formula_rows(content)
    in_list = set(db.session.scalars(select(Expert.id_number).join(CommitteeExpert).where(
        CommitteeExpert.committee_id == committee.id, CommitteeExpert.status != "removed")))
    seen: dict[str, int] = {}
    valid: list[RowResult] = []
    failed: list[RowResult] = []
    skipped: list[int] = []
    for index, raw in enumerate(rows[1:], start=2):
        if progress is not None and index % 250 == 0:
            progress(index - 1, len(rows) - 1)
        data = {name: _cell(raw[col]) if col < len(raw) else "" for name, col in columns.items()}
        if not any(data.values()):
            skipped.append(index)
            continue
        result = _check_row(committee, index, data, formulas.get(index), seen, in_list, today)
        (failed if result.reasons else valid).append(result)
    if progress is not None:
        progress(len(rows) - 1, len(rows) - 1)
    return valid, failed, skipped


def _check_row(committee: Committee, index: int, data: dict[str, str], formula_cells: list[str] | None,
               seen: dict[str, int], in_list: set[str], today: date | None) -> RowResult:
    values, errors = field_errors(data, today)
    reasons = [message for messages in errors.values() for message in messages]
    if formula_cells:
        reasons.insert(0, f"单元格 {'、'.join(formula_cells)} 含公式，请直接填写内容")
    role_name = data.get("role_name") or "委员"
    if role_name not in ROLE_NAMES:
        reasons.append("评委会职务：只能为主任委员、副主任委员或委员")
    values["role"] = ROLE_NAMES.get(role_name, "member")
    number = values.get("id_number")
    if number:
        if number in seen:
            reasons.append(f"证件号码：与第 {seen[number]} 行重复")
        else:
            seen[number] = index
        if number in in_list:
            reasons.append("证件号码：该专家已在本评委会专家库名单中")
    if not reasons:
        probe = Expert(**{k: v for k, v in values.items() if k != "role"})
        title = db.session.get(Title, values["title_id"])
        assert title is not None  # field_errors found it a moment ago
        probe.title = title
        problem = expert_fit_problem(committee, probe)
        if problem:
            reasons.append(problem.split("：", 1)[-1])
    values.setdefault("name", data.get("name", ""))
    values.setdefault("id_number", data.get("id_number", ""))
    return RowResult(index, values, reasons)


def _may_import(actor: User, committee: Committee) -> bool:
    return access.has_permission(actor, MANAGE_PERMISSION, committee.forming_unit) or committee in \
        recommendable_committees(actor)


def check_upload(actor: User, committee: Committee, content: bytes, progress: Any = None) -> ImportReport:
    """数据检验: the report of one upload; the file waits (outside the database) for the confirmation."""
    if not _may_import(actor, committee):
        raise NotFound("评委会不存在或无权查看")
    valid, failed, skipped = check_rows(committee, content, progress=progress)
    return ImportReport(_keep_pending(content), valid, failed, skipped)


def _keep_pending(content: bytes) -> str:
    token = hashlib.sha256(content).hexdigest()
    target = _pending_dir() / token
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        target.write_bytes(content)
    return token


def stage_upload(actor: User, committee: Committee, content: bytes) -> str:
    """The checks of the file as a whole, in the request (a bad file is refused at once); the file then waits under
    its token for the row check, which runs as a job (`start_check`)."""
    if not _may_import(actor, committee):
        raise NotFound("评委会不存在或无权查看")
    rows = _read_rows(content)
    if not rows:
        raise InvalidInput("导入文件：没有数据", field="file")
    _header_map(rows[0])
    return _keep_pending(content)


def report_from_result(result: dict[str, Any]) -> ImportReport:
    """The report a check job kept on its row (what the import page shows)."""
    def rows(key: str) -> list[RowResult]:
        return [RowResult(row_no, {"name": name, "id_number": number, "work_unit": work_unit}, reasons)
                for row_no, name, number, work_unit, reasons in result.get(key, [])]

    return ImportReport(str(result["token"]), rows("valid"), rows("failed"), list(result.get("skipped", [])))


@job_kind("experts.import_check", "专家批量新增：数据检验")
def _check_job(ctx: JobContext, params: dict[str, Any]) -> None:
    committee = db.session.get(Committee, params["committee_id"])
    actor = ctx.actor
    if committee is None or actor is None:
        raise NotFound("评委会不存在")

    def progress(done: int, total: int) -> None:
        ctx.report_progress(done, total)

    report = load_pending(actor, committee, str(params["token"]), progress=progress)

    def rows(results: list[RowResult]) -> list[list[Any]]:
        return [[r.row_no, r.name, r.id_number, str(r.values.get("work_unit") or ""), r.reasons] for r in results]

    ctx.result = {"token": report.token, "valid": rows(report.valid), "failed": rows(report.failed),
                  "skipped": report.skipped, "committee_id": committee.id,
                  "next_url": f"{params['return_url']}?job={ctx.job_id}", "next_label": "查看检验结果"}
    ctx.summary = f"检验成功 {len(report.valid)} 条，检验失败 {len(report.failed)} 条"
    if report.failed:
        ctx.attach_file("专家导入失败数据.xlsx", failures_xlsx(report),
                        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@job_kind("experts.import", "专家批量新增：导入", cancellable=False)
def _import_job(ctx: JobContext, params: dict[str, Any]) -> None:
    committee = db.session.get(Committee, params["committee_id"])
    actor = ctx.actor
    if committee is None or actor is None:
        raise NotFound("评委会不存在")
    count = confirm_import(actor, committee, str(params["token"]))
    ctx.summary = f"批量新增完成：导入 {count} 名专家"
    ctx.result = {"next_url": params["members_url"], "next_label": "查看专家名单"}


def load_pending_file(token: str) -> bytes:
    """The upload waiting under `token`: 400 for a malformed token, 404 when it was imported or has gone."""
    if not re.fullmatch(r"[0-9a-f]{64}", token or ""):
        raise InvalidInput("请先上传导入文件并完成数据检验", field="file")
    if not (_pending_dir() / token).exists():
        raise NotFound("导入文件已失效，请重新上传")
    return (_pending_dir() / token).read_bytes()


def load_pending(actor: User, committee: Committee, token: str, progress: Any = None) -> ImportReport:
    return check_upload(actor, committee, load_pending_file(token), progress=progress)


def confirm_import(actor: User, committee: Committee, token: str) -> int:
    """导入: the valid rows, re-checked now, inserted in one transaction (Core executemany); all or nothing."""
    report = load_pending(actor, committee, token)
    if not report.valid:
        raise InvalidInput("没有可导入的数据：全部行均未通过检验", field="file")
    own = access.has_permission(actor, MANAGE_PERMISSION, committee.forming_unit)
    numbers = [r.values["id_number"] for r in report.valid]
    known: dict[str, int] = {number: expert_id for number, expert_id in db.session.execute(
        select(Expert.id_number, Expert.id).where(Expert.id_number.in_(numbers)))}
    fields = ("country", "name", "id_type", "id_number", "gender", "birth_month", "retired", "work_unit",
              "competent_unit", "admin_post", "admin_post_level", "phone1", "phone2", "honors", "series_code",
              "specialty", "title_id")
    now = datetime.now()
    new_rows = [{**{f: r.values[f] for f in fields}, "created_by_unit_id": actor.unit_id, "created_at": now,
                 "updated_at": now} for r in report.valid if r.values["id_number"] not in known]
    if new_rows:
        db.session.execute(insert(Expert), new_rows)
    ids: dict[str, int] = {number: expert_id for number, expert_id in db.session.execute(
        select(Expert.id_number, Expert.id).where(Expert.id_number.in_(numbers)))}
    db.session.execute(insert(CommitteeExpert), [
        {"committee_id": committee.id, "expert_id": ids[r.values["id_number"]], "role": r.values["role"],
         "status": "draft" if own else "recommended", "source_unit_id": actor.unit_id, "return_opinion": "",
         "created_at": now} for r in report.valid])
    (_pending_dir() / token).unlink(missing_ok=True)
    audit_log.record(actor, "expert.import", f"批量新增专家 {len(report.valid)} 名至评委会「{committee.name}」",
                     "committee", committee.id, detail={"failed": len(report.failed)})
    return len(report.valid)


def failures_xlsx(report: ImportReport) -> bytes:
    """导出失败数据: row numbers, names, ID numbers and every reason (text cells are formula-escaped)."""
    return write_table("失败数据", ["行号", "姓名", "证件号码", "失败原因"],
                       ([r.row_no, r.name, r.id_number, "；".join(r.reasons)] for r in report.failed))
