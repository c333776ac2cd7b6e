"""通知提醒 (K4): the bell's count in the top bar, the list, opening one (marks it read), 全部已读, and the
person's 提醒设置 (which events reach them by e-mail / SMS). Staff and applicants alike, each their own."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from app.extensions import db
from app.models import Notification
from app.web import paginate, render_form
from services.common.errors import InvalidInput, ServiceError
from services.notifications import center
from services.notifications.events import CHANNELS, EVENTS, event_label

bp = Blueprint("notifications", __name__, url_prefix="/notifications")
STATUSES = {"unread": "未读", "read": "已读"}


@bp.app_context_processor
def _bell() -> dict[str, Any]:
    """The unread count for the top bar (capped; one indexed query per page)."""
    if not current_user.is_authenticated:
        return {}
    count = center.unread_count(center.recipient_of(current_user))
    return {"unread_notifications": count, "unread_notifications_label": center.unread_label(count)}


def link_for(notification: Notification) -> str | None:
    """Where a notification leads: services record what it is about, the web layer knows the pages."""
    target, ident = notification.target_type, notification.target_id
    applicant = getattr(current_user, "is_applicant", False) is True
    if ident is None:
        return None
    if target == "task" and not applicant:
        return url_for("inbox.task", task_id=ident)
    if target == "declaration" and applicant:
        return url_for("declarations.detail", own_declaration_id=ident)
    if target == "job" and not applicant:
        return url_for("jobs.detail", job_id=ident)
    if target == "committee" and not applicant:
        return url_for("committees.detail", committee_id=ident)
    if target == "activity" and applicant:
        return url_for("applicant.home")
    if target == "talent_record" and applicant:
        return url_for("my_talent.index")
    if target == "title_confirmation" and applicant:
        return url_for("my_talent.my_confirmation", own_confirmation_id=ident)
    if target == "message":
        return url_for("my_messages.index" if applicant else "messages.received", status="unread")
    return None


@bp.route("/")
@login_required
def index() -> Any:
    me = center.recipient_of(current_user)
    status, event = request.args.get("status", ""), request.args.get("event", "")
    pagination = paginate(center.list_statement(me, status if status in STATUSES else "",
                                                event if event in EVENTS else ""))
    return render_template("notifications/index.html", pagination=pagination, status=status, event=event,
                           statuses=STATUSES, events={c: e.label for c, e in EVENTS.items()},
                           event_label=event_label, link_for=link_for)


@bp.route("/<int:notification_id>")
@login_required
def open_notification(notification_id: int) -> Any:
    me = center.recipient_of(current_user)
    notification = center.load_own(me, notification_id)
    center.mark_read(me, [notification.id])
    db.session.commit()
    target = link_for(notification)
    if target:
        return redirect(target)
    return render_template("notifications/detail.html", notification=notification, event_label=event_label)


@bp.route("/read", methods=["POST"])
@login_required
def mark_read() -> Any:
    me = center.recipient_of(current_user)
    raw = request.form.getlist("ids")
    if request.form.get("all") == "1":
        changed = center.mark_read(me)
    else:
        if not raw or not all(v.isdigit() for v in raw):
            raise InvalidInput("请勾选要标记为已读的通知", field="ids")
        changed = center.mark_read(me, [int(v) for v in raw])
    db.session.commit()
    flash(f"已标记 {changed} 条为已读", "success")
    return redirect(url_for("notifications.index", status=request.form.get("status", "")))


@bp.route("/settings", methods=["GET", "POST"])
@login_required
def settings() -> Any:
    me = center.recipient_of(current_user)
    applicant = me.kind == "applicant"
    shown = {c: e for c, e in EVENTS.items() if (e.for_applicants if applicant else e.for_staff)}
    if request.method == "POST":
        chosen = {(e, c) for e, _, c in (v.partition(":") for v in request.form.getlist("channels")) if e in shown}
        # Events not shown to this kind of account keep their current setting.
        enabled = {pair for pair, on in center.preferences(me).items() if on and pair[0] not in shown} | chosen
        try:
            if not applicant:
                center.set_email(current_user, request.form.get("email", ""))
            center.save_preferences(me, enabled)
        except ServiceError as exc:
            db.session.rollback()
            return render_form("notifications/settings.html", exc, events=shown, channels=CHANNELS,
                               prefs=center.preferences(me), applicant=applicant)
        db.session.commit()
        flash("提醒设置已保存", "success")
        return redirect(url_for("notifications.settings"))
    return render_template("notifications/settings.html", events=shown, channels=CHANNELS,
                           prefs=center.preferences(me), applicant=applicant)
