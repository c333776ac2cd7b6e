"""专家抽选, 抽选记录 (with 重放), 确认出席专家名单 and 专家分组 (S 1.2.5.5, 1.2.6; FEATURES G5, G11)."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.auth import permission_required
from app.blueprints.meetings.meetings import PERMISSION, _meeting, bp, meeting_context
from app.extensions import db
from app.models import TitleLevel
from app.models.meeting import MULTIPLIER_LABELS
from app.web import xlsx_response
from services.common.errors import ServiceError
from services.jobs import start_job
from services.meetings import draws

RECORD_PAGE = 50


def _draw_page(meeting: Any, exc: ServiceError | None = None) -> Any:
    levels = list(db.session.scalars(db.select(TitleLevel).order_by(TitleLevel.rank)))
    groups = draws.groups_of(meeting)
    counts = {g.id: draws.active_count(meeting, g.specialty, g.level_code) for g in groups}
    page = render_template("meetings/draw.html", **meeting_context(meeting), groups=groups, counts=counts,
                           levels=levels, level_names={lv.code: lv.name for lv in levels},
                           specialties=draws.specialty_choices(meeting), multipliers=MULTIPLIER_LABELS,
                           draws=draws.draws_of(meeting), experts=draws.meeting_experts(meeting),
                           error=exc.message if exc else "", errors=exc.errors if exc else {},
                           values=request.form if exc else {})
    return (page, exc.status) if exc else page


@bp.route("/<int:meeting_id>/draw")
@permission_required(PERMISSION)
def draw(meeting_id: int) -> Any:
    return _draw_page(_meeting(meeting_id))


@bp.route("/<int:meeting_id>/groups", methods=["POST"])
@permission_required(PERMISSION)
def add_group(meeting_id: int) -> Any:
    meeting = _meeting(meeting_id)
    try:
        group = draws.add_group(current_user, meeting, request.form.get("specialty", ""),
                                request.form.get("level_code", ""), request.form.get("needed", ""))
    except ServiceError as exc:
        return _draw_page(meeting, exc)
    db.session.commit()
    flash(f"已新增抽选小组「{group.specialty}」", "success")
    return redirect(url_for("meetings.draw", meeting_id=meeting.id))


@bp.route("/<int:meeting_id>/groups/<int:group_id>/delete", methods=["POST"])
@permission_required(PERMISSION)
def remove_group(meeting_id: int, group_id: int) -> Any:
    meeting = _meeting(meeting_id)
    draws.remove_group(current_user, meeting, group_id)
    db.session.commit()
    flash("抽选小组已删除", "success")
    return redirect(url_for("meetings.draw", meeting_id=meeting.id))


@bp.route("/<int:meeting_id>/draw", methods=["POST"])
@permission_required(PERMISSION)
def start_draw(meeting_id: int) -> Any:
    meeting = _meeting(meeting_id)
    try:
        multiplier = draws.check_draw(meeting, request.form.get("multiplier", ""))
    except ServiceError as exc:
        return _draw_page(meeting, exc)
    # The draw reads the whole candidate pool: a background job; its page shows progress and then the record.
    job = start_job(current_user, "meetings.draw", f"专家抽选：{meeting.name}",
                    {"meeting_id": meeting.id, "multiplier": multiplier})
    if job.state == "done" and job.result:
        flash(job.summary, "success")
        return redirect(job.result["next_url"])
    if job.state == "failed":
        flash(job.error, "danger")
        return redirect(url_for("meetings.draw", meeting_id=meeting.id))
    return redirect(url_for("jobs.detail", job_id=job.id))


@bp.route("/<int:meeting_id>/draws/<int:draw_id>", methods=["GET", "POST"])
@permission_required(PERMISSION)
def draw_record(meeting_id: int, draw_id: int) -> Any:
    """抽选记录: why each expert was or was not drawn; POST = 重放 (replay from the stored seed and pool)."""
    meeting = _meeting(meeting_id)
    record = draws.load_draw(meeting, draw_id)
    replay = None
    if request.method == "POST":
        result = draws.replay(record)
        replay = {"same": result.drawn == record.drawn, "drawn": len(result.drawn)}
    shown = request.args.get("shown", "")
    keyword = request.args.get("keyword", "").strip()[:20]
    rows = draws.draw_record_rows(record, draws.recusals(meeting))
    if shown in ("drawn", "not_drawn"):
        rows = [r for r in rows if r["drawn"] == (shown == "drawn")]
    if keyword:
        rows = [r for r in rows if keyword in r["name"] or keyword in r["specialty"]]
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    pages = max((len(rows) + RECORD_PAGE - 1) // RECORD_PAGE, 1)
    return render_template("meetings/draw_record.html", **meeting_context(meeting), record=record, replay=replay,
                           rows=rows[(page - 1) * RECORD_PAGE: page * RECORD_PAGE], total=len(rows), page=page,
                           pages=pages, shown=shown, keyword=keyword)


@bp.route("/<int:meeting_id>/draws/<int:draw_id>/export")
@permission_required(PERMISSION)
def draw_record_export(meeting_id: int, draw_id: int) -> Any:
    from services.common import audit_log
    from services.meetings import exports

    meeting = _meeting(meeting_id)
    record = draws.load_draw(meeting, draw_id)
    content = exports.draw_record_xlsx(meeting, record)
    audit_log.record(current_user, "meeting.export", f"导出抽选记录：{meeting.name}", "review_meeting", meeting.id)
    db.session.commit()
    return xlsx_response(content, "抽选记录.xlsx")


@bp.route("/<int:meeting_id>/experts")
@permission_required(PERMISSION)
def experts(meeting_id: int) -> Any:
    meeting = _meeting(meeting_id)
    return render_template("meetings/experts.html", **meeting_context(meeting), experts=draws.meeting_experts(meeting),
                           groups=draws.groups_of(meeting), password=None)


@bp.route("/<int:meeting_id>/experts/<int:member_id>/<any(confirm, cancel):attendance>", methods=["POST"])
@permission_required(PERMISSION)
def attendance(meeting_id: int, member_id: int, attendance: str) -> Any:
    meeting = _meeting(meeting_id)
    member = draws.load_meeting_expert(meeting, member_id)
    draws.set_attendance(current_user, meeting, member, attendance == "confirm")
    db.session.commit()
    flash(f"{member.expert.name}：{'确认参评' if attendance == 'confirm' else '取消参评'}", "success")
    return redirect(url_for("meetings.experts", meeting_id=meeting.id))


@bp.route("/<int:meeting_id>/experts/<int:member_id>/executive", methods=["POST"])
@permission_required(PERMISSION)
def executive_chair(meeting_id: int, member_id: int) -> Any:
    meeting = _meeting(meeting_id)
    member = draws.load_meeting_expert(meeting, member_id)
    draws.set_executive_chair(current_user, meeting, member)
    db.session.commit()
    flash(f"已设置执行主任：{member.expert.name}", "success")
    return redirect(url_for("meetings.experts", meeting_id=meeting.id))


@bp.route("/<int:meeting_id>/experts/<int:member_id>/password", methods=["POST"])
@permission_required(PERMISSION)
def expert_password(meeting_id: int, member_id: int) -> Any:
    """生成专家登录密码: shown once on the page that answers this POST."""
    from services.meetings import expert_accounts

    meeting = _meeting(meeting_id)
    member = draws.load_meeting_expert(meeting, member_id)
    password = expert_accounts.issue_password(current_user, meeting, member)
    db.session.commit()
    return render_template("meetings/experts.html", **meeting_context(meeting), experts=draws.meeting_experts(meeting),
                           groups=draws.groups_of(meeting), password=(member, password))


@bp.route("/<int:meeting_id>/replacement", methods=["POST"])
@permission_required(PERMISSION)
def replacement(meeting_id: int) -> Any:
    meeting = _meeting(meeting_id)
    raw = request.form.get("group_id", "")
    record = draws.replacement_draw(current_user, meeting, int(raw) if raw.isdigit() else 0,
                                    request.form.get("count", ""))
    db.session.commit()
    flash(f"补抽完成：抽中 {len(record.drawn)} 人", "success")
    return redirect(url_for("meetings.experts", meeting_id=meeting.id))


@bp.route("/<int:meeting_id>/expert-groups", methods=["GET", "POST"])
@permission_required(PERMISSION)
def expert_groups(meeting_id: int) -> Any:
    """专家分组 (专业组) with 组长."""
    meeting = _meeting(meeting_id)
    if request.method == "POST":
        names = {m.id: request.form.get(f"group-{m.id}", "") for m in draws.meeting_experts(meeting)}
        leaders = {int(v) for v in request.form.getlist("leaders") if v.isdigit()}
        draws.set_specialty_groups(current_user, meeting, names, leaders)
        db.session.commit()
        flash("专家分组已保存", "success")
        return redirect(url_for("meetings.expert_groups", meeting_id=meeting.id))
    return render_template("meetings/expert_groups.html", **meeting_context(meeting),
                           experts=[m for m in draws.meeting_experts(meeting) if m.status == "confirmed"])
