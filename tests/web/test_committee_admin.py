"""评委会管理 and 评委会查询 (H 1.10, H 1.11; C4): create, others, import, deregister, query, export, scope."""

from __future__ import annotations

import io

import pytest
from committee_helpers import Tree, build_tree, committee_form, create_committee, fresh_request
from python_calamine import CalamineWorkbook
from sqlalchemy import select

from app.extensions import db
from app.models import Committee, CommitteeFee
from services.committees import committee_admin
from services.common.excel.export import write_table


@pytest.fixture
def tree(make_unit, make_user) -> Tree:
    return build_tree(make_unit, make_user, levels_at_authorizing=1)


@pytest.fixture
def admin(make_user, tree):
    return make_user(tree.province, platform=True, name="平台管理员")


def test_the_administrator_creates_a_committee_for_a_unit(client, login, tree, admin):
    login(admin)
    assert "选择组建单位" in client.get("/committee-admin/new").get_data(as_text=True)
    form = committee_form(tree, forming_unit_id=str(tree.forming.id))
    response = client.post(f"/committee-admin/new?forming_unit_id={tree.forming.id}", data=form)
    assert response.status_code == 302, response.get_data(as_text=True)[:1500]
    committee = db.session.scalar(select(Committee))
    assert (committee.forming_unit_id, committee.status) == (tree.forming.id, "unfiled")


def test_other_information_specialties_forming_units_and_fees(client, login, tree, admin):
    committee = create_committee(tree)
    login(admin)
    url = f"/committee-admin/{committee.id}/others"
    assert client.post(url, data={"action": "add_unit", "unit_keyword": tree.child.credit_code}).status_code == 302
    again = client.post(url, data={"action": "add_unit", "unit_keyword": tree.child.credit_code})
    assert again.status_code == 409 and "已是该评委会的组建单位" in again.get_data(as_text=True)
    assert client.post(url, data={"action": "fee", "item": "评审费", "amount": "350.50"}).status_code == 302
    bad = client.post(url, data={"action": "fee", "item": "评审费", "amount": "1.234"})
    assert bad.status_code == 400 and "缴费金额" in bad.get_data(as_text=True)
    assert client.post(url, data={"action": "fee", "item": "伙食费", "amount": "1"}).status_code == 400
    fresh_request()
    assert [(f.item, str(f.amount)) for f in db.session.scalars(select(CommitteeFee))] == [("评审费", "350.50")]
    html = client.get(f"/committee-admin/query/{committee.id}").get_data(as_text=True)
    assert tree.child.name in html and "350.50" in html


def test_deregistration_needs_a_reason_and_locks_the_committee(client, login, tree, admin):
    committee = create_committee(tree)
    login(admin)
    assert client.post(f"/committee-admin/{committee.id}/deregister", data={"reason": ""}).status_code == 400
    assert client.post(f"/committee-admin/{committee.id}/deregister",
                       data={"reason": "组建单位撤并"}).status_code == 302
    fresh_request()
    committee = db.session.get(Committee, committee.id)
    assert (committee.status, committee.deregister_reason) == ("deregistered", "组建单位撤并")
    client.post("/logout")
    login(tree.forming_admin)
    assert client.post(f"/committees/{committee.id}/edit", data=committee_form(tree)).status_code == 409


def test_batch_import_reports_rows_and_creates_the_valid_ones_on_submit(client, login, tree, admin):
    login(admin)
    template = client.get("/committee-admin/import?template=1")
    header = CalamineWorkbook.from_filelike(io.BytesIO(template.data)).get_sheet_by_index(0).to_python()[0]
    assert header == list(committee_admin.IMPORT_COLUMNS)
    good = ["乐山工程中级评委会", "人事处", "办公室", tree.forming.credit_code, "自主评审", "中级、助理级",
            tree.competent.credit_code, tree.city.credit_code, "张三", "0833-2123456", "乐山", "否", "按系列创建",
            "工程技术人员", "", "511102", "否"]
    bad = list(good)
    bad[0], bad[7] = "错误评委会", tree.other_city.credit_code
    content = write_table("评委会", list(committee_admin.IMPORT_COLUMNS), [good, bad])
    response = client.post("/committee-admin/import", content_type="multipart/form-data",
                           data={"file": (io.BytesIO(content), "评委会.xlsx")})
    html = response.get_data(as_text=True)
    assert "成功 1 条，失败 1 条" in html and "第 3 行" in html and "备案批复单位" in html
    assert db.session.scalar(select(Committee.id)) is None
    token = html.split('name="token" value="')[1].split('"')[0]
    assert client.post("/committee-admin/import/confirm", data={"token": token}).status_code == 302
    assert [c.name for c in db.session.scalars(select(Committee))] == ["乐山工程中级评委会"]


def test_query_is_scoped_and_exported(client, login, tree, make_user):
    committee = create_committee(tree)
    city_viewer = make_user(tree.city, permissions=["committee.query"])
    outsider = make_user(tree.other_city, permissions=["committee.query"])
    login(city_viewer)
    assert committee.name in client.get("/committee-admin/query").get_data(as_text=True)
    export = client.get("/committee-admin/query/export")
    rows = CalamineWorkbook.from_filelike(io.BytesIO(export.data)).get_sheet_by_index(0).to_python()
    assert rows[1][0] == committee.name
    client.post("/logout")
    login(outsider)
    assert committee.name not in client.get("/committee-admin/query").get_data(as_text=True)
    assert client.get(f"/committee-admin/query/{committee.id}").status_code == 404
