"""新增下级单位 in three steps, 本级单位管理 and 下级单位信息管理 (S 1.1.2.1, 1.2.9.1.1, 1.2.9.2.2; FEATURES A1, A2, A7)."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import python_calamine
from flask.testing import FlaskClient
from helpers import PASSWORD, valid_credit_code, valid_id_number
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditLog, Role, Unit, User
from services.reference import reference_data
from services.reference.validation import credit_code_check_char

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


@pytest.fixture
def province(make_unit) -> Unit:
    return make_unit(unit_type="hr", region="510000B", name="四川省人力资源和社会保障厅")


@pytest.fixture
def leshan(make_unit, province) -> Unit:
    return make_unit(parent=province, unit_type="hr", region="511100B", name="乐山市人力资源和社会保障局")


@pytest.fixture
def leshan_admin(make_user, leshan) -> User:
    return make_user(leshan, admin=True, name="乐山管理员")


def basic_form(**changes: Any) -> dict[str, str]:
    """Step 1 for a 申报单位 (事业单位) in 乐山市市中区; a change of None leaves the field out."""
    form = {
        "credit_code": valid_credit_code("12", "511100"), "name": "乐山市市中区人民医院",
        "unit_type_code": "declaring", "nature_code": "institution", "region_code": "511102",
        "contact_name": "张联系", "phone": "0833-2123456", "address": "乐山市市中区嘉定北路 1 号",
    }
    return _apply(form, changes)


def legal_form(**changes: Any) -> dict[str, str]:
    form = {"legal_person_name": "李法人", "legal_person_id_number": valid_id_number(region="511102"),
            "legal_person_phone": "13912345678"}
    return _apply(form, changes)


def handler_form(**changes: Any) -> dict[str, str]:
    form = {"name": "王经办", "id_number": valid_id_number(region="511102"), "phone": "13812345678",
            "username": "lsrmyy_admin"}
    return _apply(form, changes)


def _apply(form: dict[str, str], changes: dict[str, Any]) -> dict[str, str]:
    for key, value in changes.items():
        if value is None:
            form.pop(key, None)
        else:
            form[key] = value
    return form


def run_wizard(client: FlaskClient, basic: dict[str, str], legal: dict[str, str] | None = None,
               handler: dict[str, str] | None = None, parent_id: int | None = None) -> tuple[Any, list[str]]:
    """Post the steps in the order the wizard redirects to; return the final response and the steps seen."""
    query = f"?parent_id={parent_id}" if parent_id else ""
    response = client.post(f"/units/subordinates/new{query}", data=basic)
    steps: list[str] = []
    while response.status_code == 302 and "/units/subordinates/new/" in response.location:
        step = urlsplit(response.location).path.rsplit("/", 1)[-1]
        steps.append(step)
        data = (legal if legal is not None else legal_form()) if step == "legal" else (handler or handler_form())
        response = client.post(response.location, data=data)
    return response, steps


def committed_counts() -> dict[str, int]:
    """Row counts as committed: a refused request never commits, and its end rolls back whatever it flushed
    (here the rollback stands in for the request teardown, which the test's shared session does not get)."""
    db.session.rollback()
    return {model.__name__: db.session.scalar(select(func.count()).select_from(model))
            for model in (Unit, User, Role, AuditLog)}


def initial_password(page: str) -> str:
    match = re.search(r'data-testid="initial-password">([^<]+)<', page)
    assert match, "the created page shows no initial password"
    return match.group(1)


def with_wrong_check_char(code: str) -> str:
    right = credit_code_check_char(code[:17])
    return code[:17] + next(c for c in CHARSET if c != right)


# ---------------------------------------------------------------- three-step creation


def test_hr_admin_creates_a_declaring_unit_in_three_steps(app, client, login, leshan, leshan_admin):
    login(leshan_admin)
    basic = basic_form()

    response, steps = run_wizard(client, basic, legal_form(legal_person_name="李法人"),
                                 handler_form(username="lsrmyy_admin", name="王经办"))

    assert steps == ["legal", "handler"]
    assert response.status_code == 200
    unit = db.session.scalar(select(Unit).where(Unit.credit_code == basic["credit_code"]))
    assert unit.name == "乐山市市中区人民医院"
    assert unit.parent_id == leshan.id
    assert unit.path == f"{leshan.path}{unit.id}/"
    assert unit.depth == leshan.depth + 1
    assert (unit.unit_type_code, unit.nature_code, unit.region.code) == ("declaring", "institution", "511102")
    assert unit.legal_person_name == "李法人"
    roles = {r.name: r.permission_codes for r in db.session.scalars(select(Role).where(Role.unit_id == unit.id))}
    configured = reference_data.default_roles(Path(app.config["ADMIN_CONFIG_DIR"]))
    assert roles == {spec["name"]: set(spec["permissions"]) for spec in configured
                     if "declaring" in spec.get("unit_types", ["declaring"])}
    assert "单位信息维护" in roles
    admin = db.session.scalar(select(User).where(User.username == "lsrmyy_admin"))
    assert (admin.unit_id, admin.name, admin.is_unit_admin, admin.must_change_password) == (
        unit.id, "王经办", True, True)
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "unit.create",
                                                    AuditLog.target_id == str(unit.id)))

    page = response.get_data(as_text=True)
    password = initial_password(page)
    assert password != PASSWORD
    handler_client = app.test_client()
    assert handler_client.post("/login", data={"username": "lsrmyy_admin", "password": password}).status_code == 302
    assert handler_client.get("/").location == "/password", "the first sign-in must change the password"
    restart = client.get("/units/subordinates/new/handler")
    assert urlsplit(restart.location).path == "/units/subordinates/new", "the finished wizard is cleared"


def test_hr_subordinate_skips_the_legal_step(client, login, leshan, leshan_admin):
    login(leshan_admin)
    basic = basic_form(unit_type_code="hr", nature_code="organ", credit_code=valid_credit_code("11", "511100"),
                       name="乐山市市中区人力资源和社会保障局")

    response, steps = run_wizard(client, basic, handler=handler_form(username="szq_hr"))

    assert steps == ["handler"]
    assert response.status_code == 200
    unit = db.session.scalar(select(Unit).where(Unit.credit_code == basic["credit_code"]))
    assert unit.unit_type_code == "hr"
    assert unit.legal_person_name is None


def test_a_superior_creates_below_a_subordinate_with_parent_id(client, login, make_unit, leshan, leshan_admin):
    hospital = make_unit(parent=leshan, region="511102", name="乐山市人民医院")
    login(leshan_admin)

    response, _ = run_wizard(client, basic_form(name="乐山市人民医院分院"), parent_id=hospital.id)

    assert response.status_code == 200
    unit = db.session.scalar(select(Unit).where(Unit.name == "乐山市人民医院分院"))
    assert unit.parent_id == hospital.id
    assert unit.path == f"{hospital.path}{unit.id}/"


def test_a_declaring_unit_cannot_skip_the_legal_step(client, login, leshan, leshan_admin):
    login(leshan_admin)
    client.post("/units/subordinates/new", data=basic_form())
    before = committed_counts()

    response = client.post("/units/subordinates/new/handler", data=handler_form())

    assert response.status_code == 400
    assert "法人信息：非人社部门单位须维护法人信息" in response.get_data(as_text=True)
    assert committed_counts() == before


BAD_INPUT = [
    pytest.param("basic", {"name": None}, 400, "单位名称：必填", id="name-missing"),
    pytest.param("basic", {"name": ""}, 400, "单位名称：必填", id="name-blank"),
    pytest.param("basic", {"credit_code": ""}, 400, "统一社会信用代码：必填", id="credit-code-missing"),
    pytest.param("basic", {"unit_type_code": ""}, 400, "单位类型：必填", id="unit-type-missing"),
    pytest.param("basic", {"nature_code": ""}, 400, "单位性质：必填", id="nature-missing"),
    pytest.param("basic", {"region_code": ""}, 400, "职称业务归属地：必填", id="region-missing"),
    pytest.param("basic", {"phone": ""}, 400, "联系电话：必填", id="phone-missing"),
    pytest.param("basic", {"name": "单" * 51}, 400, "单位名称：不能超过 50 个字", id="name-51-chars"),
    pytest.param("basic", {"credit_code": "WRONG_CHECK"}, 400, "统一社会信用代码校验位错误", id="credit-code-check-char"),
    pytest.param("basic", {"credit_code": "12511100ABC"}, 400, "统一社会信用代码应为 18 位", id="credit-code-short"),
    pytest.param("basic", {"nature_code": "enterprise"}, 400,
                 "统一社会信用代码：前两位 12 与单位性质「企业」不符", id="credit-code-prefix-vs-nature"),
    pytest.param("basic", {"region_code": "510104"}, 400,
                 "职称业务归属地：须在上级单位的归属地范围内（四川省 / 乐山市）", id="region-outside-territory"),
    pytest.param("basic", {"region_code": "999999"}, 400, "职称业务归属地：请选择有效的行政区划", id="region-unknown"),
    pytest.param("basic", {"unit_type_code": "nonsense"}, 400, "单位类型：人社部门不能新增该类型的下级单位",
                 id="unit-type-unknown"),
    pytest.param("basic", {"is_unit_admin": "1"}, 400, "未知字段：is_unit_admin", id="basic-extra-field"),
    pytest.param("legal", {"legal_person_name": ""}, 400, "法定代表人姓名：必填", id="legal-name-missing"),
    pytest.param("legal", {"legal_person_id_number": "511102198001010000"}, 400, "法定代表人证件号码",
                 id="legal-id-check-char"),
    pytest.param("legal", {"legal_person_phone": "12345"}, 400, "法定代表人联系电话：手机号码格式不正确",
                 id="legal-phone-invalid"),
    pytest.param("legal", {"extra": "x"}, 400, "未知字段：extra", id="legal-extra-field"),
    pytest.param("handler", {"username": ""}, 400, "登录账号：必填", id="handler-username-missing"),
    pytest.param("handler", {"username": "有中文"}, 400, "登录账号：只能包含字母、数字和 _ . @ -",
                 id="handler-username-charset"),
    pytest.param("handler", {"name": "经" * 11}, 400, "经办人姓名：不能超过 10 个字", id="handler-name-too-long"),
    pytest.param("handler", {"phone": "0833-2123456"}, 400, "经办人联系电话：手机号码格式不正确",
                 id="handler-phone-not-mobile"),
    pytest.param("handler", {"is_platform_admin": "1"}, 400, "未知字段：is_platform_admin", id="handler-extra-field"),
]


@pytest.mark.parametrize(("step", "changes", "status", "message"), BAD_INPUT)
def test_bad_input_writes_nothing_and_names_the_field(client, login, leshan, leshan_admin, step, changes, status,
                                                      message):
    login(leshan_admin)
    if changes.get("credit_code") == "WRONG_CHECK":
        changes = {"credit_code": with_wrong_check_char(valid_credit_code("12", "511100"))}
    forms = {"basic": basic_form(), "legal": legal_form(), "handler": handler_form()}
    forms[step] = _apply(forms[step], changes)
    before = committed_counts()

    response, _ = run_wizard(client, forms["basic"], forms["legal"], forms["handler"])

    assert response.status_code == status
    assert message in response.get_data(as_text=True)
    assert committed_counts() == before


def test_unit_type_the_superior_may_not_grant_is_refused(client, login, make_unit, make_user, leshan):
    competent = make_unit(parent=leshan, unit_type="competent", region="511100B", name="乐山市教育局")
    login(make_user(competent, admin=True))
    before = committed_counts()

    response, steps = run_wizard(client, basic_form(unit_type_code="hr", nature_code="organ",
                                                    credit_code=valid_credit_code("11", "511100")))

    assert steps == []
    assert response.status_code == 400
    assert "单位类型：主管部门不能新增该类型的下级单位" in response.get_data(as_text=True)
    assert committed_counts() == before


def test_duplicate_credit_code_is_a_conflict(client, login, make_unit, leshan, leshan_admin):
    existing = make_unit(parent=leshan, region="511102", name="乐山市第一中学")
    login(leshan_admin)
    before = committed_counts()

    response, _ = run_wizard(client, basic_form(credit_code=existing.credit_code))

    assert response.status_code == 409
    assert "统一社会信用代码：已被单位「乐山市第一中学」使用" in response.get_data(as_text=True)
    assert committed_counts() == before


@pytest.mark.parametrize("username", ["taken_name", "TAKEN_NAME"])
def test_duplicate_login_name_is_a_conflict(client, login, make_unit, make_user, leshan, leshan_admin, username):
    make_user(make_unit(parent=leshan, region="511102"), username="taken_name")
    login(leshan_admin)
    before = committed_counts()

    response, _ = run_wizard(client, basic_form(), handler=handler_form(username=username))

    assert response.status_code == 409
    assert "登录账号：已被占用，请换一个" in response.get_data(as_text=True)
    assert committed_counts() == before


def test_wizard_offers_only_the_types_the_superior_may_grant(client, login, make_unit, make_user, leshan):
    competent = make_unit(parent=leshan, unit_type="competent", region="511100B")
    login(make_user(competent, admin=True))

    page = client.get("/units/subordinates/new").get_data(as_text=True)

    offered = set(re.findall(r'<option value="(\w+)"', page.split('name="unit_type_code"')[1].split("</select>")[0]))
    assert offered == {"declaring", "self_review", "central"}


# ---------------------------------------------------------------- editing


def own_form(unit: Unit, **changes: Any) -> dict[str, str]:
    form = {"credit_code": unit.credit_code, "name": unit.name, "nature_code": unit.nature_code,
            "region_code": unit.region.code, "contact_name": unit.contact_name, "phone": unit.phone,
            "address": unit.address or ""}
    return _apply(form, changes)


@pytest.fixture
def hospital(make_unit, leshan) -> Unit:
    return make_unit(parent=leshan, region="511102", name="乐山市市中区妇幼保健院")


def test_a_unit_edits_its_own_basic_info(client, login, make_user, hospital):
    login(make_user(hospital, admin=True))

    response = client.post("/units/own", data=own_form(hospital, name="乐山市市中区妇幼保健计划生育服务中心",
                                                      phone="13712345678", address="新地址 8 号"))

    assert response.status_code == 302
    assert (hospital.name, hospital.phone, hospital.address) == ("乐山市市中区妇幼保健计划生育服务中心",
                                                               "13712345678", "新地址 8 号")
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "unit.update",
                                                    AuditLog.target_id == str(hospital.id)))


def test_a_unit_cannot_change_its_own_type(client, login, make_user, hospital):
    login(make_user(hospital, admin=True))

    response = client.post("/units/own", data=own_form(hospital, unit_type_code="hr", name="改名不应生效"))

    assert response.status_code == 400
    assert "未知字段：unit_type_code" in response.get_data(as_text=True)
    assert (hospital.unit_type_code, hospital.name) == ("declaring", "乐山市市中区妇幼保健院")


def test_own_unit_region_stays_inside_the_superiors_territory(client, login, make_user, hospital):
    login(make_user(hospital, admin=True))

    response = client.post("/units/own", data=own_form(hospital, region_code="510104"))

    assert response.status_code == 400
    assert "职称业务归属地：须在上级单位的归属地范围内" in response.get_data(as_text=True)
    assert hospital.region.code == "511102"


def edit_form(unit: Unit, handler: User, **changes: Any) -> dict[str, str]:
    form = {**own_form(unit), "unit_type_code": unit.unit_type_code,
            "legal_person_name": unit.legal_person_name or "李法人",
            "legal_person_id_number": unit.legal_person_id_number or valid_id_number(),
            "legal_person_phone": unit.legal_person_phone or "13912345678",
            "handler_name": handler.name, "handler_phone": handler.phone, "handler_id_number": handler.id_number or "",
            "handler_username": handler.username}
    return _apply(form, changes)


def test_a_superior_edits_a_subordinates_info_legal_person_and_handler(client, login, make_user, hospital,
                                                                      leshan_admin):
    handler = make_user(hospital, admin=True, name="原经办人")
    login(leshan_admin)
    legal_id = valid_id_number(region="511102")

    response = client.post(f"/units/subordinates/{hospital.id}/edit", data=edit_form(
        hospital, handler, name="乐山市市中区妇幼保健院（新）", unit_type_code="self_review",
        legal_person_name="新法人", legal_person_id_number=legal_id, legal_person_phone="13611112222",
        handler_name="新经办人", handler_username="new_handler", handler_phone="13500001111"))

    assert response.status_code == 302
    assert response.location == f"/units/subordinates/{hospital.id}"
    assert (hospital.name, hospital.unit_type_code) == ("乐山市市中区妇幼保健院（新）", "self_review")
    assert (hospital.legal_person_name, hospital.legal_person_id_number, hospital.legal_person_phone) == (
        "新法人", legal_id, "13611112222")
    assert (handler.name, handler.username, handler.phone) == ("新经办人", "new_handler", "13500001111")
    actions = set(db.session.scalars(select(AuditLog.action).where(AuditLog.actor_id == leshan_admin.id)))
    assert {"unit.update", "unit.legal_person", "unit.handler"} <= actions


def test_a_superior_edit_with_bad_input_writes_nothing(client, login, make_user, hospital, leshan_admin):
    handler = make_user(hospital, admin=True, name="原经办人")
    login(leshan_admin)

    response = client.post(f"/units/subordinates/{hospital.id}/edit",
                           data=edit_form(hospital, handler, name="改了名", handler_phone="123"))

    assert response.status_code == 400
    assert "经办人联系电话：手机号码格式不正确" in response.get_data(as_text=True)
    committed_counts()
    assert hospital.name == "乐山市市中区妇幼保健院"


FOREIGN_REQUESTS: list[tuple[str, Callable[[int], str]]] = [
    ("GET", lambda unit_id: f"/units/subordinates/{unit_id}"),
    ("GET", lambda unit_id: f"/units/subordinates/{unit_id}/edit"),
    ("POST", lambda unit_id: f"/units/subordinates/{unit_id}/edit"),
    ("GET", lambda unit_id: f"/units/subordinates/new?parent_id={unit_id}"),
    ("POST", lambda unit_id: f"/units/subordinates/new?parent_id={unit_id}"),
]


@pytest.mark.parametrize(("method", "url"), FOREIGN_REQUESTS, ids=["detail", "edit", "edit-post", "new", "new-post"])
def test_a_foreign_unit_id_answers_404(client, login, make_unit, province, leshan_admin, method, url):
    chengdu = make_unit(parent=province, unit_type="hr", region="510100B", name="成都市人力资源和社会保障局")
    login(leshan_admin)

    response = client.open(url(chengdu.id), method=method, data=basic_form() if method == "POST" else None)

    assert response.status_code == 404
    assert "成都市人力资源和社会保障局" not in response.get_data(as_text=True)


def test_export_of_subordinates_is_xlsx_and_audited(client, login, make_unit, province, leshan, leshan_admin,
                                                   hospital):
    make_unit(parent=hospital, region="511102", name="妇幼保健院分院")
    chengdu = make_unit(parent=province, unit_type="hr", region="510100B", name="成都市人力资源和社会保障局")
    make_unit(parent=chengdu, name="成都市第一人民医院")
    login(leshan_admin)

    response = client.get("/units/subordinates/export")

    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(response.data)).get_sheet_by_index(0).to_python()
    assert rows[0][:3] == ["单位名称", "统一社会信用代码", "上级单位"]
    assert {row[0] for row in rows[1:]} == {"乐山市市中区妇幼保健院", "妇幼保健院分院"}
    entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "unit.export"))
    assert (entry.actor_id, entry.unit_id) == (leshan_admin.id, leshan.id)
