"""`flask seed-demo`: the demo organisation, its applicants, a committee filed through the real flow, its 审核路径,
a published 评审活动 and declarations standing in 申报材料审核."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    Applicant,
    Committee,
    CommitteeExpert,
    Declaration,
    HumanTask,
    HumanTaskCandidate,
    ProcessInstance,
    ReviewActivity,
    Unit,
    User,
    WorkflowEvent,
)
from services.applications import application_review, review_paths
from services.applications.application_review import ReviewInput
from services.demo.declarations import next_open_task
from services.demo.organisation import seed_demo

CONFIG = Path(__file__).resolve().parents[2] / "admin_config"
COMMITTEE = "乐山市中小学教师中级职称评审委员会"


def declaration_of(name: str) -> Declaration:
    return db.session.scalars(select(Declaration).join(Applicant).where(Applicant.name == name)).one()


def open_review_task(declaration: Declaration) -> HumanTask:
    return db.session.scalars(select(HumanTask).where(
        HumanTask.business_type == application_review.BUSINESS_TYPE, HumanTask.business_id == declaration.id,
        HumanTask.status == "open")).one()


def candidates(task: HumanTask) -> set[str]:
    return set(db.session.scalars(select(User.username).join(HumanTaskCandidate, HumanTaskCandidate.user_id == User.id)
                                  .where(HumanTaskCandidate.task_id == task.id)))


def test_seed_demo_files_the_demo_committee_through_the_flow(database):
    logins = seed_demo(CONFIG)

    assert logins is not None and any(username == "ls_rsj" for _, username, _ in logins)
    committee = db.session.scalar(select(Committee).where(Committee.name == COMMITTEE))
    assert committee is not None
    assert committee.status == "filed"
    assert committee.forming_unit.name == "乐山市人力资源和社会保障局"
    members = list(db.session.scalars(select(CommitteeExpert).where(CommitteeExpert.committee_id == committee.id)))
    assert len(members) == 7 and {m.status for m in members} == {"in_library"}
    assert sorted(m.role for m in members).count("chair") == 1
    instance = db.session.scalar(select(ProcessInstance).where(ProcessInstance.business_type == "committee_filing"))
    assert instance is not None and instance.status == "running"  # waiting on the expiry timers
    assert instance.next_timer_at is not None
    passes = db.session.scalar(select(func.count()).select_from(WorkflowEvent).where(
        WorkflowEvent.instance_id == instance.id, WorkflowEvent.action == "pass"))
    assert passes >= 1


def test_seed_demo_lists_the_reviewing_staff_among_the_logins(database):
    logins = seed_demo(CONFIG)

    assert logins is not None
    roles = {username: role for _, username, role in logins}
    for username in ("ls_yz_sh1", "ls_yz_sh2", "ls_rsj_sh1", "ls_rsj_sh2", "ls_rsj_zg", "ls_jyj_sh"):
        assert roles[username] == "审核人员"


def test_seed_demo_configures_the_path_from_the_school_to_the_committee(database):
    seed_demo(CONFIG)

    school = db.session.scalar(select(Unit).where(Unit.name == "乐山第一中学校"))
    assert school is not None
    path = review_paths.resolve_path(school, "intermediate", "primary_secondary_teacher", "intermediate_committee",
                                     "PST-01")
    assert path.complete, path.broken
    assert [step.name for step in path.steps] == ["乐山第一中学校", "乐山市教育局", "乐山市人力资源和社会保障局", COMMITTEE]
    assert [step.via for step in path.steps[1:]] == ["主管部门配置", "审核路径配置", "审核路径配置"]


def test_seed_demo_publishes_an_activity_taking_declarations_now(database):
    seed_demo(CONFIG)

    activity = db.session.scalars(select(ReviewActivity)).one()
    assert activity.committee.name == COMMITTEE
    assert (activity.status, activity.public) == ("published", True)
    assert activity.level_codes == ["intermediate"]
    assert {link.specialty.code for link in activity.specialties} == {"PST-01", "PST-02"}
    assert activity.published_at is not None
    assert activity.apply_start < activity.published_at < activity.first_submit_deadline
    assert activity.first_submit_deadline <= activity.revise_submit_deadline <= activity.committee_receive_deadline
    instance = db.session.scalar(select(ProcessInstance).where(
        ProcessInstance.business_type == "activity_publication", ProcessInstance.business_id == activity.id))
    assert instance is not None and instance.status == "completed"


def test_seed_demo_leaves_a_declaration_at_the_schools_first_level(database):
    seed_demo(CONFIG)

    declaration = declaration_of("李雨桐")
    assert (declaration.status, declaration.step, declaration.current_unit.name) == ("reviewing", 0, "乐山第一中学校")
    assert [entry["name"] for entry in declaration.path][-1] == COMMITTEE
    task = open_review_task(declaration)
    assert task.level_no == 1 and task.post == "unit_reviewer"
    assert candidates(task) == {"ls_yz_sh1"}


def test_seed_demo_leaves_a_declaration_passed_by_the_school_at_the_competent_unit(database):
    seed_demo(CONFIG)

    declaration = declaration_of("张浩然")
    assert (declaration.status, declaration.step, declaration.current_unit.name) == ("reviewing", 1, "乐山市教育局")
    assert candidates(open_review_task(declaration)) == {"ls_jyj", "ls_jyj_sh"}
    school_step = next(step for step in declaration.steps if step.step == 0)
    assert school_step.status == "passed"
    assert {"publicity_proof", "recommendation"} <= set(school_step.attachments)


def test_the_seeded_declaration_climbs_to_the_committees_qualification(database):
    seed_demo(CONFIG)
    declaration = declaration_of("张浩然")

    reviewers = []
    while (found := next_open_task(application_review.BUSINESS_TYPE, declaration.id)) is not None:
        task, _ = found
        reviewers.append(sorted(candidates(task)))
        reviewer = db.session.scalars(select(User).where(User.username == reviewers[-1][-1])).one()
        application_review.review(reviewer, declaration, task.id, ReviewInput("pass", "同意"))
        db.session.flush()

    assert reviewers == [["ls_jyj", "ls_jyj_sh"], ["ls_rsj_sh1"], ["ls_rsj_sh2"], ["ls_rsj_zg"]]
    assert declaration.status == "accepted"


def test_seed_demo_is_a_no_op_when_units_exist(database, make_unit):
    make_unit()
    count = db.session.scalar(select(func.count()).select_from(Unit))

    assert seed_demo(CONFIG) is None
    assert db.session.scalar(select(func.count()).select_from(Unit)) == count
