"""A declaration's whole world for the application-review tests.

乐山第一中学校 (申报单位, two levels) → 乐山市教育局 (主管部门, one level) → 乐山市人社局 (two levels) → 乐山市中小学
教师中级职称评审委员会 (formed by 教育局, whose 参评资格审核 staff accept). A published activity opens 中级 and
takes declarations now; the applicant at the school has a complete profile.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from review_path_helpers import LEVEL, Chain, build_chain, configure_chain

from app.extensions import db
from app.models import (
    ActivityAchievement,
    ActivityLevel,
    ActivityMaterialRequirement,
    Applicant,
    ApplicantEducation,
    ApplicantWork,
    Declaration,
    HumanTask,
    HumanTaskCandidate,
    ReviewActivity,
    Unit,
    User,
)
from services.applications import application_review, declarations
from services.applications.application_review import ReviewInput
from services.authz import audit_chain
from services.common import file_store

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
OPINION = "材料齐全，同意上报"


@dataclass
class World:
    chain: Chain
    activity: ReviewActivity
    applicant: Applicant
    school_reviewers: list[User]
    competent_reviewer: User
    city_reviewers: list[User]
    qualifier: User
    reviewers: dict[int, list[User]] = field(default_factory=dict)  # unit id → its reviewers by level


def make_activity(chain: Chain, now: datetime | None = None, **changes: Any) -> ReviewActivity:
    now = now or datetime.now()
    values: dict[str, Any] = dict(
        committee_id=chain.committee.id, unit_id=chain.committee.forming_unit_id,
        reviewing_unit_id=chain.committee.authorizing_unit_id, name=f"{now.year}年度中小学教师中级职称评审",
        scope="乐山市", year=now.year, category="annual", review_method="expert_review", exceptional_review=False,
        written_exam="none", interview="none", specialty_groups=False, group_method="",
        apply_start=now - timedelta(days=10), first_submit_deadline=now + timedelta(days=20),
        revise_submit_deadline=now + timedelta(days=30), committee_receive_deadline=now + timedelta(days=40),
        status="published", published_at=now - timedelta(days=11), policy_files=[], plan_files=[])
    values.update(changes)
    activity = ReviewActivity(**values)
    activity.levels = [ActivityLevel(level_code=LEVEL)]
    activity.achievements = [ActivityAchievement(position=1, title="论文论著", templates=["paper", "general"],
                                                 description="", required=True, min_count=1, max_count=5)]
    activity.material_requirements = [ActivityMaterialRequirement(position=1, name="身份证明", required=True,
                                                                  max_files=2, max_size_mb=5, file_types=["pdf"])]
    db.session.add(activity)
    db.session.flush()
    return activity


def complete_profile(applicant: Applicant) -> None:
    applicant.ethnicity, applicant.political_status = "汉族", "群众"
    applicant.work_start_date, applicant.specialty = date(2005, 9, 1), "中学数学"
    applicant.title_id = None
    applicant.educations.append(ApplicantEducation(education="大学本科", degree="学士", school="四川师范大学",
                                                   major="数学与应用数学", start_date=date(2001, 9, 1),
                                                   end_date=date(2005, 7, 1)))
    applicant.work_history.append(ApplicantWork(start_date=date(2005, 9, 1), end_date=None,
                                                unit_name="乐山第一中学校", position="教师"))
    db.session.flush()


def set_levels(admin: User, unit: Unit, reviewers: list[User]) -> None:
    audit_chain.save_levels(admin, unit, application_review.AUDIT_ITEM,
                            [{"name": f"第{n}级", "user_ids": [u.id]} for n, u in enumerate(reviewers, 1)])


@pytest.fixture
def world(make_unit: Any, make_user: Any, make_applicant: Any) -> World:
    """The review world as a fixture, offered to every test by tests/conftest.py."""
    return build_world(make_unit, make_user, make_applicant)


def build_world(make_unit: Any, make_user: Any, make_applicant: Any) -> World:
    chain = build_chain(make_unit)
    configure_chain(chain)
    review = ["application.review", "inbox.view"]
    school_reviewers = [make_user(chain.school, permissions=review, name=f"学校审核{n}") for n in (1, 2)]
    set_levels(make_user(chain.school, admin=True, name="学校管理员"), chain.school, school_reviewers)
    competent_reviewer = make_user(chain.competent, permissions=review, name="教育局审核")
    city_reviewers = [make_user(chain.city, permissions=review, name=f"人社局审核{n}") for n in (1, 2)]
    set_levels(make_user(chain.city, admin=True, name="人社局管理员"), chain.city, city_reviewers)
    qualifier = make_user(chain.competent, permissions=["application.qualify", "inbox.view"], name="评委会资格审核")
    activity = make_activity(chain)
    applicant = make_applicant(chain.school, name="王老师")
    complete_profile(applicant)
    world = World(chain, activity, applicant, school_reviewers, competent_reviewer, city_reviewers, qualifier)
    world.reviewers = {chain.school.id: school_reviewers, chain.competent.id: [competent_reviewer],
                       chain.city.id: city_reviewers}
    return world


def ready_declaration(world: World, now: datetime | None = None) -> Declaration:
    """A 暂存 declaration with everything submission needs."""
    now = now or datetime.now()
    declaration = declarations.start_declaration(world.applicant, world.activity.id, {"level_code": LEVEL}, now)
    declarations.save_assessments(world.applicant, declaration, [{"year": now.year - 1, "result": "合格"}], now)
    item = world.activity.achievements[0]
    declarations.save_achievement(world.applicant, declaration, item.id, "paper", {
        "paper_name": "初中函数教学研究", "published_on": "2022-03-01", "category": "论文", "journal": "中学数学",
        "journal_number": "CN51-1234/G4", "author_rank": "独著", "words_thousands": "5"}, now=now)
    requirement = world.activity.material_requirements[0]
    declarations.add_material(world.applicant, declaration, requirement.id, "身份证.pdf", PDF, now)
    return declaration


def open_task(declaration: Declaration, user: User) -> HumanTask:
    return db.session.scalars(
        db.select(HumanTask).join(HumanTaskCandidate, HumanTaskCandidate.task_id == HumanTask.id)
        .where(HumanTask.business_type == application_review.BUSINESS_TYPE, HumanTask.business_id == declaration.id,
               HumanTask.status == "open", HumanTaskCandidate.user_id == user.id)).one()


def publicity_uploads() -> dict[str, tuple[file_store.StoredFile, bytes]]:
    return {kind: (file_store.check(application_review.attachment_field(kind), f"{kind}.pdf", PDF), PDF)
            for kind in ("publicity_proof", "recommendation")}


def publicity_input(decision: str = "pass", **changes: Any) -> ReviewInput:
    today = date.today()
    values: dict[str, Any] = dict(decision=decision, opinion=OPINION, publicity_start=today - timedelta(days=14),
                                  publicity_end=today - timedelta(days=3), uploads=publicity_uploads())
    values.update(changes)
    return ReviewInput(**values)


def decide(declaration: Declaration, user: User, data: ReviewInput) -> None:
    task = open_task(declaration, user)
    application_review.review(user, declaration, task.id, data)
    db.session.flush()


def pass_unit(world: World, declaration: Declaration, unit: Unit, first: ReviewInput | None = None) -> None:
    """Every level of `unit` passes (the 申报单位's first level with its publicity and attachments)."""
    for n, user in enumerate(world.reviewers[unit.id]):
        data = first if n == 0 and first is not None else ReviewInput("pass", OPINION)
        decide(declaration, user, data)


def submitted_declaration(world: World) -> Declaration:
    """A ready declaration of the world's applicant, submitted now: it waits on the school's first level."""
    declaration = ready_declaration(world)
    declarations.submit(world.applicant, declaration, datetime.now())
    db.session.flush()
    return declaration
