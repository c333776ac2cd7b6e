"""评委会管理 (platform administrator) and 评委会查询 (H 1.10, H 1.11; FEATURES C4)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.auth import permission_required
from app.blueprints.committees.committees import LIST_FIELDS, committee_values, form_choices
from app.extensions import db
from app.models import Unit
from app.models.committee import COMMITTEE_STATUS_LABELS
from app.web import form_input, paginate, xlsx_response
from services.committees import committee_admin, committees
from services.common import audit_log
from services.common.errors import ServiceError

bp = Blueprint("committee_admin", __name__, url_prefix="/committee-admin")


def _filters() -> dict[str, str]:
    return {k: request.args.get(k, "").strip()[:50] for k in ("keyword", "series_code", "status")}


def _list(template: str, permission: str, endpoint: str) -> Any:
    filters = _filters()
    pagination = paginate(committee_admin.query(current_user, permission=permission, **filters))
    return render_template(template, pagination=pagination, filters=filters, statuses=COMMITTEE_STATUS_LABELS,
                           series=committees.series_choices(), endpoint=endpoint)


def _export(permission: str) -> Any:
    filters = _filters()
    rows = db.session.scalars(committee_admin.query(current_user, permission=permission, **filters).limit(100_000))
    content = committee_admin.export_rows(rows)
    audit_log.record(current_user, "committee.export", "导出评委会查询结果", detail={"filters": filters})
    db.session.commit()
    return xlsx_response(content, "评委会.xlsx")


@bp.route("/")
@permission_required("committee.manage")
def index() -> Any:
    return _list("committee_admin/index.html", committee_admin.MANAGE, "committee_admin.index")


@bp.route("/export")
@permission_required("committee.manage")
def export() -> Any:
    return _export(committee_admin.MANAGE)


@bp.route("/query")
@permission_required("committee.query")
def query() -> Any:
    return _list("committee_admin/query.html", committee_admin.QUERY, "committee_admin.query")


@bp.route("/query/export")
@permission_required("committee.query")
def query_export() -> Any:
    return _export(committee_admin.QUERY)


@bp.route("/query/<int:committee_id>")
@permission_required("committee.query")
def view(committee_id: int) -> Any:
    committee = committee_admin.load_visible(current_user, committee_id)
    return render_template("committee_admin/view.html", committee=committee)


@bp.route("/new", methods=["GET", "POST"])
@permission_required("committee.manage")
def create() -> Any:
    unit_id = request.values.get("forming_unit_id", type=int)
    unit = db.session.get(Unit, unit_id) if unit_id else None
    if unit is None:
        return render_template("committee_admin/pick_unit.html", units=committee_admin.forming_unit_choices())
    context = form_choices(unit)
    if request.method == "POST":
        try:
            committee = committee_admin.create_committee(current_user, form_input(*LIST_FIELDS))
        except ServiceError as exc:
            db.session.rollback()
            return render_template("committees/form.html", committee=None, form_values=form_input(*LIST_FIELDS),
                                   errors=exc.errors, error=exc.message, admin=True, **context), exc.status
        db.session.commit()
        flash("评委会已新增", "success")
        return redirect(url_for("committee_admin.others", committee_id=committee.id))
    return render_template("committees/form.html", committee=None, admin=True, errors={},
                           form_values={"internal_only": "false", "funded": "false", "build_mode": "series"}, **context)


@bp.route("/<int:committee_id>/edit", methods=["GET", "POST"])
@permission_required("committee.manage")
def edit(committee_id: int) -> Any:
    committee = committee_admin.load_visible(current_user, committee_id, committee_admin.MANAGE)
    context = form_choices(committee.forming_unit)
    if request.method == "POST":
        try:
            committees.update_committee(current_user, committee, form_input(*LIST_FIELDS))
        except ServiceError as exc:
            db.session.rollback()
            return render_template("committees/form.html", committee=committee, admin=True, errors=exc.errors,
                                   error=exc.message, form_values=form_input(*LIST_FIELDS), **context), exc.status
        db.session.commit()
        flash("评委会信息已保存", "success")
        return redirect(url_for("committee_admin.index"))
    return render_template("committees/form.html", committee=committee, admin=True, errors={},
                           form_values=committee_values(committee), **context)


@bp.route("/<int:committee_id>/others", methods=["GET", "POST"])
@permission_required("committee.manage")
def others(committee_id: int) -> Any:
    """其他信息: 评审专业, 组建单位, 缴费标准."""
    committee = committee_admin.load_visible(current_user, committee_id, committee_admin.MANAGE)
    error, errors, status = "", {}, 200
    if request.method == "POST":
        action = request.form.get("action", "")
        try:
            if action == "specialties":
                committee_admin.set_specialties(current_user, committee, [
                    int(v) for v in request.form.getlist("specialty_ids") if v.isdigit()])
            elif action == "add_unit":
                committee_admin.add_forming_unit(current_user, committee, request.form.get("unit_keyword", ""))
            elif action == "remove_unit":
                committee_admin.remove_forming_unit(current_user, committee, request.form.get("unit_id", 0, type=int))
            elif action == "fee":
                committee_admin.save_fee(current_user, committee, request.form.get("item", ""),
                                         request.form.get("amount", ""))
            elif action == "remove_fee":
                committee_admin.remove_fee(current_user, committee, request.form.get("fee_id", 0, type=int))
        except ServiceError as exc:
            db.session.rollback()
            error, errors, status = exc.message, exc.errors, exc.status
        else:
            db.session.commit()
            flash("已保存", "success")
            return redirect(url_for("committee_admin.others", committee_id=committee.id))
    return render_template("committee_admin/others.html", committee=committee, error=error, errors=errors,
                           specialties=committees.specialty_choices(committee.series_code),
                           fee_items=committees.rules()["fee_items"]), status


@bp.route("/<int:committee_id>/deregister", methods=["POST"])
@permission_required("committee.manage")
def deregister(committee_id: int) -> Any:
    committee = committee_admin.load_visible(current_user, committee_id, committee_admin.MANAGE)
    committee_admin.deregister(current_user, committee, request.form.get("reason", ""))
    db.session.commit()
    flash(f"评委会「{committee.name}」已注销", "success")
    return redirect(url_for("committee_admin.index"))


@bp.route("/import", methods=["GET", "POST"])
@permission_required("committee.manage")
def import_committees() -> Any:
    if request.args.get("template"):
        return xlsx_response(committee_admin.import_template(), "评委会导入模板.xlsx")
    if request.method == "GET":
        return render_template("committee_admin/import.html", result=None)
    upload = request.files.get("file")
    result = committee_admin.check_import(upload.read() if upload else b"")
    db.session.rollback()
    return render_template("committee_admin/import.html", result=result)


@bp.route("/import/confirm", methods=["POST"])
@permission_required("committee.manage")
def import_confirm() -> Any:
    count = committee_admin.confirm_import(current_user, request.values.get("token", ""))
    db.session.commit()
    flash(f"导入成功 {count} 个评委会", "success")
    return redirect(url_for("committee_admin.index"))
