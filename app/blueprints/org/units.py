"""本级单位管理 and 下级单位信息管理 (S 1.2.9.1.1, 1.2.9.2.2; FEATURES A1, A2, A4, A7)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, jsonify, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from app.auth import permission_required
from app.blueprints.workflow.inbox import register_record_view
from app.extensions import db
from app.models import ProcessInstance, SuperiorChangeRequest, Unit, UnitNature, UnitType
from app.schemas import load_or_400
from app.schemas.org import HandlerSchema, LegalPersonSchema, OwnUnitSchema, UnitBasicSchema
from app.schemas.registration import record_id
from app.web import paginate, render_form, xlsx_response
from services.common import audit_log
from services.common.errors import Conflict, InvalidInput, NotFound, ServiceError
from services.common.excel.export import write_table
from services.org import superior_change, units
from services.reference import reference_data
from services.reference.validation import mask_id_number

bp = Blueprint("units", __name__, url_prefix="/units")

WIZARD_KEY = "new_subordinate"
STEPS = ("basic", "legal", "handler")


def _choices() -> dict[str, Any]:
    return {
        "natures": [(n.code, n.name) for n in db.session.scalars(select(UnitNature).order_by(UnitNature.sort_order))],
        "unit_types": [(t.code, t.name) for t in db.session.scalars(select(UnitType).order_by(UnitType.sort_order))],
    }


@bp.route("/regions.json")
@login_required
def regions_json() -> Any:
    """The region tree for the cascading 职称业务归属地 picker; fetched once and cached by the browser."""
    response = jsonify(units.regions_tree())
    response.cache_control.private = True
    response.cache_control.max_age = 3600
    return response


@bp.route("/own", methods=["GET", "POST"])
@permission_required("unit.self.edit")
def own() -> Any:
    unit = current_user.unit
    if request.method == "POST":
        try:
            data = load_or_400(OwnUnitSchema(), request.form)
            units.update_basic_info(current_user, unit, data, "unit.self.edit")
        except ServiceError as exc:
            return render_form("units/own.html", exc, unit=unit, **_choices(), **_superior_change_context(unit))
        db.session.commit()
        flash("单位基本信息已保存", "success")
        return redirect(url_for("units.own"))
    return render_template("units/own.html", unit=unit, values=_unit_values(unit), errors={}, **_choices(),
                           **_superior_change_context(unit))


def _superior_change_context(unit: Any, exc: ServiceError | None = None, values: Any = None) -> dict[str, Any]:
    change = superior_change.latest_request(unit)
    values = values or {}
    chosen = record_id(values.get("new_parent_id"))
    return {"change": change, "change_status": superior_change.status_of(change) if change else None,
            "change_trail": superior_change.trail_of(change) if change else [],
            "change_errors": exc.errors if exc else {}, "change_error": exc.message if exc else "",
            "change_values": values, "change_selected": db.session.get(Unit, chosen) if chosen else None}


@bp.route("/own/superior-change", methods=["POST"])
@permission_required("unit.self.edit")
def request_superior_change() -> Any:
    """申请变更上级单位 (S 1.2.9.1.1): goes to the new superior for review."""
    unit = current_user.unit
    try:
        superior_change.request_superior_change(current_user, unit, record_id(request.form.get("new_parent_id")),
                                                request.form.get("reason", ""))
    except ServiceError as exc:
        db.session.rollback()
        return render_template("units/own.html", unit=unit, values=_unit_values(unit), errors={}, **_choices(),
                               **_superior_change_context(unit, exc, request.form)), exc.status
    db.session.commit()
    flash("变更上级单位申请已提交，等待新上级单位审核", "success")
    return redirect(url_for("units.own"))


@bp.route("/own/superior-change/resubmit", methods=["POST"])
@permission_required("unit.self.edit")
def resubmit_superior_change() -> Any:
    """After 审核退回: revise the reason and send the request back to the new superior."""
    unit = current_user.unit
    change = superior_change.latest_request(unit)
    try:
        if change is None:
            raise Conflict("本单位没有被退回的变更上级单位申请")
        superior_change.resubmit_superior_change(current_user, change, request.form.get("reason", ""),
                                                 request.form.get("note", ""))
    except ServiceError as exc:
        db.session.rollback()
        return render_template("units/own.html", unit=unit, values=_unit_values(unit), errors={}, **_choices(),
                               **_superior_change_context(unit, exc, request.form)), exc.status
    db.session.commit()
    flash("变更上级单位申请已修改并重新提交，等待新上级单位审核", "success")
    return redirect(url_for("units.own"))


def _superior_change_record(instance: ProcessInstance) -> dict[str, Any]:
    """变更上级单位审核's record beside the task in 待办事项: the unit, its current and new superior, the reason."""
    change = db.session.get(SuperiorChangeRequest, instance.business_id)
    if change is None:
        raise NotFound("变更上级单位申请不存在")
    return {"change": change, "applicant_unit": change.unit}


register_record_view(superior_change.BUSINESS_TYPE, _superior_change_record)


def _unit_values(unit: Any) -> dict[str, Any]:
    return {
        "credit_code": unit.credit_code, "name": unit.name, "unit_type_code": unit.unit_type_code,
        "nature_code": unit.nature_code, "region_code": unit.region.code, "contact_name": unit.contact_name,
        "phone": unit.phone, "address": unit.address, "legal_person_name": unit.legal_person_name,
        "legal_person_id_number": unit.legal_person_id_number, "legal_person_phone": unit.legal_person_phone,
    }


def _list_filters() -> dict[str, str]:
    return {k: request.args.get(k, "").strip()[:50] for k in ("keyword", "unit_type", "region_code", "status")}


@bp.route("/subordinates")
@permission_required("unit.sub.view")
def subordinates() -> Any:
    filters = _list_filters()
    pagination = paginate(units.subordinate_query(current_user, **filters))
    return render_template("units/subordinates.html", pagination=pagination, filters=filters, **_choices())


@bp.route("/subordinates/export")
@permission_required("unit.sub.view")
def export_subordinates() -> Any:
    filters = _list_filters()
    rows = db.session.scalars(units.subordinate_query(current_user, **filters).limit(100_000))
    content = write_table(
        "下级单位",
        ["单位名称", "统一社会信用代码", "上级单位", "单位类型", "单位性质", "职称业务归属地", "联系人", "联系电话", "通讯地址", "状态"],
        ([u.name, u.credit_code, u.parent.name if u.parent else "", u.unit_type.name, u.nature.name,
          u.region.full_name, u.contact_name, u.phone, u.address, u.status_label] for u in rows),
    )
    audit_log.record(current_user, "unit.export", "导出下级单位列表", detail={"filters": filters})
    db.session.commit()
    return xlsx_response(content, "下级单位信息.xlsx")


@bp.route("/subordinates/<int:unit_id>")
@permission_required("unit.sub.view")
def detail(unit_id: int) -> Any:
    unit = units.load_unit(current_user, unit_id, "unit.sub.view")
    return render_template("units/detail.html", unit=unit, handler=units.unit_admin(unit),
                           masked_legal_id=mask_id_number(unit.legal_person_id_number or ""))


def _parent_for_new() -> Any:
    parent_id = request.args.get("parent_id", type=int)
    return units.load_unit(current_user, parent_id, "unit.sub.manage") if parent_id else current_user.unit


@bp.route("/subordinates/new", methods=["GET", "POST"])
@bp.route("/subordinates/new/<step>", methods=["GET", "POST"])
@permission_required("unit.sub.manage")
def create(step: str = "basic") -> Any:
    """新增下级单位 in three steps; the steps are kept in the signed session until the last one commits."""
    if step not in STEPS:
        return redirect(url_for("units.create"))
    parent = _parent_for_new()
    wizard = session.get(WIZARD_KEY) or {}
    if wizard.get("parent_id") != parent.id:
        wizard = {"parent_id": parent.id}
    context = dict(parent=parent, step=step, allowed_types=units.allowed_child_types(parent), **_choices())
    if step != "basic" and "basic" not in wizard:
        return redirect(url_for("units.create", parent_id=parent.id))
    needs_legal = step != "basic" and db.session.get(UnitType, wizard["basic"]["unit_type_code"]).needs_legal_person
    if request.method == "GET":
        values = wizard.get(step, {}) if step != "basic" or "basic" in wizard else {}
        return render_template("units/create.html", values=values, errors={}, needs_legal=needs_legal, **context)
    try:
        if step == "basic":
            wizard["basic"] = load_or_400(UnitBasicSchema(), request.form)
            unit_type = db.session.get(UnitType, wizard["basic"]["unit_type_code"])
            if unit_type is None or unit_type.code not in {t.code for t in context["allowed_types"]}:
                raise InvalidInput(f"单位类型：{parent.unit_type.name}不能新增该类型的下级单位", field="unit_type_code")
            session[WIZARD_KEY] = wizard
            next_step = "legal" if unit_type.needs_legal_person else "handler"
            return redirect(url_for("units.create", step=next_step, parent_id=parent.id))
        if step == "legal":
            wizard["legal"] = load_or_400(LegalPersonSchema(), request.form)
            session[WIZARD_KEY] = wizard
            return redirect(url_for("units.create", step="handler", parent_id=parent.id))
        handler = load_or_400(HandlerSchema(), request.form)
        roles = reference_data.default_roles(_config_dir())
        created = units.create_subordinate(current_user, parent, wizard["basic"], wizard.get("legal"), handler, roles)
    except ServiceError as exc:
        return render_form("units/create.html", exc, needs_legal=needs_legal, **context)
    db.session.commit()
    session.pop(WIZARD_KEY, None)
    return render_template("units/created.html", created=created)


def _config_dir() -> Any:
    from pathlib import Path

    return Path(current_app.config["ADMIN_CONFIG_DIR"])


@bp.route("/subordinates/<int:unit_id>/edit", methods=["GET", "POST"])
@permission_required("unit.sub.manage")
def edit(unit_id: int) -> Any:
    """编辑下级单位信息: basic info, legal person and 经办人 in one page (S 1.2.9.2.2)."""
    unit = units.load_unit(current_user, unit_id, "unit.sub.manage")
    if unit.id == current_user.unit_id and not current_user.is_platform_admin:
        return redirect(url_for("units.own"))
    handler = units.unit_admin(unit)
    context = dict(unit=unit, handler=handler, allowed_types=units.allowed_child_types(unit.parent) if unit.parent else [],
                   **_choices())
    if request.method == "GET":
        values = _unit_values(unit)
        if handler:
            values.update({"handler_name": handler.name, "handler_phone": handler.phone,
                           "handler_id_number": handler.id_number or "", "handler_username": handler.username})
        return render_template("units/edit.html", values=values, errors={}, **context)
    form = request.form
    basic_fields = ("credit_code", "name", "unit_type_code", "nature_code", "region_code", "contact_name", "phone", "address")
    legal_fields = ("legal_person_name", "legal_person_id_number", "legal_person_phone")
    try:
        basic = load_or_400(UnitBasicSchema(), {k: form.get(k, "") for k in basic_fields})
        units.update_basic_info(current_user, unit, basic, "unit.sub.manage")
        if unit.unit_type.needs_legal_person:
            legal = load_or_400(LegalPersonSchema(), {k: form.get(k, "") for k in legal_fields})
            units.update_legal_person(current_user, unit, legal, "unit.sub.manage")
        if handler is not None:
            fields = ("handler_name", "handler_phone", "handler_id_number", "handler_username")
            data = load_or_400(HandlerSchema(), {k: form.get(k, "") for k in fields}, prefix="handler_")
            units.update_handler(current_user, unit, data)
    except ServiceError as exc:
        return render_form("units/edit.html", exc, **context)
    db.session.commit()
    flash(f"已保存「{unit.name}」的信息", "success")
    return redirect(url_for("units.detail", unit_id=unit.id))
