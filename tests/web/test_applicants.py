"""申报人 accounts and profile (H 一; FEATURES A8): registration, sign-in, lock-out, profile, separation from staff."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select

from app.extensions import db
from app.models import Applicant, ApplicantEducation, ApplicantWork, AuditLog, Title
from services.reference.validation import normalize_id_number
from tests.conftest import PASSWORD, valid_id_number


@pytest.fixture
def school(make_unit):
    province = make_unit(unit_type="hr", region="510000B", name="四川省人社厅（测试）")
    return make_unit(parent=province, name="乐山第一中学校（测试）")


def registration(unit, **overrides):
    data = {"name": "李雨桐", "id_type": "居民身份证", "id_number": valid_id_number("19880412", "511102", 2),
            "phone": "13990000301", "unit_id": str(unit.id), "password": "Secret2026", "confirm_password": "Secret2026"}
    data.update(overrides)
    return data


def applicant_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Applicant))


# ---------------------------------------------------------------- registration


def test_register_creates_an_account_with_gender_and_birth_date_from_the_id(client, school):
    response = client.post("/applicant/register", data=registration(school))

    assert response.status_code == 302
    applicant = db.session.scalar(select(Applicant).where(Applicant.phone == "13990000301"))
    assert (applicant.name, applicant.gender, applicant.birth_date, applicant.unit_id) == (
        "李雨桐", "女", date(1988, 4, 12), school.id)
    assert applicant.password_hash != "Secret2026"
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "applicant.register",
                                                    AuditLog.target_id == str(applicant.id))).actor_name == "申报人 李雨桐"


def test_register_upper_cases_a_lower_case_x(client, school):
    number = "11010519491231002X"
    client.post("/applicant/register", data=registration(school, id_number=number.lower()))

    assert db.session.scalar(select(Applicant.id_number).where(Applicant.phone == "13990000301")) == number


BAD_INPUTS = [
    ({"name": ""}, "姓名：必填"),
    ({"name": "名" * 21}, "姓名：不能超过 20 个字"),
    ({"id_type": "护照"}, "证件类型：请选择有效的选项"),
    ({"id_number": "51110219880412002"}, "证件号码应为 18 位"),
    ({"id_number": "511102198804120021"}, "证件号码校验位错误"),
    ({"id_number": valid_id_number("20991231", "511102", 1)}, "证件号码中的出生日期晚于今天"),
    ({"id_number": ""}, "证件号码：必填"),
    ({"phone": "12345678901"}, "手机号码"),
    ({"phone": ""}, "手机号码：必填"),
    ({"unit_id": ""}, "工作单位：请选择"),
    ({"unit_id": "abc"}, "工作单位：请从列表中选择"),
    ({"unit_id": "999999"}, "工作单位：请从查询结果中选择单位"),
    ({"password": "short1", "confirm_password": "short1"}, "密码：长度须为 8–64 位"),
    ({"password": "onlyletters", "confirm_password": "onlyletters"}, "密码：须同时包含字母和数字"),
    ({"confirm_password": "Other2026"}, "确认密码：两次输入的密码不一致"),
    ({"extra": "x"}, "未知字段：extra"),
]


@pytest.mark.parametrize(("overrides", "message"), BAD_INPUTS, ids=[m for _, m in BAD_INPUTS])
def test_register_refuses_bad_input_naming_the_field_and_writes_nothing(client, school, overrides, message):
    before = applicant_count()

    response = client.post("/applicant/register", data=registration(school, **overrides))

    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert applicant_count() == before


def test_register_refuses_a_unit_that_is_not_an_active_declaring_unit(client, make_unit, school):
    bureau = make_unit(unit_type="hr", region="511100B", name="某人社局")
    pending = make_unit(parent=bureau, name="待审核单位", status="pending")

    for unit in (bureau, pending):
        response = client.post("/applicant/register", data=registration(school, unit_id=str(unit.id)))
        assert response.status_code == 400
        assert "工作单位：只能选择已审核通过的申报单位" in response.get_data(as_text=True)
    assert applicant_count() == 0


def test_register_refuses_a_registered_id_number_or_phone(client, school, make_applicant):
    existing = make_applicant(school, phone="13990000399")

    same_id = client.post("/applicant/register", data=registration(school, id_number=existing.id_number))
    same_phone = client.post("/applicant/register", data=registration(school, phone="13990000399"))

    assert same_id.status_code == 409 and "证件号码：该证件号码已注册" in same_id.get_data(as_text=True)
    assert same_phone.status_code == 409 and "手机号码：已被其他账号使用" in same_phone.get_data(as_text=True)
    assert applicant_count() == 1


def test_unit_picker_lists_only_active_employer_units(client, make_unit, school):
    make_unit(parent=school, name="乐山第一中学校分校（测试）", status="pending")
    make_unit(unit_type="hr", region="511100B", name="乐山第一中学校主管（测试）")

    html = client.get("/applicant/units?q=乐山第一中学校").get_data(as_text=True)
    found = client.get("/applicant/units?q=乐山第一中学校", headers={"Accept": "application/json"}).get_json()

    assert "乐山第一中学校（测试）" in html and "分校" not in html and "主管" not in html
    assert found == [{"id": school.id, "name": "乐山第一中学校（测试）"}]


# ---------------------------------------------------------------- sign-in


def test_sign_in_with_id_number_or_phone_and_sign_out(client, school, make_applicant):
    applicant = make_applicant(school, phone="13990000311")

    for account in (applicant.id_number.lower(), "13990000311"):
        response = client.post("/applicant/login", data={"account": account, "password": PASSWORD})
        assert response.status_code == 302 and response.headers["Location"] == "/applicant/"
        assert "申报人首页" in client.get("/applicant/").get_data(as_text=True)
        assert client.post("/applicant/logout").status_code == 302
        assert client.get("/applicant/").headers["Location"].startswith("/applicant/login")


def answer(response: Any) -> str:
    """The page's messages (the form echoes the account typed, which differs by design)."""
    return "|".join(re.findall(r'<div class="alert[^"]*"[^>]*>(.*?)</div>', response.get_data(as_text=True), re.S))


def test_sign_in_refuses_a_wrong_password_and_locks_after_five_failures(client, school, make_applicant):
    applicant = make_applicant(school)

    stranger = client.post("/applicant/login", data={"account": "13900000000", "password": "wrong"})
    for _attempt in range(1, 5):
        response = client.post("/applicant/login", data={"account": applicant.id_number, "password": "wrong"})
        assert response.status_code == 401
        assert "还可尝试" not in response.get_data(as_text=True)
        assert answer(response) == answer(stranger)  # nothing tells which accounts exist
    locked = client.post("/applicant/login", data={"account": applicant.id_number, "password": "wrong"})
    right_but_locked = client.post("/applicant/login", data={"account": applicant.id_number, "password": PASSWORD})

    assert answer(locked) == answer(stranger)
    assert right_but_locked.status_code == 401 and "请 15 分钟后再试" in right_but_locked.get_data(as_text=True)
    db.session.refresh(applicant)
    assert applicant.locked_until > applicant.created_at
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "applicant.locked"))


def test_unknown_account_gets_the_same_answer_as_a_wrong_password(client):
    response = client.post("/applicant/login", data={"account": "13900000000", "password": "x"})

    assert response.status_code == 401 and "账号或密码错误" in response.get_data(as_text=True)


def test_sign_in_only_follows_next_inside_the_applicant_area(client, school, make_applicant):
    applicant = make_applicant(school)
    for target, expected in (("/applicant/profile", "/applicant/profile"), ("//evil.example", "/applicant/"),
                             ("/staff/", "/applicant/")):
        response = client.post("/applicant/login", data={"account": applicant.id_number, "password": PASSWORD,
                                                         "next": target})
        assert response.headers["Location"] == expected
        client.post("/applicant/logout")


def test_change_password_signs_out_other_sessions(app, client, school, make_applicant, login_applicant):
    applicant = make_applicant(school)
    login_applicant(applicant)
    other = app.test_client()
    other.post("/applicant/login", data={"account": applicant.id_number, "password": PASSWORD})

    bad = client.post("/applicant/password", data={"old_password": PASSWORD, "new_password": "abc",
                                                   "confirm_password": "abc"})
    good = client.post("/applicant/password", data={"old_password": PASSWORD, "new_password": "NewSecret2027",
                                                    "confirm_password": "NewSecret2027"})

    assert bad.status_code == 400 and "新密码：长度须为 8–64 位" in bad.get_data(as_text=True)
    assert good.status_code == 302
    assert client.get("/applicant/").status_code == 200
    assert other.get("/applicant/").status_code == 302  # the other session ended
    client.post("/applicant/logout")
    assert client.post("/applicant/login", data={"account": applicant.id_number,
                                                 "password": "NewSecret2027"}).status_code == 302


# ---------------------------------------------------------------- staff and applicants stay apart


STAFF_PAGES = ["/", "/units/own", "/staff/", "/roles/", "/audit-log/", "/blacklist/", "/password",
               "/units/regions.json"]


@pytest.mark.parametrize("path", STAFF_PAGES)
def test_an_applicant_is_sent_home_from_staff_pages(client, school, make_applicant, login_applicant, path):
    login_applicant(make_applicant(school))

    response = client.get(path)

    assert response.status_code == 302 and response.headers["Location"] == "/applicant/"


@pytest.mark.parametrize("path", ["/logout", "/staff/new", "/blacklist/new", "/password"])
def test_an_applicant_cannot_post_to_staff_pages(client, school, make_applicant, login_applicant, path):
    login_applicant(make_applicant(school))

    assert client.post(path).status_code == 403


def test_an_applicant_sees_its_own_error_pages(client, school, make_applicant, login_applicant):
    login_applicant(make_applicant(school))

    response = client.get("/applicant/educations/999999/edit")

    assert response.status_code == 404
    assert "职称申报（个人）" in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/applicant/", "/applicant/profile", "/applicant/profile/basic",
                                  "/applicant/educations/new", "/applicant/password"])
def test_staff_cannot_open_applicant_pages(client, login, make_user, school, path):
    login(make_user(school, admin=True))

    assert client.get(path).status_code == 403
    assert client.post(path).status_code in (403, 405)


def test_staff_signed_in_are_sent_to_their_home_from_applicant_sign_in(client, login, make_user, school):
    login(make_user(school, admin=True))

    assert client.get("/applicant/login").headers["Location"] == "/"
    assert client.get("/applicant/register").headers["Location"] == "/"


# ---------------------------------------------------------------- profile


def test_home_shows_completeness_and_no_invented_declarations(client, school, make_applicant, login_applicant):
    login_applicant(make_applicant(school))

    html = client.get("/applicant/").get_data(as_text=True)

    assert "0 / 4" in html
    assert 'href="/applicant/declarations/"' in html  # 我的申报 and 可申报的评审活动 live on their own page


def test_basic_info_is_saved_and_the_identity_stays_fixed(client, school, make_applicant, login_applicant):
    applicant = make_applicant(school, name="王志远")
    login_applicant(applicant)

    response = client.post("/applicant/profile/basic", data={
        "phone": "13990000321", "email": "wzy@example.com", "ethnicity": "汉族", "political_status": "群众",
        "unit_id": str(school.id), "work_start_date": "2007-07-15", "specialty": "心血管内科",
        "name": "改名", })

    assert response.status_code == 400 and "未知字段：name" in response.get_data(as_text=True)
    response = client.post("/applicant/profile/basic", data={
        "phone": "13990000321", "email": "wzy@example.com", "ethnicity": "汉族", "political_status": "群众",
        "unit_id": str(school.id), "work_start_date": "2007-07-15", "specialty": "心血管内科"})
    assert response.status_code == 302
    db.session.refresh(applicant)
    assert (applicant.name, applicant.phone, applicant.ethnicity, applicant.work_start_date) == (
        "王志远", "13990000321", "汉族", date(2007, 7, 15))


@pytest.mark.parametrize(("overrides", "message"), [
    ({"email": "not-an-email"}, "电子邮箱：格式不正确"),
    ({"ethnicity": "火星族"}, "民族：请选择有效的选项"),
    ({"political_status": "无"}, "政治面貌：请选择有效的选项"),
    ({"work_start_date": "2099-01-01"}, "参加工作时间：不能晚于今天"),
    ({"work_start_date": "1970-01-01"}, "参加工作时间：不能早于出生日期"),
    ({"work_start_date": "2020-13-01"}, "参加工作时间：日期格式应为 年-月-日"),
    ({"specialty": "专" * 31}, "现从事专业：不能超过 30 个字"),
    ({"phone": ""}, "手机号码：必填"),
])
def test_basic_info_refuses_bad_input(client, school, make_applicant, login_applicant, overrides, message):
    applicant = make_applicant(school)
    login_applicant(applicant)
    data = {"phone": applicant.phone, "unit_id": str(school.id), **overrides}

    response = client.post("/applicant/profile/basic", data=data)

    assert response.status_code == 400 and message in response.get_data(as_text=True)
    db.session.refresh(applicant)
    assert applicant.ethnicity is None and applicant.email is None


def test_education_and_work_history_add_edit_delete(client, school, make_applicant, login_applicant):
    applicant = make_applicant(school)
    login_applicant(applicant)
    education = {"education": "大学本科", "degree": "学士", "school": "四川师范大学", "major": "汉语言文学",
                 "start_date": "2000-09-01", "end_date": "2004-06-30", "certificate_no": "1063612004"}

    assert client.post("/applicant/educations/new", data=education).status_code == 302
    row = db.session.scalar(select(ApplicantEducation).where(ApplicantEducation.applicant_id == applicant.id))
    assert client.post(f"/applicant/educations/{row.id}/edit",
                       data={**education, "major": "汉语言文学（师范）"}).status_code == 302
    db.session.refresh(row)
    assert row.major == "汉语言文学（师范）"
    assert client.post("/applicant/work/new", data={"start_date": "2004-09-01", "unit_name": "乐山第一中学校",
                                                    "position": "语文教师"}).status_code == 302
    work = db.session.scalar(select(ApplicantWork).where(ApplicantWork.applicant_id == applicant.id))
    assert work.end_date is None
    assert "汉语言文学（师范）" in client.get("/applicant/profile").get_data(as_text=True)

    assert client.post(f"/applicant/educations/{row.id}/delete").status_code == 302
    assert client.post(f"/applicant/work/{work.id}/delete").status_code == 302
    assert db.session.scalar(select(func.count()).select_from(ApplicantEducation)
                             .where(ApplicantEducation.applicant_id == applicant.id)) == 0
    assert db.session.scalar(select(func.count()).select_from(ApplicantWork)
                             .where(ApplicantWork.applicant_id == applicant.id)) == 0


@pytest.mark.parametrize(("overrides", "message"), [
    ({"education": "幼儿园"}, "学历：请选择有效的选项"),
    ({"school": ""}, "毕业学校：必填"),
    ({"school": "校" * 51}, "毕业学校：不能超过 50 个字"),
    ({"start_date": ""}, "入学时间：必填"),
    ({"end_date": "1999-01-01"}, "毕业时间：不能早于入学时间"),
    ({"start_date": (date.today() + timedelta(days=3)).isoformat(), "end_date": ""}, "入学时间：不能晚于今天"),
])
def test_education_refuses_bad_input(client, school, make_applicant, login_applicant, overrides, message):
    login_applicant(make_applicant(school))
    data = {"education": "大学本科", "degree": "学士", "school": "四川师范大学", "major": "汉语言文学",
            "start_date": "2000-09-01", "end_date": "2004-06-30", **overrides}

    response = client.post("/applicant/educations/new", data=data)

    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(ApplicantEducation)) == 0


def test_work_history_refuses_an_end_before_the_start(client, school, make_applicant, login_applicant):
    login_applicant(make_applicant(school))

    response = client.post("/applicant/work/new", data={"start_date": "2010-01-01", "end_date": "2009-01-01",
                                                        "unit_name": "某单位", "position": "岗位"})

    assert response.status_code == 400 and "结束时间：不能早于开始时间" in response.get_data(as_text=True)


def test_an_applicant_cannot_touch_another_applicants_records(client, school, make_applicant, login_applicant):
    owner = make_applicant(school)
    row = ApplicantEducation(applicant_id=owner.id, education="大学本科", degree="学士", school="甲校", major="乙",
                             start_date=date(2000, 9, 1))
    db.session.add(row)
    db.session.flush()
    login_applicant(make_applicant(school, name="李四"))

    assert client.get(f"/applicant/educations/{row.id}/edit").status_code == 404
    assert client.post(f"/applicant/educations/{row.id}/delete").status_code == 404
    assert db.session.get(ApplicantEducation, row.id) is not None


def test_current_title_from_the_dictionary_and_cleared(client, school, make_applicant, login_applicant):
    applicant = make_applicant(school)
    login_applicant(applicant)
    title = db.session.scalar(select(Title).where(Title.name == "一级教师"))

    missing = client.post("/applicant/profile/title", data={"title_id": str(title.id), "title_method": "评审"})
    bad_method = client.post("/applicant/profile/title", data={"title_id": str(title.id), "title_method": "买的",
                                                               "title_obtained_on": "2016-12-20"})
    unknown = client.post("/applicant/profile/title", data={"title_id": "999999", "title_method": "评审",
                                                            "title_obtained_on": "2016-12-20"})
    saved = client.post("/applicant/profile/title", data={"title_id": str(title.id), "title_method": "评审",
                                                          "title_obtained_on": "2016-12-20"})

    assert missing.status_code == 400 and "取得时间：必填" in missing.get_data(as_text=True)
    assert bad_method.status_code == 400 and "取得方式：请选择有效的选项" in bad_method.get_data(as_text=True)
    assert unknown.status_code == 400 and "职称名称：请从职称树中选择" in unknown.get_data(as_text=True)
    assert saved.status_code == 302
    db.session.refresh(applicant)
    assert (applicant.title_id, applicant.title_method) == (title.id, "评审")
    assert "中级" in client.get("/applicant/profile").get_data(as_text=True)

    assert client.post("/applicant/profile/title", data={}).status_code == 302
    db.session.refresh(applicant)
    assert applicant.title_id is None and applicant.title_method is None


def test_demo_applicants_have_valid_id_numbers():
    demo = yaml.safe_load((Path(__file__).parents[2] / "admin_config" / "demo.yaml").read_text(encoding="utf-8"))

    for spec in demo["applicants"]:
        assert normalize_id_number(spec["id_number"]) == spec["id_number"]
