"""The whole journey of issue 16 in Chromium over the demo organisation, each step on its page by its own person:
周晓明 (乐山第一中学校) declares; the school's two levels, 乐山市教育局 and 乐山市人社局's two levels pass it; 参评资格审核
accepts it; the committee's staff hold the meeting and three experts vote in their own browsers; 计票完成 puts 评审结果公示
in the staff's 待办; the notice is read signed out; 张浩然 files 我要反馈 and the staff record an offline complaint, then
settle both; the results are filed (备案) and confirmed (材料审阅, 结果确认); the committee sets the 职称文件文号 and submits
the certificate information; 办结 waits for the certificate.

Set up in bulk (not what is tested): the demo organisation, three experts in the committee's library, the applicant's
profile. The end of the publicity period is Celery beat's `release_due`, called here as beat would. Screenshots go
to /tmp/journey_shots."""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Committee, ResultPublicity
from services.demo import organisation as demo
from services.org.accounts import hash_password
from tests.browser.live import ROOT, Site, browser_app, needs_chromium, serving

pytestmark = needs_chromium
SHOTS = Path("/tmp/journey_shots")
COMMITTEE = "乐山市中小学教师中级职称评审委员会"
APPLICANT = {"name": "周晓明", "id_number": "511102198905160128", "phone": "13990000209", "unit": "乐山第一中学校",
             "ethnicity": "汉族", "political_status": "群众", "work_start_date": date(2012, 9, 1), "specialty": "初中数学",
             "title": {"series": "primary_secondary_teacher", "name": "二级教师", "obtained_on": date(2013, 9, 30),
                       "method": "初定", "certificate_no": "川中教2120130777"},
             "educations": [{"education": "大学本科", "degree": "学士", "school": "四川师范大学", "major": "数学与应用数学",
                             "start_date": date(2008, 9, 1), "end_date": date(2012, 6, 30)}],
             "work": [{"start_date": date(2012, 9, 1), "unit_name": "乐山第一中学校", "position": "数学教师"}]}
ID_NUMBER = re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)")
TIMEOUT = 10_000
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
sys.path.insert(0, str(ROOT / "tests"))



def _seed() -> None:
    from meeting_helpers import add_library

    demo.seed_demo(ROOT / "admin_config")
    committee = db.session.scalar(select(Committee).where(Committee.name == COMMITTEE))
    add_library(committee, committee.forming_unit_id, 3, chairs=1)  # one 主任委员; nobody of the applicant's school
    demo._demo_applicant(APPLICANT, hash_password(demo.demo_password(ROOT / "admin_config")))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    # Static files cached by each browser: a person's pages do not revalidate every stylesheet on each step.
    app = browser_app(tmp_path_factory.mktemp("result-journey"), _seed, {"SEND_FILE_MAX_AGE_DEFAULT": 3600})
    with serving(app) as url:
        yield Site(app, url, demo.demo_password(ROOT / "admin_config"))



TIMINGS: dict[str, float] = {}


@contextmanager
def timed(name: str) -> Iterator[None]:
    """Each part's wall time, printed at the end (pytest -s): where a slow run spends it."""
    start = time.perf_counter()
    yield
    TIMINGS[name] = time.perf_counter() - start


def shot(page: Any, name: str) -> None:
    """A full-page screenshot for people to look at; skipped in CI, where nobody does and each costs a render."""
    if os.environ.get("CI"):
        return
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def submit(page: Any, selector: str) -> None:
    """Click a form's button and wait for the page it leads to."""
    with page.expect_navigation():
        page.click(selector)


def confirmed(page: Any, selector: str) -> None:
    """Click a button whose form asks for confirmation (data-confirm), accept, and wait for the next page."""
    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        page.click(selector)


def text(page: Any, selector: str = "main") -> str:
    return str(page.inner_text(selector))


def new_page(browser: Any) -> Any:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    # The process diagrams (bpmn-js, ~1 MB parsed on each review page) have their own browser tests.
    context.route("**/static/vendor/bpmn-js/**", lambda route: route.abort())
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    return page


def staff(browser: Any, site: Site, username: str, path: str = "/", page: Any = None) -> Any:
    """A staff member signed in through /login and sent on to `path`: in a browser of their own, or at `page`,
    a shared office computer whose previous user signs out first (退出)."""
    if page is None:
        page = new_page(browser)
    elif page.locator("button:has-text('退出')").count():
        with page.expect_navigation():
            page.click("button:has-text('退出')")
    page.goto(f"{site.url}/login?next={quote(path)}")
    page.fill("#username", username)
    page.fill("#password", site.password)
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert urlsplit(page.url).path == urlsplit(path).path, page.url
    return page


def applicant(browser: Any, site: Site, id_number: str, path: str = "/applicant/") -> Any:
    page = new_page(browser)
    page.goto(f"{site.url}/applicant/login?next={quote(path)}")
    page.fill("input[name=account]", id_number)
    page.fill("input[name=password]", site.password)
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert urlsplit(page.url).path == urlsplit(path).path, page.url
    return page


def declare(browser: Any, site: Site, files: dict[str, Path]) -> int:
    page = applicant(browser, site, APPLICANT["id_number"], "/applicant/declarations/")
    page.locator("a.btn-success", has_text=re.compile("^申报$")).first.click()  # the open activity's 申报
    page.select_option("#f-level_code", index=1)
    page.select_option("#f-specialty_id", index=1)
    page.click("button:has-text('暂存申报')")
    page.wait_for_selector("[data-testid=assessment-form]")
    declaration_id = int(re.search(r"/declarations/(\d+)", page.url).group(1))
    year = date.today().year
    for n in (1, 2):  # the blank rows the page offers
        page.fill(f"input[name=assessments-{n}-year]", str(year - n))
        page.select_option(f"select[name=assessments-{n}-result]", "优秀" if n == 1 else "合格")
        page.fill(f"input[name=assessments-{n}-unit]", "乐山第一中学校")
    with page.expect_navigation():
        page.click("[data-testid=assessment-form] button:has-text('暂存')")
    page.locator("#achievements a:has-text('新增业绩成果信息')").first.click()
    page.fill("#f-start_date", f"{year - 3}-09-01")
    page.fill("#f-end_date", f"{year - 1}-07-10")
    page.fill("#f-work_name", "初中数学分层作业设计与实践")
    page.select_option("#f-after_current_title", "是")
    page.fill("#f-content_and_role", "主持校级课题，承担两个班数学教学")
    page.set_input_files("input[name=attachments]", str(files["业绩证明.pdf"]))
    page.click("[data-testid=achievement-form] button:has-text('确认')")
    page.wait_for_selector("[data-testid=material-table]")
    for label, name in (("身份证明", "身份证.pdf"), ("学历学位证书", "学历证书.pdf"), ("现职称证书", "二级教师证书.pdf")):
        row = page.locator("[data-testid=material-table] tr", has_text=label)
        row.locator("input[type=file]").set_input_files(str(files[name]))
        with page.expect_navigation():
            row.locator("button:has-text('上传')").click()
        assert name in page.inner_text("[data-testid=material-table]")
    shot(page, "01_declaration")
    confirmed(page, "[data-testid=submit-form] button")
    assert "审核中" in page.inner_text("body")
    page.context.close()
    return declaration_id


def review(office: Any, site: Site, username: str, declaration_id: int, files: dict[str, Path] | None = None,
           qualifying: bool = False) -> None:
    kind = "qualification" if qualifying else "applications"
    page = staff(None, site, username, f"/application-review/{kind}/{declaration_id}", page=office)
    assert APPLICANT["name"] in text(page, "[data-testid=declaration]")
    if files:  # the 申报单位's first level: its 申报公示 and the two attachments
        today = date.today()
        page.fill("#f-publicity_start", (today - timedelta(days=14)).isoformat())
        page.fill("#f-publicity_end", (today - timedelta(days=3)).isoformat())
        page.set_input_files("input[name=publicity_proof]", str(files["公示证明.pdf"]))
        page.set_input_files("input[name=recommendation]", str(files["推荐意见.pdf"]))
    page.fill("#f-opinion", "符合参评条件" if qualifying else "材料齐全，同意上报")
    confirmed(page, "button[name=decision][value=pass]")
    assert re.search(r"/application-review/(own|subordinates|qualification)(\?|$)", page.url), page.url
    assert f"已审核通过：{APPLICANT['name']} 的申报" in page.inner_text("body")


def test_the_result_journey_in_the_browser(browser: Any, site: Site, tmp_path: Path) -> None:
    files = {}
    for name in ("业绩证明.pdf", "身份证.pdf", "学历证书.pdf", "二级教师证书.pdf", "公示证明.pdf", "推荐意见.pdf",
                 "投诉证据.pdf", "评审工作报告.pdf"):
        files[name] = tmp_path / name
        files[name].write_bytes(PDF)

    # 申报 and the review chain (S 1.2.3, 1.2.5.1).
    with timed("declare"):
        declaration_id = declare(browser, site, files)
    office = new_page(browser)  # the reviewers take turns at one browser: signing in is what each one does
    with timed("review chain"):
        review(office, site, "ls_yz_sh1", declaration_id, files)
        for username in ("ls_yz_sh2", "ls_jyj_sh", "ls_rsj_sh1", "ls_rsj_sh2"):
            review(office, site, username, declaration_id)
    with timed("qualification"):
        review(office, site, "ls_rsj_zg", declaration_id, qualifying=True)

    committee_staff = staff(browser, site, "ls_rsj", "/meetings/")  # 罗文斌, 乐山市人社局: the committee's forming unit
    with timed("meeting"):
        meeting_url = hold_meeting(committee_staff, site)
    with timed("experts vote"):
        for n in range(3):
            vote(browser, site, committee_staff, meeting_url, n)
    with timed("count"):
        committee_staff.goto(meeting_url + "/count?tab=results")
        assert APPLICANT["name"] in text(committee_staff, "[data-testid=result-table]")
        finish(committee_staff, "计票")
        shot(committee_staff, "05_counted")

    with timed("publicity"):
        publicity_id = publish(committee_staff, site)
    with timed("public page"):
        read_signed_out(browser, site, publicity_id)
    with timed("complaints"):
        complain(browser, site, publicity_id)
        record_offline(committee_staff, site, publicity_id, files)
        # The period ends: Celery beat's release_due holds the person while complaints are open.
        site.query(lambda: end_publicity(publicity_id))
        settle_all(committee_staff, site, publicity_id)
    with timed("filing"):
        file_results(office, site, committee_staff, files)
    reviewer = staff(None, site, "ls_rsj_sh1", "/results/confirm", page=office)  # 苏红, at the 授权管理单位
    with timed("confirmation"):
        confirm(reviewer, site)
    with timed("certificate information"):
        submit_certificate_information(committee_staff, site, publicity_id)
    print({k: round(v, 1) for k, v in TIMINGS.items()})


# --- the meeting (S 1.2.6) -----------------------------------------------------------------------------------------

def finish(page: Any, step_label: str) -> None:
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("[data-testid=finish-step]")
    page.wait_for_selector(f"text=“{step_label}”已办结")


def hold_meeting(page: Any, site: Site) -> str:
    """新建评审会议 and its steps up to 开启专家投票: a group of two 建筑施工 experts drawn at 1.5 times (all three)."""
    page.select_option("select[name=activity_id]", index=1)
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("text=新建评审会议")
    page.wait_for_selector("[data-testid=stage]")
    meeting_url = page.url
    assert APPLICANT["name"] in text(page, "[data-testid=applicant-table]")
    page.click("[data-testid=meeting-steps] >> text=会议准备")
    page.fill("#scoring_standard", "一、业绩成果 60 分；二、面试答辩 40 分。")
    submit(page, "text=保存评分标准")
    finish(page, "会议准备")
    page.select_option("#specialty", "建筑施工")
    page.fill("#needed", "2")
    submit(page, "text=新增抽选小组")
    page.select_option("#multiplier", "15")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("[data-testid=start-draw]")
    page.wait_for_selector("[data-testid=record-table]")
    page.goto(meeting_url + "/draw")
    draws = text(page, "[data-testid=draw-table]")
    assert "1.5 倍\t" in draws and "\t3\t3\t罗文斌" in draws  # three candidates, three drawn
    finish(page, "专家抽选")
    while page.locator("button:has-text('确认参评')").count():
        with page.expect_navigation():
            page.locator("button:has-text('确认参评')").first.click()
    assert text(page, "[data-testid=expert-table]").count("\t确认参评\t") == 3
    shot(page, "02_experts")
    finish(page, "确认出席专家名单")
    page.locator("[data-testid=assign-table] select[name=main_reviewer_id]").first.select_option(index=1)
    with page.expect_navigation():
        page.locator("[data-testid=assign-table] form button").first.click()
    finish(page, "人员分配")
    page.fill("#review_plan", "按评分标准逐人评议，实行无记名投票。")
    submit(page, "text=保存评审方案")
    finish(page, "开启专家投票")
    shot(page, "03_voting_open")
    return str(meeting_url)


def vote(browser: Any, site: Site, staff_page: Any, meeting_url: str, n: int) -> None:
    """The staff give the n-th expert a password (told by phone); the expert signs in with the 手机号码 in a browser
    of their own, replaces the password, votes 同意 and submits."""
    staff_page.goto(meeting_url + "/experts")
    row = staff_page.locator("[data-testid=expert-table] tbody tr").nth(n)
    account = row.locator("td").nth(3).inner_text().strip()
    staff_page.once("dialog", lambda dialog: dialog.accept())
    row.locator("button:has-text('生成登录密码')").click()
    password = staff_page.inner_text("[data-testid=password] code.fs-6")
    expert = new_page(browser)
    expert.goto(f"{site.url}/expert/login")
    expert.fill("#account", account)
    expert.fill("#password", password)
    expert.click("button[type=submit]")
    expert.wait_for_url(re.compile(r"/expert/password$"))
    expert.fill("#old_password", password)
    expert.fill("#new_password", "Xin2026mima")
    expert.fill("#confirm_password", "Xin2026mima")
    expert.click("button:has-text('保存')")
    expert.wait_for_url(re.compile(r"/expert/$"))
    expert.click("text=进入评审")
    assert APPLICANT["name"] in text(expert, "[data-testid=ballot-table]")
    expert.click("[data-testid=ballot-table] >> text=评审")
    expert.check("#vote-pass")
    expert.fill("#opinion", "业绩突出，同意通过。")
    expert.click("[data-testid=save-ballot]")
    expert.once("dialog", lambda dialog: dialog.accept())
    expert.click("[data-testid=submit-ballots]")
    expert.wait_for_selector("[data-testid=submitted]")
    shot(expert, "04_expert_submitted")
    expert.context.close()


# --- 评审结果公示 (G12) -----------------------------------------------------------------------------------------------

def publish(page: Any, site: Site) -> int:
    """The 评审结果公示 waiting in 待办 opens the publish page; publishing completes it."""
    page.goto(f"{site.url}/inbox/")
    row = page.locator("tr", has_text="评审结果公示：")
    assert row.count() == 1 and "通过 1 人" in row.inner_text()
    shot(page, "05b_inbox_publicity_task")
    row.locator("a:has-text('办理')").click()
    page.wait_for_url(re.compile(r"/results/meetings/\d+/publish$"))
    assert "发布后该待办自动办结" in text(page, "[data-testid=publicity-task]")
    assert APPLICANT["name"] in text(page)
    page.wait_for_selector("[data-testid=end-on]")  # the last day, computed by the working-day calendar
    page.fill("#contact_name", "吴敏")
    page.fill("#contact_phone", "0833-2136712")
    shot(page, "06_publish")
    confirmed(page, "button:has-text('发布公示')")
    assert "评审结果公示已发布" in page.inner_text("body")
    assert text(page, "[data-testid=publicity-status]") == "公示中"
    publicity_id = int(re.search(r"/publicity/(\d+)", page.url).group(1))
    page.goto(f"{site.url}/inbox/")
    assert page.locator("tr", has_text="评审结果公示：").count() == 0  # done by publishing
    return publicity_id


def read_signed_out(browser: Any, site: Site, publicity_id: int) -> None:
    visitor = new_page(browser)  # nobody signed in
    visitor.goto(site.url + "/")
    visitor.click(f"[data-testid=public-results] a[href$='/public/results/{publicity_id}']")
    body = visitor.inner_text("body")
    assert APPLICANT["name"] in body and APPLICANT["unit"] in body and "一级教师" in body
    assert not ID_NUMBER.search(body) and APPLICANT["phone"] not in body
    assert "我要反馈" in body and "下载公示（PDF）" in body
    pdf = visitor.request.get(f"{site.url}/public/results/{publicity_id}/notice.pdf")
    assert pdf.ok and pdf.body().startswith(b"%PDF")
    shot(visitor, "07_public_notice")
    visitor.context.close()


def complain(browser: Any, site: Site, publicity_id: int) -> None:
    """我要反馈 by 张浩然, a signed-in applicant, naming 周晓明 with the ID number checked."""
    page = applicant(browser, site, "511102199203150130")
    page.goto(f"{site.url}/public/results/{publicity_id}")
    page.click("text=我要反馈")
    page.select_option("#entry_id", label=f"{APPLICANT['name']}（{APPLICANT['unit']}）")
    page.fill("#id_number", "511102198804120020")  # somebody else's number: refused
    page.fill("#complainant_name", "张浩然")
    page.fill("#complainant_phone", "13990000204")
    page.fill("#content", "其业绩证明中的课题结题时间与实际不符。")
    submit(page, "button:has-text('提交反馈')")
    assert "与所选被反馈人不符" in text(page)
    page.fill("#id_number", APPLICANT["id_number"])
    submit(page, "button:has-text('提交反馈')")
    assert "反馈已提交" in page.inner_text("body")
    page.context.close()


def record_offline(page: Any, site: Site, publicity_id: int, files: dict[str, Path]) -> None:
    page.goto(f"{site.url}/results/publicity/{publicity_id}")
    page.click("summary:has-text('录入线下投诉结果')")
    page.select_option("select[name=entry_id]", label=APPLICANT["name"])
    page.fill("input[name=complainant_name]", "李群众")
    page.fill("input[name=complainant_phone]", "13912345678")
    page.fill("textarea[name=content]", "来信反映其年度考核材料不全。")
    page.set_input_files("input[name=evidence]", str(files["投诉证据.pdf"]))
    submit(page, "button:has-text('录入')")
    assert "线下投诉已录入" in page.inner_text("body")


def end_publicity(publicity_id: int) -> None:
    from services.results import publicity

    item = db.session.get(ResultPublicity, publicity_id)
    publicity.release_due(item.end_on + timedelta(days=1))
    db.session.commit()


def settle_all(page: Any, site: Site, publicity_id: int) -> None:
    page.goto(f"{site.url}/results/publicity/{publicity_id}")
    assert text(page, "[data-testid=publicity-status]") == "公示结束"
    assert "投诉处理中" in text(page, "[data-testid=entries]")
    body = text(page)
    assert "课题结题时间与实际不符" in body and "年度考核材料不全" in body and "投诉证据.pdf" in body
    shot(page, "08_complaints")
    for _ in range(2):
        form = page.locator("form[action*='/settle']").first
        form.locator("select[name=outcome]").select_option("dismissed")
        form.locator("input[name=outcome_reason]").fill("经核实，反映情况不属实")
        page.once("dialog", lambda dialog: dialog.accept())
        with page.expect_navigation():
            form.locator("button").click()
        assert "投诉处理结果已保存" in page.inner_text("body")
    assert text(page).count("处理结果：投诉不成立") == 2
    assert "未确认" in text(page, "[data-testid=entries]")  # released to confirmation


# --- 评审结果备案 (G13), 结果确认 (H1, H2), 提交发证信息 (H3) ---------------------------------------------------------------

def file_results(office: Any, site: Site, page: Any, files: dict[str, Path]) -> None:
    today = date.today()
    page.goto(f"{site.url}/results/filings")
    page.fill("input[name=doc_no]", f"乐人社职〔{today.year}〕18号")
    page.fill("input[name=filed_on]", today.isoformat())
    page.set_input_files("input[name=report]", str(files["评审工作报告.pdf"]))
    confirmed(page, "button:has-text('申请备案')")
    assert "评审结果备案申请已提交授权管理单位审核" in page.inner_text("body")
    filing_url = page.url
    assert "审核中" in text(page)
    reviewer = staff(None, site, "ls_rsj_sh2", "/inbox/", page=office)  # 刘洋, a 审核人员 of the 授权管理单位
    reviewer.locator("tr", has_text="评审结果备案").locator("a:has-text('办理')").click()
    assert f"乐人社职〔{today.year}〕18号" in text(reviewer)
    reviewer.fill("#f-opinion", "同意备案")
    reviewer.once("dialog", lambda dialog: dialog.accept())
    reviewer.click("button[name=decision][value=pass]")
    reviewer.wait_for_url(re.compile(r"/inbox/$"))
    page.goto(filing_url)
    assert "已备案" in text(page) and "同意备案" in text(page)
    shot(page, "09_filed")


def confirm(page: Any, site: Site) -> None:
    table = text(page, "[data-testid=confirm-table]")
    assert APPLICANT["name"] in table and "未确认" in table
    shot(page, "10a_confirm_list")
    page.click("[data-testid=confirm-table] >> text=材料审阅")
    body = text(page)
    assert "学历证书.pdf" in body and "初中数学分层作业设计与实践" in body and "乐山第一中学校" in body
    shot(page, "10_material_review")
    page.click("[data-testid=to-confirm]")
    assert "材料审阅：查看申报材料" in text(page, "[data-testid=open-declaration]")
    shot(page, "10b_confirm_task")
    page.fill("#f-opinion", "经审阅，同意确认")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("button[name=decision][value=pass]")
    page.wait_for_url(re.compile(r"/inbox/$"))
    page.goto(f"{site.url}/results/confirm?tab=confirmed")
    assert APPLICANT["name"] in text(page, "[data-testid=confirm-table]")
    assert "已通过" in text(page, "[data-testid=confirm-table]")


def submit_certificate_information(page: Any, site: Site, publicity_id: int) -> None:
    year = date.today().year
    page.goto(f"{site.url}/results/committee?status=confirmed")
    page.check(f"[data-testid=committee-entries] input[aria-label='选择 {APPLICANT['name']}']")
    page.fill("input[name=doc_no]", f"乐人社职〔{year}〕25号")
    page.fill("input[name=approved_on]", date.today().isoformat())
    submit(page, "button:has-text('批量设置职称文件文号')")
    assert "已为 1 人设置职称文件文号" in page.inner_text("body")
    assert f"乐人社职〔{year}〕25号" in text(page, "[data-testid=committee-entries]")
    page.check(f"[data-testid=committee-entries] input[aria-label='选择 {APPLICANT['name']}']")
    confirmed(page, "button:has-text('提交发证信息')")
    assert "发证信息提交完成" in page.inner_text("body")
    page.goto(f"{site.url}/results/committee?status=confirmed")
    assert "发证信息已提交" in text(page, "[data-testid=committee-entries]")
    shot(page, "11_certificate_info")
    # 办结 waits for the certificate (the issuer's queue is the certificates issue's own journey).
    page.goto(f"{site.url}/results/publicity/{publicity_id}")
    confirmed(page, "button:has-text('办结')")
    assert "证书未发放" in page.inner_text("body")
