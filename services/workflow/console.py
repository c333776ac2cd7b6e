"""The instance console for platform administrators (FEATURES P6): find instances, see where each stands, steer.

Where an instance stands is read from its own state on the version it runs on: every element of the top-level
diagram is marked completed, active (READY or STARTED — a call activity whose subprocess is running) or
waiting (timers and other events). Actions take a required reason, lock the instance row and are written to
the instance trail (workflow_event) and the audit log in the same transaction: 挂起 stops task completion and
timers; 恢复 lets them go on; 终止 ends the instance for good and cancels its open tasks so they leave inboxes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import Select, select

from app.extensions import db
from app.models import Unit, User
from app.models.workflow import HumanTask, ProcessDefinition, ProcessInstance
from services.common import audit_log
from services.common.errors import Conflict, InvalidInput
from services.workflow import instances

__all__ = [
    "STATUS_LABELS", "InstanceFilters", "InstancePosition", "WaitingTimer", "instance_position",
    "require_reason", "resume_instance", "search_instances", "suspend_instance", "terminate_instance",
]

STATUS_LABELS = {"running": "运行中", "suspended": "已挂起", "completed": "已完成", "terminated": "已终止"}
REASON_MAX = 500


@dataclass(frozen=True)
class InstanceFilters:
    process_id: str = ""
    version: int | None = None
    status: str = ""
    business_key: str = ""  # "类型:编号", a number (business id) or words of the title
    unit: str = ""  # unit name, or part of it
    date_from: date | None = None
    date_to: date | None = None


@dataclass(frozen=True)
class WaitingTimer:
    element_id: str
    name: str
    due: str  # as SpiffWorkflow stores it (ISO date-time, or a cycle's next time)


@dataclass(frozen=True)
class InstancePosition:
    completed: list[str]
    active: list[str]
    waiting: list[str]
    timers: list[WaitingTimer]


def require_reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("请填写操作原因", field="reason")
    if len(reason) > REASON_MAX:
        raise InvalidInput(f"操作原因不能超过 {REASON_MAX} 个字", field="reason")
    return reason


def search_instances(filters: InstanceFilters) -> Select[tuple[ProcessInstance]]:
    """Instances matching the console's filters, newest first (the caller pages)."""
    stmt = select(ProcessInstance).join(ProcessDefinition, ProcessInstance.definition_id == ProcessDefinition.id)
    if filters.process_id:
        stmt = stmt.where(ProcessDefinition.process_id == filters.process_id)
    if filters.version:
        stmt = stmt.where(ProcessDefinition.version == filters.version)
    if filters.status:
        stmt = stmt.where(ProcessInstance.status == filters.status)
    key = filters.business_key.strip()
    if key:
        kind, _, number = key.partition(":")
        if number.strip().isdigit():
            stmt = stmt.where(ProcessInstance.business_type == kind.strip(),
                              ProcessInstance.business_id == int(number))
        elif key.isdigit():
            stmt = stmt.where((ProcessInstance.business_id == int(key)) | (ProcessInstance.id == int(key)))
        else:
            stmt = stmt.where(ProcessInstance.title.contains(key, autoescape=True))
    if filters.unit.strip():
        units = select(Unit.id).where(Unit.name.contains(filters.unit.strip(), autoescape=True))
        stmt = stmt.where(ProcessInstance.unit_id.in_(units))
    if filters.date_from:
        stmt = stmt.where(ProcessInstance.created_at >= datetime.combine(filters.date_from, time.min))
    if filters.date_to:
        stmt = stmt.where(ProcessInstance.created_at < datetime.combine(filters.date_to + timedelta(days=1), time.min))
    return stmt.order_by(ProcessInstance.id.desc())


def instance_position(instance: ProcessInstance) -> InstancePosition:
    """Which elements of the instance's top-level diagram are done, active and waiting, and its timers."""
    workflow = instances._load_workflow(instance)
    marks: dict[str, str] = {}
    rank = {"completed": 1, "waiting": 2, "active": 3}  # a looped element shows its liveliest state
    timers: list[WaitingTimer] = []
    for task in workflow.get_tasks(skip_subprocesses=True):
        spec = task.task_spec
        element_id = getattr(spec, "bpmn_id", None)
        if not element_id:
            continue
        if task.state == TaskState.COMPLETED:
            mark = "completed"
        elif task.state & (TaskState.READY | TaskState.STARTED):
            mark = "active"
        elif task.state == TaskState.WAITING:
            mark = "waiting"
            timer = _timer_of(task)
            if timer is not None:
                timers.append(timer)
        else:
            continue
        if rank[mark] > rank.get(marks.get(element_id, ""), 0):
            marks[element_id] = mark
    if instance.status in ("completed", "terminated"):
        marks = {k: v for k, v in marks.items() if v == "completed"}
        timers = []
    return InstancePosition(
        completed=sorted(k for k, v in marks.items() if v == "completed"),
        active=sorted(k for k, v in marks.items() if v == "active"),
        waiting=sorted(k for k, v in marks.items() if v == "waiting"),
        timers=timers,
    )


def _timer_of(task: Any) -> WaitingTimer | None:
    definition = getattr(task.task_spec, "event_definition", None)
    if not isinstance(definition, TimerEventDefinition):
        return None
    value = task.internal_data.get("event_value")
    due = value.get("next", "") if isinstance(value, dict) else str(value or "")
    return WaitingTimer(str(task.task_spec.bpmn_id), str(task.task_spec.bpmn_name or task.task_spec.bpmn_id), due)


def _act(actor: User, instance_id: int, action: str, reason: str, allowed: tuple[str, ...]) -> ProcessInstance:
    reason = require_reason(reason)
    instance = instances.lock_instance(instance_id)
    if instance.status not in allowed:
        label = instances.ACTION_LABELS[action]
        raise Conflict(f"实例当前{STATUS_LABELS.get(instance.status, instance.status)}，不能{label}")
    instances._event(instance, None, actor, action, reason)
    audit_log.record(actor, f"workflow.{action}",
                     f"{instances.ACTION_LABELS[action]}流程实例 {instance.id}（{instance.title}）",
                     "process_instance", instance.id, detail={"reason": reason, "from": instance.status})
    return instance


def suspend_instance(actor: User, instance_id: int, reason: str) -> ProcessInstance:
    """挂起: open tasks stay in inboxes but refuse completion; timers wait (tick only fires running instances)."""
    instance = _act(actor, instance_id, "suspend", reason, ("running",))
    instance.status = "suspended"
    db.session.flush()
    return instance


def resume_instance(actor: User, instance_id: int, reason: str) -> ProcessInstance:
    instance = _act(actor, instance_id, "resume", reason, ("suspended",))
    instance.status = "running"
    db.session.flush()
    return instance


def terminate_instance(actor: User, instance_id: int, reason: str) -> ProcessInstance:
    """终止: the instance ends without finishing; its open tasks are cancelled and its timers dropped."""
    instance = _act(actor, instance_id, "terminate", reason, ("running", "suspended"))
    instance.status = "terminated"
    instance.next_timer_at = None
    for task in db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id,
                                                           HumanTask.status == "open")):
        task.status = "cancelled"
    db.session.flush()
    return instance
