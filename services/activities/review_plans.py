"""评审方案呈报 and 呈报方案审核 (Hunan guide H 1.2.2, 1.13, 1.14, 1.23; FEATURES E6).

Rules:
- A committee's forming unit (plan.submit) adds a plan for one of the committee's published activities: 方案名称,
  正常方案 / 特殊方案, 评审时间 and 地点, 专家需求 (专业, 级别, 人数) and 打分细则 (评分项目, 分值, 说明), an attachment.
  Saving keeps it 未呈报; it can be edited until 呈报.
- 呈报 copies the 参评人员 — the activity's declarations that passed 参评资格审核 — and sends it to the committee's
  备案批复单位, which reviews it through its 多岗审核 levels (bpmn/plan_review.bpmn → unit_review). A special plan
  is its own business type (review_plan_special) and audit item, so other staff review it (H 1.14).
- 退回 returns it to the forming unit, which corrects it and 呈报 again with a 修改说明; 不通过 is final; the top
  level's pass approves it.
- 呈报方案查询 (plan.query) lists the plans of committees formed in the user's subtree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import Committee, Declaration, ReviewActivity, ReviewPlan, Unit, User
from app.models.review_plan import PLAN_KINDS
from services.authz import access, audit_chain
from services.common import audit_log, file_store
from services.common.errors import Conflict, InvalidInput, NotFound
from services.workflow import instances
from services.workflow.scripting import WHITELIST, FunctionRegistry

PROCESS_ID = "plan_review"
SUBMIT_PERMISSION = "plan.submit"
QUERY_PERMISSION = "plan.query"
REVIEW_PERMISSIONS = {"review_plan": "plan.review", "review_plan_special": "plan.review_special"}
MAX_LINES = 100
# What the plan lists show of each plan, read with the page rather than per row.
LIST_LOADS = (selectinload(ReviewPlan.committee), selectinload(ReviewPlan.activity), selectinload(ReviewPlan.unit),
              selectinload(ReviewPlan.reviewing_unit))


@dataclass(frozen=True)
class AttachmentField:
    name: str = "attachment"
    label: str = "方案附件"
    type: str = "file"
    max_size_mb: float | None = 20
    accept: tuple[str, ...] = ("pdf", "docx", "xlsx")


@dataclass(frozen=True)
class PlanInput:
    activity_id: int | None
    kind: str
    name: str
    meeting_at: datetime | None
    location: str
    description: str
    expert_needs: str  # one line each: 专业 | 级别 | 人数
    scoring_rules: str  # one line each: 评分项目 | 分值 | 说明
    attachment: tuple[str, bytes] | None = None


def _lines(raw: str, field: str, label: str, columns: int) -> list[list[str]]:
    rows = [[cell.strip() for cell in line.replace("｜", "|").split("|")]
            for line in raw.splitlines() if line.strip()]
    if len(rows) > MAX_LINES:
        raise InvalidInput(f"{label}：最多 {MAX_LINES} 行", field=field)
    for number, cells in enumerate(rows, start=1):
        if len(cells) != columns or not all(cells[:columns - 1]):
            raise InvalidInput(f"{label}：第 {number} 行应为 {columns} 项，以“|”分隔", field=field)
    return rows


def _parsed(data: PlanInput) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    needs = []
    for number, (specialty, level, count) in enumerate(_lines(data.expert_needs, "expert_needs", "专家需求", 3), 1):
        if not count.isdigit() or int(count) < 1:
            raise InvalidInput(f"专家需求：第 {number} 行的人数应为正整数", field="expert_needs")
        needs.append({"specialty": specialty[:50], "level": level[:20], "count": int(count)})
    rules = []
    for number, (item, score, note) in enumerate(_lines(data.scoring_rules, "scoring_rules", "打分细则", 3), 1):
        if not score.isdigit():
            raise InvalidInput(f"打分细则：第 {number} 行的分值应为整数", field="scoring_rules")
        rules.append({"item": item[:50], "score": int(score), "note": note[:200]})
    if not needs:
        raise InvalidInput("专家需求：至少填写一行", field="expert_needs")
    if not rules:
        raise InvalidInput("打分细则：至少填写一行", field="scoring_rules")
    return needs, rules


def plan_activities(actor: User) -> list[ReviewActivity]:
    """The published activities of the committees the actor's unit formed."""
    return list(db.session.scalars(select(ReviewActivity).join(Committee, Committee.id == ReviewActivity.committee_id)
                                   .where(Committee.forming_unit_id == actor.unit_id,
                                          ReviewActivity.status == "published").order_by(ReviewActivity.id.desc())))


def save_plan(actor: User, data: PlanInput, plan: ReviewPlan | None = None) -> ReviewPlan:
    access.require_permission(actor, SUBMIT_PERMISSION)
    if plan is not None and plan.status not in ("draft", "returned"):
        raise Conflict(f"该评审方案{plan.status_label}，不能修改")
    activity = next((a for a in plan_activities(actor) if a.id == data.activity_id), None)
    if activity is None:
        raise InvalidInput("评审活动：请选择本单位组建的评委会已发布的评审活动", field="activity_id")
    if data.kind not in PLAN_KINDS:
        raise InvalidInput("方案类型：请选择正常方案或特殊方案", field="kind")
    if not data.name.strip() or len(data.name.strip()) > 100:
        raise InvalidInput("方案名称：必填，不超过 100 个字", field="name")
    needs, rules = _parsed(data)
    committee = db.session.get(Committee, activity.committee_id)
    assert committee is not None
    plan = plan or ReviewPlan(created_by_id=actor.id, status="draft")
    plan.committee_id, plan.activity_id, plan.unit_id = committee.id, activity.id, actor.unit_id
    plan.reviewing_unit_id = committee.filing_unit_id
    plan.kind, plan.name, plan.meeting_at = data.kind, data.name.strip(), data.meeting_at
    plan.location, plan.description = data.location.strip()[:100], data.description.strip()[:5000]
    plan.expert_needs, plan.scoring_rules = needs, rules
    if data.attachment is not None:
        checked = file_store.check(AttachmentField(), *data.attachment)
        file_store.store(checked, data.attachment[1])
        plan.attachment = {"sha256": checked.sha256, "filename": checked.filename, "file_type": checked.file_type}
    db.session.add(plan)
    db.session.flush()
    audit_log.record(actor, "plan.save", f"保存评审方案：{plan.name}", "review_plan", plan.id)
    return plan


def _participants(activity_id: int) -> list[dict[str, Any]]:
    rows = db.session.scalars(select(Declaration).where(Declaration.activity_id == activity_id,
                                                        Declaration.status == "accepted").order_by(Declaration.id))
    return [{"declaration_id": d.id, "name": d.applicant.name, "unit": d.unit.name, "level": d.level.name,
             "specialty": d.specialty.name if d.specialty else ""} for d in rows]


def submit_plan(actor: User, plan: ReviewPlan, note: str = "") -> None:
    """呈报 (first time) or 重新呈报 after 退回 with a 修改说明."""
    load_own(actor, plan.id)
    plan.participants = _participants(plan.activity_id)
    if plan.status == "returned":
        task = instances.open_task_for(plan.business_type, plan.id, "unit_admin")
        if task is None:
            raise Conflict("该评审方案当前不是“已退回”状态，不能重新呈报")
        if not note.strip():
            raise InvalidInput("修改说明：必填", field="note")
        plan.status, plan.submitted_at = "pending", datetime.now()
        instances.complete_human_task(actor, task.id, {"note": note.strip()[:500]},
                                      columns={"applicant_name": plan.name[:30]})
        audit_log.record(actor, "plan.resubmit", f"评审方案修改后重新呈报：{plan.name}", "review_plan", plan.id)
        return
    if plan.status != "draft":
        raise Conflict(f"该评审方案{plan.status_label}，不能重复呈报")
    plan.status, plan.submitted_at, plan.opinion = "pending", datetime.now(), ""
    item = "review_plan_special" if plan.kind == "special" else "review_plan"
    data = {"plan_id": plan.id, "reviewing_unit_id": plan.reviewing_unit_id,
            "review_levels": audit_chain.review_levels(plan.reviewing_unit_id, item)}
    instances.start_process(PROCESS_ID, plan.business_type, plan.id, f"评审方案：{plan.name}", plan.unit_id, data,
                            actor, columns={"applicant_name": plan.name[:30], "committee_id": plan.committee_id,
                                            "activity_id": plan.activity_id})
    audit_log.record(actor, "plan.submit", f"呈报评审方案：{plan.name}（{plan.kind_label}）", "review_plan", plan.id)


def load_own(actor: User, plan_id: int) -> ReviewPlan:
    access.require_permission(actor, SUBMIT_PERMISSION)
    plan = db.session.get(ReviewPlan, plan_id)
    if plan is None or (plan.unit_id != actor.unit_id and not actor.is_platform_admin):
        raise NotFound("评审方案不存在")
    return plan


def own_statement(actor: User, keyword: str = "") -> Select[Any]:
    access.require_permission(actor, SUBMIT_PERMISSION)
    stmt = select(ReviewPlan).where(ReviewPlan.unit_id == actor.unit_id)
    if keyword:
        stmt = stmt.where(ReviewPlan.name.contains(keyword, autoescape=True))
    return stmt.options(*LIST_LOADS).order_by(ReviewPlan.id.desc())


def query_statement(actor: User, status: str = "", keyword: str = "") -> Select[Any]:
    """呈报方案查询: plans of the committees formed in the actor's subtree, or reviewed by the actor's unit."""
    access.require_permission(actor, QUERY_PERMISSION)
    stmt = select(ReviewPlan).where(ReviewPlan.status != "draft")
    if not actor.is_platform_admin:
        subtree = select(Unit.id).where(Unit.path.startswith(actor.unit.path, autoescape=True))
        stmt = stmt.where(ReviewPlan.unit_id.in_(subtree) | ReviewPlan.reviewing_unit_id.in_(subtree))
    if status:
        stmt = stmt.where(ReviewPlan.status == status)
    if keyword:
        stmt = stmt.where(ReviewPlan.name.contains(keyword, autoescape=True))
    return stmt.options(*LIST_LOADS).order_by(ReviewPlan.submitted_at.desc(), ReviewPlan.id.desc())


def load_visible(actor: User, plan_id: int) -> ReviewPlan:
    """A plan the actor may read: its own unit's, one its unit reviews, or one in its subtree (plan.query)."""
    plan = db.session.get(ReviewPlan, plan_id)
    if plan is None:
        raise NotFound("评审方案不存在")
    if actor.is_platform_admin or plan.unit_id == actor.unit_id and access.has_permission(actor, SUBMIT_PERMISSION):
        return plan
    if plan.reviewing_unit_id == actor.unit_id and access.has_permission(
            actor, REVIEW_PERMISSIONS[plan.business_type]):
        return plan
    if plan.status != "draft" and access.has_permission(actor, QUERY_PERMISSION) and (
            plan.unit.is_within(actor.unit) or plan.reviewing_unit.is_within(actor.unit)):
        return plan
    raise NotFound("评审方案不存在")


# --- operations the diagram calls -------------------------------------------------------------------------------

def _pending(plan_id: int) -> ReviewPlan:
    plan = db.session.get(ReviewPlan, int(plan_id))
    if plan is None or plan.status != "pending":
        raise Conflict(f"评审方案 {plan_id} 不存在或已办结")
    return plan


def approve_review_plan(plan_id: int, opinion: str) -> None:
    plan = _pending(plan_id)
    plan.status, plan.decided_at, plan.opinion = "approved", datetime.now(), str(opinion or "")[:500]


def return_review_plan(plan_id: int, opinion: str) -> None:
    plan = _pending(plan_id)
    plan.status, plan.opinion = "returned", str(opinion or "")[:500]


def reject_review_plan(plan_id: int, opinion: str) -> None:
    plan = _pending(plan_id)
    plan.status, plan.decided_at, plan.opinion = "rejected", datetime.now(), str(opinion or "")[:500]


def register_operations(registry: FunctionRegistry = WHITELIST) -> None:
    registry.register("approve_review_plan", approve_review_plan, replace=True)
    registry.register("return_review_plan", return_review_plan, replace=True)
    registry.register("reject_review_plan", reject_review_plan, replace=True)
