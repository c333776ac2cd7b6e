"""职数申报, 职数审核 and 职数申报查询 over HTTP (H 1.5.1, 1.5.2, 1.22): input rules, the review, the query."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from committee_helpers import fresh_request
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.extensions import db
from app.models import HumanTask, QuotaDeclaration, Unit, User
from services.workflow import instances

YEAR = date.today().year


@dataclass
class Tree:
    superior: Unit
    declaring: Unit
    sibling: Unit
    declarer: User
    reviewer: User
    sibling_admin: User


@pytest.fixture
def tree(make_unit, make_user) -> Tree:
    province = make_unit(unit_type="hr", region="510000B", name="四川省人力资源和社会保障厅")
    superior = make_unit(parent=province, unit_type="hr", region="511100B", name="乐山市人力资源和社会保障局")
    declaring = make_unit(parent=superior, region="511102", name="乐山市市中区人民医院")
    sibling = make_unit(parent=superior, region="511102", name="乐山市第一中学")
    return Tree(superior, declaring, sibling,
                make_user(declaring, permissions=["quota.declare", "quota.query"], name="职数经办"),
                make_user(superior, permissions=["quota.review", "quota.query", "inbox.view"], name="职数审核人"),
                make_user(sibling, admin=True, name="一中管理员"))


def quota_form(**changes: Any) -> dict[str, Any]:
    form: dict[str, Any] = {
        "year": str(YEAR), "contact_name": "王经办", "contact_phone": "0833-2123456", "note": "按岗位设置方案申报",
        "rows-1-series_code": "health_technician", "rows-1-level_code": "senior_deputy", "rows-1-post_total": "10",
        "rows-1-current_count": "6", "rows-1-requested_count": "3", "rows-1-remark": "",
        "rows-2-series_code": "health_technician", "rows-2-level_code": "intermediate", "rows-2-post_total": "30",
        "rows-2-current_count": "20", "rows-2-requested_count": "8",
        "rows-3-series_code": "", "rows-3-level_code": "", "rows-3-post_total": "",  # a blank row is ignored
        "action": "save",
    }
    form.update(changes)
    return {k: v for k, v in form.items() if v is not None}


def count() -> int:
    return db.session.scalar(select(func.count()).select_from(QuotaDeclaration)) or 0


def create(client: FlaskClient, **changes: Any) -> QuotaDeclaration:
    response = client.post("/quotas/new", data=quota_form(**changes))
    text = response.get_data(as_text=True)
    assert response.status_code == 302, text[text.find("alert-danger"):][:300]
    return db.session.scalar(select(QuotaDeclaration).order_by(QuotaDeclaration.id.desc()).limit(1))


def reload(declaration: QuotaDeclaration) -> QuotaDeclaration:
    fresh_request()
    return db.session.get(QuotaDeclaration, declaration.id)


def decide(client: FlaskClient, login: Any, declaration: QuotaDeclaration, user: User, decision: str) -> None:
    client.post("/logout")
    login(user)
    task = db.session.scalar(select(HumanTask).where(HumanTask.business_type == "quota_declaration",
                                                     HumanTask.business_id == declaration.id,
                                                     HumanTask.status == "open"))
    assert task is not None and instances.is_candidate(task, user)
    reviews = client.get("/quotas/reviews").get_data(as_text=True)
    assert f"/inbox/tasks/{task.id}" in reviews and "待审核 (1)" in reviews
    page = client.get(f"/inbox/tasks/{task.id}").get_data(as_text=True)
    assert "职数申报信息" in page and declaration.unit.name in page and "卫生技术人员" in page
    response = client.post(f"/inbox/tasks/{task.id}", data={"decision": decision, "opinion": f"{decision}意见"})
    assert response.status_code == 302, response.get_data(as_text=True)[:1000]


@pytest.mark.parametrize(("changes", "message"), [
    ({"year": "abc"}, "申报年度：应为四位年份"),
    ({"year": str(YEAR - 5)}, "申报年度：只能申报"),
    ({"contact_name": ""}, "联系人：必填"),
    ({"contact_phone": "12ab"}, "联系电话"),
    ({"rows-1-post_total": "-1"}, "第 1 行：岗位总数：应为 0 到 99999 之间的整数"),
    ({"rows-2-requested_count": "x"}, "第 2 行：申报职数：应为整数"),
    ({"rows-1-series_code": ""}, "第 1 行：系列：必填"),
    ({"rows-1-current_count": "11"}, "第 1 行：现有人数：不能超过岗位总数"),
    ({"rows-1-requested_count": "5"}, "第 1 行：申报职数：不能超过空缺职数 4"),
    ({"rows-2-level_code": "senior_deputy"}, "第 2 行：等级：卫生技术人员副高级已填写"),
    ({"action": "delete"}, "操作：请选择有效的选项"),
])
def test_each_bad_input_is_refused_naming_the_field(client, login, tree, changes, message):
    login(tree.declarer)

    response = client.post("/quotas/new", data=quota_form(**changes))

    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert count() == 0


def test_no_rows_is_refused(client, login, tree):
    login(tree.declarer)
    form = {k: v for k, v in quota_form().items() if not k.startswith("rows-")}

    response = client.post("/quotas/new", data=form)

    assert response.status_code == 400 and "职数明细：至少填写一行" in response.get_data(as_text=True)
    assert count() == 0


def test_a_second_declaration_for_the_year_is_a_conflict(client, login, tree):
    login(tree.declarer)
    create(client)

    response = client.post("/quotas/new", data=quota_form())

    assert response.status_code == 409 and "年度已有职数申报" in response.get_data(as_text=True)
    assert count() == 1


def test_declare_return_correct_resubmit_pass_then_query_and_export(client, login, tree):
    login(tree.declarer)
    assert "新增职数申报" in client.get("/quotas/new").get_data(as_text=True)
    declaration = create(client)
    assert declaration.status == "draft" and len(declaration.items) == 2
    assert "未提交" in client.get("/quotas/").get_data(as_text=True)
    assert client.post(f"/quotas/{declaration.id}/submit").status_code == 302
    declaration = reload(declaration)
    assert declaration.status == "pending" and declaration.reviewing_unit_id == tree.superior.id
    assert client.post(f"/quotas/{declaration.id}/edit", data=quota_form()).status_code == 409

    decide(client, login, declaration, tree.reviewer, "return")
    declaration = reload(declaration)
    assert declaration.status == "returned" and declaration.opinion == "return意见"
    assert "审核退回 (1)" in client.get("/quotas/reviews?tab=return").get_data(as_text=True)

    client.post("/logout")
    login(tree.declarer)
    assert "退回意见：return意见" in client.get(f"/quotas/{declaration.id}/edit").get_data(as_text=True)
    refused = client.post(f"/quotas/{declaration.id}/edit", data=quota_form(action="submit", **{
        "rows-2-requested_count": "5"}))
    assert refused.status_code == 400 and "修改说明：必填" in refused.get_data(as_text=True)
    assert [i.requested_count for i in reload(declaration).items] == [3, 8]  # nothing written
    response = client.post(f"/quotas/{declaration.id}/edit", data=quota_form(
        action="submit", change_note="已核减中级职数", **{"rows-2-requested_count": "5"}))
    assert response.status_code == 302
    declaration = reload(declaration)
    assert declaration.status == "pending" and declaration.total_requested == 8

    decide(client, login, declaration, tree.reviewer, "pass")
    declaration = reload(declaration)
    assert declaration.status == "approved"
    reviews = client.get("/quotas/reviews?tab=pass").get_data(as_text=True)
    assert "审核通过 (1)" in reviews and "待审核 (0)" in reviews

    query = client.get(f"/quotas/query?year={YEAR}&status=approved&unit_name=人民医院").get_data(as_text=True)
    assert tree.declaring.name in query and f"/quotas/query/{declaration.id}" in query
    detail = client.get(f"/quotas/query/{declaration.id}").get_data(as_text=True)
    assert "核准职数" in detail and "已核减中级职数" in detail and "审核退回" in detail
    export = client.get(f"/quotas/query/export?year={YEAR}")
    assert export.status_code == 200 and export.mimetype.endswith("spreadsheetml.sheet")

    client.post("/logout")
    login(tree.declarer)
    assert "审核通过" in client.get(f"/quotas/{declaration.id}").get_data(as_text=True)


def test_submit_at_once_and_reject_is_final(client, login, tree):
    login(tree.declarer)
    declaration = create(client, action="submit")
    assert reload(declaration).status == "pending"

    decide(client, login, declaration, tree.reviewer, "reject")

    declaration = reload(declaration)
    assert declaration.status == "rejected"
    client.post("/logout")
    login(tree.declarer)
    assert client.post(f"/quotas/{declaration.id}/submit").status_code == 409
    assert client.post(f"/quotas/{declaration.id}/edit", data=quota_form()).status_code == 409
    assert create(client).status == "draft"  # 不通过 frees the year


def test_another_units_declaration_is_not_found(client, login, tree):
    login(tree.declarer)
    declaration = create(client)
    client.post("/logout")
    login(tree.sibling_admin)

    assert client.get(f"/quotas/{declaration.id}").status_code == 404
    assert client.get(f"/quotas/{declaration.id}/edit").status_code == 404
    assert client.post(f"/quotas/{declaration.id}/submit").status_code == 404
    assert client.get(f"/quotas/query/{declaration.id}").status_code == 404
    assert tree.declaring.name not in client.get("/quotas/query").get_data(as_text=True)
    assert tree.declaring.name not in client.get("/quotas/").get_data(as_text=True)


def test_the_superior_sees_a_submitted_declaration_but_not_a_draft(client, login, tree):
    login(tree.declarer)
    declaration = create(client)
    client.post("/logout")
    login(tree.reviewer)
    assert client.get(f"/quotas/query/{declaration.id}").status_code == 404
    assert tree.declaring.name not in client.get("/quotas/query").get_data(as_text=True)

    client.post("/logout")
    login(tree.declarer)
    client.post(f"/quotas/{declaration.id}/submit")
    client.post("/logout")
    login(tree.reviewer)
    assert client.get(f"/quotas/query/{declaration.id}").status_code == 200
    assert tree.declaring.name in client.get("/quotas/query").get_data(as_text=True)
    assert "待审核 (1)" in client.get("/quotas/reviews").get_data(as_text=True)


def test_menu_shows_the_quota_pages_to_holders(client, login, tree):
    login(tree.declarer)
    html = client.get("/").get_data(as_text=True)
    assert "/quotas/" in html and "/quotas/query" in html and "/quotas/reviews" not in html
