"""A review meeting's world for the meeting tests, built in bulk.

The committee tree of committee_helpers (乐山师范学院 forms a 中级 工程技术 committee, here 已备案), its staff holding
评审会议管理, an expert library of in-library experts (建筑施工, 工程师; the first two 主任委员; one of them works at
the applicants' unit, 乐山师范学院附属中学), a published activity and declarations accepted at 参评资格审核 (rows
written directly: the review chain has its own tests).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from committee_helpers import SERIES, Tree, build_tree, create_committee, title_id
from helpers import serial, valid_id_number
from sqlalchemy import insert, select

from app.extensions import db
from app.models import (
    ActivityLevel,
    Applicant,
    Committee,
    CommitteeExpert,
    Declaration,
    Expert,
    ExpertAccount,
    HumanTask,
    MeetingExpert,
    ReviewActivity,
    ReviewMeeting,
    User,
)
from services.meetings import assignment, draws, meetings, voting
from services.org.accounts import hash_password

LEVEL = "intermediate"
SPECIALTY = "建筑施工"
OWN_UNIT_EXPERT = "附中专家"


@dataclass
class MeetingWorld:
    tree: Tree
    committee: Committee
    staff: User
    activity: ReviewActivity
    experts: list[Expert]
    applicants: list[Applicant]
    declarations: list[Declaration]


def add_library(committee: Committee, unit_id: int, count: int, chairs: int = 2, own_unit_name: str = "",
                specialty: str = SPECIALTY) -> list[Expert]:
    """`count` in-library experts in one executemany each; the first `chairs` are 主任委员, and the last one works
    at `own_unit_name` when given."""
    title = title_id()
    rows = []
    for n in range(count):
        own = bool(own_unit_name) and n == count - 1
        number = serial()
        birth = (date(1950, 1, 1) + timedelta(days=number % 20000)).strftime("%Y%m%d")
        rows.append({"name": OWN_UNIT_EXPERT if own else f"专家{number}",
                     "id_number": valid_id_number(birth=birth, region="511102", sequence=number % 1000),
                     "gender": "男", "birth_month": birth[:6], "work_unit": own_unit_name if own else "乐山市第一建筑公司",
                     "admin_post": "总工程师", "phone1": f"138{number % 100_000_000:08d}", "honors": "无",
                     "series_code": SERIES, "specialty": specialty, "title_id": title, "created_by_unit_id": unit_id,
                     "country": "中国", "id_type": "居民身份证", "retired": False, "competent_unit": "",
                     "admin_post_level": "", "phone2": ""})
    db.session.execute(insert(Expert), rows)
    experts = list(db.session.scalars(select(Expert).where(Expert.id_number.in_([r["id_number"] for r in rows]))
                                      .order_by(Expert.id)))
    db.session.execute(insert(CommitteeExpert), [
        {"committee_id": committee.id, "expert_id": e.id, "role": "chair" if n < chairs else "member",
         "status": "in_library", "source_unit_id": unit_id, "return_opinion": ""} for n, e in enumerate(experts)])
    db.session.flush()
    return experts


def make_activity(committee: Committee, **changes: Any) -> ReviewActivity:
    now = datetime.now()
    values: dict[str, Any] = dict(
        committee_id=committee.id, unit_id=committee.forming_unit_id, reviewing_unit_id=committee.authorizing_unit_id,
        name=f"{now.year}年度工程技术中级职称评审{serial()}", scope="乐山市", year=now.year, category="annual",
        review_method="expert_review", exceptional_review=False, written_exam="none", interview="none",
        specialty_groups=False, group_method="", apply_start=now - timedelta(days=30),
        first_submit_deadline=now - timedelta(days=10), revise_submit_deadline=now - timedelta(days=5),
        committee_receive_deadline=now - timedelta(days=1), status="published", published_at=now - timedelta(days=31),
        policy_files=[], plan_files=[])
    values.update(changes)
    activity = ReviewActivity(**values)
    activity.levels = [ActivityLevel(level_code=LEVEL)]
    db.session.add(activity)
    db.session.flush()
    return activity


def accepted_declarations(activity: ReviewActivity, applicants: list[Applicant], exceptional: int = 0
                          ) -> list[Declaration]:
    """Declarations accepted at 参评资格审核; the first `exceptional` ones are 破格申报."""
    committee = activity.committee
    rows = [{"applicant_id": a.id, "activity_id": activity.id, "committee_id": committee.id, "unit_id": a.unit_id,
             "year": activity.year, "series_code": SERIES, "level_code": LEVEL, "method_code": "review",
             "evaluation_method": "exceptional" if n < exceptional else "normal", "materials": {}, "assessments": [],
             "snapshot": {"name": a.name}, "status": "accepted", "path": [], "step": 0, "resume_steps": [],
             "opinion": "", "accepted_at": datetime.now()} for n, a in enumerate(applicants)]
    db.session.execute(insert(Declaration), rows)
    return list(db.session.scalars(select(Declaration).where(Declaration.activity_id == activity.id)
                                   .order_by(Declaration.id)))


def build_world(make_unit: Any, make_user: Any, make_applicant: Any, experts: int = 9, applicants: int = 3,
                exceptional: int = 0, **activity_changes: Any) -> MeetingWorld:
    tree = build_tree(make_unit, make_user, levels_at_authorizing=1)
    committee = create_committee(tree)
    committee.status, committee.filed_on, committee.valid_until = "filed", date.today(), date.today() + \
        timedelta(days=700)
    staff = make_user(tree.forming, permissions=["meeting.manage", "inbox.view", "home.view"], name="会议经办")
    library = add_library(committee, tree.forming.id, experts, own_unit_name=tree.child.name)
    activity = make_activity(committee, exceptional_review=exceptional > 0, **activity_changes)
    people = [make_applicant(tree.child, name=f"申报人{n}") for n in range(1, applicants + 1)]
    declarations = accepted_declarations(activity, people, exceptional)
    db.session.flush()
    return MeetingWorld(tree, committee, staff, activity, library, people, declarations)


def ordinary_meeting(world: MeetingWorld) -> ReviewMeeting:
    meeting = db.session.scalar(select(ReviewMeeting).where(ReviewMeeting.activity_id == world.activity.id,
                                                            ReviewMeeting.kind == "ordinary"))
    assert meeting is not None
    return meeting


def step_name(meeting: ReviewMeeting) -> str | None:
    task = db.session.scalar(select(HumanTask).where(HumanTask.business_type == "review_meeting",
                                                     HumanTask.business_id == meeting.id, HumanTask.status == "open"))
    return task.bpmn_id if task else None


def run_to_voting(world: MeetingWorld, meeting: ReviewMeeting, needed: int | None = None, seed: str = "seed",
                  groups: dict[int, str] | None = None) -> list[MeetingExpert]:
    """Preparation, a draw of the whole library (multiplier 1.5 over `needed`), everyone drawn confirmed,
    main reviewers set, voting opened: returns the confirmed experts."""
    staff = world.staff
    meetings.complete_step(staff, meeting, "prepare_meeting")
    library_size = len(world.experts)
    draws.add_group(staff, meeting, SPECIALTY, LEVEL, needed or library_size)
    draws.start_draw(staff, meeting, 15, seed=seed)
    meetings.complete_step(staff, meeting, "draw_experts")
    members = draws.meeting_experts(meeting)
    for member in members:
        draws.set_attendance(staff, meeting, member, True)
    chairs = [m for m in members if m.chair]
    if len(chairs) > 1:
        draws.set_executive_chair(staff, meeting, chairs[0])
    meetings.complete_step(staff, meeting, "confirm_experts")
    if meeting.group_voting:
        names = groups or {m.id: ("甲组" if n % 2 == 0 else "乙组") for n, m in enumerate(members)}
        leaders = {next(m.id for m in members if names[m.id] == g) for g in set(names.values())}
        draws.set_specialty_groups(staff, meeting, names, leaders)
        meetings.complete_step(staff, meeting, "group_experts")
    names = sorted(set(groups.values())) if groups else ["甲组", "乙组"]
    for n, row in enumerate(assignment.applicants_of(meeting, ("waiting",))):
        main = next(m for m in members if not assignment.recused(m, row))
        assignment.assign(staff, meeting, row, main.id, [], names[n % len(names)] if meeting.group_voting else "")
    meetings.complete_step(staff, meeting, "assign_applicants")
    assignment.save_plan(staff, meeting, "按评分标准逐人评议，无记名投票。", "")
    meetings.complete_step(staff, meeting, "open_voting")
    return [m for m in draws.meeting_experts(meeting) if m.status == "confirmed"]


def vote_all(meeting: ReviewMeeting, members: list[MeetingExpert], choose: Any) -> None:
    """Every member votes `choose(member_index, applicant)` on each applicant they sit on, then submits."""
    for n, seat in enumerate(members):
        for row in voting.ballot_rows(meeting, seat):
            if not row.recused:
                voting.save_ballot(seat, meeting, row.applicant, {"vote": choose(n, row.applicant)})
        voting.submit_ballots(seat, meeting)


def expert_account(expert: Expert, password: str) -> ExpertAccount:
    account = ExpertAccount(expert_id=expert.id, password_hash=hash_password(password), session_token=f"e{serial()}")
    db.session.add(account)
    db.session.flush()
    return account
