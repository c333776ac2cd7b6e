"""历史证书生成 (manual S 1.2.8.2.3; FEATURES J5): approved historical batches go to the certificate flow.

Rules owned here:
- The 发证机构 (its staff holding certificate.issue) sees its 待发证 batches grouped by 采集单位, 职称文件文号 and
  评审机构; 批量发证 hands every person of a batch to services.certificates (source 历史) as a background job, one
  person per transaction (a retried job neither queues a person twice nor loses one), and the batch becomes 已转发证.
- From there the issuer's 发证 queue does the rest (取消发证 / 退回, 汇总表, the stamped PDF, 发放).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update

from app.extensions import db
from app.models import HistoryBatch, HistoryRecord, Unit, User
from services.authz import access
from services.common.errors import Conflict, NotFound
from services.jobs import JobContext, job_kind, start_job

ISSUE_PERMISSION = "certificate.issue"


def _require(actor: User) -> None:
    if not access.has_permission(actor, ISSUE_PERMISSION, actor.unit):
        raise NotFound("无权发证")


def pending_batches(actor: User) -> Any:
    """待发证 batches of the actor's unit as 发证机构, by 采集单位 and 文号 (the statement, for paging)."""
    _require(actor)
    return select(HistoryBatch).where(HistoryBatch.issuer_unit_id == actor.unit_id,
                                      HistoryBatch.status.in_(("approved", "issuing"))) \
        .order_by(HistoryBatch.status, HistoryBatch.collector_unit_id, HistoryBatch.doc_no, HistoryBatch.id)


def review_bodies(batch_ids: list[int]) -> dict[int, str]:
    """Each batch's 评审机构 (the names its rows give, joined) in one statement."""
    rows = db.session.execute(select(HistoryRecord.batch_id, HistoryRecord.review_body).where(
        HistoryRecord.batch_id.in_(batch_ids), HistoryRecord.status == "ok").distinct())
    bodies: dict[int, list[str]] = {}
    for batch_id, body in rows:
        bodies.setdefault(batch_id, []).append(body)
    return {batch_id: "、".join(sorted(names)) for batch_id, names in bodies.items()}


def start_issue(actor: User, batch: HistoryBatch) -> Any:
    """批量发证: the batch's people go to the certificate queue in a job."""
    _require(actor)
    if batch.issuer_unit_id != actor.unit_id:
        raise NotFound("批次不存在或不由本单位发证")
    if batch.status != "approved":
        raise Conflict(f"批次{batch.status_label}，不能再次发证")
    batch.status = "issuing"
    return start_job(actor, "history.queue_certificates", f"历史证书生成：{batch.doc_no}",
                     {"batch_id": batch.id, "next_url": "/certificates/queue"})


def _item(record: HistoryRecord) -> dict[str, Any]:
    return {"name": record.name, "gender": record.gender, "id_type": record.id_type, "id_number": record.id_number,
            "work_unit": record.work_unit, "series_name": record.series_name,
            "specialty_name": record.specialty_name, "title_name": record.title_name,
            "level_name": record.level_name, "qualified_on": record.approval_date,
            "committee_name": record.review_body, "approval_no": record.doc_no,
            "approved_on": record.approval_date}


@job_kind("history.queue_certificates", "历史证书生成：转入发证队列", cancellable=False)
def _queue_job(ctx: JobContext, params: dict[str, Any]) -> None:
    from services.certificates import issuance

    batch = db.session.get(HistoryBatch, params["batch_id"])
    actor = ctx.actor
    if batch is None or actor is None:
        raise NotFound("批次不存在")
    issuer = db.session.get(Unit, batch.issuer_unit_id)
    ids = list(db.session.scalars(select(HistoryRecord.id).where(
        HistoryRecord.batch_id == batch.id, HistoryRecord.status == "ok").order_by(HistoryRecord.row_no)))
    ctx.set_total(len(ids))

    def one(key: str) -> str:
        record = db.session.get(HistoryRecord, int(key))
        assert record is not None
        issuance.queue(actor, "history", [_item(record)], issuer_unit=issuer, source_refs=[f"history:{record.id}"])
        return record.name

    ctx.each(ids, one)
    queued = db.session.scalar(select(func.count()).select_from(HistoryRecord).where(
        HistoryRecord.batch_id == batch.id, HistoryRecord.status == "ok"))
    db.session.execute(update(HistoryBatch).where(HistoryBatch.id == batch.id).values(status="issued"))
    ctx.summary = f"已转入发证队列 {queued} 人，请在证书发放中继续发证"
    ctx.result = {"next_url": params["next_url"], "next_label": "前往证书发放"}
