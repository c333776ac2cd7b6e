"""首页 (S 1.2.1): signed out, the public page of 通知公告 (K3); signed in, the unit's information, its messages,
待办事项 by business type (each linking to the filtered inbox) and 评审工作监督 with small charts (M1)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request
from flask_login import current_user
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditLog, Unit
from app.models.messages import NOTICE_TYPES
from app.web import paginate
from services.authz import access
from services.dashboard import supervision
from services.messages import messages
from services.notices import notices
from services.org.units import unit_admin
from services.workflow import inbox

bp = Blueprint("home", __name__)


@bp.route("/")
def index() -> Any:
    if not current_user.is_authenticated:
        return public_home()
    return staff_home()


def public_home() -> Any:
    """The public home page (K3): published 通知公告 by type, with paging and a title search, signed out."""
    notice_type, keyword = request.args.get("type", ""), request.args.get("keyword", "").strip()
    pagination = paginate(notices.public_statement(notice_type, keyword), per_page=15)
    return render_template("home/public.html", pagination=pagination, types=NOTICE_TYPES,
                           notice_type=notice_type if notice_type in NOTICE_TYPES else "", keyword=keyword,
                           type_counts=notices.public_type_counts())


def staff_home() -> Any:
    unit = current_user.unit
    subordinate_count = db.session.scalar(
        select(func.count()).select_from(access.visible_units(current_user, "unit.sub.view", include_own=False)
                                          .subquery())
    ) if access.has_permission(current_user, "unit.sub.view") else None
    recent = db.session.scalars(
        select(AuditLog).where(AuditLog.actor_id == current_user.id).order_by(AuditLog.id.desc()).limit(8)
    ).all()
    # 待办事项 by type with counts (capped; read from the projection, never from a workflow).
    todo = inbox.tab_counts(current_user)["todo"] if access.has_permission(current_user, "inbox.view") else None
    # 消息管理 and 评审工作监督 (S 1.2.1 items 2 and 4): capped counts, a handful of rows.
    messages_box = None
    if access.has_permission(current_user, "message.receive"):
        messages_box = {"unread": messages.unread_received(unit.id), "latest": db.session.scalars(
            messages.received_statement(unit_id=unit.id, status="unread").limit(5)).all()}
    return render_template("home/index.html", unit=unit, handler=unit_admin(unit), todo=todo,
                           messages_box=messages_box, activities=supervision.activity_progress(unit.id),
                           committees=supervision.committee_counts(unit.id),
                           running=supervision.running_activity_count(unit.id), buckets=supervision.BUCKETS,
                           type_names=inbox.business_type_names() if todo else {}, count_label=inbox.count_label,
                           subordinate_count=subordinate_count, recent=recent,
                           child_count=db.session.scalar(select(func.count()).where(Unit.parent_id == unit.id)))
