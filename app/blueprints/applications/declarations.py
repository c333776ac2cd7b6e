"""职称申报, the applicant's side (Hunan guide 二 (一); manual S 1.2.4.1.1–1.2.4.1.8; FEATURES F1).

我的申报 and the open review activities; 暂存申报 (个人职称申报信息); the declaration page with 个人基本信息 to
任职以来考核信息, 业绩成果 in the activity's templates, 申报材料上传, the 审核路径 and 提交 / 重新提交. The rules live in
services/applications/declarations.py; a refused request re-renders its form with the message beside the field, nothing written.
Only applicants reach these pages (app.auth.APPLICANT_BLUEPRINTS); a declaration of someone else is 404.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.blueprints.applications.applicant import applicant_required
from app.extensions import db
from app.models import (
    Applicant,
    Declaration,
    ReviewActivity,
)
from app.models.declaration import EVALUATION_METHOD_LABELS
from app.schemas.declaration import load_assessments, load_info, load_note
from services.activities.activities import template_config
from services.applications import application_review, blacklist, declarations
from services.common.errors import NotFound, ServiceError
from services.workflow import instances

bp = Blueprint("declarations", __name__, url_prefix="/applicant/declarations")

BLANK_ASSESSMENT_ROWS = 2
# Fields of a template form that are not the template's own.
FORM_PLUMBING = ("csrf_token", "template_code")


def _me() -> Applicant:
    return current_user._get_current_object()  # type: ignore[no-any-return]


def _editable(declaration: Declaration, now: datetime) -> bool:
    return not declarations.edit_problem(declaration, now)


# ---------------------------------------------------------------- 我的申报 and 可申报的评审活动


@bp.route("/")
@applicant_required
def index() -> Any:
    me, now = _me(), datetime.now()
    return render_template("declarations/index.html", mine=declarations.own_declarations(me),
                           offers=declarations.open_activities(me, now), ban=blacklist.active_entry(me.id_number),
                           ban_message=blacklist.ban_message)


def _choices(activity: ReviewActivity) -> dict[str, list[tuple[Any, str]]]:
    """The options of 个人职称申报信息: what the activity opens (破格条件 by level, or every level)."""
    names = {link.level_code: link.level.name for link in activity.levels}
    return {"levels": list(names.items()),
            "specialties": [(s.specialty_id, s.specialty.name) for s in activity.specialties],
            "methods": list(EVALUATION_METHOD_LABELS.items()),
            "conditions": [(c.id, f"{c.title}（{names.get(c.level_code, c.level_code) if c.level_code else '各级别'}）")
                           for c in activity.exceptional_conditions]}


def _open_activity(activity_id: int | None) -> ReviewActivity:
    activity = db.session.get(ReviewActivity, activity_id or 0)
    if activity is None or activity.status != "published":
        raise NotFound("评审活动不存在或未发布")
    return activity


@bp.route("/new", methods=["GET", "POST"])
@applicant_required
def create() -> Any:
    """暂存申报: 申报层级, 申报专业, 评价方式 (and 破格条件) of a new declaration."""
    me, now = _me(), datetime.now()
    activity = _open_activity(request.args.get("activity_id", type=int))
    if request.method == "GET":
        blacklist.ensure_not_blacklisted(me, now.date())
        mine = next((d for d in declarations.own_declarations(me) if d.activity_id == activity.id), None)
        if mine is not None:
            return redirect(url_for("declarations.detail", own_declaration_id=mine.id))
        return render_template("declarations/new.html", activity=activity, values={}, errors={},
                               choices=_choices(activity), problem=declarations.activity_problem(me, activity, now))
    try:
        declaration = declarations.start_declaration(me, activity.id, load_info(request.form), now)
    except ServiceError as exc:
        db.session.rollback()
        activity = _open_activity(activity.id)
        return render_template("declarations/new.html", activity=activity, values=request.form, errors=exc.errors,
                               error=exc.message, choices=_choices(activity), problem=""), exc.status
    db.session.commit()
    flash("申报已暂存，请继续填写任职以来考核信息、业绩成果并上传申报材料后提交", "success")
    return redirect(url_for("declarations.detail", own_declaration_id=declaration.id))


# ---------------------------------------------------------------- the declaration page


def _info_values(declaration: Declaration) -> dict[str, Any]:
    return {"level_code": declaration.level_code, "specialty_id": declaration.specialty_id or "",
            "evaluation_method": declaration.evaluation_method,
            "exceptional_condition_id": declaration.exceptional_condition_id or ""}


def _page(own_declaration_id: int, status: int = 200, exc: ServiceError | None = None, section: str = "",
          posted: Any = None) -> Any:
    """The declaration page; after a refused request, `section` names the form whose posted values come back."""
    me, now = _me(), datetime.now()
    declaration = declarations.load_own(me, own_declaration_id)
    editable = _editable(declaration, now)
    rows = posted if section == "assessments" else list(declaration.assessments or [])
    context = {
        "declaration": declaration, "activity": declaration.activity, "me": me, "editable": editable,
        "info": request.form if section == "info" else _info_values(declaration),
        "choices": _choices(declaration.activity),
        "assessment_rows": rows + [{}] * BLANK_ASSESSMENT_ROWS if editable else rows,
        "assessment_results": declarations.ASSESSMENT_RESULTS,
        "templates": {t["code"]: t for t in template_config()["templates"]},
        "path": declarations.path_of(declaration, now.date()) if editable else None,
        "problems": declarations.submission_problems(declaration) if editable else [],
        "warnings": declarations.eligibility_warnings(declaration),
        "returned_by": _returned_by(declaration),
        "trail": instances.business_trail(application_review.BUSINESS_TYPE, declaration.id),
        "action_labels": instances.ACTION_LABELS, "note": request.form.get("note", "") if section == "submit" else "",
        "errors": exc.errors if exc else {}, "error": exc.message if exc else "", "section": section,
    }
    return render_template("declarations/detail.html", **context), status


def _returned_by(declaration: Declaration) -> str:
    """The unit whose 退回 the applicant is answering (its opinion is declaration.opinion)."""
    if declaration.status != "returned":
        return ""
    row = next((s for s in reversed(declaration.steps) if s.status == "returned"), None)
    return row.unit.name if row is not None else ""


def _refused(own_declaration_id: int, exc: ServiceError, section: str, posted: Any = None) -> Any:
    db.session.rollback()
    return _page(own_declaration_id, exc.status, exc, section, posted)


def _done(own_declaration_id: int, message: str, anchor: str = "") -> Any:
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("declarations.detail", own_declaration_id=own_declaration_id, _anchor=anchor or None))


@bp.route("/<int:own_declaration_id>")
@applicant_required
def detail(own_declaration_id: int) -> Any:
    return _page(own_declaration_id)


@bp.route("/<int:own_declaration_id>/info", methods=["POST"])
@applicant_required
def save_info(own_declaration_id: int) -> Any:
    """暂存 个人职称申报信息."""
    me = _me()
    declaration = declarations.load_own(me, own_declaration_id)
    try:
        declarations.update_declaration(me, declaration, load_info(request.form), datetime.now())
    except ServiceError as exc:
        return _refused(own_declaration_id, exc, "info")
    return _done(own_declaration_id, "个人职称申报信息已暂存", "info")


@bp.route("/<int:own_declaration_id>/assessments", methods=["POST"])
@applicant_required
def save_assessments(own_declaration_id: int) -> Any:
    """暂存 任职以来考核信息."""
    me = _me()
    declaration = declarations.load_own(me, own_declaration_id)
    rows: list[dict[str, Any]] = []
    try:
        rows = load_assessments(request.form)
        declarations.save_assessments(me, declaration, rows, datetime.now())
    except ServiceError as exc:
        return _refused(own_declaration_id, exc, "assessments", rows)
    return _done(own_declaration_id, "任职以来考核信息已暂存", "assessments")


# ---------------------------------------------------------------- 业绩成果 (the template dialogs, S 1.2.4.1.1–8)


@bp.route("/<int:own_declaration_id>/submit", methods=["POST"])
@applicant_required
def submit(own_declaration_id: int) -> Any:
    """提交, or 重新提交 with a 修改说明 after a 退回 to the applicant."""
    me = _me()
    declaration = declarations.load_own(me, own_declaration_id)
    resubmit = declaration.status == "returned"
    try:
        declarations.submit(me, declaration, datetime.now(), note=load_note(request.form))
    except ServiceError as exc:
        return _refused(own_declaration_id, exc, "submit")
    return _done(own_declaration_id, "已重新提交，等待审核单位复审" if resubmit else "申报已提交，等待所在单位审核")
