"""工作人员管理 (S 1.2.9.1.3): the 超级管理员 adds staff, gives them roles, disables them, resets passwords."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import or_, select

from app.auth import permission_required
from app.extensions import db
from app.models import Role, User
from app.schemas import load_or_400
from app.schemas.accounts import StaffSchema
from app.web import form_input, paginate, render_form
from services.common.errors import InvalidInput, ServiceError
from services.org import accounts

bp = Blueprint("staff", __name__, url_prefix="/staff")


def _roles() -> list[Role]:
    return list(db.session.scalars(select(Role).where(Role.unit_id == current_user.unit_id).order_by(Role.id)))


@bp.route("/")
@permission_required("staff.manage")
def index() -> Any:
    keyword = request.args.get("keyword", "").strip()[:30]
    enabled = request.args.get("enabled", "")
    stmt = select(User).where(User.unit_id == current_user.unit_id, User.is_platform_admin.is_(False))
    if keyword:
        stmt = stmt.where(or_(User.name.contains(keyword), User.username.contains(keyword), User.phone.contains(keyword)))
    if enabled in ("1", "0"):
        stmt = stmt.where(User.enabled.is_(enabled == "1"))
    pagination = paginate(stmt.order_by(User.is_unit_admin.desc(), User.id))
    return render_template("staff/index.html", pagination=pagination, keyword=keyword, enabled=enabled)


@bp.route("/new", methods=["GET", "POST"])
@permission_required("staff.manage")
def create() -> Any:
    if request.method == "GET":
        return render_template("staff/form.html", user=None, roles=_roles(), values={}, errors={}, selected=[])
    try:
        data = load_or_400(StaffSchema(), form_input("role_ids"))
        if not data.get("password"):
            raise InvalidInput("初始密码：必填", field="password")
        user = accounts.create_staff(current_user, current_user.unit, data, data["role_ids"])
    except ServiceError as exc:
        return render_form("staff/form.html", exc, user=None, roles=_roles(),
                           selected=[int(r) for r in request.form.getlist("role_ids") if r.isdigit()])
    db.session.commit()
    flash(f"已新增工作人员 {user.name}，首次登录须修改密码", "success")
    return redirect(url_for("staff.index"))


@bp.route("/<int:user_id>/edit", methods=["GET", "POST"])
@permission_required("staff.manage")
def edit(user_id: int) -> Any:
    user = accounts.load_staff(current_user, user_id)
    if request.method == "GET":
        values = {"username": user.username, "name": user.name, "phone": user.phone, "id_number": user.id_number or ""}
        return render_template("staff/form.html", user=user, roles=_roles(), values=values, errors={},
                               selected=[r.id for r in user.roles])
    try:
        data = load_or_400(StaffSchema(), form_input("role_ids"))
        accounts.update_staff(current_user, user, data, data["role_ids"])
    except ServiceError as exc:
        return render_form("staff/form.html", exc, user=user, roles=_roles(),
                           selected=[int(r) for r in request.form.getlist("role_ids") if r.isdigit()])
    db.session.commit()
    flash(f"已保存工作人员 {user.name}", "success")
    return redirect(url_for("staff.index"))


@bp.route("/<int:user_id>/<any(enable, disable):action>", methods=["POST"])
@permission_required("staff.manage")
def toggle(user_id: int, action: str) -> Any:
    user = accounts.load_staff(current_user, user_id)
    accounts.set_staff_enabled(current_user, user, action == "enable")
    db.session.commit()
    flash(f"已{'启用' if action == 'enable' else '停用'} {user.name}", "success")
    return redirect(url_for("staff.index"))


@bp.route("/<int:user_id>/reset-password", methods=["POST"])
@permission_required("staff.manage")
def reset_password(user_id: int) -> Any:
    user = accounts.load_staff(current_user, user_id)
    password = accounts.reset_password(current_user, user)
    db.session.commit()
    return render_template("staff/password_reset.html", user=user, password=password)
