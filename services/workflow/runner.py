"""Engine operations on a loaded workflow: start, list ready user tasks, complete one, timers, audit trail.

Callers own persistence (DESIGN §2 "Instances"): load the row locked, call one operation here, ``dump_state``,
update the inbox projection, commit. If an operation raises, the in-memory workflow may be half-advanced and
must be discarded, never saved.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from copy import deepcopy
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask
from SpiffWorkflow.exceptions import SpiffWorkflowException, TaskNotFoundException
from SpiffWorkflow.util.task import TaskState

from services.common.errors import Conflict, ServiceError

from .forms import form_variable, task_properties
from .scripting import ALLOWED_BUILTINS, WhitelistScriptEngine, build_script_engine
from .spec import ParsedProcess
from .state import TaskDataError, check_task_data

__all__ = [
    "ROUTING_KEYS",
    "ReadyTask",
    "TaskNotReady",
    "TrailEntry",
    "complete_task",
    "find_ready_task",
    "is_completed",
    "ready_task_ids",
    "ready_user_tasks",
    "start",
    "tick",
    "trail",
    "waiting_timers",
]

# Task-data keys copied into ReadyTask.data: what the inbox projection and candidate resolution need.
ROUTING_KEYS = (
    "reviewing_unit_id", "level", "registration_id", "change_request_id", "review_decision", "review_opinion",
)
_TIMER_EVENTS = {"TimeDateEventDefinition", "DurationTimerEventDefinition", "CycleTimerEventDefinition"}


class TaskNotReady(Conflict):
    """The task is gone, already done, or not a user task: usually a lost race (HTTP 409)."""

    def __init__(self, message: str = "该待办已被处理或不存在，请刷新后重试") -> None:
        super().__init__(message)


@dataclass(frozen=True)
class ReadyTask:
    task_id: str
    bpmn_id: str
    name: str
    form_key: str
    post: str
    lane: str | None
    process_id: str
    data: dict[str, Any] = field(default_factory=dict)
    instance_index: int | None = None


@dataclass(frozen=True)
class TrailEntry:
    task_id: str
    bpmn_id: str
    name: str
    post: str
    process_id: str
    completed_at: float
    decision: str | None
    opinion: str | None
    form_data: dict[str, Any]
    instance_index: int | None = None


def start(parsed: ParsedProcess, data: Mapping[str, Any], script_engine: WhitelistScriptEngine | None = None
          ) -> BpmnWorkflow:
    """A new instance with ``data`` as its initial task data, advanced to its first wait state."""
    initial = deepcopy(dict(data))
    check_task_data(initial, "start")
    workflow = BpmnWorkflow(parsed.spec, dict(parsed.subprocess_specs),
                            script_engine=script_engine or build_script_engine())
    _refuse_reserved(workflow, initial)
    # task_tree is the READY Start task; its data is inherited by everything after it.
    workflow.task_tree.set_data(**initial)
    workflow.do_engine_steps()
    return workflow


def _is_user_task(task: Any) -> bool:
    return isinstance(task.task_spec, UserTask)


def _all_workflows(workflow: BpmnWorkflow) -> Iterator[Any]:
    yield workflow
    yield from workflow.subprocesses.values()


def _ready_task(task: Any, routing_keys: Iterable[str]) -> ReadyTask:
    spec = task.task_spec
    properties = task_properties(spec)
    index = task.internal_data.get("key_or_index")
    return ReadyTask(
        task_id=str(task.id),
        bpmn_id=str(spec.bpmn_id),
        name=str(spec.bpmn_name or spec.bpmn_id),
        form_key=properties.get("formKey", ""),
        post=properties.get("post", ""),
        lane=spec.lane,
        process_id=str(task.workflow.spec.name),
        data={key: deepcopy(task.data[key]) for key in routing_keys if key in task.data},
        instance_index=index if isinstance(index, int) else None,
    )


def _ready_user_task_objects(workflow: BpmnWorkflow) -> list[Any]:
    """The READY user tasks, found by a flat pass over the task maps of the instance and its subprocesses.

    Spiff's ``get_tasks`` walks the tree with an iterator (a UUID hash per child per task); every task of the
    tree is in its workflow's ``tasks`` map and every live subprocess in ``subprocesses``, so a flat pass finds
    the same tasks at a fraction of the cost. Only their order can differ: with two or more, the tree walk
    gives it (ready_user_tasks promises tree order)."""
    found = [task for sub in _all_workflows(workflow) for task in sub.tasks.values()
             if task.state == TaskState.READY and _is_user_task(task)]
    if len(found) > 1:
        return [task for task in workflow.get_tasks(state=TaskState.READY, manual=True) if _is_user_task(task)]
    return found


def ready_user_tasks(workflow: BpmnWorkflow, routing_keys: Iterable[str] = ROUTING_KEYS) -> list[ReadyTask]:
    """READY user tasks in the instance and its subprocesses, in tree order."""
    keys = tuple(routing_keys)
    return [_ready_task(task, keys) for task in _ready_user_task_objects(workflow)]


def ready_task_ids(workflow: BpmnWorkflow) -> set[str]:
    """The ids of the READY user tasks (ready_user_tasks without building them; no order, so no tree walk)."""
    return {str(task.id) for sub in _all_workflows(workflow) for task in sub.tasks.values()
            if task.state == TaskState.READY and _is_user_task(task)}


def _find_task(workflow: BpmnWorkflow, task_id: str) -> Any:
    try:
        task = workflow.get_task_from_id(UUID(task_id))
    except (ValueError, TypeError, TaskNotFoundException):
        raise TaskNotReady() from None
    if task is None or task.state != TaskState.READY or not _is_user_task(task):
        raise TaskNotReady()
    return task


def find_ready_task(workflow: BpmnWorkflow, task_id: str) -> ReadyTask:
    """The READY user task ``task_id`` (for the candidate check before validating a form), or TaskNotReady."""
    return _ready_task(_find_task(workflow, task_id), ROUTING_KEYS)


def _refuse_reserved(workflow: BpmnWorkflow, data: Mapping[str, Any]) -> None:
    # Spiff refuses to run a script whose task data shadows a whitelisted function; fail before any step runs.
    reserved = set(ALLOWED_BUILTINS)
    if isinstance(workflow.script_engine, WhitelistScriptEngine):
        reserved.update(workflow.script_engine.registry)
    clash = sorted(key for key in data if key in reserved or key.startswith("_"))
    if clash:
        raise TaskDataError(f"数据字段名与保留名称冲突：{', '.join(clash)}")


def complete_task(workflow: BpmnWorkflow, task_id: str, data: Mapping[str, Any]) -> None:
    """Record validated form ``data`` on a READY user task, run it, and advance the engine."""
    task = _find_task(workflow, task_id)
    submitted = deepcopy(dict(data))
    check_task_data(submitted, "form")
    variable = form_variable(task.task_spec)
    if variable is not None:
        task.data[variable] = submitted
    else:
        _refuse_reserved(workflow, submitted)
        task.data.update(submitted)
    try:
        task.run()
        workflow.do_engine_steps()
    except SpiffWorkflowException as exc:
        refusal = _business_refusal(exc)
        if refusal is None:
            raise
        raise refusal from None


def _business_refusal(exc: BaseException) -> ServiceError | None:
    """The ServiceError a whitelisted business operation raised under Spiff's wrapper, so a refusal (say, an
    approval whose login name was taken meanwhile) reaches the person as its message and status, not as a 500."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ServiceError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def waiting_timers(workflow: BpmnWorkflow) -> list[datetime]:
    """When the instance's waiting timer events fall due (UTC, earliest first); feeds ``flask workflow tick``."""
    due: list[datetime] = []
    for event in workflow.waiting_events():
        if event.event_type not in _TIMER_EVENTS or event.value is None:
            continue
        value = event.value["next"] if isinstance(event.value, dict) else event.value
        parsed = TimerEventDefinition.parse_time_or_duration(value) if isinstance(value, str) else None
        if isinstance(parsed, datetime):
            due.append(parsed)
    return sorted(due)


def tick(workflow: BpmnWorkflow) -> None:
    """Fire timers that are due and advance the engine (DESIGN §2 "Timers and messages")."""
    workflow.refresh_timers()
    workflow.do_engine_steps()


def is_completed(workflow: BpmnWorkflow) -> bool:
    return bool(workflow.is_completed())


def trail(workflow: BpmnWorkflow) -> list[TrailEntry]:
    """Completed user tasks across the instance and its subprocesses, in completion order."""
    entries: list[TrailEntry] = []
    for sub in _all_workflows(workflow):
        for task in sub.tasks.values():
            if task.state != TaskState.COMPLETED or not _is_user_task(task):
                continue
            spec = task.task_spec
            variable = form_variable(spec)
            submitted = task.data.get(variable, {}) if variable else task.data
            submitted = submitted if isinstance(submitted, dict) else {}
            index = task.internal_data.get("key_or_index")
            entries.append(TrailEntry(
                task_id=str(task.id),
                bpmn_id=str(spec.bpmn_id),
                name=str(spec.bpmn_name or spec.bpmn_id),
                post=task_properties(spec).get("post", ""),
                process_id=str(sub.spec.name),
                completed_at=float(task.last_state_change),
                decision=submitted.get("decision"),
                opinion=submitted.get("opinion"),
                form_data=deepcopy(submitted) if variable else {},
                instance_index=index if isinstance(index, int) else None,
            ))
    entries.sort(key=lambda entry: entry.completed_at)
    return entries
