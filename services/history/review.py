"""提交审核 and 数据审核 (manual S 1.2.8.2.1 (2), 1.2.8.2.2; FEATURES J3, J4), through bpmn/historical_upload.bpmn.

Rules owned here:
- A batch is submitted when it has rows and no failed row, with a 任职资格文件 (PDF or image) attached.
- 职称评审 data goes to a 发证机构 the collector chooses: the 授权管理单位 of one of its filed committees, or the
  人社部门 that maintains a 历史评审机构 designating it. The review path is the collector's superiors from its
  parent up to the 发证机构 (shown before submission); a 发证机构 outside the collector's line is the only step.
- 初定 / 确认 / 委托评审 data is uploaded by the 发证机构 itself and reviewed inside it only (its own levels).
- Each unit of the path reviews with its 多岗审核 levels (item history_review). 审核通过 at the last unit makes the
  batch 待发证 (历史证书生成, J5); 审核退回 goes back to the collector, which corrects and submits again from the
  first unit; 审核不通过 ends the batch.
- 任职资格文件人员名单校验: names pasted separated by spaces (or commas, new lines) against the batch's people:
  存在 / 不存在 per person of the batch.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import (
    Committee,
    HistoricalBody,
    HistoricalBodyCollector,
    HistoryBatch,
    HistoryRecord,
    Unit,
    User,
)
from services.authz import access, audit_chain
from services.common import audit_log
from services.common.errors import Conflict, InvalidInput, NotFound
from services.history.upload import COLLECT_PERMISSION, ISSUER_METHODS
from services.workflow import instances
from services.workflow.scripting import WHITELIST, FunctionRegistry

BUSINESS_TYPE = "historical_upload"
PROCESS_ID = "historical_upload"
AUDIT_ITEM = "history_review"
REVIEW_PERMISSION = "history.review"


# --- 提交审核 ---------------------------------------------------------------------------------------------------

def issuer_choices(actor: User, batch: HistoryBatch) -> list[Unit]:
    """The 发证机构 a batch may go to (J3)."""
    if batch.method in ISSUER_METHODS:
        return [actor.unit]
    ids = set(db.session.scalars(select(Committee.authorizing_unit_id).where(
        Committee.forming_unit_id == batch.collector_unit_id, Committee.status.in_(("filed", "expired")))))
    ids |= set(db.session.scalars(select(HistoricalBody.unit_id).join(HistoricalBodyCollector).where(
        HistoricalBodyCollector.unit_id == batch.collector_unit_id, HistoricalBody.enabled.is_(True))))
    return list(db.session.scalars(select(Unit).where(Unit.id.in_(ids)).order_by(Unit.depth.desc(), Unit.name)))


def review_path(collector: Unit, issuer: Unit, method: str) -> list[Unit]:
    """The units a batch passes, in order (本次审核需经过以下几级单位)."""
    if method in ISSUER_METHODS:
        return [issuer]
    if not collector.is_within(issuer) or collector.id == issuer.id:
        return [issuer]
    ids = [int(i) for i in collector.path.strip("/").split("/")]
    chain = ids[ids.index(issuer.id):-1]  # the issuer down to the collector's parent
    units = {u.id: u for u in db.session.scalars(select(Unit).where(Unit.id.in_(chain)))}
    return [units[i] for i in reversed(chain)]


def submit(actor: User, batch: HistoryBatch, issuer_id: int | None, qualification_file: dict[str, Any] | None) -> None:
    """提交审核: the checks, then the batch's process (a first submission) or its 修改 task (after 退回)."""
    if batch.status not in ("draft", "returned"):
        raise Conflict(f"批次{batch.status_label}，不能提交审核")
    if batch.failed_count:
        raise InvalidInput(f"还有 {batch.failed_count} 条检验失败的数据，请修改或删除后再提交", field="records")
    if not batch.ok_count:
        raise InvalidInput("批次没有检验成功的数据", field="records")
    choices = {u.id: u for u in issuer_choices(actor, batch)}
    if issuer_id not in choices:
        raise InvalidInput("发证机构：请从列表中选择", field="issuer_id")
    if not (qualification_file or batch.qualification_file):
        raise InvalidInput("任职资格文件：请上传任职资格文件", field="qualification_file")
    issuer = choices[issuer_id]
    batch.issuer_unit_id = issuer.id
    batch.path = [u.id for u in review_path(batch.collector, issuer, batch.method)]
    batch.step = 0
    if qualification_file:
        batch.qualification_file = qualification_file
    batch.submitted_at = datetime.now()
    returned = batch.status == "returned"
    batch.status, batch.opinion = "reviewing", ""
    if returned:
        task = instances.open_task_for(BUSINESS_TYPE, batch.id, "unit_admin")
        if task is None:
            raise Conflict("没有待修改的审核流程")
        instances.complete_checked_task(actor, task, {"note": "修改后重新提交"})
    else:
        instances.start_process(PROCESS_ID, BUSINESS_TYPE, batch.id, f"历史职称数据审核：{batch.doc_no}",
                                batch.collector_unit_id, {"batch_id": batch.id}, actor)
    audit_log.record(actor, "history.submit", f"提交审核：{batch.doc_no} 至 {issuer.name}", "history_batch",
                     batch.id)


# --- whitelisted business operations (bpmn/historical_upload.bpmn) ------------------------------------------------

def _reviewing(batch_id: int) -> HistoryBatch:
    batch = db.session.get(HistoryBatch, int(batch_id))
    if batch is None or batch.status != "reviewing":
        raise Conflict(f"历史职称数据批次 {batch_id} 不存在或不在审核中")
    return batch


def route_history_batch(batch_id: int) -> dict[str, Any]:
    """The unit reviewing now and the levels it passes through."""
    batch = _reviewing(batch_id)
    unit_id = batch.path[batch.step]
    batch.current_unit_id = unit_id
    return {"unit_id": unit_id, "levels": audit_chain.review_levels(unit_id, AUDIT_ITEM)}


def pass_history_batch(batch_id: int, opinion: str = "") -> bool:
    """A unit's last level passed: on to the next unit; True when the 发证机构 passed it (待发证)."""
    batch = _reviewing(batch_id)
    if batch.step + 1 < len(batch.path):
        batch.step += 1
        return False
    batch.status, batch.opinion, batch.current_unit_id = "approved", str(opinion or "")[:500], None
    audit_log.record(instances.current_actor.get(), "history.approved", f"历史职称数据审核通过：{batch.doc_no}",
                     "history_batch", batch.id)
    return True


def return_history_batch(batch_id: int, opinion: str = "") -> None:
    """审核退回: to the collecting unit, which corrects and submits again."""
    batch = _reviewing(batch_id)
    batch.status, batch.opinion, batch.step, batch.current_unit_id = "returned", str(opinion or "")[:500], 0, None


def reject_history_batch(batch_id: int, opinion: str = "") -> None:
    batch = _reviewing(batch_id)
    batch.status, batch.opinion, batch.current_unit_id = "rejected", str(opinion or "")[:500], None
    audit_log.record(instances.current_actor.get(), "history.rejected", f"历史职称数据审核不通过：{batch.doc_no}",
                     "history_batch", batch.id)


def register_operations(registry: FunctionRegistry = WHITELIST) -> None:
    registry.register("route_history_batch", route_history_batch, replace=True)
    registry.register("pass_history_batch", pass_history_batch, replace=True)
    registry.register("return_history_batch", return_history_batch, replace=True)
    registry.register("reject_history_batch", reject_history_batch, replace=True)


# --- 数据审核 ----------------------------------------------------------------------------------------------------

def waiting_query(actor: User) -> Any:
    """Batches waiting on the actor's unit (for the 数据审核 list)."""
    return select(HistoryBatch).where(HistoryBatch.status == "reviewing", HistoryBatch.current_unit_id == actor.unit_id) \
        .order_by(HistoryBatch.submitted_at, HistoryBatch.id).options(selectinload(HistoryBatch.issuer))


def load_for_review(actor: User, batch_id: int) -> HistoryBatch:
    """A batch the actor's unit collected or reviews (now or earlier on its path)."""
    batch = db.session.get(HistoryBatch, batch_id)
    collects = batch is not None and batch.collector_unit_id == actor.unit_id \
        and access.has_permission(actor, COLLECT_PERMISSION, actor.unit)
    reviews = batch is not None and actor.unit_id in (batch.path or []) \
        and access.has_permission(actor, REVIEW_PERMISSION, actor.unit)
    issues = batch is not None and actor.unit_id == batch.issuer_unit_id and batch.status in ("approved", "issuing",
                                                                                              "issued") \
        and access.has_permission(actor, "certificate.issue", actor.unit)  # 历史证书生成's 证书列表
    if batch is None or not (collects or reviews or issues):
        raise NotFound("批次不存在或无权查看")
    return batch


@dataclass
class NameCheck:
    name: str
    id_number: str
    found: bool


def check_names(batch: HistoryBatch, pasted: str) -> list[NameCheck]:
    """任职资格文件人员名单校验: each person of the batch 存在 / 不存在 in the pasted list."""
    names = {n for n in re.split(r"[\s,，、;；]+", pasted or "") if n}
    if not names:
        raise InvalidInput("人员名单：请粘贴任职资格文件中的姓名，姓名之间用空格分开", field="names")
    rows = db.session.execute(select(HistoryRecord.name, HistoryRecord.id_number).where(
        HistoryRecord.batch_id == batch.id, HistoryRecord.status == "ok").order_by(HistoryRecord.row_no))
    return [NameCheck(name, number, name in names) for name, number in rows]
