"""发证单位编码 (H 1.9), 证书编号 (H 1.16), the seal image, and 批量生成电子证书 by import (H 1.29)."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from app.auth import permission_required
from app.blueprints.certificates import bp
from app.extensions import db
from app.models import NumberPool
from app.web import render_form, xlsx_response
from services.certificates import imports, numbering
from services.common.errors import InvalidInput, ServiceError


def _issuer_context() -> dict[str, Any]:
    issuer = numbering.issuer_for(current_user.unit)
    pools = list(db.session.scalars(select(NumberPool).where(NumberPool.issuer_id == issuer.id)
                                    .order_by(NumberPool.year.desc(), NumberPool.level_rank)))
    return {"issuer": issuer, "pools": pools, "default_code": numbering.default_code(current_user.unit)}


@bp.route("/issuer")
@permission_required("certificate.issue")
def issuer() -> Any:
    context = _issuer_context()
    db.session.commit()  # the issuer record made on first visit
    return render_template("certificates/issuer.html", errors={}, values={}, **context)


@bp.route("/issuer", methods=["POST"])
@permission_required("certificate.issue")
def save_issuer() -> Any:
    try:
        numbering.configure_issuer(current_user, current_user.unit, request.form.get("code", ""),
                                   request.form.get("pattern", ""), request.form.get("block_size", 0, type=int))
    except ServiceError as exc:
        db.session.rollback()
        return render_form("certificates/issuer.html", exc, **_issuer_context())
    db.session.commit()
    flash("已保存发证单位编码和编号规则", "success")
    return redirect(url_for("certificates.issuer"))


@bp.route("/issuer/seal", methods=["POST"])
@permission_required("certificate.issue")
def upload_seal() -> Any:
    upload = request.files.get("seal")
    if upload is None or not upload.filename:
        raise InvalidInput("发证机关印章图片：请选择文件", field="seal")
    numbering.upload_seal(current_user, current_user.unit, upload.filename, upload.read())
    db.session.commit()
    flash("已上传发证机关印章图片", "success")
    return redirect(url_for("certificates.issuer"))


@bp.route("/issuer/pools", methods=["POST"])
@permission_required("certificate.issue")
def generate_pool() -> Any:
    """批量生成证号 (H 1.16): make a pool reach the given end sequence."""
    form = request.form
    year, rank, end = form.get("year", 0, type=int), form.get("level_rank", 0, type=int), form.get("end_seq", 0, type=int)
    if not 2000 <= year <= 2100:
        raise InvalidInput("年度：应为 2000–2100", field="year")
    if not 1 <= rank <= 5:
        raise InvalidInput("级别：无效", field="level_rank")
    if not 1 <= end <= 9_999_999:
        raise InvalidInput("结束序号：应为 1–9999999", field="end_seq")
    numbering.generate_block(current_user, numbering.issuer_for(current_user.unit), year, rank, end)
    db.session.commit()
    flash("已生成证书编号", "success")
    return redirect(url_for("certificates.issuer"))


@bp.route("/import")
@permission_required("certificate.issue")
def import_list() -> Any:
    return render_template("certificates/import.html", errors={}, error=None)


@bp.route("/import/template.xlsx")
@permission_required("certificate.issue")
def import_template() -> Any:
    return xlsx_response(imports.template_xlsx(), "批量生成电子证书模板.xlsx")


@bp.route("/import", methods=["POST"])
@permission_required("certificate.issue")
def import_upload() -> Any:
    upload = request.files.get("file")
    try:
        job = imports.start_import(current_user, upload.read() if upload else b"", request.form.get("source", "review"))
    except ServiceError as exc:
        db.session.rollback()
        return render_template("certificates/import.html", errors=exc.errors, error=exc.message), exc.status
    return redirect(url_for("jobs.detail", job_id=job.id))
