"""职称树管理 and 职称专业管理 (H 1.1, 1.2; FEATURES N1, N2): the platform administrator's reference data."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.auth import permission_required
from app.extensions import db
from app.schemas import load_or_400
from app.schemas.dictionary import (
    SeriesEditSchema,
    SeriesSchema,
    SpecialtyNameSchema,
    SpecialtySchema,
    TitleSchema,
)
from app.web import render_form, xlsx_response
from services.common.errors import NotFound, ServiceError
from services.reference import dictionary

bp = Blueprint("dictionary", __name__, url_prefix="/dictionary")

STATUS_ACTIONS = "<any(enable, disable):action>"


# ---------------------------------------------------------------- 职称树管理 (H 1.2)


@bp.route("/series")
@permission_required("dict.manage")
def series_list() -> Any:
    keyword = request.args.get("keyword", "").strip()[:30]
    return render_template("dictionary/series_list.html", rows=dictionary.list_series(keyword), keyword=keyword)


@bp.route("/series/new", methods=["GET", "POST"])
@bp.route("/series/<code>/edit", methods=["GET", "POST"])
@permission_required("dict.manage")
def series_form(code: str | None = None) -> Any:
    series = dictionary.load_series(code) if code else None
    context = dict(series=series, categories=dictionary.STAT_CATEGORIES)
    if request.method == "GET":
        values = {"code": series.code, "name": series.name, "category": series.category} if series else {}
        return render_template("dictionary/series_form.html", values=values, errors={}, **context)
    try:
        if series is None:
            series = dictionary.create_series(current_user, load_or_400(SeriesSchema(), request.form))
        else:
            dictionary.update_series(current_user, series, load_or_400(SeriesEditSchema(), request.form))
    except ServiceError as exc:
        return render_form("dictionary/series_form.html", exc, **context)
    db.session.commit()
    flash(f"职称系列「{series.name}」已保存", "success")
    return redirect(url_for("dictionary.series_detail", code=series.code))


@bp.route(f"/series/<code>/{STATUS_ACTIONS}", methods=["POST"])
@permission_required("dict.manage")
def series_status(code: str, action: str) -> Any:
    series = dictionary.load_series(code)
    dictionary.set_series_enabled(current_user, series, action == "enable")
    db.session.commit()
    flash(f"职称系列「{series.name}」已{'启用' if series.enabled else '停用'}", "success")
    if request.form.get("back") == "detail":
        return redirect(url_for("dictionary.series_detail", code=series.code))
    return redirect(url_for("dictionary.series_list"))


@bp.route("/series/<code>")
@permission_required("dict.manage")
def series_detail(code: str) -> Any:
    series = dictionary.load_series(code)
    return render_template("dictionary/series_detail.html", series=series, groups=dictionary.titles_by_level(series))


@bp.route("/series/<code>/titles/new", methods=["GET", "POST"])
@bp.route("/series/<code>/titles/<int:title_id>/edit", methods=["GET", "POST"])
@permission_required("dict.manage")
def title_form(code: str, title_id: int | None = None) -> Any:
    series = dictionary.load_series(code)
    title = dictionary.load_title(series, title_id) if title_id else None
    context = dict(series=series, title=title, levels=dictionary.title_levels(),
                   current_titles=dictionary.current_titles(series, exclude=title))
    if request.method == "GET":
        values = _title_values(title) if title else {"level_code": request.args.get("level", "")}
        return render_template("dictionary/title_form.html", values=values, errors={}, **context)
    try:
        title = dictionary.save_title(current_user, series, title, load_or_400(TitleSchema(), request.form))
    except ServiceError as exc:
        return render_form("dictionary/title_form.html", exc, **context)
    db.session.commit()
    flash(f"职称「{title.name}」已保存", "success")
    return redirect(url_for("dictionary.series_detail", code=series.code))


def _title_values(title: Any) -> dict[str, Any]:
    return {"name": title.name, "level_code": title.level_code, "line": title.line,
            "valid_from": title.valid_from.isoformat() if title.valid_from else "",
            "valid_to": title.valid_to.isoformat() if title.valid_to else "", "current_id": title.current_id or ""}


# ---------------------------------------------------------------- 职称专业管理 (H 1.1)


def _chosen_series() -> Any:
    code = request.args.get("series", "")
    return dictionary.load_series(code) if code else dictionary.first_series()


def _parent_from_args(series: Any) -> Any:
    raw = request.args.get("parent_id", "")
    if not raw:
        return None
    if not raw.isdigit():
        raise NotFound("上级专业不存在")
    return dictionary.load_specialty(int(raw), series)


@bp.route("/specialties")
@permission_required("dict.manage")
def specialties() -> Any:
    series = _chosen_series()
    rows = dictionary.specialty_tree(series) if series else []
    return render_template("dictionary/specialties.html", series=series, rows=rows,
                           all_series=[row.series for row in dictionary.list_series()])


@bp.route("/specialties/new", methods=["GET", "POST"])
@permission_required("dict.manage")
def specialty_new() -> Any:
    series = dictionary.load_series(request.args.get("series", ""))
    parent = _parent_from_args(series)
    context = dict(series=series, parent=parent, node=None)
    if request.method == "GET":
        return render_template("dictionary/specialty_form.html", values={}, errors={}, **context)
    try:
        node = dictionary.create_specialty(current_user, series, parent, load_or_400(SpecialtySchema(), request.form))
    except ServiceError as exc:
        return render_form("dictionary/specialty_form.html", exc, **context)
    db.session.commit()
    flash(f"已新增职称专业「{node.name}」", "success")
    return redirect(url_for("dictionary.specialties", series=series.code))


@bp.route("/specialties/<int:specialty_id>/edit", methods=["GET", "POST"])
@permission_required("dict.manage")
def specialty_edit(specialty_id: int) -> Any:
    node = dictionary.load_specialty(specialty_id)
    context = dict(series=dictionary.load_series(node.series_code), parent=node.parent, node=node)
    if request.method == "GET":
        return render_template("dictionary/specialty_form.html", values={"name": node.name}, errors={}, **context)
    try:
        dictionary.rename_specialty(current_user, node, load_or_400(SpecialtyNameSchema(), request.form)["name"])
    except ServiceError as exc:
        return render_form("dictionary/specialty_form.html", exc, **context)
    db.session.commit()
    flash(f"职称专业「{node.name}」已保存", "success")
    return redirect(url_for("dictionary.specialties", series=node.series_code))


@bp.route(f"/specialties/<int:specialty_id>/{STATUS_ACTIONS}", methods=["POST"])
@permission_required("dict.manage")
def specialty_status(specialty_id: int, action: str) -> Any:
    node = dictionary.load_specialty(specialty_id)
    changed = dictionary.set_specialty_enabled(current_user, node, action == "enable")
    db.session.commit()
    flash(f"已{'启用' if node.enabled else '停用'}「{node.name}」，共 {len(changed)} 个专业", "success")
    return redirect(url_for("dictionary.specialties", series=node.series_code))


@bp.route("/specialties/export")
@permission_required("dict.manage")
def specialties_export() -> Any:
    series = dictionary.load_series(request.args.get("series", ""))
    content = dictionary.export_specialty_tree(current_user, series)
    db.session.commit()
    return xlsx_response(content, f"{series.name}职称专业.xlsx")
