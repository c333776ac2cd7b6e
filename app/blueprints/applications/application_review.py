"""申报审核 (S 1.2.3.1–1.2.3.4, 1.2.5.1; H 1.1.1–1.1.4, 1.24; FEATURES F2–F6, B5–B7, G1).

本单位人员审核 and 下级单位人员审核 (tabs, filters, export, 批量), the 审核 page of one declaration (with 所在单位申报公示
and 单位推荐上报 at the 申报单位, 委托评审 at a 主管部门 / 人社部门), 参评资格审核 at the committee's forming unit,
申报材料综合查询, 评审人员统计, 申报人员信息查询 and 职称申报审核流程查询. The rules live in services.applications.application_review
(the review itself), services.applications.application_queries (every list) and services.applications.evaluation_changes.
The generic inbox sends this area's tasks here (register_task_page) and shows the declaration beside them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from app.auth import permission_required
from app.blueprints.workflow.inbox import register_list_marks, register_record_view, register_task_page
from app.extensions import db
from app.models import Declaration, HumanTask, ProcessInstance
from app.web import date_input, export_job, paginate, send_stored, xlsx_response
from services.applications import application_queries, application_review, declarations
from services.applications.application_queries import Filters
from services.applications.application_review import ReviewInput
from services.applications.review_paths import ROLE_COMMITTEE
from services.common import file_store, opinions
from services.common.errors import Conflict, Forbidden, InvalidInput, NotFound, ServiceError
from services.reference import workdays
from services.workflow import inbox, instances, task_batch

bp = Blueprint("application_review", __name__, url_prefix="/application-review")

REVIEW = application_review.REVIEW_PERMISSION
QUALIFY = application_review.QUALIFY_PERMISSION


# --- 本单位人员审核 / 下级单位人员审核 (S 1.2.3.1, 1.2.3.2) -------------------------------------------------------------

def _unit_page(scope: str) -> Any:
    filters, tab = Filters.parse(request.args), application_queries.unit_tab(request.args.get("tab") or "first")
    pagination = paginate(application_queries.unit_list(current_user, scope, tab, filters))
    return render_template(
        "application_review/units.html", scope=scope, title=application_queries.SCOPES[scope], tab=tab,
        tabs=application_queries.UNIT_TABS, filters=filters, pagination=pagination,
        rows=application_queries.review_rows(current_user, list(pagination.items)),
        counts=application_queries.unit_counts(current_user, scope, filters),
        choices=application_queries.filter_choices(), series=application_queries.series_names(),
        opinions=opinions.list_opinions(current_user), decisions=application_review.DECISIONS)


def _unit_export(scope: str) -> Any:
    filters, tab = Filters.parse(request.args), application_queries.unit_tab(request.args.get("tab") or "first")
    count = application_queries.count_unit_list(current_user, scope, tab, filters)
    if count > current_app.config["EXPORT_INLINE_ROWS"]:
        title = f"{application_queries.SCOPES[scope]}_{application_queries.UNIT_TABS[tab]}"
        return export_job("applications.export_steps", f"导出{title} {count} 条",
                          {"filters": filters.as_args(), "scope": scope, "tab": tab, "title": title,
                           "filename": f"{title}_{date.today():%Y%m%d}.xlsx"})
    steps = list(db.session.scalars(application_queries.unit_list(current_user, scope, tab, filters)).unique())
    title = f"{application_queries.SCOPES[scope]}_{application_queries.UNIT_TABS[tab]}"
    content = application_queries.export_steps(current_user, title, steps, filters)
    db.session.commit()  # the export is on the audit log
    return xlsx_response(content, f"{title}_{date.today():%Y%m%d}.xlsx")


@bp.route("/own")
@permission_required(REVIEW)
def own() -> Any:
    return _unit_page("own")


@bp.route("/own/export")
@permission_required(REVIEW)
def own_export() -> Any:
    return _unit_export("own")


@bp.route("/subordinates")
@permission_required(REVIEW)
def subordinates() -> Any:
    return _unit_page("subordinates")


@bp.route("/subordinates/export")
@permission_required(REVIEW)
def subordinates_export() -> Any:
    return _unit_export("subordinates")


# --- 参评资格审核 (S 1.2.5.1; G1) ----------------------------------------------------------------------------------

@bp.route("/qualification")
@permission_required(QUALIFY)
def qualification() -> Any:
    filters = Filters.parse(request.args)
    tab = application_queries.qualification_tab(request.args.get("tab") or "pending")
    activities = application_queries.qualification_activities(current_user)
    activity_id = request.args.get("activity_id", type=int)
    if activity_id not in {a.id for a in activities}:
        activity_id = None
    pagination = paginate(application_queries.qualification_list(current_user, tab, activity_id, filters))
    return render_template(
        "application_review/qualification.html", tab=tab, tabs=application_queries.QUALIFY_TABS, filters=filters,
        activities=activities, activity_id=activity_id, pagination=pagination,
        rows=application_queries.review_rows(current_user, list(pagination.items)),
        counts=application_queries.qualification_counts(current_user, activity_id, filters),
        choices=application_queries.filter_choices(), series=application_queries.series_names())


# --- the 审核 page of one declaration ----------------------------------------------------------------------------

def _list_url(declaration: Declaration, qualifying: bool) -> str:
    if qualifying:
        return url_for("application_review.qualification")
    scope = "own" if declaration.unit_id == current_user.unit_id else "subordinates"
    return url_for(f"application_review.{scope}")


def _render_review(declaration: Declaration, qualifying: bool, error: ServiceError | None = None,
                   values: Any = None) -> Any:
    row = application_review.current_row(declaration)
    task_id = application_queries.open_task_id(current_user, declaration)
    # A task of the other kind (参评资格审核 vs 单位审核) is worked on its own page.
    can_act = task_id is not None and row is not None and (row.role == ROLE_COMMITTEE) == qualifying
    at_declaring_unit = can_act and row is not None and row.step == 0 and not declaration.at_committee
    may_delegate = can_act and row is not None and row.role in application_review.DELEGATING_ROLES
    calendar = workdays.calendar()
    today = date.today()
    trail = instances.business_trail(application_review.BUSINESS_TYPE, declaration.id)
    calendar_notice = calendar.coverage_notice(row.publicity_start or today, row.publicity_end or today) \
        if at_declaring_unit and row is not None else ""
    return render_template(
        "application_review/review.html", declaration=declaration, row=row, task_id=task_id, can_act=can_act,
        qualifying=qualifying, at_declaring_unit=at_declaring_unit, may_delegate=may_delegate,
        deadline_passed=not declaration.at_committee and application_review.deadline_passed(declaration),
        deadline_message=application_review.deadline_message(declaration),
        return_targets=application_review.return_targets(declaration) if can_act else [],
        delegation_committees=application_review.delegation_committees(declaration) if may_delegate else [],
        publicity_working_days=calendar.publicity_working_days, calendar_notice=calendar_notice,
        attachments=application_review.ATTACHMENTS, opinions=opinions.list_opinions(current_user),
        warnings=declarations.eligibility_warnings(declaration),
        decided_steps=application_review.decided_steps(declaration),
        return_behind=application_review.return_behind(declaration, row),
        path_names={str(i): f"{e['role']}：{e['name']}" for i, e in enumerate(declaration.path)},
        diagram_mark=_diagram_mark(declaration),
        trail=trail, step_names=application_review.trail_step_names(declaration, trail),
        action_labels=instances.ACTION_LABELS, list_url=_list_url(declaration, qualifying),
        # Each message once: beside its field, or (no field) in the form's own box; never also in the base alert.
        errors=error.errors if error else {}, form_error=error.message if error else "", values=values or {},
        **_declaration_context(declaration, can_download=True),
    ), error.status if error else 200


def _diagram_mark(declaration: Declaration) -> str:
    try:
        return application_review.diagram_of(declaration)[1]
    except NotFound:
        return ""


def _declaration_context(declaration: Declaration, can_download: bool) -> dict[str, Any]:
    return {"achievements": application_queries.achievement_views(declaration),
            "materials": application_queries.material_views(declaration),
            "series": application_queries.series_names(), "can_download": can_download}


def _date_field(name: str, label: str) -> date | None:
    return date_input(request.form.get(name), name, label)


def _review_input() -> ReviewInput:
    """The posted decision with its publicity, 委托评审 and uploads (checked by size and real type, not stored)."""
    raw_committee = request.form.get("delegate_committee_id", "").strip()
    if raw_committee and not (raw_committee.isascii() and raw_committee.isdigit() and len(raw_committee) <= 9):
        raise InvalidInput("委托评委会：请选择有效选项", field="delegate_committee_id")
    uploads = {}
    for name, upload in request.files.items(multi=True):
        if name not in application_review.ATTACHMENTS:
            raise InvalidInput(f"未知字段：{name}", field=name)
        if upload.filename:
            content = upload.read()
            checked = file_store.check(application_review.attachment_field(name), upload.filename, content)
            uploads[name] = (checked, content)
    return ReviewInput(
        decision=request.form.get("decision", ""), opinion=request.form.get("opinion", "").strip(),
        return_to=request.form.get("return_to", "").strip(),
        publicity_start=_date_field("publicity_start", "公示开始日期"),
        publicity_end=_date_field("publicity_end", "公示结束日期"),
        delegate_committee_id=int(raw_committee) if raw_committee else None, uploads=uploads)


def _task_id(declaration: Declaration) -> int:
    """The task the page was opened on (a stale one answers 409), else the actor's open task now."""
    posted = request.form.get("task_id", "").strip()
    if posted.isascii() and posted.isdigit() and len(posted) <= 12:
        return int(posted)
    task_id = application_queries.open_task_id(current_user, declaration)
    if task_id is None:
        raise Forbidden("该申报当前没有待您审核的任务")
    return task_id


def _decide(reviewed_id: int, qualifying: bool) -> Any:
    declaration = application_review.load_for_unit(current_user, reviewed_id, acting=True)
    data: ReviewInput | None = None
    try:
        data = _review_input()
        application_review.review(current_user, declaration, _task_id(declaration), data)
    except (InvalidInput, Conflict) as exc:
        db.session.rollback()  # nothing half-written; the page again with the messages
        declaration = application_review.load_for_unit(current_user, reviewed_id)
        if data is not None and data.decision == "pass" and data.uploads:
            _keep_uploads(declaration, data)
        return _render_review(declaration, qualifying, exc, request.form)
    except ServiceError:
        db.session.rollback()
        raise
    done = f"已{application_review.DECISIONS[data.decision]}：{declaration.applicant.name} 的申报"
    target = _list_url(declaration, qualifying)
    db.session.commit()
    flash(done, "success")
    return redirect(target)


def _keep_uploads(declaration: Declaration, data: ReviewInput) -> None:
    """The files of a refused 审核通过 stay as the task's pending attachments: the next try need not choose them."""
    try:
        application_review.keep_pending_uploads(current_user, declaration, _task_id(declaration), data.uploads or {})
        db.session.commit()
    except ServiceError:
        db.session.rollback()


@bp.route("/applications/<int:reviewed_id>", methods=["GET", "POST"])
@permission_required(REVIEW)
def review(reviewed_id: int) -> Any:
    if request.method == "POST":
        return _decide(reviewed_id, qualifying=False)
    return _render_review(application_review.load_for_unit(current_user, reviewed_id), qualifying=False)


@bp.route("/qualification/<int:reviewed_id>", methods=["GET", "POST"])
@permission_required(QUALIFY)
def qualification_review(reviewed_id: int) -> Any:
    if request.method == "POST":
        return _decide(reviewed_id, qualifying=True)
    return _render_review(application_review.load_for_unit(current_user, reviewed_id), qualifying=True)


@bp.route("/applications/<int:reviewed_id>/diagram.xml")
@login_required  # units the declaration reached, as for its files
def diagram(reviewed_id: int) -> Any:
    xml, _mark = application_review.diagram_of(application_review.load_for_unit(current_user, reviewed_id))
    return Response(xml, mimetype="application/xml")


@bp.route("/applications/<int:reviewed_id>/files/<reviewed_sha256>")
@login_required  # units the declaration reached: services.applications.application_review.load_for_unit decides
def download(reviewed_id: int, reviewed_sha256: str) -> Any:
    declaration = application_review.load_for_unit(current_user, reviewed_id)
    return send_stored(declarations.declaration_file(declaration, reviewed_sha256, with_review=True))


# --- 批量通过 / 批量退回 / 批量不通过 ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class BatchOutcome:
    reviewed_id: int
    name: str
    done: bool
    reason: str = ""
    openable: bool = False  # the actor may open it and handle it on its 审核 page (say, to upload 公示 files)


def _batch_one(reviewed_id: int, data: ReviewInput) -> BatchOutcome:
    name = ""
    try:
        declaration = application_review.load_for_unit(current_user, reviewed_id, acting=True)
        name = declaration.applicant.name
        task_id = application_queries.open_task_id(current_user, declaration)
        if task_id is None:
            raise Conflict("该申报当前没有待您审核的任务")
        application_review.review(current_user, declaration, task_id, data)
        db.session.commit()
        return BatchOutcome(reviewed_id, name, True)
    except ServiceError as exc:
        db.session.rollback()
        return BatchOutcome(reviewed_id, name, False, task_batch.error_reason(exc), openable=bool(name))


@bp.route("/batch", methods=["POST"])
@permission_required(REVIEW)
def batch() -> Any:
    ids = inbox.batch_task_ids(request.form.getlist("application_ids"), "application_ids", "申报", "批量审核")
    decision, opinion = request.form.get("decision", ""), request.form.get("opinion", "").strip()
    if decision not in application_review.DECISIONS:
        raise InvalidInput("审核结果：选项无效", field="decision")
    if not opinion or len(opinion) > opinions.MAX_LENGTH:
        raise InvalidInput(f"审核意见：必须填写，且不超过 {opinions.MAX_LENGTH} 个字", field="opinion")
    scope = request.form.get("scope") if request.form.get("scope") in application_queries.SCOPES else "own"
    # Each declaration in its own transaction: one refusal (say, a pass without 公示) does not undo the others.
    outcomes = [_batch_one(reviewed_id, ReviewInput(decision, opinion)) for reviewed_id in ids]
    return render_template("application_review/batch_result.html", outcomes=outcomes, scope=scope,
                           decision_label=application_review.DECISIONS[decision])


# --- the generic inbox: this area's tasks open on the 审核 page ----------------------------------------------------

def _task_page(task: HumanTask) -> str:
    endpoint = "qualification_review" if task.post == "committee_reviewer" else "review"
    return url_for(f"application_review.{endpoint}", reviewed_id=task.business_id)


def _declaration_record(instance: ProcessInstance) -> dict[str, Any]:
    declaration = db.session.get(Declaration, instance.business_id)
    if declaration is None:
        raise NotFound("申报不存在")
    endpoint = "qualification_review" if declaration.at_committee else "review"
    return {"declaration": declaration, "series": application_queries.series_names(),
            "review_url": url_for(f"application_review.{endpoint}", reviewed_id=declaration.id)}


register_task_page(application_review.BUSINESS_TYPE, _task_page)
# 复审 (this unit returned it and it came back) / 退回重审 (a superior sent it back); a first arrival has none.
register_list_marks(application_review.BUSINESS_TYPE, {"recheck": "复审", "returned": "退回重审"})
register_record_view(application_review.BUSINESS_TYPE, _declaration_record)
