"""变更上级单位 (manual S 1.2.9.1.1: 如果需要变更上级单位，需要重新提交至上级单位审核; FEATURES A4).

Rules owned here:
- A unit's administrators (unit.self.edit) apply with a new superior and a reason (≤200 字); one open request
  per unit. The top of the tree has no superior to change.
- The new superior must be active, neither the unit itself nor below it, must be allowed to grant the unit's
  type, and its territory must contain the unit's 归属地 (the rules a new subordinate meets, services/units).
- The new superior reviews through its 多岗审核 levels for 注册审核 (bpmn/unit_superior_change.bpmn); 退回 goes
  to the unit's administrators, who may revise the reason and resubmit; 不通过 ends it.
- Approval re-checks the rules (the tree may have changed meanwhile) and moves the unit with its whole subtree:
  parent, materialised path and depth of every unit below, in one UPDATE.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, case, func, literal, select, update

from app.extensions import db
from app.models import HumanTask, SuperiorChangeRequest, Unit, User, WorkflowEvent
from services.authz import access, audit_chain
from services.common import audit_log
from services.common.errors import Conflict, InvalidInput, NotFound, ServiceError
from services.org import units
from services.workflow import instances
from services.workflow.scripting import WHITELIST, FunctionRegistry

PROCESS_ID = "unit_superior_change"
BUSINESS_TYPE = "unit_superior_change"
AUDIT_ITEM = "unit_registration"  # 注册审核 covers both registrations and changes of superior (audit_items.yaml)
REASON_MAX = 200


def open_request(unit: Unit) -> SuperiorChangeRequest | None:
    return db.session.scalar(select(SuperiorChangeRequest).where(
        SuperiorChangeRequest.unit_id == unit.id, SuperiorChangeRequest.status == "pending"))


def latest_request(unit: Unit) -> SuperiorChangeRequest | None:
    return db.session.scalar(select(SuperiorChangeRequest).where(SuperiorChangeRequest.unit_id == unit.id)
                             .order_by(SuperiorChangeRequest.id.desc()).limit(1))


def correction_task(change: SuperiorChangeRequest) -> HumanTask | None:
    """The open 修改变更申请 task while the request stands 退回 to the unit's administrators."""
    return instances.open_task_for(BUSINESS_TYPE, change.id, "unit_admin")


def status_of(change: SuperiorChangeRequest) -> str:
    """pending / returned / approved / rejected (see app.models.registration.REVIEW_STATUS_LABELS)."""
    if change.status != "pending":
        return change.status
    return "returned" if correction_task(change) is not None else "pending"


def trail_of(change: SuperiorChangeRequest) -> list[WorkflowEvent]:
    return instances.business_trail(BUSINESS_TYPE, change.id)


def _clean_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("变更原因：必填", field="reason")
    if len(reason) > REASON_MAX:
        raise InvalidInput(f"变更原因：不能超过 {REASON_MAX} 个字", field="reason")
    return reason


def check_move(unit: Unit, new_parent: Unit | None) -> Unit:
    """The new superior `unit` may move under, or InvalidInput naming the rule it breaks."""
    if unit.parent_id is None:
        raise InvalidInput("顶级单位没有上级单位，不能申请变更")
    if new_parent is None or new_parent.status != "active":
        raise InvalidInput("新上级单位：请从列表中选择一个有效的单位", field="new_parent_id")
    if new_parent.id == unit.parent_id:
        raise InvalidInput("新上级单位：与当前上级单位相同", field="new_parent_id")
    if new_parent.is_within(unit):
        raise InvalidInput("新上级单位：不能选择本单位或本单位的下级单位", field="new_parent_id")
    if unit.unit_type_code not in {t.code for t in units.allowed_child_types(new_parent)}:
        raise InvalidInput(f"新上级单位：{new_parent.unit_type.name}不能管理{unit.unit_type.name}",
                           field="new_parent_id")
    scope = units.territory_of(new_parent.region)
    if not units.region_is_within(unit.region, scope):
        raise InvalidInput(f"新上级单位：本单位的职称业务归属地（{unit.region.full_name}）不在其归属地范围内"
                           f"（{scope.full_name}），请先修改本单位的归属地", field="new_parent_id")
    return new_parent


def request_superior_change(actor: User, unit: Unit, new_parent_id: int | None, reason: str) -> SuperiorChangeRequest:
    """申请变更上级单位: the request and its review by the new superior, started in one flush."""
    access.require_permission(actor, "unit.self.edit", unit)
    reason = _clean_reason(reason)
    if open_request(unit) is not None:
        raise Conflict("本单位已有待审核的变更上级单位申请，请等待审核结果", field="new_parent_id")
    new_parent = check_move(unit, db.session.get(Unit, new_parent_id) if new_parent_id else None)
    change = SuperiorChangeRequest(unit_id=unit.id, old_parent_id=unit.parent_id, new_parent_id=new_parent.id,
                                   reason=reason, status="pending", requested_by_id=actor.id)
    db.session.add(change)
    db.session.flush()
    instances.start_process(
        PROCESS_ID, BUSINESS_TYPE, change.id, f"变更上级单位：{unit.name}", unit.id,
        {"change_request_id": change.id, "reviewing_unit_id": new_parent.id,
         "levels": audit_chain.review_levels(new_parent.id, AUDIT_ITEM)},
        actor, columns={"applicant_name": unit.name[:30]},
    )
    audit_log.record(actor, "unit.superior_change.request",
                     f"申请将上级单位变更为「{new_parent.name}」", "superior_change_request", change.id,
                     detail={"old_parent_id": unit.parent_id, "new_parent_id": new_parent.id})
    return change


def resubmit_superior_change(actor: User, change: SuperiorChangeRequest, reason: str, note: str) -> HumanTask:
    """After 审核退回: an administrator of the unit revises the reason and sends it back to review."""
    task = correction_task(change)
    if task is None:
        raise Conflict("该申请当前不是“已退回”状态，不能修改")
    change.reason = _clean_reason(reason)
    return instances.complete_human_task(actor, task.id, {"note": note})


def move_subtree(unit: Unit, new_parent: Unit) -> int:
    """Re-hang `unit` under `new_parent`: one UPDATE rewrites the path prefix and depth of its whole subtree."""
    old_path, new_path = unit.path, f"{new_parent.path}{unit.id}/"
    shift = new_parent.depth + 1 - unit.depth
    result = db.session.execute(
        update(Unit).where(Unit.path.startswith(old_path, autoescape=True)).values(
            parent_id=case((Unit.id == unit.id, new_parent.id), else_=Unit.parent_id),
            path=literal(new_path, String) + func.substr(Unit.path, len(old_path) + 1, type_=String),
            depth=Unit.depth + shift,
        ).execution_options(synchronize_session="fetch"))
    db.session.expire(unit, ["parent"])
    return int(getattr(result, "rowcount", 0))


# --- whitelisted business operations (bpmn/unit_superior_change.bpmn) ------------------------------------------

def _pending(change_request_id: int) -> SuperiorChangeRequest:
    change = db.session.get(SuperiorChangeRequest, change_request_id)
    if change is None or change.status != "pending":
        raise Conflict(f"变更上级单位申请 {change_request_id} 不存在或已办结")
    return change


def apply_superior_change(change_request_id: int) -> dict[str, int]:
    """审核通过: move the unit and its subtree under the new superior."""
    change = _pending(change_request_id)
    unit, new_parent = change.unit, change.new_parent
    try:
        check_move(unit, new_parent)
    except ServiceError as exc:
        raise Conflict(f"变更不能生效：{exc.message}") from None
    old_name = unit.parent.name if unit.parent else ""
    moved = move_subtree(unit, new_parent)
    change.status, change.decided_at = "approved", datetime.now()
    audit_log.record(instances.current_actor.get(), "unit.superior_change",
                     f"单位「{unit.name}」的上级单位由「{old_name}」变更为「{new_parent.name}」（含下级共 {moved} 个单位）",
                     "unit", unit.id, detail={"change_request_id": change.id, "old_parent_id": change.old_parent_id,
                                              "new_parent_id": new_parent.id}, unit_id=unit.id)
    return {"unit_id": unit.id, "parent_id": new_parent.id, "moved": moved}


def reject_superior_change(change_request_id: int, opinion: str) -> None:
    """审核不通过: the unit stays where it is."""
    change = _pending(change_request_id)
    change.status, change.decided_at = "rejected", datetime.now()
    change.opinion = str(opinion or "")[:500]
    audit_log.record(instances.current_actor.get(), "unit.superior_change.reject",
                     f"变更上级单位申请未通过：「{change.unit.name}」", "superior_change_request", change.id,
                     unit_id=change.unit_id)


def load_request(actor: User, change_id: int) -> SuperiorChangeRequest:
    """A request of the actor's own unit (404 for others: ids of other units' records are not probed)."""
    change = db.session.get(SuperiorChangeRequest, change_id)
    if change is None or not access.has_permission(actor, "unit.self.edit", change.unit):
        raise NotFound("变更申请不存在")
    return change


def register_operations(registry: FunctionRegistry = WHITELIST) -> None:
    """Bind the diagram's declared operations to this module (called by the application factory)."""
    registry.register("apply_superior_change", apply_superior_change, replace=True)
    registry.register("reject_superior_change", reject_superior_change, replace=True)
