"""历史职称数据管理 (manual S 1.2.8.2; FEATURES J1–J4, J6): 数据上传, 数据审核, 历史评审机构管理."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from app.auth import permission_required
from app.blueprints.workflow.inbox import register_record_view
from app.extensions import db
from app.models import HistoryBatch, HistoryRecord, Job, ProcessInstance
from app.models.history import BATCH_STATUS_LABELS, METHOD_LABELS
from app.web import checked_uploads, paginate, send_stored, store_uploads, xlsx_response
from services.common.errors import InvalidInput, ServiceError
from services.common.excel.export import write_table
from services.history import bodies, review, upload
from services.history import certificates as history_certificates
from services.history.records import COLUMNS, FIELDS, HEADERS
from services.workflow import instances
from services.workflow.forms import FieldDefinition

bp = Blueprint("history", __name__, url_prefix="/history")

TABS = {"pending": ("待提交", ("checking", "draft", "returned", "failed")), "reviewing": ("审核中", ("reviewing",)),
        "approved": ("待发证", ("approved",)), "rejected": ("审核不通过", ("rejected",))}
QUALIFICATION_FILE = FieldDefinition("qualification_file", "任职资格文件", "file", max_size_mb=20,
                                     accept=("pdf", "jpg", "png"))


def _job_of(batch: HistoryBatch) -> Job | None:
    return db.session.get(Job, batch.job_id) if batch.job_id else None


# --- 数据上传 -----------------------------------------------------------------------------------------------------

@bp.route("/")
@permission_required(upload.COLLECT_PERMISSION)
def index() -> Any:
    tab = request.args.get("tab", "pending") if request.args.get("tab") in TABS else "pending"
    method = request.args.get("method", "") if request.args.get("method") in METHOD_LABELS else ""
    doc_no = request.args.get("doc_no", "").strip()[:60]
    stmt = select(HistoryBatch).where(HistoryBatch.collector_unit_id == current_user.unit_id,
                                      HistoryBatch.status.in_(TABS[tab][1]))
    if method:
        stmt = stmt.where(HistoryBatch.method == method)
    if doc_no:
        stmt = stmt.where(HistoryBatch.doc_no.contains(doc_no, autoescape=True))
    stmt = stmt.order_by(HistoryBatch.created_at.desc(), HistoryBatch.id.desc()).options(
        selectinload(HistoryBatch.collected_by), selectinload(HistoryBatch.issuer))  # the list's columns, not per row
    return render_template("history/index.html", pagination=paginate(stmt), tab=tab, tabs=TABS, method=method,
                           doc_no=doc_no, methods=METHOD_LABELS, allowed=upload.methods_for(current_user))


@bp.route("/template")
@permission_required(upload.COLLECT_PERMISSION)
def template() -> Any:
    method = request.args.get("method", "review")
    if method not in METHOD_LABELS:
        abort(404)
    return xlsx_response(upload.template_xlsx(method), f"历史职称数据导入模板（{METHOD_LABELS[method]}）.xlsx")


@bp.route("/upload", methods=["GET", "POST"])
@permission_required(upload.COLLECT_PERMISSION)
def upload_batch() -> Any:
    allowed = upload.methods_for(current_user)
    values = {"method": request.values.get("method", next(iter(allowed), "")), "doc_no": request.form.get("doc_no", "")}
    if request.method == "POST":
        file = request.files.get("file")
        try:
            batch = upload.create_batch(current_user, values["method"], values["doc_no"],
                                        file.filename if file else "", file.read() if file else b"")
            job = upload.start_check(current_user, batch, url_for("history.batch", batch_id=batch.id))
            batch.job_id = job.id
            db.session.commit()
        except ServiceError as exc:
            db.session.rollback()
            return render_template("history/upload.html", allowed=allowed, values=values, error=exc.message,
                                   errors=exc.errors or {exc.field or "file": [exc.message]}), exc.status
        return redirect(url_for("history.batch", batch_id=batch.id))
    return render_template("history/upload.html", allowed=allowed, values=values, errors={})


@bp.route("/batches/<int:batch_id>")
@permission_required(upload.COLLECT_PERMISSION)
def batch(batch_id: int) -> Any:
    batch = upload.load_batch(current_user, batch_id)
    show = request.args.get("show", "failed" if batch.failed_count else "ok")
    show = show if show in ("ok", "failed") else "ok"
    records = paginate(select(HistoryRecord).where(HistoryRecord.batch_id == batch.id, HistoryRecord.status == show)
                       .order_by(HistoryRecord.row_no))
    issuers = review.issuer_choices(current_user, batch) if batch.status in upload.EDITABLE else []
    paths = {u.id: review.review_path(batch.collector, u, batch.method) for u in issuers}
    return render_template("history/batch.html", batch=batch, records=records, show=show, job=_job_of(batch),
                           issuers=issuers, paths=paths, columns=COLUMNS, errors={})


@bp.route("/batches/<int:batch_id>/failures.xlsx")
@permission_required(upload.COLLECT_PERMISSION)
def failures(batch_id: int) -> Any:
    batch = upload.load_batch(current_user, batch_id)
    return xlsx_response(upload.failures_xlsx(batch), f"历史职称数据失败数据（{batch.doc_no}）.xlsx")


@bp.route("/batches/<int:batch_id>/delete-failed", methods=["POST"])
@permission_required(upload.COLLECT_PERMISSION)
def delete_failed(batch_id: int) -> Any:
    batch = upload.load_batch(current_user, batch_id)
    ids = None if request.form.get("all") == "1" else \
        [int(i) for i in request.form.getlist("record_ids") if i.isdigit()]
    deleted = upload.delete_failed(current_user, batch, ids)
    db.session.commit()
    flash(f"已删除失败数据 {deleted} 条", "success")
    return redirect(url_for("history.batch", batch_id=batch.id))


@bp.route("/batches/<int:batch_id>/records/<int:record_id>", methods=["GET", "POST"])
@permission_required(upload.COLLECT_PERMISSION)
def edit_record(batch_id: int, record_id: int) -> Any:
    batch = upload.load_batch(current_user, batch_id)
    record = upload.load_record(batch, record_id)
    if request.method == "POST":
        checked = upload.correct_record(current_user, batch, record, request.form)
        db.session.commit()
        if checked.errors:
            return render_template("history/record.html", batch=batch, record=record, columns=COLUMNS,
                                   headers=HEADERS), 400
        flash(f"第 {record.row_no} 行已修改，检验通过", "success")
        return redirect(url_for("history.batch", batch_id=batch.id, show="failed" if batch.failed_count else "ok"))
    return render_template("history/record.html", batch=batch, record=record, columns=COLUMNS, headers=HEADERS)


@bp.route("/batches/<int:batch_id>/submit", methods=["POST"])
@permission_required(upload.COLLECT_PERMISSION)
def submit(batch_id: int) -> Any:
    batch = upload.load_batch(current_user, batch_id)
    try:
        files = checked_uploads("qualification_file", QUALIFICATION_FILE)[:1]
        issuer = request.form.get("issuer_id", "")
        review.submit(current_user, batch, int(issuer) if issuer.isdigit() else None, files[0][0] if files else None)
        store_uploads(files)
        db.session.commit()
    except ServiceError as exc:
        db.session.rollback()
        batch = upload.load_batch(current_user, batch_id)
        records = paginate(select(HistoryRecord).where(HistoryRecord.batch_id == batch.id,
                                                       HistoryRecord.status == "ok").order_by(HistoryRecord.row_no))
        issuers = review.issuer_choices(current_user, batch)
        paths = {u.id: review.review_path(batch.collector, u, batch.method) for u in issuers}
        return render_template("history/batch.html", batch=batch, records=records, show="ok", job=_job_of(batch),
                               issuers=issuers, paths=paths, columns=COLUMNS, error=exc.message,
                               errors=exc.errors or {exc.field or "submit": [exc.message]}), exc.status
    flash("已提交审核", "success")
    return redirect(url_for("history.index", tab="reviewing"))


@bp.route("/batches/<int:batch_id>/delete", methods=["POST"])
@permission_required(upload.COLLECT_PERMISSION)
def delete_batch(batch_id: int) -> Any:
    batch = upload.load_batch(current_user, batch_id)
    upload.delete_batch(current_user, batch)
    db.session.commit()
    flash("批次已删除", "success")
    return redirect(url_for("history.index"))


@bp.route("/batches/<int:batch_id>/qualification-file")
@login_required
def qualification_file(batch_id: int) -> Any:
    batch = review.load_for_review(current_user, batch_id)
    return send_stored(batch.qualification_file)


# --- 数据审核 -----------------------------------------------------------------------------------------------------

@bp.route("/review")
@permission_required("history.review")
def review_list() -> Any:
    doc_no = request.args.get("doc_no", "").strip()[:60]
    stmt = review.waiting_query(current_user)
    if doc_no:
        stmt = stmt.where(HistoryBatch.doc_no.contains(doc_no, autoescape=True))
    pagination = paginate(stmt)
    tasks = instances.open_tasks_of(current_user, review.BUSINESS_TYPE, [b.id for b in pagination.items])
    return render_template("history/review_list.html", pagination=pagination, tasks=tasks, doc_no=doc_no,
                           business_type=review.BUSINESS_TYPE)


@bp.route("/review/<int:batch_id>", methods=["GET", "POST"])
@login_required
def review_batch(batch_id: int) -> Any:
    """A batch for its reviewers (and its collector): the people, the file, 人员名单校验, the export."""
    batch = review.load_for_review(current_user, batch_id)
    names, pasted, errors = None, "", {}
    if request.method == "POST":
        pasted = request.form.get("names", "")[:20000]
        try:
            names = review.check_names(batch, pasted)
        except InvalidInput as exc:
            errors = {"names": [exc.message]}
    records = paginate(select(HistoryRecord).where(HistoryRecord.batch_id == batch.id, HistoryRecord.status == "ok")
                       .order_by(HistoryRecord.row_no))
    tasks = instances.open_tasks_of(current_user, review.BUSINESS_TYPE, [batch.id])
    return render_template("history/review.html", batch=batch, records=records, names=names, pasted=pasted,
                           errors=errors, task=tasks.get(batch.id), columns=COLUMNS), 400 if errors else 200


@bp.route("/review/<int:batch_id>/export.xlsx")
@login_required
def export_batch(batch_id: int) -> Any:
    batch = review.load_for_review(current_user, batch_id)
    rows = db.session.execute(select(*[getattr(HistoryRecord, f) for f in FIELDS]).where(
        HistoryRecord.batch_id == batch.id, HistoryRecord.status == "ok").order_by(HistoryRecord.row_no)
        .execution_options(yield_per=2000))
    return xlsx_response(write_table("历史职称数据", [h for h, _, _, _ in COLUMNS], rows),
                         f"历史职称数据（{batch.doc_no}）.xlsx")


def _batch_record(instance: ProcessInstance) -> dict[str, Any]:
    batch = db.session.get(HistoryBatch, instance.business_id)
    if batch is None:
        from services.common.errors import NotFound

        raise NotFound("批次不存在")
    people = list(db.session.scalars(select(HistoryRecord).where(
        HistoryRecord.batch_id == batch.id, HistoryRecord.status == "ok").order_by(HistoryRecord.row_no).limit(10)))
    return {"batch": batch, "people": people}


register_record_view(review.BUSINESS_TYPE, _batch_record)


# --- 历史证书生成 (J5) -------------------------------------------------------------------------------------------------

@bp.route("/issue")
@permission_required(history_certificates.ISSUE_PERMISSION)
def issue_list() -> Any:
    pagination = paginate(history_certificates.pending_batches(current_user))
    return render_template("history/issue.html", pagination=pagination,
                           bodies=history_certificates.review_bodies([b.id for b in pagination.items]))


@bp.route("/issue/<int:batch_id>", methods=["POST"])
@permission_required(history_certificates.ISSUE_PERMISSION)
def issue_batch(batch_id: int) -> Any:
    batch = db.session.get(HistoryBatch, batch_id)
    if batch is None:
        abort(404)
    job = history_certificates.start_issue(current_user, batch)
    return redirect(url_for("jobs.detail", job_id=job.id))


# --- 历史评审机构管理 (J6) ------------------------------------------------------------------------------------------

@bp.route("/bodies")
@permission_required(bodies.PERMISSION)
def body_list() -> Any:
    keyword = request.args.get("name", "").strip()[:50]
    stmt = bodies.visible(current_user)
    if keyword:
        stmt = stmt.where(or_(*[bodies.HistoricalBody.name.contains(keyword, autoescape=True)]))
    series, levels = bodies.choices()
    return render_template("history/bodies.html", pagination=paginate(stmt), keyword=keyword,
                           series={s.code: s.name for s in series}, levels={lv.code: lv.name for lv in levels})


def _body_form(body: Any, status: int = 200, errors: dict[str, list[str]] | None = None, error: str = "") -> Any:
    series, levels = bodies.choices()
    units = bodies.collector_choices(current_user)
    return render_template("history/body_form.html", body=body, series=series, levels=levels, units=units,
                           values=request.form if request.method == "POST" else None, errors=errors or {},
                           error=error), status


@bp.route("/bodies/new", methods=["GET", "POST"])
@bp.route("/bodies/<int:body_id>/edit", methods=["GET", "POST"])
@permission_required(bodies.PERMISSION)
def body_edit(body_id: int | None = None) -> Any:
    body = bodies.load(current_user, body_id) if body_id else None
    if request.method == "POST":
        data = {"name": request.form.get("name", ""), "series_codes": request.form.getlist("series_codes"),
                "level_codes": request.form.getlist("level_codes"),
                "collector_ids": request.form.getlist("collector_ids")}
        try:
            bodies.save(current_user, data, body)
            db.session.commit()
        except ServiceError as exc:
            db.session.rollback()
            body = bodies.load(current_user, body_id) if body_id else None
            return _body_form(body, exc.status, exc.errors, exc.message)
        flash("历史评审机构已保存", "success")
        return redirect(url_for("history.body_list"))
    return _body_form(body)


@bp.route("/bodies/<int:body_id>/toggle", methods=["POST"])
@permission_required(bodies.PERMISSION)
def body_toggle(body_id: int) -> Any:
    body = bodies.load(current_user, body_id)
    bodies.set_enabled(current_user, body, not body.enabled)
    db.session.commit()
    flash(f"「{body.name}」已{'启用' if body.enabled else '停用'}", "success")
    return redirect(url_for("history.body_list"))


@bp.route("/bodies/<int:body_id>/delete", methods=["POST"])
@permission_required(bodies.PERMISSION)
def body_delete(body_id: int) -> Any:
    body = bodies.load(current_user, body_id)
    bodies.remove(current_user, body)
    db.session.commit()
    flash("历史评审机构已删除", "success")
    return redirect(url_for("history.body_list"))


@bp.app_template_global()
def history_status_labels() -> dict[str, str]:
    return BATCH_STATUS_LABELS
