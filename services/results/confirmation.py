"""评审结果确认 (manual S 1.2.7; S 2.5.7.2; FEATURES H1, H2, H3 补充材料), through bpmn/result_confirmation.bpmn.

Rules owned here:
- After publicity each passer is confirmed by the committee's 授权管理单位 (线上评审结果确认), or, when a 主管部门 /
  人社部门 delegated the declaration (B7), by that delegating unit (线上委托结果确认). The unit reviews with its
  多岗审核 levels of item result_confirmation (holders of result.confirm when none are configured).
- 通过 confirms the result; 不通过 ends the year's application (the declaration becomes 不通过); 退回 sends the
  person back to the committee for 补充材料 with the reason, and the committee's supplement (a note, files)
  returns it to the confirming unit's first level.
- 一键通过 of a selection is the single 通过 per item, in a background job: an item not in the actor's 待办 is
  未处理 with the reason; nothing else differs from passing one by one.
- The committee's side (H3): 批量设置职称文件文号 on confirmed people — a GB/T 9704 文号 whose year equals the
  approval date's year.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import Declaration, ResultEntry, User
from services.authz import access, audit_chain
from services.common import audit_log
from services.common.errors import Conflict, InvalidInput, NotFound
from services.jobs import JobContext, job_kind, start_job
from services.reference.validation import InvalidValue, check_document_year, parse_document_number
from services.workflow import instances
from services.workflow.scripting import WHITELIST, FunctionRegistry

BUSINESS_TYPE = "result_confirmation"
PROCESS_ID = "result_confirmation"
AUDIT_ITEM = "result_confirmation"
CONFIRM_PERMISSION = "result.confirm"
TABS = {"pending": ("未确认", ("confirming",)), "confirmed": ("已通过", ("confirmed",)),
        "returned": ("已退回", ("returned",)), "rejected": ("不通过", ("rejected",))}


def start(entry: ResultEntry) -> None:
    """The passer goes to its confirming unit (after publicity, or when its last complaint is dismissed)."""
    entry.status = "confirming"
    levels = audit_chain.review_levels(entry.confirming_unit_id, AUDIT_ITEM)
    instances.start_process(PROCESS_ID, BUSINESS_TYPE, entry.id, f"评审结果确认：{entry.name}", entry.committee_unit_id,
                            {"entry_id": entry.id, "reviewing_unit_id": entry.confirming_unit_id, "levels": levels},
                            None)


# --- whitelisted business operations (bpmn/result_confirmation.bpmn) -------------------------------------------------

def _confirming(entry_id: int) -> ResultEntry:
    entry = db.session.get(ResultEntry, int(entry_id))
    if entry is None or entry.status != "confirming":
        raise Conflict(f"评审结果 {entry_id} 不存在或不在确认中")
    return entry


def confirm_result(entry_id: int, opinion: str = "") -> None:
    entry = _confirming(entry_id)
    entry.status, entry.opinion, entry.decided_at = "confirmed", str(opinion or "")[:500], datetime.now()


def reject_result(entry_id: int, opinion: str = "") -> None:
    """不通过: the year's application ends with it."""
    entry = _confirming(entry_id)
    entry.status, entry.opinion, entry.decided_at = "rejected", str(opinion or "")[:500], datetime.now()
    declaration = db.session.get(Declaration, entry.declaration_id)
    assert declaration is not None
    declaration.status, declaration.opinion = "rejected", f"评审结果确认不通过：{opinion}"[:500]


def return_result(entry_id: int, opinion: str = "") -> None:
    """退回 to the committee for 补充材料."""
    entry = _confirming(entry_id)
    entry.status, entry.opinion = "returned", str(opinion or "")[:500]


def register_operations(registry: FunctionRegistry = WHITELIST) -> None:
    registry.register("confirm_result", confirm_result, replace=True)
    registry.register("reject_result", reject_result, replace=True)
    registry.register("return_result", return_result, replace=True)


# --- the confirming unit ------------------------------------------------------------------------------------------------

def query(actor: User, tab: str, delegated: bool, name: str = "") -> Any:
    """The entries the actor's unit confirms, by tab; 线上委托结果确认 lists the delegated ones."""
    if not access.has_permission(actor, CONFIRM_PERMISSION, actor.unit):
        raise NotFound("无权查看")
    stmt = select(ResultEntry).where(ResultEntry.confirming_unit_id == actor.unit_id,
                                     ResultEntry.delegated.is_(delegated), ResultEntry.status.in_(TABS[tab][1]))
    if name:
        stmt = stmt.where(ResultEntry.name.contains(name, autoescape=True))
    return stmt.order_by(ResultEntry.publicity_id.desc(), ResultEntry.position, ResultEntry.id)


def load_for_confirming_unit(actor: User, entry_id: int) -> ResultEntry:
    """材料审阅: the confirming unit reads the declaration behind a result while it holds the confirmation (未确认),
    though the declaration's review path need not have passed it (S 1.2.7). Anyone else: 404."""
    entry = db.session.get(ResultEntry, entry_id)
    if entry is None or entry.confirming_unit_id != actor.unit_id or entry.status != "confirming" \
            or not access.has_permission(actor, CONFIRM_PERMISSION, actor.unit):
        raise NotFound("评审结果不存在或不在本单位确认中")
    return entry


def decide(actor: User, entry_id: int, decision: str, opinion: str) -> None:
    """通过 / 不通过 / 退回 one person: the actor's open task on it, completed with the review form's checks."""
    tasks = instances.open_tasks_of(actor, BUSINESS_TYPE, [entry_id])
    if entry_id not in tasks:
        raise Conflict("该人员不在您的待确认事项中（可能已由他人处理或不在您的审核层级）")
    task = instances.task_to_complete(actor, tasks[entry_id][0])
    instances.complete_checked_task(actor, task, {"decision": decision, "opinion": opinion, "return_to": ""})


def start_pass_all(actor: User, entry_ids: Sequence[int], opinion: str) -> Any:
    """一键通过: the selection passes one by one in a background job (the single 通过's checks per item)."""
    if not entry_ids:
        raise InvalidInput("请选择要确认通过的人员", field="entry_ids")
    if not opinion.strip():
        raise InvalidInput("审核意见：必填", field="opinion")
    return start_job(actor, "results.pass_all", f"评审结果一键通过（{len(entry_ids)} 人）",
                     {"entry_ids": list(entry_ids), "opinion": opinion.strip()[:500]})


@job_kind("results.pass_all", "评审结果确认：一键通过")
def _pass_all(ctx: JobContext, params: dict[str, Any]) -> None:
    actor = ctx.actor
    if actor is None:
        raise NotFound("任务发起人不存在")
    ids = [int(i) for i in params["entry_ids"]]
    ctx.set_total(len(ids))

    def one(key: str) -> str:
        decide(actor, int(key), "pass", params["opinion"])
        return "确认通过"

    ctx.each(ids, one)
    ctx.summary = "一键通过完成"
    ctx.result = {"next_url": "/results/confirm?tab=confirmed", "next_label": "查看已通过人员"}


# --- the committee's side (H3) -------------------------------------------------------------------------------------

def committee_query(actor: User, status: str) -> Any:
    stmt = select(ResultEntry).where(ResultEntry.committee_unit_id == actor.unit_id, ResultEntry.status == status)
    return stmt.order_by(ResultEntry.publicity_id.desc(), ResultEntry.position, ResultEntry.id) \
        .options(selectinload(ResultEntry.confirming_unit))


def load_for_committee(actor: User, entry_id: int) -> ResultEntry:
    entry = db.session.get(ResultEntry, entry_id)
    if entry is None or entry.committee_unit_id != actor.unit_id:
        raise NotFound("评审结果不存在或无权操作")
    return entry


def supplement(actor: User, entry: ResultEntry, note: str, files: Sequence[dict[str, Any]]) -> None:
    """补充材料 after a 退回: the note (and files) go back to the confirming unit."""
    if entry.status != "returned":
        raise Conflict(f"该人员{entry.status_label}，无需补充材料")
    note = note.strip()
    if not note or len(note) > 500:
        raise InvalidInput("补充说明：必填，不超过 500 个字", field="note")
    task = instances.open_task_for(BUSINESS_TYPE, entry.id, "unit_admin")
    if task is None:
        raise Conflict("没有待补充材料的事项")
    entry.supplement_note, entry.supplement_files = note, [*entry.supplement_files, *files]
    entry.status = "confirming"
    instances.complete_checked_task(actor, instances.task_to_complete(actor, task.id), {"note": note})
    audit_log.record(actor, "result.supplement", f"补充材料：{entry.name}", "result_entry", entry.id)


def set_doc_numbers(actor: User, entry_ids: Sequence[int], doc_no: str, approved_on: date | None) -> int:
    """批量设置职称文件文号 on confirmed people of the actor's committee."""
    try:
        document = parse_document_number(doc_no or "")
    except InvalidValue as exc:
        raise InvalidInput(f"职称文件文号：{exc.message}", field="doc_no") from exc
    if approved_on is None:
        raise InvalidInput("批准时间：必填（YYYY-MM-DD）", field="approved_on")
    try:
        check_document_year(document, approved_on)
    except InvalidValue as exc:
        raise InvalidInput(f"职称文件文号：{exc.message}", field="doc_no") from exc
    entries = list(db.session.scalars(select(ResultEntry).where(ResultEntry.id.in_(list(entry_ids)))))
    if not entries:
        raise InvalidInput("请选择要设置文号的人员", field="entry_ids")
    for entry in entries:
        if entry.committee_unit_id != actor.unit_id or entry.status != "confirmed":
            raise Conflict(f"{entry.name}：只有本评委会已确认通过的人员才能设置职称文件文号")
    for entry in entries:
        entry.doc_no, entry.approved_on = str(document), approved_on
    audit_log.record(actor, "result.doc_no", f"设置职称文件文号 {document}（{len(entries)} 人）", "result_entry",
                     entries[0].id)
    return len(entries)


def supplement_files_of(entry: ResultEntry) -> Sequence[Mapping[str, Any]]:
    return entry.supplement_files or []


# --- 提交发证信息 (H3 → the certificate queue, FEATURES I2 / I3) ----------------------------------------------------------

def start_certificate_info(actor: User, entry_ids: Sequence[int]) -> Any:
    """提交发证信息: confirmed people with their 职称文件文号 go to the issuing unit's queue (评审发证 at the
    授权管理单位, 委托发证 at the delegating unit), one person per transaction in a job."""
    entries = list(db.session.scalars(select(ResultEntry).where(ResultEntry.id.in_(list(entry_ids)))))
    if not entries:
        raise InvalidInput("请选择要提交发证信息的人员", field="entry_ids")
    for entry in entries:
        if entry.committee_unit_id != actor.unit_id:
            raise NotFound("评审结果不存在或无权操作")
    return start_job(actor, "results.queue_certificates", f"提交发证信息（{len(entries)} 人）",
                     {"entry_ids": [e.id for e in entries]})


def _certificate_item(entry: ResultEntry) -> dict[str, Any]:
    from app.models import Committee, TitleLevel, TitleSeries

    declaration = db.session.get(Declaration, entry.declaration_id)
    assert declaration is not None
    series = db.session.get(TitleSeries, declaration.series_code)
    level = db.session.get(TitleLevel, declaration.level_code)
    committee = db.session.get(Committee, entry.committee_id)
    approved = entry.approved_on.isoformat() if entry.approved_on else ""
    return {"name": entry.name, "id_number": declaration.applicant.id_number, "id_type": "居民身份证",
            "work_unit": entry.work_unit, "series_name": series.name if series else "",
            "specialty_name": entry.specialty, "title_name": entry.title_name,
            "level_name": level.name if level else "", "qualified_on": approved,
            "committee_name": committee.name if committee else "", "approval_no": entry.doc_no,
            "approved_on": approved}


@job_kind("results.queue_certificates", "评审结果：提交发证信息")
def _queue_certificates(ctx: JobContext, params: dict[str, Any]) -> None:
    from services.certificates import issuance

    actor = ctx.actor
    if actor is None:
        raise NotFound("任务发起人不存在")
    ids = [int(i) for i in params["entry_ids"]]
    ctx.set_total(len(ids))

    def one(key: str) -> str:
        entry = db.session.get(ResultEntry, int(key))
        if entry is None or entry.committee_unit_id != actor.unit_id:
            raise NotFound("评审结果不存在或无权操作")
        if entry.status != "confirmed":
            raise Conflict(f"{entry.name}：评审结果{entry.status_label}，只有已确认通过的人员才能提交发证信息")
        if not entry.doc_no or entry.approved_on is None:
            raise Conflict(f"{entry.name}：请先设置职称文件文号和批准时间")
        if entry.certificate_queued_at is not None:
            raise Conflict(f"{entry.name}：发证信息已提交")
        issuance.queue(actor, "delegated" if entry.delegated else "review", [_certificate_item(entry)],
                       issuer_unit=entry.confirming_unit, source_refs=[f"result:{entry.id}"])
        entry.certificate_queued_at = datetime.now()
        return entry.name

    ctx.each(ids, one)
    ctx.summary = "发证信息提交完成"
    ctx.result = {"next_url": "/results/committee?status=confirmed", "next_label": "返回结果报送"}


# --- 办结 (H3): the meeting's results are finished once every person's outcome is final ------------------------------

def close_publicity(actor: User, publicity_id: int) -> None:
    """办结 a publicity's results: every person not confirmed (不通过 / 投诉成立) or confirmed with the certificate 已发放."""
    from app.models import Issuance, ResultPublicity

    publicity = db.session.get(ResultPublicity, publicity_id)
    if publicity is None or publicity.unit_id != actor.unit_id:
        raise NotFound("评审结果公示不存在或无权操作")
    if publicity.status == "closed":
        raise Conflict("该评审结果已办结")
    if publicity.status != "ended":
        raise Conflict(f"公示{publicity.status_label}，公示期结束后才能办结")
    entries = list(db.session.scalars(select(ResultEntry).where(ResultEntry.publicity_id == publicity.id)))
    issued = set(db.session.scalars(select(Issuance.source_ref).where(
        Issuance.source_ref.in_([f"result:{e.id}" for e in entries]), Issuance.status == "issued")))
    waiting = [f"{e.name}（{e.status_label}）" if e.status != "confirmed" else f"{e.name}（证书未发放）"
               for e in entries if e.status not in ("rejected", "revoked")
               and not (e.status == "confirmed" and f"result:{e.id}" in issued)]
    if waiting:
        raise Conflict(f"还有 {len(waiting)} 人未办完：{'、'.join(waiting[:10])}{' 等' if len(waiting) > 10 else ''}")
    publicity.status = "closed"
    audit_log.record(actor, "result.close", f"办结评审结果：{publicity.title}", "result_publicity", publicity.id)
