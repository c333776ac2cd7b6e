"""services/workflow/checker.py: each deployment rule is reported with the offending element id."""

from __future__ import annotations

from pathlib import Path

import pytest
from workflow_helpers import BPMN_DIR, diagram, user_task

from services.workflow.checker import Problem, check_diagram, check_files, main


def flow(flow_id: str, source: str, target: str, condition: str = "") -> str:
    expression = (f'<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{condition}'
                  f"</bpmn:conditionExpression>") if condition else ""
    return f'<bpmn:sequenceFlow id="{flow_id}" sourceRef="{source}" targetRef="{target}">{expression}</bpmn:sequenceFlow>'


def approval(form_key: str = "review/unit_opinion", post: str = "unit_reviewer", condition: str = 'decision == "pass"',
             default: str = ' default="to_rework"', script: str = "note = len(decision)") -> bytes:
    """start → approve (user) → gateway → [condition] finish | [default] rework (script) → finish."""
    return diagram("approval", (
        '<bpmn:startEvent id="begin"><bpmn:outgoing>to_approve</bpmn:outgoing></bpmn:startEvent>'
        + flow("to_approve", "begin", "approve")
        + user_task("approve", form_key, post, "<bpmn:incoming>to_approve</bpmn:incoming>",
                    "<bpmn:outgoing>to_gateway</bpmn:outgoing>")
        + flow("to_gateway", "approve", "decide")
        + f'<bpmn:exclusiveGateway id="decide"{default}><bpmn:incoming>to_gateway</bpmn:incoming>'
        '<bpmn:outgoing>to_finish</bpmn:outgoing><bpmn:outgoing>to_rework</bpmn:outgoing></bpmn:exclusiveGateway>'
        + flow("to_finish", "decide", "finish", condition)
        + flow("to_rework", "decide", "rework")
        + f'<bpmn:scriptTask id="rework"><bpmn:incoming>to_rework</bpmn:incoming>'
        f"<bpmn:outgoing>rework_done</bpmn:outgoing><bpmn:script>{script}</bpmn:script></bpmn:scriptTask>"
        + flow("rework_done", "rework", "finish")
        + '<bpmn:endEvent id="finish"><bpmn:incoming>to_finish</bpmn:incoming>'
        "<bpmn:incoming>rework_done</bpmn:incoming></bpmn:endEvent>"
    ))


def problems_of(xml: bytes, filename: str = "approval.bpmn") -> list[tuple[str, str]]:
    return [(p.element_id, p.message) for p in check_diagram(xml, filename)]


def test_a_clean_diagram_passes() -> None:
    assert problems_of(approval()) == []


def test_the_shipped_diagrams_pass() -> None:
    assert check_files(sorted(BPMN_DIR.glob("*.bpmn"))) == []


def test_cli_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(p) for p in sorted(BPMN_DIR.glob("*.bpmn"))]) == 0
    bad = tmp_path / "approval.bpmn"
    bad.write_bytes(approval(post="janitor"))
    assert main([str(bad)]) == 1
    assert f"{bad}: approve: 未知岗位 janitor" in capsys.readouterr().out


@pytest.mark.parametrize(("xml", "expected"), [
    (approval(form_key="review/no_such_form"), ("approve", "表单 review/no_such_form 不存在")),
    (approval(post="janitor"), ("approve", "未知岗位 janitor")),
    (approval(default=""), ("decide", "网关缺少默认流向（无条件成立时流程会出错）")),
    (approval(condition="__import__('os').system('id')"), ("to_finish", "不允许使用 __import__")),
    (approval(script="import os\nos.system('id')"), ("rework", "不允许 import")),
    (approval(script="from os import path"), ("rework", "不允许 import")),
    (approval(condition="open('/etc/passwd')"), ("to_finish", "不允许使用 open")),
    (approval(condition="getattr(decision, 'x')"), ("to_finish", "不允许使用 getattr")),
    (approval(script="x = (lambda: 1)()"), ("rework", "不允许 lambda")),
    (approval(script="x = decision.__class__"), ("rework", "不允许访问以下划线开头的属性 __class__")),
    (approval(script='x = "{0.__class__}".format(decision)'), ("rework", "不允许访问属性 format")),
    (approval(script="send_mail(decision)"), ("rework", "函数 send_mail 不在白名单中")),
    (approval(script="x = print"), ("rework", "不允许使用内置函数 print")),
    (approval(script="len = 3"), ("rework", "不能给白名单函数或内置函数 len 赋值")),
    (approval(script="x = = 1"), ("rework", "语法错误（第 1 行）：invalid syntax")),
])
def test_each_rule_violation_names_the_element(xml: bytes, expected: tuple[str, str]) -> None:
    assert expected in problems_of(xml)


def test_missing_form_key_and_post_properties() -> None:
    xml = approval().replace(b'<spiffworkflow:property name="formKey" value="review/unit_opinion"/>', b"")
    xml = xml.replace(b'<spiffworkflow:property name="post" value="unit_reviewer"/>', b"")
    assert problems_of(xml) == [("approve", "用户任务缺少 formKey 属性"), ("approve", "用户任务缺少 post 属性")]


def test_known_posts_can_be_passed_in() -> None:
    assert check_diagram(approval(post="janitor"), "approval.bpmn", posts={"janitor"}) == []


def test_whitelisted_functions_are_allowed_in_scripts() -> None:
    script = "approve_unit_registration(registration_id=registration_id)\nn = max(len(levels), 1)"
    assert problems_of(approval(script=script)) == []


def test_doctype_is_refused() -> None:
    xml = approval().replace(b"<bpmn:definitions", b'<!DOCTYPE x [<!ENTITY e "e">]>\n<bpmn:definitions', 1)
    assert check_diagram(xml, "approval.bpmn") == [
        Problem("approval.bpmn", "", "approval.bpmn：不允许包含 DOCTYPE 或 ENTITY 声明")]


def test_file_stem_must_equal_process_id() -> None:
    assert ("approval", "文件名须与流程 id 一致：应命名为 approval.bpmn") in problems_of(approval(), "other.bpmn")


def test_parser_errors_are_reported() -> None:
    xml = approval().replace(b'targetRef="finish"', b'targetRef="missing_node"', 1)
    found = problems_of(xml)
    assert len(found) == 1 and found[0][1].startswith("流程图无法解析")


def test_service_task_operator_must_be_whitelisted() -> None:
    service = (
        '<bpmn:serviceTask id="notify"><bpmn:extensionElements>'
        '<spiffworkflow:serviceTaskOperator id="http_get"><spiffworkflow:parameters>'
        '<spiffworkflow:parameter id="url" type="str" value="__import__(\'os\')"/>'
        "</spiffworkflow:parameters></spiffworkflow:serviceTaskOperator></bpmn:extensionElements>"
        "</bpmn:serviceTask>"
    )
    found = problems_of(diagram("approval", service))
    assert ("notify", "服务任务调用的函数 http_get 不在白名单中") in found
    assert ("notify", "参数 url：不允许使用 __import__") in found
