"""The meeting through the browser's requests: staff pages step by step, the experts' own sign-in and ballots.

Each path of issue 15: an ordinary meeting; the 破格 meeting feeding the ordinary one; a meeting with 专业组; an
expert recused for their own unit's applicant; quorum missed; exactly 2/3 passes and one vote less fails; a
returned submission changed and resubmitted; an expert who is not on the meeting gets 404.
"""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from helpers import PASSWORD
from meeting_helpers import (
    LEVEL,
    OWN_UNIT_EXPERT,
    SPECIALTY,
    build_world,
    expert_account,
    ordinary_meeting,
    step_name,
)
from python_calamine import CalamineWorkbook
from sqlalchemy import select

from app.extensions import db
from app.models import MeetingApplicant, MeetingExpert, ReviewMeeting, RoundResult
from services.meetings import assignment, draws, voting

EXPERT_PASSWORD = "Zhuanjia2026"


@pytest.fixture
def world(make_unit: Any, make_user: Any, make_applicant: Any) -> Any:
    return build_world(make_unit, make_user, make_applicant)


def ok(response: Any, status: int = 302) -> Any:
    assert response.status_code == status, response.get_data(as_text=True)[:2000]
    return response


def finish(client: FlaskClient, meeting: ReviewMeeting, step: str) -> None:
    ok(client.post(f"/meetings/{meeting.id}/steps/{step}", data={"note": ""}))


def staff_to_voting(client: FlaskClient, meeting: ReviewMeeting, needed: int = 9, groups: bool = False) -> list[
        MeetingExpert]:
    """Every staff step through its page, up to 开启专家投票; returns the confirmed experts."""
    finish(client, meeting, "prepare_meeting")
    ok(client.post(f"/meetings/{meeting.id}/groups", data={"specialty": SPECIALTY, "level_code": LEVEL,
                                                          "needed": str(needed)}))
    drawn = ok(client.post(f"/meetings/{meeting.id}/draw", data={"multiplier": "15"}))
    # 开始抽选 runs as a background job (eager here): the person lands on the record it made.
    assert re.search(r"/meetings/\d+/draws/\d+$", drawn.headers["Location"])
    from app.models import Job

    assert db.session.scalar(select(Job.state).where(Job.kind == "meetings.draw").order_by(Job.id.desc())) == "done"
    finish(client, meeting, "draw_experts")
    members = draws.meeting_experts(meeting)
    for member in members:
        ok(client.post(f"/meetings/{meeting.id}/experts/{member.id}/confirm"))
    chairs = [m for m in members if m.chair]
    if len(chairs) > 1:
        ok(client.post(f"/meetings/{meeting.id}/experts/{chairs[0].id}/executive"))
    finish(client, meeting, "confirm_experts")
    if groups:
        form = {f"group-{m.id}": "甲组" if n % 2 == 0 else "乙组" for n, m in enumerate(members)}
        ok(client.post(f"/meetings/{meeting.id}/expert-groups", data={**form, "leaders": [str(members[0].id),
                                                                                            str(members[1].id)]}))
        finish(client, meeting, "group_experts")
    for n, row in enumerate(assignment.applicants_of(meeting, ("waiting",))):
        main = next(m for m in members if not assignment.recused(m, row))
        data = {"main_reviewer_id": str(main.id), "assistant_reviewer_ids": ""}
        if groups:
            data["specialty_group"] = "甲组" if n % 2 == 0 else "乙组"
        ok(client.post(f"/meetings/{meeting.id}/applicants/{row.id}/assign", data=data))
    finish(client, meeting, "assign_applicants")
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    ok(client.post(f"/meetings/{meeting.id}/materials", data={"material": (io.BytesIO(pdf), "评议材料.pdf")}))
    refused = client.post(f"/meetings/{meeting.id}/materials", data={"material": (io.BytesIO(b"MZ\x90"), "x.pdf")})
    assert refused.status_code == 400 and "专家评议材料：文件类型" in refused.get_data(as_text=True)
    ok(client.post(f"/meetings/{meeting.id}/voting", data={"review_plan": "逐人评议，无记名投票。",
                                                          "supervising_committee": "省职称评审监督委员会"}))
    finish(client, meeting, "open_voting")
    return [m for m in draws.meeting_experts(meeting) if m.status == "confirmed"]


def expert_client(app: Any, member: MeetingExpert) -> FlaskClient:
    from app.models import ExpertAccount
    from services.org.accounts import hash_password

    account = db.session.scalar(select(ExpertAccount).where(ExpertAccount.expert_id == member.expert_id))
    if account is None:
        expert_account(member.expert, EXPERT_PASSWORD)
    else:
        account.password_hash, account.must_change_password = hash_password(EXPERT_PASSWORD), False
        db.session.flush()
    client = app.test_client()
    ok(client.post("/expert/login", data={"account": member.expert.id_number, "password": EXPERT_PASSWORD}))
    return client


def vote_through_web(app: Any, meeting: ReviewMeeting, members: list[MeetingExpert], choose: Any) -> None:
    for n, member in enumerate(members):
        client = expert_client(app, member)
        for row in voting.ballot_rows(meeting, member):
            if not row.recused:
                ok(client.post(f"/expert/meetings/{meeting.id}/applicants/{row.applicant.id}",
                               data={"vote": choose(n, row.applicant), "material_check": "pass",
                                     "material_score": "85", "opinion": "业绩突出"}))
        ok(client.post(f"/expert/meetings/{meeting.id}/submit"))


def results(meeting: ReviewMeeting) -> list[str]:
    return [r.result for r in db.session.scalars(select(RoundResult).where(RoundResult.meeting_id == meeting.id)
                                                 .order_by(RoundResult.id))]


def test_an_ordinary_meeting_through_its_pages(app: Any, client: FlaskClient, login: Any, world: Any) -> None:
    login(world.staff)
    assert "新建评审会议" in ok(client.get("/meetings/"), 200).get_data(as_text=True)
    ok(client.post("/meetings/new", data={"activity_id": str(world.activity.id)}))
    meeting = ordinary_meeting(world)
    # The staff's inbox offers the step and opens the meeting's page.
    inbox = ok(client.get("/inbox/"), 200).get_data(as_text=True)
    assert "会议准备" in inbox
    html = ok(client.get(f"/meetings/{meeting.id}/prepare"), 200).get_data(as_text=True)
    assert "申报人1" in html and "会议准备办结" in html
    ok(client.post(f"/meetings/{meeting.id}/prepare", data={"scoring_standard": "业绩 60 分，答辩 40 分"}))
    members = staff_to_voting(client, meeting)
    # 抽选记录 with the replay.
    record = draws.draws_of(meeting)[0]
    page = ok(client.post(f"/meetings/{meeting.id}/draws/{record.id}"), 200).get_data(as_text=True)
    assert "重放结果与记录一致" in page and record.seed in page
    assert "回避：与申报人 申报人1、申报人2、申报人3 同一单位" in page
    exported = ok(client.get(f"/meetings/{meeting.id}/draws/{record.id}/export"), 200)
    sheet = CalamineWorkbook.from_filelike(io.BytesIO(exported.data)).get_sheet_by_index(0).to_python()
    assert sheet[1][:2] == ["随机种子", record.seed] and sum(1 for row in sheet if row[8] == "抽中") == 9
    # A password issued from the confirmation page signs the expert in.
    shown = ok(client.post(f"/meetings/{meeting.id}/experts/{members[0].id}/password"), 200).get_data(as_text=True)
    password = re.search(r'<code class="fs-6">([^<]+)</code>', shown).group(1)
    expert = app.test_client()
    ok(expert.post("/expert/login", data={"account": members[0].expert.id_number, "password": password}))
    # The initial password was seen by the staff: the expert replaces it before anything else.
    assert ok(expert.get("/expert/")).headers["Location"].endswith("/expert/password")
    ok(expert.post("/expert/password", data={"old_password": password, "new_password": "Xin2026mima",
                                             "confirm_password": "Xin2026mima"}))
    assert meeting.name in ok(expert.get("/expert/"), 200).get_data(as_text=True)
    assert "评议材料.pdf" in ok(expert.get(f"/expert/meetings/{meeting.id}"), 200).get_data(as_text=True)
    assert ok(expert.get(f"/expert/meetings/{meeting.id}/plan-materials/0"), 200).data.startswith(b"%PDF")
    # After 开启专家投票 the materials are fixed (409, the step named).
    late = client.post(f"/meetings/{meeting.id}/materials", data={"material": (io.BytesIO(b"%PDF-1.4 x"), "y.pdf")})
    assert late.status_code == 409 and "开启专家投票" in late.get_data(as_text=True)
    # Every expert votes through the web: 7 of 8 sitting vote 通过.
    vote_through_web(app, meeting, members, lambda n, a: "pass" if n < 7 else "fail")
    page = ok(client.get(f"/meetings/{meeting.id}/count?tab=results"), 200).get_data(as_text=True)
    assert page.count(">通过</td>") == 3
    found = ok(client.get(f"/meetings/{meeting.id}/count?tab=results&keyword=申报人2"), 200).get_data(as_text=True)
    assert "申报人2" in found and "申报人1" not in found and "共 1 条" in found
    finish(client, meeting, "count_votes")
    assert step_name(meeting) is None and results(meeting) == ["passed"] * 3
    assert 'data-mark=""' in ok(client.get(f"/meetings/{meeting.id}"), 200).get_data(as_text=True)
    assert b"review_meeting" in ok(client.get(f"/meetings/{meeting.id}/diagram.xml"), 200).data
    record_page = ok(client.get(f"/meetings/{meeting.id}/record"), 200).get_data(as_text=True)
    assert "计票完成" in record_page and "抽选专家" in record_page
    # The exports open as spreadsheets; 表决票结果 holds counts, never an expert's name.
    for kind in ("roster", "summary", "experts", "ballots"):
        response = ok(client.get(f"/meetings/{meeting.id}/exports/{kind}"), 200)
        sheet = CalamineWorkbook.from_filelike(io.BytesIO(response.data)).get_sheet_by_index(0).to_python()
        assert len(sheet) > 1
        if kind == "ballots":
            assert not any(m.expert.name in str(cell) for m in members for row in sheet for cell in row)


def test_counting_pages_never_show_who_voted_what(app: Any, client: FlaskClient, login: Any, world: Any) -> None:
    login(world.staff)
    ok(client.post("/meetings/new", data={"activity_id": str(world.activity.id)}))
    meeting = ordinary_meeting(world)
    members = staff_to_voting(client, meeting)
    vote_through_web(app, meeting, [m for m in members if m.expert.name != OWN_UNIT_EXPERT][:1],
                     lambda n, a: "abstain")
    for tab in ("progress", "results"):
        html = ok(client.get(f"/meetings/{meeting.id}/count?tab={tab}"), 200).get_data(as_text=True)
        assert "弃权" in html and "业绩突出" not in html
    # 计票完成 refuses while present experts have not submitted (400, the rule named).
    response = client.post(f"/meetings/{meeting.id}/steps/count_votes")
    text = response.get_data(as_text=True)
    assert response.status_code == 400 and "尚未提交投票" in text
    assert "弃权" in text  # on the count page itself, beside the experts' progress


def test_exactly_two_thirds_passes_and_one_vote_less_fails(app: Any, client: FlaskClient, login: Any,
                                                          make_unit: Any, make_user: Any, make_applicant: Any) -> None:
    # 10 experts; the one of the applicants' unit is recused: 9 sit on each applicant.
    world = build_world(make_unit, make_user, make_applicant, experts=10, applicants=2)
    login(world.staff)
    ok(client.post("/meetings/new", data={"activity_id": str(world.activity.id)}))
    meeting = ordinary_meeting(world)
    members = staff_to_voting(client, meeting, needed=10)
    first, second = sorted(voting.round_applicants(meeting), key=lambda a: a.id)
    sitting = [m for m in members if m.expert.name != OWN_UNIT_EXPERT]
    assert len(sitting) == 9
    # first: 6 of 9 通过 (18 ≥ 18); second: 5 通过 and 1 弃权 (15 < 18).
    vote_through_web(app, meeting, sitting, lambda n, a: "pass" if n < (6 if a.id == first.id else 5)
                     else ("abstain" if n == 5 else "fail"))
    vote_through_web(app, meeting, [m for m in members if m not in sitting], lambda n, a: "pass")
    finish(client, meeting, "count_votes")
    rows = {r.meeting_applicant_id: r for r in db.session.scalars(select(RoundResult))}
    assert (rows[first.id].votes_pass, rows[first.id].present, rows[first.id].result) == (6, 9, "passed")
    assert (rows[second.id].votes_pass, rows[second.id].votes_abstain, rows[second.id].result) == (5, 1, "failed")


def test_quorum_missed_passes_nobody(app: Any, client: FlaskClient, login: Any, world: Any) -> None:
    login(world.staff)
    ok(client.post("/meetings/new", data={"activity_id": str(world.activity.id)}))
    meeting = ordinary_meeting(world)
    members = staff_to_voting(client, meeting)
    sitting = [m for m in members if m.expert.name != OWN_UNIT_EXPERT]
    for member in sitting[:3]:  # 5 of 8 present: 15 < 16
        ok(client.post(f"/meetings/{meeting.id}/experts/{member.id}/absent", data={"absent": "1"}))
    vote_through_web(app, meeting, sitting[3:], lambda n, a: "pass")
    finish(client, meeting, "count_votes")
    assert results(meeting) == ["no_quorum"] * 3
    html = ok(client.get(f"/meetings/{meeting.id}/record"), 200).get_data(as_text=True)
    assert "不足法定人数" in html


def test_a_returned_submission_is_changed_and_resubmitted(app: Any, client: FlaskClient, login: Any,
                                                          world: Any) -> None:
    login(world.staff)
    ok(client.post("/meetings/new", data={"activity_id": str(world.activity.id)}))
    meeting = ordinary_meeting(world)
    members = staff_to_voting(client, meeting)
    vote_through_web(app, meeting, members, lambda n, a: "fail")
    seat = next(m for m in members if m.expert.name != OWN_UNIT_EXPERT)
    expert = expert_client(app, seat)
    target = voting.ballot_rows(meeting, seat)[0].applicant
    refused = expert.post(f"/expert/meetings/{meeting.id}/applicants/{target.id}", data={"vote": "pass"})
    assert refused.status_code == 409 and "已提交" in refused.get_data(as_text=True)
    ok(client.post(f"/meetings/{meeting.id}/experts/{seat.id}/return", data={"reason": "误操作"}))
    assert "评委会已返回" in ok(expert.get(f"/expert/meetings/{meeting.id}"), 200).get_data(as_text=True)
    ok(expert.post(f"/expert/meetings/{meeting.id}/applicants/{target.id}", data={"vote": "pass"}))
    ok(expert.post(f"/expert/meetings/{meeting.id}/submit"))
    finish(client, meeting, "count_votes")
    row = db.session.scalar(select(RoundResult).where(RoundResult.meeting_applicant_id == target.id))
    assert row.votes_pass == 1


def test_the_recused_expert_and_an_expert_not_on_the_meeting(app: Any, client: FlaskClient, login: Any,
                                                             world: Any) -> None:
    login(world.staff)
    ok(client.post("/meetings/new", data={"activity_id": str(world.activity.id)}))
    meeting = ordinary_meeting(world)
    members = staff_to_voting(client, meeting, needed=5)  # 1.5 × 5 = 8 of 9 drawn
    own = next((m for m in members if m.expert.name == OWN_UNIT_EXPERT), None)
    drawn = {m.expert_id for m in draws.meeting_experts(meeting)}
    outsider = next(e for e in world.experts if e.id not in drawn)
    if own is not None:
        expert = expert_client(app, own)
        page = ok(expert.get(f"/expert/meetings/{meeting.id}"), 200).get_data(as_text=True)
        assert page.count("回避") >= 3
        target = voting.ballot_rows(meeting, own)[0].applicant
        assert expert.post(f"/expert/meetings/{meeting.id}/applicants/{target.id}",
                           data={"vote": "pass"}).status_code == 403
    expert_account(outsider, EXPERT_PASSWORD)
    stranger = app.test_client()
    ok(stranger.post("/expert/login", data={"account": outsider.id_number, "password": EXPERT_PASSWORD}))
    assert stranger.get(f"/expert/meetings/{meeting.id}").status_code == 404
    row = db.session.scalar(select(MeetingApplicant).where(MeetingApplicant.meeting_id == meeting.id))
    assert stranger.get(f"/expert/meetings/{meeting.id}/applicants/{row.id}").status_code == 404
    assert stranger.post(f"/expert/meetings/{meeting.id}/submit").status_code == 404
    # Experts stay on their side; staff pages send them home.
    assert stranger.get("/meetings/").headers["Location"].endswith("/expert/")


def test_the_exceptional_meeting_feeds_the_ordinary_one(app: Any, client: FlaskClient, login: Any,
                                                       make_unit: Any, make_user: Any, make_applicant: Any) -> None:
    world = build_world(make_unit, make_user, make_applicant, applicants=4, exceptional=2)
    login(world.staff)
    ok(client.post("/meetings/new", data={"activity_id": str(world.activity.id)}))
    exceptional = db.session.scalar(select(ReviewMeeting).where(ReviewMeeting.kind == "exceptional"))
    ordinary = ordinary_meeting(world)
    # The ordinary meeting cannot close its assignment before the 破格 count.
    members = staff_to_voting(client, exceptional)
    first, second = sorted(voting.round_applicants(exceptional), key=lambda a: a.id)
    vote_through_web(app, exceptional, members, lambda n, a: "pass" if a.id == first.id else "fail")
    finish(client, exceptional, "count_votes")
    assert results(exceptional) == ["passed", "failed"]
    client.get(f"/meetings/{ordinary.id}")  # the flashed messages are shown there
    html = ok(client.get(f"/meetings/{ordinary.id}/assign"), 200).get_data(as_text=True)
    assert first.declaration.applicant.name in html and "破格评议通过" in html
    assert second.declaration.applicant.name not in html
    assert second.declaration.status == "rejected"


def test_a_grouped_meeting_through_its_pages(app: Any, client: FlaskClient, login: Any, make_unit: Any,
                                            make_user: Any, make_applicant: Any) -> None:
    world = build_world(make_unit, make_user, make_applicant, experts=12, applicants=4, specialty_groups=True,
                        group_method="vote")
    login(world.staff)
    ok(client.post("/meetings/new", data={"activity_id": str(world.activity.id)}))
    meeting = ordinary_meeting(world)
    members = staff_to_voting(client, meeting, needed=12, groups=True)
    loser = sorted(voting.round_applicants(meeting), key=lambda a: a.id)[0]
    vote_through_web(app, meeting, members, lambda n, a: "fail" if a.id == loser.id else "pass")
    finish(client, meeting, "count_votes")
    assert step_name(meeting) == "open_voting" and meeting.current_round == 2
    finish(client, meeting, "open_voting")
    vote_through_web(app, meeting, members, lambda n, a: "pass")
    finish(client, meeting, "count_votes")
    assert meeting.stage == "counted"
    assert sorted(results(meeting)) == ["failed"] + ["passed"] * 6


def test_imports_refuse_a_bad_row_and_keep_nothing(app: Any, client: FlaskClient, login: Any, world: Any) -> None:
    from services.common.excel.export import write_table
    from services.meetings.preparation import EXAM_COLUMNS, INTERVIEW_COLUMNS

    login(world.staff)
    ok(client.post("/meetings/new", data={"activity_id": str(world.activity.id)}))
    meeting = ordinary_meeting(world)
    people = world.applicants
    good = [(p.name, p.id_number, "附中", "2099-01-10", "08:30", "乐山市会议中心", "一楼", str(n), "301")
            for n, p in enumerate(people, start=1)]
    bad = good[:2] + [(people[2].name, people[2].id_number, "附中", "2099-13-40", "8点", "", "一楼", "1", "301")]
    response = client.post(f"/meetings/{meeting.id}/interviews/import",
                           data={"file": (io.BytesIO(write_table("答辩安排", INTERVIEW_COLUMNS, bad)), "a.xlsx")})
    text = response.get_data(as_text=True)
    assert response.status_code == 400 and "第 4 行：答辩日期" in text and "第 4 行：答辩到会时间" in text
    assert not any(a.interview for a in assignment.applicants_of(meeting))
    ok(client.post(f"/meetings/{meeting.id}/interviews/import",
                   data={"file": (io.BytesIO(write_table("答辩安排", INTERVIEW_COLUMNS, good)), "a.xlsx")}))
    assert all(a.notice_at and a.interview["room"] == "301" for a in assignment.applicants_of(meeting))
    # The 答辩通知 shows on the applicant's own declaration page.
    applicant_client = app.test_client()
    ok(applicant_client.post("/applicant/login", data={"account": people[0].id_number, "password": PASSWORD}))
    page = ok(applicant_client.get(f"/applicant/declarations/{world.declarations[0].id}"), 200).get_data(as_text=True)
    assert "答辩通知" in page and "乐山市会议中心" in page
    scores = [(p.name, p.id_number, "附中", "75", "通过" if n else "不通过") for n, p in enumerate(people)]
    ok(client.post(f"/meetings/{meeting.id}/exam/import",
                   data={"file": (io.BytesIO(write_table("笔试成绩", EXAM_COLUMNS, scores)), "e.xlsx")}))
    failed = [a for a in assignment.applicants_of(meeting) if a.status == "exam_failed"]
    assert len(failed) == 1 and failed[0].declaration.status == "rejected"
    template = ok(client.get(f"/meetings/{meeting.id}/interviews/template"), 200)
    sheet = CalamineWorkbook.from_filelike(io.BytesIO(template.data)).get_sheet_by_index(0).to_python()
    assert sheet[0][:3] == ["姓名", "身份证号", "工作单位"] and len(sheet) == 3  # the exam failure is off the list


def test_another_units_staff_get_404(client: FlaskClient, login: Any, make_user: Any, world: Any) -> None:
    login(world.staff)
    ok(client.post("/meetings/new", data={"activity_id": str(world.activity.id)}))
    meeting = ordinary_meeting(world)
    client.post("/logout")
    login(make_user(world.tree.child, admin=True))
    assert client.get(f"/meetings/{meeting.id}").status_code == 404
    assert client.get(f"/meetings/{meeting.id}/count").status_code == 404


def test_expert_sign_in_locks_after_failures(app: Any, world: Any) -> None:
    account = expert_account(world.experts[0], EXPERT_PASSWORD)
    client = app.test_client()
    for _ in range(int(app.config["LOGIN_MAX_FAILURES"])):
        assert client.post("/expert/login", data={"account": world.experts[0].id_number,
                                                  "password": "wrong-Pass1"}).status_code == 401
    refused = client.post("/expert/login", data={"account": world.experts[0].id_number, "password": EXPERT_PASSWORD})
    assert refused.status_code == 401 and "锁定" in refused.get_data(as_text=True)
    assert account.locked_until is not None
    assert PASSWORD != EXPERT_PASSWORD
