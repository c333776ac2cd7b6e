"""通知公告管理 (S 1.2.15.1, K3): add / edit / publish / withdraw / delete, the public home page by type with paging
and search, and the sanitised HTML a visitor reads."""

from __future__ import annotations

import io
import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import insert, select

from app.extensions import db
from app.models import Notice

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
HOSTILE = ('<p>请各单位<strong>按时</strong>申报。</p><script>alert("x1")</script>'
           '<img src="x.png" onerror="alert(\'x2\')"><a href="javascript:alert(\'x3\')">点此</a>'
           '<a href="https://www.sc.gov.cn/" onclick="alert(\'x4\')">四川省人民政府</a><style>body{display:none}</style>')


@pytest.fixture
def hr_admin(make_unit, make_user):
    return make_user(make_unit(unit_type="hr", region="511100B", name="乐山市人力资源和社会保障局"), admin=True)


def public_titles(html: str) -> list[str]:
    block = html.split('data-testid="public-notices"', 1)[1].split("</ul>", 1)[0]
    return re.findall(r'/public/notices/\d+">([^<]+)</a>', block)


def test_a_notices_script_is_gone_on_the_public_page(client, login, hr_admin):
    login(hr_admin)
    response = client.post("/notices/new", data={"notice_type": "notice", "title": "关于2026年度职称申报的通知",
                                                 "body_html": HOSTILE, "publish": "1"})
    assert response.status_code == 302
    notice = db.session.scalars(select(Notice)).one()
    client.post("/logout")

    home = client.get("/").get_data(as_text=True)
    assert public_titles(home) == ["关于2026年度职称申报的通知"]
    page = client.get(f"/public/notices/{notice.id}")
    html = page.get_data(as_text=True)
    body = html.split('data-testid="notice-body">', 1)[1].split("</div>", 1)[0]

    assert page.status_code == 200
    assert "<script" not in body and "x1" not in html
    assert "onerror" not in html and "onclick" not in html and "javascript:" not in html and "<style" not in body
    assert "<p>请各单位<strong>按时</strong>申报。</p>" in body
    assert 'href="https://www.sc.gov.cn/"' in body and "四川省人民政府" in body
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]


def test_publish_withdraw_and_delete(client, login, hr_admin):
    login(hr_admin)
    client.post("/notices/new", data={"notice_type": "policy", "title": "职称评审管理暂行规定", "body_html": "<p>正文</p>",
                                      "attachment": (io.BytesIO(PDF), "规定.pdf")},
                content_type="multipart/form-data")
    notice = db.session.scalars(select(Notice)).one()
    assert notice.status == "draft" and notice.attachment["filename"] == "规定.pdf"
    assert client.get(f"/public/notices/{notice.id}").status_code == 404, "a draft is not public"

    assert client.post(f"/notices/{notice.id}/publish").status_code == 302
    assert client.post(f"/notices/{notice.id}/publish").status_code == 409
    assert client.post(f"/notices/{notice.id}/delete").status_code == 409, "withdraw before deleting"
    file = client.get(f"/public/notices/{notice.id}/file")
    assert file.status_code == 200 and file.data == PDF

    edited = client.post(f"/notices/{notice.id}/edit", data={"notice_type": "policy", "title": "职称评审管理暂行规定（修订）",
                                                              "body_html": "<p>新正文</p>"})
    assert edited.status_code == 302 and db.session.get(Notice, notice.id).status == "published"

    assert client.post(f"/notices/{notice.id}/withdraw").status_code == 302
    assert client.get(f"/public/notices/{notice.id}").status_code == 404
    listing = client.get("/notices/?status=withdrawn").get_data(as_text=True)
    assert "职称评审管理暂行规定（修订）" in listing and "已撤销" in listing
    assert client.post(f"/notices/{notice.id}/delete").status_code == 302
    assert db.session.get(Notice, notice.id) is None


def test_bad_input_names_the_field_and_writes_nothing(client, login, hr_admin):
    login(hr_admin)
    response = client.post("/notices/new", data={"notice_type": "nonsense", "title": "", "body_html": "x"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "公告类型：请选择" in html and "公告标题：必填" in html
    assert db.session.scalars(select(Notice)).all() == []


def test_another_units_notice_is_not_found(client, login, make_unit, make_user, hr_admin):
    notice = Notice(unit_id=hr_admin.unit_id, notice_type="faq", title="常见问题一", body_html="", status="draft")
    db.session.add(notice)
    db.session.flush()
    other = make_user(make_unit(unit_type="hr", region="510100B", name="成都市人力资源和社会保障局"), admin=True)
    login(other)
    assert client.get(f"/notices/{notice.id}/edit").status_code == 404
    assert "常见问题一" not in client.get("/notices/").get_data(as_text=True)


def test_the_public_page_lists_by_type_with_paging_and_search(client, hr_admin):
    now = datetime(2026, 11, 1, 9, 0)
    rows = [{"unit_id": hr_admin.unit_id, "notice_type": "policy", "title": f"政策文件第{n:02d}号", "body_html": "",
             "status": "published", "published_at": now + timedelta(hours=n)} for n in range(1, 21)]
    rows += [{"unit_id": hr_admin.unit_id, "notice_type": "faq", "title": "如何修改申报材料", "body_html": "",
              "status": "published", "published_at": now},
             {"unit_id": hr_admin.unit_id, "notice_type": "faq", "title": "未发布的问题", "body_html": "",
              "status": "draft", "published_at": None}]
    db.session.execute(insert(Notice), rows)

    first = client.get("/?type=policy").get_data(as_text=True)
    assert public_titles(first) == [f"政策文件第{n:02d}号" for n in range(20, 5, -1)], "15 a page, newest first"
    assert public_titles(client.get("/?type=policy&page=2").get_data(as_text=True)) == [
        f"政策文件第{n:02d}号" for n in range(5, 0, -1)]
    assert public_titles(client.get("/?type=faq").get_data(as_text=True)) == ["如何修改申报材料"]
    assert public_titles(client.get("/?keyword=第07").get_data(as_text=True)) == ["政策文件第07号"]
    assert ">20</span>" in first and "政策法规" in first
