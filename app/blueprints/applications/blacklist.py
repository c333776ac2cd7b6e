"""黑名单管理 (H 1.21; FEATURES F7): 新增, 修改, 详情, 解除, 导出查询结果 — for 人社部门 staff holding blacklist.manage."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.auth import permission_required
from app.extensions import db
from app.schemas import load_or_400
from app.schemas.blacklist import BlacklistAddSchema, BlacklistEditSchema, BlacklistLiftSchema
from app.web import paginate, render_form, xlsx_response
from services.applications import blacklist
from services.common.errors import ServiceError

bp = Blueprint("blacklist", __name__, url_prefix="/blacklist")
PERMISSION = blacklist.PERMISSION


@bp.route("/")
@permission_required(PERMISSION)
def index() -> Any:
    filters = blacklist.Filters.parse(request.args)
    today = date.today()
    pagination = paginate(blacklist.entries_query(current_user, filters, today))
    return render_template("blacklist/index.html", pagination=pagination, filters=filters, today=today,
                           statuses=blacklist.STATUSES)


@bp.route("/export")
@permission_required(PERMISSION)
def export() -> Any:
    content = blacklist.export_entries(current_user, blacklist.Filters.parse(request.args), date.today())
    db.session.commit()  # the export is on the audit trail
    return xlsx_response(content, f"黑名单_{date.today():%Y%m%d}.xlsx")


@bp.route("/people")
@permission_required(PERMISSION)
def people() -> Any:
    """新增 → 录入姓名或身份证号查询人员 (htmx fragment)."""
    return render_template("blacklist/_people.html", found=blacklist.find_people(current_user, request.args.get("q", "")),
                           searched=bool(request.args.get("q", "").strip()))


@bp.route("/new", methods=["GET", "POST"])
@permission_required(PERMISSION)
def create() -> Any:
    today = date.today()
    context = {"entry": None, "default_end": blacklist.default_end_date(today), "today": today}
    if request.method == "GET":
        return render_template("blacklist/form.html", values={"start_date": today}, errors={}, **context)
    try:
        data = load_or_400(BlacklistAddSchema(), request.form)
        entry = blacklist.add_entry(current_user, data, today)
    except ServiceError as exc:
        return render_form("blacklist/form.html", exc, **context)
    db.session.commit()
    flash(f"已将 {entry.name} 列入黑名单（{entry.start_date} 至 {entry.end_date}）", "success")
    return redirect(url_for("blacklist.detail", entry_id=entry.id))


@bp.route("/<int:entry_id>")
@permission_required(PERMISSION)
def detail(entry_id: int) -> Any:
    entry = blacklist.load_entry(current_user, entry_id)
    return render_template("blacklist/detail.html", entry=entry, today=date.today())


@bp.route("/<int:entry_id>/edit", methods=["GET", "POST"])
@permission_required(PERMISSION)
def edit(entry_id: int) -> Any:
    entry = blacklist.load_entry(current_user, entry_id)
    today = date.today()
    context = {"entry": entry, "default_end": entry.end_date, "today": today}
    if request.method == "GET":
        values = {"name": entry.name, "reason": entry.reason, "basis": entry.basis or "",
                  "start_date": entry.start_date, "end_date": entry.end_date}
        return render_template("blacklist/form.html", values=values, errors={}, **context)
    try:
        data = load_or_400(BlacklistEditSchema(), request.form)
        blacklist.update_entry(current_user, entry, data, today)
    except ServiceError as exc:
        return render_form("blacklist/form.html", exc, **context)
    db.session.commit()
    flash(f"已保存 {entry.name} 的黑名单记录", "success")
    return redirect(url_for("blacklist.detail", entry_id=entry.id))


@bp.route("/<int:entry_id>/lift", methods=["GET", "POST"])
@permission_required(PERMISSION)
def lift(entry_id: int) -> Any:
    """解除: a page asking for the reason, then a confirmation in the browser before the final POST."""
    entry = blacklist.load_entry(current_user, entry_id)
    if request.method == "GET":
        return render_template("blacklist/lift.html", entry=entry, values={}, errors={})
    try:
        data = load_or_400(BlacklistLiftSchema(), request.form)
        blacklist.lift_entry(current_user, entry, data["lift_reason"], datetime.now())
    except ServiceError as exc:
        return render_form("blacklist/lift.html", exc, entry=entry)
    db.session.commit()
    flash(f"已解除 {entry.name} 的黑名单", "success")
    return redirect(url_for("blacklist.detail", entry_id=entry.id))
