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
from typing import Any
from uuid import UUID

import orjson
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

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
        dct: dict[str, Any] = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        for _, task in _task_dicts(dct):
            # A restored task rebuilds its data as parent data + delta, so key order (not content) can differ
            # from the original's; ordering the delta makes equal states dump to equal bytes.
            delta = task.get("delta")
            if delta:
                delta["updates"] = dict(sorted(delta["updates"].items()))
                delta["deletions"] = sorted(delta["deletions"])
        return dct

    def restore(self, dct: dict[str, Any], parsed: ParsedProcess) -> BpmnWorkflow:
        # Mirrors BpmnWorkflowConverter.from_dict minus the spec restoration.
        workflow = self.target_class(parsed.spec, dict(parsed.subprocess_specs), deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


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
