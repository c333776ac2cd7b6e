"""工作人员管理 and 角色管理 (S 1.2.9.1.3, 1.2.9.1.4; FEATURES A5, A6)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from helpers import PASSWORD, valid_id_number
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditLog, Role, RolePermission, Unit, User

STAFF_PASSWORD = "Staff2026pw"


@pytest.fixture
def unit(make_unit) -> Unit:
    return make_unit(unit_type="hr", region="511100B", name="乐山市人力资源和社会保障局")


@pytest.fixture
def admin(make_user, unit) -> User:
    return make_user(unit, admin=True, name="超级管理员")


@pytest.fixture
def make_role(database):
    def factory(unit: Unit, name: str, codes: list[str]) -> Role:
        role = Role(unit_id=unit.id, name=name)
        role.permissions = [RolePermission(permission_code=c) for c in codes]
        db.session.add(role)
        db.session.flush()
        return role

    return factory


def staff_form(**changes: Any) -> dict[str, Any]:
    form: dict[str, Any] = {"username": "zhang_san", "name": "张三", "phone": "13912345678",
                            "id_number": valid_id_number(region="511102"), "password": STAFF_PASSWORD}
    form.update(changes)
    return {k: v for k, v in form.items() if v is not None}


def user_count() -> int:
    db.session.rollback()  # what a refused request leaves behind: its flushes end with the request
    return db.session.scalar(select(func.count()).select_from(User))


def role_count() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(Role))


def sign_in(client: FlaskClient, username: str, password: str):
    return client.post("/login", data={"username": username, "password": password})


# ---------------------------------------------------------------- staff


def test_super_admin_adds_staff_with_roles_who_must_change_password(app, client, login, admin, unit, make_role):
    reviewer = make_role(unit, "业务审核", ["home.view", "unit.sub.view"])
    keeper = make_role(unit, "信息维护", ["unit.self.edit"])
    login(admin)

    response = client.post("/staff/new", data=staff_form(role_ids=[reviewer.id, keeper.id]))

    assert response.status_code == 302
    user = db.session.scalar(select(User).where(User.username == "zhang_san"))
    assert (user.unit_id, user.name, user.is_unit_admin, user.must_change_password) == (unit.id, "张三", False, True)
    assert {r.name for r in user.roles} == {"业务审核", "信息维护"}
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "staff.create"))
    staff_client = app.test_client()
    assert sign_in(staff_client, "zhang_san", STAFF_PASSWORD).status_code == 302
    assert staff_client.get("/units/subordinates").location == "/password"


@pytest.mark.parametrize(
    ("changes", "status", "message"),
    [
        ({"password": None}, 400, "初始密码：必填"),
        ({"password": "short1"}, 400, "密码：长度须为 8–64 位"),
        ({"password": "lettersonly"}, 400, "密码：须同时包含字母和数字"),
        ({"name": ""}, 400, "姓名：必填"),
        ({"phone": "028-86000000"}, 400, "联系电话：手机号码格式不正确"),
        ({"id_number": "51110219800101000"}, 400, "证件号码"),
        ({"username": "ab"}, 400, "登录账号：长度须为 3–30 位"),
        ({"username": "taken"}, 409, "登录账号：已被占用，请换一个"),
        ({"role_ids": ["abc"]}, 400, "角色：格式不正确"),
        ({"is_unit_admin": "1"}, 400, "未知字段：is_unit_admin"),
    ],
)
def test_staff_form_refuses_bad_input_and_writes_nothing(client, login, make_user, admin, unit, changes, status,
                                                         message):
    make_user(unit, username="taken")
    login(admin)
    before = user_count()

    response = client.post("/staff/new", data=staff_form(**changes))

    assert response.status_code == status
    assert message in response.get_data(as_text=True)
    assert user_count() == before


def test_super_admin_edits_staff(client, login, make_user, make_role, admin, unit):
    old_role = make_role(unit, "旧角色", ["home.view"])
    new_role = make_role(unit, "新角色", ["unit.sub.view"])
    staff = make_user(unit, name="李四")
    staff.roles = [old_role]
    login(admin)

    response = client.post(f"/staff/{staff.id}/edit", data=staff_form(
        username="li_si_new", name="李四新", phone="13700001111", password=None, role_ids=[new_role.id]))

    assert response.status_code == 302
    assert (staff.username, staff.name, staff.phone) == ("li_si_new", "李四新", "13700001111")
    assert [r.name for r in staff.roles] == ["新角色"]


def test_disabling_staff_ends_their_existing_session(app, client, login, make_user, admin, unit):
    staff = make_user(unit, name="王五")
    staff_client = app.test_client()
    sign_in(staff_client, staff.username, PASSWORD)
    assert staff_client.get("/jobs/").status_code == 200
    login(admin)

    response = client.post(f"/staff/{staff.id}/disable")

    assert response.status_code == 302
    assert staff.enabled is False
    assert staff_client.get("/jobs/").location.startswith("/login")
    refused = sign_in(app.test_client(), staff.username, PASSWORD)
    assert "账号已停用" in refused.get_data(as_text=True)

    client.post(f"/staff/{staff.id}/enable")

    assert staff.enabled is True
    assert sign_in(app.test_client(), staff.username, PASSWORD).status_code == 302


def test_reset_password_shows_a_new_password_that_works(app, client, login, make_user, admin, unit):
    staff = make_user(unit, name="赵六")
    staff_client = app.test_client()
    sign_in(staff_client, staff.username, PASSWORD)
    login(admin)

    response = client.post(f"/staff/{staff.id}/reset-password")

    assert response.status_code == 200
    new_password = re.search(r'data-testid="new-password">([^<]+)<', response.get_data(as_text=True)).group(1)
    assert new_password != PASSWORD
    assert staff.must_change_password is True
    assert staff_client.get("/jobs/").location.startswith("/login"), "the old session ends"
    assert sign_in(app.test_client(), staff.username, PASSWORD).status_code == 401
    assert sign_in(app.test_client(), staff.username, new_password).status_code == 302


def test_reset_password_lifts_a_lock(client, login, make_user, admin, unit):
    staff = make_user(unit)
    for _ in range(5):
        sign_in(client, staff.username, "Wrong0pass")
    assert staff.locked_until is not None
    login(admin)

    client.post(f"/staff/{staff.id}/reset-password")

    assert (staff.locked_until, staff.failed_logins) == (None, 0)


def test_super_admin_cannot_disable_self(client, login, admin):
    login(admin)

    response = client.post(f"/staff/{admin.id}/disable")

    assert response.status_code == 403
    assert "不能停用自己的账号" in response.get_data(as_text=True)
    assert admin.enabled is True
    assert client.get("/jobs/").status_code == 200


def test_staff_list_shows_only_the_own_units_staff(client, login, make_unit, make_user, admin, unit):
    make_user(unit, name="本单位员工")
    make_user(make_unit(parent=unit, region="511102"), name="下级员工")
    make_user(unit, name="平台管理员", platform=True)
    login(admin)

    page = client.get("/staff/").get_data(as_text=True)

    assert "本单位员工" in page
    assert "下级员工" not in page
    assert "平台管理员" not in page


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/staff/"), ("GET", "/staff/new"), ("POST", "/staff/new"), ("GET", "/staff/{id}/edit"),
     ("POST", "/staff/{id}/edit"), ("POST", "/staff/{id}/disable"), ("POST", "/staff/{id}/reset-password")],
)
def test_a_user_without_staff_manage_gets_403(client, login, make_user, unit, method, path):
    colleague = make_user(unit, name="同事")
    login(make_user(unit, permissions=["home.view", "unit.sub.view", "role.manage"]))

    response = client.open(path.format(id=colleague.id), method=method, data=staff_form() if method == "POST" else None)

    assert response.status_code == 403
    assert colleague.enabled is True


@pytest.mark.parametrize("action", ["create", "edit"])
def test_a_role_of_another_unit_is_refused(client, login, make_unit, make_user, make_role, admin, unit, action):
    foreign_role = make_role(make_unit(region="510100B"), "外单位角色", ["home.view", "unit.sub.view"])
    staff = make_user(unit, name="钱七")
    login(admin)
    before = user_count()

    if action == "create":
        response = client.post("/staff/new", data=staff_form(role_ids=[foreign_role.id]))
    else:
        response = client.post(f"/staff/{staff.id}/edit", data=staff_form(
            username=staff.username, password=None, role_ids=[foreign_role.id]))

    assert response.status_code == 400
    assert "角色：只能选择本单位的角色" in response.get_data(as_text=True)
    assert user_count() == before
    assert staff.roles == []


# ---------------------------------------------------------------- roles


def test_roles_are_created_with_permission_codes(client, login, admin, unit):
    login(admin)

    response = client.post("/roles/new", data={"name": "下级查看", "description": "只看下级",
                                               "permissions": ["home.view", "unit.sub.view"]})

    assert response.status_code == 302
    role = db.session.scalar(select(Role).where(Role.unit_id == unit.id, Role.name == "下级查看"))
    assert role.permission_codes == {"home.view", "unit.sub.view"}
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "role.create", AuditLog.target_id == str(role.id)))


def test_a_role_grants_its_codes_to_its_holders(app, client, login, make_user, make_role, admin, unit):
    role = make_role(unit, "查看", ["home.view"])
    staff = make_user(unit)
    staff.roles = [role]
    staff_client = app.test_client()
    sign_in(staff_client, staff.username, PASSWORD)
    assert staff_client.get("/units/subordinates").status_code == 403
    login(admin)

    client.post(f"/roles/{role.id}/edit", data={"name": "查看", "permissions": ["home.view", "unit.sub.view"]})

    assert staff_client.get("/units/subordinates").status_code == 200
    client.post(f"/roles/{role.id}/delete")
    assert staff_client.get("/units/subordinates").status_code == 403


@pytest.mark.parametrize(
    ("codes", "message"),
    [
        (["home.view", "dict.manage"], "权限：省级平台权限不能授予单位角色"),
        (["home.view", "no.such.code"], "权限：未知的权限码 no.such.code"),
    ],
)
def test_a_role_refuses_platform_and_unknown_codes(client, login, admin, make_role, unit, codes, message):
    existing = make_role(unit, "已有角色", ["home.view"])
    login(admin)
    before = role_count()

    created = client.post("/roles/new", data={"name": "越权角色", "permissions": codes})
    edited = client.post(f"/roles/{existing.id}/edit", data={"name": "已有角色", "permissions": codes})

    for response in (created, edited):
        assert response.status_code == 400
        assert message in response.get_data(as_text=True)
    assert role_count() == before
    assert existing.permission_codes == {"home.view"}


def test_a_role_name_is_unique_within_the_unit(client, login, make_unit, make_role, admin, unit):
    make_role(unit, "审核员", ["home.view"])
    make_role(make_unit(region="510100B"), "外单位同名", ["home.view"])
    login(admin)

    clash = client.post("/roles/new", data={"name": "审核员", "permissions": ["home.view"]})
    elsewhere = client.post("/roles/new", data={"name": "外单位同名", "permissions": ["home.view"]})

    assert clash.status_code == 409
    assert "角色名称：本单位已有同名角色" in clash.get_data(as_text=True)
    assert elsewhere.status_code == 302


def test_platform_admin_renaming_a_units_role_to_a_taken_name_is_a_conflict(client, login, make_unit, make_user,
                                                                           make_role, unit):
    first = make_role(unit, "甲角色", ["home.view"])
    make_role(unit, "乙角色", ["home.view"])
    login(make_user(make_unit(unit_type="hr", region="510000B"), platform=True))

    response = client.post(f"/roles/{first.id}/edit", data={"name": "乙角色", "permissions": ["home.view"]})

    assert response.status_code == 409
    assert "角色名称：本单位已有同名角色" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/roles/"), ("GET", "/roles/new"), ("POST", "/roles/new"), ("GET", "/roles/{id}/edit"),
     ("POST", "/roles/{id}/edit"), ("POST", "/roles/{id}/delete")],
)
def test_a_user_without_role_manage_gets_403(client, login, make_user, make_role, unit, method, path):
    role = make_role(unit, "某角色", ["home.view"])
    login(make_user(unit, permissions=["home.view", "staff.manage"]))

    response = client.open(path.format(id=role.id), method=method,
                           data={"name": "x", "permissions": ["home.view"]} if method == "POST" else None)

    assert response.status_code == 403
    assert db.session.get(Role, role.id) is not None


def test_role_list_shows_only_the_own_units_roles(client, login, make_unit, make_role, admin, unit):
    make_role(unit, "本单位角色", ["home.view"])
    make_role(make_unit(parent=unit, region="511102"), "下级单位角色", ["home.view"])
    login(admin)

    page = client.get("/roles/").get_data(as_text=True)

    assert "本单位角色" in page
    assert "下级单位角色" not in page
