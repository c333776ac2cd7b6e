"""bpmn/unit_registration.bpmn and bpmn/unit_superior_change.bpmn, every path, through unit_review."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from SpiffWorkflow.bpmn.exceptions import WorkflowDataException
from workflow_helpers import Recorder, only_ready, review

from services.workflow import runner
from services.workflow.spec import ParsedProcess


@dataclass(frozen=True)
class Caller:
    process_id: str
    business_key: str
    approve: str
    reject: str
    correction_task: str
    correction_form: str
    correction_post: str


REGISTRATION = Caller("unit_registration", "registration_id", "approve_unit_registration",
                      "reject_unit_registration", "correct_registration", "registration/correction", "applicant")
SUPERIOR_CHANGE = Caller("unit_superior_change", "change_request_id", "apply_superior_change",
                         "reject_superior_change", "correct_superior_change", "superior_change/correction",
                         "unit_admin")
CALLERS = pytest.mark.parametrize("caller", [REGISTRATION, SUPERIOR_CHANGE], ids=lambda c: c.process_id)


def begin(parsed: Callable[[str], ParsedProcess], engine: Any, caller: Caller, levels: list[int]) -> Any:
    data = {caller.business_key: 501, "levels": levels, "reviewing_unit_id": 31}
    return runner.start(parsed(caller.process_id), data, engine)


def correct(workflow: Any, caller: Caller, note: str = "已按意见修改") -> runner.ReadyTask:
    task = only_ready(workflow)
    assert (task.bpmn_id, task.form_key, task.post) == (
        caller.correction_task, caller.correction_form, caller.correction_post)
    runner.complete_task(workflow, task.task_id, {"note": note})
    return task


@CALLERS
def test_pass_applies_the_change(parsed: Callable[[str], ParsedProcess], engine: Any, recorder: Recorder,
                                 caller: Caller) -> None:
    workflow = begin(parsed, engine, caller, [1])
    review(workflow, "pass")
    assert runner.is_completed(workflow)
    assert recorder.calls == [(caller.approve, {caller.business_key: 501})]


@CALLERS
def test_return_then_pass(parsed: Callable[[str], ParsedProcess], engine: Any, recorder: Recorder,
                          caller: Caller) -> None:
    workflow = begin(parsed, engine, caller, [1])
    review(workflow, "return", "信用代码有误")
    correction = correct(workflow, caller)
    assert correction.data["review_decision"] == "return"
    assert correction.data["review_opinion"] == "信用代码有误"
    assert recorder.calls == []
    review(workflow, "pass")
    assert runner.is_completed(workflow)
    assert recorder.names() == [caller.approve]
    assert [(e.bpmn_id, e.decision) for e in runner.trail(workflow)] == [
        ("review_by_level", "return"), (caller.correction_task, None), ("review_by_level", "pass")]


@CALLERS
def test_reject_ends_with_the_reject_operation(parsed: Callable[[str], ParsedProcess], engine: Any,
                                               recorder: Recorder, caller: Caller) -> None:
    workflow = begin(parsed, engine, caller, [1, 2])
    review(workflow, "reject", "不符合条件")
    assert runner.is_completed(workflow)
    assert recorder.calls == [(caller.reject, {caller.business_key: 501, "opinion": "不符合条件"})]


@CALLERS
def test_two_levels_first_passes_second_returns(parsed: Callable[[str], ParsedProcess], engine: Any,
                                               recorder: Recorder, caller: Caller) -> None:
    workflow = begin(parsed, engine, caller, [1, 2])
    first = review(workflow, "pass", "一级同意")
    second = review(workflow, "return", "二级退回：缺营业执照")
    assert (first.data["level"], second.data["level"]) == (1, 2)
    correct(workflow, caller, "已补营业执照")
    # A fresh review starts again from the first level.
    assert [review(workflow, "pass").data["level"] for _ in range(2)] == [1, 2]
    assert runner.is_completed(workflow)
    assert recorder.names() == [caller.approve]
    trail = runner.trail(workflow)
    assert [(e.post, e.decision) for e in trail] == [
        ("unit_reviewer", "pass"), ("unit_reviewer", "return"), (caller.correction_post, None),
        ("unit_reviewer", "pass"), ("unit_reviewer", "pass")]
    assert trail[2].form_data == {"note": "已补营业执照"}
    assert trail[1].opinion == "二级退回：缺营业执照"


@CALLERS
def test_first_level_return_never_reaches_second(parsed: Callable[[str], ParsedProcess], engine: Any,
                                                 caller: Caller) -> None:
    workflow = begin(parsed, engine, caller, [1, 2, 3])
    review(workflow, "return")
    # Completion stopped the multi-instance early: the next task is the correction, not level 2.
    assert only_ready(workflow).bpmn_id == caller.correction_task
    assert [entry.instance_index for entry in runner.trail(workflow)] == [0]


@CALLERS
def test_the_caller_must_name_the_reviewing_unit(parsed: Callable[[str], ParsedProcess], engine: Any,
                                                 caller: Caller) -> None:
    # unit_review declares levels and reviewing_unit_id as its data inputs; the call activity enforces them.
    with pytest.raises(WorkflowDataException, match="Data Input"):
        runner.start(parsed(caller.process_id), {caller.business_key: 1, "levels": [1]}, engine)


@CALLERS
def test_two_levels_both_pass(parsed: Callable[[str], ParsedProcess], engine: Any, recorder: Recorder,
                              caller: Caller) -> None:
    workflow = begin(parsed, engine, caller, [1, 2])
    assert [review(workflow, "pass").data["level"] for _ in range(2)] == [1, 2]
    assert runner.is_completed(workflow)
    assert recorder.calls == [(caller.approve, {caller.business_key: 501})]


@CALLERS
def test_two_levels_second_rejects(parsed: Callable[[str], ParsedProcess], engine: Any, recorder: Recorder,
                                   caller: Caller) -> None:
    workflow = begin(parsed, engine, caller, [1, 2])
    review(workflow, "pass", "一级同意")
    assert review(workflow, "reject", "二级：不符合条件").data["level"] == 2
    assert runner.is_completed(workflow)
    assert recorder.calls == [(caller.reject, {caller.business_key: 501, "opinion": "二级：不符合条件"})]


@CALLERS
def test_two_levels_return_resubmit_then_reject(parsed: Callable[[str], ParsedProcess], engine: Any,
                                                recorder: Recorder, caller: Caller) -> None:
    workflow = begin(parsed, engine, caller, [1, 2])
    review(workflow, "return", "请补充")
    correct(workflow, caller)
    review(workflow, "pass")
    review(workflow, "reject", "仍不符合")
    assert runner.is_completed(workflow)
    assert recorder.names() == [caller.reject]
