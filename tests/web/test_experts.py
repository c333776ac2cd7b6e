"""专家库管理 and 专家库审核 over HTTP (S 1.2.2.3, 1.2.2.4; D1–D5): lists, add, recommend, review, history, scope."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
import xlsxwriter
from committee_helpers import Tree, build_tree, create_committee, expert_form, file_committee, fresh_request
from sqlalchemy import select

from app.extensions import db
from app.models import CommitteeExpert, Expert, ExpertService, HumanTask
from services.experts import expert_import


@pytest.fixture
def tree(make_unit, make_user) -> Tree:
    return build_tree(make_unit, make_user, levels_at_authorizing=1)


def switch(client, login, user):
    client.post("/logout")
    return login(user)


def member_of(committee, id_number):
    return db.session.scalar(select(CommitteeExpert).join(Expert).where(
        CommitteeExpert.committee_id == committee.id, Expert.id_number == id_number))


def test_single_add_reports_each_field_and_rule(client, login, tree):
    committee = create_committee(tree)
    switch(client, login, tree.forming_admin)
    good = expert_form()
    bad = dict(good, name="一二三四五六七八九十十", id_number=good["id_number"][:17] + "Y", birth_month="19731",
               work_unit="单" * 31, phone1="1391234567890", honors="", admin_post="职" * 21)
    html = client.post(f"/experts/{committee.id}/new", data=bad).get_data(as_text=True)
    for message in ("姓名：不能超过 10 个字", "证件号码：", "出生日期：格式应为 yyyyMM", "工作单位：不能超过 30 个字",
                    "联系电话1：应为不超过 11 位的数字", "所获荣誉、称号：必填", "行政职务：不能超过 20 个字"):
        assert message in html, message
    mismatch = dict(good, birth_month="198001")
    response = client.post(f"/experts/{committee.id}/new", data=mismatch)
    assert response.status_code == 400 and "与证件号码中的出生年月不一致" in response.get_data(as_text=True)
    assert client.post(f"/experts/{committee.id}/new", data=good).status_code == 302
    member = member_of(committee, good["id_number"])
    assert member.status == "draft"
    # 年龄 is derived from 出生日期.
    html = client.get(f"/experts/{committee.id}?list=draft").get_data(as_text=True)
    assert str(member.expert.age_on(date.today())) in html and good["name"] in html
    duplicate = client.post(f"/experts/{committee.id}/new", data=good)
    assert duplicate.status_code == 409 and "该专家已在本评委会专家库名单中" in duplicate.get_data(as_text=True)


def test_a_subordinate_recommends_and_the_forming_unit_takes_or_returns(client, login, tree):
    committee = create_committee(tree)
    switch(client, login, tree.child_admin)
    assert committee.name in client.get("/experts/").get_data(as_text=True)
    first, second = expert_form(), expert_form()
    for form in (first, second):
        assert client.post(f"/experts/{committee.id}/new", data=form).status_code == 302
    assert member_of(committee, first["id_number"]).status == "recommended"
    switch(client, login, tree.forming_admin)
    html = client.get(f"/experts/{committee.id}?list=recommended").get_data(as_text=True)
    assert first["name"] in html and second["name"] in html
    taken, returned = member_of(committee, first["id_number"]), member_of(committee, second["id_number"])
    assert client.post(f"/experts/{committee.id}/{taken.id}/recommendation",
                       data={"decision": "accept"}).status_code == 302
    assert client.post(f"/experts/{committee.id}/{returned.id}/recommendation",
                       data={"decision": "return"}).status_code == 400, "退回 needs an opinion"
    assert client.post(f"/experts/{committee.id}/{returned.id}/recommendation",
                       data={"decision": "return", "opinion": "职称不符"}).status_code == 302
    fresh_request()
    assert member_of(committee, first["id_number"]).status == "draft"
    assert member_of(committee, second["id_number"]).status == "returned"
    assert second["name"] in client.get(f"/experts/{committee.id}?list=returned").get_data(as_text=True)


def test_experts_of_a_filed_committee_are_reviewed_by_the_filing_unit(client, login, tree):
    committee = file_committee(tree)
    switch(client, login, tree.forming_admin)
    admitted, sent_back = expert_form(), expert_form()
    for form in (admitted, sent_back):
        assert client.post(f"/experts/{committee.id}/new", data=form).status_code == 302
    ids = [str(member_of(committee, f["id_number"]).id) for f in (admitted, sent_back)]
    assert client.post(f"/experts/{committee.id}/submit", data={"membership_ids": ids}).status_code == 302
    # 专家库审核 (D4): the committee with its leaders and counts.
    switch(client, login, tree.filing_reviewer)
    html = client.get("/experts/reviews").get_data(as_text=True)
    assert committee.name in html and "7人" in html and "2人" in html
    chair = db.session.scalar(select(Expert.name).join(CommitteeExpert).where(
        CommitteeExpert.committee_id == committee.id, CommitteeExpert.role == "chair"))
    assert chair in html
    tasks = {t.business_id: t.id for t in db.session.scalars(select(HumanTask).where(
        HumanTask.business_type == "expert_review", HumanTask.status == "open"))}
    assert client.get(f"/experts/reviews/{committee.id}").status_code == 200
    assert client.post(f"/experts/reviews/{committee.id}/decide",
                       data={"task_ids": [str(tasks[int(ids[0])])], "decision": "pass"}).status_code == 302
    assert client.post(f"/experts/reviews/{committee.id}/decide",
                       data={"task_ids": [str(tasks[int(ids[1])])], "decision": "return",
                             "opinion": "缺少职称证书"}).status_code == 302
    fresh_request()
    assert member_of(committee, admitted["id_number"]).status == "in_library"
    back = member_of(committee, sent_back["id_number"])
    assert back.status == "draft" and "缺少职称证书" in back.return_opinion
    # Expert history (D5).
    switch(client, login, tree.forming_admin)
    member = member_of(committee, admitted["id_number"])
    assert db.session.scalar(select(ExpertService.year).where(ExpertService.expert_id == member.expert_id)) \
        == date.today().year
    html = client.get(f"/experts/{committee.id}/{member.id}").get_data(as_text=True)
    assert str(date.today().year) in html and committee.name in html


def test_the_web_import_checks_then_imports_after_confirmation(client, login, tree):
    committee = create_committee(tree)
    switch(client, login, tree.forming_admin)
    template = client.get(f"/experts/{committee.id}/import/template")
    assert template.status_code == 200 and template.data.startswith(b"PK")
    form = expert_form()
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer)
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, [h for h, _, _ in expert_import.COLUMNS])
    sheet.write_row(1, 0, ["中国", form["name"], "居民身份证", form["id_number"], "男", form["birth_month"], "否",
                           "乐山某公司", "", "总工", "无", "13912345678", "", "技术能手", "工程技术人员", "建筑",
                           "工程师", "委员"])
    sheet.write_row(2, 0, ["中国", "坏行", "居民身份证", "511102197307280000"])
    book.close()
    response = client.post(f"/experts/{committee.id}/import", content_type="multipart/form-data",
                           data={"file": (io.BytesIO(buffer.getvalue()), "专家.xlsx")})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "检验成功 1 条，检验失败 1 条" in html and "第 3 行" in html
    assert member_of(committee, form["id_number"]) is None
    token = html.split('name="token" value="')[1].split('"')[0]
    # 导出失败数据 is the check job's file: the rows are not checked a second time inside a request.
    failures_url = re.search(r'href="(/jobs/\d+/file)">导出失败数据', html).group(1)
    failures = client.get(failures_url)
    assert failures.status_code == 200 and failures.data.startswith(b"PK")
    assert client.post(f"/experts/{committee.id}/import/confirm", data={"token": token}).status_code == 302
    assert member_of(committee, form["id_number"]).status == "draft"
    renamed = client.post(f"/experts/{committee.id}/import", content_type="multipart/form-data",
                          data={"file": (io.BytesIO(b"%PDF-1.4 fake"), "专家.xlsx")})
    assert renamed.status_code == 400 and "不是有效的 xlsx 文件" in renamed.get_data(as_text=True)


def test_expert_lists_are_scoped(client, login, tree, make_user):
    committee = create_committee(tree)
    own, recommended = expert_form(), expert_form()
    from services.experts import experts

    experts.add_expert(tree.forming_admin, committee, own)
    experts.add_expert(tree.child_admin, committee, recommended)
    outsider = make_user(tree.other_city, admin=True)
    switch(client, login, outsider)
    assert committee.name not in client.get("/experts/").get_data(as_text=True)
    assert client.get(f"/experts/{committee.id}").status_code == 404
    assert client.get(f"/experts/{committee.id}/import/template").status_code == 404
    member = member_of(committee, own["id_number"])
    assert client.get(f"/experts/{committee.id}/{member.id}").status_code == 404
    assert client.get(f"/experts/reviews/{committee.id}").status_code in (403, 404)
    # The recommending subordinate sees only its own recommendations, never the forming unit's drafts.
    switch(client, login, tree.child_admin)
    html = client.get(f"/experts/{committee.id}?list=draft").get_data(as_text=True)
    assert own["name"] not in html
    assert recommended["name"] in client.get(f"/experts/{committee.id}?list=recommended").get_data(as_text=True)
    assert client.get(f"/experts/{committee.id}/{member.id}").status_code == 404
