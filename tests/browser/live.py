"""What the browser tests share: Debian's Chromium, an app over its own SQLite database built by the real
migrations (its commits persist: the page and the test talk to the same database), a live server for it in a
thread on a free 127.0.0.1 port, and a page signed in through the real form."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from app import create_app
from app.extensions import db
from services.reference import reference_data
from services.workflow import definitions
from tests.conftest import ROOT

CHROMIUM = Path("/usr/bin/chromium")
needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")
ISSUER_PASSWORD = "Passw0rd2026"


class Site:
    """A live server as a browser test holds it: its app (to read the database), its address, the demo password."""

    def __init__(self, app: Any, url: str, password: str) -> None:
        self.app, self.url, self.password = app, url, password

    def query(self, fn: Any) -> Any:
        with self.app.app_context():
            return fn()


def issuer_with_people(names: list[str]) -> tuple[Any, list[dict[str, str]]]:
    """乐山市人社局 with one 发证 staff member (username issuer, password ISSUER_PASSWORD) and the issuance
    information of `names`, 一级教师 by 乐人社〔2026〕66号, for tests of the issuers' queues."""
    from helpers import region_id, valid_credit_code, valid_id_number

    from app.models import Unit, User
    from services.org.accounts import hash_password

    unit = Unit(name="乐山市人力资源和社会保障局", credit_code=valid_credit_code("11"), unit_type_code="hr",
                nature_code="organ", region_id=region_id("511100"), phone="0833-2000000", path="")
    db.session.add(unit)
    db.session.flush()
    unit.path = f"/{unit.id}/"
    user = User(username="issuer", password_hash=hash_password(ISSUER_PASSWORD), name="发证员",
                phone="13800000000", unit_id=unit.id, is_unit_admin=True, session_token="t")
    db.session.add(user)
    db.session.flush()
    people = [{"name": name, "id_number": valid_id_number(birth="19850315", sequence=n),
               "work_unit": "乐山第一中学校", "series_name": "中小学教师", "specialty_name": "数学",
               "title_name": "一级教师", "level_name": "中级", "qualified_on": "2026-11-30",
               "committee_name": "乐山市中小学教师中级职称评审委员会", "approval_no": "乐人社〔2026〕66号",
               "approved_on": "2026-12-01"} for n, name in enumerate(names, 1)]
    return user, people


def browser_app(tmp_dir: Path, prepare: Callable[[], Any] | None = None,
                overrides: dict[str, Any] | None = None) -> Flask:
    """The app on tmp_dir/browser.db, migrated, with the reference data and the diagrams deployed; `prepare`
    runs inside its app context before the commit. `overrides` (a real worker's broker, say) go last."""
    app = create_app({"SECRET_KEY": "browser-test", "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
                      "CELERY_TASK_ALWAYS_EAGER": True,  # no worker beside the live server: jobs run in the request
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_dir / 'browser.db'}",
                      "SQLALCHEMY_ENGINE_OPTIONS": {}, "UPLOAD_FOLDER": str(tmp_dir / "uploads"),
                      **(overrides or {})},
                     instance_path=str(tmp_dir))
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        reference_data.load_all(ROOT / "admin_config")
        definitions.deploy_directory()
        if prepare is not None:
            prepare()
        db.session.commit()
    return app


@contextmanager
def serving(app: Flask) -> Iterator[str]:
    """The app served in a thread; yields its base URL and stops it (and its connections) afterwards."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        with app.app_context():
            db.engine.dispose()


@contextmanager
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            yield browser
        finally:
            browser.close()


def sign_in(browser: Any, url: str, username: str, password: str, width: int = 1400, height: int = 900) -> Any:
    """A new page in its own browser context, signed in as `username` through /login."""
    page = browser.new_context(viewport={"width": width, "height": height}).new_page()
    page.set_default_timeout(20_000)
    page.goto(f"{url}/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/$"))
    return page
