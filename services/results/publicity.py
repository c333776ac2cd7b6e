"""评审结果公示 and its complaints (manual S 1.2.6 (6); H 1.2.6; FEATURES G12; RULES.md "Publicity").

Rules owned here:
- 评审结果公示 is a user task (bpmn/result_publicity.bpmn) in the forming unit's 待办: review_meeting.bpmn opens it
  at 计票完成 of an ordinary meeting with passers (`open_result_publicity`), publishing completes it, and a
  withdrawal opens a new one. The task's page is the publish page; the inbox cannot complete it around the page.
- The committee's forming unit (result.publicize) publicises the passers of a counted ordinary meeting (a 破格
  meeting's passers are publicised with the ordinary meeting they joined): a title, the first day (today or later),
  a number of working days not below calendar.yaml's publicity_working_days (5) — the last day is computed by the
  working-day calendar and shown — and a contact with a valid phone. One live publicity per meeting.
- The notice (HTML on the public home page, and a PDF made once when published) shows 姓名, 工作单位, 资格名称 and
  专业 of each passer and the contact: never an ID number or an applicant's phone. A withdrawn publicity leaves
  the public pages at once.
- 我要反馈: a signed-in person (staff or applicant) names a publicised person and types that person's 证件号码,
  which must match; the content and a contact phone are required; only while the period runs. 录入线下投诉结果:
  the committee's staff record a complaint received offline with its evidence files.
- When the period ends (`release_due`, from Celery beat): each passer without an open complaint goes to
  confirmation (services/results/confirmation); one with an open complaint is held (投诉处理中) until staff settle
  every complaint against them: 投诉不成立 releases them to confirmation, 投诉成立 ends their result (不予确认).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from flask import render_template
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import (
    Applicant,
    Committee,
    Complaint,
    Declaration,
    HumanTask,
    MeetingApplicant,
    ResultEntry,
    ResultPublicity,
    ReviewMeeting,
    Specialty,
    Title,
    Unit,
    User,
)
from services.authz import access
from services.common import audit_log, file_store
from services.common.errors import Conflict, InvalidInput, NotFound
from services.reference.validation import InvalidValue, normalize_id_number, normalize_phone
from services.reference.workdays import calendar
from services.workflow import instances
from services.workflow.scripting import WHITELIST, FunctionRegistry

PUBLICIZE_PERMISSION = "result.publicize"
PUBLIC_LIMIT = 20
BUSINESS_TYPE = "result_publicity"
PROCESS_ID = "result_publicity"
TASK_POST = "unit_admin"


# --- dates ------------------------------------------------------------------------------------------------------

def end_of_period(start: date, working_days: int) -> date:
    """The day on which the `working_days`-th working day from `start` (included) falls."""
    cal, day, counted = calendar(), start, 0
    while True:
        counted += cal.is_working_day(day)
        if counted >= working_days:
            return day
        day += timedelta(days=1)


# --- who publicises what ----------------------------------------------------------------------------------------

def _require(actor: User, unit: Unit) -> None:
    if not access.has_permission(actor, PUBLICIZE_PERMISSION, unit) or actor.unit_id != unit.id:
        raise NotFound("评审会议不存在或无权操作")


def publishable_meetings(actor: User) -> list[ReviewMeeting]:
    """The meetings of the actor's unit whose 评审结果公示 waits in 待办."""
    waiting = select(HumanTask.business_id).where(HumanTask.business_type == BUSINESS_TYPE, HumanTask.status == "open")
    return list(db.session.scalars(select(ReviewMeeting).where(
        ReviewMeeting.unit_id == actor.unit_id, ReviewMeeting.id.in_(waiting))
        .order_by(ReviewMeeting.counted_at.desc())))


def publicity_task(meeting: ReviewMeeting) -> HumanTask | None:
    """The meeting's open 评审结果公示 task (the inbox projection)."""
    return instances.open_task_for(BUSINESS_TYPE, meeting.id, TASK_POST)


def open_result_publicity(meeting_id: int) -> None:
    """计票完成 of an ordinary meeting (whitelisted, bpmn/review_meeting.bpmn), or a withdrawal: 评审结果公示 goes
    to the forming unit's 待办 when someone passed and no such task is open. A 破格 meeting's passers are
    publicised with the ordinary meeting they joined."""
    meeting = db.session.get(ReviewMeeting, int(meeting_id))
    if meeting is None or meeting.kind != "ordinary" or not passers(meeting) or publicity_task(meeting) is not None:
        return
    instances.start_process(PROCESS_ID, BUSINESS_TYPE, meeting.id, f"评审结果公示：{meeting.name}", meeting.unit_id,
                            {"meeting_id": meeting.id}, instances.current_actor.get(),
                            columns={"committee_id": meeting.committee_id, "activity_id": meeting.activity_id,
                                     "applicant_name": f"通过 {len(passers(meeting))} 人"})


def refuse_inbox_completion(actor: User, task: HumanTask, form_data: Mapping[str, Any]) -> HumanTask:
    """The inbox's own 办理 of a 评审结果公示 task would skip the notice: it is done by publishing."""
    raise Conflict("请在“发布评审结果公示”页面填写公示信息并发布，发布后该待办自动办结")


def register_operations(registry: FunctionRegistry = WHITELIST) -> None:
    registry.register("open_result_publicity", open_result_publicity, replace=True)
    instances.register_completer(BUSINESS_TYPE, refuse_inbox_completion)


def load_meeting(actor: User, meeting_id: int) -> ReviewMeeting:
    meeting = db.session.get(ReviewMeeting, meeting_id)
    if meeting is None or meeting.unit_id != actor.unit_id:
        raise NotFound("评审会议不存在或无权操作")
    return meeting


def load_publicity(actor: User, publicity_id: int) -> ResultPublicity:
    publicity = db.session.get(ResultPublicity, publicity_id)
    if publicity is None or publicity.unit_id != actor.unit_id \
            or not access.has_permission(actor, PUBLICIZE_PERMISSION, actor.unit):
        raise NotFound("评审结果公示不存在或无权查看")
    return publicity


def passers(meeting: ReviewMeeting) -> list[MeetingApplicant]:
    return list(db.session.scalars(select(MeetingApplicant).where(
        MeetingApplicant.meeting_id == meeting.id, MeetingApplicant.status == "passed")
        .order_by(MeetingApplicant.position, MeetingApplicant.id)))


# --- publishing ----------------------------------------------------------------------------------------------------

@dataclass
class PublicityForm:
    title: str
    start_on: date | None
    working_days: int | None
    contact_name: str
    contact_phone: str


def _clean(form: PublicityForm, today: date) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    minimum = calendar().publicity_working_days
    title = form.title.strip()
    if not title or len(title) > 100:
        errors["title"] = ["公示标题：必填，不超过 100 个字"]
    if form.start_on is None:
        errors["start_on"] = ["公示开始日期：必填（YYYY-MM-DD）"]
    elif form.start_on < today:
        errors["start_on"] = ["公示开始日期：不能早于今天"]
    if form.working_days is None or not 1 <= form.working_days <= 60:
        errors["working_days"] = [f"公示期：请填写工作日天数（不少于 {minimum} 个工作日）"]
    elif form.working_days < minimum:
        errors["working_days"] = [f"公示期：评审结果公示不少于 {minimum} 个工作日（RULES：节假日和周末不计）"]
    name = form.contact_name.strip()
    if not name or len(name) > 20:
        errors["contact_name"] = ["联系人：必填，不超过 20 个字"]
    try:
        phone = normalize_phone(form.contact_phone)
    except InvalidValue as exc:
        errors["contact_phone"] = [f"联系电话：{exc.message}"]
        phone = ""
    if errors:
        raise InvalidInput(next(iter(errors.values()))[0], errors=errors)
    assert form.start_on is not None and form.working_days is not None
    return {"title": title, "start_on": form.start_on, "working_days": form.working_days,
            "end_on": end_of_period(form.start_on, form.working_days), "contact_name": name, "contact_phone": phone}


def _entry_values(meeting: ReviewMeeting, rows: Sequence[MeetingApplicant]) -> list[dict[str, Any]]:
    declarations = [row.declaration for row in rows]
    titles = {(t.series_code, t.level_code): t.name for t in db.session.scalars(select(Title).where(
        Title.current_id.is_(None), Title.series_code.in_({d.series_code for d in declarations})))}
    specialties = dict(db.session.execute(select(Specialty.id, Specialty.name).where(
        Specialty.id.in_({d.specialty_id for d in declarations if d.specialty_id}))).tuples().all())
    units = dict(db.session.execute(select(Unit.id, Unit.name).where(
        Unit.id.in_({d.unit_id for d in declarations}))).tuples().all())
    committee = db.session.get(Committee, meeting.committee_id)
    assert committee is not None
    return [{"declaration_id": d.id, "committee_id": committee.id, "committee_unit_id": meeting.unit_id,
             "confirming_unit_id": d.delegated_by_unit_id or committee.authorizing_unit_id,
             "delegated": d.delegated_by_unit_id is not None, "position": n,
             "name": (d.snapshot or {}).get("name") or d.applicant.name, "work_unit": units.get(d.unit_id, ""),
             "title_name": titles.get((d.series_code, d.level_code), ""),
             "specialty": specialties.get(d.specialty_id, "") if d.specialty_id else ""}
            for n, d in enumerate(declarations, start=1)]


def publish(actor: User, meeting: ReviewMeeting, form: PublicityForm, today: date | None = None) -> ResultPublicity:
    """发布公示: the publicity, its entries (new, or moved from a withdrawn publicity) and the notice PDF."""
    unit = db.session.get(Unit, meeting.unit_id)
    assert unit is not None
    _require(actor, unit)
    if meeting.kind != "ordinary" or meeting.stage != "counted":
        raise Conflict("只有计票完成的评审会议才能发布评审结果公示")
    if db.session.scalar(select(ResultPublicity.id).where(ResultPublicity.meeting_id == meeting.id,
                                                          ResultPublicity.status != "withdrawn")):
        raise Conflict("该评审会议已发布评审结果公示；撤回后才能重新发布")
    values = _clean(form, today or date.today())
    rows = passers(meeting)
    if not rows:
        raise Conflict("该评审会议没有评审通过的人员，无需公示")
    task = publicity_task(meeting)
    if task is None:
        raise Conflict("该评审会议没有待办的“评审结果公示”（普通评审会议计票完成后生成）")
    publicity = ResultPublicity(meeting_id=meeting.id, committee_id=meeting.committee_id, unit_id=meeting.unit_id,
                                created_by_id=actor.id, status="published", notice_pdf={}, withdraw_reason="",
                                **values)
    db.session.add(publicity)
    db.session.flush()
    existing = {e.declaration_id: e for e in db.session.scalars(select(ResultEntry).where(
        ResultEntry.declaration_id.in_([r.declaration_id for r in rows])))}
    for entry_values in _entry_values(meeting, rows):
        entry = existing.get(entry_values["declaration_id"])
        if entry is None:
            db.session.add(ResultEntry(publicity_id=publicity.id, status="publicity", opinion="", supplement_note="",
                                       supplement_files=[], doc_no="", **entry_values))
        elif entry.status == "publicity":
            entry.publicity_id = publicity.id
    db.session.flush()
    publicity.notice_pdf = _store_notice_pdf(publicity)
    instances.complete_checked_task(actor, instances.task_to_complete(actor, task.id),
                                    {"note": f"发布评审结果公示「{publicity.title}」，公示期至 {publicity.end_on}"})
    audit_log.record(actor, "result.publicity", f"发布评审结果公示「{publicity.title}」（{len(rows)} 人）",
                     "result_publicity", publicity.id)
    return publicity


def withdraw(actor: User, publicity: ResultPublicity, reason: str) -> None:
    """撤回: the notice leaves the public pages at once; the passers wait for a new publicity."""
    if publicity.status != "published":
        raise Conflict(f"公示{publicity.status_label}，不能撤回")
    reason = reason.strip()
    if not reason or len(reason) > 200:
        raise InvalidInput("撤回原因：必填，不超过 200 个字", field="reason")
    publicity.status, publicity.withdrawn_at, publicity.withdraw_reason = "withdrawn", datetime.now(), reason
    audit_log.record(actor, "result.withdraw", f"撤回评审结果公示「{publicity.title}」：{reason}", "result_publicity",
                     publicity.id)
    db.session.flush()
    with instances.acting_as(actor):
        open_result_publicity(publicity.meeting_id)  # the passers wait for a new publicity, in 待办 again


# --- the public notice ------------------------------------------------------------------------------------------

def public_publicities(limit: int = PUBLIC_LIMIT) -> list[ResultPublicity]:
    """What the public home page lists: publicities not withdrawn, newest first."""
    return list(db.session.scalars(select(ResultPublicity).where(ResultPublicity.status != "withdrawn")
                                   .order_by(ResultPublicity.start_on.desc(), ResultPublicity.id.desc()).limit(limit)))


def public_publicity(publicity_id: int) -> ResultPublicity:
    publicity = db.session.get(ResultPublicity, publicity_id)
    if publicity is None or publicity.status == "withdrawn":
        raise NotFound("公示不存在或已撤回")
    return publicity


def entries_of(publicity: ResultPublicity) -> list[ResultEntry]:
    return list(db.session.scalars(select(ResultEntry).where(ResultEntry.publicity_id == publicity.id)
                                   .order_by(ResultEntry.position, ResultEntry.id)
                                   .options(selectinload(ResultEntry.confirming_unit))))


def notice_html(publicity: ResultPublicity, for_pdf: bool = False) -> str:
    committee = db.session.get(Committee, publicity.committee_id)
    return render_template("results/notice.html", publicity=publicity, entries=entries_of(publicity),
                           committee=committee, for_pdf=for_pdf)


def _store_notice_pdf(publicity: ResultPublicity) -> dict[str, Any]:
    import hashlib

    import pdfkit

    options = {"page-size": "A4", "encoding": "UTF-8", "quiet": "", "disable-local-file-access": "",
               "disable-javascript": "", "load-error-handling": "ignore", "margin-top": "15mm",
               "margin-bottom": "15mm", "margin-left": "15mm", "margin-right": "15mm"}
    content = bytes(pdfkit.from_string(notice_html(publicity, for_pdf=True), False, options=options))
    filename = f"{publicity.title}.pdf"
    stored = file_store.StoredFile(hashlib.sha256(content).hexdigest(), file_store.clean_filename(filename),
                                   len(content), "pdf")
    file_store.store(stored, content)
    return {"sha256": stored.sha256, "filename": stored.filename, "size": stored.size, "file_type": "pdf"}


# --- complaints -----------------------------------------------------------------------------------------------------

def _entry_of(publicity: ResultPublicity, entry_id: Any) -> ResultEntry:
    entry = db.session.get(ResultEntry, int(entry_id)) if str(entry_id or "").isdigit() else None
    if entry is None or entry.publicity_id != publicity.id:
        raise InvalidInput("被反馈人：请从公示名单中选择", field="entry_id")
    return entry


def _complaint_text(data: Mapping[str, Any]) -> tuple[str, str, str]:
    errors: dict[str, list[str]] = {}
    name = str(data.get("complainant_name") or "").strip()
    content = str(data.get("content") or "").strip()
    if not name or len(name) > 50:
        errors["complainant_name"] = ["反馈人姓名：必填，不超过 50 个字"]
    if not content or len(content) > 1000:
        errors["content"] = ["反馈内容：必填，不超过 1000 个字"]
    try:
        phone = normalize_phone(str(data.get("complainant_phone") or ""))
    except InvalidValue as exc:
        errors["complainant_phone"] = [f"联系电话：{exc.message}"]
        phone = ""
    if errors:
        raise InvalidInput(next(iter(errors.values()))[0], errors=errors)
    return name, phone, content


def file_complaint(account: Any, publicity: ResultPublicity, data: Mapping[str, Any],
                   today: date | None = None) -> Complaint:
    """我要反馈 by a signed-in staff member or applicant, while the period runs."""
    today = today or date.today()
    if publicity.status != "published" or not publicity.start_on <= today <= publicity.end_on:
        raise Conflict("不在公示期内，不能反馈")
    entry = _entry_of(publicity, data.get("entry_id"))
    applicant = db.session.scalar(select(Applicant).join(Declaration, Declaration.applicant_id == Applicant.id)
                                  .where(Declaration.id == entry.declaration_id))
    try:
        typed = normalize_id_number(str(data.get("id_number") or ""))
    except InvalidValue as exc:
        raise InvalidInput(f"被反馈人证件号码：{exc.message}", field="id_number") from exc
    if applicant is None or typed != applicant.id_number:
        raise InvalidInput("被反馈人证件号码：与所选被反馈人不符", field="id_number")
    name, phone, content = _complaint_text(data)
    complaint = Complaint(entry_id=entry.id, publicity_id=publicity.id, offline=False, complainant_name=name,
                          complainant_phone=phone, content=content, evidence=[], status="open", outcome="",
                          outcome_reason="")
    if getattr(account, "is_applicant", False):
        complaint.filed_by_applicant_id = account.id
    else:
        complaint.filed_by_user_id = account.id
    db.session.add(complaint)
    db.session.flush()
    return complaint


def record_offline(actor: User, publicity: ResultPublicity, data: Mapping[str, Any],
                   evidence: Sequence[dict[str, Any]]) -> Complaint:
    """录入线下投诉结果: a complaint received offline, with its evidence files (at least one)."""
    if publicity.status == "withdrawn":
        raise Conflict("公示已撤回")
    entry = _entry_of(publicity, data.get("entry_id"))
    name, phone, content = _complaint_text(data)
    if not evidence:
        raise InvalidInput("证明材料：请上传至少一个文件（PDF 或图片）", field="evidence")
    complaint = Complaint(entry_id=entry.id, publicity_id=publicity.id, offline=True, filed_by_user_id=actor.id,
                          complainant_name=name, complainant_phone=phone, content=content, evidence=list(evidence),
                          status="open", outcome="", outcome_reason="")
    db.session.add(complaint)
    db.session.flush()
    audit_log.record(actor, "result.complaint", f"录入线下投诉：{entry.name}", "result_publicity", publicity.id)
    return complaint


def load_complaint(actor: User, complaint_id: int) -> Complaint:
    complaint = db.session.get(Complaint, complaint_id)
    if complaint is None:
        raise NotFound("投诉不存在")
    load_publicity(actor, complaint.publicity_id)
    return complaint


def settle(actor: User, complaint: Complaint, outcome: str, reason: str) -> None:
    """处理结果: 投诉成立 ends the result; 投诉不成立, once no complaint stays open, releases a held passer."""
    from services.results import confirmation

    if complaint.status != "open":
        raise Conflict("该投诉已处理")
    if outcome not in ("upheld", "dismissed"):
        raise InvalidInput("处理结果：请选择投诉成立或投诉不成立", field="outcome")
    reason = reason.strip()
    if not reason or len(reason) > 500:
        raise InvalidInput("处理意见：必填，不超过 500 个字", field="outcome_reason")
    complaint.status, complaint.outcome, complaint.outcome_reason = "settled", outcome, reason
    complaint.settled_by_id, complaint.settled_at = actor.id, datetime.now()
    db.session.flush()
    entry = complaint.entry
    audit_log.record(actor, "result.settle", f"处理投诉：{entry.name}，{complaint.outcome_label}", "result_publicity",
                     complaint.publicity_id)
    if outcome == "upheld" and entry.status in ("publicity", "held"):
        entry.status, entry.opinion, entry.decided_at = "revoked", f"投诉成立：{reason}"[:500], datetime.now()
        return
    if entry.status == "held" and not _open_complaints(entry.id):
        confirmation.start(entry)


def _open_complaints(entry_id: int) -> int:
    return int(db.session.scalar(select(func.count()).select_from(Complaint).where(
        Complaint.entry_id == entry_id, Complaint.status == "open")) or 0)


def release_due(today: date | None = None) -> int:
    """Publicities whose period has ended: their passers go to confirmation, or wait for their complaints."""
    from services.results import confirmation

    today = today or date.today()
    due = list(db.session.scalars(select(ResultPublicity).where(ResultPublicity.status == "published",
                                                                ResultPublicity.end_on < today)))
    released = 0
    for publicity in due:
        open_entries = set(db.session.scalars(select(Complaint.entry_id).where(
            Complaint.publicity_id == publicity.id, Complaint.status == "open")))
        for entry in db.session.scalars(select(ResultEntry).where(ResultEntry.publicity_id == publicity.id,
                                                                  ResultEntry.status == "publicity")):
            if entry.id in open_entries:
                entry.status = "held"
            else:
                confirmation.start(entry)
                released += 1
        publicity.status = "ended"
    return released


def complaints_of(publicity: ResultPublicity) -> list[Complaint]:
    return list(db.session.scalars(select(Complaint).where(Complaint.publicity_id == publicity.id)
                                   .order_by(Complaint.status.desc(), Complaint.created_at.desc())
                                   .options(selectinload(Complaint.entry))))


def objections_of_meeting(meeting_id: int) -> list[tuple[ResultEntry, list[Complaint]]]:
    """公示有异议人员 of a meeting (S 1.2.5.2): the publicised people of its results with any complaint, and them."""
    complaints = list(db.session.scalars(select(Complaint).join(ResultEntry, ResultEntry.id == Complaint.entry_id)
                                         .join(ResultPublicity, ResultPublicity.id == ResultEntry.publicity_id)
                                         .where(ResultPublicity.meeting_id == meeting_id)
                                         .order_by(ResultEntry.position, Complaint.created_at)))
    grouped: dict[int, tuple[ResultEntry, list[Complaint]]] = {}
    for complaint in complaints:
        grouped.setdefault(complaint.entry_id, (complaint.entry, []))[1].append(complaint)
    return list(grouped.values())
