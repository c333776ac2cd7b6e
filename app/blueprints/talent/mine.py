"""The individual's own pages: 专技人才信息 (submit from the profile, resubmit after 退回) and 职称确认申请."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.blueprints.applications.applicant import applicant_required
from app.extensions import db
from app.models import TitleConfirmation, TitleLevel
from app.models.talent import TALENT_CATEGORIES
from app.web import date_input, paginate, render_form, send_stored
from services.common.errors import NotFound, ServiceError
from services.talent import confirmations, talent_records
from services.talent.confirmations import ConfirmationInput
from services.talent.talent_records import TalentInput

bp = Blueprint("my_talent", __name__, url_prefix="/my-talent")


def _levels() -> list[tuple[str, str]]:
    return [(level.code, level.name) for level in db.session.scalars(db.select(TitleLevel).order_by(TitleLevel.rank))]


@bp.route("/", methods=["GET", "POST"])
@applicant_required
def index() -> Any:
    record = talent_records.record_of(current_user)
    context = {"record": record, "categories": TALENT_CATEGORIES,
               "education": talent_records.highest_education(current_user), "levels": dict(_levels())}
    if request.method == "POST":
        data = TalentInput(request.form.get("category", ""), request.form.get("qualification_only") == "1",
                           request.form.get("qualification_name", ""), request.form.get("overseas") == "1")
        try:
            talent_records.submit_record(current_user, data)
        except ServiceError as exc:
            db.session.rollback()
            return render_form("talent/mine.html", exc, **context)
        db.session.commit()
        flash("专技人才信息已提交所在单位审核", "success")
        return redirect(url_for("my_talent.index"))
    values = ({"category": record.category, "qualification_name": record.qualification_name} if record else {})
    return render_template("talent/mine.html", values=values, **context)


def _confirmation_input() -> ConfirmationInput:
    upload = request.files.get("attachment")
    return ConfirmationInput(request.form.get("title_name", ""), request.form.get("level_code", ""),
                             date_input(request.form.get("obtained_on"), "obtained_on", "取得资格时间"),
                             request.form.get("issuer", ""), request.form.get("certificate_no", ""),
                             (upload.filename or "证书", upload.read()) if upload and upload.filename else None)


@bp.route("/confirmations", methods=["GET", "POST"])
@applicant_required
def my_confirmations() -> Any:
    stmt = (db.select(TitleConfirmation).where(TitleConfirmation.applicant_id == current_user.id)
            .order_by(TitleConfirmation.id.desc()))
    context = {"levels": _levels(), "can_apply": confirmations.open_request(current_user) is None}
    if request.method == "POST":
        try:
            confirmations.submit_request(current_user, _confirmation_input())
        except ServiceError as exc:
            db.session.rollback()
            return render_form("talent/my_confirmations.html", exc, pagination=paginate(stmt), **context)
        db.session.commit()
        flash("职称确认申请已提交所在单位审核", "success")
        return redirect(url_for("my_talent.my_confirmations"))
    return render_template("talent/my_confirmations.html", pagination=paginate(stmt), values={}, **context)


@bp.route("/confirmations/<int:own_confirmation_id>", methods=["GET", "POST"])
@applicant_required
def my_confirmation(own_confirmation_id: int) -> Any:
    item = confirmations.load_own(current_user, own_confirmation_id)
    if request.method == "POST":
        try:
            confirmations.resubmit_request(current_user, item, _confirmation_input())
        except ServiceError as exc:
            db.session.rollback()
            return render_form("talent/my_confirmation.html", exc, item=item, levels=_levels())
        db.session.commit()
        flash("已修改并重新提交", "success")
        return redirect(url_for("my_talent.my_confirmation", own_confirmation_id=item.id))
    values = {"title_name": item.title_name, "level_code": item.level_code, "obtained_on": item.obtained_on,
              "issuer": item.issuer, "certificate_no": item.certificate_no}
    return render_template("talent/my_confirmation.html", item=item, levels=_levels(), values=values)


@bp.route("/confirmations/<int:own_confirmation_id>/file")
@applicant_required
def my_confirmation_file(own_confirmation_id: int) -> Any:
    item = confirmations.load_own(current_user, own_confirmation_id)
    if not item.attachment:
        raise NotFound("该申请没有证书扫描件")
    return send_stored(item.attachment)
