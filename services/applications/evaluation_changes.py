"""评审人员统计 (manual S 1.2.3.4; FEATURES F5): a unit that passed a declaration up corrects its 申报层级 and 评价方式.

Rules owned here:
- Only a unit that 审核通过 the declaration up (services.applications.application_queries.passed_declarations) may change it.
- Only while it is still in review (审核中 or 已退回): after 资格审核通过 or 审核不通过 it is settled.
- 申报层级 is one of the activity's 开设级别 that the reviewing committee evaluates; 评价方式 is 正常申报 or 破格申报,
  the latter only when the activity holds 破格评议 and with one of its 破格条件 for that level.
- Every change is on the audit log with the old and the new values.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.extensions import db
from app.models import ActivityExceptionalCondition, Declaration, TitleLevel, User
from app.models.declaration import EVALUATION_METHOD_LABELS
from services.applications.application_review import BUSINESS_TYPE
from services.applications.declarations import METHOD_BY_GRADE
from services.common import audit_log
from services.common.errors import Conflict, InvalidInput
from services.workflow import instances

CHANGEABLE_STATUSES = ("reviewing", "returned")


@dataclass(frozen=True)
class EvaluationChange:
    level_code: str
    evaluation_method: str
    exceptional_condition_id: int | None = None


def level_choices(declaration: Declaration) -> list[tuple[str, str]]:
    committee_levels = set(declaration.committee.level_codes)
    return [(link.level_code, link.level.name) for link in declaration.activity.levels
            if link.level_code in committee_levels]


def condition_choices(declaration: Declaration) -> list[ActivityExceptionalCondition]:
    return list(declaration.activity.exceptional_conditions) if declaration.activity.exceptional_review else []


def change_evaluation(actor: User, declaration: Declaration, change: EvaluationChange) -> Declaration:
    """修改 the 申报层级 and 评价方式 of a declaration the actor's unit passed up; nothing is written when refused."""
    if declaration.status not in CHANGEABLE_STATUSES:
        raise Conflict(f"该申报{declaration.status_label}，不能再修改申报层级和评价方式")
    if change.level_code not in dict(level_choices(declaration)):
        raise InvalidInput("申报层级：请选择本次评审活动开设且评委会可评审的级别", field="level_code")
    if change.evaluation_method not in EVALUATION_METHOD_LABELS:
        raise InvalidInput("评价方式：请选择正常申报或破格申报", field="evaluation_method")
    condition_id = None
    if change.evaluation_method == "exceptional":
        if not declaration.activity.exceptional_review:
            raise InvalidInput("评价方式：本次评审活动不进行破格评议", field="evaluation_method")
        condition = db.session.get(ActivityExceptionalCondition, change.exceptional_condition_id or 0)
        if condition is None or condition.activity_id != declaration.activity_id or (
                condition.level_code not in (None, change.level_code)):
            raise InvalidInput("破格条件：请选择本次评审活动该级别的破格条件", field="exceptional_condition_id")
        condition_id = condition.id
    before = {"level": declaration.level.name, "method": declaration.evaluation_method_label}
    declaration.level_code, declaration.evaluation_method = change.level_code, change.evaluation_method
    declaration.exceptional_condition_id = condition_id
    level = db.session.get(TitleLevel, change.level_code)
    if level is not None:  # the committee method follows the level's grade (初评会 / 中评会 / 高评会)
        declaration.method_code = METHOD_BY_GRADE.get(level.grade, declaration.method_code)
    instances.update_open_task_columns(BUSINESS_TYPE, declaration.id, {"level_code": change.level_code})
    after = {"level": level.name if level else change.level_code,
             "method": EVALUATION_METHOD_LABELS[change.evaluation_method]}
    db.session.flush()
    audit_log.record(actor, "declaration.change_evaluation",
                     f"修改 {declaration.applicant.name} 的申报层级和评价方式："
                     f"{before['level']}·{before['method']} → {after['level']}·{after['method']}",
                     "declaration", declaration.id, detail={"before": before, "after": after})
    return declaration
