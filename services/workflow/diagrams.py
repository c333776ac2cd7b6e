"""Which element of an instance's diagram to mark as the current node on a task page (FEATURES P2, B5).

A task page shows the diagram of the definition version the instance runs on (``process_definition.xml``).
A user task that lives inside a called process (the reusable ``unit_review`` 多岗审核) is marked through the
call activity of the parent that reaches it, rather than by showing the called process's own diagram: the
parent diagram is the business flow a reviewer recognises, and it is exactly the version the instance runs on,
whereas the called process's rows are versioned on their own and need not be the version compiled into the
parent's spec. The containment is read from the parsed spec of that version (cached per version), never from
an instance's state.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.models.workflow import ProcessDefinition
from services.workflow import definitions


@dataclass(frozen=True)
class DiagramMark:
    element_id: str  # the element of the top-level diagram to mark; "" when the task is not in it
    called_process_id: str = ""  # set when element_id is a call activity that reaches the task


def current_element(definition: ProcessDefinition, bpmn_id: str) -> DiagramMark:
    parsed = definitions.parsed(definition)
    if _owns(parsed.spec, bpmn_id):
        return DiagramMark(bpmn_id)
    for task_spec in parsed.spec.task_specs.values():
        called = _called_process(task_spec)
        if called and _reaches(called, bpmn_id, parsed.subprocess_specs, set()):
            return DiagramMark(str(task_spec.bpmn_id), called)
    return DiagramMark("")


def _owns(process_spec: Any, bpmn_id: str) -> bool:
    return any(getattr(t, "bpmn_id", None) == bpmn_id for t in process_spec.task_specs.values())


def _called_process(task_spec: Any) -> str:
    # A CallActivity spec names the called process in `spec`; other task specs have no such attribute.
    called = getattr(task_spec, "spec", None)
    return called if isinstance(called, str) and getattr(task_spec, "bpmn_id", None) else ""


def _reaches(process_id: str, bpmn_id: str, library: Mapping[str, Any], seen: set[str]) -> bool:
    """Does `process_id`, or a process it calls in turn, contain the element `bpmn_id`?"""
    process_spec = library.get(process_id)
    if process_spec is None or process_id in seen:
        return False
    seen.add(process_id)
    if _owns(process_spec, bpmn_id):
        return True
    return any(_reaches(called, bpmn_id, library, seen)
               for called in map(_called_process, process_spec.task_specs.values()) if called)
