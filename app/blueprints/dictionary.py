"""职称树管理 and 职称专业管理 (H 1.1, 1.2; FEATURES N1, N2)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template
from sqlalchemy import select

from app.auth import permission_required
from app.extensions import db
from app.models import Specialty, TitleSeries

bp = Blueprint("dictionary", __name__, url_prefix="/dictionary")


@bp.route("/series")
@permission_required("dict.manage")
def series_list() -> Any:
    series = db.session.scalars(select(TitleSeries).order_by(TitleSeries.sort_order)).all()
    return render_template("dictionary/series_list.html", series=series)


@bp.route("/specialties")
@permission_required("dict.manage")
def specialties() -> Any:
    rows = db.session.scalars(select(Specialty).order_by(Specialty.series_code, Specialty.sort_order)).all()
    return render_template("dictionary/specialties.html", rows=rows)
