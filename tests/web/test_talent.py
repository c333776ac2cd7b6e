"""专技人才审核 / 统计 (S 1.2.13, L1, L2) and 职称确认审核 (S 1.2.14, L3) over HTTP: a record climbs from the
person's unit to the nearest 人社部门; 退回 goes back to the person with the reason; 不通过 ends and stays; the
statistics table equals counts taken independently from the fixture people."""

from __future__ import annotations

import io
import random
import re
from datetime import datetime

import pytest
from flask.testing import FlaskClient
from python_calamine import CalamineWorkbook
from review_path_helpers import build_chain
from sqlalchemy import insert, select

from app.extensions import db
from app.models import HumanTask, HumanTaskCandidate, Notification, TalentRecord, TitleConfirmation, User
from app.models.talent import TALENT_CATEGORIES
from services.talent import statistics


@pytest.fixture
def chain(make_unit):
    return build_chain(make_unit)  # 四川省人社厅 → 乐山市人社局 → 乐山市教育局 → 乐山第一中学校


@pytest.fixture
def admins(chain, make_user):
    return {name: make_user(getattr(chain, name), admin=True, name=f"{label}管理员")
            for name, label in (("school", "学校"), ("competent", "教育局"), ("city", "人社局"))}


@pytest.fixture
def sign_in(client, login):
    def as_user(user: User) -> FlaskClient:
        client.post("/applicant/logout")
        client.post("/logout")
        return login(user)

    return as_user


def open_task(user: User, business_type: str) -> HumanTask | None:
    return db.session.scalar(select(HumanTask).join(HumanTaskCandidate, HumanTaskCandidate.task_id == HumanTask.id)
                             .where(HumanTask.business_type == business_type, HumanTask.status == "open",
                                    HumanTaskCandidate.user_id == user.id))


def decide(client: FlaskClient, sign_in, user: User, business_type: str, decision: str, opinion: str = "同意") -> None:
    sign_in(user)
    task = open_task(user, business_type)
    assert task is not None, f"{user.name} has no {business_type} task"
    response = client.post(f"/inbox/tasks/{task.id}", data={"decision": decision, "opinion": opinion})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]


def submit_talent(client, login_applicant, applicant, **form) -> None:
    client.post("/logout")
    login_applicant(applicant)
    response = client.post("/my-talent/", data={"category": "工程技术人员", **form})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]


def test_a_talent_record_climbs_to_the_nearest_hr_unit_and_is_approved(client, sign_in, login_applicant,
                                                                        make_applicant, chain, admins):
    person = make_applicant(chain.school, name="赵工程师")
    submit_talent(client, login_applicant, person)
    record = db.session.scalars(select(TalentRecord)).one()
    assert record.path == [chain.school.id, chain.competent.id, chain.city.id], "stops at 乐山市人社局"

    decide(client, sign_in, admins["school"], "talent_record", "pass")
    assert open_task(admins["competent"], "talent_record") is not None
    listing = client.get("/talent/reviews?tab=reviewing").get_data(as_text=True)
    assert "赵工程师" not in listing.split('data-testid="talent-table"')[1], "no longer pending at the school"
    decide(client, sign_in, admins["competent"], "talent_record", "pass")
    decide(client, sign_in, admins["city"], "talent_record", "pass")

    db.session.refresh(record)
    assert record.status == "approved" and record.current_unit_id is None
    assert open_task(admins["city"], "talent_record") is None
    assert "赵工程师" in client.get("/talent/reviews?tab=approved").get_data(as_text=True)


def test_a_return_goes_back_to_the_person_and_a_rejection_ends_it(client, sign_in, login_applicant, make_applicant,
                                                                  chain, admins):
    person = make_applicant(chain.school, name="钱老师")
    submit_talent(client, login_applicant, person)
    decide(client, sign_in, admins["school"], "talent_record", "pass")
    decide(client, sign_in, admins["competent"], "talent_record", "return", "统计类别填写有误")

    record = db.session.scalars(select(TalentRecord)).one()
    db.session.refresh(record)
    assert record.status == "returned" and record.opinion == "统计类别填写有误"
    [notice] = db.session.scalars(select(Notification).where(Notification.applicant_id == person.id)).all()
    client.post("/logout")
    login_applicant(person)
    opened = client.get(f"/notifications/{notice.id}")
    assert opened.status_code == 302 and opened.headers["Location"].endswith("/my-talent/")
    assert "统计类别填写有误" in client.get("/my-talent/").get_data(as_text=True)
    assert client.post("/my-talent/", data={"category": "高等学校教师"}).status_code == 302
    db.session.refresh(record)
    assert (record.status, record.category, record.step) == ("reviewing", "高等学校教师", 0)

    decide(client, sign_in, admins["school"], "talent_record", "reject", "不符合条件")
    db.session.refresh(record)
    assert record.status == "rejected"
    client.post("/logout")
    login_applicant(person)
    assert client.post("/my-talent/", data={"category": "高等学校教师"}).status_code == 409, "不通过 ends it"


def test_the_statistics_table_equals_counts_taken_from_the_people(client, sign_in, make_unit, chain, admins,
                                                                  make_applicant):
    other_school = make_unit(parent=chain.competent, region="511102", name="乐山第二中学校")
    rng = random.Random(19)
    units = [chain.school.id, other_school.id, chain.other_school.id]  # the last is another city's
    people = []
    for _ in range(60):
        qualification_only = rng.random() < 0.15
        people.append({
            "unit_id": rng.choice(units), "category": rng.choice(TALENT_CATEGORIES[:6]),
            "qualification_only": qualification_only,
            "title_level_code": None if qualification_only else rng.choice(
                ["senior_full", "senior_deputy", "intermediate", "assistant", "junior", None]),
            "female": rng.random() < 0.5, "ethnic_minority": rng.random() < 0.2, "party_member": rng.random() < 0.4,
            "overseas": rng.random() < 0.05, "education": rng.choice(["博士", "硕士", "大学本科", "其他"]),
            "status": rng.choice(["approved", "approved", "approved", "reviewing", "rejected"])})
    for n, person in enumerate(people):
        applicant = make_applicant(db.session.get(type(chain.school), person["unit_id"]), name=f"人员{n}")
        person["applicant_id"] = applicant.id
    db.session.execute(insert(TalentRecord), [
        {**p, "name": f"人员{n}", "qualification_name": "证书" if p["qualification_only"] else "", "path": [],
         "step": 0, "opinion": "", "submitted_at": datetime(2026, 11, 1)} for n, p in enumerate(people)])

    # Independently: the competent department's subtree holds the two schools of 乐山.
    mine = [p for p in people if p["status"] == "approved" and p["unit_id"] != chain.other_school.id]

    def expected(category: str) -> dict[str, int]:
        rows = [p for p in mine if p["category"] == category]
        titled = [p for p in rows if not p["qualification_only"]]
        return {"total": len(rows),
                "senior_full": sum(p["title_level_code"] == "senior_full" for p in titled),
                "senior_deputy": sum(p["title_level_code"] == "senior_deputy" for p in titled),
                "intermediate": sum(p["title_level_code"] == "intermediate" for p in titled),
                "junior": sum(p["title_level_code"] in ("assistant", "junior") for p in titled),
                "qualification_only": sum(p["qualification_only"] for p in rows),
                "other": sum(p["title_level_code"] is None for p in titled),
                "female": sum(p["female"] for p in rows), "minority": sum(p["ethnic_minority"] for p in rows),
                "party": sum(p["party_member"] for p in rows), "overseas": sum(p["overseas"] for p in rows),
                "doctor": sum(p["education"] == "博士" for p in rows),
                "master": sum(p["education"] == "硕士" for p in rows),
                "bachelor": sum(p["education"] == "大学本科" for p in rows)}

    sign_in(admins["competent"])
    html = client.get("/talent/statistics").get_data(as_text=True)

    codes = [code for code, _ in statistics.COLUMNS]
    for category in TALENT_CATEGORIES:
        row = html.split(f'data-category="{category}">', 1)[1].split("</tr>", 1)[0]
        shown = dict(re.findall(r'data-col="(\w+)">(\d+)<', row))
        assert {c: int(shown[c]) for c in codes} == expected(category), category
    assert sum(expected(c)["total"] for c in TALENT_CATEGORIES) == len(mine) > 20
    assert 'data-testid="talent-chart"' in html and "rect class=\"bar\"" in html

    export = client.get("/talent/statistics?export=xlsx")
    sheet = CalamineWorkbook.from_filelike(io.BytesIO(export.data)).get_sheet_by_index(0).to_python()
    assert sheet[0][0] == "项目" and sheet[0][1] == "专业技术人员类别" and sheet[2][2] == "正高级"
    for offset, category in enumerate(TALENT_CATEGORIES):
        line = sheet[3 + offset]
        assert line[0] == category
        assert [int(v) for v in line[1:15]] == [expected(category)[c] for c in codes]


def confirm_form(**changes) -> dict:
    form = {"title_name": "高级工程师", "level_code": "senior_deputy", "obtained_on": "2019-12-20",
            "issuer": "重庆市人力资源和社会保障局", "certificate_no": "渝2019-0001"}
    form.update(changes)
    return form


def test_title_confirmation_pass_return_with_reason_and_kept_rejection(client, sign_in, login_applicant,
                                                                       make_applicant, chain, admins):
    person = make_applicant(chain.school, name="孙工")
    login_applicant(person)
    future = client.post("/my-talent/confirmations", data=confirm_form(obtained_on="2099-01-01"))
    assert future.status_code == 400 and "取得资格时间：必填，且不能晚于今天" in future.get_data(as_text=True)
    assert client.post("/my-talent/confirmations", data=confirm_form()).status_code == 302
    request_ = db.session.scalars(select(TitleConfirmation)).one()

    decide(client, sign_in, admins["school"], "title_confirmation", "pass")
    decide(client, sign_in, admins["competent"], "title_confirmation", "return", "请上传证书扫描件")
    db.session.refresh(request_)
    assert request_.status == "returned"
    client.post("/logout")
    login_applicant(person)
    page = client.get(f"/my-talent/confirmations/{request_.id}").get_data(as_text=True)
    assert "退回原因：请上传证书扫描件" in page
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    resubmitted = client.post(f"/my-talent/confirmations/{request_.id}",
                              data={**confirm_form(), "attachment": (io.BytesIO(pdf), "证书.pdf")},
                              content_type="multipart/form-data")
    assert resubmitted.status_code == 302
    for level in ("school", "competent", "city"):
        decide(client, sign_in, admins[level], "title_confirmation", "pass")
    db.session.refresh(request_)
    assert request_.status == "approved"

    client.post("/logout")
    login_applicant(person)
    assert client.post("/my-talent/confirmations", data=confirm_form(title_name="工程师",
                                                                     level_code="intermediate")).status_code == 302
    second = db.session.scalars(select(TitleConfirmation).where(TitleConfirmation.id != request_.id)).one()
    decide(client, sign_in, admins["school"], "title_confirmation", "reject", "证书无法核实")
    db.session.refresh(second)
    assert second.status == "rejected"
    sign_in(admins["school"])
    assert "工程师" in client.get("/talent/confirmations?tab=rejected").get_data(as_text=True)
    assert db.session.get(TitleConfirmation, second.id) is not None, "kept"
