"""A review meeting in Chromium over the demo organisation (issue 15): the 乐山 committee's staff walk the meeting's
pages (新建, 会议准备, 专家抽选 and its 抽选记录 with 重放, 确认参评, 人员分配, 开启专家投票), an expert signs in with
the password shown once and votes, and staff finish the count. Screenshots go to /tmp/meet_shots."""

from __future__ import annotations

import datetime
import re
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Applicant, Committee, Expert, MeetingExpert, ReviewActivity, Unit
from services.demo import organisation as demo
from services.org.accounts import hash_password
from tests.browser.live import ROOT, Site, browser_app, needs_chromium, serving, sign_in

pytestmark = needs_chromium
SHOTS = __import__("pathlib").Path("/tmp/meet_shots")
sys.path.insert(0, str(ROOT / "tests"))



def save_ballot(expert: Any) -> None:
    """保存 on a ballot, then wait until the meeting's page is back: counting 未投票 rows before the redirect lands
    reads the ballot page, finds none, and submits with ballots still open."""
    with expert.expect_navigation(url=re.compile(r"/expert/meetings/\d+$")):
        expert.click("[data-testid=save-ballot]")


def _seed_meeting_world() -> None:
    """The demo organisation; its committee gets a library of 12 in-library experts (one at 乐山第一中学校) and
    three declarations of its published activity accepted at 参评资格审核."""
    from helpers import valid_id_number
    from meeting_helpers import accepted_declarations, add_library

    demo.seed_demo(ROOT / "admin_config")
    committee = db.session.scalar(select(Committee).where(Committee.name == "乐山市中小学教师中级职称评审委员会"))
    school = db.session.scalar(select(Unit).where(Unit.name == "乐山第一中学校"))
    add_library(committee, committee.forming_unit_id, 12, own_unit_name=school.name)
    activity = db.session.scalar(select(ReviewActivity).where(ReviewActivity.committee_id == committee.id))
    people = [Applicant(name=name, id_number=valid_id_number(birth=f"198{n}0102", region="511102", sequence=100 + n * 2),
                        gender="男", birth_date=datetime.date(1980 + n, 1, 2), phone=f"1390833000{n}",
                        unit_id=school.id, password_hash=hash_password("x1234567"), session_token=f"m{n}")
              for n, name in enumerate(("赵一鸣", "钱思远", "孙晓燕"), start=1)]
    db.session.add_all(people)
    db.session.flush()
    accepted_declarations(activity, people)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    app = browser_app(tmp_path_factory.mktemp("meeting-walk"), _seed_meeting_world)
    with serving(app) as url:
        yield Site(app, url, demo.demo_password(ROOT / "admin_config"))



def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def finish(page: Any, step_label: str) -> None:
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("[data-testid=finish-step]")
    page.wait_for_selector(f"text=“{step_label}”已办结")


def test_a_meeting_walked_in_the_browser(browser: Any, site: Site) -> None:
    page = sign_in(browser, site.url, "ls_rsj", site.password, height=1000)
    page.click("text=评审会议管理")
    page.select_option("select[name=activity_id]", index=1)
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("text=新建评审会议")
    page.wait_for_selector("[data-testid=stage]")
    # The diagram renders under the CSP with the step the meeting stands at marked.
    page.wait_for_selector('#diagram .djs-element.task-current[data-element-id="prepare_meeting"]')
    shot(page, "01_overview")
    meeting_url = page.url
    page.click("[data-testid=meeting-steps] >> text=会议准备")
    page.fill("#scoring_standard", "一、业绩成果 60 分；二、面试答辩 40 分。")
    page.click("text=保存评分标准")
    shot(page, "02_prepare")
    finish(page, "会议准备")
    # 专家抽选: a group of 8 from the library, 1.5 倍.
    page.select_option("#specialty", "建筑施工")
    page.fill("#needed", "8")
    page.click("text=新增抽选小组")
    page.select_option("#multiplier", "15")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("[data-testid=start-draw]")
    page.wait_for_selector("[data-testid=record-table]")
    page.click("[data-testid=replay]")
    assert "重放结果与记录一致" in page.inner_text("[data-testid=replay-result]")
    shot(page, "03_draw_record")
    page.goto(meeting_url + "/draw")
    shot(page, "04_draw")
    finish(page, "专家抽选")
    # 确认参评 for everyone drawn, 执行主任 when several chairs.
    while page.locator("button:has-text('确认参评')").count():
        with page.expect_navigation():
            page.locator("button:has-text('确认参评')").first.click()
    if page.locator("button:has-text('设为执行主任')").count() > 1:
        with page.expect_navigation():
            page.locator("button:has-text('设为执行主任')").first.click()
    shot(page, "05_experts")
    finish(page, "确认出席专家名单")
    # 人员分配: the first allowed expert as 主审 for each applicant.
    for n in range(page.locator("[data-testid=assign-table] select[name=main_reviewer_id]").count()):
        page.locator("[data-testid=assign-table] select[name=main_reviewer_id]").nth(n).select_option(index=1)
        with page.expect_navigation():
            page.locator("[data-testid=assign-table] form button").nth(n).click()
    shot(page, "06_assign")
    finish(page, "人员分配")
    page.fill("#review_plan", "按评分标准逐人评议，实行无记名投票。")
    page.click("text=保存评审方案")
    shot(page, "07_voting")
    finish(page, "开启专家投票")
    # An expert gets a password and votes on the expert side.
    page.goto(meeting_url + "/experts")
    meeting_id = int(meeting_url.rstrip("/").split("/")[-1])
    # An expert who is not of the applicants' school (that one is recused for all three).
    first = site.query(lambda: db.session.scalar(select(MeetingExpert).join(MeetingExpert.expert).where(
        MeetingExpert.meeting_id == meeting_id, MeetingExpert.status == "confirmed",
        Expert.work_unit != "乐山第一中学校").order_by(MeetingExpert.position)))
    id_number = site.query(lambda: db.session.get(MeetingExpert, first.id).expert.id_number)
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator(f"form[action$='/experts/{first.id}/password'] button").click()
    password = page.inner_text("[data-testid=password] code.fs-6")
    expert = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    expert.set_default_timeout(20_000)
    expert.goto(f"{site.url}/expert/login")
    expert.fill("#account", id_number)
    expert.fill("#password", password)
    expert.click("button[type=submit]")
    # The password the staff saw is replaced at the first sign-in.
    expert.wait_for_url(re.compile(r"/expert/password$"))
    shot(expert, "08_expert_password")
    expert.fill("#old_password", password)
    expert.fill("#new_password", "Xin2026mima")
    expert.fill("#confirm_password", "Xin2026mima")
    expert.click("button:has-text('保存')")
    expert.wait_for_url(re.compile(r"/expert/$"))
    shot(expert, "08b_expert_home")
    expert.click("text=进入评审")
    expert.click("[data-testid=ballot-table] >> text=评审")
    expert.check("#mc-pass")
    expert.fill("#material_score", "88")
    expert.check("#vote-pass")
    expert.fill("#opinion", "业绩突出，同意通过。")
    shot(expert, "09_expert_ballot")
    save_ballot(expert)
    while expert.locator("[data-testid=ballot-table] tr:has-text('未投票') a").count():
        expert.locator("[data-testid=ballot-table] tr:has-text('未投票') a").first.click()
        expert.check("#vote-pass")
        save_ballot(expert)
    expert.once("dialog", lambda dialog: dialog.accept())
    expert.click("[data-testid=submit-ballots]")
    expert.wait_for_selector("[data-testid=submitted]")
    shot(expert, "10_expert_submitted")
    # 计票: progress shows one submission; refusal while others have not submitted.
    page.goto(meeting_url + "/count")
    shot(page, "11_count_progress")
    page.goto(meeting_url + "/count?tab=results")
    shot(page, "12_count_results")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("[data-testid=finish-step]")
    page.wait_for_load_state()
    assert "尚未提交投票" in page.inner_text("main")
    shot(page, "13_count_refused")
    page.goto(meeting_url + "/record")
    shot(page, "14_record")
