"""批量生成电子证书 by an imported list (H 1.29; FEATURES I6).

Rules owned here:
- The template (xlsx, xlsxwriter) has one column per certificate field of RULES "Certificates", with drop-down lists
  for 证件类型, 性别, 系列 and 级别 fed from a hidden sheet; the upload is read with python-calamine.
- Every row is checked with exactly the checks of a single item (`issuance.check_item`), plus: no 证件号码 + 资格名称
  twice in the file, and for a list imported to 评审发证 (people whose titles were approved, grouped by 文号) 批准文号
  and 批准时间 are required; a list imported to 初定发证 gets them at 生成证书, by batch. Refusals name the row, the field and the rule in Chinese.
- A file with any refused row is refused whole and nothing of it is kept; a clean file is queued by a background job
  in one transaction (all or none), since starting one process per person takes longer than a request should.
"""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime
from typing import Any

from python_calamine import CalamineError, CalamineWorkbook
from sqlalchemy import select

from app.extensions import db
from app.models import TitleLevel, TitleSeries, User
from services.authz import access
from services.certificates import issuance
from services.common import uploads
from services.common.errors import InvalidInput
from services.common.excel.template import TemplateColumn
from services.common.excel.template import template_xlsx as excel_template
from services.jobs import JobContext, job_kind, start_job

MAX_ROWS = 5000
MAX_BYTES = 10 * 1024 * 1024
REQUIRED_HERE = ("approval_no", "approved_on")  # for 评审发证; an 初定 list gets them at 生成证书 (by batch)
COLUMNS = tuple((label, key, required) for key, label, required, _ in issuance.ITEM_FIELDS)
SOURCES = {"review": "评审发证", "initial": "初定发证"}


def template_xlsx() -> bytes:
    """下载excel模板: headers (* = 必填), an example row, drop-down lists for the coded fields."""
    options = {
        "id_type": list(issuance.ID_TYPES), "gender": ["男", "女"],
        "series_name": list(db.session.scalars(select(TitleSeries.name).where(TitleSeries.enabled.is_(True))
                                                .order_by(TitleSeries.sort_order, TitleSeries.name))),
        "level_name": list(db.session.scalars(select(TitleLevel.name).order_by(TitleLevel.rank))),
    }
    example = {"name": "张三", "gender": "男", "birth_month": "1985-03", "id_type": "居民身份证",
               "id_number": "511102198503150017", "work_unit": "乐山第一中学校", "series_name": "中小学教师",
               "specialty_name": "数学", "title_name": "一级教师", "level_name": "中级", "qualified_on": "2026-11-30",
               "committee_name": "乐山市中小学教师中级职称评审委员会", "approval_no": "乐人社〔2026〕12号",
               "approved_on": "2026-12-01"}
    return excel_template("证书信息", [TemplateColumn(header, required, choices=options.get(key, ()),
                                                      example=example.get(key, "")) for header, key, required in COLUMNS],
                          MAX_ROWS)


def _rows(content: bytes) -> list[list[Any]]:
    if not content:
        raise InvalidInput("导入文件：请选择文件", field="file")
    if len(content) > MAX_BYTES:
        raise InvalidInput(f"导入文件：不能超过 {MAX_BYTES // 1024 // 1024} MB", field="file")
    if not content.startswith(b"PK") or not zipfile.is_zipfile(io.BytesIO(content)):
        raise InvalidInput("导入文件：不是有效的 xlsx 文件，请使用下载的模板填写后上传", field="file")
    uploads.check_archive(content, "导入文件", "file")
    try:
        rows: list[list[Any]] = (CalamineWorkbook.from_filelike(io.BytesIO(content)).get_sheet_by_index(0)
                                 .to_python(skip_empty_area=False))
    except (CalamineError, ValueError, OSError) as exc:
        raise InvalidInput("导入文件：不是有效的 xlsx 文件，请使用下载的模板填写后上传", field="file") from exc
    return rows


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value if isinstance(value, date) else ("" if value is None else str(value).strip())


def check_file(content: bytes, source: str = "review") -> list[dict[str, Any]]:
    """The file's rows as raw items, or InvalidInput listing every refused row (第 N 行：字段：规则)."""
    rows = _rows(content)
    if not rows:
        raise InvalidInput("导入文件：没有数据", field="file")
    header = {str(_cell(h)).lstrip("*"): i for i, h in enumerate(rows[0])}
    missing = [label for label, _, _ in COLUMNS if label not in header]
    if missing:
        raise InvalidInput(f"导入文件：缺少列「{'」「'.join(missing)}」，请使用下载的模板", field="file")
    while len(rows) > 1 and not any(_cell(v) for v in rows[-1]):
        rows.pop()
    if len(rows) < 2:
        raise InvalidInput("导入文件：没有数据行", field="file")
    if len(rows) - 1 > MAX_ROWS:
        raise InvalidInput(f"导入文件：一次最多导入 {MAX_ROWS} 行", field="file")
    levels, series = issuance.level_ranks_by_name(), issuance.series_name_set()
    items: list[dict[str, Any]] = []
    problems: list[str] = []
    seen: dict[tuple[str, str], int] = {}
    for row_no, raw in enumerate(rows[1:], start=2):
        values = {key: _cell(raw[header[label]]) if header[label] < len(raw) else ""
                  for label, key, _ in COLUMNS}
        try:
            for key in REQUIRED_HERE if source == "review" else ():
                if not values[key]:
                    raise InvalidInput(f"{issuance.FIELD_LABELS[key]}：必填", field=key)
            item = issuance.check_item(values, levels, series)
        except InvalidInput as exc:
            problems.append(f"第 {row_no} 行：{exc.message}")
            continue
        person = (str(item["id_number"]), str(item["title_name"]))
        if person in seen:
            problems.append(f"第 {row_no} 行：证件号码：与第 {seen[person]} 行重复（同一资格名称）")
            continue
        seen[person] = row_no
        items.append(values)
    if problems:
        shown = problems[:200]
        more = f"；另有 {len(problems) - 200} 行未列出" if len(problems) > 200 else ""
        raise InvalidInput(f"导入文件：{len(problems)} 行未通过校验，整个文件未导入{more}", field="file",
                           errors={"file": shown})
    return items


def start_import(actor: User, content: bytes, source: str = "review") -> Any:
    """Check the whole file now (refused: nothing kept); a clean file is queued by a job."""
    access.require_permission(actor, issuance.ISSUE_PERMISSION, actor.unit)
    if source not in SOURCES:
        raise InvalidInput("导入到：应为 评审发证 或 初定发证", field="source")
    items = check_file(content, source)
    return start_job(actor, "certificates.import", f"批量生成电子证书：导入 {len(items)} 人（{SOURCES[source]}）",
                     {"source": source, "items": [{k: (v.isoformat() if isinstance(v, date) else v) for k, v in item.items()}
                                for item in items]})


@job_kind("certificates.import", "批量生成电子证书：导入名单", cancellable=False)
def import_items(ctx: JobContext, params: dict[str, Any]) -> None:
    items = list(params["items"])
    ctx.report_progress(0, len(items))
    source = str(params.get("source") or "review")
    queued = issuance.queue(ctx.actor, source, items)
    db.session.commit()
    ctx.report_progress(len(queued), len(items))
    ctx.summary = f"已导入 {len(queued)} 人，进入{SOURCES.get(source, '')}「{'未发放' if source == 'initial' else '待处理'}」"
    ctx.result = {"next_url": f"/certificates/queue?source={source}&tab=pending", "next_label": "去处理"}
