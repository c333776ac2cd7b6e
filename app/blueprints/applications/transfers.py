"""职称申报转换评委会 (H 1.27; FEATURES B9): a page of the application_review blueprint."""

from __future__ import annotations

from typing import Any

from flask import render_template, request
from flask_login import current_user
from sqlalchemy import select

from app.auth import permission_required
from app.blueprints.applications.application_review import bp
from app.extensions import db
from app.models import Committee, TitleLevel
from app.web import paginate
from services.applications import transfers


def _int(name: str) -> int | None:
    raw = request.values.get(name, "").strip()
    return int(raw) if raw.isdigit() else None


@bp.route("/transfer", methods=["GET", "POST"])
@permission_required(transfers.PERMISSION)
def transfer() -> Any:
    """Find declarations (by current committee, year, level), pick the new committee, move the ticked ones or all."""
    current, year, level = _int("current_committee_id"), _int("year"), request.values.get("level_code", "")[:20]
    keyword = request.values.get("keyword", "").strip()[:50]
    outcomes: list[transfers.Outcome] = []
    status = 200
    if request.method == "POST":
        ids = [int(i) for i in request.form.getlist("declaration_ids") if i.isdigit()]
        if request.form.get("scope") == "query":  # 按查询条件转换: every page of the query
            ids = [d.id for d in db.session.scalars(transfers.movable_query(current_user, current, year, level))]
        outcomes = transfers.transfer(current_user, ids, _int("committee_id"), request.form.get("reason", ""))
        db.session.commit()
    stmt = transfers.movable_query(current_user, current, year, level)
    pagination = paginate(stmt)
    from app.models import Unit

    unit_ids = {d.current_unit_id for d in pagination.items if d.current_unit_id}
    unit_names = dict(db.session.execute(select(Unit.id, Unit.name).where(Unit.id.in_(unit_ids))).tuples().all())
    committee_names = dict(db.session.execute(select(Committee.id, Committee.name).where(
        Committee.id.in_({d.committee_id for d in pagination.items}))).tuples().all())
    levels = list(db.session.scalars(select(TitleLevel).order_by(TitleLevel.rank)))
    return render_template("application_review/transfer.html", pagination=pagination, outcomes=outcomes,
                           targets=transfers.target_committees(keyword), keyword=keyword, current=current, year=year,
                           level=level, committees=list(db.session.scalars(select(Committee).where(
                               Committee.status.in_(("filed", "expired"))).order_by(Committee.name).limit(500))),
                           levels=levels, level_names={lv.code: lv.name for lv in levels}, unit_names=unit_names,
                           committee_names=committee_names, chosen=_int("committee_id")), status
