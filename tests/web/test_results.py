"""评审结果 over HTTP (issue 16; G12, H1–H3): publicity with its working-day period, the public notice and its PDF
without ID numbers, a complaint holding an applicant back, 退回 for 补充材料 and resubmission, 一键通过 of 200
people, 职称文件文号."""

from __future__ import annotations

import io
import re
import subprocess
import unicodedata
from datetime import date, datetime, timedelta

import pytest
from meeting_helpers import build_world, ordinary_meeting, run_to_voting, vote_all
from sqlalchemy import select, update

from app.extensions import db
from app.models import (
    HumanTask,
    HumanTaskCandidate,
    Issuance,
    Job,
    MeetingApplicant,
    ResultEntry,
    ResultPublicity,
)
from services.meetings import meetings
from services.results import publicity as publicity_service
from services.workflow import instances

ID_NUMBER = re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)")


@pytest.fixture
def counted(make_unit, make_user, make_applicant):
    """A counted ordinary meeting whose three applicants passed, the committee's staff able to publicise, and a
    reviewer at the 授权管理单位 (乐山市教育局) able to confirm."""
    world = build_world(make_unit, make_user, make_applicant)
    world.staff.roles[0].permissions.append(__import__("app.models", fromlist=["RolePermission"]).RolePermission(
        permission_code="result.publicize"))
    meetings.create_meetings(world.staff, world.activity.id)
    meeting = ordinary_meeting(world)
    members = run_to_voting(world, meeting)
    vote_all(meeting, members, lambda n, a: "pass")
    meetings.complete_step(world.staff, meeting, "count_votes")
    confirmer = make_user(world.tree.competent, permissions=["result.confirm", "inbox.view"], name="教育局确认")
    db.session.commit()
    return world, meeting, confirmer


def publish_form(**changes):
    form = {"title": "2026年度工程技术中级职称评审结果公示", "start_on": date.today().isoformat(), "working_days": "5",
            "contact_name": "周老师", "contact_phone": "0833-2276000"}
    form.update(changes)
    return form


def published(client, login, world, meeting) -> ResultPublicity:
    login(world.staff)
    response = client.post(f"/results/meetings/{meeting.id}/publish", data=publish_form())
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    return db.session.scalars(select(ResultPublicity).where(ResultPublicity.meeting_id == meeting.id)
                              .order_by(ResultPublicity.id.desc())).first()


def test_publicity_needs_five_working_days_and_the_public_notice_shows_no_id_number(app, client, login, counted):
    world, meeting, _ = counted
    login(world.staff)
    short = client.post(f"/results/meetings/{meeting.id}/publish", data=publish_form(working_days="4"))
    assert short.status_code == 400 and "不少于 5 个工作日" in short.get_data(as_text=True)
    late = client.post(f"/results/meetings/{meeting.id}/publish", data=publish_form(
        start_on=(date.today() - timedelta(days=1)).isoformat()))
    assert late.status_code == 400 and "不能早于今天" in late.get_data(as_text=True)
    assert db.session.scalar(select(ResultPublicity.id)) is None
    item = published(client, login, world, meeting)
    assert item.end_on == publicity_service.end_of_period(date.today(), 5)
    assert (item.end_on - item.start_on).days >= 4  # five working days span at least five calendar days

    client.post("/logout")
    home = client.get("/").get_data(as_text=True)  # the public home page lists it, signed out
    assert 'data-testid="public-results"' in home and item.title in home
    page = client.get(f"/public/results/{item.id}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "&lt;table" not in text and "<table" in text
    for applicant in world.applicants:
        assert applicant.name in text and applicant.phone not in text
    assert not ID_NUMBER.search(text)
    pdf = client.get(f"/public/results/{item.id}/notice.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    # NFKC: Noto CJK's PDF text maps some characters to Kangxi radicals (⼈ for 人).
    pdf_text = unicodedata.normalize("NFKC", subprocess.run(["pdftotext", "-", "-"], input=pdf.data,
                                                            capture_output=True, check=True).stdout.decode())
    assert all(a.name in pdf_text for a in world.applicants) and not ID_NUMBER.search(pdf_text), pdf_text

    login(world.staff)
    assert client.post(f"/results/publicity/{item.id}/withdraw", data={"reason": ""}).status_code == 400
    assert client.post(f"/results/publicity/{item.id}/withdraw", data={"reason": "名单有误"}).status_code == 302
    client.post("/logout")
    assert client.get(f"/public/results/{item.id}").status_code == 404
    assert item.title not in client.get("/").get_data(as_text=True)  # and it left the home page


def test_a_complaint_holds_its_applicant_back_until_settled(client, login, login_applicant, counted):
    world, meeting, confirmer = counted
    item = published(client, login, world, meeting)
    entries = {e.name: e for e in db.session.scalars(select(ResultEntry).where(ResultEntry.publicity_id == item.id))}
    target = world.applicants[0]
    client.post("/logout")
    login_applicant(world.applicants[1])
    form = {"entry_id": str(entries[target.name].id), "id_number": world.applicants[2].id_number,
            "complainant_name": "王群众", "complainant_phone": "13912345678", "content": "论文系他人代写。"}
    wrong = client.post(f"/public/results/{item.id}/feedback", data=form)
    assert wrong.status_code == 400 and "与所选被反馈人不符" in wrong.get_data(as_text=True)
    assert client.post(f"/public/results/{item.id}/feedback", data={**form, "id_number": target.id_number}
                       ).status_code == 302

    released = publicity_service.release_due(item.end_on + timedelta(days=1))
    db.session.commit()
    assert released == 2
    db.session.expire_all()
    assert entries[target.name].status == "held"
    client.post("/applicant/logout")
    waiting = set(db.session.scalars(select(HumanTask.business_id).join(HumanTaskCandidate).where(
        HumanTask.business_type == "result_confirmation", HumanTask.status == "open",
        HumanTaskCandidate.user_id == confirmer.id)))
    assert waiting == {e.id for n, e in entries.items() if n != target.name}

    login(world.staff)
    page = client.get(f"/results/publicity/{item.id}").get_data(as_text=True)
    assert "论文系他人代写" in page and "投诉处理中" in page
    complaint_id = int(re.search(r'data-testid="complaint-(\d+)"', page).group(1))
    assert client.post(f"/results/complaints/{complaint_id}/settle",
                       data={"outcome": "dismissed", "outcome_reason": ""}).status_code == 400
    assert client.post(f"/results/complaints/{complaint_id}/settle",
                       data={"outcome": "dismissed", "outcome_reason": "经核实，论文为本人撰写"}).status_code == 302
    db.session.expire_all()
    assert entries[target.name].status == "confirming"
    # 公示有异议人员 (S 1.2.5.2): the meeting's page lists the person with the complaint and how it was settled.
    prepare = client.get(f"/meetings/{meeting.id}/prepare").get_data(as_text=True)
    objections = prepare[prepare.index('data-testid="objections"'):]
    assert target.name in objections and "论文系他人代写" in objections and "投诉不成立" in objections


def confirm_task(entry: ResultEntry, user) -> int:
    tasks = instances.open_tasks_of(user, "result_confirmation", [entry.id])
    assert entry.id in tasks
    return tasks[entry.id][0]


def test_a_return_for_supplements_comes_back_and_is_confirmed_then_numbered(client, login, counted):
    world, meeting, confirmer = counted
    item = published(client, login, world, meeting)
    publicity_service.release_due(item.end_on + timedelta(days=1))
    db.session.commit()
    entry = db.session.scalars(select(ResultEntry).where(ResultEntry.publicity_id == item.id)).first()
    client.post("/logout")
    login(confirmer)
    listing = client.get("/results/confirm").get_data(as_text=True)
    assert "未确认（3）" in listing and entry.name in listing
    assert client.post(f"/inbox/tasks/{confirm_task(entry, confirmer)}",
                       data={"decision": "return", "opinion": "请补充论文检索证明"}).status_code == 302
    db.session.expire_all()
    assert entry.status == "returned"

    client.post("/logout")
    login(world.staff)
    page = client.get("/results/committee?status=returned").get_data(as_text=True)
    assert "请补充论文检索证明" in page
    assert client.post(f"/results/entries/{entry.id}/supplement", data={"note": ""}).status_code == 400
    assert client.post(f"/results/entries/{entry.id}/supplement",
                       data={"note": "已补充检索证明"}).status_code == 302
    db.session.expire_all()
    assert entry.status == "confirming"

    client.post("/logout")
    login(confirmer)
    assert client.post(f"/inbox/tasks/{confirm_task(entry, confirmer)}",
                       data={"decision": "pass", "opinion": "同意"}).status_code == 302
    db.session.expire_all()
    assert entry.status == "confirmed"

    client.post("/logout")
    login(world.staff)
    year = date.today().year
    wrong_year = client.post("/results/committee/doc-no", data={
        "entry_ids": [str(entry.id)], "doc_no": f"乐人社职〔{year - 1}〕12号", "approved_on": date.today().isoformat()})
    assert wrong_year.status_code == 400 and "年份须与批准时间年份一致" in wrong_year.get_data(as_text=True)
    assert client.post("/results/committee/doc-no", data={
        "entry_ids": [str(entry.id)], "doc_no": f"乐人社职〔{year}〕12号", "approved_on": date.today().isoformat()}
    ).status_code == 302
    db.session.expire_all()
    assert entry.doc_no == f"乐人社职〔{year}〕12号"
    # 提交发证信息: the confirmed person goes to the 授权管理单位's 评审发证 queue, once.
    assert client.post("/results/committee/certificate-info", data={"entry_ids": [str(entry.id)]}).status_code == 302
    again = client.post("/results/committee/certificate-info", data={"entry_ids": [str(entry.id)]})
    job = db.session.get(Job, int(again.headers["Location"].rstrip("/").split("/")[-1]))
    assert (job.done, job.refused) == (0, 1)
    queued = db.session.scalars(select(Issuance).where(Issuance.source_ref == f"result:{entry.id}")).all()
    assert len(queued) == 1 and queued[0].source == "review" and queued[0].issuer_unit_id == world.tree.competent.id
    assert queued[0].approval_no == entry.doc_no
    # 办结 waits until every person's outcome is final: the other two are still 未确认, this one's certificate unissued.
    refused = client.post(f"/results/publicity/{item.id}/close")
    assert refused.status_code == 409 and "证书未发放" in refused.get_data(as_text=True)
    queued[0].status = "issued"  # the issuer's queue has its own tests
    for other in db.session.scalars(select(ResultEntry).where(ResultEntry.publicity_id == item.id,
                                                              ResultEntry.id != entry.id)):
        other.status = "rejected"
    db.session.commit()
    assert client.post(f"/results/publicity/{item.id}/close").status_code == 302
    db.session.expire_all()
    assert db.session.get(ResultPublicity, item.id).status == "closed"


def test_pass_all_confirms_two_hundred_people_in_one_action(client, login, make_unit, make_user, make_applicant):
    world = build_world(make_unit, make_user, make_applicant, applicants=200)
    world.staff.roles[0].permissions.append(__import__("app.models", fromlist=["RolePermission"]).RolePermission(
        permission_code="result.publicize"))
    meetings.create_meetings(world.staff, world.activity.id)
    meeting = ordinary_meeting(world)
    meeting.stage, meeting.counted_at = "counted", datetime.now()  # the counting has its own tests
    db.session.execute(update(MeetingApplicant).where(MeetingApplicant.meeting_id == meeting.id).values(status="passed"))
    publicity_service.open_result_publicity(meeting.id)  # what 计票完成 does (bpmn/review_meeting.bpmn)
    confirmer = make_user(world.tree.competent, permissions=["result.confirm", "inbox.view"], name="教育局确认")
    db.session.commit()
    item = published(client, login, world, meeting)
    assert publicity_service.release_due(item.end_on + timedelta(days=1)) == 200
    db.session.commit()
    ids = list(db.session.scalars(select(ResultEntry.id).where(ResultEntry.publicity_id == item.id)))
    client.post("/logout")
    login(confirmer)
    response = client.post("/results/confirm/pass-all", data={"entry_ids": [str(i) for i in ids], "opinion": "同意"})
    assert response.status_code == 302
    job = db.session.get(Job, int(response.headers["Location"].rstrip("/").split("/")[-1]))
    assert (job.state, job.done, job.refused) == ("done", 200, 0)
    db.session.expire_all()
    assert set(db.session.scalars(select(ResultEntry.status).where(ResultEntry.publicity_id == item.id))) \
        == {"confirmed"}


def test_result_filing_is_reviewed_returned_corrected_and_filed(client, login, make_user, counted):
    world, meeting, _ = counted
    item = published(client, login, world, meeting)
    publicity_service.release_due(item.end_on + timedelta(days=1))
    reviewer = make_user(world.tree.competent, permissions=["result.file_review", "inbox.view"], name="教育局备案审核")
    db.session.commit()
    login(world.staff)
    page = client.get("/results/filings").get_data(as_text=True)
    assert meeting.name in page
    pdf = (io.BytesIO(b"%PDF-1.4\n%%EOF"), "评审工作报告.pdf")
    today = date.today()
    bad = client.post(f"/results/meetings/{meeting.id}/filing", content_type="multipart/form-data", data={
        "doc_no": f"乐人社职〔{today.year - 1}〕3号", "filed_on": today.isoformat(), "report": pdf})
    assert bad.status_code == 400 and "年份须与批准时间年份一致" in bad.get_data(as_text=True)
    pdf = (io.BytesIO(b"%PDF-1.4\n%%EOF"), "评审工作报告.pdf")
    created = client.post(f"/results/meetings/{meeting.id}/filing", content_type="multipart/form-data", data={
        "doc_no": f"乐人社职〔{today.year}〕3号", "filed_on": today.isoformat(), "report": pdf})
    assert created.status_code == 302
    filing_id = int(created.headers["Location"].rstrip("/").split("/")[-1])

    def task_id() -> int:
        tasks = instances.open_tasks_of(reviewer, "result_filing", [filing_id])
        assert filing_id in tasks
        return tasks[filing_id][0]

    client.post("/logout")
    login(reviewer)
    assert client.post(f"/inbox/tasks/{task_id()}", data={"decision": "return", "opinion": "报告缺少专家名单"}
                       ).status_code == 302
    client.post("/logout")
    login(world.staff)
    assert "报告缺少专家名单" in client.get(f"/results/filings/{filing_id}").get_data(as_text=True)
    assert client.post(f"/results/filings/{filing_id}", data={
        "doc_no": f"乐人社职〔{today.year}〕3号", "filed_on": today.isoformat(), "note": "已补充专家名单"}
    ).status_code == 302
    client.post("/logout")
    login(reviewer)
    assert client.post(f"/inbox/tasks/{task_id()}", data={"decision": "pass", "opinion": "同意备案"}).status_code == 302
    page = client.get(f"/results/filings/{filing_id}").get_data(as_text=True)
    assert "已备案" in page and "同意备案" in page


def test_neither_result_permission_opens_the_filings(client, login, make_user, counted):
    world, _, _ = counted
    login(make_user(world.tree.forming, permissions=["inbox.view"], name="无关人员"))
    assert client.get("/results/filings").status_code == 403


def publicity_task_of(meeting, user):
    return db.session.scalar(select(HumanTask).join(HumanTaskCandidate).where(
        HumanTask.business_type == "result_publicity", HumanTask.business_id == meeting.id,
        HumanTask.status == "open", HumanTaskCandidate.user_id == user.id))


def test_publicity_is_a_task_in_the_committee_inbox_done_by_publishing(client, login, make_user, counted):
    world, meeting, confirmer = counted
    task = publicity_task_of(meeting, world.staff)
    assert task is not None and task.name == "评审结果公示" and task.unit_id == world.tree.forming.id
    assert publicity_task_of(meeting, confirmer) is None  # the 授权管理单位 is offered nothing here
    login(world.staff)
    inbox = client.get("/inbox/?business_type=result_publicity").get_data(as_text=True)
    assert "评审结果公示" in inbox and meeting.name in inbox
    opened = client.get(f"/inbox/tasks/{task.id}")
    assert opened.status_code == 302 and opened.headers["Location"].endswith(f"/results/meetings/{meeting.id}/publish")
    page = client.get(opened.headers["Location"]).get_data(as_text=True)
    assert 'data-testid="publicity-task"' in page and "发布后该待办自动办结" in page
    # The inbox cannot complete it around the page: nothing would be published.
    around = client.post(f"/inbox/tasks/{task.id}", data={"note": "已办"})
    assert around.status_code == 409 and "发布评审结果公示" in around.get_data(as_text=True)
    assert publicity_task_of(meeting, world.staff) is not None

    item = published(client, login, world, meeting)
    db.session.expire_all()
    done = db.session.get(HumanTask, task.id)
    assert (done.status, done.completed_by_id) == ("done", world.staff.id)
    assert meeting.name not in client.get("/results/").get_data(as_text=True).split('data-testid="publishable"')[1] \
        .split("</table>")[0]
    # A withdrawal puts the task back in 待办 for a new publicity.
    assert client.post(f"/results/publicity/{item.id}/withdraw", data={"reason": "名单有误"}).status_code == 302
    again = publicity_task_of(meeting, world.staff)
    assert again is not None and again.id != task.id
    assert "没有待办" not in client.get(f"/results/meetings/{meeting.id}/publish").get_data(as_text=True)


def test_the_confirming_unit_reads_the_whole_declaration_while_it_confirms(client, login, make_unit, make_user,
                                                                          counted):
    import hashlib

    from committee_helpers import PDF

    from app.models import ActivityMaterialRequirement
    from services.common import file_store

    world, meeting, confirmer = counted
    requirement = ActivityMaterialRequirement(activity_id=world.activity.id, position=1, name="学历证书", required=True,
                                              max_files=2, max_size_mb=5, file_types=["pdf"])
    db.session.add(requirement)
    db.session.flush()
    record = {"sha256": hashlib.sha256(PDF).hexdigest(), "filename": "学历证书.pdf", "size": len(PDF), "file_type": "pdf"}
    file_store.store(file_store.StoredFile(record["sha256"], record["filename"], len(PDF), "pdf"), PDF)
    world.declarations[0].materials = {str(requirement.id): [record]}
    world.declarations[0].assessments = [{"year": 2025, "result": "优秀", "unit": "附中"}]
    db.session.commit()
    item = published(client, login, world, meeting)
    entry = db.session.scalar(select(ResultEntry).where(ResultEntry.declaration_id == world.declarations[0].id))
    url = f"/results/entries/{entry.id}/declaration"
    client.post("/logout")
    login(confirmer)
    assert client.get(url).status_code == 404  # still in publicity: the confirming unit does not hold it yet
    publicity_service.release_due(item.end_on + timedelta(days=1))
    db.session.commit()

    page = client.get(url)
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert entry.name in text and "申报材料" in text and "学历证书.pdf" in text and "优秀" in text
    assert "各级单位审核情况" in text and 'data-testid="to-confirm"' in text
    assert f"/results/entries/{entry.id}/declaration" in client.get("/results/confirm").get_data(as_text=True)
    inbox_page = client.get(f"/inbox/tasks/{confirm_task(entry, confirmer)}").get_data(as_text=True)
    assert 'data-testid="open-declaration"' in inbox_page
    download = client.get(f"{url}/files/{record['sha256']}")
    assert download.status_code == 200 and download.data == PDF
    assert client.get(f"{url}/files/{'0' * 64}").status_code == 404

    # Another unit's confirmer cannot probe it; staff of the right unit without 结果确认 are refused.
    client.post("/logout")
    elsewhere = make_unit(parent=world.tree.city, unit_type="competent", region="511100B", name="乐山市卫健委")
    login(make_user(elsewhere, permissions=["result.confirm", "inbox.view"], name="卫健委确认"))
    assert client.get(url).status_code == 404
    assert client.get(f"{url}/files/{record['sha256']}").status_code == 404
    client.post("/logout")
    login(make_user(world.tree.competent, permissions=["inbox.view"], name="教育局其他人员"))
    assert client.get(url).status_code == 403

    # Once confirmed the unit no longer holds it.
    client.post("/logout")
    login(confirmer)
    assert client.post(f"/inbox/tasks/{confirm_task(entry, confirmer)}",
                       data={"decision": "pass", "opinion": "同意"}).status_code == 302
    assert client.get(url).status_code == 404


def test_close_waits_for_every_certificate_issued_through_the_issuers_queue(client, login, make_user, counted):
    """办结 (H3) as the staff meet it: refused while someone is 未确认 or a certificate is not yet 已发放, accepted
    once the issuer has issued every confirmed person's certificate through the queue."""
    from services.certificates import bulk, issuance

    world, meeting, confirmer = counted
    issuer = make_user(world.tree.competent, permissions=["certificate.issue", "inbox.view"], name="教育局发证")
    db.session.commit()
    item = published(client, login, world, meeting)
    publicity_service.release_due(item.end_on + timedelta(days=1))
    db.session.commit()
    entries = list(db.session.scalars(select(ResultEntry).where(ResultEntry.publicity_id == item.id)
                                      .order_by(ResultEntry.position)))
    refused = client.post(f"/results/publicity/{item.id}/close")
    assert refused.status_code == 409 and "还有 3 人未办完" in refused.get_data(as_text=True)

    client.post("/logout")
    login(confirmer)
    for entry, decision in zip(entries, ("pass", "pass", "reject"), strict=True):
        assert client.post(f"/inbox/tasks/{confirm_task(entry, confirmer)}",
                           data={"decision": decision, "opinion": "同意" if decision == "pass" else "业绩不符"}
                           ).status_code == 302
    client.post("/logout")
    login(world.staff)
    year, ids = date.today().year, [str(e.id) for e in entries[:2]]
    assert client.post("/results/committee/doc-no", data={"entry_ids": ids, "doc_no": f"乐人社职〔{year}〕30号",
                                                         "approved_on": date.today().isoformat()}).status_code == 302
    assert client.post("/results/committee/certificate-info", data={"entry_ids": ids}).status_code == 302
    waiting = client.post(f"/results/publicity/{item.id}/close")
    text = waiting.get_data(as_text=True)
    assert waiting.status_code == 409 and "还有 2 人未办完" in text and "证书未发放" in text
    assert entries[2].name not in text  # 不通过 is final

    # The issuer's queue: 审核发证信息 passed, then 发放 (the certificates' own tests cover the pages).
    def open_ids(bpmn_id):
        return list(db.session.scalars(select(HumanTask.id).where(
            HumanTask.business_type == "certificate_issuance", HumanTask.status == "open", HumanTask.bpmn_id == bpmn_id)))

    for task_id in open_ids("review_issuance"):
        issuance.complete_task(issuer, task_id, "pass")
    db.session.commit()
    first_issue = open_ids("issue_certificate")[:1]
    assert bulk.start_clearing(issuer, "issue", first_issue).done == 1
    db.session.commit()
    one_left = client.post(f"/results/publicity/{item.id}/close")
    assert one_left.status_code == 409 and "还有 1 人未办完" in one_left.get_data(as_text=True)
    assert bulk.start_clearing(issuer, "issue", open_ids("issue_certificate")).done == 1
    db.session.commit()

    closed = client.post(f"/results/publicity/{item.id}/close")
    assert closed.status_code == 302
    page = client.get(closed.headers["Location"]).get_data(as_text=True)
    assert "评审结果已办结" in page and "已办结" in page
    again = client.post(f"/results/publicity/{item.id}/close")
    assert again.status_code == 409 and "该评审结果已办结" in again.get_data(as_text=True)
