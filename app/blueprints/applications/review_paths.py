"""主管部门配置 (S 1.2.3.5), 审核路径配置 (H 1.4–1.8) and 审核路径配置查询 (H 1.28); FEATURES B2–B4."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.auth import permission_required
from app.extensions import db
from app.models import TitleSeries
from app.web import paginate, render_form
from services.applications import review_path_config as config
from services.applications import review_paths
from services.common.errors import ServiceError

bp = Blueprint("review_paths", __name__, url_prefix="/review-paths")


def _assignment_context() -> dict[str, Any]:
    return {"committees": config.committee_choices(),
            "competent_units": config.unit_choices(current_user, config.CONFIG, ("competent",))}


def _link_context() -> dict[str, Any]:
    return {"committees": config.committee_choices(), "units": config.unit_choices(current_user, config.CONFIG),
            "methods": review_paths.method_choices(), "levels": config.level_choices()}


# ---------------------------------------------------------------- 主管部门配置 (B2)


@bp.route("/competent")
@permission_required(config.CONFIG)
def assignments() -> Any:
    filters = config.Filters.parse(request.args)
    pagination = paginate(config.assignments_query(current_user, filters))
    return render_template("review_paths/assignments.html", pagination=pagination, filters=filters)


@bp.route("/competent/new", methods=["GET", "POST"])
@permission_required(config.CONFIG)
def create_assignment() -> Any:
    if request.method == "GET":
        return render_template("review_paths/assignment_form.html", item=None, values={}, errors={},
                               **_assignment_context())
    try:
        assignment = config.create_assignment(current_user, request.form)
    except ServiceError as exc:
        return render_form("review_paths/assignment_form.html", exc, item=None, **_assignment_context())
    db.session.commit()
    flash(f"已设置 {assignment.committee.name} 在 {assignment.region.full_name} 的主管部门", "success")
    return redirect(url_for("review_paths.assignments"))


@bp.route("/competent/<int:assignment_id>/edit", methods=["GET", "POST"])
@permission_required(config.CONFIG)
def edit_assignment(assignment_id: int) -> Any:
    item = config.load_assignment(current_user, assignment_id)
    if request.method == "GET":
        values = {"region_code": item.region.code, "committee_id": item.committee_id,
                  "competent_unit_id": item.competent_unit_id}
        return render_template("review_paths/assignment_form.html", item=item, values=values, errors={},
                               **_assignment_context())
    try:
        config.update_assignment(current_user, item, request.form)
    except ServiceError as exc:
        return render_form("review_paths/assignment_form.html", exc, item=item, **_assignment_context())
    db.session.commit()
    flash("已保存主管部门配置", "success")
    return redirect(url_for("review_paths.assignments"))


@bp.route("/competent/<int:assignment_id>/delete", methods=["POST"])
@permission_required(config.CONFIG)
def delete_assignment(assignment_id: int) -> Any:
    config.delete_assignment(current_user, config.load_assignment(current_user, assignment_id))
    db.session.commit()
    flash("已删除主管部门配置", "success")
    return redirect(url_for("review_paths.assignments"))


# ---------------------------------------------------------------- 审核路径配置 (B3)


@bp.route("/links")
@permission_required(config.CONFIG)
def links() -> Any:
    filters = config.Filters.parse(request.args)
    pagination = paginate(config.links_query(current_user, filters))
    return render_template("review_paths/links.html", pagination=pagination, filters=filters,
                           methods=dict(review_paths.method_choices()), levels=config.level_choices())


@bp.route("/links/new", methods=["GET", "POST"])
@permission_required(config.CONFIG)
def create_link() -> Any:
    if request.method == "GET":
        values = {"method_code": request.args.get("method", ""), "target_type": "unit"}
        return render_template("review_paths/link_form.html", item=None, values=values, errors={}, **_link_context())
    try:
        config.create_link(current_user, request.form)
    except ServiceError as exc:
        return render_form("review_paths/link_form.html", exc, item=None, **_link_context())
    db.session.commit()
    flash("已新增下级机构", "success")
    return redirect(url_for("review_paths.links"))


@bp.route("/links/<int:link_id>/edit", methods=["GET", "POST"])
@permission_required(config.CONFIG)
def edit_link(link_id: int) -> Any:
    item = config.load_link(current_user, link_id)
    if request.method == "GET":
        values = {"method_code": item.method_code, "level_code": item.level_code,
                  "subordinate_unit_id": item.subordinate_unit_id, "superior_unit_id": item.superior_unit_id,
                  "committee_id": item.committee_id, "target_type": "committee" if item.committee_id else "unit"}
        return render_template("review_paths/link_form.html", item=item, values=values, errors={}, **_link_context())
    try:
        config.update_link(current_user, item, request.form)
    except ServiceError as exc:
        return render_form("review_paths/link_form.html", exc, item=item, **_link_context())
    db.session.commit()
    flash("已保存审核路径", "success")
    return redirect(url_for("review_paths.links"))


@bp.route("/links/<int:link_id>/delete", methods=["POST"])
@permission_required(config.CONFIG)
def delete_link(link_id: int) -> Any:
    config.delete_link(current_user, config.load_link(current_user, link_id))
    db.session.commit()
    flash("已删除审核路径", "success")
    return redirect(url_for("review_paths.links"))


# ---------------------------------------------------------------- 审核路径配置查询 (B4)


@bp.route("/query")
@permission_required(config.QUERY)
def relations() -> Any:
    """查询机构上级机构 / 下级机构 of one unit the user may see."""
    unit = config.load_query_unit(current_user, request.args.get("unit_id"))
    return render_template("review_paths/relations.html", unit=unit, superiors=review_paths.superiors_of(unit),
                           subordinates=review_paths.subordinates_of(unit),
                           assignments=review_paths.competent_assignments_of(unit),
                           methods=dict(review_paths.method_choices()))


@bp.route("/simulate")
@permission_required(config.QUERY)
def simulate() -> Any:
    """模拟职称申报: unit, 拟申报职称等级, 系列, 取得方式, 专业 → the whole path or where it breaks."""
    args = request.args
    context = {"units": config.unit_choices(current_user, config.QUERY), "methods": review_paths.method_choices(),
               "levels": config.level_choices(),
               "series": db.session.scalars(db.select(TitleSeries).order_by(TitleSeries.sort_order)).all(),
               "values": args, "errors": {}, "path": None}
    if "unit_id" not in args:
        return render_template("review_paths/simulate.html", **context)
    try:
        unit = config.load_query_unit(current_user, args.get("unit_id"))
        path = review_paths.resolve_path(unit, args.get("level", ""), args.get("series", ""), args.get("method", ""),
                                         args.get("specialty", "").strip()[:50])
    except ServiceError as exc:
        if exc.status != 400:
            raise
        return render_template("review_paths/simulate.html", **{**context, "errors": exc.errors, "error": exc.message}), 400
    return render_template("review_paths/simulate.html", **{**context, "path": path, "unit": unit})
