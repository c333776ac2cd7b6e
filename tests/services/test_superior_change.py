"""services.org.superior_change: 变更上级单位 reviewed by the new superior (S 1.2.9.1.1; FEATURES A4)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import HumanTask, HumanTaskCandidate, Unit, User
from services.authz import audit_chain
from services.common.errors import Conflict, Forbidden, InvalidInput
from services.org import superior_change
from services.workflow import instances


@dataclass
class Tree:
    """province ─ leshan ─ hospital ─ branch; leshan ─ health (主管部门); province ─ chengdu."""

    province: Unit
    leshan: Unit
    hospital: Unit
    branch: Unit
    health: Unit
    chengdu: Unit
    hospital_admin: User
    health_first: User
    health_second: User


@pytest.fixture
def tree(make_unit, make_user) -> Tree:
    province = make_unit(unit_type="hr", region="510000B", name="四川省人力资源和社会保障厅")
    leshan = make_unit(parent=province, unit_type="hr", region="511100B", name="乐山市人力资源和社会保障局")
    hospital = make_unit(parent=leshan, region="511102", name="乐山市人民医院")
    branch = make_unit(parent=hospital, region="511102", name="乐山市人民医院分院")
    health = make_unit(parent=leshan, unit_type="competent", region="511100B", name="乐山市卫生健康委员会",
                       nature="organ")
    chengdu = make_unit(parent=province, unit_type="hr", region="510100B", name="成都市人力资源和社会保障局")
    first = make_user(health, permissions=["inbox.view", "registration.review"], name="卫健委初审")
    second = make_user(health, permissions=["inbox.view", "registration.review"], name="卫健委复审")
    audit_chain.save_levels(make_user(health, admin=True), health, "unit_registration",
                            [{"name": "初审", "user_ids": [first.id]}, {"name": "复审", "user_ids": [second.id]}])
    return Tree(province, leshan, hospital, branch, health, chengdu, make_user(hospital, admin=True), first, second)


def open_task(change_id: int) -> HumanTask:
    return db.session.scalar(select(HumanTask).where(
        HumanTask.business_type == "unit_superior_change", HumanTask.business_id == change_id,
        HumanTask.status == "open"))


def decide(user: User, change_id: int, decision: str, opinion: str = "意见") -> None:
    instances.complete_human_task(user, open_task(change_id).id, {"decision": decision, "opinion": opinion})


def test_pass_through_two_levels_moves_the_whole_subtree(tree):
    change = superior_change.request_superior_change(tree.hospital_admin, tree.hospital, tree.health.id, "归口管理")
    task = open_task(change.id)
    candidates = set(db.session.scalars(select(HumanTaskCandidate.user_id).where(
        HumanTaskCandidate.task_id == task.id)))
    assert (task.unit_id, task.level_no, candidates) == (tree.health.id, 1, {tree.health_first.id})

    decide(tree.health_first, change.id, "pass")
    assert open_task(change.id).level_no == 2
    decide(tree.health_second, change.id, "pass")

    db.session.expire_all()
    assert (change.status, tree.hospital.parent_id) == ("approved", tree.health.id)
    assert tree.hospital.path == f"{tree.health.path}{tree.hospital.id}/"
    assert tree.branch.path == f"{tree.health.path}{tree.hospital.id}/{tree.branch.id}/"
    assert (tree.hospital.depth, tree.branch.depth) == (tree.health.depth + 1, tree.health.depth + 2)
    assert tree.branch.parent_id == tree.hospital.id


def test_reject_keeps_the_unit_where_it_is(tree):
    change = superior_change.request_superior_change(tree.hospital_admin, tree.hospital, tree.health.id, "归口管理")
    decide(tree.health_first, change.id, "reject", "不属于本系统")

    db.session.expire_all()
    assert (change.status, change.opinion, tree.hospital.parent_id) == ("rejected", "不属于本系统", tree.leshan.id)
    assert superior_change.open_request(tree.hospital) is None


def test_return_lets_the_admins_revise_and_resubmit(tree):
    change = superior_change.request_superior_change(tree.hospital_admin, tree.hospital, tree.health.id, "归口")
    decide(tree.health_first, change.id, "pass")
    decide(tree.health_second, change.id, "return", "原因写详细些")
    assert superior_change.status_of(change) == "returned"

    superior_change.resubmit_superior_change(tree.hospital_admin, change, "按市卫健委归口管理要求变更", "已补充")

    assert (change.reason, superior_change.status_of(change)) == ("按市卫健委归口管理要求变更", "pending")
    assert open_task(change.id).level_no == 1
    assert [e.action for e in superior_change.trail_of(change)] == ["start", "pass", "return", "submit"]


def test_the_unit_info_staff_who_asked_also_revise_it_and_others_may_not(tree, make_user):
    clerk = make_user(tree.hospital, permissions=["unit.self.edit", "inbox.view"], name="单位信息维护")
    bystander = make_user(tree.hospital, permissions=["inbox.view"], name="其他工作人员")
    change = superior_change.request_superior_change(clerk, tree.hospital, tree.health.id, "归口")
    decide(tree.health_first, change.id, "pass")
    decide(tree.health_second, change.id, "return", "原因写详细些")

    # The 修改 task is offered to the unit's 超级管理员 and its 单位信息维护 staff, in their inbox.
    task = open_task(change.id)
    assert set(db.session.scalars(select(HumanTaskCandidate.user_id).where(
        HumanTaskCandidate.task_id == task.id))) == {tree.hospital_admin.id, clerk.id}
    with pytest.raises(Forbidden):
        instances.complete_human_task(bystander, task.id, {"note": "越权"})
    superior_change.resubmit_superior_change(clerk, change, "按市卫健委归口管理要求变更", "已补充")
    assert superior_change.status_of(change) == "pending"


def candidates(task: HumanTask) -> set[int]:
    return set(db.session.scalars(select(HumanTaskCandidate.user_id).where(HumanTaskCandidate.task_id == task.id)))


def test_open_tasks_follow_changes_of_staff_roles_and_grants(tree, make_unit, make_user):
    from app.models import Role
    from services.org import accounts

    # 乐山市教育局 has no 多岗审核 levels: its 超级管理员 and every holder of registration.review review.
    education = make_unit(parent=tree.leshan, unit_type="competent", region="511100B", name="乐山市教育局",
                          nature="organ")
    admin = make_user(education, admin=True, name="教育局管理员")
    reviewer = make_user(education, permissions=["inbox.view", "registration.review"], name="教育局审核")
    change = superior_change.request_superior_change(tree.hospital_admin, tree.hospital, education.id, "归口")
    task = open_task(change.id)
    assert candidates(task) == {admin.id, reviewer.id}

    # The grant is withdrawn from the reviewer's role: the task leaves their hands (403), not only their menu.
    [role] = reviewer.roles
    accounts.save_role(admin, education, role, role.name, "", ["inbox.view"])
    assert candidates(task) == {admin.id}
    with pytest.raises(Forbidden):
        instances.complete_human_task(reviewer, task.id, {"decision": "pass", "opinion": "同意"})
    # A new role with the grant, given to a colleague: the task reaches them.
    granted = accounts.save_role(admin, education, None, "变更审核", "", ["inbox.view", "registration.review"])
    colleague = make_user(education, name="教育局新审核")
    accounts.update_staff(admin, colleague, {"username": colleague.username, "name": colleague.name,
                                             "phone": colleague.phone}, [granted.id])
    assert candidates(task) == {admin.id, colleague.id}
    # Disabled, they are no longer offered it; the role deleted, neither.
    accounts.set_staff_enabled(admin, colleague, False)
    assert candidates(task) == {admin.id}
    accounts.set_staff_enabled(admin, colleague, True)
    accounts.delete_role(admin, db.session.get(Role, granted.id))
    assert candidates(task) == {admin.id}


def test_one_open_request_per_unit(tree):
    superior_change.request_superior_change(tree.hospital_admin, tree.hospital, tree.health.id, "归口管理")
    with pytest.raises(Conflict, match="已有待审核的变更上级单位申请"):
        superior_change.request_superior_change(tree.hospital_admin, tree.hospital, tree.health.id, "再申请")


@pytest.mark.parametrize(("unit", "new_parent", "message"), [
    ("leshan", "chengdu", "新上级单位：本单位的职称业务归属地（.*）不在其归属地范围内"),
    ("hospital", "leshan", "新上级单位：与当前上级单位相同"),
    ("hospital", "branch", "新上级单位：不能选择本单位或本单位的下级单位"),
    ("hospital", "hospital", "新上级单位：不能选择本单位或本单位的下级单位"),
    ("hospital", "chengdu", "不在其归属地范围内"),
    ("health", "hospital", "新上级单位：申报单位不能管理主管部门"),
    ("hospital", None, "新上级单位：请从列表中选择一个有效的单位"),
])
def test_the_new_superior_must_fit(tree, make_user, unit, new_parent, message):
    moving = getattr(tree, unit)
    admin = make_user(moving, admin=True)
    target = getattr(tree, new_parent).id if new_parent else 999_999
    with pytest.raises(InvalidInput, match=message):
        superior_change.request_superior_change(admin, moving, target, "原因")


def test_the_top_unit_has_no_superior_to_change(tree, make_user):
    with pytest.raises(InvalidInput, match="顶级单位没有上级单位"):
        superior_change.request_superior_change(make_user(tree.province, admin=True), tree.province,
                                                tree.leshan.id, "原因")


@pytest.mark.parametrize(("reason", "message"), [("", "变更原因：必填"), ("字" * 201, "变更原因：不能超过 200 个字")])
def test_the_reason_is_required_and_short(tree, reason, message):
    with pytest.raises(InvalidInput, match=message):
        superior_change.request_superior_change(tree.hospital_admin, tree.hospital, tree.health.id, reason)


def test_staff_without_the_permission_may_not_apply(tree, make_user):
    with pytest.raises(Forbidden):
        superior_change.request_superior_change(make_user(tree.hospital, permissions=["home.view"]), tree.hospital,
                                                tree.health.id, "原因")


def test_approval_rechecks_the_tree(tree):
    change = superior_change.request_superior_change(tree.hospital_admin, tree.hospital, tree.health.id, "归口管理")
    tree.health.status = "cancelled"
    db.session.flush()

    with pytest.raises(Conflict, match="变更不能生效"):
        decide(tree.health_first, change.id, "pass")
        decide(tree.health_second, change.id, "pass")
