"""The issuer's queues (初定 / 评审 / 委托发证: 待处理, 待发放 by 批次 or 文号, 已发放), batches and bulk clearing."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_sqlalchemy.pagination import SelectPagination

from app.auth import permission_required
from app.blueprints.certificates import bp
from app.extensions import db
from app.models.certificates import SOURCE_LABELS
from app.web import date_input, send_stored, xlsx_response
from services.certificates import bulk, issuance, queues
from services.certificates.issuance import level_ranks_by_name
from services.common import audit_log
from services.common.errors import InvalidInput
from services.common.excel.export import write_table
from services.workflow.inbox import batch_task_ids

ISSUE = "certificate.issue"


class RowPagination(SelectPagination):
    """A page of rows of several entities ((HumanTask, Issuance) …): db.paginate gives the first entity only."""

    def _query_items(self) -> list[Any]:
        stmt = self._query_args["select"].limit(self.per_page).offset(self._query_offset)
        return list(self._query_args["session"].execute(stmt).all())


def paginate_rows(stmt: Any) -> RowPagination:
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    size = min(max(request.args.get("per_page", 20, type=int) or 20, 1), 100)
    return RowPagination(select=stmt, session=db.session(), page=page, per_page=size, error_out=False, count=True)


def _filters() -> queues.QueueFilters:
    args = request.args
    source = args.get("source", "initial")
    return queues.QueueFilters(source=source if source in SOURCE_LABELS else "", name=args.get("name", "").strip()[:30],
                               id_number=args.get("id_number", "").strip()[:30],
                               batch_id=args.get("batch_id", type=int), level_name=args.get("level_name", "")[:10],
                               committee_name=args.get("committee_name", "").strip()[:50])


@bp.route("/queue")
@permission_required(ISSUE)
def queue() -> Any:
    tab = request.args.get("tab", "pending")
    if tab not in queues.TABS:
        tab = "pending"
    filters = _filters()
    if tab == "issued":
        pagination = paginate_rows(queues.issued_rows(current_user, filters))
    else:
        pagination = paginate_rows(queues.task_rows(current_user, tab, filters))
    return render_template("certificates/queue.html", tab=tab, tabs=queues.TABS, filters=filters,
                           pagination=pagination, counts=queues.tab_counts(current_user, filters),
                           batches=queues.batches(current_user, filters.source), sources=SOURCE_LABELS,
                           levels=list(level_ranks_by_name()), actions=bulk.ACTIONS)


@bp.route("/queue/clear", methods=["POST"])
@permission_required(ISSUE)
def clear() -> Any:
    """批量处理: the checked tasks, or every task of the filter the page showed (scope=filter)."""
    form = request.form
    tab = form.get("tab", "pending")
    if tab not in ("pending", "waiting"):
        raise InvalidInput("列表：无效", field="tab")
    if form.get("scope") == "filter":
        filters = queues.QueueFilters(source=form.get("source", ""), name=form.get("name", ""),
                                      id_number=form.get("id_number", ""), batch_id=form.get("batch_id", type=int),
                                      level_name=form.get("level_name", ""),
                                      committee_name=form.get("committee_name", ""))
        task_ids = queues.task_ids(current_user, tab, filters)
    else:
        task_ids = batch_task_ids(form.getlist("task_ids"), noun="人员", action="批量处理")
    action = form.get("action", "")
    target_batch = form.get("target_batch_id", type=int)
    if action == "pass" and target_batch:
        issuance.batch_for(current_user, target_batch)  # 404 for another unit's batch
    job = bulk.start_clearing(current_user, action, task_ids, form.get("opinion", ""), target_batch)
    flash(f"已提交后台处理 {len(task_ids)} 人，可在本页查看进度", "info")
    return redirect(url_for("jobs.detail", job_id=job.id))


@bp.route("/batches", methods=["POST"])
@permission_required(ISSUE)
def create_batch() -> Any:
    source = request.form.get("source", "initial")
    batch = issuance.create_batch(current_user, source if source in SOURCE_LABELS else "initial",
                                  request.form.get("name", ""))
    db.session.commit()
    flash(f"已添加批次 {batch.name}", "success")
    return redirect(url_for("certificates.queue", source=batch.source, tab="pending"))


@bp.route("/batches/<int:issuance_batch_id>/approval", methods=["POST"])
@permission_required(ISSUE)
def batch_approval(issuance_batch_id: int) -> Any:
    """生成证书 (S 1.2.8.1.1): set 批准时间 and 职称文件文号 for the batch."""
    batch = issuance.batch_for(current_user, issuance_batch_id)
    approved_on = date_input(request.form.get("approved_on"), "approved_on", "批准时间")
    count = issuance.set_batch_approval(current_user, batch, request.form.get("approval_no", ""), approved_on)
    db.session.commit()
    flash(f"已为批次 {batch.name} 的 {count} 人设置批准时间和职称文件文号", "success")
    return redirect(url_for("certificates.queue", source=batch.source, tab="waiting", batch_id=batch.id))


@bp.route("/batches/<int:issuance_batch_id>/summary.xlsx")
@permission_required(ISSUE)
def batch_summary(issuance_batch_id: int) -> Any:
    """汇总表: the batch's people, to print, stamp offline and upload back as PDF."""
    batch = issuance.batch_for(current_user, issuance_batch_id)
    rows = issuance.batch_members(batch)
    content = write_table("汇总表", ["序号", "姓名", "性别", "证件号码", "工作单位", "系列", "专业", "资格名称", "级别",
                                   "取得资格时间", "评审委员会", "批准时间", "职称文件文号", "状态"],
                          ([n, i.name, i.gender, i.id_number, i.work_unit, i.series_name, i.specialty_name,
                            i.title_name, i.level_name, i.qualified_on, i.committee_name, i.approved_on,
                            i.approval_no, i.status_label] for n, i in enumerate(rows, start=1)))
    audit_log.record(current_user, "certificate.summary", f"导出批次 {batch.name} 汇总表", "issuance_batch", batch.id)
    db.session.commit()
    return xlsx_response(content, f"{batch.name}汇总表.xlsx")


@bp.route("/batches/<int:issuance_batch_id>/stamped", methods=["POST"])
@permission_required(ISSUE)
def upload_stamped(issuance_batch_id: int) -> Any:
    batch = issuance.batch_for(current_user, issuance_batch_id)
    upload = request.files.get("stamped")
    issuance.attach_stamped(current_user, batch, upload.filename if upload else "", upload.read() if upload else b"")
    db.session.commit()
    flash("已上传盖章汇总表", "success")
    return redirect(url_for("certificates.queue", source=batch.source, tab="waiting", batch_id=batch.id))


@bp.route("/batches/<int:issuance_batch_id>/stamped.pdf")
@permission_required(ISSUE)
def stamped(issuance_batch_id: int) -> Any:
    batch = issuance.batch_for(current_user, issuance_batch_id)
    return send_stored({"sha256": batch.stamped_sha256, "filename": batch.stamped_filename, "file_type": "pdf"})


