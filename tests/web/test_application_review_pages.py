"""申报审核 over HTTP (S 1.2.3.1–1.2.3.4, 1.2.5.1; H 1.1.1–1.1.4, 1.24): the review chain walked through the unit
pages, their tabs and counts, the refusals that write nothing, and the query pages."""

from __future__ import annotations

import dataclasses
import io
import re
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from declaration_helpers import (
    OPINION,
    PDF,
    complete_profile,
    pass_unit,
    publicity_input,
    ready_declaration,
)
from flask.testing import FlaskClient
from review_path_helpers import make_committee
from sqlalchemy import select

from app.extensions import db
from app.models import ActivityExceptionalCondition, AuditLog, Declaration, DeclarationStep, HumanTask, User
from services.applications import application_review, declarations
from services.applications.application_review import ReviewInput


@pytest.fixture
def sign_in(client, login):
    def as_user(user: User) -> FlaskClient:
        client.post("/logout")
        return login(user)

    return as_user


def submitted(world: Any) -> Declaration:
    declaration = ready_declaration(world)
    declarations.submit(world.applicant, declaration, datetime.now())
    db.session.flush()
    return declaration


def publicity_form(**changes: Any) -> dict[str, Any]:
    today = date.today()
    form: dict[str, Any] = {
        "decision": "pass", "opinion": OPINION, "publicity_start": (today - timedelta(days=14)).isoformat(),
        "publicity_end": (today - timedelta(days=3)).isoformat(),
        "publicity_proof": (io.BytesIO(PDF), "公示证明.pdf"), "recommendation": (io.BytesIO(PDF), "推荐意见.pdf")}
    form.update(changes)
    return {k: v for k, v in form.items() if v is not None}


def review_url(declaration: Declaration) -> str:
    return f"/application-review/applications/{declaration.id}"


def post_review(client: FlaskClient, declaration: Declaration, form: dict[str, Any], qualifying: bool = False) -> Any:
    url = f"/application-review/qualification/{declaration.id}" if qualifying else review_url(declaration)
    return client.post(url, data=form, content_type="multipart/form-data")


def counts(html: str) -> dict[str, int]:
    return {tab: int(n) for tab, n in re.findall(r'data-count="(\w+)">(\d+)<', html)}


def listed(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<tr data-application-id="(\d+)"', html)]


def reload(declaration: Declaration) -> Declaration:
    db.session.flush()
    db.session.expire_all()
    return db.session.get(Declaration, declaration.id)


def rows(declaration: Declaration) -> list[tuple[int, str, str]]:
    return [(r.unit_id, r.arrival, r.status) for r in db.session.scalars(
        select(DeclarationStep).where(DeclarationStep.declaration_id == declaration.id).order_by(DeclarationStep.id))]


def pass_up_to_city(world: Any, declaration: Declaration) -> None:
    pass_unit(world, declaration, world.chain.school, publicity_input())
    pass_unit(world, declaration, world.chain.competent)


# --- the whole chain -------------------------------------------------------------------------------------------

def test_the_chain_through_the_review_pages_to_the_committee(client, sign_in, world):
    declaration = submitted(world)
    chain = world.chain
    first, second = world.school_reviewers

    sign_in(first)
    html = client.get("/application-review/own").get_data(as_text=True)
    assert listed(html) == [declaration.id] and counts(html)["first"] == 1 and counts(html)["passed"] == 0
    page = client.get(review_url(declaration)).get_data(as_text=True)
    for words in ("所在单位申报公示", "公示证明附件", "(必传)", "单位综合推荐意见", "事业单位岗位情况表", "王老师", "初中函数教学研究",
                  "发表时间", "身份证.pdf", "查看经办流程"):
        assert words in page, words
    assert "委托评审" not in page
    response = post_review(client, declaration, publicity_form())
    assert response.status_code == 302 and response.headers["Location"].endswith("/application-review/own")

    sign_in(second)  # level 2: its turn now, the publicity carried over from level 1
    assert listed(client.get("/application-review/own").get_data(as_text=True)) == [declaration.id]
    assert post_review(client, declaration, {"decision": "pass", "opinion": OPINION}).status_code == 302
    html = client.get("/application-review/own?tab=passed").get_data(as_text=True)
    assert listed(html) == [declaration.id] and counts(html)["first"] == 0 and counts(html)["passed"] == 1

    sign_in(world.competent_reviewer)
    html = client.get("/application-review/subordinates").get_data(as_text=True)
    assert listed(html) == [declaration.id] and counts(html)["first"] == 1
    page = client.get(review_url(declaration)).get_data(as_text=True)
    assert "委托评审" in page and "所在单位申报公示" not in page
    assert post_review(client, declaration, {"decision": "pass", "opinion": OPINION}).status_code == 302

    for reviewer in world.city_reviewers:
        sign_in(reviewer)
        assert counts(client.get("/application-review/subordinates").get_data(as_text=True))["first"] == 1
        response = post_review(client, declaration, {"decision": "pass", "opinion": OPINION})
        assert response.headers["Location"].endswith("/application-review/subordinates")
    assert reload(declaration).at_committee and declaration.current_unit_id == chain.competent.id

    sign_in(world.qualifier)
    html = client.get(f"/application-review/qualification?activity_id={world.activity.id}").get_data(as_text=True)
    assert listed(html) == [declaration.id] and counts(html)["pending"] == 1
    assert "所在单位申报公示" not in client.get(f"/application-review/qualification/{declaration.id}").get_data(
        as_text=True)
    response = post_review(client, declaration, {"decision": "pass", "opinion": "符合参评条件"}, qualifying=True)
    assert response.status_code == 302
    assert reload(declaration).status == "accepted"
    assert counts(client.get("/application-review/qualification?tab=accepted").get_data(as_text=True))["accepted"] == 1

    sign_in(world.competent_reviewer)  # 教育局's own 下级单位人员审核 keeps it under 已上报, not the committee's row
    assert counts(client.get("/application-review/subordinates").get_data(as_text=True))["passed"] == 1


# --- 退回, 复审, 上级单位退回重审, 不通过 -------------------------------------------------------------------------------

def test_a_return_to_the_applicant_comes_back_to_the_city_under_recheck(client, sign_in, world):
    declaration = submitted(world)
    pass_up_to_city(world, declaration)
    sign_in(world.city_reviewers[0])
    page = client.get(review_url(declaration)).get_data(as_text=True)
    assert "申报人（王老师）" in page and "申报单位：乐山第一中学校" in page
    response = post_review(client, declaration, {"decision": "return", "opinion": "请补充考核材料",
                                                  "return_to": "applicant"})
    assert response.status_code == 302 and reload(declaration).status == "returned"
    html = client.get("/application-review/subordinates?tab=returned").get_data(as_text=True)
    assert listed(html) == [declaration.id] and counts(html)["returned"] == 1

    declarations.submit(world.applicant, reload(declaration), datetime.now(), note="已补充考核材料")
    db.session.flush()
    html = client.get("/application-review/subordinates?tab=recheck").get_data(as_text=True)
    assert listed(html) == [declaration.id]
    assert counts(html) | {} == {"first": 0, "recheck": 1, "sent_back": 0, "passed": 0, "returned": 0, "rejected": 0}


def test_a_return_to_the_school_shows_under_sent_back_there(client, sign_in, world):
    declaration = submitted(world)
    pass_up_to_city(world, declaration)
    sign_in(world.city_reviewers[0])
    assert post_review(client, declaration, {"decision": "return", "opinion": "公示材料不清晰",
                                             "return_to": "0"}).status_code == 302
    sign_in(world.school_reviewers[0])
    html = client.get("/application-review/own?tab=sent_back").get_data(as_text=True)
    assert listed(html) == [declaration.id] and counts(html)["sent_back"] == 1 and counts(html)["passed"] == 0
    # Its publicity and attachments from the first arrival are shown again.
    assert "公示证明.pdf" not in client.get(review_url(declaration)).get_data(as_text=True)
    assert "publicity_proof.pdf" in client.get(review_url(declaration)).get_data(as_text=True)


def test_reject_ends_it_and_lists_it_under_not_passed(client, sign_in, world):
    declaration = submitted(world)
    sign_in(world.school_reviewers[0])
    assert post_review(client, declaration, {"decision": "reject", "opinion": "不符合申报条件"}).status_code == 302
    assert reload(declaration).status == "rejected"
    html = client.get("/application-review/own?tab=rejected").get_data(as_text=True)
    assert listed(html) == [declaration.id] and counts(html)["rejected"] == 1
    assert "该申报不通过，仅可查看" in client.get(review_url(declaration)).get_data(as_text=True)


def test_the_competent_unit_delegates_with_a_letter(client, sign_in, world):
    declaration = submitted(world)
    other = make_committee(world.chain.city, world.chain.province, name="乐山市中小学教师中级职称评审委员会（委托）")
    pass_unit(world, declaration, world.chain.school, publicity_input())
    sign_in(world.competent_reviewer)
    assert other.name in client.get(review_url(declaration)).get_data(as_text=True)
    response = post_review(client, declaration, {"decision": "pass", "opinion": OPINION,
                                                 "delegate_committee_id": str(other.id),
                                                 "delegation_letter": (io.BytesIO(PDF), "委托评审函.pdf")})
    assert response.status_code == 302
    declaration = reload(declaration)
    assert declaration.committee_id == other.id and declaration.delegated_by_unit_id == world.chain.competent.id
    letter = client.get(f"{review_url(declaration)}/files/{declaration.delegation_letter['sha256']}")
    assert letter.status_code == 200 and letter.data == PDF


# --- refusals ---------------------------------------------------------------------------------------------------

def test_after_the_receive_deadline_the_pass_is_refused_with_409(client, sign_in, world):
    declaration = submitted(world)
    world.activity.committee_receive_deadline = datetime.now() - timedelta(minutes=1)
    db.session.flush()
    sign_in(world.school_reviewers[0])
    page = client.get(review_url(declaration)).get_data(as_text=True)
    assert "评委会接收申报截止时间" in page and re.search(r'value="pass"\s+disabled', page)
    response = post_review(client, declaration, publicity_form())
    assert response.status_code == 409 and "评委会接收申报截止时间" in response.get_data(as_text=True)
    assert rows(declaration) == [(world.chain.school.id, "first", "pending")]


def test_the_publicity_form_warns_of_a_year_without_a_holiday_list(client, sign_in, world):
    declaration = submitted(world)
    sign_in(world.school_reviewers[0])
    row = db.session.scalar(select(DeclarationStep).where(DeclarationStep.declaration_id == declaration.id))
    row.publicity_start, row.publicity_end = date(2026, 12, 24), date(2026, 12, 31)  # admin_config lists 2026
    db.session.flush()
    page = client.get(review_url(declaration)).get_data(as_text=True)
    assert "公示不少于 5 个工作日" in page and 'data-testid="calendar-notice"' not in page
    row.publicity_start, row.publicity_end = date(2026, 12, 28), date(2099, 1, 6)  # years not listed (yet)
    db.session.flush()
    page = client.get(review_url(declaration)).get_data(as_text=True)
    assert re.search(r'data-testid="calendar-notice">[^<]*2099 年的节假日安排尚未配置', page)


def test_bad_input_answers_400_and_writes_nothing(client, sign_in, world):
    declaration = submitted(world)
    sign_in(world.school_reviewers[0])

    missing = post_review(client, declaration, publicity_form(publicity_start=None, publicity_end=None))
    assert missing.status_code == 400 and "公示时间" in missing.get_data(as_text=True)
    wrong_type = post_review(client, declaration, publicity_form(
        publicity_proof=(io.BytesIO(b"just some text"), "公示证明.pdf")))
    assert wrong_type.status_code == 400 and "文件类型" in wrong_type.get_data(as_text=True)
    bad_target = post_review(client, declaration, {"decision": "return", "opinion": "退回", "return_to": "2"})
    assert bad_target.status_code == 400 and "退回至" in bad_target.get_data(as_text=True)
    bad_date = post_review(client, declaration, publicity_form(publicity_start="2024-13-01"))
    assert bad_date.status_code == 400 and "公示开始日期" in bad_date.get_data(as_text=True)

    row = db.session.scalar(select(DeclarationStep).where(DeclarationStep.declaration_id == declaration.id))
    db.session.refresh(row)
    assert row.status == "pending" and row.attachments == {} and row.publicity_start is None
    assert db.session.scalar(select(HumanTask.status).where(
        HumanTask.business_id == declaration.id, HumanTask.business_type == "application_review")) == "open"


def test_another_units_declaration_is_not_found(client, sign_in, world, make_user):
    declaration = submitted(world)
    outsider = make_user(world.chain.other_school, permissions=["application.review"], name="成都七中审核")
    sign_in(outsider)
    assert client.get(review_url(declaration)).status_code == 404
    assert post_review(client, declaration, {"decision": "pass", "opinion": OPINION}).status_code == 404
    sha = next(iter(declaration.materials.values()))[0]["sha256"]
    assert client.get(f"{review_url(declaration)}/files/{sha}").status_code == 404
    assert listed(client.get("/application-review/own?tab=first").get_data(as_text=True)) == []
    # 人社局 before the declaration reached it: not yet its business.
    sign_in(world.city_reviewers[0])
    assert client.get(review_url(declaration)).status_code == 404


def test_a_user_without_the_review_permission_is_refused(client, sign_in, world, make_user):
    declaration = submitted(world)
    sign_in(make_user(world.chain.school, permissions=["inbox.view"], name="无审核权限"))
    assert client.get("/application-review/own").status_code == 403
    assert client.get(review_url(declaration)).status_code == 403
    assert post_review(client, declaration, publicity_form()).status_code == 403
    assert rows(declaration) == [(world.chain.school.id, "first", "pending")]


# --- 批量 and the inbox -----------------------------------------------------------------------------------------------

def test_batch_pass_refuses_a_school_pass_without_publicity_per_item(client, sign_in, world, make_applicant):
    first = submitted(world)
    pass_unit(world, first, world.chain.school, publicity_input())
    teacher = make_applicant(world.chain.school, name="李老师")
    complete_profile(teacher)
    second = submitted(dataclasses.replace(world, applicant=teacher))

    sign_in(world.school_reviewers[0])
    html = client.post("/application-review/batch", data={
        "application_ids": [str(second.id)], "decision": "pass", "opinion": OPINION, "scope": "own"}).get_data(
        as_text=True)
    assert 'data-status="refused"' in html and "公示时间" in html
    sign_in(world.competent_reviewer)
    html = client.post("/application-review/batch", data={
        "application_ids": [str(first.id), str(second.id)], "decision": "pass", "opinion": OPINION,
        "scope": "subordinates"}).get_data(as_text=True)
    assert f'data-application-id="{first.id}" data-status="done"' in html
    assert f'data-application-id="{second.id}" data-status="refused"' in html and "申报不存在或无权查看" in html
    assert reload(first).current_unit_id == world.chain.city.id
    assert reload(second).current_unit_id == world.chain.school.id
    for ids, message in ((["x"], "申报选择有误"), ([str(10**20)], "申报选择有误"), ([], "请至少选择一条申报"),
                         ([str(n) for n in range(1, 102)], "一次最多批量审核 100 条申报")):
        refused = client.post("/application-review/batch", data={
            "application_ids": ids, "decision": "pass", "opinion": OPINION, "scope": "own"})
        assert refused.status_code == 400 and message in refused.get_data(as_text=True)


def test_inbox_tasks_open_on_the_review_page(client, sign_in, world):
    declaration = submitted(world)
    task = db.session.scalar(select(HumanTask).where(HumanTask.business_id == declaration.id,
                                                     HumanTask.business_type == "application_review"))
    sign_in(world.school_reviewers[0])
    response = client.get(f"/inbox/tasks/{task.id}")
    assert response.status_code == 302 and response.headers["Location"].endswith(review_url(declaration))
    # The inbox form, when posted anyway, shows the declaration with the way to its 审核 page.
    refused = client.post(f"/inbox/tasks/{task.id}", data={"decision": "pass"})
    assert refused.status_code == 400 and "打开审核页面" in refused.get_data(as_text=True)
    sign_in(world.city_reviewers[0])  # not a candidate: the inbox's own refusal
    assert client.get(f"/inbox/tasks/{task.id}").status_code == 403


# --- queries ------------------------------------------------------------------------------------------------------

def test_query_tracking_and_export_are_scoped_to_the_subtree(client, sign_in, world, make_user):
    declaration = submitted(world)
    pass_unit(world, declaration, world.chain.school, publicity_input())
    sign_in(make_user(world.chain.city, permissions=["application.query"], name="人社局查询"))
    html = client.get("/application-review/query?name=王").get_data(as_text=True)
    assert listed(html) == [declaration.id]
    assert listed(client.get("/application-review/query?status=accepted").get_data(as_text=True)) == []
    assert client.get("/application-review/query?status=bogus").status_code == 400
    tracking = client.get(f"/application-review/query/{declaration.id}").get_data(as_text=True)
    assert "乐山市教育局" in tracking and "审核中" in tracking and "已上报" in tracking and "未到达" in tracking
    export = client.get("/application-review/query/export")
    assert export.status_code == 200 and export.mimetype.endswith("spreadsheetml.sheet")
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "declaration.export")) is not None

    sign_in(make_user(world.chain.other_city, permissions=["application.query"], name="成都查询"))
    assert listed(client.get("/application-review/query").get_data(as_text=True)) == []
    assert client.get(f"/application-review/query/{declaration.id}").status_code == 404


def test_unit_list_export_and_filters(client, sign_in, world):
    declaration = submitted(world)
    sign_in(world.school_reviewers[0])
    assert listed(client.get("/application-review/own?name=王").get_data(as_text=True)) == [declaration.id]
    assert listed(client.get("/application-review/own?name=张").get_data(as_text=True)) == []
    assert listed(client.get("/application-review/own?committee_name=中级").get_data(as_text=True)) == [declaration.id]
    assert listed(client.get("/application-review/own?evaluation_method=exceptional").get_data(as_text=True)) == []
    assert client.get("/application-review/own?tab=nonsense").status_code == 400
    export = client.get("/application-review/own/export?tab=first")
    assert export.status_code == 200 and export.mimetype.endswith("spreadsheetml.sheet")


def test_large_exports_run_as_jobs_whose_page_offers_the_file(app, client, sign_in, world, monkeypatch, make_user):
    declaration = submitted(world)
    monkeypatch.setitem(app.config, "EXPORT_INLINE_ROWS", 0)
    sign_in(world.school_reviewers[0])
    response = client.get("/application-review/own/export?tab=first&name=王")
    assert response.status_code == 302 and "/jobs/" in response.headers["Location"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "已完成" in page and "已导出 1 条" in page and "下载结果文件" in page
    file = client.get(response.headers["Location"] + "/file")
    assert file.status_code == 200 and file.data.startswith(b"PK")
    from python_calamine import CalamineWorkbook

    rows = CalamineWorkbook.from_filelike(io.BytesIO(file.data)).get_sheet_by_index(0).to_python()
    assert len(rows) == 2 and rows[1][1] == declaration.applicant.name
    sign_in(make_user(world.chain.city, permissions=["application.query"], name="人社局查询"))
    query = client.get("/application-review/query/export?name=王")
    assert query.status_code == 302 and "已导出申报人员信息 1 条" in client.get(query.headers["Location"]).get_data(
        as_text=True)


def test_stats_count_submitted_received_and_accepted(client, sign_in, world, make_user):
    declaration = submitted(world)
    sign_in(make_user(world.chain.competent, permissions=["application.stats"], name="教育局统计"))
    html = client.get("/application-review/stats").get_data(as_text=True)
    assert counts(html) == {"submitted": 1, "received": 0, "accepted": 0}
    pass_up_to_city(world, declaration)
    pass_unit(world, declaration, world.chain.city)
    application_review.review(world.qualifier, declaration, db.session.scalar(select(HumanTask.id).where(
        HumanTask.business_id == declaration.id, HumanTask.status == "open")), ReviewInput("pass", "符合"))
    db.session.flush()
    assert counts(client.get("/application-review/stats").get_data(as_text=True)) == {
        "submitted": 1, "received": 1, "accepted": 1}


def test_personnel_change_level_and_method_until_accepted(client, sign_in, world, make_user):
    declaration = submitted(world)
    pass_unit(world, declaration, world.chain.school, publicity_input())
    sign_in(make_user(world.chain.school, permissions=["application.stats"], name="学校统计"))
    assert listed(client.get("/application-review/personnel").get_data(as_text=True)) == [declaration.id]
    url = f"/application-review/personnel/{declaration.id}/edit"
    refused = client.post(url, data={"level_code": "intermediate", "evaluation_method": "exceptional"})
    assert refused.status_code == 400 and "不进行破格评议" in refused.get_data(as_text=True)

    world.activity.exceptional_review = True
    condition = ActivityExceptionalCondition(activity_id=world.activity.id, position=1, title="获省级教学成果奖")
    db.session.add(condition)
    db.session.flush()
    response = client.post(url, data={"level_code": "intermediate", "evaluation_method": "exceptional",
                                      "exceptional_condition_id": str(condition.id)})
    assert response.status_code == 302 and reload(declaration).evaluation_method == "exceptional"
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "declaration.change_evaluation")) is not None

    declaration.status = "accepted"  # 资格审核通过: settled
    db.session.flush()
    assert client.post(url, data={"level_code": "intermediate", "evaluation_method": "normal"}).status_code == 409
    sign_in(world.city_reviewers[0])  # 人社局 holds no application.stats here
    assert client.get(url).status_code == 403
