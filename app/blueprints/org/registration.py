"""单位注册 / 用户权限申请 and its status page, open to the public (S 1.1.2.2; FEATURES A3).

The applicant has no account: the status page is opened by the token shown once at submission. The reviewers'
side (下级单位注册审核, S 1.2.9.2.1) is a task in the superior's inbox; they open the licence here.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from app.blueprints.workflow.inbox import register_record_view
from app.extensions import db
from app.models import ProcessInstance, Unit, UnitNature, UnitRegistration, UnitType
from app.models.registration import REVIEW_STATUS_LABELS
from app.schemas.registration import load_application, record_id
from app.web import render_form, send_stored, wants_json
from services.common.errors import NotFound, ServiceError
from services.org import registration, units

bp = Blueprint("registration", __name__)

# The picker's <select> may post under either name: 上级单位 here, 新上级单位 on 本级单位管理.
PICKER_FIELDS = ("superior_id", "new_parent_id")


def _choices() -> dict[str, Any]:
    return {
        "natures": [(n.code, n.name) for n in db.session.scalars(select(UnitNature).order_by(UnitNature.sort_order))],
        "unit_types": [(t.code, t.name) for t in db.session.scalars(select(UnitType).order_by(UnitType.sort_order))],
    }


def _upload(name: str) -> registration.Upload | None:
    file = request.files.get(name)
    if file is None or not file.filename:
        return None
    return registration.Upload(file.filename, file.read())


def _chosen(unit_id: Any) -> Unit | None:
    chosen = record_id(unit_id)
    return db.session.get(Unit, chosen) if chosen else None


@bp.route("/register", methods=["GET", "POST"])
def register() -> Any:
    if request.method == "GET":
        return render_template("registration/register.html", values={}, errors={}, superior=None, **_choices())
    try:
        application = load_application(request.form)
        submitted = registration.submit_registration(application, _upload("business_licence"))
    except ServiceError as exc:
        db.session.rollback()
        return render_form("registration/register.html", exc, superior=_chosen(request.form.get("superior_id")),
                           **_choices())
    db.session.commit()
    return render_template("registration/submitted.html", registration=submitted.registration,
                           token=submitted.token)


@bp.route("/register/superiors")
def superiors() -> Any:
    """The 上级单位 picker: active units by name, at most 20 (an htmx fragment, or JSON when asked)."""
    found = registration.find_superiors(request.args.get("q", ""))
    if wants_json():
        return jsonify([{"id": u.id, "name": u.name, "unit_type": u.unit_type.name} for u in found])
    field = request.args.get("field", "superior_id")
    return render_template("registration/_superior_options.html", found=found,
                           field=field if field in PICKER_FIELDS else "superior_id", selected=None,
                           searched=bool(request.args.get("q", "").strip()))


@bp.route("/register/regions.json")
def regions_json() -> Any:
    response = jsonify(units.regions_tree())
    response.cache_control.public = True
    response.cache_control.max_age = 3600
    return response


def _status_context(reg: UnitRegistration, token: str) -> dict[str, Any]:
    status = registration.status_of(reg)
    return dict(reg=reg, token=token, status=status, status_label=REVIEW_STATUS_LABELS[status],
                trail=registration.trail_of(reg), superior=reg.superior, **_choices())


def _values_of(reg: UnitRegistration) -> dict[str, Any]:
    return {
        "credit_code": reg.credit_code, "name": reg.name, "unit_type_code": reg.unit_type_code,
        "nature_code": reg.nature_code, "region_code": reg.region.code, "contact_name": reg.contact_name,
        "phone": reg.phone, "address": reg.address, "legal_person_name": reg.legal_person_name or "",
        "legal_person_id_number": reg.legal_person_id_number or "", "legal_person_phone": reg.legal_person_phone or "",
        "handler_name": reg.handler_name, "handler_id_number": reg.handler_id_number,
        "handler_phone": reg.handler_phone, "handler_username": reg.handler_username,
    }


@bp.route("/register/status", methods=["GET", "POST"])
def status() -> Any:
    token = request.values.get("token", "")
    reg = registration.load_by_token(token)
    if request.method == "POST":
        try:
            application = load_application(request.form, superior_id=reg.superior_id)
            registration.resubmit_registration(token, application, request.form.get("note", ""),
                                               _upload("business_licence"))
        except ServiceError as exc:
            db.session.rollback()
            return render_form("registration/status.html", exc, password=None, **_status_context(reg, token))
        db.session.commit()
        flash("注册信息已修改并重新提交，请等待上级单位审核", "success")
        return redirect(url_for("registration.status", token=token))
    password = registration.issue_initial_password(reg)
    if password:
        db.session.commit()
    return render_template("registration/status.html", password=password, values=_values_of(reg), errors={},
                           **_status_context(reg, token))


def _send_licence(reg: UnitRegistration) -> Any:
    return send_stored({"sha256": reg.licence_sha256, "filename": reg.licence_filename,
                        "file_type": reg.licence_type}, missing="企业营业执照文件不存在，请联系管理员")


@bp.route("/register/licence")
def own_licence() -> Any:
    return _send_licence(registration.load_by_token(request.args.get("token", "")))


@bp.route("/registrations/<int:registration_id>/licence")
@login_required
def licence(registration_id: int) -> Any:
    """企业营业执照 for the superior's reviewers (下级单位注册审核)."""
    return _send_licence(registration.licence_for_reviewer(current_user, registration_id))


def _registration_record(instance: ProcessInstance) -> dict[str, Any]:
    """下级单位注册审核's record beside the task in 待办事项: unit, legal person, handler and the licence."""
    reg = db.session.get(UnitRegistration, instance.business_id)
    if reg is None:
        raise NotFound("注册申请不存在")
    return {"reg": reg}


register_record_view(registration.BUSINESS_TYPE, _registration_record)


@bp.app_template_filter("review_status")
def review_status_label(code: str) -> str:
    return REVIEW_STATUS_LABELS.get(code, code)
