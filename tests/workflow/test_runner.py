"""Runner operations outside the happy paths: refusals, the whitelist at run time, timers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask
from SpiffWorkflow.util.task import TaskState
from workflow_helpers import Recorder, diagram, only_ready, review, unbound_registry

from services.workflow import runner
from services.workflow.scripting import WHITELIST, FunctionRegistry, NotBound, build_script_engine
from services.workflow.spec import ParsedProcess, parse_process
from services.workflow.state import TaskDataError, dump_state, load_state


def start_review(parsed: Callable[[str], ParsedProcess], engine: Any) -> Any:
    return runner.start(parsed("unit_review"), {"levels": [1, 2], "reviewing_unit_id": 9}, engine)


@pytest.mark.parametrize("task_id", ["not-a-uuid", "00000000-0000-4000-8000-000000000000"])
def test_unknown_task_is_not_ready(parsed: Callable[[str], ParsedProcess], engine: Any, task_id: str) -> None:
    with pytest.raises(runner.TaskNotReady):
        runner.complete_task(start_review(parsed, engine), task_id, {"decision": "pass", "opinion": "x"})


def test_completing_twice_is_refused(parsed: Callable[[str], ParsedProcess], engine: Any) -> None:
    workflow = start_review(parsed, engine)
    done = review(workflow, "pass")
    with pytest.raises(runner.TaskNotReady) as caught:
        runner.complete_task(workflow, done.task_id, {"decision": "reject", "opinion": "晚了"})
    assert caught.value.status == 409
    assert only_ready(workflow).data["level"] == 2


def test_a_non_user_task_cannot_be_completed(parsed: Callable[[str], ParsedProcess], engine: Any) -> None:
    workflow = start_review(parsed, engine)
    script_task = workflow.get_next_task(spec_name="summarize_reviews")
    with pytest.raises(runner.TaskNotReady):
        runner.complete_task(workflow, str(script_task.id), {})


def test_find_ready_task(parsed: Callable[[str], ParsedProcess], engine: Any) -> None:
    workflow = start_review(parsed, engine)
    task = only_ready(workflow)
    assert runner.find_ready_task(workflow, task.task_id) == task


def test_form_data_must_be_plain_json(parsed: Callable[[str], ParsedProcess], engine: Any) -> None:
    workflow = start_review(parsed, engine)
    with pytest.raises(TaskDataError):
        runner.complete_task(workflow, only_ready(workflow).task_id, {"decision": "pass", "when": datetime.now()})


def test_top_level_form_data_may_not_shadow_whitelisted_names() -> None:
    plain = parse_process(diagram("plain", (
        '<bpmn:startEvent id="begin"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>'
        '<bpmn:sequenceFlow id="f1" sourceRef="begin" targetRef="ask"/>'
        '<bpmn:userTask id="ask"><bpmn:incoming>f1</bpmn:incoming></bpmn:userTask>'
    )), "plain")
    workflow = runner.start(plain, {})
    for key in ("approve_unit_registration", "len", "__builtins__"):
        with pytest.raises(TaskDataError, match="保留名称"):
            runner.complete_task(workflow, only_ready(workflow).task_id, {key: 1})


def test_initial_data_may_not_shadow_whitelisted_names(parsed: Callable[[str], ParsedProcess]) -> None:
    with pytest.raises(TaskDataError, match="reject_unit_registration"):
        runner.start(parsed("unit_review"), {"levels": [1], "reviewing_unit_id": 1, "reject_unit_registration": 1})


def scripted(script: str) -> ParsedProcess:
    return parse_process(diagram("scripted", (
        '<bpmn:startEvent id="begin"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>'
        '<bpmn:sequenceFlow id="f1" sourceRef="begin" targetRef="work"/>'
        f'<bpmn:scriptTask id="work"><bpmn:incoming>f1</bpmn:incoming><bpmn:script>{script}</bpmn:script>'
        "</bpmn:scriptTask>"
    )), "scripted")


def test_scripts_see_only_allowed_builtins_and_the_whitelist() -> None:
    registry = FunctionRegistry()
    registry.register("double", lambda n: n * 2)
    workflow = runner.start(scripted("total = double(sum(values)) + len(values)"), {"values": [1, 2]},
                            build_script_engine(registry))
    assert workflow.last_task.data["total"] == 8
    for forbidden in ("x = open('/etc/hostname')", "import os", "x = __import__('os')"):
        with pytest.raises(WorkflowTaskException):
            runner.start(scripted(forbidden), {}, build_script_engine(registry))


def test_declared_operation_fails_until_the_app_binds_it() -> None:
    with pytest.raises(WorkflowTaskException) as caught:
        runner.start(scripted("reject_unit_registration(registration_id=1)"), {},
                     build_script_engine(unbound_registry()))
    assert caught.value.error_type == NotBound.__name__


def test_registry_refuses_silent_replacement() -> None:
    registry = unbound_registry()
    registry.register("approve_unit_registration", lambda **kw: None)  # binds the declared placeholder
    with pytest.raises(ValueError, match="已注册"):
        registry.register("approve_unit_registration", lambda **kw: None)
    with pytest.raises(ValueError):
        registry.register("len", lambda: 0)
    assert "approve_unit_registration" in WHITELIST and WHITELIST is not registry


def test_service_task_result_is_stored(parsed: Callable[[str], ParsedProcess], engine: Any,
                                       recorder: Recorder) -> None:
    workflow = runner.start(parsed("unit_registration"),
                            {"registration_id": 4, "levels": [1], "reviewing_unit_id": 9}, engine)
    review(workflow, "pass")
    assert workflow.last_task.data["approval_result"] == {"done": "approve_unit_registration"}


def timer(expression: str) -> ParsedProcess:
    return parse_process(diagram("waiting", (
        '<bpmn:startEvent id="begin"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>'
        '<bpmn:sequenceFlow id="f1" sourceRef="begin" targetRef="deadline"/>'
        '<bpmn:intermediateCatchEvent id="deadline"><bpmn:incoming>f1</bpmn:incoming>'
        '<bpmn:outgoing>f2</bpmn:outgoing><bpmn:timerEventDefinition>'
        f'<bpmn:timeDate xsi:type="bpmn:tFormalExpression">{expression}</bpmn:timeDate>'
        "</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>"
        '<bpmn:sequenceFlow id="f2" sourceRef="deadline" targetRef="finish"/>'
        '<bpmn:endEvent id="finish"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>'
    )), "waiting")


def test_a_future_timer_waits_and_reports_its_due_time() -> None:
    parsed = timer("due_at")
    workflow = runner.start(parsed, {"due_at": "2999-01-01T08:00:00+08:00"})
    assert runner.waiting_timers(workflow) == [datetime(2999, 1, 1, 0, 0, tzinfo=UTC)]
    runner.tick(workflow)
    restored = load_state(dump_state(workflow), parsed)
    assert not runner.is_completed(restored)
    assert runner.waiting_timers(restored) == [datetime(2999, 1, 1, 0, 0, tzinfo=UTC)]


def test_a_past_timer_fires_on_tick() -> None:
    workflow = runner.start(timer("due_at"), {"due_at": "2000-01-01T00:00:00+00:00"})
    runner.tick(workflow)
    assert runner.is_completed(workflow)
    assert runner.waiting_timers(workflow) == []


def _tree_walk_ids(workflow: Any) -> list[str]:
    # What ready_user_tasks gave before its flat pass: Spiff's tree walk, in tree order.
    return [str(task.id) for task in workflow.get_tasks(state=TaskState.READY, manual=True)
            if isinstance(task.task_spec, UserTask)]


def test_ready_tasks_from_the_flat_pass_equal_the_tree_walk(parsed: Callable[[str], ParsedProcess],
                                                            engine: Any) -> None:
    # A 2-level registration, returned once, corrected, passed: subprocess runs come and go along the life.
    spec = parsed("unit_registration")
    workflow = runner.start(spec, {"registration_id": 7, "levels": [1, 2], "reviewing_unit_id": 3}, engine)
    steps = [{"decision": "pass", "opinion": "一级同意"}, {"decision": "return", "opinion": "二级退回"},
             {"note": "已修改"}, {"decision": "pass", "opinion": "一级同意"}, {"decision": "pass", "opinion": "二级同意"}]
    for step in [*steps, None]:
        for state in (workflow, load_state(dump_state(workflow), spec, engine)):
            walked = _tree_walk_ids(state)
            assert [task.task_id for task in runner.ready_user_tasks(state)] == walked
            assert runner.ready_task_ids(state) == set(walked)
        if step is not None:
            runner.complete_task(workflow, only_ready(workflow).task_id, step)
    assert runner.is_completed(workflow) and runner.ready_task_ids(workflow) == set()
