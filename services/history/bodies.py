"""历史评审机构管理 (manual S 1.2.8.2.4; FEATURES J6).

Rules owned here:
- A 人社部门 (unit type hr) with history.bodies maintains the bodies of its territory: name (unique), the series
  and levels it may collect (at least one series and one level), and the designated collecting units, which must
  be active units of its subtree.
- A body whose titles were collected is not deleted: it is disabled (停用) and no longer accepted by the checks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import exists, select

from app.extensions import db
from app.models import (
    HistoricalBody,
    HistoricalBodyCollector,
    HistoryRecord,
    TitleLevel,
    TitleSeries,
    Unit,
    User,
)
from services.authz import access
from services.common import audit_log
from services.common.errors import Conflict, InvalidInput, NotFound

PERMISSION = "history.bodies"


def visible(actor: User) -> Any:
    """The bodies of the actor's unit (the statement, for paging)."""
    return select(HistoricalBody).where(HistoricalBody.unit_id == actor.unit_id).order_by(HistoricalBody.name)


def load(actor: User, body_id: int) -> HistoricalBody:
    body = db.session.get(HistoricalBody, body_id)
    if body is None or body.unit_id != actor.unit_id:
        raise NotFound("历史评审机构不存在")
    return body


def _clean(actor: User, data: Mapping[str, Any], body: HistoricalBody | None) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    name = str(data.get("name") or "").strip()
    series = [str(s) for s in data.get("series_codes") or []]
    levels = [str(s) for s in data.get("level_codes") or []]
    collector_ids = sorted({int(u) for u in data.get("collector_ids") or [] if str(u).isdigit()})
    if not name or len(name) > 100:
        errors["name"] = ["评审机构名称：必填，不超过 100 个字"]
    elif db.session.scalar(select(exists().where(HistoricalBody.name == name,
                                                 HistoricalBody.id != (body.id if body else -1)))):
        errors["name"] = [f"评审机构名称：「{name}」已存在"]
    known_series = set(db.session.scalars(select(TitleSeries.code).where(TitleSeries.code.in_(series))))
    if not series or known_series != set(series):
        errors["series_codes"] = ["可采集系列：至少选择一个有效的系列"]
    known_levels = set(db.session.scalars(select(TitleLevel.code).where(TitleLevel.code.in_(levels))))
    if not levels or known_levels != set(levels):
        errors["level_codes"] = ["可采集层级：至少选择一个有效的层级"]
    units = list(db.session.scalars(select(Unit).where(Unit.id.in_(collector_ids))))
    if not collector_ids:
        errors["collector_ids"] = ["采集单位：至少指定一个采集单位"]
    elif len(units) != len(collector_ids) or any(u.status != "active" or not u.is_within(actor.unit) for u in units):
        errors["collector_ids"] = ["采集单位：只能指定本单位及下级单位中的正常单位"]
    if errors:
        raise InvalidInput(next(iter(errors.values()))[0], errors=errors)
    return {"name": name, "series_codes": series, "level_codes": levels, "collector_ids": collector_ids}


def _require(actor: User) -> None:
    if actor.unit.unit_type_code != "hr" or not access.has_permission(actor, PERMISSION, actor.unit):
        raise NotFound("无权维护历史评审机构")


def save(actor: User, data: Mapping[str, Any], body: HistoricalBody | None = None) -> HistoricalBody:
    """新增 or 编辑 a body with its designated collecting units."""
    _require(actor)
    values = _clean(actor, data, body)
    if body is None:
        body = HistoricalBody(unit_id=actor.unit_id, created_by_id=actor.id, enabled=True)
        db.session.add(body)
    body.name, body.series_codes, body.level_codes = values["name"], values["series_codes"], values["level_codes"]
    body.collectors = [HistoricalBodyCollector(unit_id=u) for u in values["collector_ids"]]
    db.session.flush()
    audit_log.record(actor, "history.body", f"保存历史评审机构「{body.name}」", "historical_body", body.id)
    return body


def set_enabled(actor: User, body: HistoricalBody, enabled: bool) -> None:
    _require(actor)
    body.enabled = enabled
    audit_log.record(actor, "history.body", f"{'启用' if enabled else '停用'}历史评审机构「{body.name}」",
                     "historical_body", body.id)


def remove(actor: User, body: HistoricalBody) -> None:
    """删除 a body nothing was collected under; otherwise 停用 it."""
    _require(actor)
    if db.session.scalar(select(exists().where(HistoryRecord.review_body == body.name))):
        raise Conflict(f"「{body.name}」已有采集的证书数据，不能删除，可以停用")
    audit_log.record(actor, "history.body", f"删除历史评审机构「{body.name}」", "historical_body", body.id)
    db.session.delete(body)


def choices() -> tuple[Sequence[TitleSeries], Sequence[TitleLevel]]:
    return (list(db.session.scalars(select(TitleSeries).where(TitleSeries.enabled.is_(True))
                                    .order_by(TitleSeries.sort_order))),
            list(db.session.scalars(select(TitleLevel).order_by(TitleLevel.rank))))


def collector_choices(actor: User, limit: int = 1000) -> list[Unit]:
    """Active units of the actor's subtree that may be designated to collect (its own included)."""
    return list(db.session.scalars(select(Unit).where(Unit.path.startswith(actor.unit.path), Unit.status == "active")
                                   .order_by(Unit.depth, Unit.name).limit(limit)))
