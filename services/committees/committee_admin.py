"""评委会管理 and 评委会查询 of the administrator (Hunan guide H 1.10, H 1.11; FEATURES C4).

Rules owned here:
- Only the platform administrator creates committees for any unit, imports them from Excel, maintains the
  specialties a committee may review, its further 组建单位 and its 缴费标准, and deregisters it (注销) with a reason.
  A committee created here starts 未备案 like one created by its forming unit and is filed the same way.
- Batch import validates every row with the rules of 新增评委会 (services/committees.clean_input), reports row
  numbers and reasons, and on 提交 inserts the valid rows in one transaction.
- 评委会查询 lists committees formed within the viewer's subtree (the platform sees all), filtered, exportable.
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from flask import current_app
from python_calamine import CalamineError, CalamineWorkbook
from sqlalchemy import Select, select

from app.extensions import db
from app.models import (
    Committee,
    CommitteeFee,
    CommitteeFormingUnit,
    CommitteeLevel,
    CommitteeSpecialty,
    Specialty,
    TitleLevel,
    TitleSeries,
    Unit,
    User,
)
from services.authz import access
from services.committees.committees import clean_input, rules
from services.common import audit_log, uploads
from services.common.errors import Conflict, InvalidInput, NotFound, ServiceError
from services.common.excel.export import write_table

MANAGE = "committee.manage"
QUERY = "committee.query"
IMPORT_COLUMNS = ("评委会名称", "评委会办事机构", "评委会办公室", "组建单位统一社会信用代码", "评审类型", "评审级别",
                  "授权管理单位统一社会信用代码", "备案批复单位统一社会信用代码", "对外联系人", "对外联系电话", "联系地址",
                  "是否单位内部自主评审", "组建方式", "评审系列", "评审专业编码", "评审区域代码", "是否拨付经费")


def query(actor: User, keyword: str = "", series_code: str = "", status: str = "", permission: str = QUERY
          ) -> Select[tuple[Committee]]:
    """评委会查询: committees formed inside the viewer's subtree (scope helper), with the manual's filters."""
    stmt = access.scope_to_units(select(Committee), Committee.forming_unit_id, actor, permission)
    if keyword:
        stmt = stmt.where(Committee.name.icontains(keyword[:50], autoescape=True))
    if series_code:
        stmt = stmt.where(Committee.series_code == series_code)
    if status:
        stmt = stmt.where(Committee.status == status)
    return stmt.order_by(Committee.id.desc())


def load_visible(actor: User, committee_id: int, permission: str = QUERY) -> Committee:
    committee = db.session.get(Committee, committee_id)
    if committee is None or not access.has_permission(actor, permission, committee.forming_unit):
        raise NotFound("评委会不存在或无权查看")
    return committee


def export_rows(committees: Any) -> bytes:
    return write_table("评委会", ["评委会名称", "组建单位", "系列", "评审级别", "组建方式", "授权管理单位", "备案单位",
                               "备案状态", "最近一次备案通过时间", "有效期至", "对外联系人", "对外联系电话", "注销原因"],
                       ([c.name, c.forming_unit.name, c.series.name, "、".join(lv.level.name for lv in c.levels),
                         c.build_mode_label, c.authorizing_unit.name, c.filing_unit.name, c.status_label,
                         str(c.filed_on or ""), str(c.valid_until or ""), c.contact_name, c.contact_phone,
                         c.deregister_reason] for c in committees))


def forming_unit_choices(limit: int = 1000) -> list[Unit]:
    return list(db.session.scalars(select(Unit).where(Unit.status == "active",
                                                      Unit.unit_type_code.in_(("hr", "competent", "self_review",
                                                                               "central")))
                                   .order_by(Unit.depth, Unit.name).limit(limit)))


def _forming_unit(unit_id: Any) -> Unit:
    unit = db.session.get(Unit, int(unit_id)) if str(unit_id or "").isdigit() else None
    if unit is None or unit.status != "active":
        raise InvalidInput("评委会组建单位：请选择有效的单位", field="forming_unit_id")
    return unit


def create_committee(actor: User, data: Any) -> Committee:
    """新增评委会信息 for any forming unit (H 1.10)."""
    access.require_permission(actor, MANAGE)
    unit = _forming_unit(data.get("forming_unit_id"))
    cleaned = clean_input(unit, data)
    committee = Committee(forming_unit_id=unit.id, status="unfiled", created_by_id=actor.id,
                          region_id=cleaned.region.id, **cleaned.values)
    committee.levels = [CommitteeLevel(level_code=c) for c in cleaned.level_codes]
    committee.specialties = [CommitteeSpecialty(specialty_id=s) for s in cleaned.specialty_ids]
    db.session.add(committee)
    db.session.flush()
    audit_log.record(actor, "committee.admin_create", f"管理员新增评委会「{committee.name}」", "committee", committee.id)
    return committee


def deregister(actor: User, committee: Committee, reason: str) -> None:
    """注销: recorded with its reason; the committee and its history stay, read-only (H 1.10 注销)."""
    access.require_permission(actor, MANAGE)
    reason = reason.strip()
    if not reason:
        raise InvalidInput("注销原因：必填", field="reason")
    if len(reason) > 200:
        raise InvalidInput("注销原因：不能超过 200 个字", field="reason")
    if committee.status == "deregistered":
        raise Conflict(f"评委会「{committee.name}」已注销")
    from datetime import datetime

    committee.status, committee.deregister_reason, committee.deregistered_at = "deregistered", reason, datetime.now()
    audit_log.record(actor, "committee.deregister", f"注销评委会「{committee.name}」：{reason}", "committee",
                     committee.id)


def set_specialties(actor: User, committee: Committee, specialty_ids: list[int]) -> None:
    """维护评审专业: specialties of the committee's series."""
    access.require_permission(actor, MANAGE)
    found = set(db.session.scalars(select(Specialty.id).where(Specialty.id.in_(specialty_ids),
                                                              Specialty.series_code == committee.series_code)))
    if found != set(specialty_ids):
        raise InvalidInput("评审专业：只能选择该评委会评审系列下的专业", field="specialty_ids")
    committee.specialties = [CommitteeSpecialty(specialty_id=s) for s in sorted(found)]
    audit_log.record(actor, "committee.specialties", f"维护评委会「{committee.name}」评审专业 {len(found)} 个",
                     "committee", committee.id)


def add_forming_unit(actor: User, committee: Committee, keyword: str) -> Unit:
    """维护组建单位: by exact 统一社会信用代码 or a single name match."""
    access.require_permission(actor, MANAGE)
    keyword = keyword.strip()[:50]
    if not keyword:
        raise InvalidInput("组建单位：请输入单位名称或统一社会信用代码", field="unit_keyword")
    matches = list(db.session.scalars(select(Unit).where(Unit.status == "active", (Unit.credit_code == keyword.upper())
                                                         | Unit.name.icontains(keyword, autoescape=True)).limit(2)))
    if len(matches) != 1:
        raise InvalidInput("组建单位：未找到唯一匹配的单位，请输入完整名称或统一社会信用代码", field="unit_keyword")
    unit = matches[0]
    if unit.id == committee.forming_unit_id or any(f.unit_id == unit.id for f in committee.co_forming_units):
        raise Conflict(f"组建单位：「{unit.name}」已是该评委会的组建单位", field="unit_keyword")
    committee.co_forming_units.append(CommitteeFormingUnit(unit_id=unit.id))
    audit_log.record(actor, "committee.forming_unit", f"评委会「{committee.name}」新增组建单位「{unit.name}」",
                     "committee", committee.id)
    return unit


def remove_forming_unit(actor: User, committee: Committee, unit_id: int) -> None:
    access.require_permission(actor, MANAGE)
    committee.co_forming_units = [f for f in committee.co_forming_units if f.unit_id != unit_id]


def save_fee(actor: User, committee: Committee, item: str, amount: str) -> CommitteeFee:
    """维护缴费标准: a 缴费项目 of the configured list and an amount in yuan (two decimals, ≥ 0)."""
    access.require_permission(actor, MANAGE)
    if item not in rules()["fee_items"]:
        raise InvalidInput("缴费项目：请从列表中选择", field="item")
    try:
        value = Decimal(amount.strip())
    except (InvalidOperation, AttributeError):
        raise InvalidInput("缴费金额：请输入金额（元），最多两位小数", field="amount") from None
    if value < 0 or value > Decimal("99999999.99") or value != value.quantize(Decimal("0.01")):
        raise InvalidInput("缴费金额：应为 0 至 99999999.99 元，最多两位小数", field="amount")
    fee = next((f for f in committee.fees if f.item == item), None)
    if fee is None:
        fee = CommitteeFee(item=item, amount=value)
        committee.fees.append(fee)
    fee.amount = value
    audit_log.record(actor, "committee.fee", f"评委会「{committee.name}」缴费标准：{item} {value} 元", "committee",
                     committee.id)
    return fee


def remove_fee(actor: User, committee: Committee, fee_id: int) -> None:
    access.require_permission(actor, MANAGE)
    committee.fees = [f for f in committee.fees if f.id != fee_id]


# --- 批量导入评委会 ------------------------------------------------------------------------------------------------

def import_template() -> bytes:
    return write_table("评委会", list(IMPORT_COLUMNS), [[
        "四川省乐山市工程技术系列中级职称评审委员会", "乐山市职称办", "评委会办公室", "统一社会信用代码", "常规评审",
        "中级、助理级", "统一社会信用代码", "统一社会信用代码", "张三", "0833-2123456", "乐山市市中区", "否", "按系列创建",
        "工程技术人员", "", "511100B", "否"]])


def _pending(token: str) -> Path:
    if not re.fullmatch(r"[0-9a-f]{64}", token or ""):
        raise InvalidInput("请先上传导入文件并完成检验", field="file")
    return Path(current_app.config["UPLOAD_FOLDER"]) / "pending_imports" / token


def _row_data(row: dict[str, str]) -> dict[str, Any]:
    def unit_id(code: str) -> str:
        unit = db.session.scalar(select(Unit).where(Unit.credit_code == code.strip().upper()))
        return str(unit.id) if unit else ""

    levels = {lv.name: lv.code for lv in db.session.scalars(select(TitleLevel))}
    series = db.session.scalar(select(TitleSeries).where(TitleSeries.name == row["评审系列"]))
    codes = [c for c in re.split(r"[、,，\s]+", row["评审专业编码"]) if c]
    review_types = {t["name"]: t["code"] for t in rules()["review_types"]}
    return {
        "name": row["评委会名称"], "agency": row["评委会办事机构"], "office": row["评委会办公室"],
        "forming_unit_id": unit_id(row["组建单位统一社会信用代码"]), "review_type": review_types.get(row["评审类型"], ""),
        "level_codes": [levels.get(n, "?") for n in re.split(r"[、,，\s]+", row["评审级别"]) if n],
        "authorizing_unit_id": unit_id(row["授权管理单位统一社会信用代码"]),
        "filing_unit_id": unit_id(row["备案批复单位统一社会信用代码"]), "contact_name": row["对外联系人"],
        "contact_phone": row["对外联系电话"], "address": row["联系地址"], "internal_only": row["是否单位内部自主评审"],
        "build_mode": {"按系列创建": "series", "按专业创建": "specialty"}.get(row["组建方式"], ""),
        "series_code": series.code if series else "",
        "specialty_ids": list(db.session.scalars(select(Specialty.id).where(Specialty.code.in_(codes)))) if codes
        else [], "region_code": row["评审区域代码"], "funded": row["是否拨付经费"]}


def check_import(content: bytes) -> tuple[str, list[tuple[int, dict[str, Any]]], list[tuple[int, str, str]]]:
    """(token, valid rows, failures as (row, name, reasons)); nothing is written to the database."""
    if not content.startswith(b"PK") or not zipfile.is_zipfile(io.BytesIO(content)):
        raise InvalidInput("导入文件：不是有效的 xlsx 文件", field="file")
    uploads.check_archive(content, "导入文件", "file")
    try:
        rows = CalamineWorkbook.from_filelike(io.BytesIO(content)).get_sheet_by_index(0).to_python()
    except (CalamineError, ValueError, OSError) as exc:
        raise InvalidInput("导入文件：不是有效的 xlsx 文件", field="file") from exc
    if not rows or [str(h).strip() for h in rows[0][:len(IMPORT_COLUMNS)]] != list(IMPORT_COLUMNS):
        raise InvalidInput("导入文件：表头与模板不一致，请使用下载的模板", field="file")
    valid: list[tuple[int, dict[str, Any]]] = []
    failed: list[tuple[int, str, str]] = []
    for index, raw in enumerate(rows[1:], start=2):
        cells = [("" if v is None else str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)).strip()
                 for v in raw] + [""] * len(IMPORT_COLUMNS)
        row = dict(zip(IMPORT_COLUMNS, cells, strict=False))
        if not any(row.values()):
            continue
        data = _row_data(row)
        try:
            clean_input(_forming_unit(data["forming_unit_id"]), data)
        except ServiceError as exc:
            failed.append((index, row["评委会名称"], "；".join(m for ms in exc.errors.values() for m in ms)
                           or exc.message))
            continue
        valid.append((index, data))
    token = hashlib.sha256(content).hexdigest()
    target = _pending(token)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(content)
    return token, valid, failed


def confirm_import(actor: User, token: str) -> int:
    """提交: the rows that pass now are created in this one transaction."""
    access.require_permission(actor, MANAGE)
    path = _pending(token)
    if not path.exists():
        raise NotFound("导入文件已失效，请重新上传")
    _, valid, _ = check_import(path.read_bytes())
    if not valid:
        raise InvalidInput("没有可导入的评委会", field="file")
    for _, data in valid:
        create_committee(actor, data)
    path.unlink(missing_ok=True)
    return len(valid)
