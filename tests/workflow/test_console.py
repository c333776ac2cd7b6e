"""Process administration services: versions from the editor, refusals, comparison, migration, suspend/terminate."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditLog, HumanTask
from services.common.errors import Conflict, InvalidInput, NotFound
from services.workflow import console, definitions, instances, migration

NS = ('xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
      'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"')
PROCESS = "console_demo"


def user_task(task_id: str, name: str, form_key: str = "superior_change/correction", post: str = "unit_admin",
              incoming: str = "", outgoing: str = "") -> str:
    return (
        f'<bpmn:userTask id="{task_id}" name="{name}"><bpmn:extensionElements><spiffworkflow:properties>'
        f'<spiffworkflow:property name="formKey" value="{form_key}"/>'
        f'<spiffworkflow:property name="post" value="{post}"/></spiffworkflow:properties></bpmn:extensionElements>'
        f"<bpmn:incoming>{incoming}</bpmn:incoming><bpmn:outgoing>{outgoing}</bpmn:outgoing></bpmn:userTask>"
    )


def chain(*tasks: tuple[str, str, str]) -> bytes:
    """start → each (id, name, form key) in turn → end."""
    ids = ["demo_start", *[t[0] for t in tasks], "demo_end"]
    flows = [f"flow_{a}_{b}" for a, b in zip(ids, ids[1:], strict=False)]
    body = f'<bpmn:startEvent id="demo_start"><bpmn:outgoing>{flows[0]}</bpmn:outgoing></bpmn:startEvent>'
    for index, (task_id, name, form_key) in enumerate(tasks):
        body += user_task(task_id, name, form_key, incoming=flows[index], outgoing=flows[index + 1])
    body += f'<bpmn:endEvent id="demo_end"><bpmn:incoming>{flows[-1]}</bpmn:incoming></bpmn:endEvent>'
    body += "".join(f'<bpmn:sequenceFlow id="{f}" sourceRef="{a}" targetRef="{b}"/>'
                    for f, a, b in zip(flows, ids, ids[1:], strict=False))
    return (f'<?xml version="1.0" encoding="UTF-8"?><bpmn:definitions {NS} id="demo_defs" '
            f'targetNamespace="https://zhiping.example/test"><bpmn:process id="{PROCESS}" name="控制台演示" '
            f'isExecutable="true">{body}</bpmn:process></bpmn:definitions>').encode()


V1 = chain(("fill_in", "填写", "superior_change/correction"), ("confirm", "确认", "superior_change/correction"))


@pytest.fixture
def admin(make_unit, make_user):
    return make_user(make_unit(unit_type="hr"), platform=True, name="平台管理员")


@pytest.fixture
def unit_admin(make_unit, make_user):
    return make_user(make_unit(), admin=True, name="单位管理员")


@pytest.fixture
def v1(database, admin):
    return definitions.deploy_upload(admin, V1)


def start(unit_admin, title="演示实例"):
    return instances.start_process(PROCESS, "unit_superior_change", 1, title, unit_admin.unit_id, {}, None)


def open_task(instance) -> HumanTask:
    [task] = db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id,
                                                        HumanTask.status == "open"))
    return task


def complete(user, instance, note="好") -> HumanTask:
    return instances.complete_human_task(user, open_task(instance).id, {"note": note})


# ---------------------------------------------------------------- versions from the editor


def test_an_editor_save_becomes_the_newest_version_and_new_instances_use_it(v1, admin, unit_admin):
    before = start(unit_admin, "之前")
    v2 = definitions.deploy_from_editor(admin, PROCESS, V1.replace("填写".encode(), "填写申请".encode()), v1.sha256)
    after = start(unit_admin, "之后")

    assert (v1.version, v2.version, v2.source, v2.deployed_by_id) == (1, 2, "editor", admin.id)
    assert before.definition_id == v1.id and after.definition_id == v2.id
    assert open_task(before).name == "填写" and open_task(after).name == "填写申请"
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "workflow.deploy",
                                                    AuditLog.target_id == str(v2.id))) is not None


def test_a_stale_save_is_refused_with_409_and_overwrites_nothing(v1, admin):
    definitions.deploy_from_editor(admin, PROCESS, V1.replace("确认".encode(), "甲".encode()), v1.sha256)

    with pytest.raises(Conflict) as refused:
        definitions.deploy_from_editor(admin, PROCESS, V1.replace("确认".encode(), "乙".encode()), v1.sha256)

    assert refused.value.status == 409 and "第 2 版" in refused.value.message
    assert definitions.latest(PROCESS).version == 2


@pytest.mark.parametrize(("xml", "message"), [
    (b"<x>" + b" " * (2 * 1024 * 1024) + b"</x>", "超过 2 MB"),
    (b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY e "x">]><d>&e;</d>', "DOCTYPE"),
    (b'<?xml version="1.0"?><!ENTITY e "x"><d/>', "DOCTYPE"),
    (b"<html><body>not a diagram</body></html>", "不是 BPMN"),
    (b"not xml at all", "XML 格式错误"),
    (b"", "为空"),
    ('<?xml version="1.0" encoding="UTF-16"?><bpmn:definitions xmlns:bpmn='
     '"http://www.omg.org/spec/BPMN/20100524/MODEL"/>'.encode("utf-16"), "UTF-8"),
])
def test_unsafe_or_foreign_xml_is_refused_with_a_message(v1, admin, xml, message):
    with pytest.raises(InvalidInput) as refused:
        definitions.deploy_from_editor(admin, PROCESS, xml, v1.sha256)

    assert message in refused.value.message
    assert definitions.latest(PROCESS).version == 1


def test_every_checker_problem_is_reported_beside_its_element(v1, admin):
    bad = chain(("fill_in", "填写", "no/such_form"), ("confirm", "确认", "superior_change/correction"))
    bad = bad.replace(b'value="unit_admin"/></spiffworkflow:properties></bpmn:extensionElements>'
                      b'<bpmn:incoming>flow_fill_in_confirm', b'value="nobody"/></spiffworkflow:properties>'
                      b'</bpmn:extensionElements><bpmn:incoming>flow_fill_in_confirm')

    with pytest.raises(definitions.DiagramRejected) as refused:
        definitions.deploy_from_editor(admin, PROCESS, bad, v1.sha256)

    found = {(p.element_id, p.message) for p in refused.value.problems}
    assert ("fill_in", "表单 no/such_form 不存在") in found
    assert ("confirm", "未知岗位 nobody") in found
    assert definitions.latest(PROCESS).version == 1


def test_a_script_outside_the_whitelist_is_refused(v1, admin):
    bad = V1.replace(b'<bpmn:endEvent id="demo_end">',
                     b'<bpmn:scriptTask id="evil"><bpmn:script>__import__("os").system("x")</bpmn:script>'
                     b'</bpmn:scriptTask><bpmn:endEvent id="demo_end">')

    with pytest.raises(definitions.DiagramRejected) as refused:
        definitions.deploy_from_editor(admin, PROCESS, bad, v1.sha256)

    assert any(p.element_id == "evil" for p in refused.value.problems)


def test_the_process_id_cannot_change_in_the_editor(v1, admin):
    with pytest.raises(InvalidInput, match="流程 id 不能修改"):
        definitions.deploy_from_editor(admin, PROCESS, V1.replace(PROCESS.encode(), b"other_process"), v1.sha256)


def test_saving_an_unknown_process_is_not_found(database, admin):
    with pytest.raises(NotFound):
        definitions.deploy_from_editor(admin, "no_such_process", V1, "x")


def test_an_unchanged_file_never_undoes_an_editor_version(v1, admin):
    definitions.deploy_from_editor(admin, "unit_review", definitions.library()["unit_review"].replace(
        "单位审核".encode(), "单位审核（新）".encode()), definitions.latest("unit_review").sha256)

    assert definitions.deploy_directory() == []
    assert b"\xef\xbc\x88" in definitions.latest("unit_review").xml.encode()  # （


def test_editing_a_called_process_gives_its_callers_a_new_version(database, admin):
    callers = {p: definitions.latest(p).version for p in ("unit_registration", "unit_superior_change")}
    xml = definitions.library()["unit_review"].replace("单位审核".encode(), "单位复核".encode())

    definitions.deploy_from_editor(admin, "unit_review", xml, definitions.latest("unit_review").sha256)

    for process_id, version in callers.items():
        newest = definitions.latest(process_id)
        assert (newest.version, newest.source) == (version + 1, "cascade")
        assert "单位复核" in str(definitions.parsed(newest).subprocess_specs["unit_review"]
                              .task_specs["review_by_level [child]"].bpmn_name)


def test_versions_are_listed_with_their_deployer_and_instances(v1, admin, unit_admin):
    start(unit_admin)
    definitions.deploy_from_editor(admin, PROCESS, V1.replace("确认".encode(), "核对".encode()), v1.sha256)

    versions = definitions.list_versions()[PROCESS]

    assert [v.definition.version for v in versions] == [2, 1]
    assert versions[1].deployed_by == "平台管理员" and versions[1].counts == {"running": 1}
    assert versions[0].running == 0


def test_comparing_versions_lists_added_removed_and_changed_task_ids(v1, admin):
    v2 = definitions.deploy_upload(admin, chain(("fill_in", "填写（改）", "superior_change/correction"),
                                                ("approve", "批准", "review/unit_opinion")))

    comparison = definitions.compare_versions(v1, v2)

    assert comparison.added == ["approve"] and comparison.removed == ["confirm"]
    assert dict(comparison.changed)["fill_in"] == ["名称", "后续连线"]


# ---------------------------------------------------------------- migration


def test_migration_is_done_when_safe_and_the_instance_continues_on_the_new_version(v1, admin, unit_admin):
    instance = start(unit_admin)
    old_uuid = open_task(instance).task_uuid
    v2 = definitions.deploy_upload(admin, chain(
        ("fill_in", "填写（新）", "registration/correction"), ("confirm", "确认", "superior_change/correction"),
        ("archive", "归档", "superior_change/correction")))

    check = migration.migrate_instance(admin, instance.id, v2, "流程调整")

    assert check.safe and instance.definition_id == v2.id
    task = open_task(instance)
    assert (task.task_uuid, task.name, task.form_key) == (old_uuid, "填写（新）", "registration/correction")
    instances.complete_human_task(unit_admin, task.id, {"note": "补充"})
    assert [complete(unit_admin, instance).name for _ in range(2)] == ["确认", "归档"]
    assert instance.status == "completed"
    actions = [e.action for e in instances.trail(instance.id)]
    assert actions[:2] == ["start", "migrate"] and actions[-1] == "completed"


def test_migration_is_refused_when_a_completed_task_changed_unless_forced(v1, admin, unit_admin):
    instance = start(unit_admin)
    complete(unit_admin, instance)
    v2 = definitions.deploy_upload(admin, V1.replace("填写".encode(), "填写（改）".encode()))

    assert not migration.check_migration(instance, v2).safe
    with pytest.raises(Conflict, match="已完成的任务 填写（改）（fill_in）|已完成的任务 填写（fill_in）"):
        migration.migrate_instance(admin, instance.id, v2, "试试")
    assert instance.definition_id == v1.id

    migration.migrate_instance(admin, instance.id, v2, "名称更正，已核实", force=True)

    assert instance.definition_id == v2.id
    assert "强制" in instances.trail(instance.id)[-1].opinion
    complete(unit_admin, instance)
    assert instance.status == "completed"


def test_migration_is_refused_even_forced_when_a_reached_task_was_removed(v1, admin, unit_admin):
    instance = start(unit_admin)
    v2 = definitions.deploy_upload(admin, chain(("confirm", "确认", "superior_change/correction")))

    with pytest.raises(Conflict, match="被删除"):
        migration.migrate_instance(admin, instance.id, v2, "删掉填写", force=True)
    assert instance.definition_id == v1.id


def test_a_migration_needs_a_reason_and_a_newer_version(v1, admin, unit_admin):
    instance = start(unit_admin)
    with pytest.raises(InvalidInput, match="原因"):
        migration.migrate_instance(admin, instance.id, v1, " ")
    with pytest.raises(InvalidInput, match="更新的版本"):
        migration.migrate_instance(admin, instance.id, v1, "同一版本")


def test_migrating_a_version_reports_each_instance(v1, admin, unit_admin):
    waiting, done_first = start(unit_admin, "甲"), start(unit_admin, "乙")
    complete(unit_admin, done_first)
    v2 = definitions.deploy_upload(admin, V1.replace("填写".encode(), "填写（改）".encode()))

    results = migration.migrate_version(admin, v1, v2, "批量迁移")

    assert [(r.instance_id, r.ok) for r in results] == [(waiting.id, True), (done_first.id, False)]
    assert "已完成的任务" in results[1].message
    db.session.expire_all()
    assert waiting.definition_id == v2.id and done_first.definition_id == v1.id


def test_migration_inside_a_called_process_renames_the_open_review_task(database, admin, make_unit, make_user):
    superior = make_unit(unit_type="hr")
    unit = make_unit(parent=superior)
    make_user(superior, permissions=["registration.review"])
    instance = instances.start_process(
        "unit_superior_change", "unit_superior_change", 1, "变更上级单位", unit.id,
        {"change_request_id": 1, "levels": [1], "reviewing_unit_id": superior.id}, None)
    xml = definitions.library()["unit_review"].replace("单位审核".encode(), "单位复核".encode())
    definitions.deploy_from_editor(admin, "unit_review", xml, definitions.latest("unit_review").sha256)

    migration.migrate_instance(admin, instance.id, definitions.latest("unit_superior_change"), "改名")

    assert open_task(instance).name == "单位复核"


# ---------------------------------------------------------------- suspend / resume / terminate


def test_a_suspended_instance_refuses_task_completion_until_resumed(v1, admin, unit_admin):
    instance = start(unit_admin)
    console.suspend_instance(admin, instance.id, "核查材料")

    with pytest.raises(Conflict, match="挂起"):
        complete(unit_admin, instance)

    console.resume_instance(admin, instance.id, "核查完毕")
    assert complete(unit_admin, instance).status == "done"
    assert [e.action for e in instances.trail(instance.id)][1:3] == ["suspend", "resume"]
    assert {a.action for a in db.session.scalars(select(AuditLog).where(
        AuditLog.target_type == "process_instance"))} >= {"workflow.suspend", "workflow.resume"}


def test_terminating_cancels_open_tasks_and_refuses_further_actions(v1, admin, unit_admin):
    instance = start(unit_admin)
    task = open_task(instance)

    console.terminate_instance(admin, instance.id, "申请撤回")

    assert (instance.status, task.status) == ("terminated", "cancelled")
    with pytest.raises(Conflict):
        console.resume_instance(admin, instance.id, "再开")
    with pytest.raises(Conflict):
        instances.complete_human_task(unit_admin, task.id, {"note": "x"})


def test_actions_need_a_reason(v1, admin, unit_admin):
    instance = start(unit_admin)
    with pytest.raises(InvalidInput, match="原因"):
        console.suspend_instance(admin, instance.id, "")


def test_the_position_marks_completed_and_active_elements(v1, admin, unit_admin):
    instance = start(unit_admin)
    complete(unit_admin, instance)

    position = console.instance_position(instance)

    assert position.active == ["confirm"]
    assert {"demo_start", "fill_in"} <= set(position.completed)


def test_instances_are_found_by_process_version_status_and_key(v1, admin, unit_admin):
    first, second = start(unit_admin, "张三的申请"), start(unit_admin, "李四的申请")
    console.suspend_instance(admin, second.id, "暂停")

    def found(**filters):
        return [i.id for i in db.session.scalars(console.search_instances(console.InstanceFilters(**filters)))]

    assert found(process_id=PROCESS) == [second.id, first.id]
    assert found(process_id=PROCESS, status="suspended") == [second.id]
    assert found(process_id=PROCESS, version=2) == []
    assert found(business_key="张三") == [first.id]
    assert found(process_id=PROCESS, unit=unit_admin.unit.name) == [second.id, first.id]


def test_the_position_shows_a_waiting_timer_with_its_due_time(database, admin, unit_admin):
    body = ('<bpmn:startEvent id="demo_start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>'
            '<bpmn:intermediateCatchEvent id="wait_three_days" name="等待三天"><bpmn:incoming>f1</bpmn:incoming>'
            '<bpmn:outgoing>f2</bpmn:outgoing><bpmn:timerEventDefinition><bpmn:timeDuration>"P3D"</bpmn:timeDuration>'
            '</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>'
            '<bpmn:endEvent id="demo_end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>'
            '<bpmn:sequenceFlow id="f1" sourceRef="demo_start" targetRef="wait_three_days"/>'
            '<bpmn:sequenceFlow id="f2" sourceRef="wait_three_days" targetRef="demo_end"/>')
    definitions.deploy_upload(admin, (f'<bpmn:definitions {NS} id="d" targetNamespace="https://zhiping.example/t">'
                                      f'<bpmn:process id="{PROCESS}" isExecutable="true">{body}</bpmn:process>'
                                      f'</bpmn:definitions>').encode())
    instance = start(unit_admin)

    position = console.instance_position(instance)

    assert position.waiting == ["wait_three_days"] and position.active == []
    [timer] = position.timers
    assert (timer.element_id, timer.name) == ("wait_three_days", "等待三天") and timer.due[:4].isdigit()
    assert instance.next_timer_at is not None
    console.terminate_instance(admin, instance.id, "不再等待")
    assert instance.next_timer_at is None and console.instance_position(instance).timers == []


def test_a_migration_that_changes_the_open_tasks_post_reassigns_its_candidates(v1, admin, unit_admin):
    from app.models import HumanTaskCandidate

    instance = start(unit_admin)
    task = open_task(instance)
    assert instances.is_candidate(task, unit_admin)
    v2 = definitions.deploy_upload(admin, V1.replace(b'value="unit_admin"', b'value="applicant"', 1))

    migration.migrate_instance(admin, instance.id, v2, "改由申请人办理")

    assert (task.post, open_task(instance).id) == ("applicant", task.id)
    assert db.session.scalar(select(HumanTaskCandidate).where(HumanTaskCandidate.task_id == task.id)) is None
