"""评审方案呈报 and 呈报方案审核 (H 1.2.2, 1.13, 1.14, 1.23; E6): the committee's forming unit adds and 呈报 a plan
with 参评人员, 专家需求 and 打分细则; its 备案批复单位 reviews it — special plans by other staff — through the 待办."""

from __future__ import annotations

import pytest
from declaration_helpers import ready_declaration
from flask.testing import FlaskClient
from sqlalchemy import select

from app.extensions import db
from app.models import HumanTask, HumanTaskCandidate, ReviewPlan, User

FORM = {"kind": "normal", "name": "2026年度中小学教师中级职称评审方案", "meeting_at": "2026-12-20T09:00",
        "location": "乐山市人社局三楼会议室", "expert_needs": "中学数学 | 中级 | 7\n中学语文 | 中级 | 5",
        "scoring_rules": "教学业绩 | 40 | 近五年教学工作\n论文论著 | 30 | 独著或第一作者\n答辩 | 30 | 现场答辩"}


@pytest.fixture
def sign_in(client, login):
    def as_user(user: User) -> FlaskClient:
        client.post("/logout")
        return login(user)

    return as_user


@pytest.fixture
def people(world, make_user):
    return {"submitter": make_user(world.chain.competent, permissions=["plan.submit", "home.view"], name="方案经办"),
            "reviewer": make_user(world.chain.city, permissions=["plan.review", "inbox.view"], name="方案审核"),
            "special": make_user(world.chain.city, permissions=["plan.review_special", "inbox.view"], name="特殊审核")}


def task_of(user: User, business_type: str) -> HumanTask | None:
    return db.session.scalar(select(HumanTask).join(HumanTaskCandidate, HumanTaskCandidate.task_id == HumanTask.id)
                             .where(HumanTask.business_type == business_type, HumanTask.status == "open",
                                    HumanTaskCandidate.user_id == user.id))


def test_a_plan_is_submitted_with_its_participants_and_approved(client, sign_in, world, people, make_user):
    accepted = ready_declaration(world)
    accepted.status = "accepted"
    db.session.flush()
    sign_in(people["submitter"])
    bad = client.post("/review-plans/new", data={**FORM, "activity_id": str(world.activity.id),
                                                 "expert_needs": "中学数学 | 中级 | 七"})
    assert bad.status_code == 400 and "专家需求：第 1 行的人数应为正整数" in bad.get_data(as_text=True)
    assert client.post("/review-plans/new", data={**FORM, "activity_id": str(world.activity.id)}).status_code == 302
    plan = db.session.scalars(select(ReviewPlan)).one()
    assert plan.status == "draft" and plan.reviewing_unit_id == world.chain.city.id
    assert [r["score"] for r in plan.scoring_rules] == [40, 30, 30]

    assert client.post(f"/review-plans/{plan.id}/submit").status_code == 302
    db.session.refresh(plan)
    assert plan.status == "pending" and [p["name"] for p in plan.participants] == ["王老师"]

    sign_in(people["reviewer"])
    page = client.get("/review-plans/reviews").get_data(as_text=True)
    assert FORM["name"] in page
    task = task_of(people["reviewer"], "review_plan")
    assert task is not None and task_of(people["special"], "review_plan") is None
    detail = client.get(f"/inbox/tasks/{task.id}").get_data(as_text=True)
    assert "王老师" in detail and "教学业绩" in detail and "中学语文" in detail
    assert client.post(f"/inbox/tasks/{task.id}", data={"decision": "pass", "opinion": "同意"}).status_code == 302
    db.session.refresh(plan)
    assert plan.status == "approved"
    sign_in(make_user(world.chain.city, permissions=["plan.query"], name="方案查询"))
    listed = client.get("/review-plans/query").get_data(as_text=True).split('data-testid="plan-query"')[1]
    assert FORM["name"] in listed and "审核通过" in listed


def test_a_special_plan_goes_to_other_staff_and_comes_back_after_a_return(client, sign_in, world, people):
    sign_in(people["submitter"])
    client.post("/review-plans/new", data={**FORM, "kind": "special", "activity_id": str(world.activity.id)})
    plan = db.session.scalars(select(ReviewPlan)).one()
    client.post(f"/review-plans/{plan.id}/submit")

    assert task_of(people["reviewer"], "review_plan_special") is None, "H 1.14: other staff review special plans"
    task = task_of(people["special"], "review_plan_special")
    assert task is not None
    sign_in(people["special"])
    client.post(f"/inbox/tasks/{task.id}", data={"decision": "return", "opinion": "专家人数不足"})
    db.session.refresh(plan)
    assert (plan.status, plan.opinion) == ("returned", "专家人数不足")

    sign_in(people["submitter"])
    assert client.post(f"/review-plans/{plan.id}/submit", data={"note": ""}).status_code == 400
    edited = client.post(f"/review-plans/{plan.id}/edit", data={**FORM, "kind": "special",
                                                                "activity_id": str(world.activity.id),
                                                                "expert_needs": "中学数学 | 中级 | 9"})
    assert edited.status_code == 302
    assert client.post(f"/review-plans/{plan.id}/submit", data={"note": "专家增至 9 人"}).status_code == 302
    again = task_of(people["special"], "review_plan_special")
    assert again is not None and again.id != task.id
    sign_in(people["special"])
    client.post(f"/inbox/tasks/{again.id}", data={"decision": "reject", "opinion": "不符合要求"})
    db.session.refresh(plan)
    assert plan.status == "rejected"


def test_another_units_plan_is_not_found(client, sign_in, world, people, make_user):
    sign_in(people["submitter"])
    client.post("/review-plans/new", data={**FORM, "activity_id": str(world.activity.id)})
    plan = db.session.scalars(select(ReviewPlan)).one()
    sign_in(make_user(world.chain.other_city, admin=True))
    assert client.get(f"/review-plans/{plan.id}").status_code == 404
    assert client.get(f"/review-plans/{plan.id}/edit").status_code == 404
