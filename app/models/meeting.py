"""评审会议 (manual S 1.2.5.2–1.2.6; Hunan guide H 1.3; FEATURES G2–G11, A9, D5).

A ReviewMeeting is one meeting of a review activity's committee: 破格 (exceptional) or 普通 (ordinary). Its life
runs as bpmn/review_meeting.bpmn (the 破格 one inside bpmn/exceptional_review.bpmn); the facts live here:

- DrawGroup: a 抽选小组 (specialty + level + number needed); ExpertDraw: one draw (or replacement draw) with its
  seed, the candidate pool and every rule's exclusions, so the 抽选记录 page can replay it to the same result;
- MeetingExpert: an expert drawn for the meeting (确认参评 / 取消参评, 缺席, 专业组 and 组长, 执行主任);
- MeetingApplicant: a declaration on the meeting's list (答辩安排, 笔试成绩, order, 主审 / 辅审, result);
- Ballot / BallotSubmission: an expert's vote, score and opinion per applicant and round, and the 提交 (returned
  by staff when they 返回 it). Ballots are secret: staff pages read counts only;
- RoundResult: the tallies and result of one applicant in one round, written at 计票完成 and never changed;
- MeetingEvent: the permanent record. Nothing of a meeting is deleted; changes are new events.

ExpertAccount is an expert's own sign-in (专家端, A9): 证件号码 or phone, the applicants' password policy and
lock-out.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_login import UserMixin
from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.activity import ReviewActivity
from app.models.committee import Committee, Expert
from app.models.declaration import Declaration

MEETING_KIND_LABELS = {"exceptional": "破格评审会议", "ordinary": "普通评审会议"}
MEETING_STAGE_LABELS = {
    "preparing": "会议准备", "drawing": "专家抽选", "confirming": "确认参评", "grouping": "专家分组",
    "assigning": "人员分配", "opening": "开启专家投票", "voting": "专家投票中", "counted": "计票完成",
}
MULTIPLIER_LABELS = {15: "1.5 倍", 20: "2 倍", 30: "3 倍"}  # 抽选倍数 in tenths (integer arithmetic)
EXPERT_STATUS_LABELS = {"drawn": "待确认", "confirmed": "确认参评", "cancelled": "取消参评"}
APPLICANT_STATUS_LABELS = {"waiting": "待评审", "exam_failed": "笔试不通过", "passed": "通过", "failed": "不通过",
                           "no_quorum": "不足法定人数", "eliminated": "专业组未通过"}
VOTE_LABELS = {"pass": "通过", "fail": "不通过", "abstain": "弃权"}
RESULT_LABELS = {"passed": "通过", "failed": "不通过", "no_quorum": "不足法定人数"}


class ReviewMeeting(db.Model):
    __tablename__ = "review_meeting"
    __table_args__ = (UniqueConstraint("activity_id", "kind", name="uq_review_meeting_activity_kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("review_activity.id"), index=True)
    committee_id: Mapped[int] = mapped_column(ForeignKey("committee.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)  # the committee's forming unit
    kind: Mapped[str] = mapped_column(String(20))  # exceptional / ordinary
    name: Mapped[str] = mapped_column(String(100))
    year: Mapped[int] = mapped_column()
    stage: Mapped[str] = mapped_column(String(20), default="preparing")
    # The ordinary meeting a 破格 meeting's passers join (G10).
    feeds_meeting_id: Mapped[int | None] = mapped_column(ForeignKey("review_meeting.id"))
    scoring_standard: Mapped[str] = mapped_column(Text, default="")  # 设置评分标准 (G2), shown to experts
    review_plan: Mapped[str] = mapped_column(Text, default="")  # 评审方案 (G7)
    supervising_committee: Mapped[str] = mapped_column(String(100), default="")  # 监督的评委会
    materials: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # 专家评议材料 (file records)
    multiplier_tenths: Mapped[int] = mapped_column(default=15)
    group_voting: Mapped[bool] = mapped_column(default=False)  # 专业组 (G11), from the activity
    current_round: Mapped[int] = mapped_column(default=1)
    voting_open: Mapped[bool] = mapped_column(default=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    counted_at: Mapped[datetime | None] = mapped_column()

    activity: Mapped[ReviewActivity] = relationship(lazy="joined")
    committee: Mapped[Committee] = relationship()

    @property
    def kind_label(self) -> str:
        return MEETING_KIND_LABELS.get(self.kind, self.kind)

    @property
    def stage_label(self) -> str:
        return MEETING_STAGE_LABELS.get(self.stage, self.stage)

    @property
    def rounds(self) -> int:
        return 2 if self.group_voting else 1


class DrawGroup(db.Model):
    """抽选小组: the specialty and title level its candidates share, and how many experts the meeting needs."""

    __tablename__ = "meeting_draw_group"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("review_meeting.id"), index=True)
    position: Mapped[int] = mapped_column()
    specialty: Mapped[str] = mapped_column(String(30))  # 从事专业 (Expert.specialty)
    level_code: Mapped[str] = mapped_column(ForeignKey("title_level.code"))  # 职称层级 (at this level or above)
    needed: Mapped[int] = mapped_column()  # 本组抽取人数


class ExpertDraw(db.Model):
    """One draw, stored whole so that it can be audited and replayed: the pool is the candidates' facts as read
    at the draw (role, unit, history), `exclusions` every rule's verdict, `drawn` the result."""

    __tablename__ = "meeting_expert_draw"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("review_meeting.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20), default="initial")  # initial / replacement
    seed: Mapped[str] = mapped_column(String(64))
    multiplier_tenths: Mapped[int] = mapped_column()
    year: Mapped[int] = mapped_column()
    groups: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    pool: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    already_drawn: Mapped[list[int]] = mapped_column(JSON, default=list)  # replacement: who was drawn before
    replacement_count: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)  # replacement: group id → n
    require_chair: Mapped[bool] = mapped_column(default=False)  # replacement: every chair drawn before cancelled
    drawn: Mapped[list[int]] = mapped_column(JSON, default=list)
    reasons: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)  # expert id → why drawn or not
    created_by_name: Mapped[str] = mapped_column(String(50), default="")
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class MeetingExpert(db.Model):
    __tablename__ = "meeting_expert"
    __table_args__ = (UniqueConstraint("meeting_id", "expert_id", name="uq_meeting_expert"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("review_meeting.id"), index=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("expert.id"), index=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("meeting_draw_group.id"))
    draw_id: Mapped[int] = mapped_column(ForeignKey("meeting_expert_draw.id"))
    position: Mapped[int] = mapped_column(default=0)  # order within the draw
    chair: Mapped[bool] = mapped_column(default=False)  # drawn as a 主任委员 candidate
    status: Mapped[str] = mapped_column(String(20), default="drawn")
    absent: Mapped[bool] = mapped_column(default=False)  # 缺席 / 不参加此环节 (G9)
    specialty_group: Mapped[str] = mapped_column(String(30), default="")  # 专业组 (G11)
    group_leader: Mapped[bool] = mapped_column(default=False)  # 组长
    executive_chair: Mapped[bool] = mapped_column(default=False)  # 执行主任, when several chairs were drawn

    expert: Mapped[Expert] = relationship(lazy="joined")
    group: Mapped[DrawGroup] = relationship()

    @property
    def status_label(self) -> str:
        return EXPERT_STATUS_LABELS.get(self.status, self.status)


class MeetingApplicant(db.Model):
    __tablename__ = "meeting_applicant"
    __table_args__ = (UniqueConstraint("meeting_id", "declaration_id", name="uq_meeting_applicant"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("review_meeting.id"), index=True)
    declaration_id: Mapped[int] = mapped_column(ForeignKey("declaration.id"), index=True)
    source: Mapped[str] = mapped_column(String(20), default="accepted")  # accepted / exceptional (破格通过)
    position: Mapped[int] = mapped_column(default=0)  # 再排序
    status: Mapped[str] = mapped_column(String(20), default="waiting")
    exam_score: Mapped[str] = mapped_column(String(10), default="")  # 笔试成绩 as imported
    interview: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # 答辩安排 (G3)
    notice_at: Mapped[datetime | None] = mapped_column()  # 答辩通知 issued
    main_reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("meeting_expert.id"))
    assistant_reviewer_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    specialty_group: Mapped[str] = mapped_column(String(30), default="")  # the 专业组 that reviews it (round 1)
    in_round: Mapped[int] = mapped_column(default=1)  # the last round it takes part in

    declaration: Mapped[Declaration] = relationship(lazy="joined")

    @property
    def status_label(self) -> str:
        return APPLICANT_STATUS_LABELS.get(self.status, self.status)


class Ballot(db.Model):
    """An expert's 材料复审, 打分, 投票 and 评审意见 on one applicant in one round (secret: see the module)."""

    __tablename__ = "meeting_ballot"
    __table_args__ = (
        UniqueConstraint("meeting_expert_id", "meeting_applicant_id", "round_no", name="uq_meeting_ballot"),
        Index("ix_meeting_ballot_meeting_round", "meeting_id", "round_no"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("review_meeting.id"))
    round_no: Mapped[int] = mapped_column()
    meeting_expert_id: Mapped[int] = mapped_column(ForeignKey("meeting_expert.id"))
    meeting_applicant_id: Mapped[int] = mapped_column(ForeignKey("meeting_applicant.id"))
    material_check: Mapped[str] = mapped_column(String(10), default="")  # 材料复审: pass / fail
    interview_score: Mapped[int | None] = mapped_column()  # 面试答辩打分 (0–100)
    material_score: Mapped[int | None] = mapped_column()  # 材料打分 (0–100)
    vote: Mapped[str] = mapped_column(String(10), default="")  # pass / fail / abstain
    opinion: Mapped[str] = mapped_column(Text, default="")  # 评审意见
    updated_at: Mapped[datetime] = mapped_column(default=datetime.now)


class BallotSubmission(db.Model):
    """An expert's 提交 of a round; 返回 by the committee stamps `returned_at` and the expert may change and submit
    again (a new row): the rows are the history, the newest tells the state."""

    __tablename__ = "meeting_ballot_submission"
    __table_args__ = (Index("ix_meeting_submission_expert_round", "meeting_expert_id", "round_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("review_meeting.id"), index=True)
    meeting_expert_id: Mapped[int] = mapped_column(ForeignKey("meeting_expert.id"))
    round_no: Mapped[int] = mapped_column()
    submitted_at: Mapped[datetime] = mapped_column(default=datetime.now)
    returned_at: Mapped[datetime | None] = mapped_column()
    return_reason: Mapped[str] = mapped_column(String(200), default="")


class RoundResult(db.Model):
    """The count of one applicant in one round (计票完成): who could vote, who was present, the votes, the result."""

    __tablename__ = "meeting_round_result"
    __table_args__ = (UniqueConstraint("meeting_applicant_id", "round_no", name="uq_meeting_round_result"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("review_meeting.id"), index=True)
    meeting_applicant_id: Mapped[int] = mapped_column(ForeignKey("meeting_applicant.id"))
    round_no: Mapped[int] = mapped_column()
    specialty_group: Mapped[str] = mapped_column(String(30), default="")
    members: Mapped[int] = mapped_column()
    present: Mapped[int] = mapped_column()
    votes_pass: Mapped[int] = mapped_column()
    votes_fail: Mapped[int] = mapped_column()
    votes_abstain: Mapped[int] = mapped_column()
    result: Mapped[str] = mapped_column(String(20))
    counted_at: Mapped[datetime] = mapped_column(default=datetime.now)

    @property
    def result_label(self) -> str:
        return RESULT_LABELS.get(self.result, self.result)


class MeetingEvent(db.Model):
    """The meeting's permanent record: every step, draw, confirmation, import, return and count."""

    __tablename__ = "meeting_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("review_meeting.id"), index=True)
    action: Mapped[str] = mapped_column(String(40))
    summary: Mapped[str] = mapped_column(String(300))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    actor_name: Mapped[str] = mapped_column(String(50), default="")
    at: Mapped[datetime] = mapped_column(default=datetime.now)


class ExpertAccount(UserMixin, db.Model):
    """An expert's own sign-in (专家端, A9): created by the committee's staff, initial password shown once."""

    __tablename__ = "expert_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("expert.id"), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    enabled: Mapped[bool] = mapped_column(default=True)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column()
    session_token: Mapped[str] = mapped_column(String(32), default="")
    last_login_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    expert: Mapped[Expert] = relationship(lazy="joined")

    # Set when the staff issue a password (they have seen it); the expert replaces it at the next sign-in.
    must_change_password: Mapped[bool] = mapped_column(default=False)

    is_applicant = False
    is_expert = True

    @property
    def name(self) -> str:
        return self.expert.name

    @property
    def is_active(self) -> bool:
        return self.enabled

    def get_id(self) -> str:
        return f"e:{self.id}:{self.session_token}"

