"""Process instances: start, complete a user task, tick timers — each inside the caller's one transaction.

DESIGN §2 "Instances": the instance row is locked while a request works on it (SELECT … FOR UPDATE on
PostgreSQL; on SQLite the lock_version check of the UPDATE), a lost race answers 409, the inbox projection
(human_task + candidates) and the trail (workflow_event) are written in the same transaction as the state.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

import orjson
from sqlalchemy import (
    Row,
    bindparam,
    delete,
    exists,
    func,
    insert,
    inspect,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from app.extensions import db, loaded_from_row, transaction_memo
from app.models import Notification, Unit, User
from app.models.workflow import (
    HumanTask,
    HumanTaskCandidate,
    ProcessDefinition,
    ProcessInstance,
    WorkflowEvent,
)
from services import notifications
from services.authz import audit_chain
from services.common import config_cache
from services.common.errors import Conflict, Forbidden, NotFound
from services.workflow import definitions, forms, runner, state
from services.workflow import spec as specs
from services.workflow.scripting import build_script_engine

# The person whose action is running the engine, for whitelisted business functions that audit their writes.
current_actor: ContextVar[User | None] = ContextVar("current_actor", default=None)

ACTION_LABELS = {"pass": "审核通过", "return": "审核退回", "reject": "审核不通过", "submit": "提交",
                 "start": "发起", "completed": "流程结束", "suspend": "挂起", "resume": "恢复", "terminate": "终止",
                 "migrate": "迁移版本"}


# The hot path of completing a task writes through Core with these statements, built once: the ORM unit of work
# cost more than the engine step itself (issue #3). Every write keeps the ORM's meaning: the instance UPDATE
# checks lock_version (a lost race is 409), the task's candidate copies change with the task.
_PI = ProcessInstance.__table__
_PD = ProcessDefinition.__table__
_HT = HumanTask.__table__
_HTC = HumanTaskCandidate.__table__
_WE = WorkflowEvent.__table__
_LOCKED_COLUMNS = (_PI.c.id, _PI.c.definition_id, _PI.c.business_type, _PI.c.business_id, _PI.c.title,
                   _PI.c.unit_id, _PI.c.status, _PI.c.state, _PI.c.lock_version,
                   select(_PD.c.sha256).where(_PD.c.id == _PI.c.definition_id).scalar_subquery().label("sha256"),
                   config_cache.GENERATION_COLUMN)  # the cached configuration's check, without a round trip
# SQLite: the write lock and the read in one statement (see lock_instance); PostgreSQL: SELECT … FOR UPDATE.
_LOCK_SQLITE = (update(_PI).where(_PI.c.id == bindparam("instance_id")).values(lock_version=_PI.c.lock_version)
                .returning(*_LOCKED_COLUMNS))
_LOCK_FOR_UPDATE = select(*_LOCKED_COLUMNS).where(_PI.c.id == bindparam("instance_id")).with_for_update(of=_PI)
_SPEC_BLOB = select(_PD.c.spec_blob).where(_PD.c.id == bindparam("definition_id"))
_SAVE_INSTANCE = (update(_PI).where(_PI.c.id == bindparam("instance_id"), _PI.c.lock_version == bindparam("old_version"))
                  .values(state=bindparam("state"), lock_version=bindparam("new_version"),
                          next_timer_at=bindparam("next_timer_at"), status=bindparam("status")))
_TASK_DONE = (update(_HT).where(_HT.c.id == bindparam("task_id"), _HT.c.status == "open")
              .values(status="done", decision=bindparam("decision"), completed_by_id=bindparam("completed_by_id"),
                      completed_at=bindparam("completed_at")))
_CANDIDATES_CLOSED = update(_HTC).where(_HTC.c.task_id == bindparam("b_task_id")).values(is_open=False)
# The open rows and the newest row (whose business columns new rows carry), in one query.
_CARRIED = ("applicant_name", "series_code", "level_code", "committee_id", "activity_id")
_OPEN_ROWS = (select(_HT.c.id, _HT.c.task_uuid, _HT.c.status, *(_HT.c[name] for name in _CARRIED))
              .where(_HT.c.instance_id == bindparam("instance_id"),
                     or_(_HT.c.status == "open",
                         _HT.c.id == select(func.max(_HT.c.id)).where(_HT.c.instance_id == bindparam("instance_id"))
                         .scalar_subquery()))
              .order_by(_HT.c.id))
_NEW_TASK = insert(_HT).returning(_HT.c.id, sort_by_parameter_order=True)
_NEW_CANDIDATES = insert(_HTC)
_NEW_EVENT = insert(_WE)
_NOTIFICATION = Notification.__table__


def _columns(table: Any) -> str:
    return ", ".join(c.name for c in table.c if c.name != "id")


# PostgreSQL: a step's writes in one round trip (issue 20; on another machine every statement is one), as
# data-modifying CTEs whose rows come as one JSON array per table, expanded by json_populate_recordset into the
# table's own row type (its column types and lengths: a value too long is refused as by an INSERT). One short
# statement text with a dozen parameters for any number of events, new tasks and candidates: psycopg caches its
# conversion (it re-parses, each time, a statement over 4 KB or with more than 50 parameters: the statement of one
# typed array per column had 56, 450 µs per step in psycopg alone). The trail's rows keep their order (ids as
# given); the candidates and the notifications join the new tasks' RETURNING by task uuid.
_EVENT_COLUMNS, _TASK_COLUMNS, _NOTIFICATION_COLUMNS = _columns(_WE), _columns(_HT), _columns(_NOTIFICATION)
_NEW_ROWS = f"""trail AS (INSERT INTO workflow_event ({_EVENT_COLUMNS}) SELECT {_EVENT_COLUMNS}
    FROM json_populate_recordset(NULL::workflow_event, CAST(:events AS json))),
new_task AS (INSERT INTO human_task ({_TASK_COLUMNS}) SELECT {_TASK_COLUMNS}
    FROM json_populate_recordset(NULL::human_task, CAST(:tasks AS json))
    RETURNING id, task_uuid, business_type, created_at),
new_candidates AS (INSERT INTO human_task_candidate (task_id, user_id, is_open, business_type, created_at)
    SELECT new_task.id, offered.user_id, true, new_task.business_type, new_task.created_at
    FROM new_task JOIN json_to_recordset(CAST(:offered AS json)) AS offered (task_uuid VARCHAR, user_id INTEGER)
    ON offered.task_uuid = new_task.task_uuid),
new_notifications AS (INSERT INTO notification ({_NOTIFICATION_COLUMNS})
    SELECT {", ".join("new_task.id" if c.name == "target_id" else f"told.{c.name}"
                      for c in _NOTIFICATION.c if c.name != "id")}
    FROM json_array_elements(CAST(:told AS json)) AS told_row (doc)
    JOIN new_task ON new_task.task_uuid = told_row.doc ->> 'task_uuid'
    CROSS JOIN LATERAL json_populate_record(NULL::notification, told_row.doc) AS told)"""
_STEP_WRITES = text(f"""WITH task_done AS (UPDATE human_task SET status = 'done', decision = :decision,
    completed_by_id = :completed_by_id, completed_at = :completed_at
    WHERE id = :task_id AND status = 'open' RETURNING id),
candidates_closed AS (UPDATE human_task_candidate SET is_open = false WHERE task_id = :task_id),
saved AS (UPDATE process_instance SET state = :state, lock_version = :new_version, next_timer_at = :next_timer_at,
    status = :status, updated_at = now() WHERE id = :instance_id AND lock_version = :old_version RETURNING id),
{_NEW_ROWS}
SELECT (SELECT count(*) FROM task_done) AS tasks_done, (SELECT count(*) FROM saved) AS saved""")
_START_WRITES = text(f"WITH {_NEW_ROWS}\nSELECT 1")
# A task and whether the user is one of its candidates.
_IS_CANDIDATE = exists().where(_HTC.c.task_id == _HT.c.id, _HTC.c.user_id == bindparam("user_id")).label("is_candidate")
_TASK_TO_COMPLETE = select(_HT, _IS_CANDIDATE).where(_HT.c.id == bindparam("task_id"))
# lock_task: the task's instance row locked and read with the task in one round trip on PostgreSQL (the instance
# columns prefixed "pi_"); on SQLite the no-op UPDATE of _LOCK_SQLITE finds the instance through the task.
_LOCK_TASK_FOR_UPDATE = (select(_HT, _IS_CANDIDATE, *(c.label(f"pi_{c.name}") for c in _LOCKED_COLUMNS))
                         .join(_PI, _PI.c.id == _HT.c.instance_id).where(_HT.c.id == bindparam("task_id"))
                         .with_for_update(of=_PI))
_LOCK_SQLITE_BY_TASK = (update(_PI).where(_PI.c.id == select(_HT.c.instance_id).where(_HT.c.id == bindparam("task_id"))
                                          .scalar_subquery())
                        .values(lock_version=_PI.c.lock_version).returning(*_LOCKED_COLUMNS))


@dataclass(frozen=True)
class _Instance:
    """What the projection and the trail read of an instance (an ORM ProcessInstance has the same attributes)."""

    id: int
    business_type: str
    business_id: int
    title: str
    unit_id: int | None


def _expire_loaded(entity: type, ident: int) -> None:
    """An ORM copy of a row written through Core is reloaded on its next use."""
    loaded = db.session.identity_map.get(inspect(entity).identity_key_from_primary_key([ident]))
    if loaded is not None:
        db.session.expire(loaded)


@contextmanager
def acting_as(actor: User | None) -> Iterator[None]:
    token = current_actor.set(actor)
    try:
        yield
    finally:
        current_actor.reset(token)


def _load_workflow(instance: ProcessInstance) -> Any:
    return state.load_state(instance.state, definitions.parsed(instance.definition), build_script_engine())


def start_process(process_id: str, business_type: str, business_id: int, title: str, unit_id: int | None,
                  data: Mapping[str, Any], actor: User | None, columns: Mapping[str, Any] | None = None,
                  started_by: str = "") -> ProcessInstance:
    """Start the newest version of `process_id` for a business record and project its first tasks.
    `started_by`: the name the trail's first entry gives (an applicant, who has no staff account)."""
    # The newest version from the per-process cache (one generation read while no diagram was deployed).
    definition_id, sha256 = definitions.newest_version(process_id)
    with acting_as(actor):
        workflow = runner.start(definitions.parsed_version(definition_id, sha256), data, build_script_engine())
    timers = runner.waiting_timers(workflow)
    completed = runner.is_completed(workflow)
    # One INSERT with the state: the engine has run already.
    instance = ProcessInstance(definition_id=definition_id, business_type=business_type, business_id=business_id,
                               title=title[:200], unit_id=unit_id, state=state.dump_state(workflow),
                               started_by_id=actor.id if actor else None,
                               next_timer_at=timers[0].astimezone(UTC).replace(tzinfo=None) if timers else None,
                               status="completed" if completed else "running")
    db.session.add(instance)
    db.session.flush()
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        # The trail and the first tasks with their candidates and notifications: one statement (see _step_writes).
        events = [_event_row(instance, None, actor, "start", "", started_by)]
        if completed:
            events.append(_event_row(instance, None, None, "completed", ""))
        created = _projection(instance, workflow, columns or {}, set(), {}, connection)
        connection.execute(*_step_writes(None, events, None, created))
        return instance
    _event(instance, None, actor, "start", "", started_by)
    if completed:
        _event(instance, None, None, "completed", "")
    _project(instance, workflow, columns or {}, set(), {})  # a new instance has no rows yet
    return instance


def lock_instance(instance_id: int) -> ProcessInstance:
    if db.session.get_bind().dialect.name == "sqlite":
        # SQLite ignores FOR UPDATE, and a transaction that has read cannot become a writer once another writer
        # committed (SQLITE_BUSY at once, no busy_timeout): take the write lock here with a no-op UPDATE, so a
        # lost race fails now as OperationalError (→ 409 in complete_human_task), not at the final flush as a 500.
        db.session.execute(update(ProcessInstance).where(ProcessInstance.id == instance_id)
                           .values(lock_version=ProcessInstance.lock_version)
                           .execution_options(synchronize_session=False))
    instance = db.session.scalar(
        select(ProcessInstance).where(ProcessInstance.id == instance_id).with_for_update(of=ProcessInstance)
        .options(joinedload(ProcessInstance.definition, innerjoin=True))  # its spec is needed next
        .execution_options(populate_existing=True)
    )
    if instance is None:
        raise NotFound("流程实例不存在")
    return instance


def is_candidate(task: HumanTask, user: User) -> bool:
    return bool(db.session.scalar(select(exists().where(
        HumanTaskCandidate.task_id == task.id, HumanTaskCandidate.user_id == user.id))))


def load_task_for(actor: User, task_id: int) -> HumanTask:
    """A human task the actor may see: a candidate of it, or its completer; else 404 / 403."""
    task = db.session.get(HumanTask, task_id)
    if task is None:
        raise NotFound("待办不存在")
    if not (is_candidate(task, actor) or task.completed_by_id == actor.id or actor.is_platform_admin):
        raise Forbidden("您不是该待办的办理人")
    return task


def task_to_complete(actor: User, task_id: int) -> HumanTask:
    """The task `actor` would complete: 404 unknown, 403 not a candidate; its state is checked under the lock."""
    db.session.flush()  # as the ORM's autoflush would: the row shows what the caller changed
    row = db.session.connection().execute(_TASK_TO_COMPLETE, {"task_id": task_id, "user_id": actor.id}).first()
    if row is None:
        raise NotFound("待办不存在")
    if not row.is_candidate:
        raise Forbidden("您不是该待办的办理人，无权办理")
    return loaded_from_row(HumanTask, row._mapping)


@dataclass(frozen=True)
class _Locked:
    """The instance row as lock_task read it under the lock: what complete_checked_task needs of it."""

    id: int
    definition_id: int
    business_type: str
    business_id: int
    title: str
    unit_id: int | None
    status: str
    state: bytes
    lock_version: int
    sha256: str
    config_generation: int


def _fresh_task(row: Any) -> HumanTask:
    """The session's HumanTask for a row read under the lock: the one it holds, brought up to the row (as the
    refresh it replaces), or one built from the row."""
    mapping = row._mapping
    task = db.session.identity_map.get(inspect(HumanTask).identity_key_from_primary_key([mapping["id"]]))
    if task is None:
        return loaded_from_row(HumanTask, mapping)
    if task not in db.session.dirty:
        for column in _HT.c:
            set_committed_value(task, column.key, mapping[column.name])
    return task  # type: ignore[no-any-return]


def lock_task(actor: User, task_id: int) -> HumanTask:
    """task_to_complete with its instance locked for this transaction first, so that completing it needs no
    second read: one statement on PostgreSQL (SELECT … FOR UPDATE OF process_instance, with the task and the
    candidate check), two on SQLite (the no-op UPDATE that takes the write lock, then the task). 404 unknown,
    403 not a candidate, 409 when another writer holds the instance (SQLite)."""
    held = transaction_memo("locked_tasks").get(task_id)
    if held is not None and held[1] == actor.id:  # locked and checked for this actor already (the inbox's post)
        return held[0]  # type: ignore[no-any-return]
    db.session.flush()  # as the ORM's autoflush would: the rows show what the caller changed
    connection = db.session.connection()
    try:
        if connection.dialect.name == "sqlite":
            instance_row = connection.execute(_LOCK_SQLITE_BY_TASK, {"task_id": task_id}).first()
            row = connection.execute(_TASK_TO_COMPLETE, {"task_id": task_id, "user_id": actor.id}).first() \
                if instance_row is not None else None
            locked = _Locked(**instance_row._mapping) if instance_row is not None else None
        else:
            row = connection.execute(_LOCK_TASK_FOR_UPDATE, {"task_id": task_id, "user_id": actor.id}).first()
            locked = _Locked(**{c.name: row._mapping[f"pi_{c.name}"] for c in _LOCKED_COLUMNS}) if row else None
    except OperationalError as exc:  # SQLite: another writer holds the database
        raise Conflict("该待办正在被他人办理，请刷新后重试") from exc
    if row is None or locked is None:
        raise NotFound("待办不存在")
    if not row.is_candidate:
        raise Forbidden("您不是该待办的办理人，无权办理")
    task = _fresh_task(row)
    config_cache.remember(locked.config_generation)
    transaction_memo("locked_instances")[locked.id] = locked
    transaction_memo("locked_tasks")[task_id] = (task, actor.id)
    return task


def complete_human_task(actor: User, task_id: int, form_data: Mapping[str, Any],
                        columns: Mapping[str, Any] | None = None) -> HumanTask:
    """Validate the task's form, run the task, advance the engine, save, project, trail — or raise."""
    return complete_checked_task(actor, task_to_complete(actor, task_id), form_data, columns)


# An area whose review adds rules to the task's form (申报: 公示 and its attachments, B6 / F2) registers the
# operation that applies them; the task page and 批量办理 then complete its tasks through it, never around it.
TaskCompleter = Callable[[User, HumanTask, Mapping[str, Any]], HumanTask]
_COMPLETERS: dict[str, TaskCompleter] = {}


def register_completer(business_type: str, completer: TaskCompleter) -> None:
    """Complete `business_type`'s tasks posted through the inbox with `completer(actor, task, form_data)`: the
    area's single action, with every check it makes. The completer may fall back to complete_checked_task."""
    _COMPLETERS[business_type] = completer


def complete_posted_task(actor: User, task_id: int, form_data: Mapping[str, Any]) -> HumanTask:
    """A task completed from the inbox (its page or a batch): through its area's operation when one is
    registered, so a batch applies exactly the checks of the single action."""
    task = lock_task(actor, task_id)
    completer = _COMPLETERS.get(task.business_type)
    if completer is not None:
        return completer(actor, task, form_data)
    return complete_checked_task(actor, task, form_data)


def complete_checked_task(actor: User | None, task: HumanTask, form_data: Mapping[str, Any],
                          columns: Mapping[str, Any] | None = None, actor_name: str = "") -> HumanTask:
    """complete_human_task for a task that task_to_complete or lock_task has just given `actor` (candidacy
    checked once). After lock_task the instance is locked already and the task current: no statement here.
    `actor` None: a task of post `applicant`, done by `actor_name` (an applicant, a registering unit's handler)
    whose right to act the caller established; its trail row names no unit."""
    locked: _Locked | Row[Any] | None = transaction_memo("locked_instances").pop(task.instance_id, None)
    if locked is None:
        try:
            locked = _lock_row(task.instance_id)
            if db.session.connection().dialect.name != "sqlite":
                # SQLite needs no re-read: the lock above succeeds only when no writer committed since this
                # transaction's first read, so the task as read is current. PostgreSQL reads committed rows.
                db.session.refresh(task)
        except OperationalError as exc:  # SQLite: another writer holds the database
            raise Conflict("该待办正在被他人办理，请刷新后重试") from exc
    transaction_memo("locked_tasks").pop(task.id, None)  # its row changes now: a later lock_task reads it again
    if task.status != "open":
        raise Conflict("该待办已被处理，请刷新后查看")
    if locked.status == "suspended":
        raise Conflict("该流程已挂起，暂不能办理，请联系管理员")
    if locked.status != "running":
        raise Conflict("该流程已结束")
    data = forms.validate(forms.load_form(task.form_key), form_data)
    definition_id = locked.definition_id
    spec = specs.load_spec_cached(
        lambda: db.session.execute(_SPEC_BLOB, {"definition_id": definition_id}).scalar_one(), locked.sha256)
    workflow = state.load_state(locked.state, spec, build_script_engine())
    # The projection's open rows are the READY user tasks as saved (DESIGN §2): those before this step.
    open_before = runner.ready_task_ids(workflow)
    with acting_as(actor):
        runner.complete_task(workflow, task.task_uuid, data)
    decision = str(data.get("decision") or "submit")
    completed_at = datetime.now()
    db.session.flush()  # whatever the caller changed through the ORM is written before the Core statements
    connection = db.session.connection()
    actor_id = actor.id if actor is not None else None
    done = {"task_id": task.id, "decision": decision, "completed_by_id": actor_id, "completed_at": completed_at}
    instance = _Instance(locked.id, locked.business_type, locked.business_id, locked.title, locked.unit_id)
    decided = _event_row(instance, task, actor, decision, str(data.get("opinion") or data.get("note") or ""),
                         actor_name)
    timers = runner.waiting_timers(workflow)
    completed = runner.is_completed(workflow)
    save = {"instance_id": locked.id, "old_version": locked.lock_version, "new_version": locked.lock_version + 1,
            "state": state.dump_state(workflow), "status": "completed" if completed else locked.status,
            "next_timer_at": timers[0].astimezone(UTC).replace(tzinfo=None) if timers else None}
    carried = {k: getattr(task, k) for k in _CARRIED}
    open_before.discard(task.task_uuid)  # done here
    if connection.dialect.name == "postgresql":
        # One round trip for the step's writes (issue 20): the task done, its candidates closed, the trail, the
        # state and the new tasks with their candidates and notifications, as data-modifying CTEs of one
        # statement; the checks below read what it reports. The rows the step cancels (rare) go first, apart.
        created = _projection(instance, workflow, columns or {}, open_before, carried, connection)
        events = [decided, _event_row(instance, None, None, "completed", "")] if completed else [decided]
        statement, params = _step_writes(done, events, save, created)
        tasks_done, saved = connection.execute(statement, params).one()
        if tasks_done != 1:
            raise Conflict("该待办已被处理，请刷新后查看")
    else:
        if connection.execute(_TASK_DONE, done).rowcount != 1:
            raise Conflict("该待办已被处理，请刷新后查看")
        connection.execute(_CANDIDATES_CLOSED, {"b_task_id": task.id})  # the copies the ORM hook would keep
        connection.execute(_NEW_EVENT, decided)
        saved = connection.execute(_SAVE_INSTANCE, save).rowcount
    if saved != 1:
        raise Conflict("该流程已被他人同时办理，本次操作未保存，请刷新后重试")
    for name, value in (("status", "done"), ("decision", decision), ("completed_by_id", actor_id),
                        ("completed_at", completed_at)):
        set_committed_value(task, name, value)
    _expire_loaded(ProcessInstance, locked.id)
    if connection.dialect.name != "postgresql":
        if completed:
            _event(instance, None, None, "completed", "")
        _project(instance, workflow, columns or {}, open_before, carried)
    return task


def _json_rows(table: Any, rows: Iterable[Mapping[str, Any]]) -> str:
    """The rows as a JSON array for json_populate_recordset, each with its columns' Python-side scalar defaults
    filled in as the ORM's INSERT would (a column neither given nor defaulted is NULL, as before)."""
    defaults = _scalar_defaults(table)
    return orjson.dumps([{**defaults, **row} for row in rows]).decode()


@cache
def _scalar_defaults(table: Any) -> dict[str, Any]:
    return {c.name: c.default.arg for c in table.c
            if c.name != "id" and c.default is not None and c.default.is_scalar}


def _step_writes(done: Mapping[str, Any] | None, events: list[dict[str, Any]], save: Mapping[str, Any] | None,
                 created: list[tuple[dict[str, Any], list[int]]]) -> tuple[Any, dict[str, Any]]:
    """PostgreSQL: a step's writes as one statement (_STEP_WRITES, or _START_WRITES for a new instance) and its
    parameters: what _TASK_DONE, _CANDIDATES_CLOSED, _NEW_EVENT, _SAVE_INSTANCE and _write_new_tasks send one by
    one on SQLite. The candidates and notifications find their task's id by its uuid in the INSERT's RETURNING."""
    offers = [(row, user_id) for row, user_ids in created for user_id in dict.fromkeys(user_ids)]
    told = notifications.task_assigned_rows((user_id, None, row["title"], row["name"]) for row, user_id in offers)
    params: dict[str, Any] = {
        "events": _json_rows(_WE, events), "tasks": _json_rows(_HT, [row for row, _ in created]),
        "offered": orjson.dumps([{"task_uuid": row["task_uuid"], "user_id": user_id}
                                 for row, user_id in offers]).decode(),
        "told": _json_rows(_NOTIFICATION, ({**notice, "task_uuid": row["task_uuid"]}
                                           for notice, (row, _) in zip(told, offers, strict=True)))}
    if done is None or save is None:
        return _START_WRITES, params
    return _STEP_WRITES, {**params, **done, **save}


def _lock_row(instance_id: int) -> Row[Any]:
    """The instance's row locked for this transaction (see lock_instance), with its definition's sha256."""
    connection = db.session.connection()
    lock = _LOCK_SQLITE if connection.dialect.name == "sqlite" else _LOCK_FOR_UPDATE
    row = connection.execute(lock, {"instance_id": instance_id}).first()
    if row is None:
        raise NotFound("流程实例不存在")
    config_cache.remember(row.config_generation)
    return row


def _save(instance: ProcessInstance, workflow: Any, columns: Mapping[str, Any]) -> None:
    instance.state = state.dump_state(workflow)
    timers = runner.waiting_timers(workflow)
    instance.next_timer_at = timers[0].astimezone(UTC).replace(tzinfo=None) if timers else None
    completed = runner.is_completed(workflow)
    if completed:
        instance.status = "completed"
    try:
        db.session.flush()  # the instance and the caller's ORM writes (its trail events first)
    except StaleDataError as exc:
        raise Conflict("该流程已被他人同时办理，本次操作未保存，请刷新后重试") from exc
    if completed:
        _event(instance, None, None, "completed", "")
    _project(instance, workflow, columns)


def _project(instance: ProcessInstance | _Instance, workflow: Any, columns: Mapping[str, Any],
             open_before: set[str] | None = None, carried: Mapping[str, Any] | None = None) -> None:
    """Make human_task's open rows equal the READY user tasks of `workflow` (DESIGN §2 "Inbox projection").

    `open_before`: the uuids of the rows open now, when the caller knows them (the READY user tasks of the state
    it loaded, less the one it closed), with the business columns new rows carry; else both are read.
    Written through Core after the ORM's pending changes are flushed; human_task rows it changes that the
    session holds are expired, and their candidates' copies are updated here (the ORM hook does not see Core)."""
    db.session.flush()
    connection = db.session.connection()
    _write_new_tasks(connection, _projection(instance, workflow, columns, open_before, carried, connection))


def _projection(instance: ProcessInstance | _Instance, workflow: Any, columns: Mapping[str, Any],
                open_before: set[str] | None, carried: Mapping[str, Any] | None,
                connection: Connection) -> list[tuple[dict[str, Any], list[int]]]:
    """_project's reads, and its cancelling of rows no longer READY: the new rows to write, with their candidates."""
    ready = {t.task_id: t for t in runner.ready_user_tasks(workflow)}
    if open_before is None:
        rows = connection.execute(_OPEN_ROWS, {"instance_id": instance.id}).all()
        open_rows = {row.task_uuid: row.id for row in rows if row.status == "open"}
        previous = rows[-1] if rows else None
        carried = {k: getattr(previous, k) for k in _CARRIED} if previous else {}
        gone = [task_id for uuid, task_id in open_rows.items() if uuid not in ready]
    else:
        open_rows = dict.fromkeys(open_before, 0)
        gone_uuids = [uuid for uuid in open_before if uuid not in ready]
        gone = list(connection.execute(select(_HT.c.id).where(
            _HT.c.instance_id == instance.id, _HT.c.status == "open", _HT.c.task_uuid.in_(gone_uuids))).scalars()) \
            if gone_uuids else []
    carried = dict(carried or {})
    if gone:
        connection.execute(update(_HT).where(_HT.c.id.in_(gone)).values(status="cancelled"))
        connection.execute(update(_HTC).where(_HTC.c.task_id.in_(gone)).values(is_open=False))
        for task_id in gone:
            _expire_loaded(HumanTask, task_id)
    created: list[tuple[dict[str, Any], list[int]]] = []
    for uuid, ready_task in ready.items():
        if uuid in open_rows:
            continue
        who = audit_chain.assign_task(ready_task.post, instance.business_type, ready_task.data, instance.unit_id)
        created.append(({
            "instance_id": instance.id, "task_uuid": uuid, "bpmn_id": ready_task.bpmn_id, "name": ready_task.name,
            "form_key": ready_task.form_key, "post": ready_task.post, "status": "open",
            "business_type": instance.business_type, "business_id": instance.business_id, "title": instance.title,
            "unit_id": who.unit_id, "level_no": who.level_no, "created_at": datetime.now(), "due_at": None,
            "completed_at": None, "completed_by_id": None, **{**carried, **dict(columns)},
        }, who.user_ids))
    return created


def _write_new_tasks(connection: Connection, created: list[tuple[dict[str, Any], list[int]]]) -> None:
    """The new human_task rows, their candidates and the candidates' notifications, one statement each."""
    if not created:
        return
    # One INSERT for all new rows; their ids name the candidates, whose rows copy is_open, business_type and
    # created_at (see assign_candidates).
    ids = connection.execute(_NEW_TASK, [values for values, _ in created]).scalars().all()
    candidates = [{"task_id": task_id, "user_id": user_id, "is_open": True,
                   "business_type": values["business_type"], "created_at": values["created_at"]}
                  for task_id, (values, user_ids) in zip(ids, created, strict=True)
                  for user_id in dict.fromkeys(user_ids)]
    if candidates:
        connection.execute(_NEW_CANDIDATES, candidates)
        # K4: each candidate is told of the new 待办 (one INSERT of notifications, sent on later by beat).
        notifications.tasks_assigned((user_id, task_id, values["title"], values["name"])
                                     for task_id, (values, user_ids) in zip(ids, created, strict=True)
                                     for user_id in dict.fromkeys(user_ids))


def assign_candidates(assignments: Iterable[tuple[HumanTask, Iterable[int]]], replace: bool = True) -> None:
    """Make each task's candidates the given users, copying the task's 待办 bucket columns (is_open,
    business_type, created_at) that the inbox reads from the candidate rows alone; one executemany."""
    assignments = list(assignments)
    if replace:
        ids = [task.id for task, _ in assignments]
        for start in range(0, len(ids), 1000):  # SQLite bounds the number of parameters of one statement
            chunk = ids[start:start + 1000]
            db.session.execute(delete(HumanTaskCandidate).where(HumanTaskCandidate.task_id.in_(chunk)))
    rows = [{"task_id": task.id, "user_id": user_id, "is_open": task.status == "open",
             "business_type": task.business_type, "created_at": task.created_at}
            for task, user_ids in assignments for user_id in dict.fromkeys(user_ids)]
    if rows:
        db.session.execute(insert(HumanTaskCandidate), rows)


def _event(instance: ProcessInstance | _Instance, task: HumanTask | None, actor: User | None, action: str,
           opinion: str, actor_name: str = "") -> None:
    db.session.connection().execute(_NEW_EVENT, _event_row(instance, task, actor, action, opinion, actor_name))


def _event_row(instance: ProcessInstance | _Instance, task: HumanTask | None, actor: User | None, action: str,
               opinion: str, actor_name: str = "") -> dict[str, Any]:
    if task is not None:  # staff act for the task's unit; an applicant's step (no actor) acts for none
        unit = db.session.get(Unit, task.unit_id) if task.unit_id and actor is not None else None
    else:
        unit = actor.unit if actor else None
    return {
        "instance_id": instance.id, "human_task_id": task.id if task else None,
        "bpmn_id": task.bpmn_id if task else "", "task_name": task.name if task else "",
        "actor_id": actor.id if actor else None,
        "actor_name": actor_name[:30] or (actor.name if actor else "系统"),
        "unit_id": unit.id if unit else None, "unit_name": unit.name if unit else "", "action": action,
        "opinion": opinion[:2000], "at": datetime.now(),
    }


# Posts whose candidates are resolved from a unit's staff, roles and 多岗审核 levels (audit_chain.assign_task).
_STAFF_POSTS = ("unit_reviewer", "committee_reviewer", "unit_admin", "issuer")


def refresh_candidates(unit_id: int) -> int:
    """Re-resolve who is offered the unit's open tasks after its staff, their roles, the roles' grants or its
    多岗审核 levels changed: a new holder sees them in 待办, one whose permission was withdrawn can no longer act.
    One resolution per post, business type and level; only tasks whose candidates change are rewritten, and
    their number is returned."""
    audit_chain.forget_levels()
    tasks = list(db.session.scalars(select(HumanTask).where(
        HumanTask.unit_id == unit_id, HumanTask.status == "open", HumanTask.post.in_(_STAFF_POSTS))))
    current: dict[int, set[int]] = {task.id: set() for task in tasks}
    ids = list(current)
    for start in range(0, len(ids), 1000):  # SQLite bounds the number of parameters of one statement
        for task_id, user_id in db.session.execute(select(HumanTaskCandidate.task_id, HumanTaskCandidate.user_id)
                                                   .where(HumanTaskCandidate.task_id.in_(ids[start:start + 1000]))):
            current[task_id].add(user_id)
    resolved: dict[tuple[str, str, int | None], list[int]] = {}
    changed = []
    for task in tasks:
        key = (task.post, task.business_type, task.level_no)
        if key not in resolved:
            resolved[key] = audit_chain.assign_task(task.post, task.business_type,
                                                    {"reviewing_unit_id": unit_id, "level": task.level_no},
                                                    unit_id).user_ids
        if set(resolved[key]) != current[task.id]:
            changed.append((task, resolved[key]))
    assign_candidates(changed)
    return len(changed)


def trail(instance_id: int) -> list[WorkflowEvent]:
    """查看经办流程: every step of the instance with people, units, times and opinions."""
    return list(db.session.scalars(select(WorkflowEvent).where(WorkflowEvent.instance_id == instance_id)
                                   .order_by(WorkflowEvent.id)))


def open_task_for(business_type: str, business_id: int, post: str) -> HumanTask | None:
    """The record's open task of `post` (a correction waiting for the submitter, say), from the inbox projection."""
    return db.session.scalar(select(HumanTask).where(
        HumanTask.business_type == business_type, HumanTask.business_id == business_id,
        HumanTask.status == "open", HumanTask.post == post).limit(1))


def update_open_task_columns(business_type: str, business_id: int, columns: Mapping[str, Any]) -> None:
    """A business record's list columns changed (申报层级 …): its open tasks' copies follow."""
    unknown = set(columns) - set(_CARRIED)
    if unknown:
        raise ValueError(f"not a task list column: {sorted(unknown)}")
    db.session.flush()
    db.session.connection().execute(update(_HT).where(
        _HT.c.business_type == business_type, _HT.c.business_id == business_id, _HT.c.status == "open")
        .values(**columns))


def business_trail(business_type: str, business_id: int) -> list[WorkflowEvent]:
    """查看经办流程 of a business record: the trail of its newest instance (none before one has started)."""
    instance = instance_for(business_type, business_id)
    return trail(instance.id) if instance is not None else []


def open_tasks_of(actor: User, business_type: str, business_ids: list[int]) -> dict[int, tuple[int, str]]:
    """business id → (task id, task name) of the actor's open task on each record: one query for a list page."""
    mine = select(HumanTaskCandidate.task_id).where(HumanTaskCandidate.user_id == actor.id)
    rows = db.session.execute(select(HumanTask.business_id, HumanTask.id, HumanTask.name).where(
        HumanTask.business_type == business_type, HumanTask.status == "open", HumanTask.id.in_(mine),
        HumanTask.business_id.in_(business_ids)))
    return {business_id: (task_id, name) for business_id, task_id, name in rows}


def instance_for(business_type: str, business_id: int) -> ProcessInstance | None:
    return db.session.scalar(select(ProcessInstance).where(
        ProcessInstance.business_type == business_type, ProcessInstance.business_id == business_id)
        .order_by(ProcessInstance.id.desc()).limit(1))


def tick_due(now: datetime | None = None, limit: int = 200) -> int:
    """Fire due timers of running instances (`flask workflow tick`); each instance saved with its projection."""
    now = now or datetime.utcnow()
    due = list(db.session.scalars(select(ProcessInstance.id).where(
        ProcessInstance.status == "running", ProcessInstance.next_timer_at <= now).limit(limit)))
    for instance_id in due:
        instance = lock_instance(instance_id)
        workflow = _load_workflow(instance)
        runner.tick(workflow)
        _save(instance, workflow, {})
    return len(due)
