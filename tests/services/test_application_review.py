"""申报 and 申报材料审核 through the service layer: every path of bpmn/application_review.bpmn with real data."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from declaration_helpers import (
    OPINION,
    PDF,
    decide,
    open_task,
    pass_unit,
    publicity_input,
    ready_declaration,
)
from review_path_helpers import make_committee
from sqlalchemy.exc import NoResultFound

from app.extensions import db
from app.models import BlacklistEntry, DeclarationStep, HumanTask
from services.applications import application_review, declarations
from services.applications.application_review import ReviewInput
from services.common import file_store
from services.common.errors import Conflict, Forbidden, InvalidInput, NotFound
from services.workflow import instances


def submitted(world):
    declaration = ready_declaration(world)
    declarations.submit(world.applicant, declaration, datetime.now())
    db.session.flush()
    return declaration


def rows(declaration):
    return [(r.unit_id, r.arrival, r.status) for r in db.session.scalars(
        db.select(DeclarationStep).where(DeclarationStep.declaration_id == declaration.id).order_by(DeclarationStep.id))]


def test_the_whole_chain_to_the_committee(world):
    declaration = submitted(world)
    chain = world.chain
    assert [e["name"] for e in declaration.path] == [chain.school.name, chain.competent.name, chain.city.name,
                                                     chain.committee.name]
    assert declaration.status == "reviewing" and declaration.current_unit_id == chain.school.id
    assert declaration.snapshot["name"] == "王老师" and declaration.snapshot["educations"]
    # Level 2 of the school has no task until level 1 passed.
    with pytest.raises(NoResultFound):
        open_task(declaration, world.school_reviewers[1])
    pass_unit(world, declaration, chain.school, publicity_input())
    assert declaration.current_unit_id == chain.competent.id
    pass_unit(world, declaration, chain.competent)
    pass_unit(world, declaration, chain.city)
    assert declaration.current_unit_id == chain.competent.id and declaration.at_committee  # forming unit
    decide(declaration, world.qualifier, ReviewInput("pass", "符合参评条件"))
    assert declaration.status == "accepted" and declaration.accepted_at is not None
    assert rows(declaration) == [(chain.school.id, "first", "passed"), (chain.competent.id, "first", "passed"),
                                 (chain.city.id, "first", "passed"), (chain.competent.id, "first", "accepted")]
    instance = instances.instance_for(application_review.BUSINESS_TYPE, declaration.id)
    assert instance.status == "completed"
    actions = [e.action for e in instances.business_trail(application_review.BUSINESS_TYPE, declaration.id)]
    assert actions.count("pass") == 2 + 1 + 2 + 1


def test_configuring_qualification_levels_reassigns_the_open_qualification_task(world, make_user):
    from services.org import audit_config

    declaration = submitted(world)
    chain = world.chain
    pass_unit(world, declaration, chain.school, publicity_input())
    pass_unit(world, declaration, chain.competent)
    pass_unit(world, declaration, chain.city)
    task = open_task(declaration, world.qualifier)  # offered to every holder of application.qualify
    appointed = make_user(chain.competent, permissions=["application.qualify", "inbox.view"], name="指定资格审核")
    admin = make_user(chain.competent, admin=True, name="教育局管理员")

    updated = audit_config.save_configuration(admin, chain.competent, "application_qualification",
                                              [{"name": "资格审核", "user_ids": [appointed.id]}])

    assert updated == 1 and open_task(declaration, appointed).id == task.id
    with pytest.raises(Forbidden):
        application_review.review(world.qualifier, declaration, task.id, ReviewInput("pass", "符合参评条件"))


def test_the_school_cannot_pass_without_publicity_and_its_attachments(world):
    declaration = submitted(world)
    first = world.school_reviewers[0]
    task = open_task(declaration, first)
    with pytest.raises(InvalidInput, match="公示时间"):
        application_review.review(first, declaration, task.id, ReviewInput("pass", OPINION))
    today = date.today()
    short = publicity_input(publicity_start=today - timedelta(days=4), publicity_end=today - timedelta(days=1))
    with pytest.raises(InvalidInput, match="不少于 5 个工作日"):
        application_review.review(first, declaration, task.id, short)
    running = publicity_input(publicity_start=today - timedelta(days=10), publicity_end=today + timedelta(days=1))
    with pytest.raises(InvalidInput, match="公示期满后"):
        application_review.review(first, declaration, task.id, running)
    with pytest.raises(InvalidInput, match="单位综合推荐意见：必传"):
        application_review.review(first, declaration, task.id, publicity_input(uploads={
            "publicity_proof": publicity_input().uploads["publicity_proof"]}))


def test_return_from_the_city_to_the_applicant_comes_back_to_the_city(world):
    declaration = submitted(world)
    chain = world.chain
    pass_unit(world, declaration, chain.school, publicity_input())
    pass_unit(world, declaration, chain.competent)
    decide(declaration, world.city_reviewers[0], ReviewInput("return", "请补充年度考核材料", return_to="applicant"))
    assert declaration.status == "returned" and declaration.current_unit_id is None
    assert declarations.correction_task(declaration) is not None
    with pytest.raises(InvalidInput, match="修改说明"):
        declarations.submit(world.applicant, declaration, datetime.now(), note="")
    declarations.submit(world.applicant, declaration, datetime.now(), note="已补充考核材料")
    db.session.flush()
    assert declaration.status == "reviewing" and declaration.current_unit_id == chain.city.id
    assert rows(declaration)[-1] == (chain.city.id, "recheck", "pending")
    pass_unit(world, declaration, chain.city)
    assert declaration.at_committee


def test_return_to_the_school_comes_back_to_the_city_after_the_school_passes(world):
    declaration = submitted(world)
    chain = world.chain
    pass_unit(world, declaration, chain.school, publicity_input())
    pass_unit(world, declaration, chain.competent)
    targets = dict(application_review.return_targets(declaration))
    assert set(targets) == {"applicant", "0", "1"}
    decide(declaration, world.city_reviewers[0], ReviewInput("return", "公示材料不清晰", return_to="0"))
    assert declaration.current_unit_id == chain.school.id
    assert rows(declaration)[-1] == (chain.school.id, "returned", "pending")  # 上级单位退回重审
    pass_unit(world, declaration, chain.school)  # its publicity and attachments carry over from its first arrival
    assert declaration.current_unit_id == chain.city.id
    assert rows(declaration)[-1] == (chain.city.id, "recheck", "pending")


def test_reject_ends_the_declaration(world):
    declaration = submitted(world)
    decide(declaration, world.school_reviewers[0], ReviewInput("reject", "不符合申报条件"))
    assert declaration.status == "rejected"
    assert rows(declaration) == [(world.chain.school.id, "first", "rejected")]
    assert instances.instance_for(application_review.BUSINESS_TYPE, declaration.id).status == "completed"
    assert db.session.scalar(db.select(db.func.count()).select_from(HumanTask).where(
        HumanTask.business_id == declaration.id, HumanTask.business_type == "application_review",
        HumanTask.status == "open")) == 0


def test_delegation_routes_to_another_committee_and_keeps_the_delegating_unit(world, make_unit):
    declaration = submitted(world)
    chain = world.chain
    other = make_committee(chain.city, chain.province, name="乐山市中小学教师中级职称评审委员会（委托）")
    pass_unit(world, declaration, chain.school, publicity_input())
    letter = file_store.check(application_review.attachment_field("delegation_letter"), "委托函.pdf", PDF)
    task = open_task(declaration, world.competent_reviewer)
    with pytest.raises(InvalidInput, match="委托评审函"):
        application_review.review(world.competent_reviewer, declaration, task.id,
                                  ReviewInput("pass", OPINION, delegate_committee_id=other.id))
    application_review.review(world.competent_reviewer, declaration, task.id, ReviewInput(
        "pass", OPINION, delegate_committee_id=other.id, uploads={"delegation_letter": (letter, PDF)}))
    db.session.flush()
    assert declaration.committee_id == other.id and declaration.delegated_by_unit_id == chain.competent.id
    assert declaration.delegation_letter["sha256"] == letter.sha256
    assert declaration.at_committee and declaration.current_unit_id == chain.city.id  # the other's forming unit


def test_the_school_may_not_delegate(world, make_unit):
    declaration = submitted(world)
    other = make_committee(world.chain.city, world.chain.province, name="另一评委会")
    with pytest.raises(InvalidInput, match="只有主管部门或人社部门"):
        decide(declaration, world.school_reviewers[0], publicity_input(delegate_committee_id=other.id))


def test_after_the_receive_deadline_units_cannot_pass_up(world):
    declaration = submitted(world)
    world.activity.committee_receive_deadline = datetime.now() - timedelta(minutes=1)
    with pytest.raises(Conflict, match="评委会接收申报截止时间"):
        decide(declaration, world.school_reviewers[0], publicity_input())
    # 退回 and 不通过 stay possible.
    decide(declaration, world.school_reviewers[0], ReviewInput("return", "请补充", return_to="applicant"))
    assert declaration.status == "returned"


def test_submission_window_and_one_declaration_per_activity(world):
    declaration = ready_declaration(world)
    with pytest.raises(Conflict, match="每个评审活动只能申报一次"):
        declarations.start_declaration(world.applicant, world.activity.id, {"level_code": "intermediate"},
                                       datetime.now())
    late = world.activity.first_submit_deadline + timedelta(minutes=1)
    with pytest.raises(Conflict, match="个人初次提交截止时间"):
        declarations.submit(world.applicant, declaration, late)
    assert declaration.status == "draft"


def test_a_blacklisted_applicant_cannot_declare(world):
    db.session.add(BlacklistEntry(id_number=world.applicant.id_number, name=world.applicant.name, reason="学术造假",
                                  start_date=date.today() - timedelta(days=1), end_date=date.today() + timedelta(days=900),
                                  unit_id=world.chain.city.id, created_by_id=world.city_reviewers[0].id))
    db.session.flush()
    with pytest.raises(Forbidden, match="黑名单"):
        declarations.start_declaration(world.applicant, world.activity.id, {"level_code": "intermediate"},
                                       datetime.now())


def test_missing_parts_refuse_submission(world):
    declaration = declarations.start_declaration(world.applicant, world.activity.id, {"level_code": "intermediate"},
                                                 datetime.now())
    problems = declarations.submission_problems(declaration)
    assert any("任职以来考核信息" in p for p in problems)
    assert any("论文论著" in p for p in problems)
    assert any("身份证明：必传" in p for p in problems)
    with pytest.raises(InvalidInput):
        declarations.submit(world.applicant, declaration, datetime.now())
    assert declaration.status == "draft" and instances.instance_for("application_review", declaration.id) is None


def test_the_units_attachments_are_for_the_units_only(world):
    declaration = submitted(world)
    proof = PDF + b"%unit proof"
    checked = file_store.check(application_review.attachment_field("publicity_proof"), "公示证明.pdf", proof)
    uploads = {**publicity_input().uploads, "publicity_proof": (checked, proof)}
    decide(declaration, world.school_reviewers[0], publicity_input(uploads=uploads))
    assert declarations.declaration_file(declaration, checked.sha256, with_review=True)["filename"] == "公示证明.pdf"
    with pytest.raises(NotFound):
        declarations.declaration_file(declaration, checked.sha256, with_review=False)


def test_a_level_change_moves_the_method_and_the_open_task_column(world):
    from app.models import ActivityLevel, CommitteeLevel
    from services.applications.evaluation_changes import EvaluationChange, change_evaluation

    declaration = submitted(world)
    pass_unit(world, declaration, world.chain.school, publicity_input())
    world.activity.levels.append(ActivityLevel(level_code="assistant"))
    world.chain.committee.levels.append(CommitteeLevel(level_code="assistant"))
    db.session.flush()
    change_evaluation(world.school_reviewers[0], declaration, EvaluationChange("assistant", "normal"))
    assert declaration.method_code == "junior_committee"
    task = open_task(declaration, world.competent_reviewer)
    db.session.refresh(task)
    assert task.level_code == "assistant"
