"""评委会备案申报 and 评委会备案审核 over HTTP (S 1.2.2.1, 1.2.2.2): pass, return and resubmit, refuse, expiry."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from committee_helpers import PDF, Tree, build_tree, committee_form, expert_form, fresh_request
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.extensions import db
from app.models import Committee, CommitteeExpert, CommitteeFiling, ExpertService, HumanTask, User
from services.committees import committees
from services.workflow import instances


@pytest.fixture
def tree(make_unit, make_user) -> Tree:
    return build_tree(make_unit, make_user)


def sign_in(client: FlaskClient, login: Any, user: User) -> FlaskClient:
    client.post("/logout")
    return login(user)


def form_committee(client: FlaskClient, tree: Tree, experts: int = 7) -> Committee:
    """The forming unit fills 基本信息 and the 专家库名单 (first expert 主任委员)."""
    response = client.post("/committees/new", data=committee_form(tree))
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    committee_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    for n in range(experts):
        response = client.post(f"/experts/{committee_id}/new", data=expert_form("chair" if n == 0 else "member"))
        assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    committee = db.session.get(Committee, committee_id)
    assert committee is not None
    return committee


def submit(client: FlaskClient, committee: Committee, **extra: str) -> Any:
    return client.post(f"/committees/{committee.id}/file", content_type="multipart/form-data",
                       data={"filing_request": (io.BytesIO(PDF), "核准备案请示.pdf"), **extra})


def open_task(committee: Committee, user: User) -> HumanTask:
    filing = db.session.scalar(select(CommitteeFiling).where(CommitteeFiling.committee_id == committee.id)
                               .order_by(CommitteeFiling.id.desc()))
    task = db.session.scalar(select(HumanTask).where(HumanTask.business_type == "committee_filing",
                                                     HumanTask.business_id == filing.id, HumanTask.status == "open"))
    assert task is not None and instances.is_candidate(task, user), (task, user.name)
    return task


def review(client: FlaskClient, login: Any, committee: Committee, user: User, decision: str,
           opinion: str = "同意") -> HumanTask:
    sign_in(client, login, user)
    task = open_task(committee, user)
    assert client.get("/committees/reviews").status_code == 200
    page = client.get(f"/inbox/tasks/{task.id}").get_data(as_text=True)
    assert committee.name in page, "the inbox shows the committee beside the review form"
    response = client.post(f"/inbox/tasks/{task.id}", data={"decision": decision, "opinion": opinion})
    assert response.status_code == 302, response.get_data(as_text=True)[:1000]
    return task


def test_the_whole_filing_passes_two_levels_then_the_filing_unit(client, login, tree):
    sign_in(client, login, tree.forming_admin)
    committee = form_committee(client, tree)
    response = submit(client, committee)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert committee.status == "filing"
    # The two configured levels at the 授权管理单位, then the 备案单位.
    first = review(client, login, committee, tree.authorizing_reviewers[0], "pass", "一级同意")
    second = review(client, login, committee, tree.authorizing_reviewers[1], "pass", "二级同意")
    third = review(client, login, committee, tree.filing_reviewer, "pass", "准予备案")
    assert [(t.unit_id, t.level_no) for t in (first, second, third)] == [
        (tree.competent.id, 1), (tree.competent.id, 2), (tree.city.id, 1)]
    fresh_request()
    committee = db.session.get(Committee, committee.id)
    assert committee.status == "filed"
    assert committee.filed_on == date.today()
    assert committee.valid_until == committees.add_years(date.today(), 3) - timedelta(days=1)
    members = list(db.session.scalars(select(CommitteeExpert).where(CommitteeExpert.committee_id == committee.id)))
    assert {m.status for m in members} == {"in_library"} and len(members) == 7
    assert db.session.scalar(select(ExpertService.year).where(ExpertService.committee_id == committee.id)) \
        == date.today().year
    # 备案审核记录 on the forming unit's detail page; the list shows 已备案.
    sign_in(client, login, tree.forming_admin)
    html = client.get(f"/committees/{committee.id}").get_data(as_text=True)
    assert "准予备案" in html and "二级同意" in html and "一级同意" in html
    assert "<td>自主评审</td>" in html and ">self_review<" not in html  # 评审类型 in words, not its code
    assert "已备案" in client.get("/committees/").get_data(as_text=True)
    # 审核通过 tab of the 备案单位.
    sign_in(client, login, tree.filing_reviewer)
    assert committee.name in client.get("/committees/reviews?tab=pass").get_data(as_text=True)


def test_a_returned_filing_is_corrected_and_resubmitted(client, login, tree):
    sign_in(client, login, tree.forming_admin)
    committee = form_committee(client, tree)
    assert submit(client, committee).status_code == 302
    review(client, login, committee, tree.authorizing_reviewers[0], "pass")
    review(client, login, committee, tree.authorizing_reviewers[1], "return", "请补充主任委员简历")
    fresh_request()
    filing = db.session.scalar(select(CommitteeFiling).where(CommitteeFiling.committee_id == committee.id))
    assert filing.status == "returned"
    sign_in(client, login, tree.forming_admin)
    html = client.get(f"/committees/{committee.id}").get_data(as_text=True)
    assert "请补充主任委员简历" in html and "重新提交备案" in html
    # Correct the committee, then resubmit; a resubmission without 修改说明 is refused.
    data = committee_form(tree, name=committee.name, contact_name="吴新联系")
    assert client.post(f"/committees/{committee.id}/edit", data=data).status_code == 302
    assert submit(client, committee).status_code == 400
    assert submit(client, committee, note="已补充").status_code == 302
    for user in (*tree.authorizing_reviewers, tree.filing_reviewer):
        review(client, login, committee, user, "pass")
    fresh_request()
    committee = db.session.get(Committee, committee.id)
    assert (committee.status, committee.contact_name) == ("filed", "吴新联系")


def test_a_refused_filing_is_final(client, login, tree):
    sign_in(client, login, tree.forming_admin)
    committee = form_committee(client, tree)
    assert submit(client, committee).status_code == 302
    for user in tree.authorizing_reviewers:
        review(client, login, committee, user, "pass")
    review(client, login, committee, tree.filing_reviewer, "reject", "组建条件不符")
    fresh_request()
    committee = db.session.get(Committee, committee.id)
    assert committee.status == "refused"
    assert db.session.scalar(select(HumanTask.id).where(HumanTask.business_type == "committee_filing",
                                                        HumanTask.status == "open")) is None
    sign_in(client, login, tree.filing_reviewer)
    assert committee.name in client.get("/committees/reviews?tab=reject").get_data(as_text=True)


@pytest.mark.parametrize(("count", "roles", "message"), [
    (5, None, "中级评委会按专业创建至少需要 7 名专家"),
    (8, None, "评委会人数应为单数"),
    (7, "member", "至少需要 1 名主任委员"),
])
def test_submission_enforces_the_composition_rules(client, login, tree, count, roles, message):
    sign_in(client, login, tree.forming_admin)
    committee = form_committee(client, tree, experts=count)
    if roles:
        for member in db.session.scalars(select(CommitteeExpert).where(CommitteeExpert.committee_id == committee.id)):
            member.role = roles
        db.session.flush()

    response = submit(client, committee)

    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(CommitteeFiling.id).where(CommitteeFiling.committee_id == committee.id)) is None


def test_submission_needs_the_request_document(client, login, tree):
    sign_in(client, login, tree.forming_admin)
    committee = form_committee(client, tree)
    response = client.post(f"/committees/{committee.id}/file", data={})
    assert response.status_code == 400
    assert "核准备案请示：必须上传" in response.get_data(as_text=True)
    fake = client.post(f"/committees/{committee.id}/file", content_type="multipart/form-data",
                       data={"filing_request": (io.BytesIO(b"MZ\x90\x00not a pdf"), "请示.pdf")})
    assert fake.status_code == 400


def test_the_timer_expires_the_committee_and_warns_before(client, login, tree, monkeypatch):
    sign_in(client, login, tree.forming_admin)
    committee = form_committee(client, tree)
    assert submit(client, committee).status_code == 302
    for user in (*tree.authorizing_reviewers, tree.filing_reviewer):
        review(client, login, committee, user, "pass")
    fresh_request()
    committee = db.session.get(Committee, committee.id)
    valid_until = committee.valid_until

    def travel(to: datetime) -> int:
        import SpiffWorkflow.bpmn.specs.event_definitions.timer as spiff_timer

        class Clock(datetime):
            @classmethod
            def now(cls, tz=None):  # noqa: ANN001, ANN206 — datetime's own signature
                return to.astimezone(tz) if tz else to.replace(tzinfo=None)

        monkeypatch.setattr(spiff_timer, "datetime", Clock)
        return instances.tick_due(now=to.replace(tzinfo=None))

    from datetime import UTC

    # Before the notice window nothing happens; 90 days before the end the forming unit is told.
    assert travel(datetime.now(UTC) + timedelta(days=30)) == 0
    notice = datetime.combine(valid_until - timedelta(days=88), datetime.min.time(), UTC)
    assert travel(notice) == 1
    fresh_request()
    committee = db.session.get(Committee, committee.id)
    assert committee.status == "filed" and committee.expiry_notified_on is not None
    # K4: the forming unit's 超级管理员 is notified by the timer (fired from beat), not by a page load.
    from app.models import Notification

    told = db.session.scalars(db.select(Notification).where(Notification.user_id == tree.forming_admin.id,
                                                            Notification.event == "committee_expiring")).all()
    assert [n.target_id for n in told] == [committee.id]
    assert travel(datetime.combine(valid_until + timedelta(days=2), datetime.min.time(), UTC)) == 1
    fresh_request()
    committee = db.session.get(Committee, committee.id)
    assert committee.status == "expired"
    assert not committees.is_active_committee(committee)


def test_refiling_is_allowed_only_near_the_end(client, login, tree):
    sign_in(client, login, tree.forming_admin)
    committee = form_committee(client, tree)
    assert submit(client, committee).status_code == 302
    for user in (*tree.authorizing_reviewers, tree.filing_reviewer):
        review(client, login, committee, user, "pass")
    sign_in(client, login, tree.forming_admin)
    early = submit(client, committee)
    assert early.status_code == 409 and "到期前 90 天内方可重新备案" in early.get_data(as_text=True)
    fresh_request()
    committee = db.session.get(Committee, committee.id)
    committee.valid_until = date.today() + timedelta(days=30)
    db.session.flush()
    assert submit(client, committee).status_code == 302
    fresh_request()
    assert db.session.get(Committee, committee.id).status == "filed", "stays valid while re-filed"


def test_the_form_reports_every_field_and_rule(client, login, tree):
    sign_in(client, login, tree.forming_admin)
    bad = committee_form(tree, name="", contact_phone="12345", filing_unit_id=str(tree.other_city.id),
                         build_mode="specialty", specialty_ids=[], level_codes=[])
    response = client.post("/committees/new", data=bad)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    for message in ("评委会名称：必填", "对外联系电话", "备案批复单位：只能从本单位或上级单位中", "评审专业：按专业创建时至少选择一个专业",
                    "评审级别：至少选择一个级别"):
        assert message in html
    assert db.session.scalar(select(Committee.id)) is None


def test_the_forming_unit_is_locked_to_the_own_unit(client, login, tree):
    sign_in(client, login, tree.forming_admin)
    form = committee_form(tree, forming_unit_id=str(tree.city.id))
    assert client.post("/committees/new", data=form).status_code == 302
    assert db.session.scalar(select(Committee.forming_unit_id)) == tree.forming.id


def test_lists_are_scoped(client, login, tree, make_user):
    sign_in(client, login, tree.forming_admin)
    committee = form_committee(client, tree)
    assert submit(client, committee).status_code == 302
    outsider = make_user(tree.other_city, admin=True)
    sibling_reviewer = make_user(tree.city, permissions=["committee_filing.review"])
    sign_in(client, login, outsider)
    assert committee.name not in client.get("/committees/").get_data(as_text=True)
    assert committee.name not in client.get("/committees/reviews").get_data(as_text=True)
    assert client.get(f"/committees/{committee.id}").status_code == 404
    filing = db.session.scalar(select(CommitteeFiling).where(CommitteeFiling.committee_id == committee.id))
    assert client.get(f"/committees/reviews/{filing.id}").status_code == 404
    assert client.get(f"/committees/filings/{filing.id}/request").status_code == 404
    # The 备案单位 has nothing to review until the 授权管理单位 passed it.
    sign_in(client, login, sibling_reviewer)
    assert committee.name not in client.get("/committees/reviews").get_data(as_text=True)
    sign_in(client, login, tree.authorizing_reviewers[0])
    assert committee.name in client.get("/committees/reviews").get_data(as_text=True)
    download = client.get(f"/committees/filings/{filing.id}/request")
    assert download.data == PDF and download.mimetype == "application/pdf"
    assert "no-cache" in download.headers["Cache-Control"] and "inline" in download.headers["Content-Disposition"]


def test_experts_are_drawn_from_the_units_library_for_a_new_committee(client, login, tree):
    from committee_helpers import file_committee

    filed = file_committee(tree)
    library = [m.expert_id for m in db.session.scalars(select(CommitteeExpert).where(
        CommitteeExpert.committee_id == filed.id))]
    sign_in(client, login, tree.forming_admin)
    committee = form_committee(client, tree, experts=0)
    html = client.get(f"/committees/{committee.id}").get_data(as_text=True)
    assert "从本单位专家库选入" in html
    response = client.post(f"/committees/{committee.id}/library", data={"expert_ids": [str(i) for i in library[:3]]})
    assert response.status_code == 302
    again = client.post(f"/committees/{committee.id}/library", data={"expert_ids": [str(library[0])]})
    assert again.status_code == 400 and "已在本评委会名单中" in again.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(CommitteeExpert).where(
        CommitteeExpert.committee_id == committee.id, CommitteeExpert.status == "draft")) == 3
