"""The units' pages: 专技人才审核 (lists by status; the review itself is the 待办 task page), 专技人才统计 with its
xlsx export and chart, 职称确认审核 lists; and the records beside their tasks on the inbox page."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, render_template, request
from flask_login import current_user

from app.auth import permission_required
from app.blueprints.workflow.inbox import register_record_view
from app.extensions import db
from app.models import TalentRecord, TitleConfirmation, TitleLevel
from app.web import paginate, send_stored, xlsx_response
from services.common.errors import NotFound
from services.talent import confirmations, statistics, talent_records
from services.workflow import instances

bp = Blueprint("talent", __name__, url_prefix="/talent")


def _level_names() -> dict[str, str]:
    return {level.code: level.name for level in db.session.scalars(db.select(TitleLevel))}


def _tasks_of(business_type: str, ids: list[int]) -> dict[int, tuple[int, str]]:
    return instances.open_tasks_of(current_user, business_type, ids) if ids else {}


@bp.route("/reviews")
@permission_required(talent_records.REVIEW_PERMISSION)
def reviews() -> Any:
    tab = request.args.get("tab", "reviewing")
    tab = tab if tab in talent_records.REVIEW_TABS else "reviewing"
    keyword = request.args.get("keyword", "").strip()
    pagination = paginate(talent_records.review_statement(current_user, tab, keyword))
    tasks = _tasks_of(talent_records.BUSINESS_TYPE, [r.id for r in pagination.items])
    return render_template("talent/reviews.html", pagination=pagination, tab=tab, tabs=talent_records.REVIEW_TABS,
                           keyword=keyword, tasks=tasks, levels=_level_names())


@bp.route("/records/<int:talent_record_id>")
@permission_required(talent_records.REVIEW_PERMISSION)
def record(talent_record_id: int) -> Any:
    found = talent_records.load_for_unit(current_user, talent_record_id)
    return render_template("talent/record.html", record=found, levels=_level_names(),
                           trail=instances.business_trail(talent_records.BUSINESS_TYPE, found.id),
                           tasks=_tasks_of(talent_records.BUSINESS_TYPE, [found.id]))


@bp.route("/statistics")
@permission_required(statistics.PERMISSION)
def stats() -> Any:
    table = statistics.talent_table(current_user)
    if request.args.get("export") == "xlsx":
        content = statistics.export_table(current_user, table)
        db.session.commit()  # the export is on the audit trail
        return xlsx_response(content, f"专技人才统计_{date.today():%Y%m%d}.xlsx")
    chart = [(category, values["total"], "#0d6efd") for category, values in table.rows]
    return render_template("talent/statistics.html", table=table, columns=statistics.COLUMNS, chart=chart)


@bp.route("/confirmations")
@permission_required(confirmations.REVIEW_PERMISSION)
def confirmation_reviews() -> Any:
    tab = request.args.get("tab", "reviewing")
    tab = tab if tab in confirmations.REVIEW_TABS else "reviewing"
    keyword = request.args.get("keyword", "").strip()
    pagination = paginate(confirmations.review_statement(current_user, tab, keyword))
    tasks = _tasks_of(confirmations.BUSINESS_TYPE, [r.id for r in pagination.items])
    return render_template("talent/confirmations.html", pagination=pagination, tab=tab,
                           tabs=confirmations.REVIEW_TABS, keyword=keyword, tasks=tasks, levels=_level_names())


@bp.route("/confirmations/<int:confirmation_id>")
@permission_required(confirmations.REVIEW_PERMISSION)
def confirmation(confirmation_id: int) -> Any:
    found = confirmations.load_for_unit(current_user, confirmation_id)
    return render_template("talent/confirmation.html", item=found, levels=_level_names(),
                           trail=instances.business_trail(confirmations.BUSINESS_TYPE, found.id),
                           tasks=_tasks_of(confirmations.BUSINESS_TYPE, [found.id]))


@bp.route("/confirmations/<int:confirmation_id>/file")
@permission_required(confirmations.REVIEW_PERMISSION)
def confirmation_file(confirmation_id: int) -> Any:
    found = confirmations.load_for_unit(current_user, confirmation_id)
    if not found.attachment:
        raise NotFound("该申请没有证书扫描件")
    return send_stored(found.attachment)


def _talent_record(instance: Any) -> dict[str, Any]:
    found = db.session.get(TalentRecord, instance.business_id)
    if found is None:
        raise NotFound("专技人才记录不存在")
    return {"record": found, "levels": _level_names()}


def _confirmation_record(instance: Any) -> dict[str, Any]:
    found = db.session.get(TitleConfirmation, instance.business_id)
    if found is None:
        raise NotFound("职称确认申请不存在")
    return {"item": found, "levels": _level_names()}


register_record_view(talent_records.BUSINESS_TYPE, _talent_record)
register_record_view(confirmations.BUSINESS_TYPE, _confirmation_record)
