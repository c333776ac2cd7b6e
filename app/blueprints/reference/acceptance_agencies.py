"""职称初定/认定受理机构管理 (H 1.3): list with 模糊查询, 新增, 编辑, 注销, 批量导入 from the Excel template."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from app.auth import permission_required
from app.extensions import db
from app.models import Unit
from app.models.acceptance import ACCEPTANCE_GRADES, ACCEPTANCE_STATUS_LABELS, ACCEPTANCE_TYPES
from app.web import paginate, render_form, xlsx_response
from services.common.errors import InvalidInput, ServiceError
from services.reference import acceptance_agencies as agencies
from services.reference.acceptance_agencies import AgencyInput

bp = Blueprint("acceptance_agencies", __name__, url_prefix="/acceptance-agencies")


def _choices(keyword: str = "", chosen: int | None = None) -> dict[str, Any]:
    """Units to choose from: those matching the typed name (模糊查询), and the chosen one."""
    stmt = select(Unit).where(Unit.status == "active").order_by(Unit.path).limit(50)
    if keyword:
        stmt = stmt.where(Unit.name.contains(keyword, autoescape=True))
    units = list(db.session.scalars(stmt))
    if chosen and all(u.id != chosen for u in units):
        extra = db.session.get(Unit, chosen)
        units = [extra, *units] if extra else units
    return {"types": ACCEPTANCE_TYPES, "grades": ACCEPTANCE_GRADES, "units": units, "keyword": keyword}


def _input() -> AgencyInput:
    raw = request.form.get("unit_id", "")
    return AgencyInput(request.form.get("node_type", ""), request.form.get("grade", ""),
                       int(raw) if raw.isdigit() else None, request.form.get("certificate_name", ""),
                       request.form.get("contact_phone", ""))


@bp.route("/")
@permission_required(agencies.PERMISSION)
def index() -> Any:
    node_type, status, keyword = (request.args.get("type", ""), request.args.get("status", ""),
                                  request.args.get("keyword", "").strip())
    pagination = paginate(agencies.list_statement(node_type, status, keyword))
    return render_template("acceptance_agencies/index.html", pagination=pagination, types=ACCEPTANCE_TYPES,
                           statuses=ACCEPTANCE_STATUS_LABELS, node_type=node_type, status=status, keyword=keyword)


@bp.route("/new", methods=["GET", "POST"])
@bp.route("/<int:agency_id>/edit", methods=["GET", "POST"])
@permission_required(agencies.PERMISSION)
def edit(agency_id: int | None = None) -> Any:
    agency = agencies.load_agency(current_user, agency_id) if agency_id else None
    if request.method == "POST":
        data = _input()
        try:
            agencies.save_agency(current_user, data, agency)
        except ServiceError as exc:
            db.session.rollback()
            return render_form("acceptance_agencies/form.html", exc, agency=agency, **_choices(chosen=data.unit_id))
        db.session.commit()
        flash("受理机构已保存", "success")
        return redirect(url_for("acceptance_agencies.index"))
    values = ({"node_type": agency.node_type, "grade": agency.grade, "unit_id": agency.unit_id,
               "certificate_name": agency.certificate_name, "contact_phone": agency.contact_phone} if agency else {})
    keyword = request.args.get("keyword", "").strip()
    return render_template("acceptance_agencies/form.html", agency=agency, values=values,
                           **_choices(keyword, agency.unit_id if agency else None))


@bp.route("/<int:agency_id>/deregister", methods=["POST"])
@permission_required(agencies.PERMISSION)
def deregister(agency_id: int) -> Any:
    agencies.deregister_agency(current_user, agencies.load_agency(current_user, agency_id),
                               request.form.get("reason", ""))
    db.session.commit()
    flash("受理机构已注销", "success")
    return redirect(url_for("acceptance_agencies.index"))


@bp.route("/template")
@permission_required(agencies.PERMISSION)
def template() -> Any:
    return xlsx_response(agencies.template(), "受理机构导入模板.xlsx")


@bp.route("/import", methods=["GET", "POST"])
@permission_required(agencies.PERMISSION)
def import_file() -> Any:
    if request.method == "POST":
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            raise InvalidInput("导入文件：请选择 Excel 文件", field="file")
        result = agencies.import_agencies(current_user, upload.read())
        if result.refused:
            db.session.rollback()
            return render_template("acceptance_agencies/import.html", result=result), 400
        db.session.commit()
        flash(f"导入成功 {result.stored} 条", "success")
        return redirect(url_for("acceptance_agencies.index"))
    return render_template("acceptance_agencies/import.html", result=None)
