"""职称确认审核 (S 1.2.14; L3): a person's request to confirm a title obtained elsewhere, reviewed up their units.

Rules:
- The request names 资格名称, 级别, 取得资格时间 (not in the future), 发证机关 / 评审机构, 证书编号 and may carry the
  certificate's scan; a person has at most one request under review or returned at a time.
- 【通过】 submits it to the next unit; at the last unit (the nearest 人社部门) it is confirmed. 【退回】 needs a
  reason and goes straight back to the person, who corrects it and submits it again. 【不通过】 sets the request to
  不通过: it is kept and cannot be deleted (only requests never reviewed could be — there are none: a request is
  submitted when created).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import Applicant, TitleConfirmation, TitleLevel, Unit, User
from services import notifications
from services.authz import access
from services.common import audit_log, file_store
from services.common.errors import Conflict, InvalidInput, NotFound
from services.org.registration import complete_applicant_task
from services.talent import individual_review
from services.workflow import instances
from services.workflow.scripting import WHITELIST, FunctionRegistry

PROCESS_ID = "title_confirmation"
BUSINESS_TYPE = "title_confirmation"
AUDIT_ITEM = "title_confirmation"
REVIEW_PERMISSION = "title_confirmation.review"
REVIEW_TABS = {"reviewing": "待审核", "approved": "审核通过", "returned": "已退回", "rejected": "不通过"}


@dataclass(frozen=True)
class ScanField:
    name: str = "attachment"
    label: str = "证书扫描件"
    type: str = "file"
    max_size_mb: float | None = 10
    accept: tuple[str, ...] = ("pdf", "jpg", "png")


@dataclass(frozen=True)
class ConfirmationInput:
    title_name: str
    level_code: str
    obtained_on: date | None
    issuer: str
    certificate_no: str
    attachment: tuple[str, bytes] | None = None


def _fill(request: TitleConfirmation, applicant: Applicant, data: ConfirmationInput, today: date) -> None:
    errors: dict[str, list[str]] = {}
    if not data.title_name.strip() or len(data.title_name.strip()) > 30:
        errors["title_name"] = ["资格名称：必填，不超过 30 个字"]
    if db.session.get(TitleLevel, data.level_code) is None:
        errors["level_code"] = ["级别：请选择"]
    if data.obtained_on is None or data.obtained_on > today:
        errors["obtained_on"] = ["取得资格时间：必填，且不能晚于今天"]
    if not data.issuer.strip() or len(data.issuer.strip()) > 50:
        errors["issuer"] = ["发证机关：必填，不超过 50 个字"]
    if len(data.certificate_no.strip()) > 50:
        errors["certificate_no"] = ["证书编号：不超过 50 个字符"]
    if errors:
        raise InvalidInput(next(iter(errors.values()))[0], errors=errors)
    assert data.obtained_on is not None
    request.title_name, request.level_code, request.obtained_on = data.title_name.strip(), data.level_code, \
        data.obtained_on
    request.issuer, request.certificate_no = data.issuer.strip(), data.certificate_no.strip()
    request.unit_id = applicant.unit_id
    if data.attachment is not None:
        checked = file_store.check(ScanField(), *data.attachment)
        file_store.store(checked, data.attachment[1])
        request.attachment = {"sha256": checked.sha256, "filename": checked.filename, "file_type": checked.file_type}


def open_request(applicant: Applicant) -> TitleConfirmation | None:
    return db.session.scalar(select(TitleConfirmation).where(
        TitleConfirmation.applicant_id == applicant.id, TitleConfirmation.status.in_(("reviewing", "returned"))))


def submit_request(applicant: Applicant, data: ConfirmationInput, today: date | None = None) -> TitleConfirmation:
    if open_request(applicant) is not None:
        raise Conflict("您已有审核中或已退回的职称确认申请，请先处理该申请")
    request = TitleConfirmation(applicant_id=applicant.id)
    _fill(request, applicant, data, today or date.today())
    individual_review.start(request, applicant.unit)
    request.submitted_at = datetime.now()
    db.session.add(request)
    db.session.flush()
    instances.start_process(PROCESS_ID, BUSINESS_TYPE, request.id, f"职称确认审核：{applicant.name} {request.title_name}",
                            applicant.unit_id, {"record_id": request.id}, None,
                            columns={"applicant_name": applicant.name})
    _audit(applicant, "confirmation.submit", f"申报人 {applicant.name} 提交职称确认申请（{request.title_name}）", request)
    return request


def resubmit_request(applicant: Applicant, request: TitleConfirmation, data: ConfirmationInput,
                     today: date | None = None) -> TitleConfirmation:
    _fill(request, applicant, data, today or date.today())
    individual_review.restart(request)
    task = instances.open_task_for(BUSINESS_TYPE, request.id, "applicant")
    if task is None:
        raise Conflict("该申请当前不是“已退回”状态，不能重新提交")
    request.submitted_at = datetime.now()
    complete_applicant_task(task.id, {"note": "已修改"}, applicant.name)
    _audit(applicant, "confirmation.resubmit", f"申报人 {applicant.name} 修改职称确认申请后重新提交", request)
    return request


def _audit(applicant: Applicant, action: str, summary: str, request: TitleConfirmation) -> None:
    entry = audit_log.record(None, action, summary, "title_confirmation", request.id, unit_id=applicant.unit_id)
    entry.actor_name = f"申报人 {applicant.name}"[:30]


def load_own(applicant: Applicant, request_id: int) -> TitleConfirmation:
    request = db.session.get(TitleConfirmation, request_id)
    if request is None or request.applicant_id != applicant.id:
        raise NotFound("职称确认申请不存在")
    return request


# --- operations the diagram calls -------------------------------------------------------------------------------

def route_title_confirmation(record_id: int) -> dict[str, Any]:
    return individual_review.route(individual_review.loaded(TitleConfirmation, record_id), AUDIT_ITEM)


def pass_title_confirmation(record_id: int, opinion: str = "") -> str:
    return individual_review.passed(individual_review.loaded(TitleConfirmation, record_id), opinion)


def return_title_confirmation(record_id: int, opinion: str = "") -> None:
    request = individual_review.loaded(TitleConfirmation, record_id)
    if not str(opinion or "").strip():
        raise InvalidInput("审核意见：退回时必须填写退回原因", field="opinion")
    individual_review.returned(request, opinion)
    notifications.notify("application_returned", [notifications.applicant_recipient(request.applicant_id)],
                         f"您的职称确认申请已被退回：{request.title_name}",
                         f"退回原因：{opinion}。请按要求修改后重新提交。", ("title_confirmation", request.id))


def reject_title_confirmation(record_id: int, opinion: str = "") -> None:
    individual_review.rejected(individual_review.loaded(TitleConfirmation, record_id), opinion)


def register_operations(registry: FunctionRegistry = WHITELIST) -> None:
    registry.register("route_title_confirmation", route_title_confirmation, replace=True)
    registry.register("pass_title_confirmation", pass_title_confirmation, replace=True)
    registry.register("return_title_confirmation", return_title_confirmation, replace=True)
    registry.register("reject_title_confirmation", reject_title_confirmation, replace=True)


# --- the unit's side --------------------------------------------------------------------------------------------

def review_statement(actor: User, tab: str, keyword: str = "") -> Select[Any]:
    access.require_permission(actor, REVIEW_PERMISSION)
    stmt = select(TitleConfirmation)
    if tab == "reviewing":
        stmt = stmt.where(TitleConfirmation.status == "reviewing", TitleConfirmation.current_unit_id == actor.unit_id)
    else:
        # The path runs up from the person's unit: what reached this unit came from its subtree.
        reached = TitleConfirmation.unit_id.in_(select(Unit.id).where(
            Unit.path.startswith(actor.unit.path, autoescape=True)))
        stmt = stmt.where(TitleConfirmation.status == (tab if tab in REVIEW_TABS else "approved"), reached)
    if keyword:
        stmt = stmt.where(TitleConfirmation.applicant.has(Applicant.name.contains(keyword, autoescape=True)))
    return stmt.options(selectinload(TitleConfirmation.unit), selectinload(TitleConfirmation.applicant)).order_by(
        TitleConfirmation.submitted_at.desc(), TitleConfirmation.id.desc())


def load_for_unit(actor: User, request_id: int) -> TitleConfirmation:
    access.require_permission(actor, REVIEW_PERMISSION)
    request = db.session.get(TitleConfirmation, request_id)
    if request is None or (actor.unit_id not in request.path and not actor.is_platform_admin):
        raise NotFound("职称确认申请不存在")
    return request
