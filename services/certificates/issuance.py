"""发证 queues (S 1.2.8.1 初定 / 评审 / 委托发证; H 1.17, 1.29; FEATURES I1–I3, I6).

Rules owned here:
- `queue(actor, source, items)` is how every source hands people to certify to the issuing unit: 初定 and the
  imported list (I6) today, 评审 (confirmed results) and 委托 (delegated results) when those areas exist, 历史
  records later. Each item is checked by `check_item` (the same checks as the import's rows) and becomes an
  `Issuance` with one `certificate_issuance` process instance, whose user tasks are the issuer's queue.
- The two user tasks are the manual's lists: 审核发证信息 = 初定「未发放」, 评审「待处理」, 委托「未处理」;
  发放证书 = 初定「发放中」(by 批次), 评审「待发放」and 委托「待发证」(by 文号). Completing them is the one action
  behind the single page, the batch buttons and the bulk job (`complete_issuance_task`, registered as the
  completer of the business type, so 待办事项 goes through it too).
- 退回 and 取消发证 need a reason. 发放 needs the certificate generated (number and PDF, services.certificates.bulk)
  and, for 初定, the batch's 批准时间 and 职称文件文号 (生成证书).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from app.extensions import db, shared_memo, write_columns
from app.models import Certificate, HumanTask, Issuance, IssuanceBatch, TitleLevel, TitleSeries, Unit, User
from app.models.certificates import SOURCE_LABELS
from services.authz import access
from services.common import audit_log, file_store
from services.common.errors import Conflict, InvalidInput, NotFound
from services.reference.validation import (
    InvalidValue,
    id_number_birth_date,
    id_number_gender,
    normalize_id_number,
    parse_document_number,
)
from services.workflow import instances
from services.workflow.forms import FieldDefinition

PROCESS_ID = BUSINESS_TYPE = "certificate_issuance"
REVIEW_TASK, ISSUE_TASK = "review_issuance", "issue_certificate"
SOURCES = ("initial", "review", "delegated", "history")
ISSUE_PERMISSION = "certificate.issue"
ID_TYPES = ("居民身份证", "港澳台居民居住证", "护照", "港澳居民来往内地通行证", "台湾居民来往大陆通行证", "外国人永久居留身份证")
GB11643_TYPES = ("居民身份证", "港澳台居民居住证")  # numbers in the GB 11643 form (the 居住证 since 2018)

# (key, 表头, required, max length) — the certificate fields of RULES "Certificates" a source provides.
ITEM_FIELDS: tuple[tuple[str, str, bool, int], ...] = (
    ("name", "姓名", True, 30),
    ("gender", "性别", False, 4),
    ("birth_month", "出生年月", False, 7),
    ("id_type", "证件类型", False, 20),
    ("id_number", "证件号码", True, 30),
    ("work_unit", "工作单位", True, 100),
    ("series_name", "系列", True, 30),
    ("specialty_name", "专业", False, 50),
    ("title_name", "资格名称", True, 30),
    ("level_name", "级别", True, 10),
    ("qualified_on", "取得资格时间", True, 10),
    ("committee_name", "评审委员会", True, 100),
    ("approval_no", "批准文号", False, 60),
    ("approved_on", "批准时间", False, 10),
)
FIELD_LABELS = {key: label for key, label, _, _ in ITEM_FIELDS}


def _text(raw: Mapping[str, Any], key: str) -> str:
    value = raw.get(key)
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _date(text: str, label: str, key: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text[:10].replace("/", "-"))
    except ValueError:
        raise InvalidInput(f"{label}：应为日期，如 2026-06-30", field=key) from None


def check_item(raw: Mapping[str, Any], levels: Mapping[str, int] | None = None,
               series: Iterable[str] | None = None) -> dict[str, Any]:
    """One person's certificate fields, checked and normalised; InvalidInput names the field and the rule."""
    item: dict[str, Any] = {}
    for key, label, required, limit in ITEM_FIELDS:
        text = _text(raw, key)
        if required and not text:
            raise InvalidInput(f"{label}：必填", field=key)
        if len(text) > limit:
            raise InvalidInput(f"{label}：不能超过 {limit} 个字", field=key)
        item[key] = text
    item["id_type"] = item["id_type"] or "居民身份证"
    if item["id_type"] not in ID_TYPES:
        raise InvalidInput(f"证件类型：应为 {'、'.join(ID_TYPES)} 之一", field="id_type")
    if item["id_type"] in GB11643_TYPES:
        try:
            item["id_number"] = normalize_id_number(item["id_number"])
        except InvalidValue as exc:
            raise InvalidInput(f"证件号码：{exc.message}", field="id_number") from None
        gender = id_number_gender(item["id_number"])
        if item["gender"] and item["gender"] != gender:
            raise InvalidInput(f"性别：与证件号码不符（应为{gender}）", field="gender")
        item["gender"] = gender
        item["birth_month"] = id_number_birth_date(item["id_number"]).strftime("%Y-%m")
    elif item["gender"] not in ("男", "女"):
        raise InvalidInput("性别：应为 男 或 女", field="gender")
    level_ranks = dict(levels) if levels is not None else level_ranks_by_name()
    if item["level_name"] not in level_ranks:
        raise InvalidInput(f"级别：应为 {'、'.join(level_ranks)} 之一", field="level_name")
    item["level_rank"] = level_ranks[item["level_name"]]
    series_names = set(series) if series is not None else series_name_set()
    if item["series_name"] not in series_names:
        raise InvalidInput("系列：不是职称系列中的名称，请从下拉列表选择", field="series_name")
    item["qualified_on"] = _date(item["qualified_on"], "取得资格时间", "qualified_on")
    item["approved_on"] = _date(item["approved_on"], "批准时间", "approved_on")
    if item["qualified_on"] and item["qualified_on"] > date.today():
        raise InvalidInput("取得资格时间：不能晚于今天", field="qualified_on")
    if item["approval_no"]:
        try:
            parse_document_number(item["approval_no"])
        except InvalidValue as exc:
            raise InvalidInput(f"批准文号：{exc.message}", field="approval_no") from None
    return item


def level_ranks_by_name() -> dict[str, int]:
    return {name: rank for name, rank in db.session.execute(select(TitleLevel.name, TitleLevel.rank)
                                                             .order_by(TitleLevel.rank))}


def series_name_set() -> set[str]:
    return set(db.session.scalars(select(TitleSeries.name)))


def queue(actor: User | None, source: str, items: Iterable[Mapping[str, Any]], issuer_unit: Unit | None = None,
          source_refs: Iterable[str] | None = None) -> list[Issuance]:
    """Hand people to certify to the issuing unit (default: the actor's): one Issuance and one process each.
    All or nothing: the first refused item raises and nothing is kept (the caller's transaction rolls back)."""
    if source not in SOURCES:
        raise InvalidInput(f"发证来源：无效（{source}）", field="source")
    unit = issuer_unit or (actor.unit if actor else None)
    if unit is None:
        raise InvalidInput("发证单位：必填", field="issuer_unit")
    levels, series = level_ranks_by_name(), series_name_set()
    refs = list(source_refs) if source_refs is not None else None
    queued = []
    for index, raw in enumerate(items):
        item = check_item(raw, levels, series)
        issuance = Issuance(source=source, issuer_unit_id=unit.id, status="pending",
                            source_ref=refs[index] if refs else "", created_by_id=actor.id if actor else None,
                            **{key: item[key] for key in FIELD_LABELS}, level_rank=item["level_rank"])
        db.session.add(issuance)
        db.session.flush()
        instances.start_process(PROCESS_ID, BUSINESS_TYPE, issuance.id, f"{issuance.name} {issuance.title_name}",
                                unit.id, {"issuance_id": issuance.id}, actor,
                                columns={"applicant_name": issuance.name})
        queued.append(issuance)
    if queued:
        audit_log.record(actor, "certificate.queue", f"进入发证队列 {len(queued)} 人（{SOURCE_LABELS[source]}）", "unit", unit.id,
                         {"source": source, "count": len(queued)})
    return queued


def issuance_of(task: HumanTask) -> Issuance:
    issuance = db.session.get(Issuance, task.business_id)
    if issuance is None or task.business_type != BUSINESS_TYPE:
        raise NotFound("发证记录不存在")
    return issuance


def complete_issuance_task(actor: User, task: HumanTask, form_data: Mapping[str, Any]) -> HumanTask:
    """The one action behind every queue button: pass / issue / return / cancel one person's task."""
    issuance = issuance_of(task)
    decision = str(form_data.get("decision") or "")
    opinion = str(form_data.get("opinion") or "").strip()
    if decision in ("return", "cancel") and not opinion:
        label = "退回" if decision == "return" else "取消发证"
        raise InvalidInput(f"意见：{label}时必须填写原因", field="opinion")
    certificate = issuance.certificate
    if decision == "issue":
        if task.bpmn_id != ISSUE_TASK:
            raise Conflict(f"{issuance.name}：尚未审核通过，不能发放")
        if issuance.source == "initial" and not (issuance.approval_no and issuance.approved_on):
            raise Conflict(f"{issuance.name}：请先生成证书（设置批准时间和职称文件文号）")
        if certificate is None or not certificate.pdf_sha256:
            raise Conflict(f"{issuance.name}：证书尚未生成（编号和 PDF）")
    if decision in ("return", "cancel") and certificate is not None and certificate.status == "valid":
        raise Conflict(f"{issuance.name}：证书已发放，请使用证书撤销")
    changes: dict[str, Any] = {}
    if decision == "pass" and issuance.batch_id is None:
        if not issuance.approval_no:
            raise Conflict(f"{issuance.name}：请选择批次（添加批次）")
        changes["batch_id"] = batch_id_for_approval_no(issuance.issuer_unit_id, issuance.source, issuance.approval_no)
    done = instances.complete_checked_task(actor, task, form_data)
    if decision == "pass":
        changes["status"] = "queued"
    elif decision == "issue":
        changes["status"] = "issued"
        assert certificate is not None
        _write(certificate, {"status": "valid"})
    elif decision == "return":
        changes["status"] = "pending" if task.bpmn_id == ISSUE_TASK else "returned"
        changes["reason"] = opinion[:500]
    elif decision == "cancel":
        changes["status"], changes["reason"] = "cancelled", opinion[:500]
    _write(issuance, changes)
    if decision in ("return", "cancel") and certificate is not None:
        db.session.delete(certificate)  # a generated, never issued certificate goes; its number is not reused
        db.session.flush()
    return done


def _write(record: Issuance | Certificate, changes: Mapping[str, Any]) -> None:
    """One UPDATE of the record's changed columns through Core (write_columns), after the caller's own ORM changes,
    as the autoflush would: the ORM's flush of one object cost a bulk job's item more than the statement itself
    (issue 17)."""
    if not changes:
        return
    db.session.flush()
    write_columns(record, changes)


instances.register_completer(BUSINESS_TYPE, complete_issuance_task)


def complete_task(actor: User, task_id: int, decision: str, opinion: str = "") -> HumanTask:
    task = instances.task_to_complete(actor, task_id)
    if task.business_type != BUSINESS_TYPE:
        raise NotFound("发证待办不存在")
    return complete_issuance_task(actor, task, {"decision": decision, "opinion": opinion})


# --- 批次 / 文号 (初定发证「添加批次」, 评审 / 委托「待发放」by 文号) -------------------------------------------


def create_batch(actor: User, source: str, name: str) -> IssuanceBatch:
    access.require_permission(actor, ISSUE_PERMISSION, actor.unit)
    name = name.strip()
    if not name:
        raise InvalidInput("批次号：必填", field="name")
    if len(name) > 60:
        raise InvalidInput("批次号：不能超过 60 个字", field="name")
    batch = IssuanceBatch(issuer_unit_id=actor.unit_id, source=source, name=name, created_by_id=actor.id)
    db.session.add(batch)
    db.session.flush()
    audit_log.record(actor, "certificate.batch", f"添加批次 {name}", "issuance_batch", batch.id)
    return batch


def batch_id_for_approval_no(unit_id: int, source: str, approval_no: str) -> int:
    """评审 / 委托发证「待发放」are grouped by 任职资格文件文号: one batch per 文号, made on first use. A batch is
    never deleted, so the id of one found is shared by a bulk job's chunk (shared_memo); one made here is not
    (its item may yet be rolled back)."""
    key = (unit_id, source, approval_no)
    memo = shared_memo("issuance_batch_ids")
    batch_id = memo.get(key)
    if batch_id is None:
        batch_id = db.session.scalar(select(IssuanceBatch.id).where(
            IssuanceBatch.issuer_unit_id == unit_id, IssuanceBatch.source == source, IssuanceBatch.name == approval_no))
        if batch_id is not None:
            memo[key] = batch_id
    if batch_id is None:
        batch = IssuanceBatch(issuer_unit_id=unit_id, source=source, name=approval_no, approval_no=approval_no)
        db.session.add(batch)
        db.session.flush()
        batch_id = batch.id
    return int(batch_id)


def batch_for(actor: User, batch_id: int) -> IssuanceBatch:
    batch = db.session.get(IssuanceBatch, batch_id)
    if batch is None or batch.issuer_unit_id != actor.unit_id:
        raise NotFound("批次不存在")
    return batch


def set_batch_approval(actor: User, batch: IssuanceBatch, approval_no: str, approved_on: date | None) -> int:
    """生成证书 (S 1.2.8.1.1): 批准时间 and 职称文件文号 for the batch and every person waiting in it."""
    access.require_permission(actor, ISSUE_PERMISSION, actor.unit)
    try:
        parse_document_number(approval_no)
    except InvalidValue as exc:
        raise InvalidInput(f"职称文件文号：{exc.message}", field="approval_no") from None
    if approved_on is None:
        raise InvalidInput("批准时间：必填", field="approved_on")
    if approved_on > date.today():
        raise InvalidInput("批准时间：不能晚于今天", field="approved_on")
    batch.approval_no, batch.approved_on = approval_no.strip(), approved_on
    waiting = list(db.session.scalars(select(Issuance).where(Issuance.batch_id == batch.id,
                                                              Issuance.status == "queued")))
    for issuance in waiting:
        if issuance.certificate is not None:
            continue  # generated already: its PDF shows what was set then
        issuance.approval_no, issuance.approved_on = batch.approval_no, approved_on
    db.session.flush()
    audit_log.record(actor, "certificate.approval", f"批次 {batch.name} 设置批准时间 {approved_on}、文号 {approval_no}",
                     "issuance_batch", batch.id)
    return len(waiting)


def batch_members(batch: IssuanceBatch) -> list[Issuance]:
    return list(db.session.scalars(select(Issuance).where(Issuance.batch_id == batch.id).order_by(Issuance.id)))


def stamped_field() -> FieldDefinition:
    return FieldDefinition("stamped", "盖章汇总表", "file", max_size_mb=20, accept=("pdf",))


def attach_stamped(actor: User, batch: IssuanceBatch, filename: str, content: bytes) -> None:
    """线下盖章上传 pdf 文件 (S 1.2.8.1.1): the stamped 汇总表 of the batch."""
    access.require_permission(actor, ISSUE_PERMISSION, actor.unit)
    if not content:
        raise InvalidInput("盖章汇总表：请选择文件", field="stamped")
    checked = file_store.check(stamped_field(), filename, content)
    file_store.store(checked, content)
    batch.stamped_sha256, batch.stamped_filename = checked.sha256, checked.filename
    db.session.flush()
    audit_log.record(actor, "certificate.stamped", f"批次 {batch.name} 上传盖章汇总表", "issuance_batch", batch.id)
