"""评审会议管理 (S 1.2.5.2–1.2.6; FEATURES G2–G11): the list, a meeting's overview and permanent record, 会议准备
with its imports, and 办结 of the step the meeting stands at. Draw, assignment and counting pages are in
app/blueprints/meetings/draw_pages.py and vote_pages.py on the same Blueprint.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.auth import permission_required
from app.blueprints.workflow.inbox import register_task_page
from app.extensions import db
from app.models import HumanTask, MeetingEvent, ReviewMeeting
from app.models.meeting import MEETING_STAGE_LABELS
from app.web import paginate, xlsx_response
from services.common.errors import InvalidInput, ServiceError
from services.meetings import assignment, draws, meetings, preparation, voting

bp = Blueprint("meetings", __name__, url_prefix="/meetings")
PERMISSION = meetings.MANAGE_PERMISSION
# The page of each step: where the inbox and the overview send staff.
STEP_PAGES = {"prepare_meeting": "meetings.prepare", "draw_experts": "meetings.draw",
              "confirm_experts": "meetings.experts", "group_experts": "meetings.expert_groups",
              "assign_applicants": "meetings.assign", "open_voting": "meetings.voting_page",
              "count_votes": "meetings.count"}


@dataclass
class ListPage:
    """A page of a list already in memory (a meeting's applicants: the count needs them all), shaped for the
    `pager` macro; `keyword` filters by 姓名 or 工作单位 first."""

    items: list[Any]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max((self.total + self.per_page - 1) // self.per_page, 1)

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int | None:
        return self.page - 1 if self.has_prev else None

    @property
    def next_num(self) -> int | None:
        return self.page + 1 if self.has_next else None

    def iter_pages(self, left_edge: int = 1, right_edge: int = 1, left_current: int = 2,
                   right_current: int = 2) -> Iterator[int | None]:
        last = 0
        for number in range(1, self.pages + 1):
            if (number <= left_edge or number > self.pages - right_edge
                    or self.page - left_current <= number <= self.page + right_current):
                if last and number - last > 1:
                    yield None
                yield number
                last = number


def page_of(rows: list[Any], name_of: Callable[[Any], tuple[str, str]], per_page: int = 50) -> ListPage:
    keyword = request.args.get("keyword", "").strip()[:30]
    if keyword:
        rows = [r for r in rows if any(keyword in text for text in name_of(r))]
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    return ListPage(rows[(page - 1) * per_page: page * per_page], page, per_page, len(rows))


def applicant_names(row: Any) -> tuple[str, str]:
    applicant = row[0] if isinstance(row, tuple) else row
    return applicant.declaration.applicant.name, applicant.declaration.unit.name


def _meeting(meeting_id: int) -> ReviewMeeting:
    return meetings.load_meeting(current_user, meeting_id)


def meeting_context(meeting: ReviewMeeting) -> dict[str, Any]:
    """What the meeting's layout shows: where it stands, the step pages, the exceptional / ordinary sibling."""
    task = meetings.open_step(meeting)
    sibling = (db.session.get(ReviewMeeting, meeting.feeds_meeting_id) if meeting.feeds_meeting_id
               else meetings.exceptional_meeting_of(meeting))
    return {"meeting": meeting, "open_step": task.bpmn_id if task else None, "step_labels": meetings.STEP_LABELS,
            "step_pages": STEP_PAGES, "sibling": sibling, "task": task}


@bp.route("/")
@permission_required(PERMISSION)
def index() -> Any:
    filters = {"keyword": request.args.get("keyword", "").strip()[:50], "year": request.args.get("year", type=int),
               "stage": request.args.get("stage", "")}
    pagination = paginate(meetings.meetings_query(current_user, **filters))
    return render_template("meetings/index.html", pagination=pagination, filters=filters,
                           stages=MEETING_STAGE_LABELS, activities=meetings.meetable_activities(current_user))


@bp.route("/new", methods=["POST"])
@permission_required(PERMISSION)
def create() -> Any:
    raw = request.form.get("activity_id", "")
    if not raw.isdigit():
        raise InvalidInput("评审活动：请选择", field="activity_id")
    meeting = meetings.create_meetings(current_user, int(raw))
    db.session.commit()
    flash(f"已新建{meeting.kind_label}", "success")
    return redirect(url_for("meetings.detail", meeting_id=meeting.id))


@bp.route("/<int:meeting_id>")
@permission_required(PERMISSION)
def detail(meeting_id: int) -> Any:
    meeting = _meeting(meeting_id)
    rows = assignment.applicants_of(meeting)
    return render_template("meetings/detail.html", **meeting_context(meeting), applicants=rows,
                           listed=page_of(rows, applicant_names),
                           experts=draws.meeting_experts(meeting), results=voting.round_results(meeting))


@bp.route("/<int:meeting_id>/diagram.xml")
@permission_required(PERMISSION)
def diagram(meeting_id: int) -> Any:
    xml, _mark = meetings.diagram_of(_meeting(meeting_id))
    return Response(xml, mimetype="application/xml")


@bp.route("/<int:meeting_id>/steps/<meeting_step>", methods=["POST"])
@permission_required(PERMISSION)
def complete_step(meeting_id: int, meeting_step: str) -> Any:
    step = meeting_step
    meeting = _meeting(meeting_id)
    if step not in meetings.STEP_LABELS:
        raise InvalidInput("环节：无效", field="step")
    try:
        meetings.complete_step(current_user, meeting, step, request.form.get("note", ""))
    except ServiceError as exc:
        if step != "count_votes":
            raise
        db.session.rollback()  # 计票完成 refused: the count page again, with every expert still to submit
        from app.blueprints.meetings.vote_pages import count_page

        reasons = [m for messages in (exc.errors or {}).values() for m in messages] or [exc.message]
        return count_page(_meeting(meeting_id), "；".join(reasons), exc.status)
    db.session.commit()
    flash(f"“{meetings.STEP_LABELS[step]}”已办结", "success")
    task = meetings.open_step(meeting)
    target = STEP_PAGES.get(task.bpmn_id, "meetings.detail") if task else "meetings.detail"
    return redirect(url_for(target, meeting_id=meeting.id))


@bp.route("/<int:meeting_id>/record")
@permission_required(PERMISSION)
def record(meeting_id: int) -> Any:
    """The permanent record: every event, the draws and the counts."""
    meeting = _meeting(meeting_id)
    pagination = paginate(db.select(MeetingEvent).where(MeetingEvent.meeting_id == meeting.id)
                          .order_by(MeetingEvent.id), per_page=50)
    return render_template("meetings/record.html", **meeting_context(meeting), pagination=pagination,
                           draws=draws.draws_of(meeting), results=voting.round_results(meeting),
                           applicants={a.id: a for a in assignment.applicants_of(meeting)})


# --- 会议准备 (G2–G4) ---------------------------------------------------------------------------------------------

@bp.route("/<int:meeting_id>/prepare", methods=["GET", "POST"])
@permission_required(PERMISSION)
def prepare(meeting_id: int) -> Any:
    meeting = _meeting(meeting_id)
    if request.method == "POST":
        try:
            preparation.save_scoring_standard(current_user, meeting, request.form.get("scoring_standard", ""))
        except ServiceError as exc:
            return _prepare_page(meeting, exc)
        db.session.commit()
        flash("评分标准已保存", "success")
        return redirect(url_for("meetings.prepare", meeting_id=meeting.id))
    return _prepare_page(meeting)


def _prepare_page(meeting: ReviewMeeting, exc: ServiceError | None = None) -> Any:
    from services.results.publicity import objections_of_meeting

    context = {"error": exc.message if exc else "", "errors": exc.errors if exc else {},
               "objections": objections_of_meeting(meeting.id)}
    page = render_template("meetings/prepare.html", **meeting_context(meeting),
                           listed=page_of(assignment.applicants_of(meeting), applicant_names), **context)
    return (page, exc.status) if exc else page


@bp.route("/<int:meeting_id>/sync", methods=["POST"])
@permission_required(PERMISSION)
def sync(meeting_id: int) -> Any:
    meeting = _meeting(meeting_id)
    added = meetings.sync_applicants(current_user, meeting)
    db.session.commit()
    flash(f"参评人员已更新，新增 {added} 人", "success")
    return redirect(url_for("meetings.prepare", meeting_id=meeting.id))


@bp.route("/<int:meeting_id>/<any(interviews, exam):sheet>/template")
@permission_required(PERMISSION)
def import_template(meeting_id: int, sheet: str) -> Any:
    meeting = _meeting(meeting_id)
    if sheet == "interviews":
        return xlsx_response(preparation.interview_template(meeting), "答辩安排导入模板.xlsx")
    return xlsx_response(preparation.exam_template(meeting), "笔试成绩导入模板.xlsx")


@bp.route("/<int:meeting_id>/<any(interviews, exam):sheet>/import", methods=["POST"])
@permission_required(PERMISSION)
def import_file(meeting_id: int, sheet: str) -> Any:
    meeting = _meeting(meeting_id)
    upload = request.files.get("file")
    try:
        if upload is None or not upload.filename:
            raise InvalidInput("导入文件：请选择文件", field="file")
        content = upload.read()
        if sheet == "interviews":
            count = preparation.import_interviews(current_user, meeting, content)
            message = f"已导入答辩安排 {count} 人，并生成答辩通知"
        else:
            passed, failed = preparation.import_exam_scores(current_user, meeting, content)
            message = f"已导入笔试成绩：通过 {passed} 人，不通过 {failed} 人"
    except ServiceError as exc:  # checked before anything is written: nothing of the file is kept
        return _prepare_page(meeting, exc)
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("meetings.prepare", meeting_id=meeting.id))


@bp.app_template_global()
def interview_notices(declaration_id: int) -> list[Any]:
    """答辩通知 of a declaration, for the applicant's and the path units' declaration pages."""
    return preparation.notices_for_declaration(declaration_id)


def _task_page(task: HumanTask) -> str:
    return url_for(STEP_PAGES.get(task.bpmn_id, "meetings.detail"), meeting_id=task.business_id)


register_task_page(meetings.BUSINESS_TYPE, _task_page)
