"""职称初定/认定受理机构管理 (Hunan guide H 1.3; FEATURES N3), the platform administrator's.

Rules:
- An agency is a unit of the platform accepting 职称初定 or 职称认定 applications of a 职称等级; the 证书机构名称 is
  what certificates print as the 认定机构, so it is required. One agency per (type, unit, grade).
- 批量导入: the template's rows (受理节点类型, 职称等级, 机构名称, 证书机构名称, 联系电话) are checked one by one — the unit
  named must exist (exact name), the pair must not be registered already or twice in the file — and stored all
  or nothing: any refused row stores none, and the refusals are listed with their row numbers.
- 注销 needs a reason and keeps the row (certificates issued under it still name it); it is not listed as 正常.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from python_calamine import CalamineError, CalamineWorkbook
from sqlalchemy import Select, insert, select

from app.extensions import db
from app.models import AcceptanceAgency, Unit, User
from app.models.acceptance import ACCEPTANCE_GRADES, ACCEPTANCE_STATUS_LABELS, ACCEPTANCE_TYPES
from services.authz import access
from services.common import audit_log
from services.common.errors import Conflict, InvalidInput, NotFound
from services.common.excel.export import write_table

PERMISSION = "acceptance.manage"
TEMPLATE_HEADERS = ("受理节点类型", "职称等级", "机构名称", "证书机构名称", "联系电话")
MAX_IMPORT_ROWS = 5000


@dataclass(frozen=True)
class AgencyInput:
    node_type: str
    grade: str
    unit_id: int | None
    certificate_name: str
    contact_phone: str = ""


def _errors(data: AgencyInput) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if data.node_type not in ACCEPTANCE_TYPES:
        errors["node_type"] = ["受理节点类型：请选择职称初定或职称认定"]
    if data.grade not in ACCEPTANCE_GRADES:
        errors["grade"] = ["职称等级：请选择初级、中级或高级"]
    if data.unit_id is None or db.session.get(Unit, data.unit_id) is None:
        errors["unit_id"] = ["机构名称：请从平台单位中选择"]
    name = data.certificate_name.strip()
    if not name or len(name) > 60:
        errors["certificate_name"] = ["证书机构名称：必填，不超过 60 个字（打印在职称证书上）"]
    if len(data.contact_phone.strip()) > 20:
        errors["contact_phone"] = ["联系电话：不超过 20 个字符"]
    return errors


def _duplicate(data: AgencyInput, exclude_id: int | None = None) -> bool:
    stmt = select(AcceptanceAgency.id).where(AcceptanceAgency.node_type == data.node_type,
                                             AcceptanceAgency.grade == data.grade,
                                             AcceptanceAgency.unit_id == data.unit_id)
    if exclude_id is not None:
        stmt = stmt.where(AcceptanceAgency.id != exclude_id)
    return db.session.scalar(stmt) is not None


def save_agency(actor: User, data: AgencyInput, agency: AcceptanceAgency | None = None) -> AcceptanceAgency:
    access.require_permission(actor, PERMISSION)
    errors = _errors(data)
    if not errors and _duplicate(data, agency.id if agency else None):
        errors["unit_id"] = ["机构名称：该单位已登记为同类型、同等级的受理机构"]
    if errors:
        raise InvalidInput(next(iter(errors.values()))[0], errors=errors)
    if agency is not None and agency.status != "active":
        raise Conflict("已注销的受理机构不能修改")
    agency = agency or AcceptanceAgency(created_by_id=actor.id)
    assert data.unit_id is not None  # checked above
    agency.node_type, agency.grade, agency.unit_id = data.node_type, data.grade, data.unit_id
    agency.certificate_name, agency.contact_phone = data.certificate_name.strip(), data.contact_phone.strip()
    db.session.add(agency)
    db.session.flush()
    audit_log.record(actor, "acceptance.save", f"保存受理机构：{agency.certificate_name}", "acceptance_agency",
                     agency.id)
    return agency


def deregister_agency(actor: User, agency: AcceptanceAgency, reason: str) -> None:
    access.require_permission(actor, PERMISSION)
    if agency.status != "active":
        raise Conflict("该受理机构已注销")
    if not reason.strip():
        raise InvalidInput("注销原因：必填", field="reason")
    agency.status, agency.deregister_reason, agency.deregistered_at = "deregistered", reason.strip()[:200], \
        datetime.now()
    audit_log.record(actor, "acceptance.deregister", f"注销受理机构：{agency.certificate_name}（{reason.strip()}）",
                     "acceptance_agency", agency.id)


def load_agency(actor: User, agency_id: int) -> AcceptanceAgency:
    access.require_permission(actor, PERMISSION)
    agency = db.session.get(AcceptanceAgency, agency_id)
    if agency is None:
        raise NotFound("受理机构不存在")
    return agency


def list_statement(node_type: str = "", status: str = "", keyword: str = "") -> Select[Any]:
    stmt = select(AcceptanceAgency).join(Unit, Unit.id == AcceptanceAgency.unit_id)
    if node_type in ACCEPTANCE_TYPES:
        stmt = stmt.where(AcceptanceAgency.node_type == node_type)
    if status in ACCEPTANCE_STATUS_LABELS:
        stmt = stmt.where(AcceptanceAgency.status == status)
    if keyword:  # 支持模糊查询
        stmt = stmt.where(Unit.name.contains(keyword, autoescape=True)
                          | AcceptanceAgency.certificate_name.contains(keyword, autoescape=True))
    return stmt.order_by(AcceptanceAgency.id.desc())


def template() -> bytes:
    return write_table("受理机构", TEMPLATE_HEADERS, [("职称认定", "中级", "乐山市人力资源和社会保障局",
                                                      "乐山市职称改革工作领导小组办公室", "0833-2420000")])


@dataclass(frozen=True)
class ImportResult:
    stored: int
    refused: list[tuple[int, str]]


def import_agencies(actor: User, content: bytes) -> ImportResult:
    """All or nothing: every row is checked; when any is refused nothing is stored."""
    access.require_permission(actor, PERMISSION)
    try:
        rows = CalamineWorkbook.from_filelike(io.BytesIO(content)).get_sheet_by_index(0).to_python()
    except (CalamineError, ValueError, IndexError) as exc:
        raise InvalidInput("导入文件：无法读取，请使用下载的 Excel 模板", field="file") from exc
    if not rows or [str(c).strip() for c in rows[0][:len(TEMPLATE_HEADERS)]] != list(TEMPLATE_HEADERS):
        raise InvalidInput("导入文件：表头与模板不一致，请使用下载的 Excel 模板", field="file")
    body = [r for r in rows[1:] if any(str(c).strip() for c in r)]
    if len(body) > MAX_IMPORT_ROWS:
        raise InvalidInput(f"导入文件：一次最多导入 {MAX_IMPORT_ROWS} 行", field="file")
    types = {label: code for code, label in ACCEPTANCE_TYPES.items()}
    names = {str(r[2]).strip() for r in body if len(r) > 2}
    units: dict[str, int] = ({name: ident for name, ident in db.session.execute(
        select(Unit.name, Unit.id).where(Unit.name.in_(names)))} if names else {})
    existing = set(db.session.execute(select(AcceptanceAgency.node_type, AcceptanceAgency.unit_id,
                                             AcceptanceAgency.grade)).tuples())
    seen: set[tuple[str, int, str]] = set()
    stored: list[dict[str, Any]] = []
    refused: list[tuple[int, str]] = []
    now = datetime.now()
    for number, raw in enumerate(body, start=2):
        cells = [str(c).strip() for c in [*raw, "", "", "", "", ""][:5]]
        data = AgencyInput(types.get(cells[0], cells[0]), cells[1], units.get(cells[2]), cells[3], cells[4])
        errors = _errors(data)
        if errors:
            refused.append((number, "；".join(m for ms in errors.values() for m in ms)))
            continue
        key = (data.node_type, int(data.unit_id or 0), data.grade)
        if key in existing or key in seen:
            refused.append((number, "机构名称：该单位已登记为同类型、同等级的受理机构"))
            continue
        seen.add(key)
        stored.append({"node_type": data.node_type, "grade": data.grade, "unit_id": data.unit_id,
                       "certificate_name": data.certificate_name, "contact_phone": data.contact_phone,
                       "status": "active", "deregister_reason": "", "created_by_id": actor.id, "created_at": now})
    if refused or not stored:
        return ImportResult(0, refused or [(0, "导入文件：没有数据行")])
    db.session.execute(insert(AcceptanceAgency), stored)
    audit_log.record(actor, "acceptance.import", f"批量导入受理机构 {len(stored)} 条", "acceptance_agency", "")
    return ImportResult(len(stored), [])
