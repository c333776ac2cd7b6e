"""申报材料审核: a declaration climbing its path (manual S 1.2.3.1–1.2.3.2, 1.2.5.1; FEATURES B5–B7, F2, G1).

bpmn/application_review.bpmn drives it; this module owns the rules and the business data:
- The path (申报单位 → 主管部门 → 人社部门 … → 评委会) is resolved at submission (services/applications/declarations.py) and
  kept on the declaration. Each unit reviews with its 多岗审核 levels for 申报材料审核 (the reusable unit_review);
  at the committee its forming unit's staff holding 参评资格审核 decide (post committee_reviewer).
- 审核通过 at the 申报单位 (本单位人员审核) needs 公示证明附件 and 单位综合推荐意见 (事业单位岗位情况表 optional) and
  the unit's own publicity of at least the configured working days, finished (B6, F2, RULES.md "Publicity").
- After the activity's 评委会接收申报截止时间 no unit may pass a declaration up; the committee still decides on
  those it received.
- 审核退回 goes to a chosen earlier node: a unit below on the path or the applicant. After correction it comes
  back to the unit that returned it (the declaration keeps a stack of the units waiting for it).
- 审核不通过 ends the declaration for the year.
- A 主管部门 / 人社部门 passing it may delegate it (委托评审, B7) to another committee with a 委托评审函; the path
  then ends at that committee and the delegating unit is kept for the certificates.
The instance keeps only routing facts (declaration id, the reviewing unit, its levels); everything else is here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import bindparam, exists, insert, inspect, select
from sqlalchemy.orm import defaultload, lazyload

from app.extensions import db, loaded_from_row, transaction_memo, write_columns
from app.models import (
    Applicant,
    Committee,
    Declaration,
    DeclarationStep,
    HumanTask,
    ReviewActivity,
    User,
    WorkflowEvent,
)
from app.models.declaration import RETURN_TO_APPLICANT
from services import notifications
from services.applications.review_paths import ROLE_COMMITTEE, ROLE_COMPETENT, ROLE_DECLARING, ROLE_HR
from services.authz import audit_chain
from services.committees.committees import is_active_committee
from services.common import audit_log, file_store
from services.common.errors import Conflict, Forbidden, InvalidInput, NotFound
from services.reference import workdays
from services.workflow import diagrams, inbox, instances
from services.workflow.forms import FieldDefinition
from services.workflow.scripting import WHITELIST, FunctionRegistry

PROCESS_ID = "application_review"
BUSINESS_TYPE = "application_review"
AUDIT_ITEM = "application_review"
REVIEW_PERMISSION = "application.review"
QUALIFY_PERMISSION = "application.qualify"
DECISIONS = {"pass": "审核通过", "return": "审核退回", "reject": "审核不通过"}
DELEGATING_ROLES = (ROLE_COMPETENT, ROLE_HR)

# 本单位人员审核's attachments (S 1.2.3.1 图 2.3.5) and the 委托评审函 (S 1.2.3.2 图 2.3.7): label, required at a
# pass by the 申报单位.
ATTACHMENTS = {
    "publicity_proof": ("公示证明附件", True),
    "recommendation": ("单位综合推荐意见", True),
    "post_table": ("事业单位岗位情况表", False),
    "delegation_letter": ("委托评审函", False),
}
ATTACHMENT_TYPES = ("pdf", "jpg", "png")
ATTACHMENT_MAX_MB = 20


def attachment_field(kind: str) -> FieldDefinition:
    label, _required = ATTACHMENTS[kind]
    return FieldDefinition(kind, label, "file", max_size_mb=ATTACHMENT_MAX_MB, accept=ATTACHMENT_TYPES)


# --- reading ------------------------------------------------------------------------------------------------

# Statements every review step runs, built once: building an ORM select with its loader options and computing its
# cache key cost more than running it (a built statement keeps its cache key).
_LATEST_ARRIVALS = (select(DeclarationStep).where(DeclarationStep.declaration_id == bindparam("declaration_id"),
                                                  DeclarationStep.latest.is_(True))
                    .order_by(DeclarationStep.id))


def latest_arrivals(declaration: Declaration) -> dict[int, DeclarationStep]:
    """Path index → the declaration's latest arrival there (the pending one at its current step among them), in
    one statement, remembered for the transaction: a review reads the current arrival, its pass reads it again
    and routing reads the next unit's earlier arrival. Routing keeps the memo current (route_declaration)."""
    memo = transaction_memo("declaration_arrivals")
    arrivals = memo.get(declaration.id)
    if arrivals is None:
        # Without autoflush: arrivals are written through Core (route_declaration, _decide), so none waits in the
        # session, and the declaration's pending changes go in routing's one UPDATE instead of a flush here.
        with db.session.no_autoflush:
            arrivals = {row.step: row for row in db.session.scalars(_LATEST_ARRIVALS,
                                                                    {"declaration_id": declaration.id})}
        transaction_memo("declaration_arrivals")[declaration.id] = arrivals
    return arrivals


def latest_arrivals_known(declaration: Declaration, arrivals: dict[int, DeclarationStep]) -> None:
    """The caller knows the declaration's latest arrivals (none, before its first submission)."""
    transaction_memo("declaration_arrivals")[declaration.id] = arrivals


def current_row(declaration: Declaration) -> DeclarationStep | None:
    """The pending arrival of the declaration at the unit it stands at (a pending arrival is its step's latest)."""
    row = latest_arrivals(declaration).get(declaration.step)
    return row if row is not None and row.status == "pending" else None


def step_unit_id(declaration: Declaration, index: int) -> int:
    entry = declaration.path[index]
    if "committee_id" in entry:
        # The one column: a Committee loads its series with every title of it, its levels and specialties.
        with db.session.no_autoflush:  # the caller's pending changes go in its own flush (one UPDATE, not two)
            forming_unit_id = db.session.scalar(select(Committee.forming_unit_id)
                                                .where(Committee.id == int(entry["committee_id"])))
        if forming_unit_id is None:
            raise Conflict(f"申报 {declaration.id} 的评委会不存在")
        return forming_unit_id
    return int(entry["unit_id"])


def return_targets(declaration: Declaration) -> list[tuple[str, str]]:
    """Where a 退回 from the current step may go: the applicant, or a unit below on the path (S 1.2.3.2 图 2.3.8)."""
    targets = [(RETURN_TO_APPLICANT, f"申报人（{declaration.applicant.name}）")]
    for index in range(declaration.step):
        entry = declaration.path[index]
        targets.append((str(index), f"{entry['role']}：{entry['name']}"))
    return targets


def _receive_deadline(declaration: Declaration) -> datetime:
    """The activity's 评委会接收申报截止时间: from the activity when the declaration has it loaded, else that one
    column (read with the declaration by load_for_unit; remembered for the transaction). Loading the whole
    ReviewActivity just for it brings its committee, the committee's series with every title of the series, and
    all the activity's configuration lists (≈6 ms, on every pass)."""
    if "activity" not in inspect(declaration).unloaded:
        return declaration.activity.committee_receive_deadline
    deadline = transaction_memo("receive_deadlines").get(declaration.activity_id)
    if deadline is None:
        deadline = db.session.scalar(select(ReviewActivity.committee_receive_deadline)
                                     .where(ReviewActivity.id == declaration.activity_id))
        if deadline is None:
            raise NotFound("评审活动不存在")
        transaction_memo("receive_deadlines")[declaration.activity_id] = deadline
    return deadline


def deadline_passed(declaration: Declaration, now: datetime | None = None) -> bool:
    return (now or datetime.now()) > _receive_deadline(declaration)


def deadline_message(declaration: Declaration) -> str:
    return (f"评委会接收申报截止时间（{_receive_deadline(declaration):%Y-%m-%d %H:%M}）已过，"
            "不能再审核通过上报")


def publicity_errors(row: DeclarationStep, today: date, start: date | None = None, end: date | None = None,
                     attachments: Mapping[str, Any] | None = None) -> dict[str, list[str]]:
    """What stops the 申报单位 passing it (B6, F2), by field: its publicity and its two required attachments — as
    stored on `row`, or as they would be with the given values. Every problem at once, beside its field."""
    start = start or row.publicity_start
    end = end or row.publicity_end
    attachments = row.attachments if attachments is None else attachments
    errors: dict[str, list[str]] = {}
    calendar = workdays.calendar()
    if start is None or end is None:
        errors["publicity_start"] = ["公示时间：请填写本单位申报公示的开始和结束日期"]
    elif end < start:
        errors["publicity_end"] = ["公示时间：结束日期不能早于开始日期"]
    else:
        days = calendar.working_days_between(start, end)
        if days < calendar.publicity_working_days:
            errors["publicity_end"] = [f"公示时间：公示不少于 {calendar.publicity_working_days} 个工作日，"
                                       f"{start:%Y-%m-%d} 至 {end:%Y-%m-%d} 只有 {days} 个工作日"]
        elif end >= today:
            errors["publicity_end"] = [f"公示时间：公示期至 {end:%Y-%m-%d} 结束，公示期满后才能推荐上报"]
    for kind, (label, required) in ATTACHMENTS.items():
        if required and not attachments.get(kind):
            errors[kind] = [f"{label}：必传"]
    return errors


def publicity_problems(row: DeclarationStep, today: date, start: date | None = None, end: date | None = None,
                       attachments: Mapping[str, Any] | None = None) -> list[str]:
    """publicity_errors as one list of messages, in the form's order."""
    return [m for messages in publicity_errors(row, today, start, end, attachments).values() for m in messages]


def decided_steps(declaration: Declaration) -> list[DeclarationStep]:
    """Every unit's decided arrivals, oldest first: what a higher reviewer checks (the school's 公示 and files)."""
    return [step for step in declaration.steps if step.status != "pending"]


def return_behind(declaration: Declaration, row: DeclarationStep | None) -> DeclarationStep | None:
    """The 退回 that brought the declaration back to `row`'s unit (复审 or 上级单位退回重审), else None."""
    if row is None or row.arrival == "first":
        return None
    returns = [step for step in declaration.steps if step.status == "returned" and step.decided_at is not None
               and step.decided_at <= row.arrived_at]
    return returns[-1] if returns else None


def arrival_column(declaration_id: Any) -> Any:
    """Why the declaration stands where it is now (first / recheck / returned) as a correlated scalar subquery on
    `declaration_id`: the 待办 list reads it in its own statement (services.workflow.inbox.register_mark)."""
    return (select(DeclarationStep.arrival).where(DeclarationStep.declaration_id == declaration_id,
                                                  DeclarationStep.status == "pending")
            .limit(1).scalar_subquery())


inbox.register_mark(BUSINESS_TYPE, arrival_column)


def diagram_of(declaration: Declaration) -> tuple[str, str]:
    """The declaration's process diagram (BPMN XML) and the element to mark where it stands ("" once finished)."""
    instance = instances.instance_for(BUSINESS_TYPE, declaration.id)
    if instance is None:
        raise NotFound("该申报尚未进入审核流程")
    open_task = db.session.scalar(select(HumanTask.bpmn_id).where(
        HumanTask.instance_id == instance.id, HumanTask.status == "open").limit(1))
    mark = diagrams.current_element(instance.definition, open_task).element_id if open_task else ""
    return instance.definition.xml, mark


LEVEL_NUMERALS = "一二三四五六七八九十"


def trail_step_names(declaration: Declaration, trail: list[WorkflowEvent]) -> dict[int, str]:
    """Event id → the step in words (申报单位第一级审核, 主管部门审核, 人社部门第二级审核, 评委会参评资格审核) for the
    查看经办流程 of a declaration, where the diagram's task says only 单位审核. One query for the trail's tasks."""
    task_ids = [e.human_task_id for e in trail if e.human_task_id]
    if not task_ids:
        return {}
    tasks = {row.id: row for row in db.session.execute(
        select(HumanTask.id, HumanTask.post, HumanTask.level_no, HumanTask.unit_id).where(HumanTask.id.in_(task_ids)))}
    roles: dict[int, str] = {}
    for entry in declaration.path:
        if "unit_id" in entry:
            roles.setdefault(int(entry["unit_id"]), entry["role"])
    for step in declaration.steps:
        roles.setdefault(step.unit_id, step.role)
    levels_per_unit: dict[int, int] = {}
    for row in tasks.values():
        if row.unit_id is not None and row.level_no:
            levels_per_unit[row.unit_id] = max(levels_per_unit.get(row.unit_id, 0), row.level_no)
    names: dict[int, str] = {}
    for event in trail:
        task = tasks.get(event.human_task_id) if event.human_task_id else None
        if task is None or task.post == "applicant":
            continue
        if task.post == "committee_reviewer":
            names[event.id] = f"{ROLE_COMMITTEE}参评资格审核"
            continue
        role = roles.get(task.unit_id or 0, "单位")
        level = task.level_no or 0
        several = levels_per_unit.get(task.unit_id or 0, 0) > 1 or level > 1
        numeral = LEVEL_NUMERALS[level - 1] if 0 < level <= len(LEVEL_NUMERALS) else str(level)
        names[event.id] = f"{role}第{numeral}级审核" if several else f"{role}审核"
    return names


# --- review actions from the unit pages ---------------------------------------------------------------------

@dataclass(frozen=True)
class ReviewInput:
    decision: str
    opinion: str
    return_to: str = ""
    publicity_start: date | None = None
    publicity_end: date | None = None
    delegate_committee_id: int | None = None
    uploads: Mapping[str, tuple[file_store.StoredFile, bytes]] | None = None  # kind → checked upload


def _task_of(actor: User, declaration: Declaration, task_id: int, lock: bool = False) -> HumanTask:
    task = instances.lock_task(actor, task_id) if lock else instances.task_to_complete(actor, task_id)
    if task.business_type != BUSINESS_TYPE or task.business_id != declaration.id:
        raise NotFound("待办不存在或不属于该申报")
    return task


def _check_delegation(declaration: Declaration, row: DeclarationStep, committee_id: int) -> Committee:
    if row.role not in DELEGATING_ROLES:
        raise InvalidInput("委托评审：只有主管部门或人社部门可以委托评审", field="delegate_committee_id")
    committee = db.session.get(Committee, committee_id)
    if committee is None or not is_active_committee(committee):
        raise InvalidInput("委托评委会：请选择已备案且在有效期内的评委会", field="delegate_committee_id")
    if committee.id == declaration.committee_id:
        raise InvalidInput("委托评委会：不能委托给原评委会", field="delegate_committee_id")
    if committee.series_code != declaration.series_code or declaration.level_code not in committee.level_codes:
        raise InvalidInput(f"委托评委会：{committee.name} 不能评审该申报的系列和层级", field="delegate_committee_id")
    return committee


def delegation_committees(declaration: Declaration) -> list[Committee]:
    """Committees a 主管部门 / 人社部门 may delegate this declaration to."""
    rows = db.session.scalars(select(Committee).where(
        Committee.status == "filed", Committee.series_code == declaration.series_code,
        Committee.id != declaration.committee_id).order_by(Committee.id))
    return [c for c in rows if is_active_committee(c) and declaration.level_code in c.level_codes]


def review(actor: User, declaration: Declaration, task_id: int, data: ReviewInput,
           now: datetime | None = None) -> HumanTask:
    """One reviewer's 审核通过 / 审核退回 / 审核不通过 on the declaration's open task, with what the page adds:
    公示 dates and attachments (本单位人员审核), the 退回 target, a 委托评审. Writes nothing when refused."""
    now = now or datetime.now()
    task = _task_of(actor, declaration, task_id, lock=True)  # the instance locked now: completing needs no re-read
    row = current_row(declaration)
    if row is None:
        raise Conflict("该申报当前不在审核中，请刷新后查看")
    if data.decision not in DECISIONS:
        raise InvalidInput("审核结果：请选择审核通过、审核退回或审核不通过", field="decision")
    # The attachments go with a pass (公示证明附件 … 委托评审函); a 退回 or 不通过 keeps none of them.
    uploads = dict(data.uploads or {}) if data.decision == "pass" else {}
    # Files kept from a refused earlier try (keep_pending_uploads) count as chosen again, unless replaced.
    pending = {k: v for k, v in (row.pending_attachments or {}).items() if k != "delegation_letter"} \
        if data.decision == "pass" else {}
    attachments = {**row.attachments, **pending,
                   **{kind: _file_record(checked) for kind, (checked, _) in uploads.items()}}
    start, end = row.publicity_start, row.publicity_end
    if row.step == 0 and not declaration.at_committee:
        start, end = data.publicity_start or start, data.publicity_end or end
    elif data.publicity_start or data.publicity_end:
        raise InvalidInput("公示时间：只有申报单位填写本单位申报公示", field="publicity_start")
    return_to = ""
    if data.decision == "pass":
        if not declaration.at_committee and deadline_passed(declaration, now):
            raise Conflict(deadline_message(declaration))
        if data.delegate_committee_id:
            _check_delegation(declaration, row, data.delegate_committee_id)
            if not attachments.get("delegation_letter"):
                raise InvalidInput("委托评审函：委托评审时必须上传委托评审函", field="delegation_letter")
        elif "delegation_letter" in uploads:
            raise InvalidInput("委托评审函：未选择委托评委会，不需上传委托评审函", field="delegation_letter")
        if row.step == 0 and not declaration.at_committee:
            errors = publicity_errors(row, now.date(), start, end, attachments)
            if not data.opinion:
                errors["opinion"] = ["审核意见：必填"]
            if errors:
                messages = [m for field_messages in errors.values() for m in field_messages]
                raise InvalidInput(messages[0] if len(messages) == 1 else f"{messages[0]}（共 {len(messages)} 处需修改）",
                                   errors=errors)
    elif data.decision == "return":
        return_to = data.return_to or RETURN_TO_APPLICANT
        if return_to not in dict(return_targets(declaration)):
            raise InvalidInput("退回至：请选择审核路径上的下级单位或申报人", field="return_to")
    # Every rule held: record what the page added, then complete the task (which may still refuse: rollback).
    recorded = {"publicity_start": start, "publicity_end": end, "attachments": attachments, "pending_attachments": {}}
    for name, value in recorded.items():
        if getattr(row, name) != value:  # an unchanged row stays clean: no flush work for it on a plain pass
            setattr(row, name, value)
    if data.decision == "pass" and data.delegate_committee_id:
        row.delegate_committee_id = data.delegate_committee_id
    columns = {"committee_id": data.delegate_committee_id} if data.decision == "pass" and data.delegate_committee_id \
        else None  # the inbox's 评委会 column follows a 委托评审
    done = instances.complete_checked_task(
        actor, task, {"decision": data.decision, "opinion": data.opinion, "return_to": return_to}, columns)
    for checked, content in uploads.values():
        file_store.store(checked, content)
    return done


def complete_posted(actor: User, task: HumanTask, form_data: Mapping[str, Any]) -> HumanTask:
    """A review task posted through the inbox (its task form or 批量办理): the same review() as the 审核 page, with
    the publicity and attachments already stored on the declaration's arrival (a batch brings none of its own).
    The applicant's 修改 task is not a review: it completes as its form says."""
    if task.post == "applicant":
        return instances.complete_checked_task(actor, task, form_data)
    declaration = db.session.get(Declaration, task.business_id)
    if declaration is None:
        raise NotFound("申报不存在")
    data = ReviewInput(decision=str(form_data.get("decision") or ""),
                       opinion=str(form_data.get("opinion") or "").strip(),
                       return_to=str(form_data.get("return_to") or "").strip())
    return review(actor, declaration, task.id, data)


def keep_pending_uploads(actor: User, declaration: Declaration, task_id: int,
                         uploads: Mapping[str, tuple[file_store.StoredFile, bytes]]) -> None:
    """After a refused 审核通过, keep the files the reviewer chose (already checked by size and real type) on the
    arrival as pending, so the next try need not choose them again. Only the task's own candidate may."""
    _task_of(actor, declaration, task_id)
    row = current_row(declaration)
    if row is None or not uploads:
        return
    row.pending_attachments = {**(row.pending_attachments or {}),
                               **{kind: _file_record(checked) for kind, (checked, _) in uploads.items()}}
    for checked, content in uploads.values():
        file_store.store(checked, content)


def _file_record(checked: file_store.StoredFile) -> dict[str, Any]:
    return {"sha256": checked.sha256, "filename": checked.filename, "size": checked.size,
            "file_type": checked.file_type}


# --- whitelisted business operations (bpmn/application_review.bpmn) ----------------------------------------

def _reviewing(declaration_id: int) -> Declaration:
    declaration = db.session.get(Declaration, int(declaration_id))
    if declaration is None or declaration.status != "reviewing":
        raise Conflict(f"申报 {declaration_id} 不存在或不在审核中")
    return declaration


def _pending_row(declaration: Declaration) -> DeclarationStep:
    row = current_row(declaration)
    if row is None:
        raise Conflict(f"申报 {declaration.id} 没有待审核的环节")
    return row


def _previous(declaration: Declaration, index: int) -> DeclarationStep | None:
    """The declaration's latest arrival at path step `index` before this one."""
    return latest_arrivals(declaration).get(index)


def _arrival(previous: DeclarationStep | None) -> str:
    if previous is None:
        return "first"
    if previous.status == "returned":
        return "recheck"  # this unit returned it and it came back corrected (复审)
    return "returned"  # it passed it and a superior sent it back down (上级单位退回重审)


_NEW_ARRIVAL = insert(DeclarationStep.__table__)


def route_declaration(declaration_id: int) -> dict[str, Any]:
    """Send the declaration to the unit at its current step: a new arrival row (keeping the unit's publicity and
    attachments from its earlier arrival); the levels it passes there. The arrival rows are written through Core
    (write_columns and one INSERT): the ORM's flush of them cost more than their statements (issue 20)."""
    declaration = _reviewing(declaration_id)
    index = declaration.step
    entry = declaration.path[index]
    unit_id = step_unit_id(declaration, index)
    previous = _previous(declaration, index)
    values = {"declaration_id": declaration.id, "unit_id": unit_id, "step": index, "role": entry["role"],
              "arrival": _arrival(previous), "status": "pending", "latest": True, "arrived_at": datetime.now(),
              "decided_at": None, "opinion": "", "return_to": "", "publicity_start": None, "publicity_end": None,
              "attachments": {}, "pending_attachments": {}, "delegate_committee_id": None}
    if previous is not None:
        write_columns(previous, {"latest": False})
        values.update(publicity_start=previous.publicity_start, publicity_end=previous.publicity_end,
                      attachments={k: v for k, v in previous.attachments.items() if k != "delegation_letter"})
    inserted = db.session.connection().execute(_NEW_ARRIVAL, values).inserted_primary_key
    assert inserted is not None  # a single-row INSERT reports its key
    new_id = inserted[0]
    latest_arrivals(declaration)[index] = loaded_from_row(DeclarationStep, {**values, "id": new_id})
    write_columns(declaration, {"current_unit_id": unit_id})  # with the pass's or 退回's changes: one UPDATE
    at_committee = declaration.at_committee
    levels = [1] if at_committee else audit_chain.review_levels(unit_id, AUDIT_ITEM)
    return {"unit_id": unit_id, "levels": levels, "at_committee": at_committee}


def _decide(row: DeclarationStep, status: str, opinion: str, return_to: str = "") -> None:
    write_columns(row, {"status": status, "decided_at": datetime.now(), "opinion": str(opinion or ""),
                        "return_to": return_to})


def pass_declaration(declaration_id: int, opinion: str = "") -> str:
    """A unit's last level passed: up to the next unit (or back to the one waiting for it); at the committee,
    资格审核通过. Returns "accepted" or "next"."""
    declaration = _reviewing(declaration_id)
    row = _pending_row(declaration)
    actor = instances.current_actor.get()
    if declaration.at_committee:
        _decide(row, "accepted", opinion)
        write_columns(declaration, {"status": "accepted", "accepted_at": datetime.now()})
        audit_log.record(actor, "declaration.accepted", f"{declaration.applicant.name} 的申报参评资格审核通过",
                         "declaration", declaration.id)
        return "accepted"
    if deadline_passed(declaration):
        raise Conflict(deadline_message(declaration))
    if row.step == 0:
        problems = publicity_problems(row, date.today())
        if problems:
            raise InvalidInput(problems[0], errors={"pass": problems})
    if row.delegate_committee_id:
        _delegate(declaration, row)
    _decide(row, "passed", opinion)
    waiting = [index for index in declaration.resume_steps if index > row.step]
    declaration.resume_steps = waiting[:-1]
    declaration.step = waiting[-1] if waiting else row.step + 1
    return "next"


def _delegate(declaration: Declaration, row: DeclarationStep) -> None:
    committee = db.session.get(Committee, row.delegate_committee_id)
    if committee is None:
        raise Conflict("委托评委会不存在")
    declaration.committee_id = committee.id
    declaration.delegated_by_unit_id = row.unit_id
    declaration.delegation_letter = row.attachments.get("delegation_letter")
    declaration.path = [*declaration.path[:row.step + 1],
                        {"committee_id": committee.id, "role": ROLE_COMMITTEE, "name": committee.name}]
    declaration.resume_steps = []
    audit_log.record(instances.current_actor.get(), "declaration.delegated",
                     f"{declaration.applicant.name} 的申报委托 {committee.name} 评审", "declaration", declaration.id,
                     unit_id=row.unit_id)


def return_declaration(declaration_id: int, opinion: str = "", return_to: str = "") -> str:
    """审核退回 to the applicant ("applicant") or to a unit below on the path ("unit")."""
    declaration = _reviewing(declaration_id)
    row = _pending_row(declaration)
    target = str(return_to or RETURN_TO_APPLICANT)
    if target not in dict(return_targets(declaration)):
        raise InvalidInput("退回至：请选择审核路径上的下级单位或申报人", field="return_to")
    _decide(row, "returned", opinion, target)
    declaration.resume_steps = [*declaration.resume_steps, row.step]
    declaration.opinion = str(opinion or "")[:500]
    if target == RETURN_TO_APPLICANT:
        write_columns(declaration, {"status": "returned", "current_unit_id": None})  # with the two above
        _tell_applicant_of_return(declaration, row, str(opinion or ""))
        return "applicant"
    declaration.step = int(target)  # written with the two above by the route_declaration that follows (or the flush)
    return "unit"


_ACTIVITY_NOTICE = select(ReviewActivity.name, ReviewActivity.revise_submit_deadline).where(
    ReviewActivity.id == bindparam("activity_id"))


def _tell_applicant_of_return(declaration: Declaration, row: DeclarationStep, opinion: str) -> None:
    """K4: the applicant learns of the 退回 without signing in (in-app, e-mail and SMS by their preferences).
    The activity's name and 个人修改提交截止时间 only (as _receive_deadline): loading the ReviewActivity for them
    brought its committee, the series with every title, and the activity's and committee's lists (6 statements)."""
    if "activity" not in inspect(declaration).unloaded:
        name, revise_deadline = declaration.activity.name, declaration.activity.revise_submit_deadline
    else:
        name, revise_deadline = db.session.execute(_ACTIVITY_NOTICE, {"activity_id": declaration.activity_id}).one()
    unit_name = declaration.path[row.step].get("name", "") if row.step < len(declaration.path) else ""
    deadline = revise_deadline.strftime("%Y-%m-%d %H:%M")
    notifications.notify(
        "application_returned", [notifications.applicant_recipient(declaration.applicant_id)],
        f"您的职称申报已被退回：{name}",
        f"{declaration.applicant.name}：您在“{name}”中的职称申报被{unit_name}退回。"
        f"退回意见：{opinion or '（无）'}。请在 {deadline}（个人修改提交截止时间）前修改后重新提交。",
        ("declaration", declaration.id))


def reject_declaration(declaration_id: int, opinion: str = "") -> None:
    """审核不通过: the declaration ends for the year (S 1.2.3.1)."""
    declaration = _reviewing(declaration_id)
    row = _pending_row(declaration)
    _decide(row, "rejected", opinion)
    write_columns(declaration, {"status": "rejected", "opinion": str(opinion or "")[:500], "current_unit_id": None})
    audit_log.record(instances.current_actor.get(), "declaration.rejected",
                     f"{declaration.applicant.name} 的申报审核不通过", "declaration", declaration.id,
                     unit_id=row.unit_id)


def register_operations(registry: FunctionRegistry = WHITELIST) -> None:
    registry.register("route_declaration", route_declaration, replace=True)
    registry.register("pass_declaration", pass_declaration, replace=True)
    registry.register("return_declaration", return_declaration, replace=True)
    registry.register("reject_declaration", reject_declaration, replace=True)
    instances.register_completer(BUSINESS_TYPE, complete_posted)


# --- who may see a declaration ------------------------------------------------------------------------------

def reached_unit(declaration: Declaration, unit_id: int) -> bool:
    """Has the declaration been at `unit_id` (or does it come from there)?"""
    if declaration.unit_id == unit_id:
        return True
    return db.session.scalar(select(DeclarationStep.id).where(
        DeclarationStep.declaration_id == declaration.id, DeclarationStep.unit_id == unit_id).limit(1)) is not None


# load_for_unit's statement (built once, as _LATEST_ARRIVALS): for a page, and for a decision.
_FOR_PAGE = (
    select(Declaration, exists().where(DeclarationStep.declaration_id == Declaration.id,
                                       DeclarationStep.unit_id == bindparam("unit_id")).label("reached"),
           ReviewActivity.committee_receive_deadline)
    .join(ReviewActivity, ReviewActivity.id == Declaration.activity_id)
    .where(Declaration.id == bindparam("declaration_id"))
    .options(defaultload(Declaration.applicant).lazyload(Applicant.educations),
             defaultload(Declaration.applicant).lazyload(Applicant.work_history))
)
_FOR_DECISION = _FOR_PAGE.options(defaultload(Declaration.applicant).lazyload(Applicant.unit),
                                  defaultload(Declaration.applicant).lazyload(Applicant.title),
                                  lazyload(Declaration.level), lazyload(Declaration.specialty))


def load_for_unit(actor: User, declaration_id: int, acting: bool = False) -> Declaration:
    """A declaration the actor's unit declared or reviewed (404 otherwise: its existence is not told).

    One statement: the declaration (its applicant, level and specialty joined; the applicant's education and
    work history load when a page reads them), whether it reached the actor's unit, and the activity's
    评委会接收申报截止时间 that a pass checks. `acting`: for a decision, which reads the applicant's own row only —
    their unit (with its parent, types and regions), title, the level and the specialty load if something reads
    them, instead of a dozen joined rows built into objects on every step."""
    row = db.session.execute(_FOR_DECISION if acting else _FOR_PAGE,
                             {"declaration_id": declaration_id, "unit_id": actor.unit_id}).first()
    if row is None:
        raise NotFound("申报不存在或无权查看")
    declaration, reached_it, deadline = row
    if declaration.status == "draft" or not (declaration.unit_id == actor.unit_id or reached_it):
        raise NotFound("申报不存在或无权查看")
    transaction_memo("receive_deadlines")[declaration.activity_id] = deadline
    return declaration  # type: ignore[no-any-return]


def require_reviewer(actor: User, declaration: Declaration) -> None:
    if declaration.current_unit_id != actor.unit_id:
        raise Forbidden("该申报当前不在本单位审核")


ROLES = (ROLE_DECLARING, ROLE_COMPETENT, ROLE_HR, ROLE_COMMITTEE)
