"""通知公告管理 (S 1.2.15.1): the unit's notices with 添加公告, 编辑公告, 发布公告, 撤销公告, 删除公告; and the public
pages (a notice and its attachment) readable signed out, by applicants too."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.auth import permission_required
from app.extensions import db
from app.models import Notice
from app.models.messages import NOTICE_STATUS_LABELS, NOTICE_TYPES
from app.web import paginate, render_form, send_stored
from services.common.errors import NotFound, ServiceError
from services.notices import notices
from services.notices.notices import NoticeInput

bp = Blueprint("notices", __name__, url_prefix="/notices")
public_bp = Blueprint("public", __name__, url_prefix="/public")


def _input() -> NoticeInput:
    upload = request.files.get("attachment")
    attachment = (upload.filename or "附件", upload.read()) if upload and upload.filename else None
    return NoticeInput(request.form.get("notice_type", ""), request.form.get("title", ""),
                       request.form.get("body_html", ""), attachment, request.form.get("remove_attachment") == "1")


@bp.route("/")
@permission_required(notices.PERMISSION)
def index() -> Any:
    notice_type, status, keyword = (request.args.get("type", ""), request.args.get("status", ""),
                                    request.args.get("keyword", "").strip())
    pagination = paginate(notices.managed_statement(current_user, notice_type, status, keyword))
    return render_template("notices/index.html", pagination=pagination, types=NOTICE_TYPES,
                           statuses=NOTICE_STATUS_LABELS, notice_type=notice_type, status=status, keyword=keyword)


@bp.route("/new", methods=["GET", "POST"])
@permission_required(notices.PERMISSION)
def create() -> Any:
    if request.method == "POST":
        try:
            notice = notices.create_notice(current_user, _input())
            if request.form.get("publish") == "1":
                notices.publish_notice(current_user, notice)
        except ServiceError as exc:
            db.session.rollback()
            return render_form("notices/form.html", exc, notice=None, types=NOTICE_TYPES)
        db.session.commit()
        flash("公告已发布" if notice.status == "published" else "公告已保存（未发布）", "success")
        return redirect(url_for("notices.index"))
    return render_template("notices/form.html", notice=None, types=NOTICE_TYPES, values={})


@bp.route("/<int:notice_id>/edit", methods=["GET", "POST"])
@permission_required(notices.PERMISSION)
def edit(notice_id: int) -> Any:
    notice = notices.load_managed(current_user, notice_id)
    if request.method == "POST":
        try:
            notices.update_notice(current_user, notice, _input())
            if request.form.get("publish") == "1" and notice.status != "published":
                notices.publish_notice(current_user, notice)
        except ServiceError as exc:
            db.session.rollback()
            return render_form("notices/form.html", exc, notice=notice, types=NOTICE_TYPES)
        db.session.commit()
        flash("公告已保存", "success")
        return redirect(url_for("notices.index"))
    values = {"notice_type": notice.notice_type, "title": notice.title, "body_html": notice.body_html}
    return render_template("notices/form.html", notice=notice, types=NOTICE_TYPES, values=values)


@bp.route("/<int:notice_id>/publish", methods=["POST"])
@permission_required(notices.PERMISSION)
def publish(notice_id: int) -> Any:
    notices.publish_notice(current_user, notices.load_managed(current_user, notice_id))
    return _done("公告已发布")


@bp.route("/<int:notice_id>/withdraw", methods=["POST"])
@permission_required(notices.PERMISSION)
def withdraw(notice_id: int) -> Any:
    notices.withdraw_notice(current_user, notices.load_managed(current_user, notice_id))
    return _done("公告已撤销")


@bp.route("/<int:notice_id>/delete", methods=["POST"])
@permission_required(notices.PERMISSION)
def delete(notice_id: int) -> Any:
    notices.delete_notice(current_user, notices.load_managed(current_user, notice_id))
    return _done("公告已删除")


def _done(message: str) -> Any:
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("notices.index"))


@bp.route("/<int:notice_id>/preview")
@permission_required(notices.PERMISSION)
def preview(notice_id: int) -> Any:
    return render_template("notices/public_detail.html", notice=notices.load_managed(current_user, notice_id),
                           preview=True)


# --- public -----------------------------------------------------------------------------------------------------

@public_bp.route("/notices/<int:notice_id>")
def notice(notice_id: int) -> Any:
    return render_template("notices/public_detail.html", notice=notices.load_published(notice_id), preview=False)


@public_bp.route("/notices/<int:notice_id>/file")
def notice_file(notice_id: int) -> Any:
    found: Notice = notices.load_published(notice_id)
    if not found.attachment:
        raise NotFound("该公告没有附件")
    return send_stored(found.attachment)
