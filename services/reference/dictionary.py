"""The title dictionary: 职称专业管理 and 职称树管理 (Hunan guide H 1.1, 1.2; FEATURES N1, N2).

Rules owned here:
- A series (职称系列) is keyed by a stable code; its 系列名称 is unique and its 统计类别 is one of the
  statistics categories (RULES "Reference data"). Series are disabled, never deleted: applications and
  certificates keep pointing at them.
- A title name is unique within its series; 有效期起 is not after 有效期止.
- A historical name (历史名称, printed on old certificates) maps to a current title of the same series and the
  same level, never to itself or to another historical name, so that every old name resolves in one step
  (RULES "Keep the dictionary data-driven with validity dates").
- Specialty codes are unique across all series; a specialty name is unique among its siblings.
- Disabling a specialty disables its whole subtree; a specialty is enabled only under an enabled parent.
Only the platform administrator (dict.manage, platform scope) writes here; every write is audited.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import lazyload

from app.extensions import db
from app.models import Specialty, Title, TitleLevel, TitleSeries, User
from services.authz import access
from services.common import audit_log
from services.common.errors import Conflict, InvalidInput, NotFound
from services.common.excel.export import write_table

PERMISSION = "dict.manage"
STAT_CATEGORIES = ("工程技术人员", "农业技术人员", "科学研究人员", "卫生技术人员", "教学人员", "其他")


@dataclass(frozen=True)
class SeriesRow:
    series: TitleSeries
    title_count: int
    historical_count: int


@dataclass(frozen=True)
class LevelGroup:
    level: TitleLevel
    titles: list[Title]


@dataclass(frozen=True)
class TreeRow:
    node: Specialty
    depth: int
    path: str


# ---------------------------------------------------------------- series (H 1.2)


def list_series(keyword: str = "") -> list[SeriesRow]:
    """Series with their counts of current and historical titles, in the configured order."""
    stmt = (
        select(
            TitleSeries,
            func.count(Title.id).filter(Title.current_id.is_(None)),
            func.count(Title.id).filter(Title.current_id.is_not(None)),
        )
        .outerjoin(Title, Title.series_code == TitleSeries.code)
        .options(lazyload(TitleSeries.titles))
        .group_by(TitleSeries.code)
        .order_by(TitleSeries.sort_order, TitleSeries.code)
    )
    if keyword:
        stmt = stmt.where(or_(TitleSeries.name.contains(keyword, autoescape=True),
                              TitleSeries.code.contains(keyword, autoescape=True)))
    return [SeriesRow(series, current, historical) for series, current, historical in db.session.execute(stmt)]


def load_series(code: str) -> TitleSeries:
    series = db.session.get(TitleSeries, code) if code else None
    if series is None:
        raise NotFound("职称系列不存在")
    return series


def first_series() -> TitleSeries | None:
    return db.session.scalar(select(TitleSeries).order_by(TitleSeries.sort_order, TitleSeries.code).limit(1))


def _check_series_name(name: str, series: TitleSeries | None = None) -> None:
    clash = db.session.scalar(
        select(TitleSeries.code).where(TitleSeries.name == name, TitleSeries.code != (series.code if series else ""))
    )
    if clash is not None:
        raise Conflict(f"系列名称：「{name}」已存在", field="name")


def create_series(actor: User, data: dict[str, Any]) -> TitleSeries:
    """新增职称系列; `data` holds code, name and category, their shape already checked."""
    access.require_permission(actor, PERMISSION)
    if db.session.get(TitleSeries, data["code"]) is not None:
        raise Conflict(f"系列编码：{data['code']} 已被使用", field="code")
    _check_series_name(data["name"])
    _check_category(data["category"])
    last = db.session.scalar(select(func.max(TitleSeries.sort_order))) or 0
    series = TitleSeries(code=data["code"], name=data["name"], category=data["category"], enabled=True,
                         sort_order=last + 1)
    db.session.add(series)
    db.session.flush()
    audit_log.record(actor, "dict.series.create", f"新增职称系列「{series.name}」", "title_series", series.code,
                     detail={"category": series.category})
    return series


def update_series(actor: User, series: TitleSeries, data: dict[str, Any]) -> TitleSeries:
    """The code is kept: titles, specialties, applications and certificates refer to it."""
    access.require_permission(actor, PERMISSION)
    _check_series_name(data["name"], series)
    _check_category(data["category"])
    before = {"name": series.name, "category": series.category}
    series.name = data["name"]
    series.category = data["category"]
    db.session.flush()
    audit_log.record(actor, "dict.series.update", f"修改职称系列「{series.name}」", "title_series", series.code,
                     detail={"before": before})
    return series


def _check_category(category: str) -> None:
    if category not in STAT_CATEGORIES:
        raise InvalidInput("统计类别：请选择有效的统计类别", field="category")


def set_series_enabled(actor: User, series: TitleSeries, enabled: bool) -> None:
    access.require_permission(actor, PERMISSION)
    series.enabled = enabled
    db.session.flush()
    verb = "启用" if enabled else "停用"
    audit_log.record(actor, f"dict.series.{'enable' if enabled else 'disable'}", f"{verb}职称系列「{series.name}」",
                     "title_series", series.code)


# ---------------------------------------------------------------- titles (H 1.2)


def title_levels() -> list[TitleLevel]:
    return list(db.session.scalars(select(TitleLevel).order_by(TitleLevel.rank)))


def titles_by_level(series: TitleSeries) -> list[LevelGroup]:
    """Every level from 正高级 down to 员级, each with its current titles first, then its historical names."""
    titles = db.session.scalars(
        select(Title).where(Title.series_code == series.code).order_by(Title.sort_order, Title.id)
    ).all()
    groups = []
    for level in title_levels():
        here = [t for t in titles if t.level_code == level.code]
        groups.append(LevelGroup(level, sorted(here, key=lambda t: t.is_historical)))
    return groups


def current_titles(series: TitleSeries, exclude: Title | None = None) -> list[Title]:
    """The titles a historical name may map to (the form's choices; the level is checked on save)."""
    stmt = (
        select(Title)
        .join(TitleLevel)
        .where(Title.series_code == series.code, Title.current_id.is_(None), Title.id != (exclude.id if exclude else -1))
        .order_by(TitleLevel.rank, Title.sort_order, Title.id)
    )
    return list(db.session.scalars(stmt))


def load_title(series: TitleSeries, title_id: int) -> Title:
    title = db.session.get(Title, title_id)
    if title is None or title.series_code != series.code:
        raise NotFound("职称不存在")
    return title


def _mapped_names(title: Title) -> list[str]:
    return list(db.session.scalars(select(Title.name).where(Title.current_id == title.id).order_by(Title.id)))


def _check_title(series: TitleSeries, title: Title | None, data: dict[str, Any]) -> TitleLevel:
    level = db.session.get(TitleLevel, data["level_code"])
    if level is None:
        raise InvalidInput("职称级别：请选择有效的级别", field="level_code")
    valid_from: date | None = data.get("valid_from")
    valid_to: date | None = data.get("valid_to")
    if valid_from and valid_to and valid_from > valid_to:
        raise InvalidInput("有效期止：不能早于有效期起", field="valid_to")
    clash = db.session.scalar(select(Title.id).where(
        Title.series_code == series.code, Title.name == data["name"], Title.id != (title.id if title else -1)
    ))
    if clash is not None:
        raise Conflict(f"职称名称：本系列已有「{data['name']}」", field="name")
    mapped = _mapped_names(title) if title else []
    if title is not None and mapped and level.code != title.level_code:
        raise InvalidInput(f"职称级别：历史名称「{'、'.join(mapped)}」对应本职称，须先调整它们再改级别",
                           field="level_code")
    if data.get("current_id") is not None:
        _check_mapping(series, title, level, data["current_id"], mapped)
    return level


def _check_mapping(series: TitleSeries, title: Title | None, level: TitleLevel, current_id: int,
                   mapped: list[str]) -> None:
    # One step from any old name to today's title: no chains, no cycles (RULES "Reference data").
    if title is not None and current_id == title.id:
        raise InvalidInput("对应现职称：不能对应自身", field="current_id")
    if mapped:
        raise InvalidInput(f"对应现职称：历史名称「{'、'.join(mapped)}」对应本职称，本职称不能再设为历史名称",
                           field="current_id")
    target = db.session.get(Title, current_id)
    if target is None or target.series_code != series.code:
        raise InvalidInput("对应现职称：须为本系列的职称", field="current_id")
    if target.is_historical:
        raise InvalidInput(f"对应现职称：「{target.name}」本身是历史名称，须选择现行职称", field="current_id")
    if target.level_code != level.code:
        raise InvalidInput(
            f"对应现职称：「{target.name}」为{target.level.name}，须与本职称级别（{level.name}）相同",
            field="current_id",
        )


def save_title(actor: User, series: TitleSeries, title: Title | None, data: dict[str, Any]) -> Title:
    """新增 / 修改职称 (H 1.2.3): name, level, 专业线, validity and, for a historical name, 对应现职称."""
    access.require_permission(actor, PERMISSION)
    level = _check_title(series, title, data)
    created = title is None
    if title is None:
        last = db.session.scalar(select(func.max(Title.sort_order)).where(Title.series_code == series.code)) or 0
        title = Title(series_code=series.code, sort_order=last + 1)
        db.session.add(title)
    before = {} if created else _title_snapshot(title)
    title.name = data["name"]
    title.level_code = level.code
    title.line = data.get("line") or ""
    title.valid_from = data.get("valid_from")
    title.valid_to = data.get("valid_to")
    title.current_id = data.get("current_id")
    db.session.flush()
    audit_log.record(
        actor, "dict.title.create" if created else "dict.title.update",
        f"{'新增' if created else '修改'}职称「{series.name} · {title.name}」", "title", title.id,
        detail={"before": before, "after": _title_snapshot(title)},
    )
    return title


def _title_snapshot(title: Title) -> dict[str, object]:
    return {
        "name": title.name, "level": title.level_code, "line": title.line, "current_id": title.current_id,
        "valid_from": title.valid_from.isoformat() if title.valid_from else None,
        "valid_to": title.valid_to.isoformat() if title.valid_to else None,
    }


# ---------------------------------------------------------------- specialties (H 1.1)


def load_specialty(specialty_id: int, series: TitleSeries | None = None) -> Specialty:
    node = db.session.get(Specialty, specialty_id)
    if node is None or (series is not None and node.series_code != series.code):
        raise NotFound("职称专业不存在")
    return node


def _series_nodes(series_code: str) -> list[Specialty]:
    return list(db.session.scalars(
        select(Specialty).where(Specialty.series_code == series_code).order_by(Specialty.sort_order, Specialty.id)
    ))


def _children_map(nodes: list[Specialty]) -> dict[int | None, list[Specialty]]:
    children: dict[int | None, list[Specialty]] = {}
    for node in nodes:
        children.setdefault(node.parent_id, []).append(node)
    return children


def specialty_tree(series: TitleSeries) -> list[TreeRow]:
    """The series' specialties depth first, each with its depth and its path of names."""
    children = _children_map(_series_nodes(series.code))

    def walk(parent_id: int | None, depth: int, prefix: str) -> Iterator[TreeRow]:
        for node in children.get(parent_id, []):
            path = f"{prefix} / {node.name}" if prefix else node.name
            yield TreeRow(node, depth, path)
            yield from walk(node.id, depth + 1, path)

    return list(walk(None, 0, ""))


def _descendants(node: Specialty) -> list[Specialty]:
    children = _children_map(_series_nodes(node.series_code))
    found: list[Specialty] = []
    frontier = [node.id]
    while frontier:
        level = [child for parent_id in frontier for child in children.get(parent_id, [])]
        found.extend(level)
        frontier = [child.id for child in level]
    return found


def _check_sibling_name(series_code: str, parent_id: int | None, name: str, node: Specialty | None = None) -> None:
    clash = db.session.scalar(select(Specialty.id).where(
        Specialty.series_code == series_code,
        Specialty.parent_id.is_(None) if parent_id is None else Specialty.parent_id == parent_id,
        Specialty.name == name,
        Specialty.id != (node.id if node else -1),
    ))
    if clash is not None:
        raise Conflict(f"专业名称：同一上级下已有「{name}」", field="name")


def create_specialty(actor: User, series: TitleSeries, parent: Specialty | None, data: dict[str, Any]) -> Specialty:
    """新增专业 at the root of the series or under `parent` (H 1.1.3 选择要新增的上级节点)."""
    access.require_permission(actor, PERMISSION)
    if parent is not None and parent.series_code != series.code:
        raise NotFound("上级专业不存在")
    clash = db.session.scalar(select(Specialty).where(func.upper(Specialty.code) == data["code"].upper()))
    if clash is not None:
        raise Conflict(f"专业编码：{data['code']} 已被「{clash.name}」使用", field="code")
    parent_id = parent.id if parent else None
    _check_sibling_name(series.code, parent_id, data["name"])
    last = db.session.scalar(select(func.max(Specialty.sort_order)).where(
        Specialty.series_code == series.code,
        Specialty.parent_id.is_(None) if parent_id is None else Specialty.parent_id == parent_id,
    ))
    # A specialty added under a disabled parent starts disabled, like the rest of that subtree.
    node = Specialty(code=data["code"], name=data["name"], series_code=series.code, parent_id=parent_id,
                     enabled=parent.enabled if parent else True, sort_order=(last or 0) + 1)
    db.session.add(node)
    db.session.flush()
    audit_log.record(actor, "dict.specialty.create", f"新增职称专业「{series.name} · {node.name}」（{node.code}）",
                     "specialty", node.id, detail={"parent_id": parent_id})
    return node


def rename_specialty(actor: User, node: Specialty, name: str) -> Specialty:
    """The code stays: it is the stable key of imports and of past applications (specialties.yaml)."""
    access.require_permission(actor, PERMISSION)
    _check_sibling_name(node.series_code, node.parent_id, name, node)
    before = node.name
    node.name = name
    db.session.flush()
    audit_log.record(actor, "dict.specialty.update", f"修改职称专业「{before}」为「{name}」", "specialty", node.id,
                     detail={"before": before})
    return node


def set_specialty_enabled(actor: User, node: Specialty, enabled: bool) -> list[Specialty]:
    """Disable a node with its subtree, or enable the node alone; returns every node changed."""
    access.require_permission(actor, PERMISSION)
    if enabled and node.parent is not None and not node.parent.enabled:
        raise InvalidInput(f"启用专业：上级专业「{node.parent.name}」已停用，请先启用上级专业")
    changed = [node] if enabled else [node, *_descendants(node)]
    changed = [n for n in changed if n.enabled != enabled]
    for n in changed:
        n.enabled = enabled
    db.session.flush()
    verb = "启用" if enabled else "停用"
    audit_log.record(actor, f"dict.specialty.{'enable' if enabled else 'disable'}",
                     f"{verb}职称专业「{node.name}」" + (f"及其 {len(changed) - 1} 个下级专业" if len(changed) > 1 else ""),
                     "specialty", node.id, detail={"codes": [n.code for n in changed]})
    return changed


def export_specialty_tree(actor: User, series: TitleSeries) -> bytes:
    """The series' specialty tree as an xlsx sheet, one row per node in tree order; the export is audited."""
    access.require_permission(actor, PERMISSION)
    rows = specialty_tree(series)
    codes = {row.node.id: row.node.code for row in rows}
    content = write_table(
        re.sub(r"[\[\]:*?/\\]", "", f"{series.name}职称专业"),  # characters Excel refuses in sheet names
        ["层级", "专业编码", "专业名称", "上级专业编码", "专业路径", "状态"],
        ([row.depth + 1, row.node.code, row.node.name, codes.get(row.node.parent_id or 0, ""), row.path,
          "启用" if row.node.enabled else "停用"] for row in rows),
    )
    audit_log.record(actor, "dict.specialty.export", f"导出职称专业「{series.name}」（{len(rows)} 条）",
                     "title_series", series.code)
    return content
