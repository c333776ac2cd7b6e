"""多岗审核配置 (S 1.2.9.1.2; FEATURES B1): per audit item type, ordered levels of the unit's own staff.

Levels are edited on the page (新增 / 删除 / 上移 / 下移 re-render the posted levels without saving) and written
only by 保存; 清空配置 returns the item to one level reviewed by every holder of its permission.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.auth import permission_required
from app.extensions import db
from app.schemas.registration import record_id
from services.authz import audit_chain
from services.common.errors import InvalidInput, ServiceError
from services.org import audit_config

bp = Blueprint("audit_config", __name__, url_prefix="/audit-config")

MAX_LEVELS = 10
_ACTION = re.compile(r"^(add|save|remove|up|down)(?:-(\d+))?$")


def _page(item_type: str, levels: list[dict[str, Any]] | None = None, errors: dict[str, list[str]] | None = None,
          error: str = "", status: int = 200) -> Any:
    unit = current_user.unit
    config = audit_config.configuration(current_user, unit, item_type)
    if levels is None:
        levels = [{"name": lv.name, "user_ids": [m.user_id for m in lv.members]} for lv in config.levels]
    return render_template("audit_config/index.html", items=list(audit_chain.audit_items().values()), config=config,
                           levels=levels, staff=audit_config.selectable_staff(current_user, unit),
                           errors=errors or {}, error=error), status


@bp.route("/")
@permission_required("audit.config")
def index() -> Any:
    item_type = request.args.get("item") or next(iter(audit_chain.audit_items()))
    return _page(item_type)


def _posted_levels() -> list[dict[str, Any]]:
    count = min(request.form.get("level_count", 0, type=int) or 0, MAX_LEVELS)
    return [{"name": request.form.get(f"name_{n}", "").strip(),
             "user_ids": [i for i in map(record_id, request.form.getlist(f"users_{n}")) if i]}
            for n in range(1, count + 1)]


def _edit(levels: list[dict[str, Any]], action: str, number: int) -> list[dict[str, Any]]:
    """新增 / 删除 / 上移 / 下移 on the posted levels (1-based `number`); nothing is saved."""
    index = number - 1
    if action == "add":
        if len(levels) >= MAX_LEVELS:
            raise InvalidInput(f"审核级别：最多 {MAX_LEVELS} 级")
        return [*levels, {"name": "", "user_ids": []}]
    if not 0 <= index < len(levels):
        return levels
    if action == "remove":
        return levels[:index] + levels[index + 1:]
    other = index - 1 if action == "up" else index + 1
    if 0 <= other < len(levels):
        levels[index], levels[other] = levels[other], levels[index]
    return levels


@bp.route("/<item_type>", methods=["POST"])
@permission_required("audit.config")
def save(item_type: str) -> Any:
    match = _ACTION.match(request.form.get("action", "save"))
    action, number = (match.group(1), int(match.group(2) or 0)) if match else ("save", 0)
    levels = _posted_levels()
    try:
        if action != "save":
            return _page(item_type, _edit(levels, action, number))
        updated = audit_config.save_configuration(current_user, current_user.unit, item_type, levels)
    except ServiceError as exc:
        db.session.rollback()
        return _page(item_type, levels, exc.errors, exc.message, exc.status)
    db.session.commit()
    flash(f"多岗审核配置已保存，共 {len(levels)} 级" + (f"；{updated} 条待办已按新配置更新审核人员" if updated else ""),
          "success")
    return redirect(url_for("audit_config.index", item=item_type))


@bp.route("/<item_type>/clear", methods=["POST"])
@permission_required("audit.config")
def clear(item_type: str) -> Any:
    updated = audit_config.clear_configuration(current_user, current_user.unit, item_type)
    db.session.commit()
    flash("已清空配置：由本单位持有该审核权限的工作人员一级审核"
          + (f"；{updated} 条待办已更新审核人员" if updated else ""), "success")
    return redirect(url_for("audit_config.index", item=item_type))
