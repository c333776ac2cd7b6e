"""首页 (S 1.2.1, M1) in Chromium over the demo organisation (with its 通知公告): 评审工作监督 with its charts drawn as inline SVG, the
figures equal to counts taken from the database, no CSP violation; and the public home page signed out (K3).
Screenshots go to /tmp/walk; the ones looked at are committed under docs/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Committee, Declaration, ReviewActivity, User
from services.demo import organisation as demo
from tests.browser.live import browser_app, needs_chromium, serving, sign_in
from tests.conftest import ROOT

pytestmark = needs_chromium
# Screenshots go beside the other browser tests' (copies of them are committed under docs/ after a look).
SHOTS = Path("/tmp/walk")
WATCH = """window.__csp = []; document.addEventListener("securitypolicyviolation",
  function (e) { window.__csp.push(e.violatedDirective + " " + e.blockedURI); });"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    app = browser_app(tmp_path_factory.mktemp("home-dashboard"), lambda: demo.seed_demo(ROOT / "admin_config"))
    with serving(app) as url:
        yield app, url, demo.demo_password(ROOT / "admin_config")



def test_the_home_page_draws_its_supervision_charts(browser, site):
    app, url, password = site
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "ls_rsj"))
        supervised = select(Committee.id).where(Committee.forming_unit_id == user.unit_id)
        activity_id, name = db.session.execute(select(ReviewActivity.id, ReviewActivity.name).where(
            ReviewActivity.committee_id.in_(supervised)).order_by(ReviewActivity.id)).first()
        declared = db.session.scalar(select(func.count()).where(Declaration.activity_id == activity_id,
                                                                Declaration.first_submitted_at.is_not(None)))
        committees = db.session.scalar(select(func.count()).select_from(Committee).where(
            Committee.forming_unit_id == user.unit_id))
    assert declared >= 2, "the demo has declarations under review"

    page = sign_in(browser, url, "ls_rsj", password, height=1000)
    page.add_init_script(WATCH)
    page.reload()

    chart = page.locator(f'[data-testid="activity-chart-{activity_id}"]')
    assert chart.is_visible()
    bars = chart.locator("rect.bar")
    assert bars.count() == 9
    assert bars.nth(0).get_attribute("data-value") == str(declared)
    assert chart.bounding_box()["width"] > 200
    assert float(bars.nth(0).get_attribute("width")) > 0, "the 已申报 bar is drawn"
    assert name in page.locator('[data-testid="activity-progress"]').inner_text()
    counts = page.locator('[data-testid="committee-counts"]').inner_text()
    assert counts.split()[0] == str(committees)
    assert page.locator('[data-testid="committee-chart"] rect.bar').count() == 3
    assert page.locator('[data-testid="home-todo"]').is_visible()
    assert page.evaluate("window.__csp") == []
    page.locator('[data-testid="supervision"]').scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "home_dashboard.png"), full_page=True)


def test_the_public_home_page_lists_notices_signed_out(browser, site):
    _, url, _ = site
    page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    page.add_init_script(WATCH)
    page.goto(f"{url}/")
    listed = page.locator('[data-testid="public-notices"]').inner_text()
    assert "关于开展2026年度乐山市中小学教师中级职称评审工作的通知" in listed and "中小学教师中级职称申报条件" in listed
    page.click("text=常见问题")
    # The tab is a link: the list is read once its page has loaded, not from the page being left.
    page.wait_for_url(re.compile(r"[?&]type="))
    assert page.locator('[data-testid="public-notices"] a').all_inner_texts() == ["申报材料被退回后如何修改"]
    page.click("text=全部公告")
    page.click("text=职称评审管理暂行规定（人力资源社会保障部令第40号）")
    assert page.locator('[data-testid="notice-title"]').inner_text() == "职称评审管理暂行规定（人力资源社会保障部令第40号）"
    assert "自2019年9月1日起施行" in page.locator('[data-testid="notice-body"]').inner_text()
    assert page.evaluate("window.__csp") == []
    page.goto(f"{url}/")
    page.screenshot(path=str(SHOTS / "public_home.png"), full_page=True)
