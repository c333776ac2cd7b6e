"""申报材料综合查询, 评审人员统计 and 申报人员信息查询 (S 1.2.3.3, 1.2.3.4; H 1.1.4, 1.24): the query pages of the
application_review blueprint (its review pages are in application_review.py)."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.auth import permission_required
from app.blueprints.applications.application_review import _declaration_context, bp
from app.extensions import db
from app.models import Declaration
from app.models.declaration import EVALUATION_METHOD_LABELS
from app.web import export_job, paginate, xlsx_response
from services.applications import application_queries, application_review, evaluation_changes
from services.applications.application_queries import Filters
from services.common.errors import Conflict, InvalidInput, ServiceError
from services.workflow import instances

# --- 申报材料综合查询 and 评审人员统计 (S 1.2.3.3, 1.2.3.4) ------------------------------------------------------------

@bp.route("/stats")
@permission_required(application_queries.STATS_PERMISSION)
def stats() -> Any:
    return render_template("application_review/stats.html",
                           counts=application_queries.committee_counts(current_user))


@bp.route("/personnel")
@permission_required(application_queries.STATS_PERMISSION)
def personnel() -> Any:
    committee_id, name = request.args.get("committee_id", type=int), request.args.get("name", "").strip()[:50]
    pagination = paginate(application_queries.passed_declarations(current_user, committee_id, name))
    return render_template("application_review/personnel.html", pagination=pagination, name=name,
                           committee_id=committee_id, committees=application_queries.passed_committees(current_user),
                           series=application_queries.series_names(),
                           changeable=evaluation_changes.CHANGEABLE_STATUSES)


def _render_change(declaration: Declaration, error: ServiceError | None = None) -> Any:
    values = request.form if error else {"level_code": declaration.level_code,
                                         "evaluation_method": declaration.evaluation_method,
                                         "exceptional_condition_id": declaration.exceptional_condition_id or ""}
    return render_template(
        "application_review/personnel_edit.html", declaration=declaration, values=values,
        levels=evaluation_changes.level_choices(declaration),
        conditions=evaluation_changes.condition_choices(declaration),
        methods=list(EVALUATION_METHOD_LABELS.items()),
        errors=error.errors if error else {}, error=error.message if error else ""), error.status if error else 200


@bp.route("/personnel/<int:reviewed_id>/edit", methods=["GET", "POST"])
@permission_required(application_queries.STATS_PERMISSION)
def change_evaluation(reviewed_id: int) -> Any:
    declaration = application_queries.load_passed(current_user, reviewed_id)
    if request.method == "GET":
        return _render_change(declaration)
    raw_condition = request.form.get("exceptional_condition_id", "").strip()
    change = evaluation_changes.EvaluationChange(
        request.form.get("level_code", ""), request.form.get("evaluation_method", ""),
        int(raw_condition) if raw_condition.isascii() and raw_condition.isdigit() and len(raw_condition) <= 9
        else None)
    try:
        evaluation_changes.change_evaluation(current_user, declaration, change)
    except (InvalidInput, Conflict) as exc:
        db.session.rollback()
        return _render_change(application_queries.load_passed(current_user, reviewed_id), exc)
    name = declaration.applicant.name
    db.session.commit()
    flash(f"已修改 {name} 的申报层级和评价方式", "success")
    return redirect(url_for("application_review.personnel"))


# --- 申报人员信息查询 and 职称申报审核流程查询 (H 1.1.4, 1.24) ------------------------------------------------------------

@bp.route("/query")
@permission_required(application_queries.QUERY_PERMISSION)
def query() -> Any:
    filters = Filters.parse(request.args)
    pagination = paginate(application_queries.query_declarations(current_user, filters))
    return render_template("application_review/query.html", filters=filters, pagination=pagination,
                           choices=application_queries.filter_choices(),
                           series=application_queries.series_names())


@bp.route("/query/export")
@permission_required(application_queries.QUERY_PERMISSION)
def query_export() -> Any:
    filters = Filters.parse(request.args)
    filename = f"申报人员信息_{date.today():%Y%m%d}.xlsx"
    count = application_queries.count_query(current_user, filters)
    if count > current_app.config["EXPORT_INLINE_ROWS"]:
        return export_job("applications.export_query", f"导出申报人员信息 {count} 条",
                          {"filters": filters.as_args(), "filename": filename, "count": count})
    content = application_queries.export_query(current_user, filters)
    db.session.commit()  # the export is on the audit log
    return xlsx_response(content, filename)


@bp.route("/query/<int:reviewed_id>")
@permission_required(application_queries.QUERY_PERMISSION)
def tracking(reviewed_id: int) -> Any:
    declaration = application_queries.load_for_query(current_user, reviewed_id)
    return render_template(
        "application_review/tracking.html", declaration=declaration,
        stages=application_queries.path_stages(declaration),
        trail=instances.business_trail(application_review.BUSINESS_TYPE, declaration.id),
        action_labels=instances.ACTION_LABELS,
        **_declaration_context(declaration, application_review.reached_unit(declaration, current_user.unit_id)))
