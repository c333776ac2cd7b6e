"""评委会备案申报 and 评委会备案审核 (S 1.2.2.1, 1.2.2.2; FEATURES C1–C3).

The administrator's 评委会管理 and 评委会查询 (H 1.10, 1.11) live in committee_admin.py.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from app.auth import permission_required
from app.blueprints.workflow.inbox import register_record_view
from app.extensions import db
from app.models import Committee, CommitteeExpert, CommitteeFiling, Expert, Specialty
from app.models.committee import COMMITTEE_STATUS_LABELS, ROLE_LABELS
from app.web import form_input, paginate, render_form, send_stored
from services.committees import committee_filing, committees
from services.common.errors import ServiceError

bp = Blueprint("committees", __name__, url_prefix="/committees")

LIST_FIELDS = ("level_codes", "applicant_natures", "specialty_ids")


def form_choices(forming_unit: Any) -> dict[str, Any]:
    from sqlalchemy import select

    specialties: dict[str, list[tuple[int, str]]] = {}
    for s in db.session.scalars(select(Specialty).where(Specialty.enabled.is_(True)).order_by(Specialty.code)):
        specialties.setdefault(s.series_code, []).append((s.id, f"{s.code} {s.name}"))
    return {"review_types": committees.review_type_choices(), "levels": committees.level_choices(),
            "series": committees.series_choices(), "natures": committees.nature_choices(),
            "specialties": specialties, "forming_unit": forming_unit,
            "authorizing_units": committees.authorizing_unit_choices(forming_unit),
            "filing_units": committees.filing_unit_choices(forming_unit, "初级")}


def committee_values(committee: Committee) -> dict[str, Any]:
    return {"name": committee.name, "agency": committee.agency, "office": committee.office,
            "review_type": committee.review_type, "level_codes": committee.level_codes,
            "authorizing_unit_id": committee.authorizing_unit_id, "filing_unit_id": committee.filing_unit_id,
            "contact_name": committee.contact_name, "contact_phone": committee.contact_phone,
            "address": committee.address, "internal_only": str(committee.internal_only).lower(),
            "applicant_natures": committee.applicant_natures or [], "build_mode": committee.build_mode,
            "series_code": committee.series_code, "specialty_ids": [s.specialty_id for s in committee.specialties],
            "region_code": committee.region.code, "funded": str(committee.funded).lower()}


def _posted_values() -> dict[str, Any]:
    values = form_input(*LIST_FIELDS)
    values["specialty_ids"] = [int(v) for v in values["specialty_ids"] if str(v).isdigit()]
    return values



@bp.app_template_global()
def review_type_name(code: str) -> str:
    """评审类型 in words (常规评审 …), never its code."""
    return dict(committees.review_type_choices()).get(code, code)

@bp.route("/")
@permission_required("committee.filing")
def index() -> Any:
    filters = {"keyword": request.args.get("keyword", "").strip()[:50], "status": request.args.get("status", "")}
    pagination = paginate(committees.own_committees(current_user, **filters))
    return render_template("committees/index.html", pagination=pagination, filters=filters,
                           statuses=COMMITTEE_STATUS_LABELS, latest=committee_filing.latest_filing)


@bp.route("/new", methods=["GET", "POST"])
@permission_required("committee.filing")
def create() -> Any:
    context = form_choices(current_user.unit)
    if request.method == "POST":
        try:
            committee = committees.create_committee(current_user, form_input(*LIST_FIELDS))
        except ServiceError as exc:
            db.session.rollback()
            return render_form("committees/form.html", exc, committee=None, form_values=_posted_values(), **context)
        db.session.commit()
        flash("评委会基本信息已保存，请继续完善专家库名单并上传核准备案请示", "success")
        return redirect(url_for("committees.detail", committee_id=committee.id))
    return render_template("committees/form.html", committee=None, form_values={"internal_only": "false",
                           "funded": "false", "build_mode": "series"}, errors={}, **context)


@bp.route("/<int:committee_id>/edit", methods=["GET", "POST"])
@permission_required("committee.filing")
def edit(committee_id: int) -> Any:
    committee = committees.load_own_committee(current_user, committee_id)
    context = form_choices(committee.forming_unit)
    if request.method == "POST":
        try:
            committees.update_committee(current_user, committee, form_input(*LIST_FIELDS))
        except ServiceError as exc:
            db.session.rollback()
            return render_form("committees/form.html", exc, committee=committee, form_values=_posted_values(),
                               **context)
        db.session.commit()
        flash("评委会信息已保存", "success")
        return redirect(url_for("committees.detail", committee_id=committee.id))
    return render_template("committees/form.html", committee=committee, form_values=committee_values(committee),
                           errors={}, **context)


def _detail_context(committee: Committee) -> dict[str, Any]:
    from sqlalchemy import select

    members = committee_filing.filing_members(committee)
    in_list = {m.expert_id for m in members}
    library = [e for e in db.session.scalars(
        select(Expert).join(CommitteeExpert).join(Committee)
        .where(Committee.forming_unit_id == committee.forming_unit_id, CommitteeExpert.status == "in_library")
        .distinct().order_by(Expert.name).limit(500)) if e.id not in in_list]
    filings = committee_filing.filings_of(committee)
    return {"committee": committee, "members": members, "library": library, "filings": filings,
            "trails": {f.id: committee_filing.trail_of(f) for f in filings[:5]},
            "problems": committee_filing.composition_problems(committee, members),
            "returned": committee_filing.returned_filing(committee), "editable": committees.is_editable(committee),
            "role_labels": ROLE_LABELS, "request_field": committee_filing.request_field(), "today": date.today()}


@bp.route("/<int:committee_id>")
@permission_required("committee.filing")
def detail(committee_id: int) -> Any:
    committee = committees.load_own_committee(current_user, committee_id)
    return render_template("committees/detail.html", **_detail_context(committee), error="")


@bp.route("/<int:committee_id>/library", methods=["POST"])
@permission_required("committee.filing")
def pick_from_library(committee_id: int) -> Any:
    """专家库名单 step: draw experts from the unit's existing library into this committee's list."""
    from services.experts import experts

    committee = committees.load_own_committee(current_user, committee_id)
    ids = [int(v) for v in request.form.getlist("expert_ids") if v.isdigit()]
    try:
        added = experts.add_from_library(current_user, committee, ids)
    except ServiceError as exc:
        db.session.rollback()
        return render_template("committees/detail.html", **_detail_context(committee), error=exc.message), exc.status
    db.session.commit()
    flash(f"已从本单位专家库加入 {added} 名专家", "success")
    return redirect(url_for("committees.detail", committee_id=committee.id))


@bp.route("/<int:committee_id>/file", methods=["POST"])
@permission_required("committee.filing")
def submit(committee_id: int) -> Any:
    """提交备案 (or 重新提交 after 退回) with the 核准备案请示."""
    committee = committees.load_own_committee(current_user, committee_id)
    upload = request.files.get("filing_request")
    filename, content = (upload.filename or "", upload.read()) if upload else ("", b"")
    try:
        if committee_filing.returned_filing(committee) is not None:
            committee_filing.resubmit_filing(current_user, committee, request.form.get("note", ""), filename, content)
        else:
            committee_filing.submit_filing(current_user, committee, filename, content)
    except ServiceError as exc:
        db.session.rollback()
        committee = committees.load_own_committee(current_user, committee_id)
        return render_template("committees/detail.html", **_detail_context(committee), error=exc.message,
                               errors=exc.errors), exc.status
    db.session.commit()
    flash("已提交备案，等待授权管理单位审核", "success")
    return redirect(url_for("committees.detail", committee_id=committee.id))


@bp.route("/filings/<int:filing_id>/request")
@login_required  # the forming unit or the reviewing units: services.committees.committee_filing decides
def download_request(filing_id: int) -> Any:
    filing = committee_filing.load_filing_for_reviewer(current_user, filing_id)
    return send_stored({"sha256": filing.request_sha256, "filename": filing.request_filename,
                        "file_type": filing.request_type}, missing="备案申请文件不存在，请联系管理员")


# --- 评委会备案审核 (S 1.2.2.2) ----------------------------------------------------------------------------------

@bp.route("/reviews")
@permission_required("committee_filing.review")
def reviews() -> Any:
    tab = request.args.get("tab", "todo")
    if tab not in committee_filing.REVIEW_TABS:
        tab = "todo"
    keyword = request.args.get("keyword", "").strip()[:50]
    pagination = paginate(committee_filing.review_query(current_user, tab, keyword))
    return render_template("committees/reviews.html", tab=tab, keyword=keyword, pagination=pagination,
                           rows=committee_filing.review_rows(current_user, list(pagination.items)),
                           counts=committee_filing.review_counts(current_user), tabs=committee_filing.REVIEW_TABS)


@bp.route("/reviews/<int:filing_id>")
@permission_required("committee_filing.review")
def review_detail(filing_id: int) -> Any:
    filing = committee_filing.load_filing_for_reviewer(current_user, filing_id)
    return render_template("committees/review_detail.html", filing=filing, committee=filing.committee,
                           members=_members_of(filing), trail=committee_filing.trail_of(filing),
                           task=committee_filing.open_task_for(current_user, filing), role_labels=ROLE_LABELS,
                           today=date.today())


def _members_of(filing: Any) -> list[CommitteeExpert]:
    from sqlalchemy import select

    return list(db.session.scalars(select(CommitteeExpert).where(
        CommitteeExpert.committee_id == filing.committee_id,
        CommitteeExpert.status.in_(("submitted", "in_library", "draft"))).order_by(CommitteeExpert.id)))


def _filing_record(instance: Any) -> dict[str, Any]:
    """The filing beside a 评委会备案审核 task on the inbox page."""
    from services.common.errors import NotFound

    filing = db.session.get(CommitteeFiling, instance.business_id)
    if filing is None:
        raise NotFound("备案申请不存在")
    return {"filing": filing, "committee": filing.committee, "members": _members_of(filing),
            "role_labels": ROLE_LABELS, "today": date.today()}


register_record_view(committee_filing.BUSINESS_TYPE, _filing_record)
