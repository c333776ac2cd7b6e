"""The experts' side and 计票 (Hunan guide H 1.3 材料复审 / 面试答辩打分 / 材料打分 / 投票 / 评审意见; manual S 1.2.5.5
"评委会计票", S 1.2.6 (5); FEATURES A9, G8, G9, G11).

Rules owned here:
- An expert sees a meeting only while confirmed for it and while its voting is open; anything else is 404.
- In a round an expert votes on the applicants of the round (round 1 of a grouped meeting: those of the expert's
  专业组), never on one of their own unit (回避). A ballot holds 材料复审, the two scores (0–100, informative),
  the vote 通过 / 不通过 / 弃权 and the 评审意见.
- 提交 needs a vote on every applicant the expert sits on; after it nothing changes until the committee 返回s
  the submission (a new BallotSubmission row on the next 提交).
- Ballots are secret (无记名): staff read per-expert progress counts and per-applicant tallies, never who voted
  what on an applicant.
- 缺席 is set by staff for an expert who has not submitted; an absent expert's ballots do not count.
- 计票完成 refuses while a present expert who sits on something this round has not submitted; the results
  (services/meetings/tally.py) are then written once per applicant and round (RoundResult).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import (
    Ballot,
    BallotSubmission,
    ExpertAccount,
    MeetingApplicant,
    MeetingExpert,
    ReviewMeeting,
    RoundResult,
    User,
)
from services.common.errors import Conflict, Forbidden, InvalidInput, NotFound
from services.meetings import tally
from services.meetings.assignment import applicants_of, recused
from services.meetings.draws import meeting_experts
from services.meetings.meetings import (
    check_invalid,
    record,
    register_step_check,
    require_step,
    sitting_members,
)

VOTES = ("pass", "fail", "abstain")
CHECKS = ("pass", "fail")


def round_applicants(meeting: ReviewMeeting, round_no: int | None = None) -> list[MeetingApplicant]:
    round_no = round_no or meeting.current_round
    return [a for a in applicants_of(meeting, ("waiting",)) if a.in_round >= round_no]


def latest_submissions(meeting: ReviewMeeting, round_no: int) -> dict[int, BallotSubmission]:
    """meeting expert id → the newest submission of the round (returned or not)."""
    latest: dict[int, BallotSubmission] = {}
    for row in db.session.scalars(select(BallotSubmission).where(
            BallotSubmission.meeting_id == meeting.id, BallotSubmission.round_no == round_no)
            .order_by(BallotSubmission.id)):
        latest[row.meeting_expert_id] = row
    return latest


def is_submitted(submission: BallotSubmission | None) -> bool:
    return submission is not None and submission.returned_at is None


# --- the experts' side ------------------------------------------------------------------------------------------

def expert_meetings(account: ExpertAccount) -> list[ReviewMeeting]:
    """The meetings the expert was confirmed for whose voting is open."""
    return list(db.session.scalars(select(ReviewMeeting).join(MeetingExpert, MeetingExpert.meeting_id == ReviewMeeting.id)
                                   .where(MeetingExpert.expert_id == account.expert_id,
                                          MeetingExpert.status == "confirmed", ReviewMeeting.voting_open.is_(True))
                                   .order_by(ReviewMeeting.id.desc())))


def seat_of(account: ExpertAccount, meeting_id: int) -> tuple[ReviewMeeting, MeetingExpert]:
    """The meeting and the expert's seat on it; 404 unless confirmed and voting open (no probing of others)."""
    meeting = db.session.get(ReviewMeeting, meeting_id)
    seat = db.session.scalar(select(MeetingExpert).where(MeetingExpert.meeting_id == meeting_id,
                                                         MeetingExpert.expert_id == account.expert_id))
    if meeting is None or seat is None or seat.status != "confirmed" or not meeting.voting_open:
        raise NotFound("评审会议不存在或未开启投票")
    return meeting, seat


def sits_on(meeting: ReviewMeeting, seat: MeetingExpert, applicant: MeetingApplicant) -> bool:
    if meeting.group_voting and meeting.current_round == 1 and seat.specialty_group != applicant.specialty_group:
        return False
    return applicant.in_round >= meeting.current_round and applicant.status == "waiting"


@dataclass
class BallotRow:
    applicant: MeetingApplicant
    ballot: Ballot | None
    recused: bool


def ballot_rows(meeting: ReviewMeeting, seat: MeetingExpert) -> list[BallotRow]:
    mine = {b.meeting_applicant_id: b for b in db.session.scalars(select(Ballot).where(
        Ballot.meeting_expert_id == seat.id, Ballot.round_no == meeting.current_round))}
    return [BallotRow(a, mine.get(a.id), recused(seat, a)) for a in round_applicants(meeting)
            if sits_on(meeting, seat, a)]


def load_ballot_applicant(meeting: ReviewMeeting, seat: MeetingExpert, meeting_applicant_id: int) -> MeetingApplicant:
    applicant = db.session.get(MeetingApplicant, meeting_applicant_id)
    if applicant is None or applicant.meeting_id != meeting.id or not sits_on(meeting, seat, applicant):
        raise NotFound("参评人员不存在")
    return applicant


def _score(raw: Any, field: str, label: str) -> int | None:
    text = str(raw if raw is not None else "").strip()
    if not text:
        return None
    if not text.isdigit() or not 0 <= int(text) <= 100:
        raise InvalidInput(f"{label}：须为 0–100 的整数", field=field)
    return int(text)


def save_ballot(seat: MeetingExpert, meeting: ReviewMeeting, applicant: MeetingApplicant,
                data: Mapping[str, Any]) -> Ballot:
    """材料复审, 打分, 投票, 评审意见 of one applicant (before 提交, or after the committee 返回ed it)."""
    if is_submitted(latest_submissions(meeting, meeting.current_round).get(seat.id)):
        raise Conflict("已提交，不能再修改；如需修改请联系评委会返回")
    if recused(seat, applicant):
        raise Forbidden(f"{applicant.declaration.applicant.name} 与您同一单位，您须回避，不能投票")
    vote = str(data.get("vote") or "")
    if vote not in VOTES:
        raise InvalidInput("投票：请选择 通过、不通过 或 弃权", field="vote")
    check = str(data.get("material_check") or "")
    if check and check not in CHECKS:
        raise InvalidInput("材料复审：请选择 审核通过 或 审核不通过", field="material_check")
    opinion = str(data.get("opinion") or "").strip()
    if len(opinion) > 500:
        raise InvalidInput("评审意见：不能超过 500 个字", field="opinion")
    interview = _score(data.get("interview_score"), "interview_score", "面试答辩打分")
    material = _score(data.get("material_score"), "material_score", "材料打分")
    ballot = db.session.scalar(select(Ballot).where(Ballot.meeting_expert_id == seat.id,
                                                    Ballot.meeting_applicant_id == applicant.id,
                                                    Ballot.round_no == meeting.current_round))
    if ballot is None:
        ballot = Ballot(meeting_id=meeting.id, round_no=meeting.current_round, meeting_expert_id=seat.id,
                        meeting_applicant_id=applicant.id)
        db.session.add(ballot)
    ballot.vote, ballot.material_check, ballot.opinion = vote, check, opinion
    ballot.interview_score, ballot.material_score, ballot.updated_at = interview, material, datetime.now()
    try:
        with db.session.begin_nested():  # the same expert saving the same ballot twice at once: one wins
            db.session.flush()
    except IntegrityError as exc:
        raise Conflict("该评审意见刚刚已保存（可能在另一个窗口），请刷新后再修改") from exc
    return ballot


def submit_ballots(seat: MeetingExpert, meeting: ReviewMeeting) -> BallotSubmission:
    """提交: every applicant the expert sits on (not recused) has a vote; nothing changes afterwards."""
    if seat.absent:
        raise Conflict("您已被评委会标记为缺席，不能提交")
    if is_submitted(latest_submissions(meeting, meeting.current_round).get(seat.id)):
        raise Conflict("已提交，请勿重复提交")
    missing = [r.applicant.declaration.applicant.name for r in ballot_rows(meeting, seat)
               if not r.recused and (r.ballot is None or not r.ballot.vote)]
    if missing:
        raise InvalidInput(f"提交：尚未投票的申报人 {'、'.join(missing[:5])}{' 等' if len(missing) > 5 else ''}"
                           f"（共 {len(missing)} 人）", field="submit")
    submission = BallotSubmission(meeting_id=meeting.id, meeting_expert_id=seat.id, round_no=meeting.current_round,
                                  submitted_at=datetime.now())
    db.session.add(submission)
    record(meeting, f"专家 {seat.expert.name}", "ballots.submit", f"专家 {seat.expert.name} 提交第 "
           f"{meeting.current_round} 轮投票")
    db.session.flush()
    return submission


# --- counting (staff) -------------------------------------------------------------------------------------------

@dataclass
class ExpertProgress:
    member: MeetingExpert
    votes_pass: int
    votes_fail: int
    votes_abstain: int
    not_voted: int
    submitted: bool

    @property
    def pass_rate(self) -> str:
        voted = self.votes_pass + self.votes_fail + self.votes_abstain + self.not_voted
        return f"{self.votes_pass * 100 // voted}%" if voted else "0%"

    @property
    def abstain_rate(self) -> str:
        voted = self.votes_pass + self.votes_fail + self.votes_abstain + self.not_voted
        return f"{self.votes_abstain * 100 // voted}%" if voted else "0%"


def _vote_counts(meeting: ReviewMeeting, round_no: int, by: Any, expert_ids: set[int] | None = None
                 ) -> dict[int, dict[str, int]]:
    """`by` (the applicant or the expert column) → {vote: n}, counted by the database (GROUP BY): the 12,500 ballots
    of a 25 × 500 meeting never come to Python (bench/meeting.py)."""
    stmt = (select(by, Ballot.vote, func.count()).where(Ballot.meeting_id == meeting.id, Ballot.round_no == round_no)
            .group_by(by, Ballot.vote))
    if expert_ids is not None:
        stmt = stmt.where(Ballot.meeting_expert_id.in_(sorted(expert_ids)))
    counts: dict[int, dict[str, int]] = defaultdict(lambda: {"pass": 0, "fail": 0, "abstain": 0})
    for key, vote, n in db.session.execute(stmt):
        if vote in VOTES:
            counts[key][vote] = n
    return counts


def expert_progress(meeting: ReviewMeeting) -> list[ExpertProgress]:
    """专家投票进度: per expert the counts of their votes (not whom they concern), the rate, 是否已提交."""
    round_no = meeting.current_round
    experts = [e for e in meeting_experts(meeting) if e.status == "confirmed"]
    applicants = round_applicants(meeting, round_no)
    counts = _vote_counts(meeting, round_no, Ballot.meeting_expert_id)
    latest = latest_submissions(meeting, round_no)
    rows = []
    for member in experts:
        sits = sum(1 for a in applicants if sits_on(meeting, member, a) and not recused(member, a))
        c = counts[member.id]
        rows.append(ExpertProgress(member, c["pass"], c["fail"], c["abstain"],
                                   max(sits - c["pass"] - c["fail"] - c["abstain"], 0),
                                   is_submitted(latest.get(member.id))))
    return rows


def applicant_tallies(meeting: ReviewMeeting, round_no: int | None = None
                      ) -> list[tuple[MeetingApplicant, tally.Tally]]:
    """计票结果: per applicant the tallies of the submitted ballots of present experts, and the result."""
    round_no = round_no or meeting.current_round
    experts = meeting_experts(meeting)
    absent = {e.id for e in experts if e.absent}
    latest = latest_submissions(meeting, round_no)
    # Only submitted ballots of present experts count; a ballot exists only where its expert sits (save_ballot).
    counted = {e for e, s in latest.items() if is_submitted(s)} - absent
    counts = _vote_counts(meeting, round_no, Ballot.meeting_applicant_id, counted)
    results = []
    for a in round_applicants(meeting, round_no):
        members = sitting_members(meeting, experts, a, round_no)
        present = len(set(members) - absent)
        c = counts[a.id]
        results.append((a, tally.Tally(len(members), present, c["pass"], c["fail"], c["abstain"],
                                       tally.decide(len(members), present, c["pass"]))))
    return results


def return_submission(actor: User, meeting: ReviewMeeting, member: MeetingExpert, reason: str) -> None:
    """返回: the expert may change the ballots and submit again."""
    require_step(meeting, "count_votes")
    submission = latest_submissions(meeting, meeting.current_round).get(member.id)
    if not is_submitted(submission):
        raise Conflict(f"{member.expert.name} 尚未提交，无需返回")
    assert submission is not None
    submission.returned_at, submission.return_reason = datetime.now(), (reason or "").strip()[:200]
    record(meeting, actor.name, "ballots.return", f"返回专家 {member.expert.name} 的投票提交",
           {"meeting_expert_id": member.id, "reason": submission.return_reason})


def set_absent(actor: User, meeting: ReviewMeeting, member: MeetingExpert, absent: bool) -> None:
    """缺席 / 不参加此环节: only for an expert who has not submitted this round."""
    require_step(meeting, "count_votes")
    if member.status != "confirmed":
        raise Conflict(f"{member.expert.name} 未确认参评")
    if absent and is_submitted(latest_submissions(meeting, meeting.current_round).get(member.id)):
        raise Conflict(f"{member.expert.name} 已提交投票，不能置为缺席")
    member.absent = absent
    record(meeting, actor.name, "expert.absent" if absent else "expert.present",
           f"{'置为缺席' if absent else '取消缺席'}：{member.expert.name}", {"meeting_expert_id": member.id})


def _check_counted(meeting: ReviewMeeting) -> None:
    """计票完成 refuses while a present expert who sits on someone this round has not submitted."""
    waiting = [p.member.expert.name for p in expert_progress(meeting)
               if not p.member.absent and not p.submitted and (p.votes_pass + p.votes_fail + p.votes_abstain
                                                               + p.not_voted) > 0]
    check_invalid([f"计票完成：到会专家 {name} 尚未提交投票（未参加的专家请置为缺席）" for name in waiting], "count")


def write_round_results(meeting: ReviewMeeting, round_no: int) -> list[tuple[MeetingApplicant, tally.Tally]]:
    results = applicant_tallies(meeting, round_no)
    now = datetime.now()
    db.session.add_all([RoundResult(meeting_id=meeting.id, meeting_applicant_id=a.id, round_no=round_no,
                                    specialty_group=a.specialty_group if meeting.group_voting and round_no == 1
                                    else "", members=t.members, present=t.present, votes_pass=t.votes_pass,
                                    votes_fail=t.votes_fail, votes_abstain=t.votes_abstain, result=t.result,
                                    counted_at=now) for a, t in results])
    db.session.flush()
    return results


def round_results(meeting: ReviewMeeting) -> list[RoundResult]:
    return list(db.session.scalars(select(RoundResult).where(RoundResult.meeting_id == meeting.id)
                                   .order_by(RoundResult.round_no, RoundResult.id)))


register_step_check("count_votes", _check_counted)
