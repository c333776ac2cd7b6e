"""The whole 职称申报 journey through the pages, as the people involved do it (issue: "a web test").

An applicant at 乐山第一中学校 declares on the applicant pages; the school (two levels), 乐山市教育局 and 乐山市人社局
(two levels) pass on 本单位人员审核 / 下级单位人员审核; the committee accepts on 参评资格审核. A variant: the 人社局
returns it to the applicant, who corrects and resubmits on the applicant pages, and it comes back to the 人社局.
"""

from __future__ import annotations

import io
from datetime import date, timedelta
from typing import Any

from declaration_helpers import OPINION, PDF
from review_path_helpers import LEVEL
from sqlalchemy import select

from app.extensions import db
from app.models import Declaration, User


def ok(response: Any) -> Any:
    assert response.status_code == 302, response.get_data(as_text=True)[:800]
    return response


def declare(client: Any, login_applicant: Any, world: Any) -> Declaration:
    """The applicant's part: 暂存申报, 任职以来考核信息, a 论文 with its attachment, the 身份证明, 提交."""
    login_applicant(world.applicant)
    ok(client.post(f"/applicant/declarations/new?activity_id={world.activity.id}",
                   data={"level_code": LEVEL, "evaluation_method": "normal"}))
    declaration = db.session.scalar(select(Declaration).where(Declaration.applicant_id == world.applicant.id))
    base = f"/applicant/declarations/{declaration.id}"
    ok(client.post(f"{base}/assessments", data={"assessments-1-year": str(date.today().year - 1),
                                                "assessments-1-result": "优秀", "assessments-1-unit": "乐山第一中学校"}))
    item = world.activity.achievements[0]
    ok(client.post(f"{base}/items/{item.id}/achievements/new", content_type="multipart/form-data", data={
        "template_code": "paper", "paper_name": "初中函数教学研究", "published_on": "2022-03-01", "category": "论文",
        "journal": "中学数学", "journal_number": "CN51-1234/G4", "author_rank": "独著", "words_thousands": "5",
        "attachments": (io.BytesIO(PDF), "论文.pdf")}))
    requirement = world.activity.material_requirements[0]
    ok(client.post(f"{base}/materials/{requirement.id}", content_type="multipart/form-data",
                   data={"file": (io.BytesIO(PDF), "身份证.pdf")}))
    ok(client.post(f"{base}/submit"))
    client.post("/applicant/logout")
    db.session.expire_all()
    return db.session.get(Declaration, declaration.id)


def review(client: Any, login: Any, user: User, declaration: Declaration, data: dict[str, Any],
           qualifying: bool = False) -> Declaration:
    client.post("/logout")
    client.post("/applicant/logout")
    login(user)
    page = "qualification" if qualifying else "applications"
    listing = "/application-review/qualification" if qualifying else (
        "/application-review/own" if declaration.unit_id == user.unit_id else "/application-review/subordinates")
    assert f'data-application-id="{declaration.id}"' in client.get(listing).get_data(as_text=True), user.name
    ok(client.post(f"/application-review/{page}/{declaration.id}", data=data, content_type="multipart/form-data"))
    client.post("/logout")
    db.session.expire_all()
    return db.session.get(Declaration, declaration.id)


def publicity() -> dict[str, Any]:
    today = date.today()
    return {"decision": "pass", "opinion": OPINION, "publicity_start": (today - timedelta(days=14)).isoformat(),
            "publicity_end": (today - timedelta(days=3)).isoformat(),
            "publicity_proof": (io.BytesIO(PDF), "公示证明.pdf"), "recommendation": (io.BytesIO(PDF), "推荐意见.pdf")}


PASS = {"decision": "pass", "opinion": OPINION}


def test_declared_on_the_pages_and_passed_up_to_the_committee(client, login, login_applicant, world):
    declaration = declare(client, login_applicant, world)
    chain = world.chain
    assert declaration.status == "reviewing" and declaration.current_unit_id == chain.school.id
    declaration = review(client, login, world.school_reviewers[0], declaration, publicity())
    declaration = review(client, login, world.school_reviewers[1], declaration, PASS)
    declaration = review(client, login, world.competent_reviewer, declaration, PASS)
    declaration = review(client, login, world.city_reviewers[0], declaration, PASS)
    declaration = review(client, login, world.city_reviewers[1], declaration, PASS)
    assert declaration.at_committee
    declaration = review(client, login, world.qualifier, declaration, {"decision": "pass", "opinion": "符合参评条件"},
                         qualifying=True)
    assert declaration.status == "accepted"
    login_applicant(world.applicant)
    assert "资格审核通过" in client.get("/applicant/declarations/").get_data(as_text=True)


def test_returned_by_the_city_to_the_applicant_and_back_to_the_city(client, login, login_applicant, world):
    declaration = declare(client, login_applicant, world)
    declaration = review(client, login, world.school_reviewers[0], declaration, publicity())
    for user in (world.school_reviewers[1], world.competent_reviewer):
        declaration = review(client, login, user, declaration, PASS)
    declaration = review(client, login, world.city_reviewers[0], declaration,
                         {"decision": "return", "opinion": "请补充年度考核优秀证明", "return_to": "applicant"})
    assert declaration.status == "returned"
    login_applicant(world.applicant)
    page = client.get(f"/applicant/declarations/{declaration.id}").get_data(as_text=True)
    assert "请补充年度考核优秀证明" in page and "重新提交" in page
    assert client.post(f"/applicant/declarations/{declaration.id}/submit", data={"note": ""}).status_code == 400
    ok(client.post(f"/applicant/declarations/{declaration.id}/submit", data={"note": "已补充考核证明"}))
    client.post("/applicant/logout")
    db.session.expire_all()
    declaration = db.session.get(Declaration, declaration.id)
    assert declaration.status == "reviewing" and declaration.current_unit_id == world.chain.city.id
    login(world.city_reviewers[0])
    assert f'data-application-id="{declaration.id}"' in client.get(
        "/application-review/subordinates?tab=recheck").get_data(as_text=True)  # 复审
