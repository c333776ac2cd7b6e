"""The browser modeler end to end (FEATURES P4): Playwright drives Debian's Chromium against a live server.

The live server and the signed-in page come from tests/browser/live.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models import HumanTask, ProcessInstance, Unit, User
from services.org.accounts import hash_password
from services.workflow import definitions, instances
from tests.browser.live import browser_app, chromium, needs_chromium, serving, sign_in
from tests.conftest import PASSWORD, region_id, valid_credit_code

pytestmark = needs_chromium
PROCESS = "browser_demo"
NS = ('xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
      'xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" '
      'xmlns:di="http://www.omg.org/spec/DD/20100524/DI" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
      'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"')


def _properties(form_key: str, variable: str = "") -> str:
    return (f'<bpmn:extensionElements><spiffworkflow:properties>'
            f'<spiffworkflow:property name="formKey" value="{form_key}"/>'
            f'<spiffworkflow:property name="post" value="unit_admin"/></spiffworkflow:properties>'
            + (f"<spiffworkflow:variableName>{variable}</spiffworkflow:variableName>" if variable else "")
            + "</bpmn:extensionElements>")


# start → 填写 → 逐人签字 (sequential multi-instance over the plain task-data list `signers`) → end
DIAGRAM = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions {NS} id="browser_demo_definitions" targetNamespace="https://zhiping.example/test">
  <bpmn:process id="{PROCESS}" name="浏览器演示" isExecutable="true">
    <bpmn:startEvent id="demo_started"><bpmn:outgoing>flow_a</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="flow_a" sourceRef="demo_started" targetRef="fill_in"/>
    <bpmn:userTask id="fill_in" name="填写">{_properties("superior_change/correction")}
      <bpmn:incoming>flow_a</bpmn:incoming><bpmn:outgoing>flow_b</bpmn:outgoing></bpmn:userTask>
    <bpmn:sequenceFlow id="flow_b" sourceRef="fill_in" targetRef="sign_each"/>
    <bpmn:userTask id="sign_each" name="逐人签字">{_properties("superior_change/correction", "signature")}
      <bpmn:incoming>flow_b</bpmn:incoming><bpmn:outgoing>flow_c</bpmn:outgoing>
      <bpmn:multiInstanceLoopCharacteristics isSequential="true">
        <bpmn:loopDataInputRef>signers</bpmn:loopDataInputRef>
        <bpmn:loopDataOutputRef>signatures</bpmn:loopDataOutputRef>
        <bpmn:inputDataItem id="signer" name="signer"/>
        <bpmn:outputDataItem id="signature" name="signature"/>
      </bpmn:multiInstanceLoopCharacteristics>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="flow_c" sourceRef="sign_each" targetRef="demo_finished"/>
    <bpmn:endEvent id="demo_finished"><bpmn:incoming>flow_c</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
  <bpmndi:BPMNDiagram id="browser_demo_diagram">
    <bpmndi:BPMNPlane id="browser_demo_plane" bpmnElement="{PROCESS}">
      <bpmndi:BPMNShape id="demo_started_di" bpmnElement="demo_started"><dc:Bounds x="152" y="102" width="36" height="36"/></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="fill_in_di" bpmnElement="fill_in"><dc:Bounds x="240" y="80" width="100" height="80"/></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="sign_each_di" bpmnElement="sign_each"><dc:Bounds x="400" y="80" width="100" height="80"/></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="demo_finished_di" bpmnElement="demo_finished"><dc:Bounds x="562" y="102" width="36" height="36"/></bpmndi:BPMNShape>
      <bpmndi:BPMNEdge id="flow_a_di" bpmnElement="flow_a"><di:waypoint x="188" y="120"/><di:waypoint x="240" y="120"/></bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="flow_b_di" bpmnElement="flow_b"><di:waypoint x="340" y="120"/><di:waypoint x="400" y="120"/></bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="flow_c_di" bpmnElement="flow_c"><di:waypoint x="500" y="120"/><di:waypoint x="562" y="120"/></bpmndi:BPMNEdge>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>
""".encode()


class LiveServer:
    def __init__(self, app: Flask, url: str, admin_username: str, unit_id: int) -> None:
        self.app, self.url, self.admin_username, self.unit_id = app, url, admin_username, unit_id

    def start_instance(self, title: str) -> int:
        with self.app.app_context():
            instance = instances.start_process(PROCESS, "unit_superior_change", 1, title, self.unit_id,
                                               {"signers": ["甲", "乙"]}, None)
            db.session.commit()
            return instance.id

    def query(self, fn: Any) -> Any:
        with self.app.app_context():
            return fn()


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    def prepare() -> int:
        province = Unit(name="四川省人力资源和社会保障厅", credit_code=valid_credit_code("11"), unit_type_code="hr",
                        nature_code="organ", region_id=region_id("510000B"), phone="028-86000000", depth=0)
        db.session.add(province)
        db.session.flush()
        province.path = f"/{province.id}/"
        admin = User(username="flowadmin", password_hash=hash_password(PASSWORD), name="平台管理员",
                     phone="13800000000", unit_id=province.id, is_platform_admin=True, session_token="browser")
        db.session.add(admin)
        db.session.flush()
        definitions.deploy_upload(admin, DIAGRAM)
        return province.id

    unit_ids: list[int] = []
    app = browser_app(tmp_path_factory.mktemp("browser"), lambda: unit_ids.append(prepare()))
    with serving(app) as url:
        yield LiveServer(app, url, "flowadmin", unit_ids[0])


@pytest.fixture
def page(live_server: LiveServer) -> Iterator[Any]:
    with chromium() as browser:
        yield sign_in(browser, live_server.url, live_server.admin_username, PASSWORD)


def open_newest_in_modeler(page: Any, live_server: LiveServer) -> None:
    page.goto(f"{live_server.url}/process-admin/")
    page.click(f'[data-process="{PROCESS}"] >> text=编辑最新版')
    page.wait_for_selector("body[data-modeler-ready='1']")


def select_element(page: Any, element_id: str) -> None:
    page.click(f'.djs-shape[data-element-id="{element_id}"]')
    page.wait_for_selector(f'#properties-panel[data-element-id="{element_id}"]')


def newest(live_server: LiveServer) -> tuple[int, str]:
    return live_server.query(lambda: (definitions.latest(PROCESS).version, definitions.latest(PROCESS).xml))


def test_an_administrator_renames_a_task_sets_its_form_and_deploys_a_new_version(page, live_server):
    before = live_server.start_instance("编辑之前")
    version_before, xml_before = newest(live_server)
    open_newest_in_modeler(page, live_server)
    assert page.locator(".bjs-powered-by").is_visible()  # bpmn.io watermark stays (its licence)

    select_element(page, "fill_in")
    page.fill("#pp-name", "填写申请（新）")
    page.press("#pp-name", "Tab")
    page.select_option("#pp-formKey", "registration/correction")
    page.click("#save-diagram")

    page.wait_for_selector("[data-testid='modeler-success']")
    assert f"已部署为第 {version_before + 1} 版" in page.inner_text("#modeler-message")
    page.goto(f"{live_server.url}/process-admin/")
    row = page.locator(f'[data-process="{PROCESS}"] tr[data-version="{version_before + 1}"]')
    assert "在线编辑" in row.inner_text() and "平台管理员" in row.inner_text()

    after = live_server.start_instance("编辑之后")

    def versions_and_tasks() -> dict[str, Any]:
        result = {}
        for key, instance_id in (("before", before), ("after", after)):
            instance = db.session.get(ProcessInstance, instance_id)
            task = db.session.scalar(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                             HumanTask.status == "open"))
            result[key] = (instance.definition.version, task.name, task.form_key)
        return result

    seen = live_server.query(versions_and_tasks)
    assert seen["before"] == (version_before, "填写", "superior_change/correction")
    assert seen["after"] == (version_before + 1, "填写申请（新）", "registration/correction")
    _, xml_after = newest(live_server)
    # Element ids are stable and the multi-instance collections survived bpmn-moddle.
    ids = re.compile(r'<bpmn:\w+ id="([^"]+)"')
    assert set(ids.findall(xml_before)) <= set(ids.findall(xml_after))
    assert "<bpmn:loopDataInputRef>signers</bpmn:loopDataInputRef>" in xml_after
    assert "<bpmn:loopDataOutputRef>signatures</bpmn:loopDataOutputRef>" in xml_after
    assert "<spiffworkflow:variableName>signature</spiffworkflow:variableName>" in xml_after


def test_problems_show_beside_their_element_and_a_stale_save_is_refused(page, live_server):
    open_newest_in_modeler(page, live_server)
    version_opened, _ = newest(live_server)

    select_element(page, "sign_each")
    page.select_option("#pp-post", "")
    page.click("#save-diagram")

    badge = page.wait_for_selector('.pa-problem-badge[data-problem-for="sign_each"]')
    assert "缺少 post" in badge.inner_text()
    assert newest(live_server)[0] == version_opened

    page.select_option("#pp-post", "unit_admin")

    def deploy_meanwhile() -> None:  # another administrator deploys while this page is open
        admin = db.session.scalar(select(User).where(User.username == live_server.admin_username))
        xml = definitions.latest(PROCESS).xml.replace("逐人签字", "逐人会签").encode()
        definitions.deploy_upload(admin, xml)
        db.session.commit()

    live_server.query(deploy_meanwhile)
    page.click("#save-diagram")

    page.wait_for_selector("[data-testid='modeler-danger']")
    assert "保存被拒绝" in page.inner_text("#modeler-message")
    version, xml = newest(live_server)
    assert version == version_opened + 1 and "逐人会签" in xml


@pytest.mark.parametrize("process_id", ["unit_review", "unit_registration"])
def test_a_diagram_saved_unchanged_keeps_everything_the_engine_reads(page, live_server, process_id):
    """Extensions, multi-instance collections, conditions, default flows and service tasks survive bpmn-js."""
    old = live_server.query(lambda: definitions.latest(process_id).version)
    page.goto(f"{live_server.url}/process-admin/{process_id}/v{old}/edit")
    page.wait_for_selector("body[data-modeler-ready='1']")

    page.click("#save-diagram")

    page.wait_for_selector("[data-testid='modeler-success']")

    def comparison() -> Any:
        compared = definitions.compare_versions(definitions.load_version(process_id, old),
                                                definitions.latest(process_id))
        return compared.new.version, compared.added, compared.removed, compared.changed

    assert live_server.query(comparison) == (old + 1, [], [], [])
