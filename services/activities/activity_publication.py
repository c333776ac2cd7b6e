"""评审活动发布审核 (manual S 1.2.4.1 提交, S 1.2.4.2; FEATURES E5).

Rules owned here:
- Submission needs a committee still 已备案 and valid, at least one 开设级别 and one 业绩成果配置 item; it runs
  bpmn/activity_publication.bpmn at the committee's 授权管理单位 through its 多岗审核 levels for 评审活动发布
  (unit_review); the activity shows 审核中.
- 退回 sends it back to the publishing unit (已退回), which corrects it and submits again; 不通过 is final;
  the top level's pass publishes it (已发布), and one marked 对外公开 then shows on the public page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, exists, select

from app.extensions import db
from app.models import HumanTask, ReviewActivity, User, WorkflowEvent
from services.activities.activities import PUBLISH_PERMISSION
from services.authz import access, audit_chain
from services.committees.committees import is_active_committee
from services.common import audit_log
from services.common.errors import Conflict, InvalidInput, NotFound
from services.org import review_lists
from services.workflow import instances
from services.workflow.scripting import WHITELIST, FunctionRegistry

PROCESS_ID = "activity_publication"
BUSINESS_TYPE = "activity_publication"
AUDIT_ITEM = "activity_publication"
REVIEW_PERMISSION = "activity_publication.review"
REVIEW_TABS = {"todo": "待审核", "pass": "审核通过", "reject": "审核不通过", "return": "审核退回"}


def _columns(activity: ReviewActivity) -> dict[str, Any]:
    levels = activity.level_codes
    return {"committee_id": activity.committee_id, "activity_id": activity.id,
            "series_code": activity.committee.series_code, "level_code": levels[0] if levels else "",
            "applicant_name": activity.unit.name[:30]}


def submission_problems(activity: ReviewActivity) -> list[str]:
    problems = []
    if not is_active_committee(activity.committee):
        problems.append(f"评委会名称：评委会「{activity.committee.name}」{activity.committee.status_label}，"
                        "只有已备案且在有效期内的评委会可以发布评审活动")
    if not activity.levels:
        problems.append("开设级别：至少选择一个级别")
    if not activity.achievements:
        problems.append("业绩成果配置：至少配置一项业绩成果")
    return problems


def _check_submittable(activity: ReviewActivity) -> None:
    problems = submission_problems(activity)
    if problems:
        raise InvalidInput(problems[0], errors={"submit": problems})


def correction_task(activity: ReviewActivity) -> HumanTask | None:
    return instances.open_task_for(BUSINESS_TYPE, activity.id, "unit_admin")


def submit_activity(actor: User, activity: ReviewActivity, note: str = "") -> ReviewActivity:
    """提交 to the 授权管理单位 (first time), or 重新提交 after 退回 with a 修改说明."""
    access.require_permission(actor, PUBLISH_PERMISSION, activity.unit)
    if activity.status == "returned":
        return _resubmit(actor, activity, note)
    if activity.status != "draft":
        raise Conflict(f"评审活动「{activity.name}」{activity.status_label}，不能重复提交")
    _check_submittable(activity)
    committee = activity.committee
    activity.status, activity.submitted_at, activity.opinion = "pending", datetime.now(), ""
    activity.reviewing_unit_id = committee.authorizing_unit_id
    data = {"activity_id": activity.id, "reviewing_unit_id": committee.authorizing_unit_id,
            "review_levels": audit_chain.review_levels(committee.authorizing_unit_id, AUDIT_ITEM)}
    instances.start_process(PROCESS_ID, BUSINESS_TYPE, activity.id, f"评审活动发布：{activity.name}",
                            activity.unit_id, data, actor, columns=_columns(activity))
    audit_log.record(actor, "activity.submit", f"评审活动「{activity.name}」提交发布审核", "review_activity",
                     activity.id)
    return activity


def _resubmit(actor: User, activity: ReviewActivity, note: str) -> ReviewActivity:
    task = correction_task(activity)
    if task is None:
        raise Conflict("该评审活动当前不是“已退回”状态，不能重新提交")
    if not str(note or "").strip():
        raise InvalidInput("修改说明：必填", field="note")
    _check_submittable(activity)
    activity.status, activity.submitted_at = "pending", datetime.now()
    instances.complete_human_task(actor, task.id, {"note": str(note).strip()[:500]}, columns=_columns(activity))
    audit_log.record(actor, "activity.resubmit", f"评审活动「{activity.name}」修改后重新提交", "review_activity",
                     activity.id)
    return activity


def trail_of(activity: ReviewActivity) -> list[WorkflowEvent]:
    """审核记录."""
    return instances.business_trail(BUSINESS_TYPE, activity.id)


# --- 评审活动发布审核 list (S 1.2.4.2) ---------------------------------------------------------------------------

@dataclass(frozen=True)
class ReviewRow:
    activity: ReviewActivity
    task_id: int | None  # the actor's open task on it (待审核 only)
    task_name: str


def review_query(actor: User, tab: str, keyword: str = "") -> Select[tuple[ReviewActivity]]:
    """The activities the actor must review (待审核) or the actor's unit has decided, scoped to that unit."""
    tasks = review_lists.reviewed_ids(actor, BUSINESS_TYPE, tab, REVIEW_PERMISSION)
    stmt = select(ReviewActivity).where(ReviewActivity.id.in_(tasks))
    if keyword:
        stmt = stmt.where(ReviewActivity.name.icontains(keyword[:50], autoescape=True))
    return stmt.order_by(ReviewActivity.id.desc())


def review_rows(actor: User, activities: list[ReviewActivity]) -> list[ReviewRow]:
    open_tasks = instances.open_tasks_of(actor, BUSINESS_TYPE, [a.id for a in activities])
    return [ReviewRow(a, *open_tasks.get(a.id, (None, ""))) for a in activities]


def review_counts(actor: User) -> dict[str, int]:
    return review_lists.tab_counts(lambda tab: review_query(actor, tab), REVIEW_TABS)


def load_activity_for_viewer(actor: User, activity_id: int) -> ReviewActivity:
    """The publishing unit's activity, or one the actor's unit reviews or reviewed; else 404."""
    activity = db.session.get(ReviewActivity, activity_id)
    if activity is None:
        raise NotFound("评审活动不存在或无权查看")
    if access.has_permission(actor, PUBLISH_PERMISSION, activity.unit):
        return activity
    if access.has_permission(actor, REVIEW_PERMISSION, activity.reviewing_unit):
        return activity
    involved = exists().where(HumanTask.business_type == BUSINESS_TYPE, HumanTask.business_id == activity.id,
                              HumanTask.unit_id == actor.unit_id)
    if access.has_permission(actor, REVIEW_PERMISSION, actor.unit) and db.session.scalar(select(involved)):
        return activity
    raise NotFound("评审活动不存在或无权查看")


# --- whitelisted business operations (bpmn/activity_publication.bpmn) ------------------------------------------

def _pending(activity_id: int) -> ReviewActivity:
    activity = db.session.get(ReviewActivity, int(activity_id))
    if activity is None or activity.status != "pending":
        raise Conflict(f"评审活动 {activity_id} 不存在或已办结")
    return activity


def publish_activity(activity_id: int) -> None:
    """The top level's 审核通过: 已发布; applicants may now declare to it (and the public see it if 对外公开)."""
    activity = _pending(activity_id)
    activity.status, activity.published_at = "published", datetime.now()
    audit_log.record(instances.current_actor.get(), "activity.published", f"评审活动「{activity.name}」已发布",
                     "review_activity", activity.id)


def return_activity(activity_id: int, opinion: str) -> None:
    """审核退回: back to the publishing unit for correction and resubmission."""
    activity = _pending(activity_id)
    activity.status, activity.opinion = "returned", str(opinion or "")[:500]


def reject_activity(activity_id: int, opinion: str) -> None:
    """审核不通过: final for this activity."""
    activity = _pending(activity_id)
    activity.status, activity.opinion = "rejected", str(opinion or "")[:500]
    audit_log.record(instances.current_actor.get(), "activity.rejected", f"评审活动「{activity.name}」审核不通过",
                     "review_activity", activity.id)


def register_operations(registry: FunctionRegistry = WHITELIST) -> None:
    registry.register("publish_activity", publish_activity, replace=True)
    registry.register("return_activity", return_activity, replace=True)
    registry.register("reject_activity", reject_activity, replace=True)

