"""The review meeting and its staff steps (manual S 1.2.5.5 破格评审会议, S 1.2.6 普通评审会议; FEATURES G2–G11).

Rules owned here:
- Only the committee's forming unit (staff holding 评审会议管理, `meeting.manage`) holds the meetings of its
  published activities, and only while the committee is 已备案 and valid (RULES: an expired committee holds no
  meeting). One ordinary meeting per activity; when the activity says 是否进行破格评议 = 是, also one 破格 meeting.
- The ordinary meeting takes the activity's declarations accepted at 参评资格审核 with 评价方式 正常申报; the 破格
  meeting takes the 破格申报 ones, and its passers join the ordinary meeting's 待分配 list at its 计票完成 (G10).
- The ordinary meeting runs bpmn/review_meeting.bpmn; the 破格 one bpmn/exceptional_review.bpmn, which calls it.
  Each step is a user task in the forming unit's 待办 (post unit_admin: its 超级管理员 and `meeting.manage` staff);
  the work of a step happens on the meeting's pages, and 办结 checks it is done before the task completes.
- Nothing of a meeting is deleted: every change is a MeetingEvent, the meeting's permanent record.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select

from app.extensions import db
from app.models import (
    Declaration,
    DrawGroup,
    ExpertService,
    HumanTask,
    MeetingApplicant,
    MeetingEvent,
    MeetingExpert,
    ReviewActivity,
    ReviewMeeting,
    User,
)
from services.authz import access
from services.committees.committees import is_active_committee
from services.common import audit_log
from services.common.errors import Conflict, InvalidInput, NotFound
from services.meetings import tally
from services.workflow import instances
from services.workflow.scripting import WHITELIST, FunctionRegistry

MANAGE_PERMISSION = "meeting.manage"
BUSINESS_TYPE = "review_meeting"
PROCESS_ID = "review_meeting"
EXCEPTIONAL_PROCESS_ID = "exceptional_review"
# The user tasks of bpmn/review_meeting.bpmn, in order, with the stage the meeting shows while each waits.
STEPS = {"prepare_meeting": "preparing", "draw_experts": "drawing", "confirm_experts": "confirming",
         "group_experts": "grouping", "assign_applicants": "assigning", "open_voting": "opening",
         "count_votes": "voting"}
STEP_LABELS = {"prepare_meeting": "会议准备", "draw_experts": "专家抽选", "confirm_experts": "确认出席专家名单",
               "group_experts": "专家分组", "assign_applicants": "人员分配", "open_voting": "开启专家投票",
               "count_votes": "计票"}


def record(meeting: ReviewMeeting, actor_name: str, action: str, summary: str,
           detail: dict[str, Any] | None = None) -> None:
    db.session.add(MeetingEvent(meeting_id=meeting.id, action=action, summary=summary[:300], detail=detail or {},
                                actor_name=actor_name[:50], at=datetime.now()))


def actor_label(actor: User | None) -> str:
    return actor.name if actor is not None else "系统"


# --- lists and loading -----------------------------------------------------------------------------------------

def meetings_query(actor: User, keyword: str = "", year: int | None = None, stage: str = "") -> Select[Any]:
    stmt = select(ReviewMeeting).where(ReviewMeeting.unit_id == actor.unit_id)
    if keyword:
        stmt = stmt.where(ReviewMeeting.name.icontains(keyword[:50], autoescape=True))
    if year:
        stmt = stmt.where(ReviewMeeting.year == year)
    if stage:
        stmt = stmt.where(ReviewMeeting.stage == stage)
    return stmt.order_by(ReviewMeeting.id.desc())


def load_meeting(actor: User, meeting_id: int) -> ReviewMeeting:
    """A meeting of the actor's unit that the actor may manage; anything else answers 404 (no probing)."""
    meeting = db.session.get(ReviewMeeting, meeting_id)
    if meeting is None or meeting.unit_id != actor.unit_id or not access.has_permission(
            actor, MANAGE_PERMISSION, actor.unit):
        raise NotFound("评审会议不存在或无权查看")
    return meeting


def meetable_activities(actor: User) -> list[ReviewActivity]:
    """Published activities of committees the actor's unit formed that have no meeting yet."""
    held = select(ReviewMeeting.activity_id)
    return list(db.session.scalars(select(ReviewActivity).where(
        ReviewActivity.unit_id == actor.unit_id, ReviewActivity.status == "published",
        ReviewActivity.id.not_in(held)).order_by(ReviewActivity.id.desc()).limit(100)))


# --- creation ---------------------------------------------------------------------------------------------------

def create_meetings(actor: User, activity_id: int) -> ReviewMeeting:
    """新建评审会议 for an activity: the ordinary meeting, and the 破格 meeting first when the activity asks."""
    activity = db.session.get(ReviewActivity, activity_id)
    if activity is None or activity.unit_id != actor.unit_id:
        raise NotFound("评审活动不存在或无权查看")
    access.require_permission(actor, MANAGE_PERMISSION, actor.unit)
    if activity.status != "published":
        raise Conflict(f"评审活动「{activity.name}」{activity.status_label}，只有已发布的评审活动可以召开评审会议")
    if not is_active_committee(activity.committee):
        raise Conflict(f"评委会「{activity.committee.name}」{activity.committee.status_label}或已过备案有效期，"
                       "不能召开评审会议")
    if db.session.scalar(select(ReviewMeeting.id).where(ReviewMeeting.activity_id == activity.id)):
        raise Conflict(f"评审活动「{activity.name}」已建立评审会议")
    ordinary = _new_meeting(actor, activity, "ordinary", activity.specialty_groups)
    exceptional = None
    if activity.exceptional_review:
        exceptional = _new_meeting(actor, activity, "exceptional", False, feeds=ordinary)
    sync_applicants(actor, ordinary)
    if exceptional is not None:
        sync_applicants(actor, exceptional)
    _start(actor, ordinary, PROCESS_ID)
    if exceptional is not None:
        _start(actor, exceptional, EXCEPTIONAL_PROCESS_ID)
    audit_log.record(actor, "meeting.create", f"评审活动「{activity.name}」新建评审会议", "review_meeting", ordinary.id)
    return exceptional or ordinary


def _new_meeting(actor: User, activity: ReviewActivity, kind: str, group_voting: bool,
                 feeds: ReviewMeeting | None = None) -> ReviewMeeting:
    label = "破格评审会议" if kind == "exceptional" else "普通评审会议"
    meeting = ReviewMeeting(activity_id=activity.id, committee_id=activity.committee_id, unit_id=activity.unit_id,
                            kind=kind, name=f"{activity.name}·{label}"[:100], year=activity.year, stage="preparing",
                            feeds_meeting_id=feeds.id if feeds else None, group_voting=group_voting,
                            created_by_id=actor.id, materials=[])
    db.session.add(meeting)
    db.session.flush()
    record(meeting, actor.name, "create", f"新建{label}", {"activity_id": activity.id})
    return meeting


def _start(actor: User, meeting: ReviewMeeting, process_id: str) -> None:
    data = {"meeting_id": meeting.id, "group_voting": meeting.group_voting}
    columns = {"committee_id": meeting.committee_id, "activity_id": meeting.activity_id,
               "applicant_name": meeting.kind_label}
    instances.start_process(process_id, BUSINESS_TYPE, meeting.id, meeting.name, meeting.unit_id, data, actor,
                            columns=columns)


def sync_applicants(actor: User | None, meeting: ReviewMeeting) -> int:
    """更新参评人员: the activity's accepted declarations of the meeting's track not yet on its list (until the
    list is fixed at 开启专家投票)."""
    if meeting.stage in ("voting", "counted") or meeting.voting_open:
        raise Conflict("已开启专家投票，参评人员名单不能再变更")
    method = "exceptional" if meeting.kind == "exceptional" else "normal"
    on_list = select(MeetingApplicant.declaration_id).where(MeetingApplicant.meeting_id == meeting.id)
    new_ids = list(db.session.scalars(select(Declaration.id).where(
        Declaration.activity_id == meeting.activity_id, Declaration.status == "accepted",
        Declaration.evaluation_method == method, Declaration.id.not_in(on_list)).order_by(Declaration.id)))
    start = int(db.session.scalar(select(func.coalesce(func.max(MeetingApplicant.position), 0)).where(
        MeetingApplicant.meeting_id == meeting.id)) or 0)
    for n, declaration_id in enumerate(new_ids, start=1):
        db.session.add(MeetingApplicant(meeting_id=meeting.id, declaration_id=declaration_id, position=start + n,
                                        interview={}, assistant_reviewer_ids=[]))
    if new_ids:
        record(meeting, actor_label(actor), "applicants", f"参评人员增加 {len(new_ids)} 人（参评资格审核通过）",
               {"declaration_ids": new_ids})
    db.session.flush()
    return len(new_ids)


# --- steps ------------------------------------------------------------------------------------------------------

def open_step(meeting: ReviewMeeting) -> HumanTask | None:
    return db.session.scalar(select(HumanTask).where(
        HumanTask.business_type == BUSINESS_TYPE, HumanTask.business_id == meeting.id, HumanTask.status == "open")
        .limit(1))


def require_step(meeting: ReviewMeeting, *steps: str) -> HumanTask:
    """The work of a step may be done only while the meeting stands at it (409 naming where it stands)."""
    task = open_step(meeting)
    if task is None or task.bpmn_id not in steps:
        where = STEP_LABELS.get(task.bpmn_id, task.name) if task is not None else meeting.stage_label
        wanted = "、".join(STEP_LABELS[s] for s in steps)
        raise Conflict(f"评审会议当前环节为“{where}”，不能办理“{wanted}”的事项")
    return task


# Each step's completeness check, registered by the module that owns the step's work.
_STEP_CHECKS: dict[str, Callable[[ReviewMeeting], None]] = {}


def register_step_check(step: str, check: Callable[[ReviewMeeting], None]) -> None:
    _STEP_CHECKS[step] = check


def complete_step(actor: User, meeting: ReviewMeeting, step: str, note: str = "") -> None:
    """办结 the step the meeting stands at: its check, then the BPMN task; the meeting moves to the next stage."""
    task = require_step(meeting, step)
    check = _STEP_CHECKS.get(step)
    if check is not None:
        check(meeting)
    record(meeting, actor.name, f"step.{step}", f"{STEP_LABELS[step]}办结", {"note": note[:500]})
    instances.complete_human_task(actor, task.id, {"note": note[:500]} if note else {})
    follow_stage(meeting)


def diagram_of(meeting: ReviewMeeting) -> tuple[str, str]:
    """The meeting diagram (bpmn/review_meeting.bpmn, which the 破格 one calls too) and the step it stands at."""
    from services.workflow import definitions

    task = open_step(meeting)
    return definitions.newest_or_deploy(PROCESS_ID).xml, task.bpmn_id if task else ""


def follow_stage(meeting: ReviewMeeting) -> None:
    task = open_step(meeting)
    if task is not None:
        meeting.stage = STEPS.get(task.bpmn_id, meeting.stage)


# --- whitelisted operations (bpmn/review_meeting.bpmn, bpmn/exceptional_review.bpmn) ----------------------------

def sitting_members(meeting: ReviewMeeting, experts: list[MeetingExpert], applicant: MeetingApplicant,
                    round_no: int) -> list[int]:
    """Who sits on `applicant` in `round_no`: the confirmed experts (of its 专业组 in a grouped round 1), less those
    of the applicant's own unit (回避)."""
    unit_name = applicant.declaration.unit.name
    return [e.id for e in experts if e.status == "confirmed" and e.expert.work_unit != unit_name
            and not (meeting.group_voting and round_no == 1 and e.specialty_group != applicant.specialty_group)]


def close_meeting_round(meeting_id: int) -> bool:
    """计票完成 of the current round (the counting service has refused it while a present expert had not
    submitted): results are written, and in a grouped round 1 the passers make round 2's list (True)."""
    from services.meetings import voting

    meeting = db.session.get(ReviewMeeting, int(meeting_id))
    if meeting is None:
        raise NotFound(f"评审会议 {meeting_id} 不存在")
    actor = instances.current_actor.get()
    round_no = meeting.current_round
    results = voting.write_round_results(meeting, round_no)
    meeting.voting_open = False
    passed = [ma for ma, t in results if t.result == tally.PASSED]
    if meeting.group_voting and round_no == 1:
        for ma, t in results:
            if t.result == tally.PASSED:
                ma.in_round = 2
            else:
                ma.status = "eliminated" if t.result == tally.FAILED else "no_quorum"
        meeting.current_round = 2
        meeting.stage = "opening"
        record(meeting, actor_label(actor), "round.closed",
               f"第一轮（专业组）计票完成：{len(passed)} 人进入第二轮，{len(results) - len(passed)} 人未通过")
        return True
    for ma, t in results:
        ma.status = t.result
    meeting.stage, meeting.counted_at = "counted", datetime.now()
    _attended_records(meeting)
    if meeting.kind == "exceptional":
        for ma, t in results:
            if t.result != tally.PASSED:  # 破格评议未通过: this year's declaration ends (S 1.2.5.5)
                ma.declaration.status, ma.declaration.opinion = "rejected", "破格评议未通过"
    record(meeting, actor_label(actor), "counted",
           f"计票完成：通过 {len(passed)} 人，共 {len(results)} 人", {"passed": [ma.declaration_id for ma in passed]})
    return False


def _attended_records(meeting: ReviewMeeting) -> None:
    """D5: each confirmed expert present gets an attended record for the committee's year (the drawing rules
    read it next year)."""
    experts = list(db.session.scalars(select(MeetingExpert).where(
        MeetingExpert.meeting_id == meeting.id, MeetingExpert.status == "confirmed",
        MeetingExpert.absent.is_(False))))
    services = {s.expert_id: s for s in db.session.scalars(select(ExpertService).where(
        ExpertService.committee_id == meeting.committee_id, ExpertService.year == meeting.year,
        ExpertService.expert_id.in_([e.expert_id for e in experts])))}
    for member in experts:
        role = "chair" if member.executive_chair or (member.chair and not _has_executive(experts)) else "member"
        service = services.get(member.expert_id)
        if service is None:
            db.session.add(ExpertService(expert_id=member.expert_id, committee_id=meeting.committee_id,
                                         year=meeting.year, role=role, attended=True))
        else:
            service.attended = True
            if role == "chair":
                service.role = "chair"


def _has_executive(experts: list[MeetingExpert]) -> bool:
    return any(e.executive_chair for e in experts)


def admit_exceptional_passers(meeting_id: int) -> None:
    """破格评议 passers join the ordinary meeting's 待分配 list (G10)."""
    meeting = db.session.get(ReviewMeeting, int(meeting_id))
    if meeting is None or meeting.feeds_meeting_id is None:
        raise NotFound(f"破格评审会议 {meeting_id} 不存在")
    ordinary = db.session.get(ReviewMeeting, meeting.feeds_meeting_id)
    assert ordinary is not None
    passers = list(db.session.scalars(select(MeetingApplicant).where(
        MeetingApplicant.meeting_id == meeting.id, MeetingApplicant.status == tally.PASSED)
        .order_by(MeetingApplicant.position)))
    start = int(db.session.scalar(select(func.coalesce(func.max(MeetingApplicant.position), 0)).where(
        MeetingApplicant.meeting_id == ordinary.id)) or 0)
    for n, passer in enumerate(passers, start=1):
        db.session.add(MeetingApplicant(meeting_id=ordinary.id, declaration_id=passer.declaration_id,
                                        source="exceptional", position=start + n, interview=dict(passer.interview),
                                        exam_score=passer.exam_score, assistant_reviewer_ids=[]))
    record(ordinary, "系统", "exceptional.admitted", f"破格评议通过 {len(passers)} 人进入待分配列表",
           {"declaration_ids": [p.declaration_id for p in passers]})
    db.session.flush()


def exceptional_meeting_of(meeting: ReviewMeeting) -> ReviewMeeting | None:
    return db.session.scalar(select(ReviewMeeting).where(ReviewMeeting.feeds_meeting_id == meeting.id))


def register_operations(registry: FunctionRegistry = WHITELIST) -> None:
    # The modules owning the steps' work register their 办结 checks when imported.
    from services.meetings import assignment, draws, preparation, voting  # noqa: F401

    registry.register("close_meeting_round", close_meeting_round, replace=True)
    registry.register("admit_exceptional_passers", admit_exceptional_passers, replace=True)


def groups_of(meeting: ReviewMeeting) -> list[DrawGroup]:
    return list(db.session.scalars(select(DrawGroup).where(DrawGroup.meeting_id == meeting.id)
                                   .order_by(DrawGroup.position)))


def check_invalid(problems: list[str], field: str) -> None:
    if problems:
        raise InvalidInput(problems[0], field=field, errors={field: problems})
