"""The 申报 review pages in Chromium over the demo organisation (issue 13 "Review pages"): the sidebar keeps its width
beside wide pages, and a returned declaration comes back to the unit with its 退回 reason in a banner on top."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Applicant, Declaration
from services.applications import declarations
from services.demo import organisation as demo
from tests.browser.live import Site, browser_app, needs_chromium, serving, sign_in
from tests.conftest import ROOT

pytestmark = needs_chromium
SHOTS = Path("/tmp/walk")



@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    app = browser_app(tmp_path_factory.mktemp("review-pages"), lambda: demo.seed_demo(ROOT / "admin_config"))
    with serving(app) as url:
        yield Site(app, url, demo.demo_password(ROOT / "admin_config"))



def signed_in(browser: Any, site: Site, username: str, width: int = 1400) -> Any:
    return sign_in(browser, site.url, username, site.password, width=width, height=1000)


def declaration_of(site: Site, name: str) -> int:
    return site.query(lambda: db.session.scalar(select(Declaration.id).join(Applicant).where(Applicant.name == name)))


@pytest.mark.parametrize("width", [1400, 1920])
def test_the_sidebar_keeps_its_width_beside_wide_pages(browser, site, width):
    page = signed_in(browser, site, "ls_rsj", width)
    for path in ("/activities/1", f"/application-review/applications/{declaration_of(site, '张浩然')}",
                 "/committees/1"):
        page.goto(f"{site.url}{path}")
        # The widest content a page may hold: a table that will not wrap.
        page.evaluate("""() => { const t = document.createElement('table'); t.style.width = '3000px';
            t.innerHTML = '<tr><td>' + '很长的内容'.repeat(200) + '</td></tr>';
            document.querySelector('main').appendChild(t); }""")
        width_px = page.evaluate("getComputedStyle(document.querySelector('aside.sidebar')).width")
        box = page.evaluate("document.querySelector('aside.sidebar').getBoundingClientRect().width")
        assert (width_px, round(box)) == ("220px", 220), path
    page.screenshot(path=str(SHOTS / f"sidebar_{width}.png"))


def test_a_returned_declaration_comes_back_with_its_reason_in_a_banner(browser, site):
    declaration_id = declaration_of(site, "张浩然")
    page = signed_in(browser, site, "ls_jyj_sh")
    page.goto(f"{site.url}/application-review/applications/{declaration_id}")
    assert page.locator("[data-testid=return-banner]").count() == 0  # a first arrival has none
    page.select_option("#f-return_to", "applicant")
    page.fill("#f-opinion", "请补充近三年年度考核表")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("button[name=decision][value=return]")
    page.wait_for_url(re.compile(r"/application-review/subordinates"))

    def resubmit() -> None:
        declaration = db.session.get(Declaration, declaration_id)
        declarations.submit(declaration.applicant, declaration, datetime.now(), note="已补充考核表")
        db.session.commit()

    site.query(resubmit)
    page.goto(f"{site.url}/inbox/")
    assert page.locator("[data-testid=arrival-mark]", has_text="复审").count() == 1
    page.goto(f"{site.url}/application-review/applications/{declaration_id}")
    banner = page.locator("[data-testid=return-banner]")
    assert banner.is_visible()
    assert "请补充近三年年度考核表" in banner.inner_text() and "复审" in banner.inner_text()
    top = page.evaluate("document.querySelector('[data-testid=return-banner]').getBoundingClientRect().top")
    assert top < page.evaluate("document.querySelector('[data-testid=declaration]').getBoundingClientRect().top")
    page.screenshot(path=str(SHOTS / "return_banner.png"), full_page=False)
    # The process diagram renders under the CSP with the current step (单位审核) marked.
    page.wait_for_selector('#diagram .djs-element.task-current[data-element-id="review_by_unit"]')
    page.locator("#diagram").scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "review_diagram.png"))


def test_a_refused_school_pass_keeps_the_chosen_files_and_shows_each_error_once(browser, site, tmp_path):
    declaration_id = declaration_of(site, "李雨桐")
    proof, recommendation = tmp_path / "公示证明.pdf", tmp_path / "推荐意见.pdf"
    for path in (proof, recommendation):
        path.write_bytes(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
    page = signed_in(browser, site, "ls_yz_sh1")
    page.goto(f"{site.url}/application-review/applications/{declaration_id}")
    page.fill("#f-publicity_start", "")
    page.fill("#f-publicity_end", "")
    page.set_input_files("input[name=publicity_proof]", str(proof))
    page.set_input_files("input[name=recommendation]", str(recommendation))
    page.fill("#f-opinion", "")

    page.click("button[name=decision][value=pass]")

    page.wait_for_selector("[data-testid=pending-publicity_proof]")
    assert page.inner_text("[data-testid=pending-publicity_proof]") == "公示证明.pdf"
    assert page.inner_text("[data-testid=pending-recommendation]") == "推荐意见.pdf"
    text = page.inner_text("body")
    assert text.count("审核意见：必填") == 1 and text.count("公示时间：请填写本单位申报公示的开始和结束日期") == 1
    page.screenshot(path=str(SHOTS / "school_pass_refused.png"), full_page=True)


def test_the_current_title_list_is_searchable_by_series_and_name(browser, site):
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    page.set_default_timeout(20_000)
    page.goto(f"{site.url}/applicant/login")
    page.fill("input[name=account]", "511102198804120020")  # 李雨桐, a demo applicant
    page.fill("input[name=password]", site.password)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/applicant/"))
    page.goto(f"{site.url}/applicant/profile/title")
    everything = page.locator("#f-title_id option").count()

    page.fill("#f-title-search", "中小学 一级")

    shown = page.evaluate("""[...document.querySelectorAll('#f-title_id option')]
        .filter(o => !o.hidden && o.value).map(o => o.textContent.trim())""")
    groups = page.evaluate("""[...document.querySelectorAll('#f-title_id optgroup')]
        .filter(g => !g.hidden).map(g => g.label)""")
    assert everything > 100 and shown and all("一级" in text for text in shown)
    assert groups == ["中小学教师"]
    page.screenshot(path=str(SHOTS / "title_search.png"))
