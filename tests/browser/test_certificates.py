"""批量发证 in a browser (issue 17, P5/I7): an issuer clears a queue of 300 tasks in one action on a real worker,
watches the progress bar, downloads one PDF, opens its verification link signed out and sees it valid; after 撤销
the same link says 已撤销."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
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
PEOPLE = 300
PASSWORD = ISSUER_PASSWORD
WORKER = Path(__file__).resolve().parents[1] / "jobs" / "job_worker.py"


def prepare() -> None:
    from app.models import HumanTask
    from services.certificates import issuance

    user, people = issuer_with_people([f"李{n:03d}" for n in range(PEOPLE)])
    issuance.queue(user, "review", people)
    for task in db.session.scalars(db.select(HumanTask).where(HumanTask.status == "open")).all():
        issuance.complete_task(user, task.id, "pass")


@pytest.fixture
def live(tmp_path: Path) -> Any:
    broker = f"sqla+sqlite:///{tmp_path / 'broker.sqlite'}"
    app = browser_app(tmp_path, prepare, {"CELERY_TASK_ALWAYS_EAGER": False, "CELERY_BROKER_URL": broker,
                                           "CELERY_RESULT_BACKEND": f"db+sqlite:///{tmp_path / 'results.sqlite'}",
                                           "CELERY_QUEUE": "zhiping-browser-certificates"})
    with serving(app) as url:
        overrides = {"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"], "SECRET_KEY": "browser-test",
                     "UPLOAD_FOLDER": app.config["UPLOAD_FOLDER"], "CELERY_BROKER_URL": broker,
                     "CELERY_RESULT_BACKEND": f"db+sqlite:///{tmp_path / 'results.sqlite'}",
                     "CELERY_QUEUE": "zhiping-browser-certificates", "PUBLIC_BASE_URL": url}
        env = {**os.environ, "ZHIPING_TEST_OVERRIDES": json.dumps(overrides), "ZHIPING_TEST_INSTANCE": str(tmp_path)}
        worker = subprocess.Popen([sys.executable, str(WORKER)], env=env, cwd=str(WORKER.parents[2]))
        try:
            yield url
        finally:
            worker.terminate()
            worker.wait(10)


def test_an_issuer_clears_300_tasks_and_the_qr_link_follows_revocation(live: str, tmp_path: Path) -> None:
    shots = Path("/tmp/cert_browser")
    shots.mkdir(exist_ok=True)
    with chromium() as browser:
        page = sign_in(browser, live, "issuer", PASSWORD)
        page.goto(f"{live}/certificates/queue?source=review&tab=waiting")
        assert page.locator('[data-testid="count-waiting"]').inner_text() == str(PEOPLE)
        page.screenshot(path=str(shots / "queue.png"), full_page=True)
        page.on("dialog", lambda dialog: dialog.accept())
        page.click('[data-testid="clear-all"]')
        page.wait_for_url(re.compile(r"/jobs/\d+"))
        panel = page.locator('[data-testid="job-panel"]')
        states, bars = [], []
        for _ in range(1200):  # the panel refreshes itself every second (htmx) until the job ends
            state = panel.get_attribute("data-state")
            bar = panel.locator(".progress-bar")
            percent = bar.inner_text() if bar.count() else ""
            if not states or (state, percent) != (states[-1], bars[-1]):
                states.append(state)
                bars.append(percent)
                if state != "done":
                    page.screenshot(path=str(shots / "progress.png"), full_page=True)
            if state == "done":
                break
            page.wait_for_timeout(100)
        assert state == "done", states
        assert states[0] in ("queued", "running") and bars[-1] == "100%", list(zip(states, bars, strict=True))
        assert page.locator('[data-testid="job-counts"]').inner_text() == f"共 {PEOPLE} 条，已处理 {PEOPLE} 条"
        page.screenshot(path=str(shots / "done.png"), full_page=True)

        page.goto(f"{live}/certificates/queue?source=review&tab=issued")
        assert page.locator('[data-testid="count-issued"]').inner_text() == str(PEOPLE)
        page.locator('[data-testid="issued-table"] a', has_text="证书详情").first.click()
        page.wait_for_url(re.compile(r"/certificates/\d+$"))
        name = page.locator('[data-testid="certificate-fields"] tr:nth-child(3) td').inner_text()
        verify_url = page.locator('input[data-select-all]').input_value()
        assert verify_url.startswith(f"{live}/verify/")
        pdf_url = page.locator('[data-testid="download-pdf"]').get_attribute("href")
        pdf = page.request.get(f"{live}{pdf_url}")
        assert pdf.ok and pdf.body().startswith(b"%PDF")
        (tmp_path / "one.pdf").write_bytes(pdf.body())
        text = subprocess.run(["pdftotext", str(tmp_path / "one.pdf"), "-"], capture_output=True, check=True).stdout
        import unicodedata

        assert name in unicodedata.normalize("NFKC", text.decode())
        page.screenshot(path=str(shots / "detail.png"), full_page=True)

        visitor = browser.new_context().new_page()  # signed out
        visitor.goto(verify_url)
        assert "证书有效" in visitor.locator('[data-testid="verify-status"]').inner_text()
        assert name in visitor.content()
        visitor.screenshot(path=str(shots / "verify_valid.png"), full_page=True)

        page.fill('textarea[name="reason"]', "材料弄虚作假")
        page.click('[data-testid="revoke"]')
        page.wait_for_selector('[data-testid="certificate-status"]:has-text("已撤销")')
        visitor.reload()
        assert "证书已撤销" in visitor.locator('[data-testid="verify-status"]').inner_text()
        visitor.screenshot(path=str(shots / "verify_revoked.png"), full_page=True)
