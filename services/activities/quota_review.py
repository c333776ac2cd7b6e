"""职数申报 提交 and 职数审核 (Hunan guide H 1.5.1, 1.5.2; FEATURES F8, B1).

Rules owned here:
- 提交 sends a saved declaration to the unit's superior (上级单位, the unit's parent at submission), which reviews it
  through its 多岗审核 levels for 职数审核 (bpmn/quota_review.bpmn → unit_review); the declaration shows 审核中.
  A unit without an active superior cannot submit.
- 审核退回 sends it back to the declaring unit (已退回), which corrects it and submits again with a 修改说明;
  审核不通过 is final for that declaration (the unit may declare the year anew); the top level's 审核通过 approves
  the 申报职数 as declared (审核通过). Each decision carries the reviewer's opinion.
- The 职数审核 list shows the tasks of the actor's own unit: 待审核 (the actor's open tasks) and what the unit has
  decided (审核通过 / 审核退回 / 审核不通过), scoped through services/authz/access.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select

from app.extensions import db
from app.models import HumanTask, QuotaDeclaration, Unit, User, WorkflowEvent
from services.activities.quotas import DECLARE_PERMISSION
from services.authz import access, audit_chain
from services.common import audit_log
from services.common.errors import Conflict, InvalidInput
from services.org import review_lists
from services.workflow import instances
from services.workflow.scripting import WHITELIST, FunctionRegistry

PROCESS_ID = "quota_review"
BUSINESS_TYPE = "quota_declaration"
AUDIT_ITEM = "quota_review"
REVIEW_PERMISSION = "quota.review"
REVIEW_TABS = {"todo": "待审核", "pass": "审核通过", "return": "审核退回", "reject": "审核不通过"}


def _columns(declaration: QuotaDeclaration) -> dict[str, Any]:
    return {"applicant_name": declaration.unit.name[:30]}


def correction_task(declaration: QuotaDeclaration) -> HumanTask | None:
    return instances.open_task_for(BUSINESS_TYPE, declaration.id, "unit_admin")


def submit_declaration(actor: User, declaration: QuotaDeclaration, note: str = "") -> QuotaDeclaration:
    """提交 to the superior (first time), or 重新提交 after 退回 with a 修改说明."""
    access.require_permission(actor, DECLARE_PERMISSION, declaration.unit)
    if declaration.status == "returned":
        return _resubmit(actor, declaration, note)
    if declaration.status != "draft":
        raise Conflict(f"该职数申报{declaration.status_label}，不能重复提交")
    superior = declaration.unit.parent
    if superior is None or superior.status != "active":
        raise InvalidInput("上级单位：本单位没有可审核的上级单位，不能提交职数申报", field="submit")
    declaration.status, declaration.submitted_at, declaration.opinion = "pending", datetime.now(), ""
    declaration.reviewing_unit_id = superior.id
    data = {"declaration_id": declaration.id, "reviewing_unit_id": superior.id,
            "review_levels": audit_chain.review_levels(superior.id, AUDIT_ITEM)}
    instances.start_process(PROCESS_ID, BUSINESS_TYPE, declaration.id,
                            f"职数申报：{declaration.unit.name} {declaration.year} 年度", declaration.unit_id, data,
                            actor, columns=_columns(declaration))
    audit_log.record(actor, "quota.submit", f"{declaration.year} 年度职数申报提交职数审核", "quota_declaration",
                     declaration.id)
    return declaration


def _resubmit(actor: User, declaration: QuotaDeclaration, note: str) -> QuotaDeclaration:
    task = correction_task(declaration)
    if task is None:
        raise Conflict("该职数申报当前不是“已退回”状态，不能重新提交")
    if not str(note or "").strip():
        raise InvalidInput("修改说明：必填", field="change_note")
    declaration.status, declaration.submitted_at = "pending", datetime.now()
    instances.complete_human_task(actor, task.id, {"note": str(note).strip()[:500]}, columns=_columns(declaration))
    audit_log.record(actor, "quota.resubmit", f"{declaration.year} 年度职数申报修改后重新提交", "quota_declaration",
                     declaration.id)
    return declaration


def trail_of(declaration: QuotaDeclaration) -> list[WorkflowEvent]:
    """审核记录."""
    return instances.business_trail(BUSINESS_TYPE, declaration.id)


# --- 职数审核 list (H 1.5.2) ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ReviewRow:
    declaration: QuotaDeclaration
    task_id: int | None  # the actor's open task on it (待审核 only)
    task_name: str


def review_query(actor: User, tab: str, year: int | None = None,
                 unit_name: str = "") -> Select[tuple[QuotaDeclaration]]:
    """The declarations the actor must review (待审核) or the actor's unit has decided, scoped to that unit."""
    tasks = review_lists.reviewed_ids(actor, BUSINESS_TYPE, tab, REVIEW_PERMISSION)
    stmt = select(QuotaDeclaration).where(QuotaDeclaration.id.in_(tasks))
    if year:
        stmt = stmt.where(QuotaDeclaration.year == year)
    if unit_name:
        stmt = stmt.where(QuotaDeclaration.unit.has(Unit.name.contains(unit_name[:50], autoescape=True)))
    return stmt.order_by(QuotaDeclaration.submitted_at.desc(), QuotaDeclaration.id.desc())


def review_rows(actor: User, declarations: list[QuotaDeclaration]) -> list[ReviewRow]:
    open_tasks = instances.open_tasks_of(actor, BUSINESS_TYPE, [d.id for d in declarations])
    return [ReviewRow(d, *open_tasks.get(d.id, (None, ""))) for d in declarations]


def review_counts(actor: User) -> dict[str, int]:
    return review_lists.tab_counts(lambda tab: review_query(actor, tab), REVIEW_TABS)


# --- whitelisted business operations (bpmn/quota_review.bpmn) -------------------------------------------------

def _pending(declaration_id: int) -> QuotaDeclaration:
    declaration = db.session.get(QuotaDeclaration, int(declaration_id))
    if declaration is None or declaration.status != "pending":
        raise Conflict(f"职数申报 {declaration_id} 不存在或已办结")
    return declaration


def approve_quota_declaration(declaration_id: int, opinion: str) -> None:
    """The top level's 审核通过: the 申报职数 are approved as declared."""
    declaration = _pending(declaration_id)
    declaration.status, declaration.decided_at = "approved", datetime.now()
    declaration.opinion = str(opinion or "")[:500]
    audit_log.record(instances.current_actor.get(), "quota.approved",
                     f"{declaration.unit.name} {declaration.year} 年度职数申报审核通过", "quota_declaration",
                     declaration.id)


def return_quota_declaration(declaration_id: int, opinion: str) -> None:
    """审核退回: back to the declaring unit for correction and resubmission."""
    declaration = _pending(declaration_id)
    declaration.status, declaration.opinion = "returned", str(opinion or "")[:500]


def reject_quota_declaration(declaration_id: int, opinion: str) -> None:
    """审核不通过: final for this declaration."""
    declaration = _pending(declaration_id)
    declaration.status, declaration.decided_at = "rejected", datetime.now()
    declaration.opinion = str(opinion or "")[:500]
    audit_log.record(instances.current_actor.get(), "quota.rejected",
                     f"{declaration.unit.name} {declaration.year} 年度职数申报审核不通过", "quota_declaration",
                     declaration.id)


def register_operations(registry: FunctionRegistry = WHITELIST) -> None:
    registry.register("approve_quota_declaration", approve_quota_declaration, replace=True)
    registry.register("return_quota_declaration", return_quota_declaration, replace=True)
    registry.register("reject_quota_declaration", reject_quota_declaration, replace=True)
