"""职称申报资格复核及评委操作回退 (H 1.26; B8; issue 16): newest first — an expert's ballot (their 提交 returned),
then the place on the meeting list, then the 参评资格审核通过, after which the declaration is back in 参评资格审核."""

from __future__ import annotations

from declaration_helpers import pass_unit, publicity_input, submitted_declaration
from meeting_helpers import build_world, ordinary_meeting, run_to_voting, vote_all
from sqlalchemy import func, select

from app.extensions import db
from app.models import Ballot, HumanTask, MeetingApplicant, MeetingEvent
from services.applications import application_review
from services.applications.application_review import ReviewInput
from services.meetings import meetings, voting


def test_qualification_is_undone_and_done_again(client, login, world):
    declaration = submitted_declaration(world)
    pass_unit(world, declaration, world.chain.school, publicity_input())
    for unit in (world.chain.competent, world.chain.city):
        pass_unit(world, declaration, unit)
    task_id = db.session.scalar(select(HumanTask.id).where(HumanTask.business_id == declaration.id,
                                                           HumanTask.status == "open"))
    application_review.review(world.qualifier, declaration, task_id, ReviewInput("pass", "符合"))
    db.session.commit()
    assert declaration.status == "accepted"
    login(world.qualifier)
    page = client.get(f"/application-review/qualification/{declaration.id}/rollback").get_data(as_text=True)
    assert "参评资格审核通过" in page
    assert client.post(f"/application-review/qualification/{declaration.id}/rollback",
                       data={"key": "qualification", "reason": ""}).status_code == 400
    assert client.post(f"/application-review/qualification/{declaration.id}/rollback",
                       data={"key": "qualification", "reason": "审错了，学历不符"}).status_code == 302
    db.session.expire_all()
    assert declaration.status == "reviewing"
    reopened = db.session.scalar(select(HumanTask).where(
        HumanTask.business_id == declaration.id, HumanTask.business_type == "application_review",
        HumanTask.status == "open"))
    assert reopened is not None and reopened.bpmn_id == "qualification_review"


def test_ballots_then_the_listing_are_undone_newest_first(client, login, make_unit, make_user, make_applicant):
    world = build_world(make_unit, make_user, make_applicant)
    for declaration in world.declarations:
        declaration.path = [{"committee_id": world.committee.id, "role": "committee", "name": world.committee.name}]
    meetings.create_meetings(world.staff, world.activity.id)
    meeting = ordinary_meeting(world)
    members = run_to_voting(world, meeting)
    vote_all(meeting, members, lambda n, a: "pass")
    qualifier = make_user(world.tree.forming, permissions=["application.qualify"], name="资格复核")
    db.session.commit()
    target = world.declarations[0]
    row = db.session.scalar(select(MeetingApplicant).where(MeetingApplicant.declaration_id == target.id))
    ballots = db.session.scalar(select(func.count()).select_from(Ballot).where(Ballot.meeting_applicant_id == row.id))
    login(qualifier)
    page = client.get(f"/application-review/qualification/{target.id}/rollback").get_data(as_text=True)
    assert page.count("<tr><td>评委 ") == ballots and "评审名单" in page
    out_of_order = client.post(f"/application-review/qualification/{target.id}/rollback",
                               data={"key": f"listing:{row.id}", "reason": "名单有误"})
    assert out_of_order.status_code == 409 and "由下向上" in out_of_order.get_data(as_text=True)
    newest = db.session.scalars(select(Ballot).where(Ballot.meeting_applicant_id == row.id)
                                .order_by(Ballot.updated_at.desc(), Ballot.id.desc())).first()
    assert client.post(f"/application-review/qualification/{target.id}/rollback",
                       data={"key": f"ballot:{newest.id}", "reason": "评委误投"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Ballot, newest.id) is None
    submission = voting.latest_submissions(meeting, 1)[newest.meeting_expert_id]
    assert submission.returned_at is not None  # the expert votes again before 计票完成
    assert db.session.scalar(select(MeetingEvent.id).where(MeetingEvent.action == "rollback.ballot"))
