"""职称申报转换评委会 (Hunan guide H 1.27; FEATURES B9): move declarations to another committee.

Rules owned here:
- A 人社部门 holding application.transfer moves declarations of its subtree's applicants that are still on their
  way up the review path (审核中 below the committee, or 已退回) — a declaration already at the committee, accepted or
  ended stays where it is (the committee returns it first).
- The new committee is filed (已备案), of the declaration's series, reviews its level, and has a published review
  activity of the same year that opens that level; the applicant has no other declaration in that activity.
- The declaration takes the new committee and activity; its path's last step becomes the new committee (the units
  below keep their decisions). Each move is recorded on the declaration's trail and in the audit log with the reason.
- 下放转换评委会 moves the ticked declarations; 按查询条件转换 moves every declaration the query finds (all pages):
  both run per declaration with these checks, refused ones reported with the reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import ActivityLevel, Committee, Declaration, ReviewActivity, User
from services.authz import access
from services.common import audit_log
from services.common.errors import Conflict, InvalidInput, NotFound, ServiceError

PERMISSION = "application.transfer"
MOVABLE = ("reviewing", "returned")


@dataclass
class Outcome:
    declaration_id: int
    name: str
    moved: bool
    reason: str = ""


def target_committees(keyword: str, limit: int = 20) -> list[Committee]:
    """新评委会 search: filed committees whose name contains the keyword."""
    if not keyword.strip():
        return []
    return list(db.session.scalars(select(Committee).where(
        Committee.status == "filed", Committee.name.contains(keyword.strip()[:50], autoescape=True))
        .order_by(Committee.name).limit(limit)))


def _activity_for(committee: Committee, declaration: Declaration) -> ReviewActivity:
    activity = db.session.scalar(select(ReviewActivity).join(ActivityLevel).where(
        ReviewActivity.committee_id == committee.id, ReviewActivity.status == "published",
        ReviewActivity.year == declaration.year, ActivityLevel.level_code == declaration.level_code)
        .order_by(ReviewActivity.id.desc()).limit(1))
    if activity is None:
        raise Conflict(f"新评委会没有 {declaration.year} 年度开设该层级的已发布评审活动")
    return activity


def _move(actor: User, declaration: Declaration, committee: Committee, reason: str) -> None:
    if not declaration.unit or not access.has_permission(actor, PERMISSION, declaration.unit):
        raise NotFound("申报不存在或不在本单位管辖范围内")
    if declaration.committee_id == committee.id:
        raise Conflict("已是该评委会")
    if declaration.status not in MOVABLE or declaration.at_committee:
        raise Conflict("只有尚在审核路径上（未到评委会）的申报可以转换评委会")
    if committee.status != "filed":
        raise Conflict("新评委会未备案或已失效")
    if committee.series_code != declaration.series_code:
        raise Conflict("新评委会的评审系列与申报系列不同")
    if declaration.level_code not in committee.level_codes:
        raise Conflict("新评委会不评审该层级")
    activity = _activity_for(committee, declaration)
    if db.session.scalar(select(Declaration.id).where(Declaration.applicant_id == declaration.applicant_id,
                                                      Declaration.activity_id == activity.id)):
        raise Conflict("申报人在新评委会的评审活动中已有申报")
    old = db.session.get(Committee, declaration.committee_id)
    declaration.committee_id, declaration.activity_id = committee.id, activity.id
    declaration.path = [*declaration.path[:-1], {**declaration.path[-1], "committee_id": committee.id,
                                                  "name": committee.name}]
    audit_log.record(actor, "declaration.transfer",
                     f"{declaration.applicant.name} 的申报由「{old.name if old else ''}」转换至「{committee.name}」：{reason}",
                     "declaration", declaration.id)


def transfer(actor: User, declaration_ids: Sequence[int], committee_id: int | None, reason: str) -> list[Outcome]:
    """转换评委会 per declaration (each with the same checks; one refused does not stop the others)."""
    if not access.has_permission(actor, PERMISSION, actor.unit) or actor.unit.unit_type_code != "hr":
        raise NotFound("无权转换评委会")
    committee = db.session.get(Committee, committee_id) if committee_id else None
    if committee is None:
        raise InvalidInput("新评委会：请先查询并选择新评委会", field="committee_id")
    reason = reason.strip()
    if not reason or len(reason) > 200:
        raise InvalidInput("转换原因：必填，不超过 200 个字", field="reason")
    if not declaration_ids:
        raise InvalidInput("请勾选要转换的申报人员", field="declaration_ids")
    outcomes: list[Outcome] = []
    for declaration_id in declaration_ids:
        declaration = db.session.get(Declaration, declaration_id)
        if declaration is None:
            continue
        savepoint = db.session.begin_nested()
        try:
            _move(actor, declaration, committee, reason)
            savepoint.commit()
            outcomes.append(Outcome(declaration.id, declaration.applicant.name, True))
        except ServiceError as exc:
            savepoint.rollback()
            outcomes.append(Outcome(declaration_id, declaration.applicant.name, False, exc.message))
    return outcomes


def movable_query(actor: User, committee_id: int | None, year: int | None, level_code: str) -> object:
    """按查询条件: declarations of the actor's subtree still on their path, by current committee, year and level."""
    from app.models import Unit

    stmt = select(Declaration).join(Unit, Unit.id == Declaration.unit_id).where(
        Unit.path.startswith(actor.unit.path), Declaration.status.in_(MOVABLE))
    if committee_id:
        stmt = stmt.where(Declaration.committee_id == committee_id)
    if year:
        stmt = stmt.where(Declaration.year == year)
    if level_code:
        stmt = stmt.where(Declaration.level_code == level_code)
    return stmt.order_by(Declaration.id).options(selectinload(Declaration.unit))
