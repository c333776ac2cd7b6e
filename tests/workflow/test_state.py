"""Instance-only state (DESIGN §2): identical over a multi-step run, and refuses data it cannot keep."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

import orjson
import pytest
from SpiffWorkflow.bpmn.serializer.default.workflow import TaskConverter
from SpiffWorkflow.bpmn.util.subworkflow import BpmnSubWorkflow
from state_compare import assert_same_restore, spiff_dump, spiff_restore
from test_runner import timer
from workflow_helpers import only_ready

from services.workflow import runner
from services.workflow.spec import ParsedProcess, dump_spec, load_spec
from services.workflow.state import _REGISTRY, TaskDataError, dump_state, load_state

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

# A 2-level registration that is returned once, corrected, and passes: 5 user tasks, two subprocess runs.
STEPS: list[dict[str, Any]] = [
    {"decision": "pass", "opinion": "一级同意"},
    {"decision": "return", "opinion": "二级退回"},
    {"note": "已修改"},
    {"decision": "pass", "opinion": "一级同意"},
    {"decision": "pass", "opinion": "二级同意"},
]


def canonical(blob: bytes) -> Any:
    """A dump with task ids numbered by first appearance and timestamps dropped.

    Two workflows that took the same steps create their new tasks with different random ids and at different
    times; everything else must match exactly.
    """
    numbering: dict[str, str] = {}
    text = _UUID.sub(lambda m: numbering.setdefault(m.group(0), f"#{len(numbering)}"), blob.decode())
    return _drop_timestamps(orjson.loads(text))


def _drop_timestamps(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_timestamps(v) for k, v in value.items() if k != "last_state_change"}
    if isinstance(value, list):
        return [_drop_timestamps(v) for v in value]
    return value


def start_registration(parsed: Callable[[str], ParsedProcess], engine: Any) -> Any:
    data = {"registration_id": 7, "levels": [1, 2], "reviewing_unit_id": 3}
    return runner.start(parsed("unit_registration"), data, engine)


def test_dump_load_dump_is_identical_at_every_step(parsed: Callable[[str], ParsedProcess], engine: Any) -> None:
    spec = parsed("unit_registration")
    workflow = start_registration(parsed, engine)
    for step in [*STEPS, None]:
        blob = dump_state(workflow)
        restored = load_state(blob, spec, engine)
        assert dump_state(restored) == blob
        assert runner.ready_user_tasks(restored) == runner.ready_user_tasks(workflow)
        assert runner.trail(restored) == runner.trail(workflow)
        if step is not None:
            runner.complete_task(workflow, only_ready(workflow).task_id, step)
    assert runner.is_completed(workflow)


def test_a_loaded_copy_behaves_like_the_original(parsed: Callable[[str], ParsedProcess], engine: Any,
                                                 recorder: Any) -> None:
    spec = parsed("unit_registration")
    original = start_registration(parsed, engine)
    copy = load_state(dump_state(original), spec, engine)
    for step in STEPS:
        mine, theirs = only_ready(original), only_ready(copy)
        # Tasks created after the copy was taken get their own random ids; everything else must agree.
        assert (mine.bpmn_id, mine.data, mine.instance_index) == (theirs.bpmn_id, theirs.data, theirs.instance_index)
        runner.complete_task(original, mine.task_id, step)
        runner.complete_task(copy, theirs.task_id, step)
        assert canonical(dump_state(copy)) == canonical(dump_state(original))
        # Reload the copy each step, as the application does once per request.
        copy = load_state(dump_state(copy), spec, engine)
    assert runner.is_completed(copy) and runner.is_completed(original)
    assert recorder.names() == ["approve_unit_registration", "approve_unit_registration"]


def test_state_runs_on_a_spec_restored_from_its_cache_blob(parsed: Callable[[str], ParsedProcess],
                                                          engine: Any) -> None:
    cached = load_spec(dump_spec(parsed("unit_registration")))
    workflow = load_state(dump_state(start_registration(parsed, engine)), cached, engine)
    for step in STEPS:
        runner.complete_task(workflow, only_ready(workflow).task_id, step)
    assert runner.is_completed(workflow)


def test_state_holds_no_spec(parsed: Callable[[str], ParsedProcess], engine: Any) -> None:
    dct = orjson.loads(dump_state(start_registration(parsed, engine)))
    assert "spec" not in dct and "subprocess_specs" not in dct


@pytest.mark.parametrize("value", [
    date(2024, 5, 1), Decimal("1.5"), {"typename": "UUID"}, {1: "x"}, (1, 2), {1}, float("nan"), 2**70,
])
def test_data_that_would_not_round_trip_is_refused(parsed: Callable[[str], ParsedProcess], engine: Any,
                                                   value: Any) -> None:
    workflow = start_registration(parsed, engine)
    only = only_ready(workflow)
    workflow.get_task_from_id(UUID(only.task_id)).data["bad"] = value
    with pytest.raises(TaskDataError):
        dump_state(workflow)


def test_start_refuses_a_date_in_initial_data(parsed: Callable[[str], ParsedProcess], engine: Any) -> None:
    with pytest.raises(TaskDataError, match="date"):
        runner.start(parsed("unit_review"), {"levels": [1], "reviewing_unit_id": 1, "due": date(2024, 1, 1)}, engine)


def test_dump_and_restore_mirror_spiffs_own_converters_at_every_step(parsed: Callable[[str], ParsedProcess],
                                                                      engine: Any) -> None:
    # state._restore_tasks rebuilds tasks without the registry; every stored attribute must equal what
    # SpiffWorkflow's BpmnWorkflowConverter restores from the same blob (subprocesses, events, data, order).
    spec = parsed("unit_registration")
    workflow = start_registration(parsed, engine)
    for step in [*STEPS, None]:
        blob = dump_state(workflow)
        assert blob == spiff_dump(workflow)
        restored = load_state(blob, spec, engine)
        assert_same_restore(restored, spiff_restore(blob, spec))
        assert dump_state(restored) == spiff_dump(restored) == blob
        if step is not None:
            runner.complete_task(workflow, only_ready(workflow).task_id, step)


def test_the_restore_mirrors_spiffs_own_deserialization_with_a_waiting_timer(engine: Any) -> None:
    # A timer's catching event is registered with the event manager on load, as Spiff's converter does.
    spec = timer("due_at")
    workflow = runner.start(spec, {"due_at": "2999-01-01T08:00:00+08:00"}, engine)
    blob = dump_state(workflow)
    restored = load_state(blob, spec, engine)
    assert restored.event_manager.tasks
    assert blob == spiff_dump(workflow) and dump_state(restored) == spiff_dump(restored) == blob
    assert_same_restore(restored, spiff_restore(blob, spec))


def test_the_mirrored_converters_are_the_registered_ones() -> None:
    # _restore_tasks mirrors these two; a SpiffWorkflow upgrade that registers others must be looked at again.
    assert _REGISTRY.convert_from_dict["Task"].args[0].__func__ is TaskConverter.from_dict
    assert _REGISTRY.convert_from_dict["BpmnSubWorkflow"].args[0].__self__.target_class is BpmnSubWorkflow
