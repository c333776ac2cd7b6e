"""角色管理 (S 1.2.9.1.4): roles are sets of permission codes chosen from the registry."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

from app.auth import permission_required
from app.extensions import db
from app.models import Role, UserRole
from app.schemas import load_or_400
from app.schemas.accounts import RoleSchema
from app.web import form_input, render_form
from services.authz import access
from services.common.errors import ServiceError
from services.org import accounts

bp = Blueprint("roles", __name__, url_prefix="/roles")


def _grantable() -> list[tuple[str, list[access.PermissionDef]]]:
    """Permissions grouped by menu, without platform-only ones or ones for other unit types (not grantable)."""
    groups: dict[str, list[access.PermissionDef]] = {}
    for perm in access.registry().values():
        if perm.scope != "platform" and perm.applies_to(current_user.unit):
            groups.setdefault(perm.menu, []).append(perm)
    return list(groups.items())


@bp.route("/")
@permission_required("role.manage")
def index() -> Any:
    roles = db.session.scalars(select(Role).where(Role.unit_id == current_user.unit_id).order_by(Role.id)).all()
    counts = dict(db.session.execute(
        select(UserRole.role_id, func.count()).where(UserRole.role_id.in_([r.id for r in roles])).group_by(UserRole.role_id)
    ).tuples().all())
    return render_template("roles/index.html", roles=roles, counts=counts, registry=access.registry())


@bp.route("/new", methods=["GET", "POST"])
@bp.route("/<int:role_id>/edit", methods=["GET", "POST"])
@permission_required("role.manage")
def edit(role_id: int | None = None) -> Any:
    role = accounts.load_role(current_user, role_id) if role_id else None
    context = dict(role=role, groups=_grantable())
    if request.method == "GET":
        values = {"name": role.name, "description": role.description} if role else {}
        return render_template("roles/form.html", values=values, errors={},
                               selected=role.permission_codes if role else set(), **context)
    try:
        data = load_or_400(RoleSchema(), form_input("permissions"))
        role = accounts.save_role(current_user, current_user.unit, role, data["name"], data.get("description") or "",
                                  data["permissions"])
    except ServiceError as exc:
        return render_form("roles/form.html", exc, selected=set(request.form.getlist("permissions")), **context)
    db.session.commit()
    flash(f"角色「{role.name}」已保存", "success")
    return redirect(url_for("roles.index"))


@bp.route("/<int:role_id>/delete", methods=["POST"])
@permission_required("role.manage")
def delete(role_id: int) -> Any:
    role = accounts.load_role(current_user, role_id)
    name = role.name
    accounts.delete_role(current_user, role)
    db.session.commit()
    flash(f"角色「{name}」已删除，持有该角色的工作人员已失去其权限", "success")
    return redirect(url_for("roles.index"))
