"""评审结果 pages (G12, H1–H3): the committee's 评审结果公示 and 结果报送, the confirming unit's 评审结果确认, and
the public notice with 我要反馈 (its own blueprint: visitors and applicants reach it)."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from markupsafe import Markup
from sqlalchemy import func, select

from app.auth import permission_required
from app.blueprints.workflow.inbox import register_record_view, register_task_page
from app.extensions import db
from app.models import Complaint, HumanTask, ProcessInstance, ResultEntry
from app.web import checked_uploads, date_input, paginate, send_stored, store_uploads, xlsx_response
from services.common.errors import NotFound, ServiceError
from services.common.excel.export import write_table
from services.results import confirmation, filing, publicity
from services.workflow import instances
from services.workflow.forms import FieldDefinition

bp = Blueprint("results", __name__, url_prefix="/results")
public_bp = Blueprint("public_results", __name__, url_prefix="/public/results")

EVIDENCE = FieldDefinition("evidence", "证明材料", "file", max_size_mb=20, accept=("pdf", "jpg", "png"))


# --- 评审结果公示 (the committee's forming unit) ---------------------------------------------------------------------

@bp.route("/")
@permission_required(publicity.PUBLICIZE_PERMISSION)
def index() -> Any:
    from app.models import ResultPublicity

    stmt = select(ResultPublicity).where(ResultPublicity.unit_id == current_user.unit_id) \
        .order_by(ResultPublicity.published_at.desc(), ResultPublicity.id.desc())
    pagination = paginate(stmt)
    ids = [p.id for p in pagination.items]
    open_counts = dict(db.session.execute(select(Complaint.publicity_id, func.count()).where(
        Complaint.publicity_id.in_(ids), Complaint.status == "open").group_by(Complaint.publicity_id)).tuples().all())
    people = dict(db.session.execute(select(ResultEntry.publicity_id, func.count()).where(
        ResultEntry.publicity_id.in_(ids)).group_by(ResultEntry.publicity_id)).tuples().all())
    return render_template("results/index.html", pagination=pagination, meetings=publicity.publishable_meetings(
        current_user), open_counts=open_counts, people=people)


def _form() -> publicity.PublicityForm:
    days = request.form.get("working_days", "").strip()
    return publicity.PublicityForm(
        title=request.form.get("title", ""), start_on=date_input(request.form.get("start_on"), "start_on", "公示开始日期"),
        working_days=int(days) if days.isdigit() else None, contact_name=request.form.get("contact_name", ""),
        contact_phone=request.form.get("contact_phone", ""))


@bp.route("/meetings/<int:meeting_id>/publish", methods=["GET", "POST"])
@permission_required(publicity.PUBLICIZE_PERMISSION)
def publish(meeting_id: int) -> Any:
    meeting = publicity.load_meeting(current_user, meeting_id)
    rows = publicity.passers(meeting)
    minimum = publicity.calendar().publicity_working_days
    if request.method == "POST":
        try:
            created = publicity.publish(current_user, meeting, _form())
            db.session.commit()
        except ServiceError as exc:
            db.session.rollback()
            return render_template("results/publish.html", meeting=meeting, rows=rows, minimum=minimum,
                                   values=request.form, errors=exc.errors or {exc.field or "title": [exc.message]},
                                   error=exc.message, task=publicity.publicity_task(meeting)), exc.status
        flash(f"评审结果公示已发布，公示期至 {created.end_on}", "success")
        return redirect(url_for("results.publicity_page", publicity_id=created.id))
    values = {"title": f"{meeting.committee.name}{meeting.year}年度评审结果公示", "start_on": date.today().isoformat(),
              "working_days": str(minimum)}
    return render_template("results/publish.html", meeting=meeting, rows=rows, minimum=minimum, values=values,
                           errors={}, task=publicity.publicity_task(meeting))


def _publish_page(task: HumanTask) -> str:
    """A 评审结果公示 task of 待办 opens the meeting's publish page (publishing completes it)."""
    return url_for("results.publish", meeting_id=task.business_id)


register_task_page(publicity.BUSINESS_TYPE, _publish_page)


@bp.route("/end-date")
@permission_required(publicity.PUBLICIZE_PERMISSION)
def end_date() -> Any:
    """The computed last day of a period (htmx beside the form)."""
    start = date_input(request.args.get("start_on"), "start_on", "公示开始日期")
    days = request.args.get("working_days", "")
    if start is None or not days.isdigit() or not 1 <= int(days) <= 60:
        return "<span class=\"text-secondary\">填写开始日期和工作日天数后显示</span>"
    return f"公示截止日期：<strong data-testid=\"end-on\">{publicity.end_of_period(start, int(days))}</strong>"


@bp.route("/publicity/<int:publicity_id>")
@permission_required(publicity.PUBLICIZE_PERMISSION)
def publicity_page(publicity_id: int) -> Any:
    item = publicity.load_publicity(current_user, publicity_id)
    return render_template("results/publicity.html", publicity=item, entries=publicity.entries_of(item),
                           complaints=publicity.complaints_of(item), errors={})


@bp.route("/publicity/<int:publicity_id>/withdraw", methods=["POST"])
@permission_required(publicity.PUBLICIZE_PERMISSION)
def withdraw(publicity_id: int) -> Any:
    item = publicity.load_publicity(current_user, publicity_id)
    publicity.withdraw(current_user, item, request.form.get("reason", ""))
    db.session.commit()
    flash("公示已撤回，公示页面已下线", "success")
    return redirect(url_for("results.index"))


@bp.route("/publicity/<int:publicity_id>/close", methods=["POST"])
@permission_required(publicity.PUBLICIZE_PERMISSION)
def close(publicity_id: int) -> Any:
    confirmation.close_publicity(current_user, publicity_id)
    db.session.commit()
    flash("评审结果已办结", "success")
    return redirect(url_for("results.publicity_page", publicity_id=publicity_id))


@bp.route("/publicity/<int:publicity_id>/offline", methods=["POST"])
@permission_required(publicity.PUBLICIZE_PERMISSION)
def offline_complaint(publicity_id: int) -> Any:
    item = publicity.load_publicity(current_user, publicity_id)
    try:
        files = checked_uploads("evidence", EVIDENCE)
        publicity.record_offline(current_user, item, request.form, [record for record, _ in files])
        store_uploads(files)
        db.session.commit()
    except ServiceError as exc:
        db.session.rollback()
        item = publicity.load_publicity(current_user, publicity_id)
        return render_template("results/publicity.html", publicity=item, entries=publicity.entries_of(item),
                               complaints=publicity.complaints_of(item), values=request.form,
                               errors=exc.errors or {exc.field or "offline": [exc.message]}), exc.status
    flash("线下投诉已录入", "success")
    return redirect(url_for("results.publicity_page", publicity_id=item.id))


@bp.route("/complaints/<int:complaint_id>/settle", methods=["POST"])
@permission_required(publicity.PUBLICIZE_PERMISSION)
def settle(complaint_id: int) -> Any:
    complaint = publicity.load_complaint(current_user, complaint_id)
    publicity.settle(current_user, complaint, request.form.get("outcome", ""), request.form.get("outcome_reason", ""))
    db.session.commit()
    flash("投诉处理结果已保存", "success")
    return redirect(url_for("results.publicity_page", publicity_id=complaint.publicity_id))


@bp.route("/complaints/<int:complaint_id>/evidence/<int:index>")
@permission_required(publicity.PUBLICIZE_PERMISSION)
def evidence(complaint_id: int, index: int) -> Any:
    complaint = publicity.load_complaint(current_user, complaint_id)
    if not 0 <= index < len(complaint.evidence):
        abort(404)
    return send_stored(complaint.evidence[index])


# --- 结果报送: the committee's side (H3) ----------------------------------------------------------------------------

@bp.route("/committee")
@permission_required(publicity.PUBLICIZE_PERMISSION)
def committee() -> Any:
    status = request.args.get("status", "returned")
    status = status if status in ("returned", "confirming", "confirmed", "rejected", "held", "revoked") else "returned"
    return render_template("results/committee.html", pagination=paginate(confirmation.committee_query(
        current_user, status)), status=status, errors={})


@bp.route("/entries/<int:result_entry_id>/supplement", methods=["POST"])
@permission_required(publicity.PUBLICIZE_PERMISSION)
def supplement(result_entry_id: int) -> Any:
    entry = confirmation.load_for_committee(current_user, result_entry_id)
    files = checked_uploads("files", EVIDENCE)
    confirmation.supplement(current_user, entry, request.form.get("note", ""), [record for record, _ in files])
    store_uploads(files)
    db.session.commit()
    flash(f"{entry.name} 的补充材料已提交确认单位", "success")
    return redirect(url_for("results.committee", status="returned"))


@bp.route("/committee/doc-no", methods=["POST"])
@permission_required(publicity.PUBLICIZE_PERMISSION)
def doc_numbers() -> Any:
    ids = [int(i) for i in request.form.getlist("entry_ids") if i.isdigit()]
    count = confirmation.set_doc_numbers(current_user, ids, request.form.get("doc_no", ""),
                                         date_input(request.form.get("approved_on"), "approved_on", "批准时间"))
    db.session.commit()
    flash(f"已为 {count} 人设置职称文件文号", "success")
    return redirect(url_for("results.committee", status="confirmed"))


@bp.route("/committee/certificate-info", methods=["POST"])
@permission_required(publicity.PUBLICIZE_PERMISSION)
def certificate_info() -> Any:
    ids = [int(i) for i in request.form.getlist("entry_ids") if i.isdigit()]
    job = confirmation.start_certificate_info(current_user, ids)
    return redirect(url_for("jobs.detail", job_id=job.id))


@bp.route("/entries/<int:result_entry_id>/files/<int:index>")
@login_required
def supplement_file(result_entry_id: int, index: int) -> Any:
    from services.authz import access

    entry = db.session.get(ResultEntry, result_entry_id)
    committee_side = entry is not None and current_user.unit_id == entry.committee_unit_id \
        and access.has_permission(current_user, publicity.PUBLICIZE_PERMISSION, current_user.unit)
    confirming_side = entry is not None and current_user.unit_id == entry.confirming_unit_id \
        and access.has_permission(current_user, confirmation.CONFIRM_PERMISSION, current_user.unit)
    if entry is None or not (committee_side or confirming_side) or not 0 <= index < len(entry.supplement_files):
        abort(404)
    return send_stored(entry.supplement_files[index])


# --- 评审结果申请备案 / 职称评审结果备案 (G13) ---------------------------------------------------------------------------

REPORT = FieldDefinition("report", "评审工作报告", "file", max_size_mb=20, accept=("pdf",))
FILING_STATUSES = {"": "全部", "pending": "审核中", "returned": "已退回", "approved": "已备案", "rejected": "备案不通过"}


@bp.route("/filings", endpoint="filings")
@bp.route("/filings/review", endpoint="filing_reviews")
@login_required
def filings() -> Any:
    """职称评审结果备案: the unit's own filings and those it reviews; the meetings it may file."""
    from services.authz import access

    may_file = access.has_permission(current_user, filing.FILE_PERMISSION, current_user.unit)
    if not may_file and not access.has_permission(current_user, filing.REVIEW_PERMISSION, current_user.unit):
        abort(403)
    status = request.args.get("status", "") if request.args.get("status") in FILING_STATUSES else ""
    return render_template("results/filings.html", pagination=paginate(filing.query(current_user, status)),
                           status=status, statuses=FILING_STATUSES,
                           meetings=filing.fileable_meetings(current_user) if may_file else [], errors={}, values={},
                           list_endpoint=request.endpoint)


@bp.route("/meetings/<int:meeting_id>/filing", methods=["POST"])
@permission_required(filing.FILE_PERMISSION)
def file_results(meeting_id: int) -> Any:
    meeting = publicity.load_meeting(current_user, meeting_id)
    try:
        files = checked_uploads("report", REPORT)
        created = filing.submit(current_user, meeting, request.form,
                                date_input(request.form.get("filed_on"), "filed_on", "备案时间"),
                                files[0][0] if files else None)
        store_uploads(files[:1])
        db.session.commit()
    except ServiceError as exc:
        db.session.rollback()
        return render_template("results/filings.html", pagination=paginate(filing.query(current_user)), status="",
                               statuses=FILING_STATUSES, meetings=filing.fileable_meetings(current_user),
                               errors=exc.errors or {exc.field or "doc_no": [exc.message]}, values=request.form,
                               meeting_id=meeting_id, list_endpoint="results.filings"), exc.status
    flash("评审结果备案申请已提交授权管理单位审核", "success")
    return redirect(url_for("results.filing_page", result_filing_id=created.id))


@bp.route("/filings/<int:result_filing_id>", methods=["GET", "POST"])
@login_required
def filing_page(result_filing_id: int) -> Any:
    item = filing.load(current_user, result_filing_id)
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        try:
            files = checked_uploads("report", REPORT)
            filing.resubmit(current_user, item, request.form,
                            date_input(request.form.get("filed_on"), "filed_on", "备案时间"), files[0][0] if files else None)
            store_uploads(files[:1])
            db.session.commit()
            flash("已重新提交备案申请", "success")
            return redirect(url_for("results.filing_page", result_filing_id=item.id))
        except ServiceError as exc:
            db.session.rollback()
            item = filing.load(current_user, result_filing_id)
            errors, status = exc.errors or {exc.field or "doc_no": [exc.message]}, exc.status
    trail = instances.business_trail(filing.BUSINESS_TYPE, item.id)
    return render_template("results/filing.html", filing=item, trail=trail, errors=errors,
                           action_labels=instances.ACTION_LABELS), status


@bp.route("/filings/<int:result_filing_id>/report")
@login_required
def filing_report(result_filing_id: int) -> Any:
    return send_stored(filing.load(current_user, result_filing_id).report)


def _filing_record(instance: ProcessInstance) -> dict[str, Any]:
    from app.models import ResultFiling

    item = db.session.get(ResultFiling, instance.business_id)
    if item is None:
        raise NotFound("备案申请不存在")
    return {"filing": item}


register_record_view(filing.BUSINESS_TYPE, _filing_record)


# --- 评审结果确认 (the confirming unit) -------------------------------------------------------------------------------

@bp.route("/confirm")
@permission_required(confirmation.CONFIRM_PERMISSION)
def confirm_list() -> Any:
    tab = request.args.get("tab", "pending") if request.args.get("tab") in confirmation.TABS else "pending"
    delegated = request.args.get("delegated") == "1"
    name = request.args.get("name", "").strip()[:50]
    stmt = confirmation.query(current_user, tab, delegated, name)
    if request.args.get("export") == "1":
        rows = ([e.name, e.work_unit, e.title_name, e.specialty, e.status_label, e.opinion]
                for e in db.session.scalars(stmt))
        return xlsx_response(write_table("评审结果确认", ["姓名", "工作单位", "资格名称", "专业", "状态", "意见"], rows),
                             f"评审结果确认（{confirmation.TABS[tab][0]}）.xlsx")
    pagination = paginate(stmt)
    tasks = instances.open_tasks_of(current_user, confirmation.BUSINESS_TYPE, [e.id for e in pagination.items])
    counts = {key: db.session.scalar(select(func.count()).select_from(
        confirmation.query(current_user, key, delegated).subquery())) for key in confirmation.TABS}
    return render_template("results/confirm.html", pagination=pagination, tab=tab, tabs=confirmation.TABS,
                           delegated=delegated, name=name, tasks=tasks, counts=counts)


@bp.route("/entries/<int:result_entry_id>/declaration")
@permission_required(confirmation.CONFIRM_PERMISSION)
def declaration(result_entry_id: int) -> Any:
    """材料审阅: the whole declaration, read-only, for the unit confirming its result."""
    from services.applications import application_queries, application_review

    entry = confirmation.load_for_confirming_unit(current_user, result_entry_id)
    item = entry.declaration
    return render_template(
        "results/declaration.html", entry=entry, declaration=item, can_download=True,
        file_url=lambda sha256: url_for("results.declaration_file", result_entry_id=entry.id, reviewed_sha256=sha256),
        achievements=application_queries.achievement_views(item), materials=application_queries.material_views(item),
        series=application_queries.series_names(), decided_steps=application_review.decided_steps(item),
        attachments=application_review.ATTACHMENTS,
        path_names={str(i): f"{e['role']}：{e['name']}" for i, e in enumerate(item.path)},
        task=instances.open_tasks_of(current_user, confirmation.BUSINESS_TYPE, [entry.id]).get(entry.id))


@bp.route("/entries/<int:result_entry_id>/declaration/files/<reviewed_sha256>")
@permission_required(confirmation.CONFIRM_PERMISSION)
def declaration_file(result_entry_id: int, reviewed_sha256: str) -> Any:
    from services.applications import declarations

    entry = confirmation.load_for_confirming_unit(current_user, result_entry_id)
    return send_stored(declarations.declaration_file(entry.declaration, reviewed_sha256, with_review=True))


@bp.route("/confirm/pass-all", methods=["POST"])
@permission_required(confirmation.CONFIRM_PERMISSION)
def pass_all() -> Any:
    ids = [int(i) for i in request.form.getlist("entry_ids") if i.isdigit()]
    job = confirmation.start_pass_all(current_user, ids, request.form.get("opinion", ""))
    return redirect(url_for("jobs.detail", job_id=job.id))


def _entry_record(instance: ProcessInstance) -> dict[str, Any]:
    entry = db.session.get(ResultEntry, instance.business_id)
    if entry is None:
        raise NotFound("评审结果不存在")
    return {"entry": entry}


register_record_view(confirmation.BUSINESS_TYPE, _entry_record)


# --- the public notice and 我要反馈 -------------------------------------------------------------------------------------

@public_bp.route("/<int:publicity_id>")
def notice(publicity_id: int) -> Any:
    item = publicity.public_publicity(publicity_id)
    today = date.today()
    # The notice is our own template's output, its values escaped there: safe to embed.
    return render_template("results/public.html", publicity=item, notice=Markup(publicity.notice_html(item)),
                           open_now=item.status == "published" and item.start_on <= today <= item.end_on,
                           ended=item.end_on < today)


@public_bp.route("/<int:publicity_id>/notice.pdf")
def notice_pdf(publicity_id: int) -> Any:
    item = publicity.public_publicity(publicity_id)
    if not item.notice_pdf:
        abort(404)
    return send_stored(item.notice_pdf)


@public_bp.route("/<int:publicity_id>/feedback", methods=["GET", "POST"])
@login_required
def feedback(publicity_id: int) -> Any:
    item = publicity.public_publicity(publicity_id)
    entries = publicity.entries_of(item)
    if request.method == "POST":
        try:
            publicity.file_complaint(current_user, item, request.form)
            db.session.commit()
        except ServiceError as exc:
            db.session.rollback()
            return render_template("results/feedback.html", publicity=item, entries=entries, values=request.form,
                                   errors=exc.errors or {exc.field or "content": [exc.message]}), exc.status
        flash("反馈已提交，评委会将核实处理", "success")
        return redirect(url_for("public_results.notice", publicity_id=item.id))
    return render_template("results/feedback.html", publicity=item, entries=entries, values={}, errors={})


@public_bp.app_template_global()
def public_result_notices() -> list[Any]:
    """The notices the public home page lists (its results/_public_section.html)."""
    return publicity.public_publicities()
