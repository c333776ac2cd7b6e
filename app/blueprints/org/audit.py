"""操作日志: who did what, scoped to the user's unit and its subordinates."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from flask import Blueprint, render_template, request
from flask_login import current_user
from sqlalchemy import or_, select

from app.auth import permission_required
from app.models import AuditLog
from app.web import paginate
from services.authz import access

bp = Blueprint("audit", __name__, url_prefix="/audit-log")


def _date_arg(name: str) -> date | None:
    try:
        return date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None


@bp.route("/")
@permission_required("audit_log.view")
def index() -> Any:
    keyword = request.args.get("keyword", "").strip()[:50]
    action = request.args.get("action", "").strip()[:50]
    start, end = _date_arg("start"), _date_arg("end")
    stmt = access.scope_to_units(select(AuditLog), AuditLog.unit_id, current_user, "audit_log.view")
    if keyword:
        stmt = stmt.where(or_(AuditLog.summary.contains(keyword), AuditLog.actor_name.contains(keyword)))
    if action:
        stmt = stmt.where(AuditLog.action.startswith(action))
    if start:
        stmt = stmt.where(AuditLog.at >= datetime.combine(start, time.min))
    if end:
        stmt = stmt.where(AuditLog.at < datetime.combine(end + timedelta(days=1), time.min))
    pagination = paginate(stmt.order_by(AuditLog.id.desc()))
    return render_template("audit/index.html", pagination=pagination, keyword=keyword, action=action,
                           start=start or "", end=end or "")
