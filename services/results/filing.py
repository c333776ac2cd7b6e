"""评审结果申请备案 and 职称评审结果备案 (Hunan guide H 1.2.7, 1.15; FEATURES G13; H3 上传评审工作报告).

Rules owned here:
- After its publicity ended, the committee's forming unit (result.publicize) files a meeting's results with the
  committee's 授权管理单位: a 备案文号 in GB/T 9704 form whose year is the 备案时间's year, the 备案时间 (not in the
  future) and the 评审工作报告 (PDF). One live filing per meeting.
- The 授权管理单位 reviews it with its 多岗审核 levels of item result_filing (bpmn/result_filing.bpmn): 通过 files it,
  退回 sends it back for correction and resubmission, 不通过 ends it (a new filing may follow).
- 职称评审结果备案 (the query): the filings the unit made or reviews, by status.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import Committee, ResultFiling, ResultPublicity, ReviewMeeting, User
from services.authz import access, audit_chain
from services.common import audit_log
from services.common.errors import Conflict, InvalidInput, NotFound
from services.reference.validation import InvalidValue, check_document_year, parse_document_number
from services.workflow import instances
from services.workflow.scripting import WHITELIST, FunctionRegistry

BUSINESS_TYPE = "result_filing"
PROCESS_ID = "result_filing"
AUDIT_ITEM = "result_filing"
FILE_PERMISSION = "result.publicize"
REVIEW_PERMISSION = "result.file_review"


def fileable_meetings(actor: User) -> list[ReviewMeeting]:
    """Meetings of the actor's unit whose publicity ended and that have no live filing."""
    live = select(ResultFiling.meeting_id).where(ResultFiling.status.in_(("pending", "returned", "approved")))
    ended = select(ResultPublicity.meeting_id).where(ResultPublicity.status == "ended")
    return list(db.session.scalars(select(ReviewMeeting).where(
        ReviewMeeting.unit_id == actor.unit_id, ReviewMeeting.id.in_(ended), ReviewMeeting.id.not_in(live))
        .order_by(ReviewMeeting.counted_at.desc())))


def _clean(data: Mapping[str, Any], filed_on: date | None, report: dict[str, Any] | None,
           today: date) -> tuple[str, date]:
    errors: dict[str, list[str]] = {}
    doc_no = ""
    if filed_on is None:
        errors["filed_on"] = ["备案时间：必填（YYYY-MM-DD）"]
    elif filed_on > today:
        errors["filed_on"] = ["备案时间：不能晚于今天"]
    try:
        document = parse_document_number(str(data.get("doc_no") or ""))
        doc_no = str(document)
        if filed_on is not None:
            check_document_year(document, filed_on)
    except InvalidValue as exc:
        errors["doc_no"] = [f"备案文号：{exc.message}"]
    if not report:
        errors["report"] = ["评审工作报告：请上传 PDF 文件"]
    if errors:
        raise InvalidInput(next(iter(errors.values()))[0], errors=errors)
    assert filed_on is not None
    return doc_no, filed_on


def submit(actor: User, meeting: ReviewMeeting, data: Mapping[str, Any], filed_on: date | None,
           report: dict[str, Any] | None, today: date | None = None) -> ResultFiling:
    """评审结果申请备案."""
    if meeting.unit_id != actor.unit_id or not access.has_permission(actor, FILE_PERMISSION, actor.unit):
        raise NotFound("评审会议不存在或无权操作")
    if meeting not in fileable_meetings(actor):
        raise Conflict("该评审会议的评审结果公示尚未结束，或已申请备案")
    doc_no, day = _clean(data, filed_on, report, today or date.today())
    committee = db.session.get(Committee, meeting.committee_id)
    assert committee is not None and report is not None
    from app.models import ResultEntry

    passed = len(list(db.session.scalars(select(ResultEntry.id).join(
        ResultPublicity, ResultPublicity.id == ResultEntry.publicity_id).where(ResultPublicity.meeting_id == meeting.id))))
    filing = ResultFiling(meeting_id=meeting.id, committee_id=committee.id, unit_id=meeting.unit_id,
                          authorizing_unit_id=committee.authorizing_unit_id, doc_no=doc_no, filed_on=day,
                          passed_count=passed, report=report, status="pending", opinion="", submitted_by_id=actor.id)
    db.session.add(filing)
    db.session.flush()
    levels = audit_chain.review_levels(filing.authorizing_unit_id, AUDIT_ITEM)
    instances.start_process(PROCESS_ID, BUSINESS_TYPE, filing.id, f"评审结果备案：{meeting.name}", filing.unit_id,
                            {"filing_id": filing.id, "reviewing_unit_id": filing.authorizing_unit_id, "review_levels": levels},
                            actor)
    audit_log.record(actor, "result.filing", f"评审结果申请备案：{meeting.name}（{doc_no}）", "result_filing", filing.id)
    return filing


def resubmit(actor: User, filing: ResultFiling, data: Mapping[str, Any], filed_on: date | None,
             report: dict[str, Any] | None, today: date | None = None) -> None:
    """After 退回: corrected and submitted again (the earlier report stands when no new one is given)."""
    if filing.status != "returned" or filing.unit_id != actor.unit_id:
        raise Conflict("只有被退回的备案申请才能修改后重新提交")
    doc_no, day = _clean(data, filed_on, report or filing.report, today or date.today())
    filing.doc_no, filing.filed_on, filing.status, filing.opinion = doc_no, day, "pending", ""
    if report:
        filing.report = report
    task = instances.open_task_for(BUSINESS_TYPE, filing.id, "unit_admin")
    if task is None:
        raise Conflict("没有待修改的备案申请")
    instances.complete_checked_task(actor, instances.task_to_complete(actor, task.id),
                                    {"note": str(data.get("note") or "修改后重新提交")[:500] or "修改后重新提交"})


def load(actor: User, filing_id: int) -> ResultFiling:
    filing = db.session.get(ResultFiling, filing_id)
    if filing is None or actor.unit_id not in (filing.unit_id, filing.authorizing_unit_id):
        raise NotFound("备案申请不存在或无权查看")
    return filing


def query(actor: User, status: str = "") -> Any:
    """职称评审结果备案: the filings the unit made or reviews."""
    stmt = select(ResultFiling).where(or_(ResultFiling.unit_id == actor.unit_id,
                                          ResultFiling.authorizing_unit_id == actor.unit_id))
    if status:
        stmt = stmt.where(ResultFiling.status == status)
    return stmt.order_by(ResultFiling.submitted_at.desc(), ResultFiling.id.desc()).options(
        selectinload(ResultFiling.unit), selectinload(ResultFiling.authorizing_unit))


# --- whitelisted business operations (bpmn/result_filing.bpmn) --------------------------------------------------------

def _pending(filing_id: int) -> ResultFiling:
    filing = db.session.get(ResultFiling, int(filing_id))
    if filing is None or filing.status != "pending":
        raise Conflict(f"备案申请 {filing_id} 不存在或不在审核中")
    return filing


def approve_result_filing(filing_id: int, opinion: str = "") -> None:
    filing = _pending(filing_id)
    filing.status, filing.opinion, filing.decided_at = "approved", str(opinion or "")[:500], datetime.now()


def return_result_filing(filing_id: int, opinion: str = "") -> None:
    filing = _pending(filing_id)
    filing.status, filing.opinion = "returned", str(opinion or "")[:500]


def reject_result_filing(filing_id: int, opinion: str = "") -> None:
    filing = _pending(filing_id)
    filing.status, filing.opinion, filing.decided_at = "rejected", str(opinion or "")[:500], datetime.now()


def register_operations(registry: FunctionRegistry = WHITELIST) -> None:
    registry.register("approve_result_filing", approve_result_filing, replace=True)
    registry.register("return_result_filing", return_result_filing, replace=True)
    registry.register("reject_result_filing", reject_result_filing, replace=True)
