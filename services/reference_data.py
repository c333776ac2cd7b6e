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
from services import access


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


def _load_series(series_list: list[dict[str, Any]], report: LoadReport) -> None:
    for order, item in enumerate(series_list):
        series = db.session.get(TitleSeries, item["code"])
        if series is None:
            series = TitleSeries(code=item["code"], name=item["name"], category=item.get("category", "其他"),
                                 sort_order=order)
            db.session.add(series)
            report.count("title_series", inserted=True)
        db.session.flush()
        titles = {t.name: t for t in db.session.scalars(select(Title).where(Title.series_code == series.code))}
        for t_order, t in enumerate(item.get("titles", [])):
            if t["name"] not in titles:
                title = Title(series_code=series.code, level_code=t["level"], name=t["name"],
                              line=t.get("line", ""), sort_order=t_order)
                db.session.add(title)
                titles[title.name] = title
                report.count("title", inserted=True)
        db.session.flush()
        for h in item.get("historical", []) or []:
            if h["name"] in titles:
                continue
            current = titles[h["maps_to"]]
            old = Title(series_code=series.code, level_code=current.level_code, name=h["name"],
                        line=current.line, valid_to=_as_date(h.get("valid_to")), current_id=current.id,
                        sort_order=1000 + len(titles))
            db.session.add(old)
            titles[old.name] = old
            report.count("title", inserted=True)


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
