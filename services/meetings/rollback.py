"""职称申报资格复核及评委操作回退 (Hunan guide H 1.26; FEATURES B8).

Rules owned here:
- The committee's forming unit (application.qualify, the 终审机构) undoes what was done on one accepted declaration,
  newest first: the experts' ballots on it (评议意见 / 打分 / 投票) in a meeting not yet counted, then its place on
  that meeting's list, then the 参评资格审核通过 itself — after which the declaration is back in 参评资格审核 through
  a new application_review instance (its trail continues). Only the newest operation can be undone; each needs a
  reason and is kept in the meeting record or the audit log.
- An expert whose ballot is undone has their 提交 returned, so they vote again before 计票完成. A counted meeting's
  results are final: nothing of it is undone here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from app.extensions import db
from app.models import (
    Ballot,
    Declaration,
    DeclarationStep,
    MeetingApplicant,
    MeetingExpert,
    ReviewMeeting,
    User,
)
from services.applications import application_review
from services.authz import access
from services.common import audit_log
from services.common.errors import Conflict, InvalidInput, NotFound
from services.meetings.meetings import record
from services.meetings.voting import latest_submissions
from services.workflow import instances

PERMISSION = "application.qualify"


@dataclass(frozen=True)
class Step:
    key: str  # "ballot:<id>", "listing:<meeting applicant id>", "qualification"
    label: str
    at: datetime | None


def load(actor: User, declaration_id: int) -> Declaration:
    declaration = db.session.get(Declaration, declaration_id)
    if declaration is None or not declaration.path:
        raise NotFound("申报不存在")
    from app.models import Committee

    committee = db.session.get(Committee, declaration.committee_id)
    if committee is None or committee.forming_unit_id != actor.unit_id \
            or not access.has_permission(actor, PERMISSION, actor.unit):
        raise NotFound("申报不存在或不由本单位进行资格复核")
    return declaration


def steps(declaration: Declaration) -> list[Step]:
    """What may be undone, newest first (the first is the only one that may be undone now)."""
    found: list[Step] = []
    rows = list(db.session.scalars(select(MeetingApplicant).join(ReviewMeeting).where(
        MeetingApplicant.declaration_id == declaration.id, ReviewMeeting.stage != "counted")))
    for row in rows:
        ballots = db.session.execute(select(Ballot, MeetingExpert).join(
            MeetingExpert, MeetingExpert.id == Ballot.meeting_expert_id).where(
            Ballot.meeting_applicant_id == row.id).order_by(Ballot.updated_at.desc(), Ballot.id.desc())).all()
        for ballot, member in ballots:
            found.append(Step(f"ballot:{ballot.id}", f"评委 {member.expert.name} 的评议意见、打分与投票（第 {ballot.round_no} 轮）",
                              ballot.updated_at))
        meeting = db.session.get(ReviewMeeting, row.meeting_id)
        found.append(Step(f"listing:{row.id}", f"列入评审会议「{meeting.name if meeting else ''}」的评审名单", None))
    if declaration.status == "accepted":
        found.append(Step("qualification", "参评资格审核通过", declaration.accepted_at))
    return found


def undo(actor: User, declaration: Declaration, key: str, reason: str) -> str:
    """回退 the newest operation (its key as shown); returns what was undone."""
    reason = (reason or "").strip()
    if not reason or len(reason) > 200:
        raise InvalidInput("回退原因：必填，不超过 200 个字", field="reason")
    pending = steps(declaration)
    if not pending:
        raise Conflict("没有可回退的操作")
    if pending[0].key != key:
        raise Conflict(f"请由下向上回退：先回退「{pending[0].label}」")
    step = pending[0]
    kind, _, ident = key.partition(":")
    if kind == "ballot":
        ballot = db.session.get(Ballot, int(ident))
        assert ballot is not None
        meeting = db.session.get(ReviewMeeting, ballot.meeting_id)
        member = db.session.get(MeetingExpert, ballot.meeting_expert_id)
        assert meeting is not None and member is not None
        submission = latest_submissions(meeting, ballot.round_no).get(member.id)
        if submission is not None and submission.returned_at is None:
            submission.returned_at, submission.return_reason = datetime.now(), f"回退：{reason}"[:200]
        db.session.delete(ballot)
        record(meeting, actor.name, "rollback.ballot", f"回退评委 {member.expert.name} 对 {declaration.applicant.name} "
               f"的评议：{reason}", {"meeting_expert_id": member.id, "declaration_id": declaration.id})
    elif kind == "listing":
        row = db.session.get(MeetingApplicant, int(ident))
        assert row is not None
        meeting = db.session.get(ReviewMeeting, row.meeting_id)
        assert meeting is not None
        db.session.delete(row)
        record(meeting, actor.name, "rollback.listing", f"回退 {declaration.applicant.name} 的评审名单：{reason}",
               {"declaration_id": declaration.id})
    else:
        _reopen_qualification(actor, declaration, reason)
    audit_log.record(actor, "declaration.rollback", f"回退 {declaration.applicant.name} 的「{step.label}」：{reason}",
                     "declaration", declaration.id)
    return step.label


def _reopen_qualification(actor: User, declaration: Declaration, reason: str) -> None:
    """The declaration is back in 参评资格审核: a new application_review instance routes it to the committee."""
    row = db.session.scalar(select(DeclarationStep).where(
        DeclarationStep.declaration_id == declaration.id, DeclarationStep.latest.is_(True),
        DeclarationStep.step == len(declaration.path) - 1))
    if row is not None:
        row.opinion = f"{row.opinion}（已回退：{reason}）"[:500]
    declaration.status, declaration.accepted_at, declaration.step = "reviewing", None, len(declaration.path) - 1
    instances.start_process(
        application_review.PROCESS_ID, application_review.BUSINESS_TYPE, declaration.id,
        f"职称申报：{declaration.applicant.name}（资格复核回退）", declaration.unit_id, {"declaration_id": declaration.id},
        actor)
