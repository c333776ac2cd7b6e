"""评审活动发布 and 评审活动发布审核 (S 1.2.4.1, 1.2.4.2; FEATURES E1–E5), and the public list of published plans.

The reviewers decide in the inbox (POST /inbox/tasks/<id>); the task page shows the activity beside the form.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from app.auth import permission_required
from app.blueprints.workflow.inbox import register_record_view
from app.extensions import db
from app.models import ReviewActivity
from app.models.activity import (
    ACTIVITY_STATUS_LABELS,
    CATEGORY_LABELS,
    GROUP_METHOD_LABELS,
    INTERVIEW_LABELS,
    REVIEW_METHOD_LABELS,
    WRITTEN_EXAM_LABELS,
)
from app.web import form_input, paginate, render_form, send_stored
from services.activities import activities, activity_publication
from services.common.errors import InvalidInput, NotFound, ServiceError

bp = Blueprint("activities", __name__, url_prefix="/activities")

LIST_FIELDS = ("level_codes", "specialty_ids")
ROW_KEY = re.compile(r"^(?P<prefix>[a-z]+)-(?P<index>\d{1,3})-(?P<field>[a-z_]+)$")
ACTION_LABELS = {"pass": "审核通过", "return": "审核退回", "reject": "审核不通过", "submit": "重新提交",
                 "start": "提交发布审核", "completed": "流程结束"}


def _choices() -> dict[str, Any]:
    return {"categories": CATEGORY_LABELS, "review_methods": REVIEW_METHOD_LABELS, "written_exams": WRITTEN_EXAM_LABELS,
            "interviews": INTERVIEW_LABELS, "group_methods": GROUP_METHOD_LABELS}


def _form_context(activity: ReviewActivity | None) -> dict[str, Any]:
    committees = [activity.committee] if activity else activities.publishable_committees(current_user)
    return {"activity": activity, "committees": committees,
            "specialties": {c.id: activities.specialty_choices(c) for c in committees}, **_choices()}


def _values(activity: ReviewActivity) -> dict[str, Any]:
    values: dict[str, Any] = {c.name: getattr(activity, c.name) for c in ReviewActivity.__table__.columns}
    for name, _label in activities.TIME_FIELDS:
        values[name] = values[name].strftime("%Y-%m-%d %H:%M:%S")
    for name, _label in activities.YES_NO_FIELDS:
        values[name] = str(values[name]).lower()
    values["level_codes"], values["specialty_ids"] = activity.level_codes, activity.specialty_ids
    return values


def _rows(prefix: str, multi: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Table rows posted as `<prefix>-<n>-<field>`, in row order; `multi` fields keep every value."""
    rows: dict[int, dict[str, Any]] = {}
    for key in request.form:
        match = ROW_KEY.match(key)
        if match and match["prefix"] == prefix:
            field = match["field"]
            value = request.form.getlist(key) if field in multi else request.form.get(key)
            rows.setdefault(int(match["index"]), {})[field] = value
    return [rows[n] for n in sorted(rows) if any(v for v in rows[n].values())]


@bp.route("/")
@permission_required("activity.publish")
def index() -> Any:
    filters = {"keyword": request.args.get("keyword", "").strip()[:50], "status": request.args.get("status", ""),
               "year": request.args.get("year", type=int)}
    pagination = paginate(activities.own_activities(current_user, **filters))
    return render_template("activities/index.html", pagination=pagination, filters=filters,
                           statuses=ACTIVITY_STATUS_LABELS)


@bp.route("/new", methods=["GET", "POST"])
@permission_required("activity.publish")
def create() -> Any:
    if request.method == "POST":
        try:
            activity = activities.create_activity(current_user, form_input(*LIST_FIELDS))
        except ServiceError as exc:
            db.session.rollback()
            return render_form("activities/form.html", exc, form_values=form_input(*LIST_FIELDS),
                               **_form_context(None))
        db.session.commit()
        flash("评审活动信息已保存，请继续完成业绩成果、破格条件与申报材料需求配置", "success")
        return redirect(url_for("activities.detail", activity_id=activity.id))
    defaults = {"category": "annual", "review_method": "expert_review", "written_exam": "none", "interview": "none",
                **{name: "false" for name, _label in activities.YES_NO_FIELDS}}
    return render_template("activities/form.html", form_values=defaults, errors={}, **_form_context(None))


@bp.route("/<int:activity_id>/edit", methods=["GET", "POST"])
@permission_required("activity.publish")
def edit(activity_id: int) -> Any:
    activity = activities.load_own_activity(current_user, activity_id)
    if request.method == "POST":
        try:
            activities.update_activity(current_user, activity, form_input(*LIST_FIELDS))
        except ServiceError as exc:
            db.session.rollback()
            activity = activities.load_own_activity(current_user, activity_id)
            return render_form("activities/form.html", exc, form_values=form_input(*LIST_FIELDS),
                               **_form_context(activity))
        db.session.commit()
        flash("评审活动信息已保存", "success")
        return redirect(url_for("activities.detail", activity_id=activity.id))
    return render_template("activities/form.html", form_values=_values(activity), errors={},
                           **_form_context(activity))


def _detail_context(activity: ReviewActivity) -> dict[str, Any]:
    return {"activity": activity, "trail": activity_publication.trail_of(activity), "action_labels": ACTION_LABELS,
            "titles": activities.achievement_titles(), "templates": activities.template_names(),
            "file_types": activities.template_config()["file_types"], "sources": activities.import_sources(activity),
            "editable": activities.is_editable(activity), "problems": activity_publication.submission_problems(activity),
            "file_kinds": activities.FILE_KINDS, "file_kinds_types": activities.FILE_TYPES,
            **_choices()}


@bp.route("/<int:activity_id>")
@permission_required("activity.publish")
def detail(activity_id: int) -> Any:
    activity = activities.load_own_activity(current_user, activity_id)
    return render_template("activities/detail.html", **_detail_context(activity), errors={}, error="")


def _save(activity_id: int, operation: Callable[[ReviewActivity], Any], done: str, tab: str) -> Any:
    activity = activities.load_own_activity(current_user, activity_id)
    try:
        operation(activity)
    except ServiceError as exc:
        db.session.rollback()
        activity = activities.load_own_activity(current_user, activity_id)
        return render_template("activities/detail.html", **_detail_context(activity), errors=exc.errors,
                               error=exc.message), exc.status
    db.session.commit()
    flash(done, "success")
    return redirect(url_for("activities.detail", activity_id=activity_id, _anchor=tab))


@bp.route("/<int:activity_id>/achievements", methods=["POST"])
@permission_required("activity.publish")
def save_achievements(activity_id: int) -> Any:
    rows = _rows("achievements", multi=("templates",))
    return _save(activity_id, lambda a: activities.save_achievements(current_user, a, rows), "业绩成果配置已保存",
                 "achievements")


@bp.route("/<int:activity_id>/achievements/import", methods=["POST"])
@permission_required("activity.publish")
def import_achievements(activity_id: int) -> Any:
    source = request.form.get("source_id", "")
    source_id = int(source) if source.isdigit() and len(source) < 10 else 0
    return _save(activity_id, lambda a: activities.import_achievements(current_user, a, source_id),
                 "已导入业绩成果要求", "achievements")


@bp.route("/<int:activity_id>/exceptional", methods=["POST"])
@permission_required("activity.publish")
def save_exceptional(activity_id: int) -> Any:
    rows = _rows("exceptional")
    return _save(activity_id, lambda a: activities.save_exceptional_conditions(current_user, a, rows),
                 "破格条件配置已保存", "exceptional")


@bp.route("/<int:activity_id>/materials", methods=["POST"])
@permission_required("activity.publish")
def save_materials(activity_id: int) -> Any:
    rows = _rows("materials", multi=("file_types",))
    return _save(activity_id, lambda a: activities.save_material_requirements(current_user, a, rows),
                 "申报材料需求配置已保存", "materials")


@bp.route("/<int:activity_id>/submit", methods=["POST"])
@permission_required("activity.publish")
def submit(activity_id: int) -> Any:
    note = request.form.get("note", "")
    return _save(activity_id, lambda a: activity_publication.submit_activity(current_user, a, note),
                 "已提交，等待授权管理单位审核", "trail")


# --- 评审政策文件 / 评审工作方案 (上传附件) ---------------------------------------------------------------------------

@bp.route("/<int:activity_id>/files/<kind>", methods=["POST"])
@permission_required("activity.publish")
def upload_file(activity_id: int, kind: str) -> Any:
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        label = activities.FILE_KINDS.get(kind, ("附件", ""))[0]
        return _save(activity_id, lambda a: _missing(label, kind), "", "files")
    content = upload.read()
    return _save(activity_id, lambda a: activities.add_activity_file(current_user, a, kind, upload.filename or "",
                                                                     content), "附件已上传", "files")


def _missing(label: str, kind: str) -> None:
    raise InvalidInput(f"{label}：请选择要上传的文件", field=kind)


@bp.route("/<int:activity_id>/files/<kind>/<sha256>/delete", methods=["POST"])
@permission_required("activity.publish")
def delete_file(activity_id: int, kind: str, sha256: str) -> Any:
    return _save(activity_id, lambda a: activities.remove_activity_file(current_user, a, kind, sha256[:64]),
                 "附件已删除", "files")


@bp.route("/<int:activity_id>/files/<kind>/<sha256>")
@login_required  # the publishing unit or its reviewers: activity_publication decides
def download_file(activity_id: int, kind: str, sha256: str) -> Any:
    activity = activity_publication.load_activity_for_viewer(current_user, activity_id)
    return send_stored(activities.activity_file(activity, kind, sha256[:64]))


@bp.route("/public/<int:public_activity_id>/policy/<sha256>")
def public_policy_file(public_activity_id: int, sha256: str) -> Any:
    """评审政策文件 are for publication: anyone may read those of a 已发布 activity."""
    activity = db.session.get(ReviewActivity, public_activity_id)
    if activity is None or activity.status != "published":
        raise NotFound("附件不存在")
    return send_stored(activities.activity_file(activity, "policy", sha256[:64]))


# --- 评审活动发布审核 (S 1.2.4.2) ----------------------------------------------------------------------------------

@bp.route("/reviews")
@permission_required("activity_publication.review")
def reviews() -> Any:
    tab = request.args.get("tab", "todo")
    if tab not in activity_publication.REVIEW_TABS:
        tab = "todo"
    keyword = request.args.get("keyword", "").strip()[:50]
    pagination = paginate(activity_publication.review_query(current_user, tab, keyword))
    return render_template("activities/reviews.html", tab=tab, keyword=keyword, pagination=pagination,
                           rows=activity_publication.review_rows(current_user, list(pagination.items)),
                           counts=activity_publication.review_counts(current_user),
                           tabs=activity_publication.REVIEW_TABS)


# --- 对外公开 (no sign-in) ----------------------------------------------------------------------------------------

@bp.route("/public")
def public() -> Any:
    keyword = request.args.get("keyword", "").strip()[:50]
    pagination = paginate(activities.public_activities(keyword))
    return render_template("activities/public.html", pagination=pagination, keyword=keyword, **_choices())


def _activity_record(instance: Any) -> dict[str, Any]:
    """The activity beside a 评审活动发布审核 task on the inbox page."""
    activity = db.session.get(ReviewActivity, instance.business_id)
    if activity is None:
        raise NotFound("评审活动不存在")
    return {"activity": activity, "templates": activities.template_names(), **_choices()}


register_record_view(activity_publication.BUSINESS_TYPE, _activity_record)
