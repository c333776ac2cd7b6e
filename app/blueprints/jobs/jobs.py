"""我的任务 list, the job page, its self-updating panel (htmx), the result file, cancel and retry."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from app.extensions import db
from app.models import Job, JobItem
from app.models.jobs import ITEM_STATUS_LABELS, JOB_STATE_LABELS
from app.web import paginate
from services.common import file_store
from services.jobs import cancel_job, retry_job
from services.jobs.runner import is_cancellable, kind_label, load_job

bp = Blueprint("jobs", __name__, url_prefix="/jobs")


@bp.app_context_processor
def _job_helpers() -> dict[str, Any]:
    return {"job_kind_label": kind_label, "job_cancellable": is_cancellable}


@bp.route("/")
@login_required
def index() -> Any:
    state = request.args.get("state", "")
    stmt = select(Job).where(Job.started_by_id == current_user.id)
    if state in JOB_STATE_LABELS:
        stmt = stmt.where(Job.state == state)
    pagination = paginate(stmt.order_by(Job.id.desc()))
    return render_template("jobs/index.html", pagination=pagination, state=state, states=JOB_STATE_LABELS)


@bp.route("/<int:job_id>")
@login_required
def detail(job_id: int) -> Any:
    job = load_job(current_user, job_id)
    status = request.args.get("status", "")
    stmt = select(JobItem).where(JobItem.job_id == job.id)
    if status in ITEM_STATUS_LABELS:
        stmt = stmt.where(JobItem.status == status)
    items = paginate(stmt.order_by(JobItem.id))
    return render_template("jobs/detail.html", job=job, items=items, status=status, statuses=ITEM_STATUS_LABELS)


@bp.route("/<int:job_id>/panel")
@login_required
def panel(job_id: int) -> Any:
    return render_template("jobs/_panel.html", job=load_job(current_user, job_id))


@bp.route("/<int:job_id>/file")
@login_required
def result_file(job_id: int) -> Any:
    job = load_job(current_user, job_id)
    if not job.result_sha256:
        abort(404)
    path = file_store.path_for(job.result_sha256)
    if not path.exists():
        abort(404)
    return send_file(path, mimetype=job.result_mimetype or "application/octet-stream", as_attachment=True,
                     download_name=job.result_filename or "结果文件")


@bp.route("/<int:job_id>/cancel", methods=["POST"])
@login_required
def cancel(job_id: int) -> Any:
    job = load_job(current_user, job_id)
    cancel_job(current_user, job)
    flash("已取消任务" if job.state == "cancelled" else "已请求取消：当前条目处理完后停止", "success")
    return redirect(request.form.get("next") or url_for("jobs.detail", job_id=job.id))


@bp.route("/<int:job_id>/retry", methods=["POST"])
@login_required
def retry(job_id: int) -> Any:
    job = load_job(current_user, job_id)
    retry_job(current_user, job)
    db.session.refresh(job)
    flash("已重新提交任务，已处理的条目不会重复处理", "success")
    return redirect(url_for("jobs.detail", job_id=job.id))
