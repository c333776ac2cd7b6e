"""单位自行注册 and 下级单位注册审核 (manual S 1.1.2.2 用户权限申请, S 1.2.9.2.1; FEATURES A3).

Rules owned here:
- A unit that is not yet in the tree applies without an account: 单位基本信息, legal person (non-人社 types),
  企业营业执照, and its 经办人, who becomes its 超级管理员 once approved. It chooses its superior, which must be
  active and whose type may grant the requested type; the 归属地 lies within the superior's territory and the
  统一社会信用代码 fits the nature (the rules of services/units, applied unchanged).
- The credit code and the 经办人's login name are unique among units and accounts and also among
  registrations still under review, so two pending applications cannot later be approved into a clash.
- The superior reviews through its 多岗审核 levels for 注册审核 (bpmn/unit_registration.bpmn → unit_review):
  退回 lets the applicant correct and resubmit to the same superior, 审核不通过 ends it, 审核通过 creates the
  unit, its default roles and its 超级管理员.
- The applicant's status page is opened by a random token shown once and stored only as its sha256. The initial
  password is generated when that page is first opened after approval, shown that once, and must be changed at
  the first sign-in; no password is ever stored in clear.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import exists, func, select, update

from app.extensions import db
from app.models import HumanTask, HumanTaskCandidate, Unit, UnitRegistration, User, WorkflowEvent
from services.authz import access, audit_chain
from services.common import audit_log, file_store
from services.common.errors import Conflict, InvalidInput, NotFound, ServiceError
from services.org import units
from services.org.accounts import generate_initial_password, hash_password
from services.reference import reference_data
from services.workflow import forms, instances
from services.workflow.scripting import WHITELIST, FunctionRegistry

PROCESS_ID = "unit_registration"
BUSINESS_TYPE = "unit_registration"
AUDIT_ITEM = "unit_registration"
APPLICATION_FORM = "registration/unit_application"
SUPERIOR_SEARCH_LIMIT = 20


@dataclass(frozen=True)
class Application:
    """What the applicant filled in, each part already shaped by app/schemas (UnitBasic, LegalPerson, Handler)."""

    superior_id: int
    basic: dict[str, Any]
    legal: dict[str, Any] | None
    handler: dict[str, Any]


@dataclass(frozen=True)
class Upload:
    filename: str
    content: bytes


@dataclass(frozen=True)
class Submitted:
    registration: UnitRegistration
    token: str  # shown to the applicant once; only its hash is kept


def find_superiors(keyword: str, limit: int = SUPERIOR_SEARCH_LIMIT) -> list[Unit]:
    """Active units whose name contains `keyword`, for the public 上级单位 picker (at most `limit`)."""
    keyword = keyword.strip()[:50]
    if not keyword:
        return []
    return list(db.session.scalars(
        select(Unit).where(Unit.status == "active", Unit.name.icontains(keyword, autoescape=True))
        .order_by(Unit.depth, Unit.name).limit(min(limit, SUPERIOR_SEARCH_LIMIT))
    ))


def licence_field() -> forms.FieldDefinition:
    """企业营业执照's size and type rules, from the application form definition (one place for them)."""
    return forms.load_form(APPLICATION_FORM).field("business_licence")


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _active_superior(superior_id: int) -> Unit:
    superior = db.session.get(Unit, superior_id)
    if superior is None or superior.status != "active":
        raise InvalidInput("上级单位：请从列表中选择一个有效的上级单位", field="superior_id")
    return superior


def _check_application(superior: Unit, application: Application, own: UnitRegistration | None = None) -> None:
    """Everything a registration must satisfy before it is written; raises before any write."""
    handler = application.handler
    if not handler.get("id_number"):
        raise InvalidInput("经办人证件号码：必填", field="handler_id_number")
    try:
        units.check_new_unit(superior, application.basic, application.legal, handler["username"])
    except Conflict as exc:
        # units speaks of "username"; on this form the field is the 经办人's 登录账号.
        raise Conflict(exc.message, field="handler_username" if exc.field == "username" else exc.field) from None
    pending = select(UnitRegistration.id).where(UnitRegistration.status == "pending",
                                                UnitRegistration.id != (own.id if own else -1))
    if db.session.scalar(pending.where(UnitRegistration.credit_code == application.basic["credit_code"])):
        raise Conflict("统一社会信用代码：已有单位以该代码提交注册，正在审核中", field="credit_code")
    if db.session.scalar(pending.where(func.lower(UnitRegistration.handler_username) == handler["username"].lower())):
        raise Conflict("登录账号：已被其他注册申请占用，请换一个", field="handler_username")


def _fill(registration: UnitRegistration, application: Application) -> None:
    basic, legal, handler = application.basic, application.legal or {}, application.handler
    registration.name = basic["name"]
    registration.credit_code = basic["credit_code"]
    registration.unit_type_code = basic["unit_type_code"]
    registration.nature_code = basic["nature_code"]
    registration.region_id = units.get_region(basic["region_code"]).id
    registration.contact_name = basic.get("contact_name") or handler["name"]
    registration.phone = basic["phone"]
    registration.address = basic.get("address") or ""
    registration.legal_person_name = legal.get("legal_person_name")
    registration.legal_person_id_number = legal.get("legal_person_id_number")
    registration.legal_person_phone = legal.get("legal_person_phone")
    registration.handler_name = handler["name"]
    registration.handler_id_number = handler["id_number"]
    registration.handler_phone = handler["phone"]
    registration.handler_username = handler["username"]


def _attach_licence(registration: UnitRegistration, checked: file_store.StoredFile) -> None:
    registration.licence_sha256 = checked.sha256
    registration.licence_filename = checked.filename
    registration.licence_size = checked.size
    registration.licence_type = checked.file_type


def submit_registration(application: Application, licence: Upload | None) -> Submitted:
    """提交审核: check everything, store the licence, start the superior's review; returns the token once."""
    if licence is None or not licence.filename:
        raise InvalidInput(f"{licence_field().label}：必须上传", field="business_licence")
    checked = file_store.check(licence_field(), licence.filename, licence.content)
    superior = _active_superior(application.superior_id)
    _check_application(superior, application)
    token = secrets.token_urlsafe(32)
    registration = UnitRegistration(superior_id=superior.id, status="pending", token_hash=_token_hash(token))
    _fill(registration, application)
    _attach_licence(registration, checked)
    db.session.add(registration)
    db.session.flush()
    instances.start_process(
        PROCESS_ID, BUSINESS_TYPE, registration.id, f"单位注册：{registration.name}", None,
        {"registration_id": registration.id, "reviewing_unit_id": superior.id,
         "levels": audit_chain.review_levels(superior.id, AUDIT_ITEM)},
        None, columns={"applicant_name": registration.name[:30]},
    )
    # The file is written last: a refused application leaves nothing behind, on disk or in the database.
    file_store.store(checked, licence.content)
    audit_log.record(None, "registration.submit", f"单位「{registration.name}」提交注册申请，上级单位「{superior.name}」",
                     "unit_registration", registration.id, unit_id=superior.id)
    return Submitted(registration, token)


def load_by_token(token: str) -> UnitRegistration:
    """The registration the token opens; a wrong token is indistinguishable from a missing record (404)."""
    if not token or len(token) > 128:
        raise NotFound("注册申请不存在或查询链接无效")
    registration = db.session.scalar(select(UnitRegistration).where(UnitRegistration.token_hash == _token_hash(token)))
    if registration is None:
        raise NotFound("注册申请不存在或查询链接无效")
    return registration


def correction_task(registration: UnitRegistration) -> HumanTask | None:
    """The open 修改注册信息 task while the registration stands 退回 to the applicant."""
    return instances.open_task_for(BUSINESS_TYPE, registration.id, "applicant")


def status_of(registration: UnitRegistration) -> str:
    """pending / returned / approved / rejected (see app.models.registration.REVIEW_STATUS_LABELS)."""
    if registration.status != "pending":
        return registration.status
    return "returned" if correction_task(registration) is not None else "pending"


def trail_of(registration: UnitRegistration) -> list[WorkflowEvent]:
    return instances.business_trail(BUSINESS_TYPE, registration.id)


def resubmit_registration(token: str, application: Application, note: str, licence: Upload | None) -> UnitRegistration:
    """After 审核退回: the applicant corrects the application (same superior) and it goes back to review."""
    registration = load_by_token(token)
    task = correction_task(registration)
    if task is None:
        raise Conflict("该注册申请当前不是“已退回”状态，不能修改")
    if application.superior_id != registration.superior_id:
        raise InvalidInput("上级单位：修改注册信息时不能更换上级单位，如需更换请重新注册", field="superior_id")
    superior = db.session.get(Unit, registration.superior_id)
    if superior is None or superior.status != "active":
        raise Conflict("所选上级单位已注销，请重新注册并选择其他上级单位")
    checked = file_store.check(licence_field(), licence.filename, licence.content) if licence else None
    _check_application(superior, application, registration)
    _fill(registration, application)
    if checked is not None:
        _attach_licence(registration, checked)
    complete_applicant_task(task.id, {"note": note}, registration.handler_name)
    if checked is not None and licence is not None:
        file_store.store(checked, licence.content)
    audit_log.record(None, "registration.resubmit", f"单位「{registration.name}」修改注册信息后重新提交",
                     "unit_registration", registration.id, unit_id=superior.id)
    return registration


def complete_applicant_task(task_id: int, form_data: Mapping[str, Any], actor_name: str) -> HumanTask:
    """Complete a task of post `applicant`, whose right to act the caller established (the access token, the
    applicant's own declaration). Such tasks have no candidate accounts: the step is instances'
    complete_checked_task (lock, form, engine, the writes in few statements) with no account acting."""
    task = db.session.get(HumanTask, task_id)
    if task is None or task.post != "applicant":
        raise NotFound("待办不存在")
    return instances.complete_checked_task(None, task, form_data, actor_name=actor_name)


def issue_initial_password(registration: UnitRegistration) -> str | None:
    """The 超级管理员's initial password, generated and shown once: on the first status view after approval."""
    if registration.status != "approved" or registration.admin is None or registration.password_issued_at:
        return None
    # A conditional UPDATE, so two simultaneous views cannot both receive a password.
    claimed = db.session.execute(
        update(UnitRegistration).where(UnitRegistration.id == registration.id,
                                       UnitRegistration.password_issued_at.is_(None))
        .values(password_issued_at=datetime.now()).execution_options(synchronize_session="fetch"))
    if getattr(claimed, "rowcount", 0) != 1:
        return None
    password = generate_initial_password()
    admin = registration.admin
    admin.password_hash = hash_password(password)
    admin.must_change_password = True
    admin.session_token = secrets.token_hex(8)
    audit_log.record(None, "registration.password", f"向注册申请人显示经办人 {admin.username} 的初始密码",
                     "user", admin.id, unit_id=admin.unit_id)
    return password


def licence_for_reviewer(actor: User, registration_id: int) -> UnitRegistration:
    """The registration whose licence `actor` may open: the superior's reviewers, or anyone its tasks named."""
    registration = db.session.get(UnitRegistration, registration_id)
    if registration is None:
        raise NotFound("注册申请不存在")
    if access.has_permission(actor, "registration.review", registration.superior):
        return registration
    named = exists().where(HumanTask.business_type == BUSINESS_TYPE, HumanTask.business_id == registration.id,
                           (HumanTask.completed_by_id == actor.id) | HumanTask.id.in_(
                               select(HumanTaskCandidate.task_id).where(HumanTaskCandidate.user_id == actor.id)))
    if not db.session.scalar(select(named)):
        raise NotFound("注册申请不存在")
    return registration


# --- whitelisted business operations (bpmn/unit_registration.bpmn) ---------------------------------------------

def _pending(registration_id: int) -> UnitRegistration:
    registration = db.session.get(UnitRegistration, registration_id)
    if registration is None or registration.status != "pending":
        raise Conflict(f"注册申请 {registration_id} 不存在或已办结")
    return registration


def approve_unit_registration(registration_id: int) -> dict[str, int]:
    """审核通过: the unit, its default roles and its 超级管理员 (password issued on the status page)."""
    registration = _pending(registration_id)
    superior = registration.superior
    if superior.status != "active":
        raise Conflict(f"上级单位「{superior.name}」已注销，不能通过该注册申请")
    basic = {"name": registration.name, "credit_code": registration.credit_code,
             "unit_type_code": registration.unit_type_code, "nature_code": registration.nature_code,
             "region_code": registration.region.code, "contact_name": registration.contact_name,
             "phone": registration.phone, "address": registration.address}
    legal = ({"legal_person_name": registration.legal_person_name,
              "legal_person_id_number": registration.legal_person_id_number,
              "legal_person_phone": registration.legal_person_phone}
             if registration.legal_person_name else None)
    handler = {"name": registration.handler_name, "id_number": registration.handler_id_number,
               "phone": registration.handler_phone, "username": registration.handler_username}
    roles = reference_data.default_roles(Path(current_app.config["ADMIN_CONFIG_DIR"]))
    actor = instances.current_actor.get()
    try:
        created = units.add_subordinate(actor, superior, basic, legal, handler, roles)
    except ServiceError as exc:
        # The tree may have changed since submission (a unit or account took the code or the login name).
        raise Conflict(f"该注册申请不能审核通过：{exc.message}。请审核退回，由申请人修改") from None
    registration.unit_id, registration.admin_id = created.unit.id, created.admin.id
    registration.status = "approved"
    audit_log.record(actor, "registration.approve", f"下级单位注册审核通过：「{registration.name}」",
                     "unit_registration", registration.id, unit_id=superior.id)
    return {"unit_id": created.unit.id, "admin_id": created.admin.id}


def reject_unit_registration(registration_id: int, opinion: str) -> None:
    """审核不通过: the application ends; the applicant sees the opinion on the status page."""
    registration = _pending(registration_id)
    registration.status = "rejected"
    registration.opinion = str(opinion or "")[:500]
    audit_log.record(instances.current_actor.get(), "registration.reject",
                     f"下级单位注册审核不通过：「{registration.name}」", "unit_registration", registration.id,
                     unit_id=registration.superior_id)


def register_operations(registry: FunctionRegistry = WHITELIST) -> None:
    """Bind the diagram's declared operations to this module (called by the application factory)."""
    registry.register("approve_unit_registration", approve_unit_registration, replace=True)
    registry.register("reject_unit_registration", reject_unit_registration, replace=True)
