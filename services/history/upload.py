"""数据上传 (manual S 1.2.8.2.1; FEATURES J1): template, upload, validation, failures.

Rules owned here:
- Who collects: 职称评审 data by a unit that formed a filed committee or is designated by a 历史评审机构 (J6);
  初定 / 确认 / 委托评审 data by the 发证机构 itself, a 人社部门 (unit type hr). Both need history.collect.
- One upload is one batch: one 取得方式, one 职称文件文号 (checked as a 文号 when the upload is made), one xlsx file.
- The request checks the file as a whole (size, real xlsx, zip bomb, the template's headers) and stores it under its
  hash; the rows are checked by a background job (`history.import`). The job reads the sheet one row at a time,
  checks rows in chunks, spools the checked rows to a temporary file, and only then writes the batch's rows in one
  transaction: a worker killed half way leaves no row behind, and the retried job starts over.
- Failed rows stay with the batch, with the rule each field breaks: 导出 (an xlsx with a 错误原因 column and the bad
  cells in red), 批量删除, 全部删除, or 修改 one row (re-checked by the same rules on save). A batch with failed rows
  cannot be submitted.
"""

from __future__ import annotations

import hashlib
import io
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import orjson
import xlsxwriter
from sqlalchemy import delete, exists, func, select, update

from app.extensions import db
from app.models import (
    Committee,
    HistoricalBody,
    HistoricalBodyCollector,
    HistoryBatch,
    HistoryRecord,
    Title,
    TitleLevel,
    TitleSeries,
    Unit,
    User,
)
from app.models.history import METHOD_LABELS
from services.authz import access
from services.common import audit_log, file_store, uploads
from services.common.bulk import insert_rows
from services.common.errors import Conflict, InvalidInput, NotFound
from services.common.excel.reader import NOT_XLSX, open_sheet
from services.common.excel.template import TemplateColumn
from services.common.excel.template import template_xlsx as excel_template
from services.history.records import (
    COLUMNS,
    FIELDS,
    HEADERS,
    Checked,
    Rules,
    apply_risk_check,
    mark_duplicates,
    rules_for,
)
from services.jobs import JobContext, job_kind, start_job
from services.reference.validation import InvalidValue, parse_document_number

COLLECT_PERMISSION = "history.collect"
ISSUER_METHODS = ("initial", "confirm", "delegated")  # uploaded by the 发证机构 itself
MAX_BYTES = 30 * 1024 * 1024
MAX_ROWS = 200_000
CHUNK = 2000
_RECORDS = HistoryRecord.__table__  # COPY / Core executemany: the ORM bulk path costs several times more per row
EDITABLE = ("draft", "returned")


# --- who may collect what ---------------------------------------------------------------------------------------

def methods_for(actor: User) -> dict[str, str]:
    """The 取得方式 the actor may upload: those of its unit, with history.collect."""
    if not access.has_permission(actor, COLLECT_PERMISSION, actor.unit):
        return {}
    return methods_for_unit(actor.unit)


def methods_for_unit(unit: Unit) -> dict[str, str]:
    """The 取得方式 a unit collects (S 1.2.8.2.1: 评审单位 职称评审; 发证机构 the other three)."""
    allowed: dict[str, str] = {}
    reviews = db.session.scalar(select(
        exists().where(Committee.forming_unit_id == unit.id, Committee.status.in_(("filed", "expired")))
        | exists().where(HistoricalBodyCollector.unit_id == unit.id,
                         HistoricalBodyCollector.body_id == HistoricalBody.id, HistoricalBody.enabled.is_(True))))
    if reviews:
        allowed["review"] = METHOD_LABELS["review"]
    if unit.unit_type_code == "hr":
        allowed.update({m: METHOD_LABELS[m] for m in ISSUER_METHODS})
    return allowed


def _check_method(unit: Unit, method: str, allowed: dict[str, str]) -> None:
    if method not in METHOD_LABELS:
        raise InvalidInput("职称证书取得方式：请选择职称评审、初定、确认或委托评审", field="method")
    if method not in allowed:
        if method == "review":
            raise InvalidInput("职称证书取得方式：本单位没有已备案的评委会，也不是历史评审机构指定的采集单位，"
                               "不能上传职称评审取得的证书", field="method")
        raise InvalidInput(f"职称证书取得方式：{METHOD_LABELS[method]}类证书由发证机构（人社部门）上传", field="method")


def load_batch(actor: User, batch_id: int) -> HistoryBatch:
    """A batch the actor's unit collected (404 otherwise)."""
    batch = db.session.get(HistoryBatch, batch_id)
    if batch is None or batch.collector_unit_id != actor.unit_id \
            or not access.has_permission(actor, COLLECT_PERMISSION, actor.unit):
        raise NotFound("批次不存在或无权查看")
    return batch


# --- the template -------------------------------------------------------------------------------------------------

NOTES = {
    "name": "持证人姓名", "gender": "男 或 女，须与证件号码一致", "id_type": "从下拉列表选择",
    "id_number": "18 位公民身份号码（GB 11643），末位 X 大写", "work_unit": "取得职称时的工作单位",
    "series_name": "从下拉列表选择", "specialty_name": "职称树中该系列的专业", "level_name": "从下拉列表选择",
    "title_name": "批准时间有效的职称名称（旧名称在停用日前有效）",
    "review_body": "职称评审：本单位已备案评委会或历史评审机构；初定填“初定”；确认填“确认”",
    "review_date": "YYYY-MM-DD，早于批准时间", "approval_date": "YYYY-MM-DD",
    "doc_no": "如 川人社职〔2020〕60号，年份与批准时间一致，须与本批次文号相同", "certificate_no": "选填：纸质证书编号",
}


def template_xlsx(method: str) -> bytes:
    """下载模板: the columns in order, a note on each header, drop-down lists where the value is from a list."""
    from services.applications.applicants import options

    series = list(db.session.scalars(select(TitleSeries.name).where(TitleSeries.enabled.is_(True))
                                     .order_by(TitleSeries.sort_order, TitleSeries.name)))
    choices = {"gender": ["男", "女"], "id_type": list(options().id_types), "series_name": series,
               "level_name": list(db.session.scalars(select(TitleLevel.name).order_by(TitleLevel.rank))),
               "title_name": sorted(set(db.session.scalars(select(Title.name))))}
    if method in ("initial", "confirm"):
        choices["review_body"] = [METHOD_LABELS[method]]
    return excel_template("历史职称数据", [TemplateColumn(header, required, note=NOTES[name], choices=choices.get(name, ()))
                                          for header, name, required, _ in COLUMNS], MAX_ROWS)


# --- reading and checking a file ------------------------------------------------------------------------------------

def _header_map(header: list[Any]) -> dict[str, int]:
    names = {str(h or "").strip().lstrip("*"): i for i, h in enumerate(header)}
    missing = [h for h, _, _, _ in COLUMNS if h not in names]
    if missing:
        raise InvalidInput(f"导入文件：缺少列「{'」「'.join(missing)}」，请使用下载的模板", field="file")
    return {name: names[h] for h, name, _, _ in COLUMNS}


def check_file_whole(content: bytes) -> None:
    """What the upload request checks before the file is kept: present, its size, a real xlsx, no zip bomb.
    The headers and the rows need the sheet parsed (seconds for 100,000 rows): the job checks them."""
    if not content:
        raise InvalidInput("导入文件：请选择要上传的文件", field="file")
    if len(content) > MAX_BYTES:
        raise InvalidInput(f"导入文件：不能超过 {MAX_BYTES // 1024 // 1024} MB", field="file")
    if not content.startswith(b"PK") or not zipfile.is_zipfile(io.BytesIO(content)):
        raise InvalidInput(f"导入文件：{NOT_XLSX}", field="file")
    uploads.check_archive(content, "导入文件", "file")


def _rows(content: bytes) -> tuple[int, Iterator[tuple[int, dict[str, Any]]]]:
    """The sheet's data rows as (Excel row number, {field: cell}), blank rows skipped; refuses a bad file."""
    sheet = open_sheet(content, MAX_BYTES)
    rows = sheet.iter_rows()
    header = next(rows, None)
    if header is None:
        raise InvalidInput("导入文件：没有数据（第 1 行应为模板的列名）", field="file")
    columns = _header_map(list(header))
    total = max(sheet.height - 1, 0)
    if total > MAX_ROWS:
        raise InvalidInput(f"导入文件：不能超过 {MAX_ROWS} 行数据，请分批导入", field="file")

    def data() -> Iterator[tuple[int, dict[str, Any]]]:
        for row_no, row in enumerate(rows, start=2):
            values = {name: row[i] if i < len(row) else None for name, i in columns.items()}
            if any(v not in (None, "") for v in values.values()):
                yield row_no, values

    return total, data()


@dataclass
class CheckReport:
    rows: int = 0
    ok: int = 0
    failed: int = 0
    high_risk: int = 0
    failures: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"rows": self.rows, "ok": self.ok, "failed": self.failed, "failures": self.failures}


def check_stream(rules: Rules, content: bytes, batch_id: int, on_chunk: Callable[[list[Checked]], None],
                 progress: Callable[[int, int], None] | None = None) -> CheckReport:
    """Every data row through the rules, CHUNK rows at a time (duplicates and the risk check per chunk)."""
    total, rows = _rows(content)
    report, seen, chunk = CheckReport(), {}, []  # type: ignore[var-annotated]

    def flush() -> None:
        mark_duplicates(chunk, seen, batch_id)
        apply_risk_check(rules, chunk)
        for checked in chunk:
            report.rows += 1
            report.high_risk += bool(checked.high_risk)
            if checked.errors:
                report.failed += 1
                report.failures.extend({"row": checked.row_no, "field": header, "rule": rule}
                                       for header, rule in checked.errors.items())
            else:
                report.ok += 1
        on_chunk(chunk)
        chunk.clear()
        if progress is not None:
            progress(report.rows, max(total, report.rows))

    for row_no, raw in rows:
        chunk.append(rules.check(row_no, raw))
        if len(chunk) >= CHUNK:
            flush()
    flush()
    if report.rows == 0:
        raise InvalidInput("导入文件：没有数据行", field="file")
    return report


def check_file(method: str, collector: Unit, doc_no: str | None, content: bytes) -> CheckReport:
    """`flask history check`: the upload page's checks without storing anything. Without a 文号 the first row's
    文号 is the batch's."""
    if method not in METHOD_LABELS:
        raise InvalidInput("职称证书取得方式：请选择职称评审、初定、确认或委托评审", field="method")
    if doc_no is None:
        doc_no = first_doc_no(content)
    return check_stream(Rules(method, collector.id, _document(doc_no)), content, 0, lambda chunk: None)


def first_doc_no(content: bytes) -> str:
    """The 文号 of the first data row (a command-line batch without --doc-no)."""
    _, rows = _rows(content)
    first = next(rows, None)
    return str((first[1].get("doc_no") if first else "") or "")


def _document(doc_no: str) -> str:
    try:
        return str(parse_document_number(doc_no or ""))
    except InvalidValue as exc:
        raise InvalidInput(f"职称文件文号：{exc.message}", field="doc_no") from exc


# --- the batch --------------------------------------------------------------------------------------------------

def create_batch(actor: User | None, method: str, doc_no: str, filename: str, content: bytes,
                 unit: Unit | None = None) -> HistoryBatch:
    """The upload's checks in the request; the batch waits (检验中) for its check job. Nothing is stored when the
    file is refused. Without an actor (`flask history import`) the unit collects."""
    unit = unit or (actor.unit if actor else None)
    assert unit is not None
    _check_method(unit, method, methods_for(actor) if actor else methods_for_unit(unit))
    document = _document(doc_no)
    check_file_whole(content)
    sha256 = hashlib.sha256(content).hexdigest()
    stored = file_store.StoredFile(sha256, file_store.clean_filename(filename or "历史职称数据.xlsx"), len(content),
                                   "xlsx")
    file_store.store(stored, content)
    batch = HistoryBatch(method=method, doc_no=document, collector_unit_id=unit.id,
                         collected_by_id=actor.id if actor else None,
                         status="checking", filename=stored.filename, file_sha256=sha256, path=[],
                         qualification_file={}, opinion="")
    db.session.add(batch)
    db.session.flush()
    audit_log.record(actor, "history.upload", f"上传历史职称数据：{METHOD_LABELS[method]} {document}",
                     "history_batch", batch.id, detail={"filename": stored.filename})
    return batch


def start_check(actor: User, batch: HistoryBatch, return_url: str) -> Any:
    job = start_job(actor, "history.import", f"历史职称数据检验：{batch.doc_no}",
                    {"batch_id": batch.id, "next_url": return_url})
    return job


def import_rows(batch: HistoryBatch, content: bytes, progress: Callable[[int, int], None] | None = None) -> CheckReport:
    """Check the file's rows and store them as the batch's records, all in one transaction at the end."""
    rules = rules_for(batch)
    with tempfile.TemporaryFile() as spool:
        def keep(chunk: list[Checked]) -> None:
            for checked in chunk:
                spool.write(orjson.dumps(checked.record(batch.id), default=str) + b"\n")

        report = check_stream(rules, content, batch.id, keep, progress)
        spool.seek(0)
        db.session.execute(delete(HistoryRecord).where(HistoryRecord.batch_id == batch.id))
        rows: list[dict[str, Any]] = []
        for line in spool:
            record = orjson.loads(line)
            if record["approved_on"]:
                record["approved_on"] = date.fromisoformat(record["approved_on"])
            rows.append(record)
            if len(rows) >= 5000:
                insert_rows(_RECORDS, rows)
                rows = []
        if rows:
            insert_rows(_RECORDS, rows)
    db.session.execute(update(HistoryBatch).where(HistoryBatch.id == batch.id).values(
        status="draft", ok_count=report.ok, failed_count=report.failed, risk_count=report.high_risk))
    db.session.expire(batch)
    return report


@job_kind("history.import", "历史职称数据：数据检验", cancellable=False)
def _import_job(ctx: JobContext, params: dict[str, Any]) -> None:
    batch = db.session.get(HistoryBatch, params["batch_id"])
    if batch is None or batch.status != "checking":
        raise NotFound("批次不存在或已检验")
    content = file_store.path_for(batch.file_sha256).read_bytes()
    try:
        report = import_rows(batch, content, progress=ctx.report_progress)
    except InvalidInput as exc:  # the file as a whole (headers, no data, too many rows): the batch fails
        db.session.rollback()
        db.session.execute(update(HistoryBatch).where(HistoryBatch.id == params["batch_id"]).values(
            status="failed", opinion=exc.message[:500]))
        ctx.summary = f"检验失败：{exc.message}"
        ctx.result = {"next_url": params["next_url"], "next_label": "查看批次"}
        return
    ctx.summary = f"检验成功 {report.ok} 条，检验失败 {report.failed} 条" + \
        (f"，高风险 {report.high_risk} 条" if report.high_risk else "")
    ctx.result = {"next_url": params["next_url"], "next_label": "查看检验结果"}


# --- failures: export, delete, correct -----------------------------------------------------------------------------

def _editable(batch: HistoryBatch) -> None:
    if batch.status not in EDITABLE:
        raise Conflict(f"批次{batch.status_label}，不能修改")


def failures_xlsx(batch: HistoryBatch) -> bytes:
    """导出失败数据: the failed rows as typed, a 错误原因 column, the bad cells in red (constant memory)."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "constant_memory": True, "strings_to_formulas": False,
                                        "strings_to_urls": False})
    sheet = book.add_worksheet("失败数据")
    bold = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    red = book.add_format({"font_color": "#C00000", "bg_color": "#FFE0E0", "quote_prefix": True})
    plain = book.add_format({"quote_prefix": True})
    headers = ["行号", *[h for h, _, _, _ in COLUMNS], "错误原因"]
    for col, header in enumerate(headers):
        sheet.write_string(0, col, header, bold)
        sheet.set_column(col, col, 16)
    sheet.set_column(len(headers) - 1, len(headers) - 1, 60)
    sheet.freeze_panes(1, 1)
    stmt = select(HistoryRecord).where(HistoryRecord.batch_id == batch.id, HistoryRecord.status == "failed") \
        .order_by(HistoryRecord.row_no).execution_options(yield_per=2000)
    for index, record in enumerate(db.session.scalars(stmt), start=1):
        sheet.write_number(index, 0, record.row_no)
        for col, name in enumerate(FIELDS, start=1):
            sheet.write_string(index, col, getattr(record, name), red if HEADERS[name] in record.errors else plain)
        sheet.write_string(index, len(headers) - 1, "；".join(f"{h}：{r}" for h, r in record.errors.items()))
    book.close()
    return buffer.getvalue()


def _recount(batch: HistoryBatch) -> None:
    counts = dict(db.session.execute(select(HistoryRecord.status, func.count()).where(
        HistoryRecord.batch_id == batch.id).group_by(HistoryRecord.status)).tuples().all())
    batch.ok_count, batch.failed_count = counts.get("ok", 0), counts.get("failed", 0)


def delete_failed(actor: User, batch: HistoryBatch, record_ids: list[int] | None) -> int:
    """批量删除 (the chosen failed rows) or 全部删除 (record_ids None: every failed row)."""
    _editable(batch)
    stmt = delete(HistoryRecord).where(HistoryRecord.batch_id == batch.id, HistoryRecord.status == "failed")
    if record_ids is not None:
        if not record_ids:
            raise InvalidInput("请选择要删除的失败数据", field="record_ids")
        stmt = stmt.where(HistoryRecord.id.in_(record_ids))
    deleted: int = getattr(db.session.execute(stmt), "rowcount", 0) or 0  # a DELETE's CursorResult
    _recount(batch)
    audit_log.record(actor, "history.delete_failed", f"删除失败数据 {deleted} 条（{batch.doc_no}）", "history_batch",
                     batch.id)
    return deleted


def load_record(batch: HistoryBatch, record_id: int) -> HistoryRecord:
    record = db.session.get(HistoryRecord, record_id)
    if record is None or record.batch_id != batch.id:
        raise NotFound("数据不存在")
    return record


def correct_record(actor: User, batch: HistoryBatch, record: HistoryRecord, form: Mapping[str, Any]) -> Checked:
    """修改 one row and check it again with the batch's rules (duplicates against the batch's other rows and the
    titles held elsewhere). The row is saved either way; its status follows the check."""
    _editable(batch)
    rules = rules_for(batch)
    checked = rules.check(record.row_no, {name: str(form.get(name, "")) for name in FIELDS})
    if not checked.errors:
        same = db.session.scalar(select(HistoryRecord.row_no).where(
            HistoryRecord.batch_id == batch.id, HistoryRecord.id != record.id,
            HistoryRecord.id_number == checked.values["id_number"],
            HistoryRecord.title_name == checked.values["title_name"]).limit(1))
        seen = {(checked.values["id_number"], checked.values["title_name"]): same} if same else {}
        mark_duplicates([checked], seen, batch.id)
    apply_risk_check(rules, [checked])
    values = checked.record(batch.id)
    for key in ("batch_id", "row_no"):
        values.pop(key)
    for key, value in values.items():
        setattr(record, key, value)
    _recount(batch)
    audit_log.record(actor, "history.correct", f"修改第 {record.row_no} 行（{batch.doc_no}）", "history_batch",
                     batch.id)
    return checked


def delete_batch(actor: User, batch: HistoryBatch) -> None:
    """删除 a batch that was never submitted (its rows go with it)."""
    if batch.status not in ("draft", "failed") or batch.submitted_at is not None:
        raise Conflict("已提交审核的批次不能删除")
    db.session.execute(delete(HistoryRecord).where(HistoryRecord.batch_id == batch.id))
    db.session.delete(batch)
    audit_log.record(actor, "history.delete_batch", f"删除批次 {batch.doc_no}", "history_batch", batch.id)
