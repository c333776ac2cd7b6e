"""In a browser (issue 17): the 待办事项 batch runs as a job and its result page lists each task; an issuer downloads
a certificate's 评审表 from 已发放 and several from 证书查询; 证书详情 and the verification page show the
电子证照标识. Screenshots go to $SCREENSHOT_DIR when it is set."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from app.extensions import db
from tests.browser.live import (
    ISSUER_PASSWORD,
    browser_app,
    chromium,
    issuer_with_people,
    needs_chromium,
    serving,
    sign_in,
)

pytestmark = needs_chromium
PASSWORD = ISSUER_PASSWORD


def prepare() -> None:
    from app.models import HumanTask
    from services.certificates import bulk, issuance

    user, people = issuer_with_people([f"李{n:02d}" for n in range(1, 6)])
    issuance.queue(user, "review", people)
    db.session.flush()
    first_two = list(db.session.scalars(db.select(HumanTask.id).where(HumanTask.status == "open")
                                        .order_by(HumanTask.id).limit(2)))
    bulk.start_clearing(user, "pass", first_two)
    bulk.start_clearing(user, "issue", list(db.session.scalars(db.select(HumanTask.id).where(
        HumanTask.status == "open", HumanTask.bpmn_id == "issue_certificate"))))


@pytest.fixture
def live(tmp_path: Path) -> Any:
    app = browser_app(tmp_path, prepare)
    with serving(app) as url:
        yield url


def shot(page: Any, name: str) -> None:
    folder = os.environ.get("SCREENSHOT_DIR")
    if folder:
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def test_inbox_batch_result_page_and_review_form_downloads(live: str) -> None:
    with chromium() as browser:
        page = sign_in(browser, live, "issuer", PASSWORD)
        page.goto(f"{live}/inbox/")
        boxes = page.locator("input[name=task_ids]:not([disabled])")
        assert boxes.count() == 3
        for n in range(boxes.count()):
            boxes.nth(n).check()
        page.fill("#batch-opinion", "发证信息无误")
        page.once("dialog", lambda dialog: dialog.accept())
        page.locator("[data-testid=batch-panel] button", has_text="批量通过").click()
        page.wait_for_url(f"{live}/inbox/batch/*")
        assert page.locator("[data-testid=batch-result] tr[data-status=done]").count() == 3
        assert "共 3 条：完成 3 条，未处理 0 条" in page.inner_text("[data-testid=batch-summary]")
        shot(page, "inbox_batch_result")

        page.goto(f"{live}/certificates/queue?source=review&tab=issued")
        shot(page, "certificates_issued_review_forms")
        with page.expect_download() as one:
            page.locator("[data-testid=review-form]").first.click()
        pdf = Path(one.value.path()).read_bytes()
        text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
        assert pdf.startswith(b"%PDF") and "评审表" in text and "李0" in text

        page.goto(f"{live}/certificates/")
        page.locator("[data-testid=certificate-table] input[data-check-all]").check()
        shot(page, "certificates_query_review_forms")
        with page.expect_download() as several:
            page.click("[data-testid=review-forms-selected]")
        text = subprocess.run(["pdftotext", "-", "-"], input=Path(several.value.path()).read_bytes(),
                              capture_output=True, check=True).stdout.decode()
        assert "李01" in text and "李02" in text

        page.locator("[data-testid=certificate-table] a", has_text="详情").first.click()
        assert "电子证照标识" in page.inner_text("[data-testid=certificate-fields]")
        shot(page, "certificate_detail")
        page.goto(page.input_value("input[aria-label=核验地址]"))
        assert page.inner_text("[data-testid=license-id]").startswith("1.2.156.3005.2.")
        shot(page, "certificate_verify")
