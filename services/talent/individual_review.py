"""The review of an individual's record up their units, shared by 专技人才审核 and 职称确认审核.

Rules (S 1.2.13.1, 1.2.14):
- The path is the person's unit and then its superiors up to and including the nearest 人社部门 (the whole chain to
  the top when there is none), fixed at submission.
- 通过 moves the record to the next unit on the path; at the last unit it is approved (审核通过).
- 退回 sends it back to the individual with the reviewer's opinion (the reason is required by the review form);
  after correction it starts again at the first unit.
- 不通过 ends it: the record stays with status 不通过 and no operation deletes it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from app.extensions import db
from app.models import Unit
from services.authz import audit_chain
from services.common.errors import Conflict, InvalidInput


class ReviewedRecord(Protocol):
    id: int
    unit_id: int
    path: list[int]
    step: int
    current_unit_id: int | None
    status: str
    opinion: str
    decided_at: datetime | None


def review_path(unit: Unit) -> list[int]:
    """The unit, then its superiors up to the nearest 人社部门 (inclusive)."""
    path: list[int] = []
    current: Unit | None = unit
    while current is not None:
        if current.status == "active":
            path.append(current.id)
            if current.unit_type_code == "hr":
                break
        current = current.parent
    if not path:
        raise InvalidInput("工作单位：所在单位及其上级单位都不可用，无法提交审核", field="unit")
    return path


def start(record: ReviewedRecord, unit: Unit) -> None:
    record.path, record.step, record.status, record.opinion = review_path(unit), 0, "reviewing", ""
    record.current_unit_id, record.decided_at = record.path[0], None


def restart(record: ReviewedRecord) -> None:
    """After 退回: corrected, it starts again at the person's own unit."""
    if record.status != "returned":
        raise Conflict("只有已退回的记录可以修改后重新提交")
    record.status, record.step, record.current_unit_id = "reviewing", 0, record.path[0]


def route(record: ReviewedRecord, audit_item: str) -> dict[str, Any]:
    unit_id = record.path[record.step]
    record.current_unit_id = unit_id
    return {"unit_id": unit_id, "levels": audit_chain.review_levels(unit_id, audit_item)}


def passed(record: ReviewedRecord, opinion: str) -> str:
    """审核通过 at the current unit: "next" (up the path) or "done" (approved)."""
    record.opinion = str(opinion or "")[:500]
    if record.step + 1 < len(record.path):
        record.step += 1
        return "next"
    record.status, record.current_unit_id, record.decided_at = "approved", None, datetime.now()
    return "done"


def returned(record: ReviewedRecord, opinion: str) -> None:
    record.status, record.opinion, record.current_unit_id = "returned", str(opinion or "")[:500], None


def rejected(record: ReviewedRecord, opinion: str) -> None:
    record.status, record.opinion = "rejected", str(opinion or "")[:500]
    record.current_unit_id, record.decided_at = None, datetime.now()


def loaded(model: Any, record_id: int) -> Any:
    record = db.session.get(model, int(record_id))
    if record is None or record.status != "reviewing":
        raise Conflict(f"记录 {record_id} 不存在或不在审核中")
    return record
