"""services.org.registration: 用户权限申请 and its review by the superior (S 1.1.2.2, 1.2.9.2.1; FEATURES A3)."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

import pytest
from helpers import valid_credit_code, valid_id_number
from sqlalchemy import select

from app.extensions import db
from app.models import HumanTask, Unit, UnitRegistration, User
from services.common.errors import Conflict, InvalidInput, NotFound
from services.org import registration
from services.org.accounts import authenticate
from services.workflow import instances

PDF = b"%PDF-1.4\n%%EOF\n"


@pytest.fixture
def leshan(make_unit) -> Unit:
    province = make_unit(unit_type="hr", region="510000B", name="四川省人力资源和社会保障厅")
    return make_unit(parent=province, unit_type="hr", region="511100B", name="乐山市人力资源和社会保障局")


@pytest.fixture
def reviewer(make_user, leshan) -> User:
    return make_user(leshan, permissions=["inbox.view", "registration.review"], name="审核员")


def application(superior: Unit, username: str = "szq_admin", **basic: Any) -> registration.Application:
    return registration.Application(
        superior_id=superior.id,
        basic={"name": "乐山市市中区人民医院", "credit_code": valid_credit_code("12", "511100"),
               "unit_type_code": "declaring", "nature_code": "institution", "region_code": "511102",
               "contact_name": "张联系", "phone": "0833-2123456", "address": "", **basic},
        legal={"legal_person_name": "李法人", "legal_person_id_number": valid_id_number(region="511102"),
               "legal_person_phone": "13912345678"},
        handler={"name": "王经办", "id_number": valid_id_number(region="511102"), "phone": "13812345678",
                 "username": username},
    )


def licence() -> registration.Upload:
    return registration.Upload("营业执照.pdf", PDF)


def decide(reviewer: User, reg: UnitRegistration, decision: str, opinion: str = "意见") -> None:
    task = db.session.scalar(select(HumanTask).where(HumanTask.business_id == reg.id, HumanTask.status == "open",
                                                     HumanTask.business_type == "unit_registration"))
    instances.complete_human_task(reviewer, task.id, {"decision": decision, "opinion": opinion})


def test_submission_keeps_only_the_tokens_hash_and_opens_the_review(leshan, reviewer):
    submitted = registration.submit_registration(application(leshan), licence())

    reg = submitted.registration
    assert reg.token_hash == hashlib.sha256(submitted.token.encode()).hexdigest()
    assert submitted.token not in reg.token_hash
    assert registration.load_by_token(submitted.token) is reg
    assert registration.status_of(reg) == "pending"
    task = db.session.scalar(select(HumanTask).where(HumanTask.business_id == reg.id,
                                                     HumanTask.business_type == "unit_registration"))
    assert (task.unit_id, task.post, task.level_no) == (leshan.id, "unit_reviewer", 1)


@pytest.mark.parametrize("token", ["", "x" * 200, "not-a-token"])
def test_a_wrong_token_opens_nothing(leshan, token):
    registration.submit_registration(application(leshan), licence())
    with pytest.raises(NotFound):
        registration.load_by_token(token)


def test_credit_code_and_login_name_are_reserved_while_under_review(leshan):
    first = registration.submit_registration(application(leshan), licence()).registration

    with pytest.raises(Conflict, match="统一社会信用代码：已有单位以该代码提交注册，正在审核中"):
        registration.submit_registration(application(leshan, "other_admin", credit_code=first.credit_code), licence())
    with pytest.raises(Conflict, match="登录账号：已被其他注册申请占用") as caught:
        registration.submit_registration(application(leshan, "SZQ_ADMIN"), licence())
    assert caught.value.field == "handler_username"


def test_an_existing_account_name_is_refused_on_the_handler_field(leshan, make_user):
    make_user(leshan, username="taken_name")
    with pytest.raises(Conflict) as caught:
        registration.submit_registration(application(leshan, "taken_name"), licence())
    assert caught.value.field == "handler_username"


def test_only_types_the_superior_may_grant(leshan, make_unit):
    hospital = make_unit(parent=leshan, region="511102")
    with pytest.raises(InvalidInput, match="单位类型：申报单位不能新增该类型的下级单位"):
        registration.submit_registration(application(hospital, unit_type_code="competent"), licence())
    assert registration.submit_registration(application(hospital), licence())


def test_region_must_lie_in_the_superiors_territory(leshan):
    with pytest.raises(InvalidInput, match="职称业务归属地：须在上级单位的归属地范围内"):
        registration.submit_registration(application(leshan, region_code="510104"), licence())


def test_an_inactive_superior_is_refused(leshan, make_unit):
    closed = make_unit(parent=leshan, region="511102", status="cancelled")
    with pytest.raises(InvalidInput, match="上级单位：请从列表中选择一个有效的上级单位"):
        registration.submit_registration(application(closed), licence())


def test_licence_is_required_and_checked_by_content(leshan):
    with pytest.raises(InvalidInput, match="企业营业执照：必须上传"):
        registration.submit_registration(application(leshan), None)
    with pytest.raises(InvalidInput, match="企业营业执照：文件类型须为 pdf/jpg/png"):
        registration.submit_registration(application(leshan), registration.Upload("a.pdf", b"<html>"))
    assert db.session.scalar(select(UnitRegistration.id)) is None


def test_approval_creates_unit_roles_and_admin_and_issues_the_password_once(leshan, reviewer):
    submitted = registration.submit_registration(application(leshan), licence())
    reg = submitted.registration
    assert registration.issue_initial_password(reg) is None, "nothing to issue before approval"

    decide(reviewer, reg, "pass")

    assert reg.status == "approved"
    assert reg.unit.parent_id == leshan.id and reg.admin.unit_id == reg.unit_id
    password = registration.issue_initial_password(reg)
    assert password and reg.admin.must_change_password
    assert registration.issue_initial_password(reg) is None
    assert authenticate(reg.admin.username, password, datetime.now()).id == reg.admin_id


def test_rejection_records_the_opinion_and_creates_nothing(leshan, reviewer):
    reg = registration.submit_registration(application(leshan), licence()).registration

    decide(reviewer, reg, "reject", "材料不实")

    assert (reg.status, reg.opinion, reg.unit_id) == ("rejected", "材料不实", None)
    assert registration.status_of(reg) == "rejected"


def test_return_then_resubmit_goes_back_to_the_same_superior(leshan, reviewer):
    submitted = registration.submit_registration(application(leshan), licence())
    reg = submitted.registration
    decide(reviewer, reg, "return", "请补充法人信息")
    assert registration.status_of(reg) == "returned"

    fixed = application(leshan, name="乐山市市中区人民医院（更正）", credit_code=reg.credit_code)
    registration.resubmit_registration(submitted.token, fixed, "已更正", None)

    assert (reg.name, registration.status_of(reg)) == ("乐山市市中区人民医院（更正）", "pending")
    trail = [e.action for e in registration.trail_of(reg)]
    assert trail == ["start", "return", "submit"]


def test_resubmission_may_not_change_the_superior(leshan, reviewer, make_unit):
    other = make_unit(parent=leshan.parent, unit_type="hr", region="511100B")
    submitted = registration.submit_registration(application(leshan), licence())
    decide(reviewer, submitted.registration, "return")

    with pytest.raises(InvalidInput, match="上级单位：修改注册信息时不能更换上级单位"):
        registration.resubmit_registration(submitted.token, application(other), "换", None)


def test_approval_refused_when_the_login_name_was_taken_meanwhile(leshan, reviewer, make_user):
    reg = registration.submit_registration(application(leshan), licence()).registration
    make_user(leshan, username="szq_admin")

    with pytest.raises(Conflict, match="登录账号"):
        decide(reviewer, reg, "pass")


def test_superior_search_lists_active_units_by_name(leshan, make_unit):
    make_unit(parent=leshan, region="511102", name="乐山市关闭医院", status="cancelled")
    assert [u.name for u in registration.find_superiors("乐山")] == ["乐山市人力资源和社会保障局"]
    assert registration.find_superiors("   ") == []
    assert registration.find_superiors("100%_") == []


def test_licence_opens_for_the_superiors_reviewers_only(leshan, reviewer, make_unit, make_user):
    reg = registration.submit_registration(application(leshan), licence()).registration
    stranger = make_user(make_unit(parent=leshan.parent, unit_type="hr", region="511100B"), admin=True)

    assert registration.licence_for_reviewer(reviewer, reg.id) is reg
    with pytest.raises(NotFound):
        registration.licence_for_reviewer(stranger, reg.id)
    with pytest.raises(NotFound):
        registration.licence_for_reviewer(reviewer, reg.id + 1000)
