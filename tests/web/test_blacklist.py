"""黑名单管理 (H 1.21; FEATURES F7): add, edit, view, lift, expiry, scope, export, and the ban on declaring."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta

import pytest
from python_calamine import CalamineWorkbook
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditLog, BlacklistEntry, Role
from services.applications import blacklist
from services.authz import access
from services.common.errors import Forbidden
from tests.conftest import valid_id_number


class Tree:
    def __init__(self, make_unit, make_user):
        self.province = make_unit(unit_type="hr", region="510000B", name="四川省人社厅（测试）")
        self.leshan = make_unit(parent=self.province, unit_type="hr", region="511100B", name="乐山市人社局（测试）")
        self.chengdu = make_unit(parent=self.province, unit_type="hr", region="510100B", name="成都市人社局（测试）")
        self.school = make_unit(parent=self.leshan, name="乐山第一中学校（测试）")
        self.province_staff = make_user(self.province, permissions=["blacklist.manage"], name="省厅经办")
        self.leshan_staff = make_user(self.leshan, permissions=["blacklist.manage"], name="乐山经办")
        self.chengdu_staff = make_user(self.chengdu, permissions=["blacklist.manage"], name="成都经办")


@pytest.fixture
def tree(make_unit, make_user) -> Tree:
    return Tree(make_unit, make_user)


def add(client, **overrides):
    data = {"id_number": valid_id_number("19850101", "511102"), "name": "赵造假", "reason": "伪造论文，撤销职称",
            "basis": "川人社职〔2026〕1号"}
    data.update(overrides)
    return client.post("/blacklist/new", data=data)


def entries() -> list[BlacklistEntry]:
    return list(db.session.scalars(select(BlacklistEntry).order_by(BlacklistEntry.id)))


# ---------------------------------------------------------------- who holds the permission


def test_only_hr_units_hold_blacklist_manage(make_user, tree):
    school_admin = make_user(tree.school, admin=True)
    school_member = make_user(tree.school, permissions=["blacklist.manage"])

    assert access.has_permission(make_user(tree.leshan, admin=True), "blacklist.manage")
    assert not access.has_permission(school_admin, "blacklist.manage")
    assert not access.has_permission(school_member, "blacklist.manage")


def test_a_declaring_unit_cannot_grant_blacklist_manage_in_a_role(client, login, make_user, tree):
    login(make_user(tree.school, admin=True))

    form = client.get("/roles/new").get_data(as_text=True)
    response = client.post("/roles/new", data={"name": "黑名单", "permissions": ["blacklist.manage"]})

    assert "黑名单管理" not in form
    assert response.status_code == 400 and "黑名单管理 不适用于本单位类型" in response.get_data(as_text=True)
    assert db.session.scalar(select(Role).where(Role.unit_id == tree.school.id, Role.name == "黑名单")) is None


def test_the_menu_shows_blacklist_to_holders_only(client, login, make_user, tree):
    login(tree.leshan_staff)
    assert "黑名单管理" in client.get("/").get_data(as_text=True)
    client.post("/logout")
    login(make_user(tree.school, admin=True))
    assert "黑名单管理" not in client.get("/").get_data(as_text=True)


# ---------------------------------------------------------------- add, edit, view, lift


def test_add_with_the_default_period_of_three_years(client, login, tree, make_applicant):
    applicant = make_applicant(tree.school, name="赵造假")
    login(tree.leshan_staff)

    response = add(client, id_number=applicant.id_number)

    assert response.status_code == 302
    [entry] = entries()
    today = date.today()
    assert (entry.start_date, entry.end_date) == (today, blacklist.default_end_date(today, 3))
    assert entry.end_date == date(today.year + 3, today.month, today.day) - timedelta(days=1) or (
        today.month, today.day) == (2, 29)
    assert (entry.applicant_id, entry.unit_id, entry.status) == (applicant.id, tree.leshan.id, "active")
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "blacklist.add",
                                                    AuditLog.target_id == str(entry.id)))


def test_default_end_of_a_ban_starting_on_29_february():
    assert blacklist.default_end_date(date(2024, 2, 29), 3) == date(2027, 2, 28)
    assert blacklist.default_end_date(date(2026, 3, 10), 3) == date(2029, 3, 9)


def test_add_by_choosing_a_registered_applicant(client, login, tree, make_applicant):
    applicant = make_applicant(tree.school, name="钱某某")
    login(tree.leshan_staff)

    found = client.get("/blacklist/people?q=钱某").get_data(as_text=True)
    response = client.post("/blacklist/new", data={"applicant_id": str(applicant.id), "reason": "材料造假"})

    assert "钱某某" in found and applicant.id_number not in found  # masked in the list
    assert response.status_code == 302
    assert (entries()[0].id_number, entries()[0].name) == (applicant.id_number, "钱某某")


def test_people_search_by_name_stays_in_the_own_tree(client, login, tree, make_applicant):
    make_applicant(tree.school, name="孙某某")
    login(tree.chengdu_staff)

    assert "孙某某" not in client.get("/blacklist/people?q=孙某").get_data(as_text=True)


def wrong_check_char(number: str) -> str:
    return number[:-1] + ("1" if number[-1] != "1" else "2")


BAD_ADDS = [
    ({"id_number": wrong_check_char(valid_id_number("19850101", "511102"))}, "证件号码校验位错误"),
    ({"id_number": ""}, "证件号码：必填"),
    ({"name": ""}, "姓名：必填"),
    ({"reason": ""}, "列入原因：必填"),
    ({"reason": "因" * 501}, "列入原因：不能超过 500 个字"),
    ({"start_date": "2026-02-30"}, "开始日期：日期格式应为 年-月-日"),
    ({"start_date": "2026-05-01", "end_date": "2026-04-01"}, "截止日期：不能早于开始日期"),
    ({"applicant_id": "999999"}, "人员：请从查询结果中选择"),
]


@pytest.mark.parametrize(("overrides", "message"), BAD_ADDS, ids=[m for _, m in BAD_ADDS])
def test_add_refuses_bad_input_and_writes_nothing(client, login, tree, overrides, message):
    login(tree.leshan_staff)

    response = add(client, **overrides)

    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert entries() == []


def test_add_refuses_a_name_other_than_the_registered_one(client, login, tree, make_applicant):
    applicant = make_applicant(tree.school, name="周某")
    login(tree.leshan_staff)

    response = add(client, id_number=applicant.id_number, name="周某某")

    assert response.status_code == 400 and "姓名：与该证件号码的注册信息不一致" in response.get_data(as_text=True)


def test_add_refuses_an_overlapping_ban_of_the_same_person(client, login, tree):
    login(tree.leshan_staff)
    number = valid_id_number("19850101", "511102")
    add(client, id_number=number)

    response = add(client, id_number=number)

    assert response.status_code == 409 and "期限重叠" in response.get_data(as_text=True)
    assert len(entries()) == 1


def test_edit_changes_the_reason_and_period_and_is_audited(client, login, tree):
    login(tree.leshan_staff)
    add(client)
    entry = entries()[0]
    end = date.today() + timedelta(days=400)

    response = client.post(f"/blacklist/{entry.id}/edit", data={
        "name": "赵造假", "reason": "伪造学历", "start_date": entry.start_date.isoformat(), "end_date": end.isoformat()})

    assert response.status_code == 302
    db.session.refresh(entry)
    assert (entry.reason, entry.end_date) == ("伪造学历", end)
    log = db.session.scalar(select(AuditLog).where(AuditLog.action == "blacklist.update"))
    assert log.detail["before"]["reason"] == "伪造论文，撤销职称"
    detail = client.get(f"/blacklist/{entry.id}").get_data(as_text=True)
    assert entry.id_number in detail  # full number on the detail page


def test_edit_refuses_an_end_date_in_the_past(client, login, tree):
    login(tree.leshan_staff)
    add(client)
    entry = entries()[0]

    response = client.post(f"/blacklist/{entry.id}/edit", data={
        "name": "赵造假", "reason": "x", "start_date": "2020-01-01", "end_date": "2020-06-01"})

    assert response.status_code == 400 and "提前结束请使用“解除”" in response.get_data(as_text=True)


def test_lift_needs_a_reason_is_final_and_lets_the_person_declare(client, login, tree, make_applicant):
    applicant = make_applicant(tree.school, name="吴某")
    login(tree.leshan_staff)
    add(client, id_number=applicant.id_number, name="吴某")
    entry = entries()[0]
    with pytest.raises(Forbidden):
        blacklist.ensure_not_blacklisted(applicant)

    page = client.get(f"/blacklist/{entry.id}/lift").get_data(as_text=True)
    missing = client.post(f"/blacklist/{entry.id}/lift", data={"lift_reason": ""})
    lifted = client.post(f"/blacklist/{entry.id}/lift", data={"lift_reason": "复核后撤销处理决定"})
    again = client.post(f"/blacklist/{entry.id}/lift", data={"lift_reason": "再次解除"})
    edit = client.post(f"/blacklist/{entry.id}/edit", data={"name": "吴某", "reason": "x", "start_date": "2026-01-01",
                                                            "end_date": "2030-01-01"})

    assert "data-confirm=" in page  # the browser asks before the irreversible step
    assert missing.status_code == 400 and "解除原因：必填" in missing.get_data(as_text=True)
    assert lifted.status_code == 302
    assert again.status_code == 409 and edit.status_code == 409
    db.session.refresh(entry)
    assert (entry.status, entry.lift_reason, entry.lifted_by_id) == ("lifted", "复核后撤销处理决定",
                                                                     tree.leshan_staff.id)
    blacklist.ensure_not_blacklisted(applicant)  # no longer banned


# ---------------------------------------------------------------- the ban


def test_ensure_not_blacklisted_tells_the_reason_and_period(database, tree, make_applicant):
    applicant = make_applicant(tree.school)
    entry = BlacklistEntry(id_number=applicant.id_number, name=applicant.name, reason="伪造业绩材料",
                           start_date=date(2026, 1, 1), end_date=date(2028, 12, 31), unit_id=tree.leshan.id,
                           created_by_id=tree.leshan_staff.id)
    db.session.add(entry)
    db.session.flush()

    with pytest.raises(Forbidden) as refused:
        blacklist.ensure_not_blacklisted(applicant, on=date(2027, 6, 1))

    assert "伪造业绩材料" in refused.value.message
    assert "2026年01月01日 至 2028年12月31日" in refused.value.message
    assert refused.value.status == 403
    assert blacklist.active_entry(applicant.id_number, on=date(2028, 12, 31)) == entry  # the last day counts
    assert blacklist.active_entry(applicant.id_number, on=date(2029, 1, 1)) is None  # expired
    assert blacklist.active_entry(applicant.id_number, on=date(2025, 12, 31)) is None  # not yet in force
    assert entry.status_on(date(2029, 1, 1)) == "expired"
    blacklist.ensure_not_blacklisted(applicant, on=date(2029, 1, 1))


def test_the_applicant_home_shows_an_active_ban(client, login_applicant, tree, make_applicant):
    applicant = make_applicant(tree.school)
    db.session.add(BlacklistEntry(id_number=applicant.id_number, name=applicant.name, reason="考试作弊",
                                  start_date=date.today(), end_date=date.today() + timedelta(days=30),
                                  unit_id=tree.leshan.id, created_by_id=tree.leshan_staff.id))
    login_applicant(applicant)

    assert "考试作弊" in client.get("/applicant/").get_data(as_text=True)


# ---------------------------------------------------------------- lists, scope, export


def seed(tree) -> dict[str, BlacklistEntry]:
    today = date.today()
    rows = {
        "leshan_active": BlacklistEntry(id_number=valid_id_number("19800101", "511102"), name="乐山在册",
                                        reason="甲", start_date=today, end_date=today + timedelta(days=10),
                                        unit_id=tree.leshan.id, created_by_id=tree.leshan_staff.id),
        "leshan_expired": BlacklistEntry(id_number=valid_id_number("19810101", "511102"), name="乐山到期",
                                         reason="=HYPERLINK(\"x\")", start_date=today - timedelta(days=900),
                                         end_date=today - timedelta(days=1), unit_id=tree.leshan.id,
                                         created_by_id=tree.leshan_staff.id),
        "leshan_lifted": BlacklistEntry(id_number=valid_id_number("19820101", "511102"), name="乐山解除",
                                        reason="丙", start_date=today, end_date=today + timedelta(days=10),
                                        unit_id=tree.leshan.id, created_by_id=tree.leshan_staff.id,
                                        lifted_at=datetime.now(), lift_reason="误录"),
        "chengdu_active": BlacklistEntry(id_number=valid_id_number("19830101", "510104"), name="成都在册",
                                         reason="丁", start_date=today, end_date=today + timedelta(days=10),
                                         unit_id=tree.chengdu.id, created_by_id=tree.chengdu_staff.id),
    }
    db.session.add_all(rows.values())
    db.session.flush()
    return rows


def test_a_unit_sees_its_own_entries_and_the_province_sees_all(client, login, tree):
    rows = seed(tree)

    login(tree.leshan_staff)
    leshan = client.get("/blacklist/").get_data(as_text=True)
    other = client.get(f"/blacklist/{rows['chengdu_active'].id}")
    client.post("/logout")
    login(tree.province_staff)
    province = client.get("/blacklist/").get_data(as_text=True)

    assert "乐山在册" in leshan and "乐山到期" in leshan and "成都在册" not in leshan
    assert other.status_code == 404
    assert all(r.name in province for r in rows.values())
    assert rows["leshan_active"].id_number not in leshan  # masked in lists


@pytest.mark.parametrize(("query", "shown"), [
    ("status=active", {"乐山在册", "成都在册"}),
    ("status=expired", {"乐山到期"}),
    ("status=lifted", {"乐山解除"}),
    ("name=到期", {"乐山到期"}),
    ("status=bogus&start_from=not-a-date", {"乐山在册", "乐山到期", "乐山解除", "成都在册"}),
])
def test_list_filters(client, login, tree, query, shown):
    rows = seed(tree)
    login(tree.province_staff)

    html = client.get(f"/blacklist/?{query}").get_data(as_text=True)

    assert {r.name for r in rows.values() if r.name in html} == shown


def test_list_filters_by_id_number_and_start_dates(client, login, tree):
    rows = seed(tree)
    login(tree.province_staff)
    number = rows["chengdu_active"].id_number
    from_yesterday = (date.today() - timedelta(days=1)).isoformat()

    assert "成都在册" in client.get(f"/blacklist/?id_number={number}").get_data(as_text=True)
    assert "乐山在册" not in client.get(f"/blacklist/?id_number={number}").get_data(as_text=True)
    assert "乐山到期" not in client.get(f"/blacklist/?start_from={from_yesterday}").get_data(as_text=True)


def test_list_pages(client, login, tree):
    for i in range(25):
        db.session.add(BlacklistEntry(id_number=valid_id_number("19800101", "511102", i), name=f"人员{i:02d}",
                                      reason="r", start_date=date.today(), end_date=date.today(),
                                      unit_id=tree.leshan.id, created_by_id=tree.leshan_staff.id))
    login(tree.leshan_staff)

    assert "共 25 条" in client.get("/blacklist/?page=2").get_data(as_text=True)


def test_export_has_full_numbers_of_the_own_scope_escapes_formulas_and_is_audited(client, login, tree):
    rows = seed(tree)
    login(tree.leshan_staff)

    response = client.get("/blacklist/export?status=")

    assert response.mimetype.endswith("spreadsheetml.sheet")
    sheet = CalamineWorkbook.from_filelike(io.BytesIO(response.data)).get_sheet_by_index(0).to_python()
    assert sheet[0][:3] == ["序号", "姓名", "证件号码"]
    numbers = {row[2] for row in sheet[1:]}
    assert rows["leshan_active"].id_number in numbers and rows["chengdu_active"].id_number not in numbers
    assert len(sheet) == 4
    assert db.session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "blacklist.export")) == 1


def test_nothing_is_ever_deleted(app):
    assert not [r for r in app.url_map.iter_rules() if r.endpoint.startswith("blacklist.") and "delete" in r.rule]
