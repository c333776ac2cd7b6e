"""流程管理 pages and their JSON API: versions, downloads, comparison, the modeler's save, the instance console."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditLog, HumanTask, ProcessInstance, SuperiorChangeRequest
from services.workflow import definitions, instances

PROCESS = "unit_review"


@pytest.fixture
def admin(make_unit, make_user, login):
    user = make_user(make_unit(unit_type="hr"), platform=True, name="平台管理员")
    login(user)
    return user


def newest_xml() -> bytes:
    return definitions.latest(PROCESS).xml.encode()


def save(client, xml: bytes | str, base_hash: str | None = None, process_id: str = PROCESS):
    text = xml.decode() if isinstance(xml, bytes) else xml
    return client.post(f"/process-admin/{process_id}/deploy",
                       json={"xml": text, "base_hash": base_hash or definitions.latest(PROCESS).sha256})


@pytest.fixture
def review_instance(database, make_unit, make_user):
    superior = make_unit(unit_type="hr")
    unit = make_unit(parent=superior)
    reviewer = make_user(superior, permissions=["registration.review"])
    change = SuperiorChangeRequest(unit_id=unit.id, old_parent_id=superior.id, new_parent_id=superior.id,
                                   reason="测试", status="pending")
    db.session.add(change)
    db.session.flush()
    instance = instances.start_process(
        "unit_superior_change", "unit_superior_change", change.id, "变更上级单位：测试", unit.id,
        {"change_request_id": change.id, "levels": [1], "reviewing_unit_id": superior.id}, None)
    return instance, reviewer


# ---------------------------------------------------------------- versions


def test_the_definitions_page_lists_every_process_with_its_versions(client, admin):
    html = client.get("/process-admin/").get_data(as_text=True)

    for process_id in ("unit_review", "unit_registration", "unit_superior_change"):
        assert f'data-process="{process_id}"' in html
    assert definitions.latest(PROCESS).sha256[:12] in html
    assert "系统（文件部署）" in html


def test_a_version_downloads_as_its_xml(client, admin):
    response = client.get(f"/process-admin/{PROCESS}/v1.bpmn")

    assert response.status_code == 200
    assert response.data == definitions.load_version(PROCESS, 1).xml.encode()
    assert "attachment" in response.headers["Content-Disposition"]


def test_a_missing_version_is_404(client, admin):
    assert client.get(f"/process-admin/{PROCESS}/v99.bpmn").status_code == 404
    assert client.get("/process-admin/no_such/compare").status_code == 404


def test_the_comparison_page_lists_added_removed_and_changed_ids(client, admin):
    xml = newest_xml().replace(b'id="summarize_reviews"', b'id="summarize_all"').replace(
        b'targetRef="summarize_reviews"', b'targetRef="summarize_all"').replace(
        b'sourceRef="summarize_reviews"', b'sourceRef="summarize_all"').replace(
        b'bpmnElement="summarize_reviews"', b'bpmnElement="summarize_all"').replace(
        "单位审核".encode(), "单位审核（改）".encode())
    assert save(client, xml).status_code == 201

    html = client.get(f"/process-admin/{PROCESS}/compare?from=1&to=2").get_data(as_text=True)

    added, removed, changed = (html.split(f'data-testid="{k}"')[1].split("</ul>")[0]
                               for k in ("added", "removed", "changed"))
    assert "summarize_all" in added and "summarize_reviews" in removed
    assert "review_by_level" in changed and "名称" in changed


def test_the_modeler_page_carries_the_hash_and_the_choice_lists(client, admin):
    html = client.get(f"/process-admin/{PROCESS}/v1/edit").get_data(as_text=True)

    assert definitions.latest(PROCESS).sha256 in html
    assert "review/unit_opinion" in html and "unit_reviewer" in html and "approve_unit_registration" in html
    assert "bpmn-modeler.production.min.js" in html


# ---------------------------------------------------------------- the modeler's save


def test_a_clean_save_is_deployed_as_a_new_version(client, admin):
    response = save(client, newest_xml().replace("单位审核".encode(), "单位审核（新）".encode()))

    assert response.status_code == 201, response.get_json()
    assert response.get_json()["version"] == 2
    newest = definitions.latest(PROCESS)
    assert (newest.version, newest.source, newest.deployed_by_id) == (2, "editor", admin.id)


def test_a_stale_save_answers_409_with_a_clear_message(client, admin):
    opened_on = definitions.latest(PROCESS).sha256
    assert save(client, newest_xml().replace("单位审核".encode(), "甲".encode()), opened_on).status_code == 201

    response = save(client, newest_xml().replace("单位审核".encode(), "乙".encode()), opened_on)

    assert response.status_code == 409
    assert "第 2 版" in response.get_json()["error"] and "没有覆盖" in response.get_json()["error"]
    assert "甲" in definitions.latest(PROCESS).xml


def test_a_save_with_problems_answers_400_with_each_problem_and_its_element(client, admin):
    xml = newest_xml().replace(b'value="review/unit_opinion"', b'value="review/missing"').replace(
        b'default=', b'x=').replace(b'review["decision"] != "pass"', b'open("/etc/passwd")')

    response = save(client, xml)

    assert response.status_code == 400
    problems = {(p["element_id"], p["message"]) for p in response.get_json()["problems"]}
    assert ("review_by_level", "表单 review/missing 不存在") in problems
    assert any(element == "review_by_level" and "open" in message for element, message in problems)
    assert definitions.latest(PROCESS).version == 1


@pytest.mark.parametrize(("body", "message"), [
    ("<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>", "DOCTYPE"),
    ("<svg xmlns='http://www.w3.org/2000/svg'/>", "不是 BPMN"),
    ("<a>" + "x" * (2 * 1024 * 1024) + "</a>", "超过 2 MB"),
    ("<<<", "XML 格式错误"),
])
def test_unsafe_saves_are_refused_with_a_message(client, admin, body, message):
    response = save(client, body)

    assert response.status_code == 400 and message in response.get_json()["error"]


@pytest.mark.parametrize("payload", [None, "text", {"xml": 5}, {"base_hash": "x"}])
def test_a_malformed_request_is_400_never_500(client, admin, payload):
    response = client.post(f"/process-admin/{PROCESS}/deploy", json=payload)

    assert response.status_code == 400


def test_uploading_a_new_process_deploys_its_first_version(client, admin):
    xml = newest_xml().replace(b'id="unit_review"', b'id="unit_review_copy"').replace(
        b'bpmnElement="unit_review"', b'bpmnElement="unit_review_copy"')

    response = client.post("/process-admin/upload", data={"diagram": (io.BytesIO(xml), "copy.bpmn")},
                           content_type="multipart/form-data")

    assert response.status_code == 302
    assert definitions.latest("unit_review_copy").source == "upload"


def test_an_upload_with_a_doctype_is_refused_on_the_page(client, admin):
    response = client.post("/process-admin/upload", content_type="multipart/form-data", data={
        "diagram": (io.BytesIO(b'<?xml version="1.0"?><!DOCTYPE d SYSTEM "file:///etc/passwd"><d/>'), "x.bpmn")})

    assert response.status_code == 400 and "DOCTYPE" in response.get_data(as_text=True)


# ---------------------------------------------------------------- the instance console


def test_instances_are_searched_and_shown_with_their_position(client, admin, review_instance):
    instance, _ = review_instance

    listed = client.get("/process-admin/instances?process_id=unit_superior_change&status=running"
                        "&business_key=测试").get_data(as_text=True)
    detail = client.get(f"/process-admin/instances/{instance.id}").get_data(as_text=True)

    assert f"#{instance.id}" in listed
    assert 'data-active="review_superior_change"' in detail  # the running call activity
    assert "发起" in detail and "运行中" in detail


def test_bad_filters_are_ignored_not_500(client, admin):
    response = client.get("/process-admin/instances?version=abc&date_from=x&status=evil&page=-3")

    assert response.status_code == 200


def test_suspending_from_the_console_blocks_completion_until_resumed(client, admin, review_instance):
    instance, reviewer = review_instance
    task = db.session.scalar(select(HumanTask).where(HumanTask.instance_id == instance.id))

    client.post(f"/process-admin/instances/{instance.id}/suspend", data={"reason": "核查"})

    assert db.session.get(ProcessInstance, instance.id).status == "suspended"
    from services.common.errors import Conflict
    with pytest.raises(Conflict, match="已挂起"):
        instances.complete_human_task(reviewer, task.id, {"decision": "pass", "opinion": "同意"})
    client.post(f"/process-admin/instances/{instance.id}/resume", data={"reason": "核查完毕"})
    assert instances.complete_human_task(reviewer, task.id, {"decision": "return", "opinion": "补充"}).status == "done"
    actions = {a.action for a in db.session.scalars(select(AuditLog).where(AuditLog.target_id == str(instance.id)))}
    assert {"workflow.suspend", "workflow.resume"} <= actions


def test_an_action_without_a_reason_changes_nothing_and_says_why(client, admin, review_instance):
    instance, _ = review_instance

    response = client.post(f"/process-admin/instances/{instance.id}/terminate", data={"reason": ""},
                           follow_redirects=True)

    assert "请填写操作原因" in response.get_data(as_text=True)
    assert db.session.get(ProcessInstance, instance.id).status == "running"


def test_terminating_from_the_console_cancels_open_tasks(client, admin, review_instance):
    instance, _ = review_instance

    client.post(f"/process-admin/instances/{instance.id}/terminate", data={"reason": "撤回申请"})

    assert db.session.get(ProcessInstance, instance.id).status == "terminated"
    assert {t.status for t in db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id))} \
        == {"cancelled"}


def test_migrating_from_the_console_moves_the_instance_to_the_new_version(client, admin, review_instance):
    instance, _ = review_instance
    assert save(client, newest_xml().replace("单位审核".encode(), "单位复核".encode())).status_code == 201
    target = definitions.latest("unit_superior_change")

    page = client.get(f"/process-admin/instances/{instance.id}").get_data(as_text=True)
    client.post(f"/process-admin/instances/{instance.id}/migrate",
                data={"target": target.version, "reason": "改名"})

    assert "安全检查通过" in page
    assert db.session.get(ProcessInstance, instance.id).definition_id == target.id
    assert db.session.scalar(select(HumanTask.name).where(HumanTask.instance_id == instance.id,
                                                          HumanTask.status == "open")) == "单位复核"


def test_migrating_a_version_shows_a_result_per_instance(client, admin, review_instance):
    instance, _ = review_instance
    assert save(client, newest_xml().replace("单位审核".encode(), "单位复核".encode())).status_code == 201
    target = definitions.latest("unit_superior_change")

    response = client.post(f"/process-admin/unit_superior_change/v{instance.definition.version}/migrate",
                           data={"target": target.version, "reason": "批量"})

    html = response.get_data(as_text=True)
    assert response.status_code == 200 and f"#{instance.id}" in html and "已迁移" in html
