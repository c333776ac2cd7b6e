"""Compare a workflow restored by state.load_state with SpiffWorkflow's own deserialization of the same blob."""

from __future__ import annotations

from typing import Any

import orjson
from SpiffWorkflow.bpmn.serializer.default.workflow import WorkflowConverter

from services.workflow.spec import ParsedProcess
from services.workflow.state import (
    _CONVERTER,
    _ORJSON_OPTIONS,
    _REGISTRY,
    STATE_FORMAT,
    _registered_or_refuse,
)


def spiff_restore(blob: bytes, parsed: ParsedProcess) -> Any:
    """The blob as SpiffWorkflow 3.2's BpmnWorkflowConverter restores it, with the spec put back in."""
    dct = orjson.loads(blob)
    dct.pop("format", None)
    dct["spec"] = _REGISTRY.convert(parsed.spec)
    dct["subprocess_specs"] = _CONVERTER.mapping_to_dict(dict(parsed.subprocess_specs))
    dct["typename"] = "BpmnWorkflow"
    return _REGISTRY.restore(dct)


def _task_facts(task: Any) -> tuple[Any, ...]:
    return (task.id, task._parent, list(task._children), task.state, task.task_spec is not None and
            task.task_spec.name, task.triggered, task.internal_data, task.data, task.last_state_change,
            type(task).__name__, task.workflow.spec.name)


def _workflow_facts(workflow: Any) -> tuple[Any, ...]:
    return (workflow.spec.name, workflow.data, workflow.correlations, workflow.success, workflow.completed,
            workflow.last_task.id if workflow.last_task is not None else None, workflow.task_tree.id,
            [(key, _task_facts(task)) for key, task in workflow.tasks.items()])


def assert_same_restore(mine: Any, theirs: Any) -> None:
    """Every stored attribute of the two workflows, their subprocesses and their tasks, equal and in order."""
    assert _workflow_facts(mine) == _workflow_facts(theirs)
    assert list(mine.subprocesses) == list(theirs.subprocesses)
    for key, sub in mine.subprocesses.items():
        other = theirs.subprocesses[key]
        assert type(sub) is type(other) and sub.parent_task_id == other.parent_task_id
        assert sub.spec is other.spec or sub.spec.name == other.spec.name
        assert _workflow_facts(sub) == _workflow_facts(other)
        assert _subscribers(sub.completed_event) == _subscribers(other.completed_event)
    assert _REGISTRY.convert(mine.bpmn_events) == _REGISTRY.convert(theirs.bpmn_events)
    assert [(key, task.id) for key, task in mine.event_manager.tasks.items()] == \
        [(key, task.id) for key, task in theirs.event_manager.tasks.items()]
    assert [(e.name, e.event_type, e.value) for e in mine.waiting_events()] == \
        [(e.name, e.event_type, e.value) for e in theirs.waiting_events()]


def _subscribers(event: Any) -> list[tuple[Any, ...]]:
    # (callback, the task it was connected with): the subprocess's completion reaches its task's spec.
    found = []
    for subscriber in [*(event.weak_subscribers or []), *(event.hard_subscribers or [])]:
        callback, args = subscriber[0], subscriber[1] if len(subscriber) > 1 else ()
        callback = callback() if type(callback).__name__ == "WeakMethod" else callback
        found.append((getattr(callback, "__func__", callback), tuple(getattr(a, "id", a) for a in args)))
    return found


def spiff_dump(workflow: Any) -> bytes:
    """dump_state's bytes as SpiffWorkflow 3.2's own converters write the instance (the specs left out, deltas
    ordered): what state._workflow_dict / _task_dict must reproduce byte for byte."""
    dct: dict[str, Any] = WorkflowConverter.to_dict(_CONVERTER, workflow)
    dct["subprocesses"] = _CONVERTER.mapping_to_dict(workflow.subprocesses)
    dct["bpmn_events"] = _REGISTRY.convert(workflow.bpmn_events)
    for sub in [dct, *dct["subprocesses"].values()]:
        for task in sub["tasks"].values():
            delta = task.get("delta")
            if delta:
                delta["updates"] = dict(sorted(delta["updates"].items()))
                delta["deletions"] = sorted(delta["deletions"])
    dct["format"] = STATE_FORMAT
    return orjson.dumps(dct, default=_registered_or_refuse, option=_ORJSON_OPTIONS)
