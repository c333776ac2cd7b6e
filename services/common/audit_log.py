"""Appends to the audit trail. Every write a person makes calls record() in the same transaction."""

from __future__ import annotations

from app.extensions import db
from app.models import AuditLog, User


def record(
    actor: User | None,
    action: str,
    summary: str,
    target_type: str = "",
    target_id: object = "",
    detail: dict[str, object] | None = None,
    ip: str = "",
    unit_id: int | None = None,
) -> AuditLog:
    entry = AuditLog(
        actor_id=actor.id if actor else None,
        actor_name=actor.name if actor else "系统",
        unit_id=unit_id if unit_id is not None else (actor.unit_id if actor else None),
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        summary=summary[:300],
        detail=detail,
        ip=ip,
    )
    db.session.add(entry)
    return entry
