"""The review list every single-unit review page shows (评委会备案审核, 评审活动发布审核, 职数审核 …).

Tabs 待审核 / 审核通过 / 审核不通过 / 审核退回 over one business type: 待审核 is the records the actor holds an open
review task on; the others are the records whose review task the actor's unit completed with that decision.
Everything is scoped to the units where the actor holds the review permission; nothing deserializes a workflow.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import Select, func, select

from app.extensions import db
from app.models import HumanTask, HumanTaskCandidate, User
from services.authz import access

REVIEW_TABS = {"todo": "待审核", "pass": "审核通过", "reject": "审核不通过", "return": "审核退回"}


def reviewed_ids(actor: User, business_type: str, tab: str, permission: str) -> Select[Any]:
    """The business ids of `business_type` on the actor's `tab`, as a subquery to filter the records by."""
    tasks = select(HumanTask.business_id).where(HumanTask.business_type == business_type)
    if tab == "todo":
        mine = select(HumanTaskCandidate.task_id).where(HumanTaskCandidate.user_id == actor.id)
        tasks = tasks.where(HumanTask.status == "open", HumanTask.post == "unit_reviewer", HumanTask.id.in_(mine))
    else:
        tasks = tasks.where(HumanTask.status == "done", HumanTask.decision == tab)
    return access.scope_to_units(tasks, HumanTask.unit_id, actor, permission)


def tab_counts(query_for: Callable[[str], Select[Any]], tabs: Iterable[str] = REVIEW_TABS) -> dict[str, int]:
    """The number of records on each tab, from the list's own query for that tab."""
    counts = {}
    for tab in tabs:
        stmt = query_for(tab).order_by(None)
        counts[tab] = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    return counts
