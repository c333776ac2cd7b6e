"""人员分配 (再排序, 主审 / 辅审, exports), 开启专家投票 and 评委会计票 (S 1.2.5.5, 1.2.6; FEATURES G6, G7, G9).

The counting pages read counts only: who voted what on an applicant is never shown (无记名).
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.auth import permission_required
from app.blueprints.meetings.meetings import (
    PERMISSION,
    _meeting,
    applicant_names,
    bp,
    meeting_context,
    page_of,
)
from app.extensions import db
from app.web import send_stored, xlsx_response
from services.common import audit_log
from services.common.errors import InvalidInput, NotFound, ServiceError
from services.meetings import assignment, draws, exports, preparation, voting


def _assign_page(meeting: Any, exc: ServiceError | None = None) -> Any:
    members = [m for m in draws.meeting_experts(meeting) if m.status == "confirmed"]
    page = render_template("meetings/assign.html", **meeting_context(meeting),
                           listed=page_of(assignment.applicants_of(meeting), applicant_names), members=members,
                           names={m.id: m.expert.name for m in members},
                           specialty_groups=draws.specialty_group_names(meeting),
                           error=exc.message if exc else "", errors=exc.errors if exc else {})
    return (page, exc.status) if exc else page


@bp.route("/<int:meeting_id>/assign")
@permission_required(PERMISSION)
def assign(meeting_id: int) -> Any:
    return _assign_page(_meeting(meeting_id))


@bp.route("/<int:meeting_id>/applicants/<int:row_id>/assign", methods=["POST"])
@permission_required(PERMISSION)
def assign_one(meeting_id: int, row_id: int) -> Any:
    meeting = _meeting(meeting_id)
    row = assignment.load_applicant(meeting, row_id)
    try:
        assignment.assign(current_user, meeting, row, request.form.get("main_reviewer_id", ""),
                          request.form.getlist("assistant_reviewer_ids"), request.form.get("specialty_group", ""))
    except ServiceError as exc:
        return _assign_page(meeting, exc)
    db.session.commit()
    flash(f"{row.declaration.applicant.name}：已分配主审 / 辅审专家", "success")
    return redirect(url_for("meetings.assign", meeting_id=meeting.id))


@bp.route("/<int:meeting_id>/reorder/template")
@permission_required(PERMISSION)
def reorder_template(meeting_id: int) -> Any:
    return xlsx_response(exports.reorder_template(_meeting(meeting_id)), "人员再排序模板.xlsx")


@bp.route("/<int:meeting_id>/reorder", methods=["POST"])
@permission_required(PERMISSION)
def reorder(meeting_id: int) -> Any:
    meeting = _meeting(meeting_id)
    upload = request.files.get("file")
    try:
        if upload is None or not upload.filename:
            raise InvalidInput("排序表：请选择文件", field="file")
        rows = preparation.read_sheet(upload.read(), exports.REORDER_COLUMNS)
        assignment.reorder(current_user, meeting, [values["身份证号"] for _, values in rows])
    except ServiceError as exc:
        return _assign_page(meeting, exc)
    db.session.commit()
    flash("已按导入的排序表重新排序", "success")
    return redirect(url_for("meetings.assign", meeting_id=meeting.id))


EXPORTS = {"roster": "报评人员名册", "summary": "申报人员汇总表", "experts": "参评专家信息", "ballots": "表决票结果"}


@bp.route("/<int:meeting_id>/exports/<export_kind>")
@permission_required(PERMISSION)
def export(meeting_id: int, export_kind: str) -> Any:
    meeting, kind = _meeting(meeting_id), export_kind
    if kind not in EXPORTS:
        raise NotFound("导出类型不存在")
    content = exports.build(meeting, kind)
    audit_log.record(current_user, "meeting.export", f"导出{EXPORTS[kind]}：{meeting.name}", "review_meeting",
                     meeting.id)
    db.session.commit()
    return xlsx_response(content, f"{EXPORTS[kind]}.xlsx")


@bp.route("/<int:meeting_id>/voting", methods=["GET", "POST"])
@permission_required(PERMISSION)
def voting_page(meeting_id: int) -> Any:
    """评审方案, 监督的评委会 and 开启专家投票."""
    meeting = _meeting(meeting_id)
    error, errors = "", {}
    if request.method == "POST":
        try:
            assignment.save_plan(current_user, meeting, request.form.get("review_plan", ""),
                                 request.form.get("supervising_committee", ""))
        except ServiceError as exc:
            error, errors = exc.message, exc.errors
        else:
            db.session.commit()
            flash("评审方案已保存", "success")
            return redirect(url_for("meetings.voting_page", meeting_id=meeting.id))
    page = render_template("meetings/voting.html", **meeting_context(meeting), exports=EXPORTS, error=error,
                           errors=errors)
    return (page, 400) if error else page


@bp.route("/<int:meeting_id>/materials", methods=["POST"])
@permission_required(PERMISSION)
def add_material(meeting_id: int) -> Any:
    meeting = _meeting(meeting_id)
    upload = request.files.get("material")
    if upload is None or not upload.filename:
        raise InvalidInput("专家评议材料：请选择文件", field="material")
    assignment.add_material(current_user, meeting, upload.filename, upload.read())
    db.session.commit()
    flash("专家评议材料已上传", "success")
    return redirect(url_for("meetings.voting_page", meeting_id=meeting.id))


@bp.route("/<int:meeting_id>/materials/<int:file_index>")
@permission_required(PERMISSION)
def material(meeting_id: int, file_index: int) -> Any:
    return send_stored(assignment.material_of(_meeting(meeting_id), file_index))


@bp.route("/<int:meeting_id>/count")
@permission_required(PERMISSION)
def count(meeting_id: int) -> Any:
    return count_page(_meeting(meeting_id))


def count_page(meeting: Any, error: str = "", status: int = 200) -> Any:
    """计票: per expert and per applicant; a refused 计票完成 comes back here with the reasons."""
    progress = voting.expert_progress(meeting)
    if request.args.get("submitted") in ("yes", "no"):
        progress = [p for p in progress if p.submitted == (request.args["submitted"] == "yes")]
    tallies = voting.applicant_tallies(meeting)
    if request.args.get("result"):
        tallies = [(a, t) for a, t in tallies if t.result == request.args["result"]]
    return render_template("meetings/count.html", **meeting_context(meeting), progress=progress,
                           listed=page_of(tallies, applicant_names), tab=request.args.get("tab", "progress"),
                           error=error), status


@bp.route("/<int:meeting_id>/experts/<int:member_id>/return", methods=["POST"])
@permission_required(PERMISSION)
def return_ballots(meeting_id: int, member_id: int) -> Any:
    meeting = _meeting(meeting_id)
    member = draws.load_meeting_expert(meeting, member_id)
    voting.return_submission(current_user, meeting, member, request.form.get("reason", ""))
    db.session.commit()
    flash(f"已返回 {member.expert.name} 的投票提交，专家可修改后重新提交", "success")
    return redirect(url_for("meetings.count", meeting_id=meeting.id))


@bp.route("/<int:meeting_id>/experts/<int:member_id>/absent", methods=["POST"])
@permission_required(PERMISSION)
def absent(meeting_id: int, member_id: int) -> Any:
    meeting = _meeting(meeting_id)
    member = draws.load_meeting_expert(meeting, member_id)
    voting.set_absent(current_user, meeting, member, request.form.get("absent", "1") == "1")
    db.session.commit()
    flash(f"{member.expert.name}：{'已置为缺席' if member.absent else '已取消缺席'}", "success")
    return redirect(url_for("meetings.count", meeting_id=meeting.id))
