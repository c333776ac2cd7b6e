"""消息推送 (S 1.2.10, 1.2.11): compose to subordinate units or applicants, the sent list with who has read;
已接收消息 (S 1.2.12): the unit's received messages with 确认已读; the applicant's own received messages."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from app.auth import permission_required
from app.blueprints.applications.applicant import applicant_required
from app.extensions import db
from app.models import Applicant, Unit
from app.web import paginate, render_form, send_stored
from services.common.errors import InvalidInput, NotFound, ServiceError
from services.messages import messages
from services.messages.messages import Audience, MessageInput

bp = Blueprint("messages", __name__, url_prefix="/messages")
applicant_bp = Blueprint("my_messages", __name__, url_prefix="/my-messages")
STATUSES = {"unread": "未读", "read": "已读"}
AUDIENCES = {"units": "下级单位", "applicants": "本单位及下级单位的申报人"}


def _candidates(audience: str, keyword: str) -> Any:
    if audience == "applicants":
        stmt = (select(Applicant).join(Unit, Unit.id == Applicant.unit_id)
                .where(Applicant.id.in_(messages.applicants_in_scope(current_user).with_only_columns(Applicant.id))))
        if keyword:
            stmt = stmt.where(Unit.name.contains(keyword, autoescape=True)
                              | Applicant.name.contains(keyword, autoescape=True))
        return paginate(stmt.order_by(Unit.path, Applicant.id))
    stmt = messages.subordinate_units(current_user)
    if keyword:
        stmt = stmt.where(Unit.name.contains(keyword, autoescape=True))
    return paginate(stmt.order_by(Unit.path))


def _compose_context(audience: str) -> dict[str, Any]:
    keyword = request.args.get("keyword", "").strip()
    roots = [current_user.unit, *db.session.scalars(
        messages.subordinate_units(current_user).where(Unit.parent_id == current_user.unit_id).order_by(Unit.name))]
    return {"audience": audience, "audiences": AUDIENCES, "keyword": keyword,
            "candidates": _candidates(audience, keyword), "roots": roots}


def _audience() -> Audience:
    kind = request.form.get("audience", "")
    if request.form.get("scope") == "subtree":
        raw = request.form.get("root_id", "")
        if not raw.isdigit():
            raise InvalidInput("接收范围：请选择单位", field="root_id")
        return Audience(kind, (), int(raw))
    raw_ids = request.form.getlist("ids")
    if not all(v.isdigit() for v in raw_ids):
        raise InvalidInput("接收对象：编号有误", field="ids")
    return Audience(kind, tuple(int(v) for v in raw_ids))


@bp.route("/new", methods=["GET", "POST"])
@permission_required(messages.SEND_PERMISSION)
def compose() -> Any:
    audience = request.values.get("audience", "units")
    audience = audience if audience in AUDIENCES else "units"
    if request.method == "POST":
        upload = request.files.get("attachment")
        data = MessageInput(request.form.get("title", ""), request.form.get("body", ""),
                            (upload.filename or "附件", upload.read()) if upload and upload.filename else None)
        try:
            message = messages.send_message(current_user, data, _audience())
        except ServiceError as exc:
            db.session.rollback()
            return render_form("messages/compose.html", exc, **_compose_context(audience))
        db.session.commit()
        if message.job_id:
            flash(f"接收对象较多（{message.recipient_count} 个），已转为后台任务发送", "info")
            return redirect(url_for("jobs.detail", job_id=message.job_id))
        flash(f"消息已发送给 {message.recipient_count} 个接收对象", "success")
        return redirect(url_for("messages.sent_detail", message_id=message.id))
    return render_template("messages/compose.html", values={}, **_compose_context(audience))


@bp.route("/sent")
@permission_required(messages.SEND_PERMISSION)
def sent() -> Any:
    keyword = request.args.get("keyword", "").strip()
    pagination = paginate(messages.sent_statement(current_user, keyword))
    counts = messages.read_counts([m.id for m in pagination.items])
    return render_template("messages/sent.html", pagination=pagination, counts=counts, keyword=keyword)


@bp.route("/sent/<int:message_id>")
@permission_required(messages.SEND_PERMISSION)
def sent_detail(message_id: int) -> Any:
    message = messages.load_sent(current_user, message_id)
    status = request.args.get("status", "")
    receipts = paginate(messages.receipts_statement(message, status if status in STATUSES else ""))
    total, read = messages.read_counts([message.id]).get(message.id, (0, 0))
    return render_template("messages/sent_detail.html", message=message, receipts=receipts, status=status,
                           statuses=STATUSES, total=total, read=read)


@bp.route("/sent/<int:message_id>/file")
@permission_required(messages.SEND_PERMISSION)
def sent_file(message_id: int) -> Any:
    message = messages.load_sent(current_user, message_id)
    if not message.attachment:
        raise NotFound("该消息没有附件")
    return send_stored(message.attachment)


@bp.route("/received")
@permission_required(messages.RECEIVE_PERMISSION)
def received() -> Any:
    status, keyword = request.args.get("status", ""), request.args.get("keyword", "").strip()
    pagination = paginate(messages.received_statement(unit_id=current_user.unit_id,
                                                      status=status if status in STATUSES else "", keyword=keyword))
    return render_template("messages/received.html", pagination=pagination, status=status, statuses=STATUSES,
                           keyword=keyword, endpoint="messages.received", detail="messages.received_detail",
                           detail_arg="receipt_id")


@bp.route("/received/<int:receipt_id>")
@permission_required(messages.RECEIVE_PERMISSION)
def received_detail(receipt_id: int) -> Any:
    receipt = messages.load_receipt_for_unit(current_user, receipt_id)
    return render_template("messages/received_detail.html", receipt=receipt, prefix="messages")


@bp.route("/received/<int:receipt_id>/confirm", methods=["POST"])
@permission_required(messages.RECEIVE_PERMISSION)
def confirm(receipt_id: int) -> Any:
    messages.confirm_read(messages.load_receipt_for_unit(current_user, receipt_id), current_user)
    db.session.commit()
    flash("已确认已读", "success")
    return redirect(url_for("messages.received_detail", receipt_id=receipt_id))


@bp.route("/received/<int:receipt_id>/file")
@permission_required(messages.RECEIVE_PERMISSION)
def received_file(receipt_id: int) -> Any:
    receipt = messages.load_receipt_for_unit(current_user, receipt_id)
    if not receipt.message.attachment:
        raise NotFound("该消息没有附件")
    return send_stored(receipt.message.attachment)


# --- the applicant's own messages -----------------------------------------------------------------------------------

@applicant_bp.route("/")
@applicant_required
def index() -> Any:
    status, keyword = request.args.get("status", ""), request.args.get("keyword", "").strip()
    pagination = paginate(messages.received_statement(applicant_id=current_user.id,
                                                      status=status if status in STATUSES else "", keyword=keyword))
    return render_template("messages/received.html", pagination=pagination, status=status, statuses=STATUSES,
                           keyword=keyword, endpoint="my_messages.index", detail="my_messages.detail",
                           detail_arg="applicant_receipt_id")


@applicant_bp.route("/<int:applicant_receipt_id>")
@applicant_required
def detail(applicant_receipt_id: int) -> Any:
    receipt = messages.load_receipt_for_applicant(current_user, applicant_receipt_id)
    return render_template("messages/received_detail.html", receipt=receipt, prefix="my_messages")


@applicant_bp.route("/<int:applicant_receipt_id>/confirm", methods=["POST"])
@applicant_required
def confirm_mine(applicant_receipt_id: int) -> Any:
    messages.confirm_read(messages.load_receipt_for_applicant(current_user, applicant_receipt_id))
    db.session.commit()
    flash("已确认已读", "success")
    return redirect(url_for("my_messages.detail", applicant_receipt_id=applicant_receipt_id))


@applicant_bp.route("/<int:applicant_receipt_id>/file")
@applicant_required
def file(applicant_receipt_id: int) -> Any:
    receipt = messages.load_receipt_for_applicant(current_user, applicant_receipt_id)
    if not receipt.message.attachment:
        raise NotFound("该消息没有附件")
    return send_stored(receipt.message.attachment)
