"""评审活动发布 and 评审活动发布审核 over HTTP (S 1.2.4.1, 1.2.4.2): input rules, the publication, the public page."""

from __future__ import annotations

import io
from typing import Any

import pytest
from committee_helpers import Tree, build_tree, file_committee, fresh_request, specialty_ids
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.extensions import db
from app.models import HumanTask, ReviewActivity, User
from services.authz import audit_chain
from services.workflow import instances


@pytest.fixture
def tree(make_unit, make_user) -> Tree:
    tree = build_tree(make_unit, make_user)
    admin = make_user(tree.competent, admin=True, name="教育局发布审核管理员")
    reviewers = [make_user(tree.competent, permissions=["activity_publication.review", "inbox.view"],
                           name=f"活动审核{n}") for n in (1, 2)]
    audit_chain.save_levels(admin, tree.competent, "activity_publication",
                            [{"name": f"第{n}级", "user_ids": [u.id]} for n, u in enumerate(reviewers, 1)])
    tree.activity_reviewers = reviewers  # type: ignore[attr-defined]
    return tree


def activity_form(committee_id: int, /, **changes: Any) -> dict[str, Any]:
    form: dict[str, Any] = {
        "committee_id": str(committee_id), "name": "2026年度乐山师范学院工程技术系列中级职称评审", "scope": "本院在岗专业技术人员",
        "year": "2026", "category": "annual", "review_method": "expert_review", "written_exam": "none",
        "interview": "partial", "apply_start": "2026-03-01 09:00:00", "first_submit_deadline": "2026-03-31 18:00:00",
        "revise_submit_deadline": "2026-04-10 18:00:00", "committee_receive_deadline": "2026-04-20 18:00:00",
        "exceptional_review": "false", "specialty_groups": "true", "group_method": "vote", "health_page": "false",
        "school_teacher_page": "false", "vocational_teacher_page": "false", "public": "true",
        "level_codes": ["intermediate"], "specialty_ids": [str(s) for s in specialty_ids(1)], "arrangement": "", "document_number": "乐师院〔2026〕1号",
    }
    form.update(changes)
    return {k: v for k, v in form.items() if v is not None}


def count() -> int:
    return db.session.scalar(select(func.count()).select_from(ReviewActivity)) or 0


def create(client: FlaskClient, committee_id: int, **changes: Any) -> ReviewActivity:
    response = client.post("/activities/new", data=activity_form(committee_id, **changes))
    text = response.get_data(as_text=True)
    assert response.status_code == 302, text[text.find("alert-danger"):][:300]
    return db.session.scalar(select(ReviewActivity).order_by(ReviewActivity.id.desc()).limit(1))


@pytest.mark.parametrize(("changes", "message"), [
    ({"name": ""}, "评审活动名称：必填"),
    ({"name": "长" * 51}, "评审活动名称：不能超过 50 个字"),
    ({"scope": ""}, "申报范围：必填"),
    ({"year": "abc"}, "评审归属年份"),
    ({"category": "x"}, "评审活动类别：请选择"),
    ({"review_method": "x"}, "评审方式：请选择"),
    ({"written_exam": ""}, "评委会组织笔试：请选择"),
    ({"interview": "x"}, "是否组织面试答辩：请选择"),
    ({"public": "maybe"}, "是否对外公开：请选择是或否"),
    ({"group_method": ""}, "专业组评审方式"),
    ({"apply_start": "2026-13-01"}, "申报开始时间：请填写有效的时间"),
    ({"first_submit_deadline": "2026-02-01 00:00:00"}, "个人初次提交截止时间：须晚于申报开始时间"),
    ({"revise_submit_deadline": "2026-03-30 00:00:00"}, "个人修改提交截止时间：不能早于个人初次提交截止时间"),
    ({"committee_receive_deadline": "2026-04-01 00:00:00"}, "评委会接收申报截止时间：不能早于个人修改提交截止时间"),
    ({"level_codes": []}, "开设级别：至少选择一个级别"),
    ({"level_codes": ["senior"]}, "开设级别：只能选择评委会备案通过的评审层级"),
    ({"specialty_ids": ["999999"]}, "评审专业：只能选择评委会的评审专业"),
    ({"committee_id": "abc"}, "评委会名称：请选择本单位的评委会"),
])
def test_each_bad_input_is_refused_naming_the_field(client, login, tree, changes, message):
    committee = file_committee(tree)
    login(tree.forming_admin)
    before = count()
    response = client.post("/activities/new", data=activity_form(committee.id, **changes))
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert count() == before


def test_a_committee_not_filed_cannot_publish(client, login, tree):
    from committee_helpers import create_committee

    committee = create_committee(tree)
    login(tree.forming_admin)
    response = client.post("/activities/new", data=activity_form(committee.id))
    assert response.status_code == 400
    assert "只有已备案且在有效期内的评委会可以发布评审活动" in response.get_data(as_text=True)
    assert count() == 0


def task_for(activity: ReviewActivity, user: User) -> HumanTask:
    task = db.session.scalar(select(HumanTask).where(HumanTask.business_type == "activity_publication",
                                                     HumanTask.business_id == activity.id, HumanTask.status == "open"))
    assert task is not None and instances.is_candidate(task, user)
    return task


def decide(client: FlaskClient, login: Any, activity: ReviewActivity, user: User, decision: str) -> None:
    client.post("/logout")
    login(user)
    task = task_for(activity, user)
    assert str(task.id) in client.get("/activities/reviews").get_data(as_text=True)
    assert activity.name in client.get(f"/inbox/tasks/{task.id}").get_data(as_text=True)
    response = client.post(f"/inbox/tasks/{task.id}", data={"decision": decision, "opinion": f"{decision}意见"})
    assert response.status_code == 302, response.get_data(as_text=True)[:1000]


def test_the_whole_publication_return_resubmit_pass_and_the_public_page(client, login, tree):
    committee = file_committee(tree)
    login(tree.forming_admin)
    activity = create(client, committee.id)
    assert [a.title for a in activity.achievements]  # the default 业绩成果配置
    hidden = create(client, committee.id, name="不公开的评审活动", public="false")
    assert [a.title for a in hidden.achievements] == [a.title for a in activity.achievements]  # copied from the last
    response = client.post(f"/activities/{activity.id}/achievements", data={
        "achievements-1-position": "1", "achievements-1-title": "论文论著", "achievements-1-templates": ["paper", "book"],
        "achievements-1-description": "发表论文", "achievements-1-required": "true", "achievements-1-min_count": "1",
        "achievements-1-max_count": "5"})
    assert response.status_code == 302
    bad = client.post(f"/activities/{activity.id}/achievements", data={"achievements-1-title": "随便"})
    assert bad.status_code == 400 and "展示标题" in bad.get_data(as_text=True)
    assert client.post(f"/activities/{activity.id}/submit").status_code == 302
    fresh_request()
    activity = db.session.get(ReviewActivity, activity.id)
    assert activity.status == "pending"
    assert client.post(f"/activities/{activity.id}/edit", data=activity_form(committee.id)).status_code == 409
    # Awaiting review it cannot change: its configuration reads as plain text, no inputs and no blank rows.
    page = client.get(f"/activities/{activity.id}").get_data(as_text=True)
    assert page.count('data-testid="read-only-config"') == 3
    assert not any(f'name="{section}-' in page for section in ("achievements", "exceptional", "materials"))
    assert "<textarea" not in page and "disabled" not in page
    decide(client, login, activity, tree.activity_reviewers[0], "pass")
    decide(client, login, activity, tree.activity_reviewers[1], "return")
    fresh_request()
    activity = db.session.get(ReviewActivity, activity.id)
    assert activity.status == "returned"
    client.post("/logout")
    login(tree.forming_admin)
    assert client.post(f"/activities/{activity.id}/submit", data={"note": ""}).status_code == 400
    assert client.post(f"/activities/{activity.id}/submit", data={"note": "已修改"}).status_code == 302
    decide(client, login, activity, tree.activity_reviewers[0], "pass")
    assert "暂无公开的评审活动" in client.get("/activities/public").get_data(as_text=True)  # not yet published
    decide(client, login, activity, tree.activity_reviewers[1], "pass")
    fresh_request()
    activity = db.session.get(ReviewActivity, activity.id)
    assert activity.status == "published" and activity.published_at is not None
    client.post("/logout")
    login(tree.forming_admin)
    assert "审核通过" in client.get(f"/activities/{activity.id}").get_data(as_text=True)
    client.post("/logout")
    page = client.get("/activities/public")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert activity.name in text and "不公开的评审活动" not in text
    assert "/activities/public" in client.get("/login").get_data(as_text=True)


def test_a_publishing_clerk_resubmits_after_a_return_from_the_inbox_task(client, login, make_user, tree):
    committee = file_committee(tree)
    clerk = make_user(tree.forming, permissions=["activity.publish", "inbox.view"], name="活动经办")
    login(clerk)
    activity = create(client, committee.id)
    assert client.post(f"/activities/{activity.id}/submit").status_code == 302
    decide(client, login, activity, tree.activity_reviewers[0], "return")
    client.post("/logout")
    login(clerk)
    # The 修改 task waits in the clerk's 待办 too, not only the 超级管理员's; the clerk resubmits.
    assert activity.name in client.get("/inbox/").get_data(as_text=True)
    assert client.post(f"/activities/{activity.id}/submit", data={"note": "已修改"}).status_code == 302
    fresh_request()
    assert db.session.get(ReviewActivity, activity.id).status == "pending"


def test_reject_is_final(client, login, tree):
    committee = file_committee(tree)
    login(tree.forming_admin)
    activity = create(client, committee.id)
    assert client.post(f"/activities/{activity.id}/submit").status_code == 302
    decide(client, login, activity, tree.activity_reviewers[0], "reject")
    fresh_request()
    activity = db.session.get(ReviewActivity, activity.id)
    assert activity.status == "rejected"
    client.post("/logout")
    login(tree.forming_admin)
    assert client.post(f"/activities/{activity.id}/submit").status_code == 409


def test_another_units_activity_is_not_found(client, login, make_user, tree):
    committee = file_committee(tree)
    login(tree.forming_admin)
    activity = create(client, committee.id)
    client.post("/logout")
    login(make_user(tree.child, admin=True, name="他单位管理员"))
    assert client.get(f"/activities/{activity.id}").status_code == 404
    assert client.post(f"/activities/{activity.id}/submit").status_code == 404
    assert activity.name not in client.get("/activities/").get_data(as_text=True)


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_policy_and_plan_files_upload_download_and_publication(client, login, tree, make_user):
    committee = file_committee(tree)
    login(tree.forming_admin)
    activity = create(client, committee.id)
    url = f"/activities/{activity.id}/files"
    assert client.post(f"{url}/policy", data={"file": (io.BytesIO(PDF), "评审政策.pdf")},
                       content_type="multipart/form-data").status_code == 302
    assert client.post(f"{url}/plan", data={"file": (io.BytesIO(PDF + b"plan"), "工作方案.pdf")},
                       content_type="multipart/form-data").status_code == 302
    bad = client.post(f"{url}/policy", data={"file": (io.BytesIO(b"MZ\x90\x00not a pdf"), "x.pdf")},
                      content_type="multipart/form-data")
    assert bad.status_code == 400 and "评审政策文件(对外发布使用)：文件类型须为" in bad.get_data(as_text=True)
    twice = client.post(f"{url}/policy", data={"file": (io.BytesIO(PDF), "again.pdf")},
                        content_type="multipart/form-data")
    assert twice.status_code == 400 and "该文件已上传" in twice.get_data(as_text=True)
    assert client.post(f"{url}/minutes", data={"file": (io.BytesIO(PDF), "x.pdf")},
                       content_type="multipart/form-data").status_code == 404
    fresh_request()
    activity = db.session.get(ReviewActivity, activity.id)
    assert [f["filename"] for f in activity.policy_files] == ["评审政策.pdf"]
    policy, plan = activity.policy_files[0]["sha256"], activity.plan_files[0]["sha256"]
    download = client.get(f"{url}/policy/{policy}")
    assert download.status_code == 200 and download.data == PDF
    assert "评审政策.pdf" in client.get(f"/activities/{activity.id}").get_data(as_text=True)
    # Not published yet: the public link answers 404; another unit cannot read the files either.
    client.post("/logout")
    assert client.get(f"/activities/public/{activity.id}/policy/{policy}").status_code == 404
    login(make_user(tree.other_city, admin=True))
    assert client.get(f"{url}/plan/{plan}").status_code == 404
    client.post("/logout")
    login(tree.forming_admin)
    assert client.post(f"/activities/{activity.id}/submit").status_code == 302
    for reviewer in tree.activity_reviewers:
        decide(client, login, activity, reviewer, "pass")
    client.post("/logout")
    assert client.get(f"/activities/public/{activity.id}/policy/{policy}").data == PDF
    assert client.get(f"/activities/public/{activity.id}/policy/{plan}").status_code == 404  # the plan stays inside
    assert "评审政策.pdf" in client.get("/activities/public").get_data(as_text=True)


def test_removing_a_file_needs_an_editable_activity(client, login, tree):
    committee = file_committee(tree)
    login(tree.forming_admin)
    activity = create(client, committee.id)
    client.post(f"/activities/{activity.id}/files/policy", data={"file": (io.BytesIO(PDF), "p.pdf")},
                content_type="multipart/form-data")
    fresh_request()
    sha = db.session.get(ReviewActivity, activity.id).policy_files[0]["sha256"]
    assert client.post(f"/activities/{activity.id}/files/policy/{'0' * 64}/delete").status_code == 404
    assert client.post(f"/activities/{activity.id}/files/policy/{sha}/delete").status_code == 302
    fresh_request()
    assert db.session.get(ReviewActivity, activity.id).policy_files == []
