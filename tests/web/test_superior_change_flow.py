"""本级单位管理 → 变更上级单位, reviewed by the new superior's 多岗审核 levels (S 1.2.9.1.1; FEATURES A4, B1)."""

from __future__ import annotations

import pytest
from flask import render_template
from flask.testing import FlaskClient
from registration_helpers import committed_counts, open_task, review
from sqlalchemy import select

from app.blueprints.org.units import _superior_change_record
from app.extensions import db
from app.models import ProcessInstance, SuperiorChangeRequest, Unit
from services.authz import audit_chain
from services.common.errors import Forbidden
from services.workflow.instances import complete_human_task


class Tree:
    def __init__(self, make_unit, make_user) -> None:
        province = make_unit(unit_type="hr", region="510000B", name="四川省人力资源和社会保障厅")
        self.leshan = make_unit(parent=province, unit_type="hr", region="511100B", name="乐山市人力资源和社会保障局")
        self.hospital = make_unit(parent=self.leshan, region="511102", name="乐山市人民医院")
        self.branch = make_unit(parent=self.hospital, region="511102", name="乐山市人民医院分院")
        self.health = make_unit(parent=self.leshan, unit_type="competent", region="511100B", nature="organ",
                                name="乐山市卫生健康委员会")
        self.hospital_admin = make_user(self.hospital, admin=True, name="医院管理员")
        self.first = make_user(self.health, permissions=["inbox.view", "registration.review"], name="卫健委初审")
        self.second = make_user(self.health, permissions=["inbox.view", "registration.review"], name="卫健委复审")
        audit_chain.save_levels(make_user(self.health, admin=True), self.health, "unit_registration",
                                [{"name": "初审", "user_ids": [self.first.id]},
                                 {"name": "复审", "user_ids": [self.second.id]}])
        db.session.commit()


@pytest.fixture
def tree(make_unit, make_user) -> Tree:
    return Tree(make_unit, make_user)


def latest(unit: Unit) -> SuperiorChangeRequest:
    return db.session.scalar(select(SuperiorChangeRequest).where(SuperiorChangeRequest.unit_id == unit.id)
                             .order_by(SuperiorChangeRequest.id.desc()))


def request_change(client: FlaskClient, tree: Tree, reason: str = "按归口管理要求划归市卫健委") -> SuperiorChangeRequest:
    response = client.post("/units/own/superior-change", data={"new_parent_id": tree.health.id, "reason": reason})
    assert response.status_code == 302, response.get_data(as_text=True)[:1500]
    return latest(tree.hospital)


def test_own_page_shows_the_section_and_the_picker_finds_the_new_superior(client, login, tree):
    login(tree.hospital_admin)

    page = client.get("/units/own").get_data(as_text=True)
    picker = client.get("/register/superiors?q=卫生健康&field=new_parent_id").get_data(as_text=True)

    assert "变更上级单位" in page and 'data-testid="current-superior">乐山市人力资源和社会保障局<' in page
    assert "新上级单位" in page and "变更原因" in page and "提交变更申请" in page
    assert 'name="new_parent_id"' in picker and "乐山市卫生健康委员会（主管部门）" in picker


def test_a_change_passes_two_levels_and_moves_the_subtree(app, client, login, tree):
    login(tree.hospital_admin)
    change = request_change(client, tree)

    page = client.get("/units/own").get_data(as_text=True)
    assert "待审核" in page and "乐山市卫生健康委员会" in page and "按归口管理要求划归市卫健委" in page
    assert "提交变更申请" not in page, "one open request at a time"
    task = open_task("unit_superior_change", change.id)
    assert (task.unit_id, task.level_no) == (tree.health.id, 1)

    shown = review(app, tree.first, task, "pass", "初审同意")
    assert "变更上级单位申请" in shown and "按归口管理要求划归市卫健委" in shown and "医院管理员" in shown
    review(app, tree.second, open_task("unit_superior_change", change.id), "pass", "复审同意")

    hospital, branch = db.session.get(Unit, tree.hospital.id), db.session.get(Unit, tree.branch.id)
    assert (hospital.parent_id, hospital.path) == (tree.health.id, f"{tree.health.path}{hospital.id}/")
    assert branch.path == f"{hospital.path}{branch.id}/"
    page = client.get("/units/own").get_data(as_text=True)
    assert 'data-testid="current-superior">乐山市卫生健康委员会<' in page
    assert "审核通过" in page and "初审同意" in page and "复审同意" in page


def test_a_returned_change_is_revised_and_resubmitted(app, client, login, tree):
    login(tree.hospital_admin)
    change = request_change(client, tree, "归口")
    review(app, tree.first, open_task("unit_superior_change", change.id), "return", "请写明依据")

    page = client.get("/units/own").get_data(as_text=True)
    assert "已退回" in page and "请写明依据" in page and "重新提交审核" in page
    before = committed_counts()
    refused = client.post("/units/own/superior-change/resubmit", data={"reason": "", "note": "改"})
    assert refused.status_code == 400 and "变更原因：必填" in refused.get_data(as_text=True)
    assert committed_counts() == before

    response = client.post("/units/own/superior-change/resubmit",
                           data={"reason": "依据市卫健委〔2026〕3 号文归口管理", "note": "已写明依据"})
    assert response.status_code == 302
    change = latest(tree.hospital)
    assert change.reason == "依据市卫健委〔2026〕3 号文归口管理"
    assert open_task("unit_superior_change", change.id).level_no == 1
    review(app, tree.first, open_task("unit_superior_change", change.id), "pass", "同意")
    review(app, tree.second, open_task("unit_superior_change", change.id), "pass", "同意")
    assert db.session.get(Unit, tree.hospital.id).parent_id == tree.health.id


def test_a_rejected_change_leaves_the_unit_and_allows_a_new_request(app, client, login, tree):
    login(tree.hospital_admin)
    change = request_change(client, tree)
    review(app, tree.first, open_task("unit_superior_change", change.id), "reject", "不属于卫健系统")

    page = client.get("/units/own").get_data(as_text=True)
    assert "审核不通过" in page and "不属于卫健系统" in page and "提交变更申请" in page
    assert db.session.get(Unit, tree.hospital.id).parent_id == tree.leshan.id


@pytest.mark.parametrize(("form", "message"), [
    ({"new_parent_id": "", "reason": "原因"}, "新上级单位：请从列表中选择一个有效的单位"),
    ({"new_parent_id": "abc", "reason": "原因"}, "新上级单位：请从列表中选择一个有效的单位"),
    ({"new_parent_id": "9" * 30, "reason": "原因"}, "新上级单位：请从列表中选择一个有效的单位"),
    ({"new_parent_id": "{branch}", "reason": "原因"}, "新上级单位：不能选择本单位或本单位的下级单位"),
    ({"new_parent_id": "{leshan}", "reason": "原因"}, "新上级单位：与当前上级单位相同"),
    ({"new_parent_id": "{health}", "reason": ""}, "变更原因：必填"),
    ({"new_parent_id": "{health}", "reason": "长" * 201}, "变更原因：不能超过 200 个字"),
])
def test_bad_requests_are_refused_in_chinese_and_write_nothing(client, login, tree, form, message):
    login(tree.hospital_admin)
    ids = {"branch": tree.branch.id, "leshan": tree.leshan.id, "health": tree.health.id}
    before = committed_counts()

    response = client.post("/units/own/superior-change", data={k: v.format(**ids) for k, v in form.items()})

    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert committed_counts() == before


def test_resubmit_without_a_returned_request_is_a_conflict(client, login, tree):
    login(tree.hospital_admin)
    assert client.post("/units/own/superior-change/resubmit", data={"reason": "x", "note": "y"}).status_code == 409
    request_change(client, tree)
    assert client.post("/units/own/superior-change/resubmit", data={"reason": "x", "note": "y"}).status_code == 409


def test_the_reviewers_record_shows_unit_superiors_and_reason(app, client, login, tree):
    login(tree.hospital_admin)
    change = request_change(client, tree)
    instance = db.session.scalar(select(ProcessInstance).where(ProcessInstance.business_id == change.id,
                                                               ProcessInstance.business_type == "unit_superior_change"))
    with app.test_request_context():
        html = render_template("inbox/records/unit_superior_change.html", record_missing=False,
                               **_superior_change_record(instance))

    for text in ("乐山市人民医院", "乐山市人力资源和社会保障局", "乐山市卫生健康委员会", "按归口管理要求划归市卫健委", "医院管理员"):
        assert text in html


def test_a_reviewer_of_another_unit_gets_no_task(tree, client, login, make_user):
    login(tree.hospital_admin)
    change = request_change(client, tree)
    task = open_task("unit_superior_change", change.id)

    with pytest.raises(Forbidden):
        complete_human_task(make_user(tree.leshan, admin=True), task.id, {"decision": "pass", "opinion": "越权"})
