"""The issuer's queues as views over the open tasks of `certificate_issuance` (S 1.2.8.1.1–3; FEATURES I1–I3).

- 待处理 (初定「未发放」, 委托「未处理」): open 审核发证信息 tasks the person is a candidate of;
- 待发放 (初定「发放中」by 批次, 评审「待发放」/ 委托「待发证」by 文号): open 发放证书 tasks, with the batch list beside;
- 已发放: the unit's issued certificates.
Filters live in the query string; "all in this filter" takes the task ids the same query gives (capped).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import Certificate, HumanTask, HumanTaskCandidate, Issuance, IssuanceBatch, User
from services.certificates.issuance import BUSINESS_TYPE, ISSUE_TASK, REVIEW_TASK

TABS = {"pending": ("待处理", REVIEW_TASK), "waiting": ("待发放", ISSUE_TASK), "issued": ("已发放", None)}
MAX_SELECTION = 20000  # "all in this filter": one job handles at most this many tasks


@dataclass(frozen=True)
class QueueFilters:
    source: str = ""
    name: str = ""
    id_number: str = ""
    batch_id: int | None = None
    level_name: str = ""
    committee_name: str = ""


def _filtered(stmt: Select[Any], filters: QueueFilters) -> Select[Any]:
    if filters.source:
        stmt = stmt.where(Issuance.source == filters.source)
    if filters.name:
        stmt = stmt.where(Issuance.name.contains(filters.name))
    if filters.id_number:
        stmt = stmt.where(Issuance.id_number == filters.id_number.strip().upper())
    if filters.batch_id:
        stmt = stmt.where(Issuance.batch_id == filters.batch_id)
    if filters.level_name:
        stmt = stmt.where(Issuance.level_name == filters.level_name)
    if filters.committee_name:
        stmt = stmt.where(Issuance.committee_name.contains(filters.committee_name))
    return stmt


def task_rows(actor: User, tab: str, filters: QueueFilters) -> Select[Any]:
    """(HumanTask, Issuance) of the tab's open tasks that `actor` may complete, oldest first."""
    bpmn_id = TABS[tab][1]
    stmt = (select(HumanTask, Issuance)
            .join(HumanTaskCandidate, (HumanTaskCandidate.task_id == HumanTask.id)
                  & (HumanTaskCandidate.user_id == actor.id) & HumanTaskCandidate.is_open.is_(True))
            .join(Issuance, Issuance.id == HumanTask.business_id)
            .where(HumanTaskCandidate.business_type == BUSINESS_TYPE, HumanTask.status == "open",
                   HumanTask.bpmn_id == bpmn_id))
    return _filtered(stmt, filters).options(selectinload(Issuance.batch)).order_by(HumanTask.id)


def task_ids(actor: User, tab: str, filters: QueueFilters) -> list[int]:
    """Every task id of the filter ("全部按查询条件"), capped at MAX_SELECTION."""
    stmt = task_rows(actor, tab, filters).with_only_columns(HumanTask.id).limit(MAX_SELECTION)
    return list(db.session.scalars(stmt))


def issued_rows(actor: User, filters: QueueFilters) -> Select[Any]:
    stmt = (select(Certificate, Issuance).join(Issuance, Issuance.id == Certificate.issuance_id)
            .where(Certificate.issuer_unit_id == actor.unit_id, Certificate.status != "draft"))
    return _filtered(stmt, filters).order_by(Certificate.id.desc())


def tab_counts(actor: User, filters: QueueFilters) -> dict[str, int]:
    counts = {tab: int(db.session.scalar(select(func.count()).select_from(
        task_rows(actor, tab, QueueFilters(source=filters.source)).order_by(None).subquery())) or 0)
        for tab in ("pending", "waiting")}
    counts["issued"] = int(db.session.scalar(select(func.count()).select_from(
        issued_rows(actor, QueueFilters(source=filters.source)).order_by(None).subquery())) or 0)
    return counts


def batches(actor: User, source: str) -> list[tuple[IssuanceBatch, int]]:
    """The 批次 / 文号 list of 待发放 with how many wait in each (empty batches of 初定 too: 添加批次 targets)."""
    waiting = (select(Issuance.batch_id, func.count().label("n")).where(
        Issuance.issuer_unit_id == actor.unit_id, Issuance.status == "queued").group_by(Issuance.batch_id).subquery())
    stmt = (select(IssuanceBatch, func.coalesce(waiting.c.n, 0))
            .outerjoin(waiting, waiting.c.batch_id == IssuanceBatch.id)
            .where(IssuanceBatch.issuer_unit_id == actor.unit_id)
            .order_by(IssuanceBatch.id.desc()).limit(200))
    if source:
        stmt = stmt.where(IssuanceBatch.source == source)
    return [(batch, int(n)) for batch, n in db.session.execute(stmt)]
