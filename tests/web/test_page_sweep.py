"""Every page a demo account can reach by following links: no server error, and no raw code on screen.

The demo is seeded, then each account walks the links of the pages it sees (GET only, at most two pages per
route shape, so /committees/1 and /committees/2 count once). The visible text of every HTML page is checked
against every stored code the models and services label (`*_LABELS` dictionaries): a status, type or method must
read in Chinese ("regular" on the committee page read as 自主评审 only after a fix). Identifiers an administrator
needs to see as such (a BPMN process id) are shown in <code> and not counted."""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections import deque
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urldefrag, urlsplit

import pytest
from sqlalchemy import select

import app.models
import services
from app.extensions import db
from app.models import Applicant
from services.demo.organisation import seed_demo

CONFIG = Path(__file__).resolve().parents[2] / "admin_config"
DEMO_PASSWORD = "Zhiping2026"
STAFF = ["admin", "sc_rst", "ls_rsj", "ls_rsj_sh1", "ls_rsj_zg", "ls_jyj_sh", "ls_yz", "ls_yz_sh1"]
PAGES_PER_SHAPE = 2
# Links that change state on GET or leave the signed-in session.
SKIP = re.compile(r"/logout|/export|/download|/file|/template|\.xml$|\.xlsx$|\.pdf$|/static/")
# Words the pages may show in ASCII that are not codes (file kinds, units of measure).
NOT_CODES = {"pdf", "xlsx", "docx", "jpg", "png", "zip", "mb"}


def labelled_codes() -> set[str]:
    """Every key of every `*_LABELS` dictionary in app.models and services (module or class level)."""
    modules = [importlib.import_module(m.name) for package in (app.models, services)
               for m in pkgutil.walk_packages(package.__path__, package.__name__ + ".")]
    codes: set[str] = set()
    for module in modules:
        holders = [module, *(v for v in vars(module).values() if isinstance(v, type))]
        for holder in holders:
            for name, value in vars(holder).items():
                if name.endswith("_LABELS") and isinstance(value, dict):
                    codes |= {k for k in value if isinstance(k, str) and re.fullmatch(r"[a-z][a-z_]+", k)}
    return codes - NOT_CODES


class VisibleText(HTMLParser):
    """Text a reader sees (outside scripts and <code> identifiers), and the links they can follow."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.links: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "template", "code"):
            self._hidden += 1
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.links.append(href)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "template", "code") and self._hidden:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.text.append(data)


def crawl(client, start: str, codes: set[str]) -> tuple[int, list[str]]:
    seen_shapes: dict[str, int] = {}
    queue, visited, problems = deque([start]), set(), []
    while queue:
        url = queue.popleft()
        if url in visited:
            continue
        visited.add(url)
        shape = re.sub(r"\d+", "N", urlsplit(url).path)
        if seen_shapes.get(shape, 0) >= PAGES_PER_SHAPE:
            continue
        seen_shapes[shape] = seen_shapes.get(shape, 0) + 1
        response = client.get(url)
        if response.status_code >= 500:
            problems.append(f"{url}: HTTP {response.status_code}")
            continue
        if response.status_code != 200 or not response.mimetype == "text/html":
            continue
        parser = VisibleText()
        parser.feed(response.get_data(as_text=True))
        words = set(re.findall(r"(?<![\w./@-])[a-z][a-z_]+(?![\w./@-])", " ".join(parser.text)))
        if raw := sorted(words & codes):
            problems.append(f"{url}: raw codes on screen {raw}")
        for href in parser.links:
            href = urldefrag(href).url
            parts = urlsplit(href)
            if parts.scheme or parts.netloc or not href.startswith("/") or SKIP.search(parts.path):
                continue
            queue.append(href)
    return len(visited), problems


@pytest.fixture
def demo(database):
    assert seed_demo(CONFIG) is not None
    db.session.commit()


@pytest.mark.parametrize("username", STAFF)
def test_staff_pages_show_no_raw_codes_and_no_errors(demo, client, username):
    assert client.post("/login", data={"username": username, "password": DEMO_PASSWORD}).status_code == 302
    pages, problems = crawl(client, "/", labelled_codes())
    assert pages > 5, f"{username} reached only {pages} pages"
    assert problems == [], "\n".join(problems)


def test_applicant_pages_show_no_raw_codes_and_no_errors(demo, client):
    applicant = db.session.scalars(select(Applicant).order_by(Applicant.id)).first()
    response = client.post("/applicant/login", data={"account": applicant.id_number, "password": DEMO_PASSWORD})
    assert response.status_code == 302
    pages, problems = crawl(client, "/applicant/", labelled_codes())
    assert pages > 3 and problems == []
