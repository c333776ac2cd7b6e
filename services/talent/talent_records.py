"""专技人才审核 (S 1.2.13.1; L1): the individual's talent record, its review up their units, the unit's lists.

Rules:
- One record per person. 提交 copies from the profile what the statistics count (gender, ethnic minority, party
  member, current title level, highest education); the person adds the 统计类别, whether they hold only a
  professional qualification certificate (then no title level counts) and whether they are 港澳台及外籍人士.
- Review: services.talent.individual_review (通过 up the path, 退回 to the person with the reason, 不通过 ends).
- A unit's 专技人才审核 list shows the records that are or were at the unit (its path contains it), scoped by
  talent.review (scope unit).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import Applicant, HumanTask, TalentRecord, Unit, User
from app.models.talent import TALENT_CATEGORIES
from services import notifications
from services.authz import access
from services.common import audit_log
from services.common.errors import Conflict, InvalidInput, NotFound
from services.org.registration import complete_applicant_task
from services.talent import individual_review
from services.workflow import instances
from services.workflow.scripting import WHITELIST, FunctionRegistry

PROCESS_ID = "talent_review"
BUSINESS_TYPE = "talent_record"
AUDIT_ITEM = "talent_review"
REVIEW_PERMISSION = "talent.review"
MINORITY_EXCLUDES = ("汉族", "")
PARTY = ("中共党员", "中共预备党员")


@dataclass(frozen=True)
class TalentInput:
    category: str
    qualification_only: bool
    qualification_name: str
    overseas: bool


def highest_education(applicant: Applicant) -> str:
    """博士 / 硕士 / 大学本科 / 其他, by degree or 学历, the highest the person holds."""
    held = {e.education for e in applicant.educations} | {e.degree for e in applicant.educations}
    if held & {"博士研究生", "博士"}:
        return "博士"
    if held & {"硕士研究生", "硕士"}:
        return "硕士"
    return "大学本科" if "大学本科" in held else "其他"


def _fill(record: TalentRecord, applicant: Applicant, data: TalentInput) -> None:
    if data.category not in TALENT_CATEGORIES:
        raise InvalidInput("统计类别：请选择" + "、".join(TALENT_CATEGORIES) + "之一", field="category")
    if data.qualification_only and not data.qualification_name.strip():
        raise InvalidInput("职业资格证书名称：只具有职业资格证书人员必填", field="qualification_name")
    record.category, record.overseas = data.category, data.overseas
    record.qualification_only = data.qualification_only
    record.qualification_name = data.qualification_name.strip()[:50] if data.qualification_only else ""
    record.name, record.unit_id = applicant.name, applicant.unit_id
    record.female = applicant.gender == "女"
    record.ethnic_minority = (applicant.ethnicity or "") not in MINORITY_EXCLUDES
    record.party_member = (applicant.political_status or "") in PARTY
    record.title_level_code = None if data.qualification_only or applicant.title is None else applicant.title.level_code
    record.education = highest_education(applicant)


def record_of(applicant: Applicant) -> TalentRecord | None:
    return db.session.scalar(select(TalentRecord).where(TalentRecord.applicant_id == applicant.id))


def submit_record(applicant: Applicant, data: TalentInput) -> TalentRecord:
    """提交 (first time) or 修改后重新提交 after 退回."""
    record = record_of(applicant)
    if record is not None and record.status != "returned":
        raise Conflict(f"您的专技人才信息{record.status_label}，不能重复提交")
    resubmit = record is not None
    record = record or TalentRecord(applicant_id=applicant.id)
    _fill(record, applicant, data)
    record.submitted_at = datetime.now()
    if resubmit:
        individual_review.restart(record)
        task = instances.open_task_for(BUSINESS_TYPE, record.id, "applicant")
        if task is None:
            raise Conflict("该记录当前不是“已退回”状态，不能重新提交")
        complete_applicant_task(task.id, {"note": "已修改"}, applicant.name)
    else:
        individual_review.start(record, applicant.unit)
        db.session.add(record)
        db.session.flush()
        instances.start_process(PROCESS_ID, BUSINESS_TYPE, record.id, f"专技人才审核：{applicant.name}",
                                applicant.unit_id, {"record_id": record.id}, None,
                                columns={"applicant_name": applicant.name})
    entry = audit_log.record(None, "talent.submit", f"申报人 {applicant.name} 提交专技人才信息", "talent_record",
                             record.id, unit_id=applicant.unit_id)
    entry.actor_name = f"申报人 {applicant.name}"[:30]
    return record


# --- operations the diagram calls -------------------------------------------------------------------------------

def route_talent_record(record_id: int) -> dict[str, Any]:
    return individual_review.route(individual_review.loaded(TalentRecord, record_id), AUDIT_ITEM)


def pass_talent_record(record_id: int, opinion: str = "") -> str:
    return individual_review.passed(individual_review.loaded(TalentRecord, record_id), opinion)


def return_talent_record(record_id: int, opinion: str = "") -> None:
    record = individual_review.loaded(TalentRecord, record_id)
    individual_review.returned(record, opinion)
    notifications.notify("application_returned", [notifications.applicant_recipient(record.applicant_id)],
                         "您的专技人才信息已被退回", f"退回意见：{opinion or '（无）'}。请修改后重新提交。",
                         ("talent_record", record.id))


def reject_talent_record(record_id: int, opinion: str = "") -> None:
    individual_review.rejected(individual_review.loaded(TalentRecord, record_id), opinion)


def register_operations(registry: FunctionRegistry = WHITELIST) -> None:
    registry.register("route_talent_record", route_talent_record, replace=True)
    registry.register("pass_talent_record", pass_talent_record, replace=True)
    registry.register("return_talent_record", return_talent_record, replace=True)
    registry.register("reject_talent_record", reject_talent_record, replace=True)


# --- the unit's side --------------------------------------------------------------------------------------------

REVIEW_TABS = {"reviewing": "待审核", "approved": "审核通过", "returned": "已退回", "rejected": "不通过"}


def review_statement(actor: User, tab: str, keyword: str = "") -> Select[Any]:
    """Records at the actor's unit now (待审核) or that passed through it, by status."""
    access.require_permission(actor, REVIEW_PERMISSION)
    stmt = select(TalentRecord)
    if tab == "reviewing":
        stmt = stmt.where(TalentRecord.status == "reviewing", TalentRecord.current_unit_id == actor.unit_id)
    else:
        # The path runs up from the person's unit, so the records that reached this unit are those of its subtree.
        reached = TalentRecord.unit_id.in_(select(Unit.id).where(Unit.path.startswith(actor.unit.path,
                                                                                     autoescape=True)))
        stmt = stmt.where(TalentRecord.status == (tab if tab in REVIEW_TABS else "approved"), reached)
    if keyword:
        stmt = stmt.where(TalentRecord.name.contains(keyword, autoescape=True))
    # The list shows each record's unit: read with the page, not per row.
    return stmt.options(selectinload(TalentRecord.unit)).order_by(TalentRecord.submitted_at.desc(),
                                                                  TalentRecord.id.desc())


def load_for_unit(actor: User, record_id: int) -> TalentRecord:
    access.require_permission(actor, REVIEW_PERMISSION)
    record = db.session.get(TalentRecord, record_id)
    if record is None or (actor.unit_id not in record.path and not actor.is_platform_admin):
        raise NotFound("专技人才记录不存在")
    return record


def open_task_for(actor: User, record: TalentRecord) -> HumanTask | None:
    task = instances.open_task_for(BUSINESS_TYPE, record.id, "unit_reviewer")
    return task if task is not None and instances.is_candidate(task, actor) else None
