"""The Content-Security-Policy (issue 13 "Hardening"): scripts from this site's files only, and the pages that
need script still work under it — the bpmn-js modeler and viewer, htmx searches, the confirm dialogs — with no
violation reported by Chromium."""

from __future__ import annotations

import re
from typing import Any

import pytest

from services.workflow import definitions
from tests.browser.live import needs_chromium
from tests.browser.test_modeler import live_server, open_newest_in_modeler, page  # noqa: F401

pytestmark = needs_chromium

# Every violation the page reports, kept where the test can read it.
WATCH = """window.__csp = []; document.addEventListener("securitypolicyviolation",
  function (e) { window.__csp.push(e.violatedDirective + " " + e.blockedURI); });"""


@pytest.fixture
def watched(page: Any) -> Any:  # noqa: F811
    page.context.add_init_script(WATCH)
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.csp_console_errors = errors
    return page


def violations(browser_page: Any) -> list[str]:
    reported = browser_page.evaluate("window.__csp || []")
    return reported + [e for e in browser_page.csp_console_errors if "Content Security Policy" in e]


def test_the_policy_allows_scripts_from_this_site_only(watched, live_server):  # noqa: F811
    response = watched.goto(f"{live_server.url}/process-admin/")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    assert "unsafe-eval" not in policy
    assert response.headers["x-frame-options"] == "SAMEORIGIN"
    assert response.headers["x-content-type-options"] == "nosniff"
    # An inline script injected into the page is refused by the browser.
    watched.evaluate("""() => { const s = document.createElement('script'); s.textContent = 'window.__ran = 1';
                               document.body.appendChild(s); }""")
    assert watched.evaluate("window.__ran") is None
    assert any("script-src" in v for v in violations(watched))


def test_the_modeler_and_the_instance_viewer_work_under_the_policy(watched, live_server):  # noqa: F811
    open_newest_in_modeler(watched, live_server)
    assert watched.locator('.djs-shape[data-element-id="fill_in"]').count() == 1
    instance_id = live_server.start_instance("策略检查")
    watched.goto(f"{live_server.url}/process-admin/instances/{instance_id}")
    watched.wait_for_selector(".djs-shape")
    watched.screenshot(path="/tmp/walk/csp_instance.png")
    assert violations(watched) == []


def test_htmx_works_under_the_policy(watched, live_server):  # noqa: F811
    watched.context.clear_cookies()
    watched.goto(f"{live_server.url}/register")
    search = watched.locator("input[type=search][hx-get]").first
    with watched.expect_response(lambda r: "/register/superiors" in r.url) as answered:
        search.fill("人力资源")
    assert answered.value.status == 200  # htmx sent the search and swapped its answer in
    watched.wait_for_load_state("networkidle")
    watched.screenshot(path="/tmp/walk/csp_htmx.png")
    assert violations(watched) == []


def test_a_data_confirm_button_asks_and_a_refusal_keeps_the_page(watched, live_server):  # noqa: F811
    instance_id = live_server.start_instance("确认对话框")
    watched.goto(f"{live_server.url}/process-admin/instances/{instance_id}")
    asked: list[str] = []

    def dismiss(dialog: Any) -> None:
        asked.append(dialog.message)
        dialog.dismiss()

    watched.on("dialog", dismiss)
    watched.fill("form[data-confirm] input[name=reason]", "测试")
    watched.click("form[data-confirm] button")
    assert asked == ["终止后不能恢复，确定终止该实例？"]
    assert re.search(rf"/instances/{instance_id}$", watched.url)
    assert violations(watched) == []


@pytest.mark.parametrize("process_id", ["application_review", "unit_review"])
def test_the_modeler_palette_does_not_cover_the_start_event(watched, live_server, process_id):  # noqa: F811
    version = live_server.query(lambda: definitions.latest(process_id).version)
    watched.goto(f"{live_server.url}/process-admin/{process_id}/v{version}/edit")
    watched.wait_for_selector("body[data-modeler-ready='1']")

    palette = watched.evaluate("document.querySelector('.djs-palette').getBoundingClientRect().right")
    start = watched.evaluate("""Math.min(...[...document.querySelectorAll('.djs-shape[data-element-id]')]
        .filter(s => !s.closest('.djs-palette')).map(s => s.getBoundingClientRect().left))""")

    watched.screenshot(path=f"/tmp/walk/modeler_{process_id}.png")
    assert start > palette
