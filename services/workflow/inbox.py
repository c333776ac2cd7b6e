"""待办事项: the staff's 待办 / 已办 lists, their counts, the task page and batch outcomes (FEATURES P2, B5, M1).

Rules (S 1.2.1 首页 待办事项; S 1.2.3.1 本单位人员审核; DESIGN §2 "Inbox projection"):
- 待办 are the open tasks the user is a candidate of; 已办 the tasks the user completed. Both lists are the
  user's own, so they need no unit scope beyond the candidate rows written by services.authz.audit_chain.
- Every query here reads the projection (human_task + candidates + trail) and never deserializes a workflow.
- Counts stop at COUNT_CAP per bucket: an exact count of a 33,000-task bucket costs milliseconds (DESIGN §6),
  and nobody acts on the difference between 1,000 and 1,400 (a badge says "1000+"; issue 20: at 1,000,000 open
  tasks the counts read a tenth of the index entries 10,000 made them read). A capped list still pages on:
  下一页 is there as long as rows follow.
- Business type names come from admin_config/audit_items.yaml (`business_types`), else the process's name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import lru_cache
from math import ceil
from typing import Any, Literal, TypedDict

from sqlalchemy import BindParameter, ColumnElement, Select, bindparam, case, func, null, or_, select, true

from app.extensions import db
from app.models import Unit, User
from app.models.workflow import (
    HumanTask,
    HumanTaskCandidate,
    ProcessDefinition,
    ProcessInstance,
    WorkflowEvent,
)
from services.authz import access, audit_chain
from services.common import config_cache
from services.common.errors import InvalidInput, NotFound, ServiceError
from services.workflow import forms, instances
from services.workflow.task_batch import Handled, handled_by

COUNT_CAP = 1_000
MAX_PER_PAGE = 100
BATCH_LIMIT = 100
BATCH_DECISIONS = ("pass", "return", "reject")
MAX_ID = 2**31 - 1  # the largest primary key an INTEGER column holds on PostgreSQL
Tab = Literal["todo", "done"]
TABS: tuple[Tab, ...] = ("todo", "done")


def count_label(count: int) -> str:
    """A capped count as shown to people: "1000+" past the cap."""
    return f"{COUNT_CAP}+" if count > COUNT_CAP else str(count)


def filter_types() -> dict[str, str]:
    """The 业务类型 the inbox filters and counts by: those of admin_config/audit_items.yaml. A process that is
    only ever called (unit_review) runs inside another's instance and is no business type of its own."""
    return audit_chain.business_type_names()


def business_type_names() -> dict[str, str]:
    """业务类型 → name for display: the process names (the newest version wins), overridden by the YAML mapping.
    Cached under the configuration generation (process_definition is configuration): no statement of its own on
    a page whose user loader brought the generation along (issue 20)."""
    names = dict(config_cache.cached("inbox.process_names", None, _process_names))
    names.update(audit_chain.business_type_names())
    return names


def _process_names() -> tuple[tuple[str, str], ...]:
    rows = db.session.execute(
        select(ProcessDefinition.process_id, ProcessDefinition.name).order_by(ProcessDefinition.version))
    return tuple((process_id, name) for process_id, name in rows)


# --- lists ----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class InboxFilters:
    business_type: str = ""
    keyword: str = ""  # matches the title or the applicant's name
    unit_id: int | None = None  # the business record's unit, with its subordinates
    created_from: date | None = None
    created_to: date | None = None  # inclusive


@dataclass(frozen=True)
class InboxItem:
    id: int
    instance_id: int
    title: str
    business_type: str
    business_id: int
    task_name: str
    level_no: int | None
    unit_name: str  # the business record's unit (申请单位)
    applicant_name: str
    created_at: datetime
    completed_at: datetime | None
    decision: str
    status: str
    batchable: bool  # its form has a 审核结果 (decision) field, so 批量通过 / 退回 / 不通过 apply
    mark: str | None = None  # its record's state as its area's mark column reads it (待办 only; see register_mark)

    @property
    def decision_label(self) -> str:
        return instances.ACTION_LABELS.get(self.decision, self.decision)


@dataclass(frozen=True)
class InboxPage:
    """One page of a list; the attributes macros.pager reads. `total` is capped (COUNT_CAP + 1 = more); `more`:
    rows follow this page (read as one row past it), so a list past the cap pages on without a count."""

    items: list[InboxItem]
    page: int
    per_page: int
    total: int
    more: bool = False

    @property
    def capped(self) -> bool:
        return self.total > COUNT_CAP

    @property
    def total_label(self) -> str:
        return count_label(self.total)

    @property
    def pages(self) -> int:
        """The number of pages; past the cap, as many as are known (this page, and the next when rows follow)."""
        counted = max(ceil(self.total / self.per_page), 1)
        return max(counted, self.page + self.more) if self.capped else counted

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.more

    @property
    def prev_num(self) -> int | None:
        return self.page - 1 if self.has_prev else None

    @property
    def next_num(self) -> int | None:
        return self.page + 1 if self.has_next else None

    def iter_pages(self, left_edge: int = 2, left_current: int = 2, right_current: int = 4,
                   right_edge: int = 2) -> Iterator[int | None]:
        """Page numbers with None for the gaps, as Flask-SQLAlchemy's Pagination does."""
        last = 0
        for number in range(1, self.pages + 1):
            if (number <= left_edge or self.page - left_current <= number <= self.page + right_current
                    or number > self.pages - right_edge):
                if last + 1 != number:
                    yield None
                yield number
                last = number


# A business area marks its rows in the 待办 list (申报: arrived again after a 退回) with a value read in the list's
# own statement: `column(HumanTask.business_id)` is a correlated scalar subquery, evaluated only for its type's
# rows of the page (a CASE over the registered types), so the marks cost no statement of their own.
MarkColumn = Callable[[Any], ColumnElement[Any]]  # HumanTask.business_id → a value per row
_MARK_COLUMNS: dict[str, MarkColumn] = {}


def register_mark(business_type: str, column: MarkColumn) -> None:
    _MARK_COLUMNS[business_type] = column


def _mark_column() -> ColumnElement[Any]:
    if not _MARK_COLUMNS:
        return null().label("mark")
    return case(*((HumanTask.business_type == business_type, column(HumanTask.business_id))
                  for business_type, column in _MARK_COLUMNS.items()), else_=None).label("mark")


def _todo_bucket(user: User) -> list[ColumnElement[bool]]:
    # The candidate rows carry the task's is_open, business_type and created_at, so the 待办 bucket, its type
    # filter, its order and its counts are ranges of ix_human_task_candidate_inbox(_type) (issue #3).
    return [HumanTaskCandidate.user_id == user.id, HumanTaskCandidate.is_open == true()]


def _done_bucket(user: User) -> list[ColumnElement[bool]]:
    return [HumanTask.completed_by_id == user.id]  # ix_human_task_done, in completed_at order


def _filtered(stmt: Select[Any], filters: InboxFilters, tab: Tab) -> Select[Any]:
    """The filters; 待办's type and date filters name the candidate's copies, so the index range serves them."""
    typed, created = ((HumanTaskCandidate.business_type, HumanTaskCandidate.created_at) if tab == "todo"
                      else (HumanTask.business_type, HumanTask.created_at))
    if filters.business_type:
        stmt = stmt.where(typed == filters.business_type)
    if filters.keyword:
        stmt = stmt.where(or_(HumanTask.title.contains(filters.keyword, autoescape=True),
                              HumanTask.applicant_name.contains(filters.keyword, autoescape=True)))
    if filters.unit_id is not None:
        unit = db.session.get(Unit, filters.unit_id)
        subtree = select(Unit.id).where(Unit.path.startswith(unit.path, autoescape=True)) if unit else None
        stmt = stmt.where(ProcessInstance.unit_id.in_(subtree) if subtree is not None else HumanTask.id.is_(None))
    if filters.created_from:
        stmt = stmt.where(created >= datetime.combine(filters.created_from, datetime.min.time()))
    if filters.created_to:
        # The whole last day, without computing the day after (which overflows at 9999-12-31).
        stmt = stmt.where(created <= datetime.combine(filters.created_to, time.max))
    return stmt


# The list's columns, read as plain rows (an InboxItem needs nothing of the ORM object).
_ROW_COLUMNS = (HumanTask.id, HumanTask.instance_id, HumanTask.title, HumanTask.business_type, HumanTask.business_id,
                HumanTask.name, HumanTask.level_no, HumanTask.applicant_name, HumanTask.created_at,
                HumanTask.completed_at, HumanTask.decision, HumanTask.status, HumanTask.form_key)


def inbox_page(user: User, tab: Tab, filters: InboxFilters, page: int = 1, per_page: int = 20,
               counts: TabCounts | None = None) -> InboxPage:
    """One page of 待办 (newest received first) or 已办 (newest handled first): two queries, any size.

    The page's keys come first: the bucket's index range in the list's order (joined to the task or the instance
    only when a filter names them), stopped after the page; only those rows are then joined to their task,
    instance and unit. Written so, the plan cannot join the whole bucket before it sorts: on PostgreSQL, with
    statistics that had not yet seen a burst of new tasks (15 rows estimated, 1,000 there), the one-query form
    was planned as join-all-then-sort, 4.2 ms instead of 0.2. The count reads the same keys without order, and
    is taken from `counts` (the tab badges of the same request) when the list is unfiltered. The rows are read
    as plain rows, not HumanTask objects (an item needs none of the ORM's work: 0.6–1.2 ms a page)."""
    page, per_page = max(page, 1), min(max(per_page, 1), MAX_PER_PAGE)
    needs_task = bool(filters.keyword) or filters.unit_id is not None
    if tab == "todo":
        keys: Select[Any] = select(HumanTaskCandidate.task_id.label("task_id"),
                                   HumanTaskCandidate.created_at.label("at")).where(*_todo_bucket(user))
        if needs_task:
            keys = keys.join(HumanTask, HumanTask.id == HumanTaskCandidate.task_id)
        order: tuple[ColumnElement[Any], ...] = (HumanTaskCandidate.created_at.desc(),
                                                 HumanTaskCandidate.task_id.desc())
        mark = _mark_column()
    else:
        keys = select(HumanTask.id.label("task_id"), HumanTask.completed_at.label("at")).where(*_done_bucket(user))
        order = (HumanTask.completed_at.desc(), HumanTask.id.desc())
        mark = null().label("mark")
    if filters.unit_id is not None:
        keys = keys.join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
    keys = _filtered(keys, filters, tab)
    page_keys = keys.order_by(*order).limit(per_page + 1).offset((page - 1) * per_page).subquery("page_keys")
    rows = db.session.execute(
        select(*_ROW_COLUMNS, Unit.name.label("unit_name"), mark).select_from(page_keys)
        .join(HumanTask, HumanTask.id == page_keys.c.task_id)
        .join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
        .outerjoin(Unit, Unit.id == ProcessInstance.unit_id)
        .order_by(page_keys.c.at.desc(), page_keys.c.task_id.desc())).all()
    more = len(rows) > per_page
    if counts is not None and filters == InboxFilters():
        total = counts["todo_total"] if tab == "todo" else counts["done_total"]
    else:
        total = db.session.scalar(_capped_count(keys)) or 0
    return InboxPage([_item(row._mapping) for row in rows[:per_page]], page, per_page, total, more)


def _capped_count(stmt: Select[Any]) -> Select[tuple[int]]:
    return select(func.count()).select_from(stmt.limit(COUNT_CAP + 1).subquery())


def _item(row: Any) -> InboxItem:
    return InboxItem(
        id=row["id"], instance_id=row["instance_id"], title=row["title"], business_type=row["business_type"],
        business_id=row["business_id"], task_name=row["name"], level_no=row["level_no"],
        unit_name=row["unit_name"] or "", applicant_name=row["applicant_name"], created_at=row["created_at"],
        completed_at=row["completed_at"], decision=row["decision"], status=row["status"],
        batchable=_has_decision(row["form_key"]), mark=row["mark"],
    )


def _has_decision(form_key: str) -> bool:
    try:
        return any(field.name == "decision" for field in forms.load_form(form_key).fields)
    except forms.FormDefinitionError:
        return False


class TabCounts(TypedDict):
    todo: dict[str, int]  # business type → open tasks (capped); types without tasks are left out
    todo_total: int
    done_total: int


def tab_counts(user: User) -> TabCounts:
    """待办 per business type, all 待办 and all 已办 — capped, in one round trip."""
    types = tuple(sorted(filter_types()))
    counts = list(db.session.execute(_tab_counts_statement(types), {"user_id": user.id}).one())
    return TabCounts(todo={t: n for t, n in zip(types, counts, strict=False) if n},
                     todo_total=counts[-2], done_total=counts[-1])


@lru_cache(maxsize=8)
def _tab_counts_statement(types: tuple[str, ...]) -> Select[Any]:
    """tab_counts' statement, built once (it runs on every page with the inbox badge).

    Each count reads at most COUNT_CAP + 1 entries of one index range (candidate per type, done). The total is
    COUNT_CAP + 1 as soon as one type's count is over the cap, without reading its range again; otherwise it is
    counted (a task's type need not be one of `types`). The per-type counts are a MATERIALIZED CTE so that the
    CASE reads them without running them twice, and its other branch runs only when taken (both databases
    evaluate an uncorrelated subquery when first needed)."""
    user_id: BindParameter[int] = bindparam("user_id")
    todo = select(HumanTaskCandidate.task_id).where(HumanTaskCandidate.user_id == user_id,
                                                    HumanTaskCandidate.is_open == true())

    def capped(stmt: Select[Any]) -> ColumnElement[int]:
        return _capped_count(stmt).scalar_subquery()

    per_type = [capped(todo.where(HumanTaskCandidate.business_type == t)).label(f"type_{n}")
                for n, t in enumerate(types)]
    done = capped(select(HumanTask.id).where(HumanTask.completed_by_id == user_id)).label("done")
    counts = select(*per_type, done).cte("inbox_counts").prefix_with("MATERIALIZED")
    type_columns = [counts.c[f"type_{n}"] for n in range(len(types))]
    total: ColumnElement[int] = capped(todo)
    if type_columns:
        total = case((or_(*(column > COUNT_CAP for column in type_columns)), COUNT_CAP + 1), else_=total)
    return select(*type_columns, total.label("todo_total"), counts.c.done)


def unit_filter_choices(user: User, limit: int = 300) -> list[tuple[int, str]]:
    """The 单位 filter offers the user's unit and its direct subordinates (each with its own subordinates).
    Units are configuration: cached under the configuration generation, like business_type_names."""

    def build() -> tuple[tuple[int, str], ...]:
        rows = db.session.execute(select(Unit.id, Unit.name).where(
            (Unit.id == user.unit_id) | (Unit.parent_id == user.unit_id)).order_by(Unit.depth, Unit.name)
            .limit(limit))
        return tuple((unit_id, name) for unit_id, name in rows)

    return list(config_cache.cached("inbox.unit_choices", (user.unit_id, limit), build))


# --- the task page --------------------------------------------------------------------------------------------

def conflict_message(task_id: int, exc: ServiceError) -> str:
    handled = handled_by(task_id)
    return f"{exc.message}：{handled.summary}" if handled else exc.message


@dataclass(frozen=True)
class TaskDetail:
    task: HumanTask
    instance: ProcessInstance
    unit: Unit | None  # the business record's unit
    business_type_name: str
    form: forms.FormDefinition
    can_act: bool  # open, and the user is one of its candidates
    trail: list[WorkflowEvent]
    handled: Handled | None


def open_task(actor: User, task_id: int) -> TaskDetail:
    """Everything the task page shows; 404 / 403 as services.workflow.instances.load_task_for decides."""
    return task_detail(actor, instances.load_task_for(actor, task_id))


def task_detail(actor: User, task: HumanTask) -> TaskDetail:
    """open_task for a task load_task_for has just given `actor`."""
    instance = task.instance
    return TaskDetail(
        task=task, instance=instance, unit=db.session.get(Unit, instance.unit_id) if instance.unit_id else None,
        business_type_name=business_type_names().get(task.business_type, task.business_type),
        form=forms.load_form(task.form_key),
        can_act=task.status == "open" and instances.is_candidate(task, actor),
        trail=instances.trail(instance.id), handled=handled_by(task.id) if task.status == "done" else None,
    )


# --- 查看经办流程 of an instance ------------------------------------------------------------------------------

def trail_instance_for(actor: User, instance_id: int) -> ProcessInstance:
    """The instance whose 查看经办流程 `actor` may read, else 404 (ids of others' business cannot be probed).

    Readers: platform administrators; whoever started the instance, is or was a candidate of one of its tasks,
    or completed one; and staff holding 待办事项 (inbox.view) in the instance's unit or a unit above it —
    逐级管理 (S 1.1.2): a superior follows its subordinates' business, never the other way round.
    """
    instance = db.session.get(ProcessInstance, instance_id)
    if instance is None:
        raise NotFound("流程实例不存在")
    if actor.is_platform_admin or instance.started_by_id == actor.id:
        return instance
    tasks = select(HumanTask.id).where(HumanTask.instance_id == instance.id)
    took_part = db.session.scalar(select(
        select(HumanTaskCandidate.task_id).where(HumanTaskCandidate.user_id == actor.id,
                                                 HumanTaskCandidate.task_id.in_(tasks)).exists()
        | select(HumanTask.id).where(HumanTask.instance_id == instance.id,
                                     HumanTask.completed_by_id == actor.id).exists()))
    if took_part:
        return instance
    unit = db.session.get(Unit, instance.unit_id) if instance.unit_id else None
    if unit is not None and access.has_permission(actor, "inbox.view") and unit.is_within(actor.unit):
        return instance
    raise NotFound("流程实例不存在")


# --- 批量通过 / 批量退回 / 批量不通过 (run as a job: services.workflow.inbox_batch) -----------------------------

# "未处理", not "拒绝": an item the batch could not complete is left as it was, it is no verdict on the business.
BATCH_LABELS = {"done": "完成", "taken": "已被他人处理", "refused": "未处理"}


@dataclass(frozen=True)
class BatchOutcome:
    task_id: int
    title: str
    status: Literal["done", "taken", "refused"]
    reason: str = ""
    openable: bool = False  # a refused item the actor may open and handle on its own page

    @property
    def label(self) -> str:
        return BATCH_LABELS[self.status]


def batch_task_ids(raw: list[str], field: str = "task_ids", noun: str = "待办", action: str = "批量办理") -> list[int]:
    """The selected ids of a batch page, in order, without repeats; refuses a malformed or oversized selection.
    The inbox selects tasks; other batch pages name their own field and records (申报 …)."""
    ids: list[int] = []
    for value in raw:
        # ASCII digits of an id the database can hold: "²" passes str.isdigit, and 10**20 overflows a driver.
        if not value.strip().isascii() or not value.strip().isdigit() or int(value) > MAX_ID:
            raise InvalidInput(f"{noun}选择有误，请刷新后重试", field=field)
        if int(value) not in ids:
            ids.append(int(value))
    if not ids:
        raise InvalidInput(f"请至少选择一条{noun}", field=field)
    if len(ids) > BATCH_LIMIT:
        raise InvalidInput(f"一次最多{action} {BATCH_LIMIT} 条{noun}", field=field)
    return ids


def batch_form_data(actor: User, task_id: int, decision: str, opinion: str) -> dict[str, str]:
    """The form data one task of a batch is completed with; only forms with a 审核结果 can be batched."""
    if decision not in BATCH_DECISIONS:
        raise InvalidInput("审核结果：选项无效", field="decision")
    task = instances.load_task_for(actor, task_id)
    if not _has_decision(task.form_key):
        raise InvalidInput(f"「{task.name}」不能批量办理，请打开后逐条办理")
    return {"decision": decision, "opinion": opinion}

