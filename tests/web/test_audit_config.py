"""多岗审核配置 (S 1.2.9.1.2; FEATURES B1): ordered levels of the unit's own staff per audit item type."""

from __future__ import annotations

import pytest
from registration_helpers import application_form, committed_counts, open_task, review, submit
from sqlalchemy import select

from app.extensions import db
from app.models import AuditLevel, HumanTaskCandidate, Unit, UnitRegistration, User


@pytest.fixture
def leshan(make_unit) -> Unit:
    province = make_unit(unit_type="hr", region="510000B", name="四川省人力资源和社会保障厅")
    unit = make_unit(parent=province, unit_type="hr", region="511100B", name="乐山市人力资源和社会保障局")
    db.session.commit()
    return unit


@pytest.fixture
def staff(make_user, leshan) -> dict[str, User]:
    people = {
        "admin": make_user(leshan, admin=True, name="乐山管理员"),
        "zhang": make_user(leshan, permissions=["inbox.view", "registration.review"], name="张初审"),
        "li": make_user(leshan, permissions=["inbox.view", "registration.review"], name="李复审"),
        "wang": make_user(leshan, permissions=["inbox.view"], name="王科员"),
    }
    db.session.commit()
    return people


def levels_form(*levels: tuple[str, list[User]], action: str = "save") -> dict[str, object]:
    form: dict[str, object] = {"level_count": str(len(levels)), "action": action}
    for number, (name, users) in enumerate(levels, start=1):
        form[f"name_{number}"] = name
        form[f"users_{number}"] = [str(u.id) for u in users]
    return form


def saved(unit: Unit, item: str = "unit_registration") -> list[tuple[str, set[int]]]:
    rows = db.session.scalars(select(AuditLevel).where(AuditLevel.unit_id == unit.id, AuditLevel.item_type == item)
                              .order_by(AuditLevel.level_no))
    return [(row.name, {m.user_id for m in row.members}) for row in rows]


def test_page_lists_the_item_types_and_the_default_reviewers(client, login, staff):
    login(staff["admin"])

    page = client.get("/audit-config/").get_data(as_text=True)

    for name in ("注册审核", "评委会备案", "评审活动发布", "申报材料审核"):
        assert name in page
    assert "尚未配置" in page and "张初审" in page and "李复审" in page and "王科员" not in page.split(
        'data-testid="default-reviewers"')[1].split("</div>")[0]


def test_configure_two_levels_then_they_drive_who_reviews(app, client, login, leshan, staff):
    login(staff["admin"])
    response = client.post("/audit-config/unit_registration",
                           data=levels_form(("初审", [staff["zhang"], staff["wang"]]), ("复审", [staff["li"]])))
    assert response.status_code == 302
    assert saved(leshan) == [("初审", {staff["zhang"].id, staff["wang"].id}), ("复审", {staff["li"].id})]
    page = client.get("/audit-config/?item=unit_registration").get_data(as_text=True)
    assert "第 2 级" in page and "尚未配置" not in page

    reg_client = app.test_client()
    token = submit(reg_client, application_form(leshan))
    reg = db.session.scalar(select(UnitRegistration).order_by(UnitRegistration.id.desc()))
    task = open_task("unit_registration", reg.id)
    assert set(db.session.scalars(select(HumanTaskCandidate.user_id).where(HumanTaskCandidate.task_id == task.id))) \
        == {staff["zhang"].id, staff["wang"].id}
    review(app, staff["wang"], task, "pass", "同意")
    task = open_task("unit_registration", reg.id)
    assert set(db.session.scalars(select(HumanTaskCandidate.user_id).where(HumanTaskCandidate.task_id == task.id))) \
        == {staff["li"].id}
    assert token


def test_reorder_add_and_remove_edit_the_page_without_saving(client, login, leshan, staff):
    login(staff["admin"])
    two = levels_form(("初审", [staff["zhang"]]), ("复审", [staff["li"]]), action="down-1")

    moved = client.post("/audit-config/unit_registration", data=two).get_data(as_text=True)
    added = client.post("/audit-config/unit_registration", data={**two, "action": "add"}).get_data(as_text=True)
    removed = client.post("/audit-config/unit_registration", data={**two, "action": "remove-1"}).get_data(as_text=True)

    assert moved.index('value="复审"') < moved.index('value="初审"')
    assert 'name="name_3"' in added
    assert 'value="初审"' not in removed and 'value="复审"' in removed
    assert saved(leshan) == [], "only 保存配置 writes"
    client.post("/audit-config/unit_registration", data=levels_form(("复审", [staff["li"]]), ("初审", [staff["zhang"]])))
    assert saved(leshan) == [("复审", {staff["li"].id}), ("初审", {staff["zhang"].id})]


def test_staff_of_another_unit_is_refused(client, login, make_unit, leshan, staff, make_user):
    other = make_user(make_unit(parent=leshan, region="511102"), name="外单位人员")
    db.session.commit()
    login(staff["admin"])
    before = committed_counts()

    response = client.post("/audit-config/unit_registration",
                           data=levels_form(("初审", [staff["zhang"], other])))

    assert response.status_code == 400
    assert "第 1 级：只能选择本单位已启用的工作人员" in response.get_data(as_text=True)
    assert committed_counts() == before and saved(leshan) == []


@pytest.mark.parametrize(("form", "message"), [
    ({"level_count": "1", "name_1": "初审", "action": "save"}, "第 1 级：至少选择一名审核人员"),
    ({"level_count": "1", "name_1": "长" * 31, "users_1": "{zhang}", "action": "save"}, "第 1 级：级别名称不能超过 30 个字"),
    ({"level_count": "x", "action": "bogus"}, ""),
])
def test_bad_levels_are_refused_in_chinese(client, login, leshan, staff, form, message):
    login(staff["admin"])
    data = {k: v.format(zhang=staff["zhang"].id) for k, v in form.items()}

    response = client.post("/audit-config/unit_registration", data=data)

    assert response.status_code in (302, 400)
    assert message in response.get_data(as_text=True)
    assert saved(leshan) == []


def test_unknown_item_type_is_bad_input(client, login, staff):
    login(staff["admin"])
    assert client.get("/audit-config/?item=nothing").status_code == 400
    assert client.post("/audit-config/nothing", data={"action": "save"}).status_code == 400
    assert client.post("/audit-config/nothing/clear").status_code == 400


def test_clear_returns_to_one_level_of_permission_holders_and_updates_open_tasks(app, client, login, leshan, staff):
    login(staff["admin"])
    client.post("/audit-config/unit_registration", data=levels_form(("初审", [staff["wang"]])))
    submit(app.test_client(), application_form(leshan))
    reg = db.session.scalar(select(UnitRegistration).order_by(UnitRegistration.id.desc()))
    task = open_task("unit_registration", reg.id)

    response = client.post("/audit-config/unit_registration/clear")

    assert response.status_code == 302
    assert saved(leshan) == []
    holders = set(db.session.scalars(select(HumanTaskCandidate.user_id).where(HumanTaskCandidate.task_id == task.id)))
    assert holders == {staff["admin"].id, staff["zhang"].id, staff["li"].id}, "the waiting task follows the change"
    assert "尚未配置" in client.get("/audit-config/").get_data(as_text=True)


def test_a_unit_configures_only_itself(client, login, make_unit, leshan, staff, make_user):
    child = make_unit(parent=leshan, region="511102")
    child_admin = make_user(child, admin=True)
    db.session.commit()
    login(child_admin)

    client.post("/audit-config/unit_registration", data=levels_form(("初审", [child_admin])))

    assert saved(child) == [("初审", {child_admin.id})]
    assert saved(leshan) == []
