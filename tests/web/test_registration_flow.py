"""单位注册 / 用户权限申请 and 下级单位注册审核 through the pages (S 1.1.2.2, 1.2.9.2.1; FEATURES A3, B1)."""

from __future__ import annotations

import hashlib
import re
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient
from helpers import PASSWORD, valid_credit_code
from registration_helpers import (
    PDF,
    application_form,
    committed_counts,
    open_task,
    png,
    registration,
    review,
    submit,
    with_file,
)
from sqlalchemy import select

from app.extensions import db
from app.models import HumanTaskCandidate, Role, Unit, User
from services.authz import audit_chain


@pytest.fixture
def leshan(make_unit) -> Unit:
    province = make_unit(unit_type="hr", region="510000B", name="四川省人力资源和社会保障厅")
    leshan = make_unit(parent=province, unit_type="hr", region="511100B", name="乐山市人力资源和社会保障局")
    db.session.commit()  # a refused request rolls back to the last commit, as a real request would
    return leshan


@pytest.fixture
def two_levels(make_user, leshan) -> tuple[User, User]:
    """乐山's 多岗审核 for 注册审核: 初审 by one staff member, 复审 by another."""
    first = make_user(leshan, permissions=["inbox.view", "registration.review"], name="初审员")
    second = make_user(leshan, permissions=["inbox.view", "registration.review"], name="复审员")
    admin = make_user(leshan, admin=True, name="乐山管理员")
    audit_chain.save_levels(admin, leshan, "unit_registration",
                            [{"name": "初审", "user_ids": [first.id]}, {"name": "复审", "user_ids": [second.id]}])
    db.session.commit()
    return first, second


def candidates(task_id: int) -> set[int]:
    return set(db.session.scalars(select(HumanTaskCandidate.user_id).where(HumanTaskCandidate.task_id == task_id)))


def status_page(client: FlaskClient, token: str) -> str:
    response = client.get(f"/register/status?token={token}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_register_page_offers_the_manual_sections(client):
    page = client.get("/register").get_data(as_text=True)

    for words in ("用户权限申请", "单位基本信息", "法人信息", "企业营业执照", "经办人信息", "上级单位名称", "提交审核"):
        assert words in page


def test_superior_picker_finds_active_units_by_name(client, leshan, make_unit):
    make_unit(parent=leshan, region="511102", name="乐山市已注销医院", status="cancelled")

    found = client.get("/register/superiors?q=乐山", headers={"Accept": "application/json"}).get_json()
    fragment = client.get("/register/superiors?q=乐山").get_data(as_text=True)

    assert [u["name"] for u in found] == ["乐山市人力资源和社会保障局"]
    assert "乐山市人力资源和社会保障局（人社部门）" in fragment
    assert "已注销" not in fragment
    assert "请先输入单位名称查找" in client.get("/register/superiors?q=").get_data(as_text=True)
    assert "没有名称相符的单位" in client.get("/register/superiors?q=不存在的单位").get_data(as_text=True)


def test_registration_passes_two_levels_and_the_admin_must_change_password(app, client, leshan, two_levels):
    first, second = two_levels
    form = application_form(leshan)

    token = submit(client, form)

    reg = registration(token)
    assert (reg.status, reg.superior_id, reg.licence_type, reg.name) == ("pending", leshan.id, "pdf", "乐山市市中区人民医院")
    assert "待审核" in status_page(client, token)
    task = open_task("unit_registration", reg.id)
    assert (task.unit_id, task.level_no, candidates(task.id)) == (leshan.id, 1, {first.id})

    shown = review(app, first, task, "pass", "初审同意")
    for text in ("单位注册申请", "乐山市市中区人民医院", form["credit_code"], "李法人", "王经办", "szqrmyy_admin",
                 f"/registrations/{reg.id}/licence"):
        assert text in shown, f"the task page shows {text}"
    task = open_task("unit_registration", reg.id)
    assert (task.level_no, candidates(task.id)) == (2, {second.id})
    review(app, second, task, "pass", "复审同意")

    unit = db.session.scalar(select(Unit).where(Unit.credit_code == form["credit_code"]))
    assert (unit.parent_id, unit.path, unit.unit_type_code) == (leshan.id, f"{leshan.path}{unit.id}/", "declaring")
    assert db.session.scalar(select(Role.id).where(Role.unit_id == unit.id)) is not None, "default roles"
    admin = db.session.scalar(select(User).where(User.username == "szqrmyy_admin"))
    assert (admin.unit_id, admin.is_unit_admin, admin.must_change_password) == (unit.id, True, True)

    page = status_page(client, token)
    assert "审核通过" in page and "初审同意" in page and "复审同意" in page
    password = re.search(r'data-testid="initial-password">([^<]+)<', page).group(1)
    again = status_page(client, token)
    assert password not in again and "不再显示" in again, "the initial password is shown once"

    handler = app.test_client()
    assert handler.post("/login", data={"username": "szqrmyy_admin", "password": password}).status_code == 302
    assert urlsplit(handler.get("/").location).path == "/password", "the first sign-in must change the password"
    changed = handler.post("/password", data={"old_password": password, "new_password": "Xin-Mima2026",
                                              "confirm_password": "Xin-Mima2026"})
    assert changed.status_code == 302
    assert handler.get("/").status_code == 200


def test_png_licence_is_accepted_and_reviewers_may_download_it(app, client, login, leshan, two_levels):
    first, _ = two_levels
    token = submit(client, application_form(leshan), png(), "执照.png")
    reg = registration(token)

    own = client.get(f"/register/licence?token={token}")
    assert (own.status_code, own.mimetype) == (200, "image/png")
    reviewer = login(first)
    download = reviewer.get(f"/registrations/{reg.id}/licence")
    assert download.status_code == 200
    assert download.data == png()


def test_a_returned_registration_is_corrected_and_resubmitted(app, client, leshan, two_levels):
    first, second = two_levels
    token = submit(client, application_form(leshan, name="市中区医院"))
    reg = registration(token)
    review(app, first, open_task("unit_registration", reg.id), "pass", "初审同意")
    review(app, second, open_task("unit_registration", reg.id), "return", "单位名称应为全称")

    page = status_page(client, token)
    assert "已退回" in page and "单位名称应为全称" in page and "修改注册信息" in page
    corrected = application_form(leshan, name="乐山市市中区人民医院", credit_code=reg.credit_code, note="已改为全称")
    corrected.pop("superior_id")
    response = client.post("/register/status", data={**with_file(corrected, png(), "新执照.png"), "token": token},
                           content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)[:1500]

    reg = registration(token)
    assert (reg.name, reg.licence_type, reg.status) == ("乐山市市中区人民医院", "png", "pending")
    task = open_task("unit_registration", reg.id)
    assert (task.level_no, candidates(task.id)) == (1, {first.id}), "a resubmission starts again at level 1"
    assert "待审核" in status_page(client, token)
    review(app, first, task, "pass", "初审同意")
    review(app, second, open_task("unit_registration", reg.id), "pass", "复审同意")
    assert registration(token).status == "approved"
    assert db.session.scalar(select(Unit).where(Unit.name == "乐山市市中区人民医院")) is not None


def test_a_correction_is_refused_unless_returned_and_keeps_its_rules(app, client, leshan, two_levels):
    first, second = two_levels
    token = submit(client, application_form(leshan))
    reg = registration(token)
    corrected = {**application_form(leshan, credit_code=reg.credit_code, note="改"), "token": token}

    assert client.post("/register/status", data=corrected).status_code == 409, "not returned yet"

    review(app, first, open_task("unit_registration", reg.id), "return", "请补充")
    before = committed_counts()
    bad = {**corrected, "credit_code": reg.credit_code[:17] + ("0" if reg.credit_code[17] != "0" else "1")}
    response = client.post("/register/status", data=bad)
    assert response.status_code == 400
    assert "统一社会信用代码" in response.get_data(as_text=True)
    assert committed_counts() == before


def test_a_rejected_registration_ends_with_the_opinion(app, client, leshan, two_levels):
    first, second = two_levels
    form = application_form(leshan)
    token = submit(client, form)
    reg = registration(token)
    review(app, first, open_task("unit_registration", reg.id), "pass", "初审同意")
    review(app, second, open_task("unit_registration", reg.id), "reject", "非本辖区单位")

    page = status_page(client, token)
    assert "审核不通过" in page and "非本辖区单位" in page and "修改注册信息" not in page
    assert db.session.scalar(select(Unit).where(Unit.credit_code == form["credit_code"])) is None
    assert db.session.scalar(select(User).where(User.username == form["handler_username"])) is None
    # The credit code and the login name are free again for a new application.
    assert submit(client, form)


def test_without_configuration_any_holder_of_the_permission_reviews_in_one_level(app, client, leshan, make_user):
    holder = make_user(leshan, permissions=["inbox.view", "registration.review"], name="审核员")
    admin = make_user(leshan, admin=True, name="乐山管理员")
    make_user(leshan, permissions=["inbox.view"], name="无权员工")
    token = submit(client, application_form(leshan))
    reg = registration(token)

    task = open_task("unit_registration", reg.id)
    assert (task.level_no, candidates(task.id)) == (1, {holder.id, admin.id})
    review(app, holder, task, "pass", "同意")
    assert registration(token).status == "approved"


# ---------------------------------------------------------------- refusals: nothing written


def too_big() -> bytes:
    return PDF + b"0" * (10 * 1024 * 1024)


REFUSALS = [
    ("oversized licence", {}, too_big(), "x.pdf", "企业营业执照：文件不能超过 10 MB"),
    ("a text file named .pdf", {}, b"just text, not a PDF", "fake.pdf", "企业营业执照：文件类型须为 pdf/jpg/png，实际为 未知"),
    ("missing licence", {}, None, "", "企业营业执照：必须上传"),
    ("missing name", {"name": None}, PDF, "a.pdf", "单位名称：必填"),
    ("missing handler", {"handler_name": None}, PDF, "a.pdf", "经办人姓名：必填"),
    ("missing handler id number", {"handler_id_number": None}, PDF, "a.pdf", "经办人证件号码：必填"),
    ("no superior", {"superior_id": None}, PDF, "a.pdf", "上级单位：请从列表中选择"),
    ("superior id past the integer range", {"superior_id": "9" * 30}, PDF, "a.pdf", "上级单位：请从列表中选择"),
    ("superior id of a superscript digit", {"superior_id": "²"}, PDF, "a.pdf", "上级单位：请从列表中选择"),
    ("unknown superior", {"superior_id": "2147483000"}, PDF, "a.pdf", "上级单位：请从列表中选择一个有效的上级单位"),
    ("bad check character", {"credit_code": "12511100MB0000000X"}, PDF, "a.pdf", "统一社会信用代码"),
    ("nature against the credit code", {"nature_code": "enterprise"}, PDF, "a.pdf",
     "统一社会信用代码：前两位 12 与单位性质「企业」不符"),
    ("no legal person", {"legal_person_name": None, "legal_person_id_number": None, "legal_person_phone": None},
     PDF, "a.pdf", "法人信息：非人社部门单位须维护法人信息"),
    ("region outside the superior's", {"region_code": "510104"}, PDF, "a.pdf", "职称业务归属地：须在上级单位的归属地范围内"),
]


@pytest.mark.parametrize(("changes", "content", "filename", "message"), [r[1:] for r in REFUSALS],
                         ids=[r[0] for r in REFUSALS])
def test_bad_applications_are_refused_in_chinese_and_write_nothing(app, client, leshan, changes, content, filename,
                                                                   message):
    before = committed_counts()
    if content:
        content += f"% {uuid.uuid4()}\n".encode()  # content never stored before, so its absence proves something
    form = application_form(leshan, **changes)
    data = with_file(form, content, filename) if content is not None else form

    response = client.post("/register", data=data, content_type="multipart/form-data")

    assert response.status_code in (400, 409, 413)
    assert message in response.get_data(as_text=True)
    assert committed_counts() == before
    if content is not None:
        stored = Path(app.config["UPLOAD_FOLDER"]) / hashlib.sha256(content).hexdigest()[:2]
        assert not (stored / hashlib.sha256(content).hexdigest()).exists(), "a refused upload is not stored"


def test_a_superior_may_only_take_the_types_it_grants(client, leshan, make_unit):
    hospital = make_unit(parent=leshan, region="511102", name="乐山市人民医院")
    db.session.commit()
    before = committed_counts()

    response = client.post("/register", data=with_file(application_form(hospital, unit_type_code="competent")),
                           content_type="multipart/form-data")

    assert response.status_code == 400
    assert "单位类型：申报单位不能新增该类型的下级单位" in response.get_data(as_text=True)
    assert committed_counts() == before


def test_a_credit_code_under_review_cannot_be_registered_twice(client, leshan):
    form = application_form(leshan)
    submit(client, form)
    before = committed_counts()

    again = client.post("/register", data=with_file(application_form(leshan, credit_code=form["credit_code"],
                                                                     handler_username="another_admin")),
                        content_type="multipart/form-data")

    assert again.status_code == 409
    assert "统一社会信用代码：已有单位以该代码提交注册，正在审核中" in again.get_data(as_text=True)
    assert committed_counts() == before


def test_status_page_with_a_wrong_token_is_not_found(client):
    assert client.get("/register/status?token=nothing-here").status_code == 404
    assert client.get("/register/status").status_code == 404
    assert client.get("/register/licence?token=x").status_code == 404


def test_unknown_credit_code_prefix_is_named(client, leshan):
    response = client.post("/register", data=with_file(application_form(
        leshan, credit_code=valid_credit_code("91", "511100"))), content_type="multipart/form-data")
    assert response.status_code == 400
    assert "统一社会信用代码：前两位 91 与单位性质「事业单位」不符" in response.get_data(as_text=True)


def test_the_handler_cannot_sign_in_before_the_password_is_shown(app, client, leshan, two_levels):
    """No password exists in clear anywhere until the status page issues it."""
    first, second = two_levels
    token = submit(client, application_form(leshan))
    reg = registration(token)
    review(app, first, open_task("unit_registration", reg.id), "pass", "同意")
    review(app, second, open_task("unit_registration", reg.id), "pass", "同意")
    admin = db.session.scalar(select(User).where(User.username == "szqrmyy_admin"))

    assert app.test_client().post("/login", data={"username": admin.username, "password": PASSWORD}).status_code == 401
