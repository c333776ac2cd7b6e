"""专家库管理 and 专家库审核 (S 1.2.2.3, 1.2.2.4; FEATURES D1–D5)."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from app.auth import permission_required
from app.blueprints.workflow.inbox import register_record_view
from app.extensions import db
from app.models import Title, TitleSeries
from app.models.committee import MEMBERSHIP_STATUS_LABELS, ROLE_LABELS
from app.web import paginate, render_form, xlsx_response
from services.committees.committees import rules
from services.common import audit_log
from services.common.errors import ServiceError
from services.common.excel.export import write_table
from services.experts import expert_import, experts
from services.jobs import start_job
from services.jobs.runner import load_job
from services.reference.validation import mask_id_number

bp = Blueprint("experts", __name__, url_prefix="/experts")


def _form_choices() -> dict[str, Any]:
    expert_rules = rules()["expert"]
    return {"series": [(s.code, s.name) for s in db.session.scalars(
                select(TitleSeries).where(TitleSeries.enabled.is_(True)).order_by(TitleSeries.sort_order))],
            "titles": [(t.id, f"{t.name}（{t.series.name}）") for t in db.session.scalars(
                select(Title).where(Title.current_id.is_(None)).order_by(Title.series_code, Title.sort_order))],
            "genders": [(g, g) for g in expert_rules["genders"]], "id_types": expert_rules["id_types"],
            "admin_post_levels": [(lv, lv) for lv in expert_rules["admin_post_levels"]],
            "roles": list(ROLE_LABELS.items())}


@bp.route("/")
@permission_required("expert.manage")
def index() -> Any:
    """选择评委会: own committees, and superiors' committees to recommend experts to."""
    return render_template("experts/index.html", own=list(db.session.scalars(experts.managed_committees(current_user))),
                           superiors=experts.recommendable_committees(current_user))


@bp.route("/<int:committee_id>")
@permission_required("expert.manage")
def members(committee_id: int) -> Any:
    committee, own = experts.load_committee(current_user, committee_id)
    status = request.args.get("list", "draft")
    if status not in experts.LISTS:
        status = "draft"
    keyword = request.args.get("keyword", "").strip()[:30]
    pagination = paginate(experts.members_query(current_user, committee, status, keyword))
    return render_template("experts/members.html", committee=committee, own=own, status=status, keyword=keyword,
                           pagination=pagination, counts=experts.list_counts(current_user, committee),
                           labels=MEMBERSHIP_STATUS_LABELS, today=date.today())


@bp.route("/<int:committee_id>/export")
@permission_required("expert.manage")
def export(committee_id: int) -> Any:
    committee, _ = experts.load_committee(current_user, committee_id)
    status = request.args.get("list", "in_library")
    rows = db.session.scalars(experts.members_query(current_user, committee, status).limit(100_000))
    today = date.today()
    content = write_table("专家名单", ["姓名", "性别", "证件号码", "年龄", "工作单位", "行政职务", "联系电话1", "现职称",
                                   "现从事专业", "评委会职务", "状态"],
                          ([m.expert.name, m.expert.gender, mask_id_number(m.expert.id_number), m.expert.age_on(today),
                            m.expert.work_unit, m.expert.admin_post, m.expert.phone1, m.expert.title.name,
                            m.expert.specialty, m.role_label, m.status_label] for m in rows))
    audit_log.record(current_user, "expert.export", f"导出评委会「{committee.name}」专家名单", "committee", committee.id)
    db.session.commit()
    return xlsx_response(content, f"{committee.name}专家名单.xlsx")


@bp.route("/<int:committee_id>/new", methods=["GET", "POST"])
@permission_required("expert.manage")
def create(committee_id: int) -> Any:
    committee, own = experts.load_committee(current_user, committee_id)
    if request.method == "POST":
        try:
            experts.add_expert(current_user, committee, request.form)
        except ServiceError as exc:
            db.session.rollback()
            return render_form("experts/form.html", exc, committee=committee, member=None, **_form_choices())
        db.session.commit()
        flash("专家信息已新增" if own else "已推荐至上级单位评委会，等待审核", "success")
        return redirect(url_for("experts.members", committee_id=committee.id, list="draft" if own else "recommended"))
    return render_template("experts/form.html", committee=committee, member=None, values={"country": "中国"},
                           errors={}, **_form_choices())


def _member_values(member: Any) -> dict[str, Any]:
    e = member.expert
    return {"country": e.country, "name": e.name, "id_type": e.id_type, "id_number": e.id_number, "gender": e.gender,
            "birth_month": e.birth_month, "retired": "是" if e.retired else "否", "work_unit": e.work_unit,
            "competent_unit": e.competent_unit, "admin_post": e.admin_post, "admin_post_level": e.admin_post_level,
            "phone1": e.phone1, "phone2": e.phone2, "honors": e.honors, "series_code": e.series_code or "",
            "specialty": e.specialty, "title_id": e.title_id, "role": member.role}


@bp.route("/<int:committee_id>/<int:membership_id>/edit", methods=["GET", "POST"])
@permission_required("expert.manage")
def edit(committee_id: int, membership_id: int) -> Any:
    committee, _ = experts.load_committee(current_user, committee_id)
    member = experts.load_member(current_user, committee, membership_id)
    if request.method == "POST":
        try:
            experts.update_expert(current_user, committee, member, request.form)
        except ServiceError as exc:
            db.session.rollback()
            return render_form("experts/form.html", exc, committee=committee, member=member, **_form_choices())
        db.session.commit()
        flash("专家信息已保存", "success")
        return redirect(url_for("experts.members", committee_id=committee.id, list=member.status))
    return render_template("experts/form.html", committee=committee, member=member, values=_member_values(member),
                           errors={}, **_form_choices())


@bp.route("/<int:committee_id>/<int:membership_id>")
@permission_required("expert.manage")
def detail(committee_id: int, membership_id: int) -> Any:
    """查看详情, with the expert's history (D5)."""
    committee, _ = experts.load_committee(current_user, committee_id)
    member = experts.load_member(current_user, committee, membership_id)
    return render_template("experts/detail.html", committee=committee, member=member, expert=member.expert,
                           history=experts.history_of(member.expert), today=date.today())


@bp.route("/<int:committee_id>/<int:membership_id>/delete", methods=["POST"])
@permission_required("expert.manage")
def delete(committee_id: int, membership_id: int) -> Any:
    committee, _ = experts.load_committee(current_user, committee_id)
    member = experts.load_member(current_user, committee, membership_id)
    status = member.status
    experts.remove_member(current_user, member)
    db.session.commit()
    flash("已删除", "success")
    return redirect(url_for("experts.members", committee_id=committee.id, list=status))


@bp.route("/<int:committee_id>/<int:membership_id>/recommendation", methods=["POST"])
@permission_required("expert.manage")
def recommendation(committee_id: int, membership_id: int) -> Any:
    committee, _ = experts.load_committee(current_user, committee_id)
    member = experts.load_member(current_user, committee, membership_id)
    experts.take_recommendation(current_user, committee, member, request.form.get("decision") == "accept",
                                request.form.get("opinion", ""))
    db.session.commit()
    flash("已处理下级单位推荐", "success")
    return redirect(url_for("experts.members", committee_id=committee.id, list="recommended"))


@bp.route("/<int:committee_id>/submit", methods=["POST"])
@permission_required("expert.manage")
def submit(committee_id: int) -> Any:
    committee, _ = experts.load_committee(current_user, committee_id)
    ids = [int(v) for v in request.form.getlist("membership_ids") if v.isdigit()]
    count = experts.submit_experts(current_user, committee, ids)
    db.session.commit()
    flash(f"已提交 {count} 名专家至备案单位审核", "success")
    return redirect(url_for("experts.members", committee_id=committee.id, list="draft"))


# --- 批量新增 (D2) -------------------------------------------------------------------------------------------------

@bp.route("/<int:committee_id>/import/template")
@permission_required("expert.manage")
def import_template(committee_id: int) -> Any:
    experts.load_committee(current_user, committee_id)
    return xlsx_response(expert_import.template_xlsx(), "专家信息导入模板.xlsx")


@bp.route("/<int:committee_id>/import", methods=["GET", "POST"])
@permission_required("expert.manage")
def import_upload(committee_id: int) -> Any:
    """数据检验: the file is checked as a whole here, its rows by a background job whose panel the page shows."""
    committee, _ = experts.load_committee(current_user, committee_id)
    report, job = None, None
    if request.method == "POST":
        upload = request.files.get("file")
        try:
            token = expert_import.stage_upload(current_user, committee, upload.read() if upload else b"")
        except ServiceError as exc:
            db.session.rollback()
            return render_template("experts/import.html", committee=committee, report=None, job=None,
                                   error=exc.message, errors=exc.errors), exc.status
        job = start_job(current_user, "experts.import_check", f"专家批量新增数据检验：{committee.name}",
                        {"committee_id": committee.id, "token": token,
                         "return_url": url_for("experts.import_upload", committee_id=committee.id)})
    elif request.args.get("job", "").isdigit():
        job = load_job(current_user, int(request.args["job"]))
        if job.kind != "experts.import_check" or (job.params or {}).get("committee_id") != committee.id:
            abort(404)
    if job is not None and job.state == "done" and job.result:
        report = expert_import.report_from_result(job.result)
    return render_template("experts/import.html", committee=committee, report=report, job=job, errors={})


@bp.route("/<int:committee_id>/import/confirm", methods=["POST"])
@permission_required("expert.manage")
def import_confirm(committee_id: int) -> Any:
    committee, own = experts.load_committee(current_user, committee_id)
    token = request.values.get("token", "")
    expert_import.load_pending_file(token)  # 400 / 404 at once when there is no file to import
    members_url = url_for("experts.members", committee_id=committee.id, list="draft" if own else "recommended")
    job = start_job(current_user, "experts.import", f"专家批量新增导入：{committee.name}",
                    {"committee_id": committee.id, "token": token, "members_url": members_url})
    if job.state == "done":
        flash(job.summary, "success")
        return redirect(members_url)
    if job.state == "failed":
        flash(job.error, "danger")
    return redirect(url_for("jobs.detail", job_id=job.id))


# --- 专家库审核 (D4) -------------------------------------------------------------------------------------------------

@bp.route("/reviews")
@permission_required("expert.review")
def reviews() -> Any:
    return render_template("experts/reviews.html", rows=experts.review_committees(current_user))


@bp.route("/reviews/<int:committee_id>")
@permission_required("expert.review")
def review_committee(committee_id: int) -> Any:
    committee = experts.load_review_committee(current_user, committee_id)
    return render_template("experts/review_committee.html", committee=committee,
                           rows=experts.pending_reviews(current_user, committee), today=date.today())


@bp.route("/reviews/<int:committee_id>/decide", methods=["POST"])
@permission_required("expert.review")
def review_decide(committee_id: int) -> Any:
    """通过 / 退回 one expert or several (批量); each is its own review task, all completed or none."""
    committee = experts.load_review_committee(current_user, committee_id)
    ids = [int(v) for v in request.form.getlist("task_ids") if v.isdigit()]
    decision = "pass" if request.form.get("decision") == "pass" else "return"
    try:
        experts.complete_reviews(current_user, committee, ids, decision, request.form.get("opinion", ""))
    except ServiceError:
        db.session.rollback()  # nothing of the batch is kept
        raise
    db.session.commit()
    flash(f"已{'通过' if decision == 'pass' else '退回'} {len(ids)} 名专家", "success")
    return redirect(url_for("experts.review_committee", committee_id=committee.id))


def _expert_record(instance: Any) -> dict[str, Any]:
    """The expert beside a 专家库审核 task on the inbox page."""
    from app.models import CommitteeExpert
    from services.common.errors import NotFound

    member = db.session.get(CommitteeExpert, instance.business_id)
    if member is None:
        raise NotFound("专家不存在")
    return {"member": member, "expert": member.expert, "committee": member.committee, "today": date.today()}


register_record_view(experts.BUSINESS_TYPE, _expert_record)
