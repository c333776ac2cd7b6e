"""The meeting through its services and bpmn/review_meeting.bpmn (no HTTP): every path of the diagram."""

from __future__ import annotations

from typing import Any

import pytest
from meeting_helpers import OWN_UNIT_EXPERT, build_world, ordinary_meeting, run_to_voting, step_name, vote_all
from sqlalchemy import select

from app.extensions import db
from app.models import ExpertService, MeetingEvent, ReviewMeeting, RoundResult
from services.common.errors import ServiceError
from services.meetings import draws, meetings, voting


@pytest.fixture
def world(make_unit: Any, make_user: Any, make_applicant: Any) -> Any:
    return build_world(make_unit, make_user, make_applicant)


def test_an_ordinary_meeting_runs_from_preparation_to_counted(world: Any) -> None:
    meetings.create_meetings(world.staff, world.activity.id)
    meeting = ordinary_meeting(world)
    assert step_name(meeting) == "prepare_meeting" and meeting.stage == "preparing"
    members = run_to_voting(world, meeting)
    assert step_name(meeting) == "count_votes" and meeting.voting_open
    vote_all(meeting, members, lambda n, a: "pass" if n < 7 else "fail")
    meetings.complete_step(world.staff, meeting, "count_votes")
    assert step_name(meeting) is None and meeting.stage == "counted" and not meeting.voting_open
    results = db.session.scalars(select(RoundResult).where(RoundResult.meeting_id == meeting.id)).all()
    assert len(results) == 3 and {r.result for r in results} == {"passed"}
    # The expert of the applicants' own unit was recused: 8 members sit on each applicant.
    assert {r.members for r in results} == {8}
    # D5: attended records for the year; the executive chair attends as chair.
    services = db.session.scalars(select(ExpertService).where(ExpertService.committee_id == world.committee.id)).all()
    assert len(services) == 9 and all(s.attended for s in services)
    assert sum(1 for s in services if s.role == "chair") == 1
    assert db.session.scalar(select(MeetingEvent.id).where(MeetingEvent.meeting_id == meeting.id,
                                                           MeetingEvent.action == "counted"))


def test_counting_refuses_while_a_present_expert_has_not_submitted(world: Any) -> None:
    meetings.create_meetings(world.staff, world.activity.id)
    meeting = ordinary_meeting(world)
    members = run_to_voting(world, meeting)
    late = next(m for m in members if m.expert.name != OWN_UNIT_EXPERT)
    vote_all(meeting, [m for m in members if m is not late], lambda n, a: "pass")
    with pytest.raises(ServiceError, match="尚未提交投票"):
        meetings.complete_step(world.staff, meeting, "count_votes")
    voting.set_absent(world.staff, meeting, late, True)
    meetings.complete_step(world.staff, meeting, "count_votes")
    assert meeting.stage == "counted"


def test_quorum_missed_passes_nobody(world: Any) -> None:
    meetings.create_meetings(world.staff, world.activity.id)
    meeting = ordinary_meeting(world)
    members = run_to_voting(world, meeting)
    for member in members[:4]:
        voting.set_absent(world.staff, meeting, member, True)
    vote_all(meeting, members[4:], lambda n, a: "pass")
    meetings.complete_step(world.staff, meeting, "count_votes")
    results = db.session.scalars(select(RoundResult).where(RoundResult.meeting_id == meeting.id)).all()
    assert {r.result for r in results} == {"no_quorum"}


def test_a_submitted_ballot_is_fixed_until_returned(world: Any) -> None:
    meetings.create_meetings(world.staff, world.activity.id)
    meeting = ordinary_meeting(world)
    members = run_to_voting(world, meeting)
    vote_all(meeting, members, lambda n, a: "fail")
    seat = next(m for m in members if m.expert.name != OWN_UNIT_EXPERT)
    row = voting.ballot_rows(meeting, seat)[0]
    with pytest.raises(ServiceError, match="已提交"):
        voting.save_ballot(seat, meeting, row.applicant, {"vote": "pass"})
    voting.return_submission(world.staff, meeting, seat, "误操作")
    voting.save_ballot(seat, meeting, row.applicant, {"vote": "pass"})
    with pytest.raises(ServiceError, match="尚未提交投票"):
        meetings.complete_step(world.staff, meeting, "count_votes")
    voting.submit_ballots(seat, meeting)
    tallies = {a.id: t for a, t in voting.applicant_tallies(meeting)}
    assert tallies[row.applicant.id].votes_pass == 1


def test_the_recused_expert_cannot_vote_on_their_units_applicant(world: Any) -> None:
    meetings.create_meetings(world.staff, world.activity.id)
    meeting = ordinary_meeting(world)
    members = run_to_voting(world, meeting)
    own = next(m for m in members if m.expert.name == OWN_UNIT_EXPERT)
    rows = voting.ballot_rows(meeting, own)
    assert rows and all(r.recused for r in rows)
    with pytest.raises(ServiceError, match="回避"):
        voting.save_ballot(own, meeting, rows[0].applicant, {"vote": "pass"})
    voting.submit_ballots(own, meeting)  # nothing to vote on: the submission is allowed


def test_the_draw_is_replayed_to_the_same_result(world: Any) -> None:
    meetings.create_meetings(world.staff, world.activity.id)
    meeting = ordinary_meeting(world)
    meetings.complete_step(world.staff, meeting, "prepare_meeting")
    draws.add_group(world.staff, meeting, "建筑施工", "intermediate", 5)
    draw = draws.start_draw(world.staff, meeting, 15)
    assert len(draw.drawn) == 8 and len(draw.pool) == 9 and draw.seed
    assert draws.replay(draw).drawn == draw.drawn
    rows = draws.draw_record_rows(draw)
    assert sum(r["drawn"] for r in rows) == 8 and all(r["reason"] for r in rows)


def test_a_cancelled_expert_is_replaced_from_the_same_pool(world: Any) -> None:
    meetings.create_meetings(world.staff, world.activity.id)
    meeting = ordinary_meeting(world)
    meetings.complete_step(world.staff, meeting, "prepare_meeting")
    group = draws.add_group(world.staff, meeting, "建筑施工", "intermediate", 4)
    draws.start_draw(world.staff, meeting, 15, seed="s1")
    meetings.complete_step(world.staff, meeting, "draw_experts")
    members = draws.meeting_experts(meeting)
    assert len(members) == 6
    for member in members[:3]:
        draws.set_attendance(world.staff, meeting, member, True)
    for member in members[3:]:
        draws.set_attendance(world.staff, meeting, member, False)
    with pytest.raises(ServiceError, match="少于本组抽取人数"):
        meetings.complete_step(world.staff, meeting, "confirm_experts")
    again = draws.replacement_draw(world.staff, meeting, group.id, 2, seed="s2")
    assert len(again.drawn) == 2 and not set(again.drawn) & {m.expert_id for m in members}
    assert draws.replay(again).drawn == again.drawn


def test_an_expired_committee_holds_no_meeting(world: Any) -> None:
    world.committee.status = "expired"
    with pytest.raises(ServiceError, match="不能召开评审会议"):
        meetings.create_meetings(world.staff, world.activity.id)
    assert db.session.scalar(select(ReviewMeeting.id)) is None


def test_the_exceptional_meeting_feeds_its_passers_to_the_ordinary_one(make_unit: Any, make_user: Any,
                                                                       make_applicant: Any) -> None:
    world = build_world(make_unit, make_user, make_applicant, applicants=4, exceptional=2)
    exceptional = meetings.create_meetings(world.staff, world.activity.id)
    ordinary = ordinary_meeting(world)
    assert exceptional.kind == "exceptional" and exceptional.feeds_meeting_id == ordinary.id
    assert step_name(exceptional) == "prepare_meeting"
    members = run_to_voting(world, exceptional)
    first, second = sorted(voting.round_applicants(exceptional), key=lambda a: a.id)
    vote_all(exceptional, members, lambda n, a: "pass" if a.id == first.id else "fail")
    meetings.complete_step(world.staff, exceptional, "count_votes")
    assert step_name(exceptional) is None and exceptional.stage == "counted"
    assert second.declaration.status == "rejected" and second.declaration.opinion == "破格评议未通过"
    from services.meetings import assignment

    on_list = assignment.applicants_of(ordinary)
    assert len(on_list) == 3 and [a.source for a in on_list].count("exceptional") == 1
    assert first.declaration_id in {a.declaration_id for a in on_list}


def test_the_ordinary_meeting_waits_for_the_exceptional_count(make_unit: Any, make_user: Any,
                                                              make_applicant: Any) -> None:
    world = build_world(make_unit, make_user, make_applicant, applicants=3, exceptional=1)
    meetings.create_meetings(world.staff, world.activity.id)
    with pytest.raises(ServiceError, match="破格评审会议尚未计票完成"):
        run_to_voting(world, ordinary_meeting(world))


def test_a_grouped_meeting_votes_in_specialty_groups_then_all_together(make_unit: Any, make_user: Any,
                                                                      make_applicant: Any) -> None:
    world = build_world(make_unit, make_user, make_applicant, experts=12, applicants=4, specialty_groups=True,
                        group_method="vote")
    meetings.create_meetings(world.staff, world.activity.id)
    meeting = ordinary_meeting(world)
    assert meeting.group_voting
    members = run_to_voting(world, meeting)
    rows = sorted(voting.round_applicants(meeting), key=lambda a: a.id)
    loser = rows[0]
    # Round 1: each expert sees only their group's applicants; the first applicant fails in its group.
    seat = next(m for m in members if m.expert.name != OWN_UNIT_EXPERT)
    assert {r.applicant.specialty_group for r in voting.ballot_rows(meeting, seat)} == {seat.specialty_group}
    vote_all(meeting, members, lambda n, a: "fail" if a.id == loser.id else "pass")
    meetings.complete_step(world.staff, meeting, "count_votes")
    assert meeting.current_round == 2 and step_name(meeting) == "open_voting" and loser.status == "eliminated"
    assert [a.id for a in voting.round_applicants(meeting)] == [a.id for a in rows[1:]]
    meetings.complete_step(world.staff, meeting, "open_voting")
    # Round 2: every expert sits on every remaining applicant.
    assert len(voting.ballot_rows(meeting, seat)) == 3
    vote_all(meeting, members, lambda n, a: "pass" if n % 4 else "fail")
    meetings.complete_step(world.staff, meeting, "count_votes")
    assert meeting.stage == "counted"
    results = db.session.scalars(select(RoundResult).where(RoundResult.meeting_id == meeting.id)).all()
    assert sorted((r.round_no, r.result) for r in results)[:4] == [(1, "failed"), (1, "passed"), (1, "passed"),
                                                                   (1, "passed")]
    assert [r.round_no for r in results].count(2) == 3


def test_a_replacement_draw_brings_a_chair_when_every_chair_was_cancelled(world: Any) -> None:
    meetings.create_meetings(world.staff, world.activity.id)
    meeting = ordinary_meeting(world)
    meetings.complete_step(world.staff, meeting, "prepare_meeting")
    group = draws.add_group(world.staff, meeting, "建筑施工", "intermediate", 2)
    draws.start_draw(world.staff, meeting, 15, seed="chairs")
    meetings.complete_step(world.staff, meeting, "draw_experts")
    members = draws.meeting_experts(meeting)
    for member in members:
        draws.set_attendance(world.staff, meeting, member, not member.chair)
    if any(m.chair for m in members):
        with pytest.raises(ServiceError, match="没有主任委员"):
            meetings.complete_step(world.staff, meeting, "confirm_experts")
    again = draws.replacement_draw(world.staff, meeting, group.id, 1, seed="r")
    brought = [m for m in draws.meeting_experts(meeting) if m.draw_id == again.id]
    assert again.require_chair
    assert len(brought) == 1 and brought[0].chair
    assert draws.replay(again).drawn == again.drawn


def test_two_saves_of_one_ballot_at_once_answer_a_conflict(world: Any, monkeypatch: Any) -> None:
    """The other save committed between this one's read and its write: 409 with a message, not a crash."""
    from sqlalchemy import insert

    from app.models import Ballot
    from services.common.errors import Conflict

    meetings.create_meetings(world.staff, world.activity.id)
    meeting = ordinary_meeting(world)
    members = run_to_voting(world, meeting)
    seat = members[0]
    row = next(r for r in voting.ballot_rows(meeting, seat) if not r.recused)
    db.session.execute(insert(Ballot).values(meeting_id=meeting.id, round_no=meeting.current_round,
                                             meeting_expert_id=seat.id, meeting_applicant_id=row.applicant.id,
                                             vote="pass", material_check="", opinion=""))
    real_scalar = db.session.scalar
    missed = {"done": False}

    def scalar_missing_the_other_save(statement: Any, *args: Any, **kwargs: Any) -> Any:
        if not missed["done"] and "meeting_ballot" in str(statement):
            missed["done"] = True
            return None
        return real_scalar(statement, *args, **kwargs)

    monkeypatch.setattr(db.session, "scalar", scalar_missing_the_other_save)
    with pytest.raises(Conflict, match="刚刚已保存"):
        voting.save_ballot(seat, meeting, row.applicant, {"vote": "fail"})
