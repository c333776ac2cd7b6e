"""Instance-only serialization of a running workflow (DESIGN §2, "Keep instances small").

SpiffWorkflow's own serializer embeds the whole spec in every blob. Here the spec comes from the cached
definition version (``spec.py``) and the blob holds only the instance: task tree, per-task data deltas
(3.2's format), subprocesses and pending events, dumped with orjson.

Task data must be plain JSON. Nothing extra is registered with the serializer: a ``date`` or ``Decimal`` would
otherwise be written as a string (orjson) or fail half-way, and a dict with a ``typename`` key would be mistaken
for a serialized object on load. Both are refused at dump time with the offending path.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from copy import copy
from typing import Any
from uuid import UUID

import orjson
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
from SpiffWorkflow.bpmn.util.subworkflow import BpmnSubWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from services.common.errors import InvalidInput

from .scripting import WhitelistScriptEngine, build_script_engine
from .spec import ParsedProcess

__all__ = ["STATE_FORMAT", "TaskDataError", "check_task_data", "dump_state", "load_state"]

STATE_FORMAT = 1
_JSON_SCALARS = (str, int, float, bool, type(None))
# Passthrough sends date/dataclass/str-subclass values to ``default`` (which refuses them) instead of letting
# orjson write them as plain strings. No OPT_SORT_KEYS: Spiff restores tasks in mapping order and a task
# whose parent is not restored yet silently loses its data delta.
_ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_SUBCLASS


class TaskDataError(InvalidInput):
    """Task data that cannot be stored faithfully."""


def check_task_data(value: Any, path: str = "data") -> None:
    """Refuse anything but JSON scalars, lists and str-keyed dicts, and the reserved key ``typename``."""
    if type(value) is float and not math.isfinite(value):
        raise TaskDataError(f"任务数据 {path} 不能是 NaN 或无穷大")  # orjson would write null
    if type(value) in _JSON_SCALARS:
        return
    if type(value) is list:
        for index, item in enumerate(value):
            check_task_data(item, f"{path}[{index}]")
        return
    if type(value) is dict:
        for key, item in value.items():
            if not isinstance(key, str):
                raise TaskDataError(f"任务数据 {path} 的键必须是字符串，实际为 {type(key).__name__}")
            if key == "typename":
                raise TaskDataError(f"任务数据 {path} 不能使用保留键 typename")
            check_task_data(item, f"{path}.{key}")
        return
    raise TaskDataError(f"任务数据 {path} 只能是 JSON 基本类型，实际为 {type(value).__name__}")


class _InstanceConverter(BpmnWorkflowConverter):  # type: ignore[misc]
    """BpmnWorkflowConverter without the specs: they are supplied on load from the definition version."""

    def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        # BpmnWorkflowConverter.to_dict minus the specs, with the (sub)workflows and their tasks dumped by
        # _workflow_dict / _task_dict instead of the registry: the same dict, key for key, in fewer calls.
        strs: dict[UUID, str] = {}
        dct = _workflow_dict(workflow, strs)
        dct["subprocesses"] = {
            _str(strs, key): _subworkflow_dict(sub, strs) if type(sub) is BpmnSubWorkflow else self.registry.convert(sub)
            for key, sub in workflow.subprocesses.items()}
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def restore(self, dct: dict[str, Any], parsed: ParsedProcess) -> BpmnWorkflow:
        # Mirrors BpmnWorkflowConverter.from_dict minus the spec restoration, with the tasks restored by
        # _restore_tasks instead of the registry (same objects, fewer calls).
        uuids: dict[str, UUID] = {}
        workflow = self.target_class(parsed.spec, dict(parsed.subprocess_specs), deserializing=True)
        workflow.tasks = _restore_tasks(dct["tasks"], workflow, uuids)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self._restore_subprocesses(dct["subprocesses"], workflow, workflow, uuids)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow

    def _restore_subprocesses(self, dct: dict[str, Any], workflow: Any, top_workflow: BpmnWorkflow,
                              uuids: dict[str, UUID]) -> None:
        # Mirrors BpmnWorkflowConverter.subprocesses_from_dict and BpmnSubWorkflowConverter.from_dict: parents
        # are created before their children, because a subprocess needs the task it belongs to.
        for task in list(workflow.tasks.values()):
            if not isinstance(task.task_spec, SubWorkflowTask) or str(task.id) not in dct:
                continue
            sub_dct = dct.pop(str(task.id))
            if sub_dct.get("typename") != "BpmnSubWorkflow":  # not the format this mirrors: Spiff's own path
                subprocess = self.registry.restore(sub_dct, task=task, top_workflow=top_workflow)
            else:
                spec = top_workflow.subprocess_specs.get(task.task_spec.spec)
                subprocess = BpmnSubWorkflow(spec, task.id, top_workflow, deserializing=True)
                subprocess.tasks = _restore_tasks(sub_dct["tasks"], subprocess, uuids)
                subprocess.task_tree = subprocess.tasks.get(UUID(sub_dct["root"]))
                self.set_default_attributes(subprocess, sub_dct)
            top_workflow.subprocesses[task.id] = subprocess
            subprocess.completed_event.connect(task.task_spec._on_subworkflow_completed, task)
            self._restore_subprocesses(dct, subprocess, top_workflow, uuids)


def _str(strs: dict[UUID, str], uuid: UUID) -> str:
    found = strs.get(uuid)
    if found is None:
        found = strs[uuid] = str(uuid)
    return found


def _workflow_dict(workflow: Any, strs: dict[UUID, str]) -> dict[str, Any]:
    """WorkflowConverter.to_dict (SpiffWorkflow 3.2), its tasks by _task_dict."""
    last_task = workflow.last_task
    return {
        "data": _REGISTRY.convert(_REGISTRY.clean(workflow.data)),
        "correlations": workflow.correlations,
        "last_task": _str(strs, last_task.id) if last_task is not None else None,
        "success": workflow.success,
        "completed": workflow.completed,
        "tasks": {_str(strs, key): _task_dict(task, strs) if type(task) is Task else _REGISTRY.convert(task)
                  for key, task in workflow.tasks.items()},
        "root": _str(strs, workflow.task_tree.id),
    }


def _subworkflow_dict(workflow: Any, strs: dict[UUID, str]) -> dict[str, Any]:
    """BpmnSubWorkflowConverter.to_dict as the registry writes it (its typename last)."""
    dct = _workflow_dict(workflow, strs)
    dct["parent_task_id"] = _str(strs, workflow.parent_task_id)
    dct["spec"] = workflow.spec.name
    dct["typename"] = "BpmnSubWorkflow"
    return dct


def _task_dict(task: Any, strs: dict[UUID, str]) -> dict[str, Any]:
    """TaskConverter.to_dict (3.2's data deltas) as the registry writes it (its typename last), with the delta
    ordered: a restored task rebuilds its data as parent data + delta, so key order (not content) can differ
    from the original's; ordering the delta makes equal states dump to equal bytes."""
    parent = task.parent
    if parent is None:
        data = task.data
        delta: dict[str, Any] = {}
    else:
        data = {}
        own, inherited = task.data, parent.data
        delta = {
            "updates": dict(sorted((key, own[key]) for key in own if key not in inherited or own[key] != inherited[key])),
            "deletions": sorted(key for key in inherited if key not in own),
        }
    internal_data = task.internal_data
    return {
        "id": _str(strs, task.id),
        "parent": _str(strs, task._parent) if parent is not None else None,
        "children": [_str(strs, child) for child in task._children],
        "last_state_change": task.last_state_change,
        "state": task.state,
        "task_spec": task.task_spec.name,
        "triggered": task.triggered,
        "internal_data": _REGISTRY.convert(internal_data) if internal_data else {},
        "data": data,
        "delta": delta,
        "typename": "Task",
    }


def _uuid(uuids: dict[str, UUID], text: str) -> UUID:
    found = uuids.get(text)
    if found is None:
        found = uuids[text] = UUID(text)
    return found


def _restore_tasks(tasks: Mapping[str, Any], workflow: Any, uuids: dict[str, UUID]) -> dict[UUID, Any]:
    """SpiffWorkflow 3.2's TaskConverter.from_dict for every task of one (sub)workflow, in stored order.

    The same objects, built with fewer calls: each id string becomes one UUID however often it is named (as a
    task, a parent, a child); task data and deltas are taken as loaded, not passed through the registry, since
    dump_state refused anything in them that the registry would convert (a ``typename`` key, non-JSON values);
    and a task's inherited data is the parent's data with mutable values copied one level deep, which is what
    ``DeepMerge.merge({}, parent.data)`` does. A task dict of another type goes through the registry."""
    restored: dict[UUID, Any] = {}
    task_specs = workflow.spec.task_specs
    event_manager = None
    for key, dct in tasks.items():
        if dct.get("typename") != "Task":
            restored[_uuid(uuids, key)] = _REGISTRY.restore(dct, workflow=workflow)
            continue
        task_spec = task_specs.get(dct["task_spec"])
        task = Task(workflow, task_spec, state=dct["state"], id=_uuid(uuids, dct["id"]))
        parent_id = dct["parent"]
        task._parent = _uuid(uuids, parent_id) if parent_id is not None else None
        task._children = [_uuid(uuids, child) for child in dct["children"]]
        task.last_state_change = dct["last_state_change"]
        task.triggered = dct["triggered"]
        internal_data = dct["internal_data"]
        task.internal_data = _REGISTRY.restore(internal_data) if internal_data else {}
        if isinstance(task_spec, CatchingEvent) and task.has_state(TaskState.WAITING):
            if event_manager is None:
                event_manager = workflow.top_workflow.event_manager
            event_manager.add_task(task)
        delta = dct.get("delta")
        parent = task.parent if delta else None
        if parent is not None:
            data = {name: copy(value) if isinstance(value, (dict, list, set)) else value
                    for name, value in parent.data.items()}
            data.update(delta.get("updates", {}))
            for name in delta.get("deletions", {}):
                if name in data:
                    del data[name]
        else:
            data = _REGISTRY.restore(dct["data"])
        task.data = data
        restored[_uuid(uuids, key)] = task
    return restored


_REGISTRY = BpmnWorkflowSerializer.configure(SPIFF_CONFIG)
_CONVERTER = _InstanceConverter(BpmnWorkflow, _REGISTRY)


def _task_dicts(workflow_dct: Mapping[str, Any]) -> Iterable[tuple[str, Mapping[str, Any]]]:
    yield from workflow_dct["tasks"].items()
    for subprocess in workflow_dct.get("subprocesses", {}).values():
        yield from subprocess["tasks"].items()


def _check_instance(dct: Mapping[str, Any]) -> None:
    # Only the stored parts are checked: the root task's full data and every other task's delta.
    check_task_data(dct["data"], "workflow")
    for task_id, task in _task_dicts(dct):
        check_task_data(task["data"], f"task[{task_id}]")
        check_task_data(task.get("delta", {}).get("updates", {}), f"task[{task_id}]")


def dump_state(workflow: BpmnWorkflow) -> bytes:
    """The instance's own state as JSON bytes (no spec)."""
    # Task data and deltas are placed in the dict as-is by Spiff's TaskConverter, so orjson does the walking;
    # Spiff's "encoder mode" flag is not used because it is shared state on the registry (not thread-safe).
    dct = _CONVERTER.to_dict(workflow)
    _check_instance(dct)
    dct["format"] = STATE_FORMAT
    try:
        return orjson.dumps(dct, default=_registered_or_refuse, option=_ORJSON_OPTIONS)
    except TypeError as err:
        raise TaskDataError(str(err)) from err


def _registered_or_refuse(obj: Any) -> Any:
    # Spiff's own objects (pending BpmnEvents) still go through their registered converters.
    typename = _REGISTRY.typenames.get(type(obj))
    if typename is None:
        raise TypeError(f"无法保存的任务数据类型：{type(obj).__name__}")
    return _REGISTRY.convert_to_dict[typename](obj)


def load_state(blob: bytes, parsed: ParsedProcess, script_engine: WhitelistScriptEngine | None = None
               ) -> BpmnWorkflow:
    """Rebuild a workflow from :func:`dump_state` output on the definition version it was started on."""
    dct = orjson.loads(blob)
    if dct.pop("format", None) != STATE_FORMAT:
        raise TaskDataError("不支持的流程实例状态格式")
    workflow = _CONVERTER.restore(dct, parsed)
    workflow.script_engine = script_engine or build_script_engine()
    return workflow
