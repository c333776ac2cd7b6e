"""多岗审核配置 page operations (manual S 1.2.9.1.2; FEATURES B1).

services/authz/audit_chain.py owns the levels and who reviews at each; this module adds what the page needs around
it: the staff a level may name, and keeping open review tasks in step with a changed configuration (tasks
already waiting in the unit's inbox get the new level's staff as candidates at once).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.models import AuditLevel, Unit, User
from services.authz import access, audit_chain
from services.common.errors import InvalidInput
from services.workflow import instances


@dataclass(frozen=True)
class ItemConfiguration:
    item: audit_chain.AuditItem
    levels: list[AuditLevel]
    default_reviewers: list[User]  # who reviews in one level while nothing is configured


def item_or_400(item_type: str) -> audit_chain.AuditItem:
    item = audit_chain.audit_items().get(item_type)
    if item is None:
        raise InvalidInput("审核事项类型：无效", field="item_type")
    return item


def selectable_staff(actor: User, unit: Unit) -> list[User]:
    """The enabled staff of the unit, the only people a level may name."""
    access.require_permission(actor, "audit.config", unit)
    return list(db.session.scalars(
        select(User).where(User.unit_id == unit.id, User.enabled.is_(True)).order_by(User.name, User.id)))


def configuration(actor: User, unit: Unit, item_type: str) -> ItemConfiguration:
    access.require_permission(actor, "audit.config", unit)
    item = item_or_400(item_type)
    levels = audit_chain.configured_levels(unit.id, item.code)
    fallback: list[User] = []
    if not levels:
        ids = audit_chain.candidate_user_ids(unit.id, item.code, 1)
        fallback = list(db.session.scalars(select(User).where(User.id.in_(ids)).order_by(User.name))) if ids else []
    return ItemConfiguration(item, levels, fallback)


def save_configuration(actor: User, unit: Unit, item_type: str, levels: list[dict[str, Any]]) -> int:
    """Replace the levels and re-resolve the candidates of open tasks; returns how many tasks were updated."""
    item = item_or_400(item_type)
    audit_chain.save_levels(actor, unit, item.code, levels)
    return instances.refresh_candidates(unit.id)


def clear_configuration(actor: User, unit: Unit, item_type: str) -> int:
    """Back to one level reviewed by every holder of the item's permission."""
    return save_configuration(actor, unit, item_type, [])
