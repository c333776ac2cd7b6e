"""Loads admin_config/ (YAML) into the database, idempotently.

Code-defined facts (permission codes, unit types and their grants, natures, title levels) are synced on
every load. Data that administrators edit afterwards (regions, series, titles, specialties: H 1.1, 1.2) is
only inserted when missing, so a later load never undoes an administrator's edit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select

from app.extensions import db
from app.models import (
    Permission,
    Region,
    Specialty,
    Title,
    TitleLevel,
    TitleSeries,
    UnitNature,
    UnitType,
    UnitTypeGrant,
)
from services.authz import access


@dataclass
class LoadReport:
    inserted: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)

    def count(self, kind: str, inserted: bool) -> None:
        bucket = self.inserted if inserted else self.updated
        bucket[kind] = bucket.get(kind, 0) + 1

    def summary(self) -> str:
        parts = [f"{k} +{v}" for k, v in sorted(self.inserted.items())]
        parts += [f"{k} ~{v}" for k, v in sorted(self.updated.items())]
        return ", ".join(parts) or "无变化"


def _read(config_dir: Path, name: str) -> Any:
    return yaml.safe_load((config_dir / name).read_text(encoding="utf-8"))


def load_all(config_dir: Path) -> LoadReport:
    report = LoadReport()
    _load_permissions(report)
    _load_unit_types(_read(config_dir, "unit_types.yaml"), report)
    _load_regions(_read(config_dir, "regions.yaml"), report)
    titles = _read(config_dir, "titles.yaml")
    _load_levels(titles["levels"], report)
    _load_series(titles["series"], report)
    _load_specialties(_read(config_dir, "specialties.yaml"), report)
    db.session.flush()
    return report


def default_roles(config_dir: Path) -> list[dict[str, Any]]:
    roles: list[dict[str, Any]] = _read(config_dir, "roles.yaml")["default_roles"]
    return roles


def _sync(model: Any, key: dict[str, Any], values: dict[str, Any], kind: str, report: LoadReport) -> Any:
    row = db.session.get(model, tuple(key.values()) if len(key) > 1 else next(iter(key.values())))
    if row is None:
        row = model(**key, **values)
        db.session.add(row)
        report.count(kind, inserted=True)
        return row
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    if changed:
        report.count(kind, inserted=False)
    return row


def _load_permissions(report: LoadReport) -> None:
    access.registry.cache_clear()
    for order, perm in enumerate(access.registry().values()):
        _sync(
            Permission,
            {"code": perm.code},
            {"name": perm.name, "menu": perm.menu, "scope": perm.scope, "sort_order": order},
            "permission",
            report,
        )


def _load_unit_types(data: dict[str, Any], report: LoadReport) -> None:
    for order, item in enumerate(data["unit_types"]):
        _sync(
            UnitType,
            {"code": item["code"]},
            {"name": item["name"], "needs_legal_person": item["needs_legal_person"], "sort_order": order},
            "unit_type",
            report,
        )
    db.session.flush()
    wanted = {(t["code"], g) for t in data["unit_types"] for g in t["may_create"]}
    existing = {(g.grantor_code, g.grantee_code): g for g in db.session.scalars(select(UnitTypeGrant))}
    for pair in wanted - existing.keys():
        db.session.add(UnitTypeGrant(grantor_code=pair[0], grantee_code=pair[1]))
        report.count("unit_type_grant", inserted=True)
    for pair in existing.keys() - wanted:
        db.session.delete(existing[pair])
        report.count("unit_type_grant", inserted=False)
    for order, item in enumerate(data["natures"]):
        _sync(
            UnitNature,
            {"code": item["code"]},
            {"name": item["name"], "credit_code_prefixes": ",".join(item["credit_code_prefixes"]),
             "sort_order": order},
            "unit_nature",
            report,
        )


def _load_regions(nodes: list[dict[str, Any]], report: LoadReport) -> None:
    existing = {r.code: r for r in db.session.scalars(select(Region))}

    def walk(items: list[dict[str, Any]], parent: Region | None) -> None:
        for order, item in enumerate(items):
            region = existing.get(item["code"])
            if region is None:
                region = Region(code=item["code"], name=item["name"], level=item["level"],
                                parent=parent, sort_order=order)
                db.session.add(region)
                existing[region.code] = region
                report.count("region", inserted=True)
            walk(item.get("children", []), region)

    walk(nodes, None)


def _load_levels(levels: list[dict[str, Any]], report: LoadReport) -> None:
    for item in levels:
        _sync(TitleLevel, {"code": item["code"]},
              {"name": item["name"], "rank": item["rank"], "grade": item["grade"]}, "title_level", report)
    db.session.flush()


def _as_date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


# Historical names sort after the current titles, in their order in titles.yaml.
HISTORICAL_SORT_START = 1000

TitleSlot = tuple[str, str, int, bool]


def _slot(title: Title) -> TitleSlot:
    return (title.level_code, title.line, title.sort_order, title.current_id is not None)


def _load_series(series_list: list[dict[str, Any]], report: LoadReport) -> None:
    for order, item in enumerate(series_list):
        series = db.session.get(TitleSeries, item["code"])
        if series is None:
            series = TitleSeries(code=item["code"], name=item["name"], category=item.get("category", "其他"),
                                 sort_order=order)
            db.session.add(series)
            report.count("title_series", inserted=True)
        db.session.flush()
        existing = list(db.session.scalars(select(Title).where(Title.series_code == series.code)))
        titles = item.get("titles", [])
        configured = _match_titles(
            existing, [(t["name"], (t["level"], t.get("line", ""), i, False)) for i, t in enumerate(titles)]
        )
        current_titles: dict[str, Title] = {}
        for t_order, t in enumerate(titles):
            title = configured[t["name"]]
            if title is None:
                title = Title(series_code=series.code, level_code=t["level"], name=t["name"],
                              line=t.get("line", ""), sort_order=t_order)
                db.session.add(title)
                report.count("title", inserted=True)
            current_titles[t["name"]] = title
        db.session.flush()
        historical = item.get("historical", []) or []
        current_of = {h["name"]: current_titles[h["maps_to"]] for h in historical}
        known = _match_titles(existing, [
            (h["name"], (current_of[h["name"]].level_code, current_of[h["name"]].line, HISTORICAL_SORT_START + i, True))
            for i, h in enumerate(historical)
        ])
        for h_order, h in enumerate(historical):
            if known[h["name"]] is not None:
                continue
            current = current_of[h["name"]]
            old = Title(series_code=series.code, level_code=current.level_code, name=h["name"],
                        line=current.line, valid_to=_as_date(h.get("valid_to")), current_id=current.id,
                        sort_order=HISTORICAL_SORT_START + h_order)
            db.session.add(old)
            report.count("title", inserted=True)


def _match_titles(existing: list[Title], wanted: list[tuple[str, TitleSlot]]) -> dict[str, Title | None]:
    """The row standing for each configured title: the one with its name or, failing that, the one in its slot
    (level, 专业线, position in titles.yaml). An administrator may rename a title (H 1.2.3); the renamed row is
    still that title, so the configured name must not come back beside it."""
    by_name = {t.name: t for t in existing}
    found: dict[str, Title | None] = {name: by_name.get(name) for name, _ in wanted}
    claimed = {t.id for t in found.values() if t is not None}
    by_slot = {_slot(t): t for t in existing if t.id not in claimed}
    for name, slot in wanted:
        if found[name] is None:
            found[name] = by_slot.pop(slot, None)
    return found


def _load_specialties(data: dict[str, list[dict[str, Any]]], report: LoadReport) -> None:
    existing = {s.code: s for s in db.session.scalars(select(Specialty))}

    def walk(series_code: str, items: list[dict[str, Any]], parent: Specialty | None) -> None:
        for order, item in enumerate(items):
            node = existing.get(item["code"])
            if node is None:
                node = Specialty(code=item["code"], series_code=series_code, name=item["name"],
                                 parent=parent, sort_order=order)
                db.session.add(node)
                existing[node.code] = node
                report.count("specialty", inserted=True)
            walk(series_code, item.get("children", []) or [], node)

    for series_code, items in data.items():
        walk(series_code, items, None)
