"""Moving running instances to a newer version of their process (FEATURES P4, P6; DESIGN §2).

Running instances keep the version they started on; moving one is an explicit administrator action with a
reason. Tasks are matched by BPMN id (``SpiffWorkflow.bpmn.util.diff``), which is why the editor keeps ids
stable. The safety check refuses a migration when a task the instance has already completed or is working in
(STARTED, e.g. a running call activity) changed in the new version; an administrator may force it with a
reason. A migration that cannot work at all — a task still in the instance's tree was removed, or a called
process no longer exists — is refused even when forced. Waiting and ready tasks are re-predicted from the
new version (so a waiting timer starts again); open inbox rows take the new names, forms and posts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from SpiffWorkflow.bpmn.util.diff import diff_workflow, migrate_workflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from app.extensions import db
from app.models import User
from app.models.workflow import HumanTask, ProcessDefinition, ProcessInstance
from services.authz import audit_chain
from services.common import audit_log
from services.common.errors import Conflict, InvalidInput
from services.workflow import console, definitions, instances, runner, state
from services.workflow import spec as specs
from services.workflow.scripting import build_script_engine

__all__ = ["MigrationCheck", "MigrationResult", "check_migration", "migrate_instance", "migrate_version"]

_DONE_OR_WORKING = TaskState.COMPLETED | TaskState.STARTED
MIGRATABLE = ("running", "suspended")


@dataclass(frozen=True)
class MigrationCheck:
    target: ProcessDefinition
    changed: list[str] = field(default_factory=list)  # completed/started tasks that changed: forcing allowed
    impossible: list[str] = field(default_factory=list)  # refused even when forced

    @property
    def safe(self) -> bool:
        return not self.changed and not self.impossible

    def messages(self) -> list[str]:
        return [*self.impossible, *self.changed]


@dataclass(frozen=True)
class MigrationResult:
    instance_id: int
    title: str
    ok: bool
    message: str


def _label(task: Any) -> str:
    spec = task.task_spec
    bpmn_id = getattr(spec, "bpmn_id", None) or spec.name
    name = getattr(spec, "bpmn_name", None)
    return f"{name}（{bpmn_id}）" if name else str(bpmn_id)


def _plan(workflow: Any, target: specs.ParsedProcess) -> tuple[Any, dict[Any, Any], list[str], list[str]]:
    top, subs = diff_workflow(specs.REGISTRY, workflow, target.spec, dict(target.subprocess_specs))
    changed: dict[str, None] = {}
    impossible: dict[str, None] = {}
    pairs = [(workflow, top)] + [(workflow.subprocesses[sp_id], diff) for sp_id, diff in subs.items()]
    for sub, diff in pairs:
        if diff is None:
            impossible[f"调用的流程 {sub.spec.name} 在新版本中不存在，无法迁移"] = None
            continue
        for task in diff.changed:
            if task.state & _DONE_OR_WORKING:
                verb = "已完成" if task.state == TaskState.COMPLETED else "正在进行"
                changed[f"{verb}的任务 {_label(task)} 在新版本中有改动"] = None
        for task in diff.removed:
            if task.state & (_DONE_OR_WORKING | TaskState.READY | TaskState.WAITING):
                impossible[f"实例已到达的任务 {_label(task)} 在新版本中被删除，无法迁移"] = None
    return top, subs, list(changed), list(impossible)


def _migrated(instance: ProcessInstance, target: ProcessDefinition) -> tuple[Any, MigrationCheck]:
    """The instance's workflow moved to `target` in memory, with the safety check; nothing is saved."""
    if target.process_id != instance.definition.process_id or target.version <= instance.definition.version:
        raise InvalidInput(f"只能迁移到本流程更新的版本（当前为第 {instance.definition.version} 版）")
    workflow = instances._load_workflow(instance)
    parsed = definitions.parsed(target)
    changed: list[str] = []
    try:
        top, subs, changed, impossible = _plan(workflow, parsed)
        if impossible:
            return None, MigrationCheck(target, changed, impossible)
        migrate_workflow(top, workflow, parsed.spec)
        for sp_id, sub in list(workflow.subprocesses.items()):
            migrate_workflow(subs[sp_id], sub, parsed.subprocess_specs[sub.spec.name])
        workflow.subprocess_specs = dict(parsed.subprocess_specs)
        # Every task left in the tree must name a spec of the new version, or the saved state cannot be loaded.
        state.load_state(state.dump_state(workflow), parsed, build_script_engine())
    except Exception as exc:  # any failure here is a refusal, never a half-migrated instance
        return None, MigrationCheck(target, changed, [f"该实例无法按新版本运行（{exc}），无法迁移"])
    return workflow, MigrationCheck(target, changed, [])


def check_migration(instance: ProcessInstance, target: ProcessDefinition) -> MigrationCheck:
    return _migrated(instance, target)[1]


def migrate_instance(actor: User, instance_id: int, target: ProcessDefinition, reason: str,
                     force: bool = False) -> MigrationCheck:
    """Move one instance to `target` after the safety check; raises Conflict with every reason when refused."""
    reason = console.require_reason(reason)
    instance = instances.lock_instance(instance_id)
    if instance.status not in MIGRATABLE:
        raise Conflict(f"实例状态为{console.STATUS_LABELS.get(instance.status, instance.status)}，不能迁移")
    source = instance.definition
    with instances.acting_as(actor):
        workflow, check = _migrated(instance, target)
        if workflow is None or (check.changed and not force):
            hint = "" if workflow is None else "；确需迁移请勾选强制迁移并写明原因"
            raise Conflict("迁移被拒绝：" + "；".join(check.messages()) + hint)
        try:
            workflow.do_engine_steps()
        except SpiffWorkflowException as exc:
            raise Conflict(f"迁移被拒绝：按新版本继续运行时出错（{exc}），实例未改动") from None
    instance.definition_id = target.id
    instance.definition = target
    forced = "（强制）" if check.changed else ""
    instances._event(instance, None, actor, "migrate",
                     f"第 {source.version} 版 → 第 {target.version} 版{forced}：{reason}")
    _refresh_open_rows(instance, workflow)
    instances._save(instance, workflow, {})
    audit_log.record(actor, "workflow.migrate",
                     f"迁移流程实例 {instance.id}：{source.process_id} 第 {source.version} 版 → 第 {target.version} 版"
                     f"{forced}", "process_instance", instance.id,
                     detail={"reason": reason, "forced": bool(check.changed), "changed": check.changed})
    return check


def migrate_version(actor: User, source: ProcessDefinition, target: ProcessDefinition, reason: str,
                    force: bool = False) -> list[MigrationResult]:
    """Migrate every running or suspended instance of `source`, each on its own; one result per instance."""
    reason = console.require_reason(reason)
    if target.process_id != source.process_id or target.version <= source.version:
        raise InvalidInput(f"只能迁移到本流程更新的版本（当前为第 {source.version} 版）", field="target")
    ids = list(db.session.scalars(select(ProcessInstance.id).where(
        ProcessInstance.definition_id == source.id, ProcessInstance.status.in_(MIGRATABLE))
        .order_by(ProcessInstance.id)))
    results = []
    for instance_id in ids:
        savepoint = db.session.begin_nested()
        try:
            migrate_instance(actor, instance_id, target, reason, force)
        except (Conflict, InvalidInput) as exc:
            savepoint.rollback()
            title = db.session.scalar(select(ProcessInstance.title).where(ProcessInstance.id == instance_id)) or ""
            results.append(MigrationResult(instance_id, title, False, exc.message))
            continue
        savepoint.commit()
        instance = db.session.get(ProcessInstance, instance_id)
        results.append(MigrationResult(instance_id, instance.title if instance else "", True,
                                       f"已迁移到第 {target.version} 版"))
    return results


def _refresh_open_rows(instance: ProcessInstance, workflow: Any) -> None:
    """Open inbox rows whose READY task survived the migration take the new name, form and post."""
    ready = {t.task_id: t for t in runner.ready_user_tasks(workflow)}
    for row in db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id,
                                                          HumanTask.status == "open")):
        task = ready.get(row.task_uuid)
        if task is None:
            continue  # instances._project cancels it
        post_changed = row.post != task.post
        row.bpmn_id, row.name, row.form_key, row.post = task.bpmn_id, task.name[:100], task.form_key, task.post
        if post_changed:
            who = audit_chain.assign_task(task.post, instance.business_type, task.data, instance.unit_id)
            row.unit_id, row.level_no = who.unit_id, who.level_no
            instances.assign_candidates([(row, who.user_ids)])
