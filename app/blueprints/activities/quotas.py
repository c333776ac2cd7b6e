"""职数申报, 职数审核 and 职数申报查询 (H 1.5.1, 1.5.2, 1.22; FEATURES F8).

The superior's reviewers decide in the inbox (POST /inbox/tasks/<id>); the task page shows the declaration beside
the form.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.auth import permission_required
from app.blueprints.workflow.inbox import register_record_view
from app.extensions import db
from app.models import QuotaDeclaration
from app.models.quota import QUOTA_STATUS_LABELS
from app.schemas.quota import load_declaration
from app.web import paginate, xlsx_response
from services.activities import quota_review, quotas
from services.common.errors import NotFound, ServiceError
from services.workflow.instances import ACTION_LABELS

bp = Blueprint("quotas", __name__, url_prefix="/quotas")
BLANK_ROWS = 3


def _form_context(declaration: QuotaDeclaration | None) -> dict[str, Any]:
    return {"declaration": declaration, "years": quotas.declaration_years(date.today()),
            "series": quotas.series_choices(), "levels": quotas.level_choices(), "blank_rows": BLANK_ROWS}


def _values(declaration: QuotaDeclaration) -> dict[str, Any]:
    values: dict[str, Any] = {"year": declaration.year, "contact_name": declaration.contact_name,
                              "contact_phone": declaration.contact_phone, "note": declaration.note}
    for n, item in enumerate(declaration.items, start=1):
        for name in ("series_code", "level_code", "post_total", "current_count", "requested_count", "remark"):
            values[f"rows-{n}-{name}"] = getattr(item, name)
    return values


def _save(declaration: QuotaDeclaration | None) -> QuotaDeclaration:
    """保存 (暂存) or 提交, as the pressed button says; one service call each."""
    data = load_declaration(request.form)
    if declaration is None:
        declaration = quotas.create_declaration(current_user, data, date.today())
    else:
        quotas.update_declaration(current_user, declaration, data, date.today())
    if data.get("action") == "submit":
        quota_review.submit_declaration(current_user, declaration, data.get("change_note") or "")
    return declaration


def _saved_message(declaration: QuotaDeclaration) -> str:
    return "已提交，等待上级单位职数审核" if declaration.status == "pending" else "职数申报已暂存"


@bp.route("/")
@permission_required(quotas.DECLARE_PERMISSION)
def index() -> Any:
    year, status = request.args.get("year", type=int), request.args.get("status", "")
    pagination = paginate(quotas.own_declarations(current_user, year, status))
    return render_template("quotas/index.html", pagination=pagination, year=year, status=status,
                           statuses=QUOTA_STATUS_LABELS)


@bp.route("/new", methods=["GET", "POST"])
@permission_required(quotas.DECLARE_PERMISSION)
def create() -> Any:
    if request.method == "GET":
        values = {"year": date.today().year, "contact_name": current_user.name[:10], "contact_phone": ""}
        return render_template("quotas/form.html", values=values, errors={}, error="", **_form_context(None))
    try:
        declaration = _save(None)
    except ServiceError as exc:
        db.session.rollback()
        return render_template("quotas/form.html", values=request.form, errors=exc.errors, error=exc.message,
                               **_form_context(None)), exc.status
    db.session.commit()
    flash(_saved_message(declaration), "success")
    return redirect(url_for("quotas.detail", declaration_id=declaration.id))


@bp.route("/<int:declaration_id>/edit", methods=["GET", "POST"])
@permission_required(quotas.DECLARE_PERMISSION)
def edit(declaration_id: int) -> Any:
    declaration = quotas.load_own_declaration(current_user, declaration_id)
    if request.method == "GET":
        return render_template("quotas/form.html", values=_values(declaration), errors={}, error="",
                               **_form_context(declaration))
    try:
        _save(declaration)
    except ServiceError as exc:
        db.session.rollback()
        declaration = quotas.load_own_declaration(current_user, declaration_id)
        return render_template("quotas/form.html", values=request.form, errors=exc.errors, error=exc.message,
                               **_form_context(declaration)), exc.status
    db.session.commit()
    flash(_saved_message(declaration), "success")
    return redirect(url_for("quotas.detail", declaration_id=declaration_id))


def _detail(declaration: QuotaDeclaration, template: str, status: int = 200, error: str = "") -> Any:
    return render_template(template, declaration=declaration, trail=quota_review.trail_of(declaration),
                           action_labels=ACTION_LABELS, editable=quotas.is_editable(declaration),
                           error=error), status


@bp.route("/<int:declaration_id>")
@permission_required(quotas.DECLARE_PERMISSION)
def detail(declaration_id: int) -> Any:
    return _detail(quotas.load_own_declaration(current_user, declaration_id), "quotas/detail.html")


@bp.route("/<int:declaration_id>/submit", methods=["POST"])
@permission_required(quotas.DECLARE_PERMISSION)
def submit(declaration_id: int) -> Any:
    declaration = quotas.load_own_declaration(current_user, declaration_id)
    try:
        quota_review.submit_declaration(current_user, declaration, request.form.get("change_note", ""))
    except ServiceError as exc:
        db.session.rollback()
        declaration = quotas.load_own_declaration(current_user, declaration_id)
        return _detail(declaration, "quotas/detail.html", exc.status, exc.message)
    db.session.commit()
    flash(_saved_message(declaration), "success")
    return redirect(url_for("quotas.detail", declaration_id=declaration_id))


# --- 职数审核 (H 1.5.2) --------------------------------------------------------------------------------------------

@bp.route("/reviews")
@permission_required(quota_review.REVIEW_PERMISSION)
def reviews() -> Any:
    tab = request.args.get("tab", "todo")
    if tab not in quota_review.REVIEW_TABS:
        tab = "todo"
    year, unit_name = request.args.get("year", type=int), request.args.get("unit_name", "").strip()[:50]
    pagination = paginate(quota_review.review_query(current_user, tab, year, unit_name))
    return render_template("quotas/reviews.html", tab=tab, year=year, unit_name=unit_name, pagination=pagination,
                           rows=quota_review.review_rows(current_user, list(pagination.items)),
                           counts=quota_review.review_counts(current_user), tabs=quota_review.REVIEW_TABS)


# --- 职数申报查询 (H 1.22) -----------------------------------------------------------------------------------------

@bp.route("/query")
@permission_required(quotas.QUERY_PERMISSION)
def query() -> Any:
    filters = quotas.Filters.parse(request.args)
    pagination = paginate(quotas.query_declarations(current_user, filters))
    return render_template("quotas/query.html", pagination=pagination, filters=filters, statuses=QUOTA_STATUS_LABELS)


@bp.route("/query/export")
@permission_required(quotas.QUERY_PERMISSION)
def export() -> Any:
    content = quotas.export_declarations(current_user, quotas.Filters.parse(request.args))
    db.session.commit()  # the export is on the audit trail
    return xlsx_response(content, f"职数申报_{date.today():%Y%m%d}.xlsx")


@bp.route("/query/<int:declaration_id>")
@permission_required(quotas.QUERY_PERMISSION)
def query_detail(declaration_id: int) -> Any:
    return _detail(quotas.load_declaration_for_query(current_user, declaration_id), "quotas/query_detail.html")


def _declaration_record(instance: Any) -> dict[str, Any]:
    """The declaration beside a 职数审核 task on the inbox page."""
    declaration = db.session.get(QuotaDeclaration, instance.business_id)
    if declaration is None:
        raise NotFound("职数申报不存在")
    return {"declaration": declaration}


register_record_view(quota_review.BUSINESS_TYPE, _declaration_record)
