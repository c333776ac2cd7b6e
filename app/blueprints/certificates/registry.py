"""证书查询 / 详情 / 下载 / 撤销 (H 1.19–1.20), 证书报送人社部 (H 1.18), and the public verification page."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from app.auth import permission_required
from app.blueprints.certificates import bp
from app.extensions import db
from app.models import Certificate, CertificateReport
from app.models.certificates import SOURCE_LABELS
from app.web import date_input, paginate, send_stored
from services.certificates import registry, review_forms
from services.certificates.issuance import level_ranks_by_name
from services.common import audit_log
from services.common.errors import NotFound
from services.workflow.inbox import batch_task_ids

verify_bp = Blueprint("verify", __name__)


@bp.context_processor
def _review_form_limit() -> dict[str, Any]:
    return {"review_inline_limit": review_forms.INLINE_LIMIT}


def _filters() -> registry.QueryFilters:
    a = request.args
    return registry.QueryFilters(
        name=a.get("name", "").strip()[:30], id_number=a.get("id_number", "").strip()[:30],
        number=a.get("number", "").strip()[:40], approval_no=a.get("approval_no", "").strip()[:60],
        level_name=a.get("level_name", "")[:10], source=a.get("source", "") if a.get("source") in SOURCE_LABELS else "",
        status=a.get("status", "")[:10], reported=a.get("reported", "")[:3],
        issued_from=date_input(a.get("issued_from"), "issued_from", "发证日期起"),
        issued_to=date_input(a.get("issued_to"), "issued_to", "发证日期止"))


@bp.route("/")
@permission_required("certificate.query")
def query() -> Any:
    filters = _filters()
    pagination = paginate(registry.query(current_user, filters))
    return render_template("certificates/query.html", filters=filters, pagination=pagination,
                           levels=list(level_ranks_by_name()), sources=SOURCE_LABELS)


@bp.route("/<int:certificate_id>")
@permission_required("certificate.query")
def detail(certificate_id: int) -> Any:
    certificate = registry.load(current_user, certificate_id)
    return render_template("certificates/detail.html", c=certificate, i=certificate.issuance,
                           verify_url=url_for("verify.page", code=certificate.verify_code, _external=True))


@bp.route("/<int:certificate_id>/pdf")
@permission_required("certificate.query")
def pdf(certificate_id: int) -> Any:
    certificate = registry.load(current_user, certificate_id)
    audit_log.record(current_user, "certificate.download", f"下载证书 {certificate.number}", "certificate", certificate.id)
    db.session.commit()
    return send_stored({"sha256": certificate.pdf_sha256, "filename": f"{certificate.number}.pdf", "file_type": "pdf"})


def _pdf_response(content: bytes, filename: str) -> Response:
    response = Response(content, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return response


@bp.route("/<int:certificate_id>/review-form.pdf")
@permission_required("certificate.query")
def review_form(certificate_id: int) -> Any:
    """下载评审表 of one certificate (S 1.2.8.1 已发放)."""
    certificate = registry.load(current_user, certificate_id)
    content = review_forms.review_forms_pdf(current_user, [certificate.id])
    db.session.commit()
    return _pdf_response(content, f"评审表_{certificate.number}_{certificate.issuance.name}.pdf")


@bp.route("/review-forms", methods=["POST"])
@permission_required("certificate.query")
def review_forms_download() -> Any:
    """下载评审表 of the chosen certificates as one PDF; more than a handful run as a background job."""
    ids = batch_task_ids(request.form.getlist("certificate_ids"), field="certificate_ids", noun="证书",
                         action="下载评审表")
    if len(ids) > review_forms.INLINE_LIMIT:
        job = review_forms.start_review_forms(current_user, ids)
        flash("评审表较多，已转为后台任务生成：完成后在本页下载（也可在“我的任务”中查看）", "info")
        return redirect(url_for("jobs.detail", job_id=job.id))
    content = review_forms.review_forms_pdf(current_user, ids)
    db.session.commit()
    return _pdf_response(content, f"评审表（{len(ids)}份）.pdf")


@bp.route("/<int:certificate_id>/revoke", methods=["POST"])
@permission_required("certificate.issue")
def revoke(certificate_id: int) -> Any:
    certificate = registry.load_issued_by(current_user, certificate_id)
    registry.revoke(current_user, certificate, request.form.get("reason", ""))
    db.session.commit()
    flash(f"已撤销证书 {certificate.number}", "success")
    return redirect(url_for("certificates.detail", certificate_id=certificate.id))


@bp.route("/reports")
@permission_required("certificate.issue")
def reports() -> Any:
    """证书报送人社部: the certificates not yet reported (批量上报 / 全部上报) and the reports made."""
    pending = paginate(registry.query(current_user, registry.QueryFilters(reported="no"))
                       .where(Certificate.issuer_unit_id == current_user.unit_id))
    made = db.session.scalars(select(CertificateReport).where(CertificateReport.unit_id == current_user.unit_id)
                              .order_by(CertificateReport.id.desc()).limit(50))
    return render_template("certificates/reports.html", pending=pending, made=list(made))


@bp.route("/reports", methods=["POST"])
@permission_required("certificate.issue")
def report() -> Any:
    ids = None if request.form.get("scope") == "all" else batch_task_ids(
        request.form.getlist("certificate_ids"), field="certificate_ids", noun="证书", action="批量上报")
    record = registry.report(current_user, ids)
    db.session.commit()
    flash(f"已报送 {record.count} 张证书，可下载报送文件", "success")
    return redirect(url_for("certificates.reports"))


@bp.route("/reports/<int:report_id>/file")
@permission_required("certificate.issue")
def report_file(report_id: int) -> Any:
    record = db.session.get(CertificateReport, report_id)
    if record is None or record.unit_id != current_user.unit_id:
        raise NotFound("报送记录不存在")
    return send_stored({"sha256": record.file_sha256, "filename": record.filename, "file_type": "xlsx"})


@verify_bp.route("/verify/<code>")
def page(code: str) -> Any:
    """Public: anyone holding the QR code sees whether the certificate is valid; no sign-in, nothing more."""
    try:
        result = registry.verify(code)
    except NotFound:
        return render_template("certificates/verify.html", result=None), 404
    return render_template("certificates/verify.html", result=result)
