"""services.reference.reference_data: loading admin_config/ is idempotent and never undoes an administrator's edit."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select

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
from services.reference import reference_data

CONFIG_DIR = Path(__file__).resolve().parents[2] / "admin_config"
TABLES = (Permission, UnitType, UnitTypeGrant, UnitNature, Region, TitleLevel, TitleSeries, Title, Specialty)


def row_counts() -> dict[str, int]:
    return {model.__name__: db.session.scalar(select(func.count()).select_from(model)) for model in TABLES}


def title(series_code: str, name: str) -> Title | None:
    return db.session.scalar(select(Title).where(Title.series_code == series_code, Title.name == name))


def test_second_load_inserts_and_changes_nothing(database):
    before = row_counts()

    report = reference_data.load_all(CONFIG_DIR)

    assert report.inserted == {}
    assert report.updated == {}
    assert report.summary() == "无变化"
    assert row_counts() == before


def test_the_loaded_data_matches_admin_config(database):
    titles = yaml.safe_load((CONFIG_DIR / "titles.yaml").read_text(encoding="utf-8"))
    unit_types = yaml.safe_load((CONFIG_DIR / "unit_types.yaml").read_text(encoding="utf-8"))

    assert {s.code for s in db.session.scalars(select(TitleSeries))} >= {s["code"] for s in titles["series"]}
    assert {(g.grantor_code, g.grantee_code) for g in db.session.scalars(select(UnitTypeGrant))} == {
        (t["code"], grantee) for t in unit_types["unit_types"] for grantee in t["may_create"]}
    assert title("higher_education_teacher", "教授").level_code == "senior_full"


@pytest.mark.parametrize(
    ("old", "current"),
    [("教授级高级工程师", "正高级工程师"), ("研究员级高级工程师", "正高级工程师")],
)
def test_historical_titles_point_at_todays_title(database, old, current):
    historical = title("engineering_technician", old)

    assert historical.current_id == title("engineering_technician", current).id
    assert historical.is_historical
    assert historical.valid_to is not None


def rename_title(name: str) -> Callable[[], tuple[Any, str]]:
    def edit() -> tuple[Any, str]:
        row = title("higher_education_teacher", name) or title("engineering_technician", name)
        row.name = f"{name}（改）"
        return row, "name"

    return edit


def rename_series() -> tuple[Any, str]:
    row = db.session.get(TitleSeries, "higher_education_teacher")
    row.name = "高校教师（改）"
    return row, "name"


def rename_specialty() -> tuple[Any, str]:
    row = db.session.scalar(select(Specialty).order_by(Specialty.id).limit(1))
    row.name = "改名专业"
    return row, "name"


def rename_region() -> tuple[Any, str]:
    row = db.session.scalar(select(Region).where(Region.code == "511102"))
    row.name = "市中区（改）"
    return row, "name"


def disable_series() -> tuple[Any, str]:
    row = db.session.get(TitleSeries, "higher_education_teacher")
    row.enabled = False
    return row, "enabled"


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(rename_title("教授"), id="title"),
        pytest.param(rename_title("讲师"), id="title-middle-of-series"),
        pytest.param(rename_title("正高级工程师"), id="title-that-historical-names-map-to"),
        pytest.param(rename_title("教授级高级工程师"), id="historical-title"),
        pytest.param(rename_series, id="series"),
        pytest.param(disable_series, id="series-disabled"),
        pytest.param(rename_specialty, id="specialty"),
        pytest.param(rename_region, id="region"),
    ],
)
def test_load_keeps_an_administrators_edit(database, edit):
    row, attribute = edit()
    db.session.flush()
    edited = getattr(row, attribute)
    before = row_counts()

    report = reference_data.load_all(CONFIG_DIR)

    db.session.refresh(row)
    assert getattr(row, attribute) == edited
    assert row_counts() == before, "the edited row is still the configured one: nothing is inserted beside it"
    assert report.inserted == {}


def test_load_does_not_bring_back_a_renamed_titles_old_name(database):
    professor = title("higher_education_teacher", "教授")
    professor.name = "正高级教师（高校）"
    db.session.flush()

    reference_data.load_all(CONFIG_DIR)

    assert title("higher_education_teacher", "教授") is None
    assert title("higher_education_teacher", "正高级教师（高校）").id == professor.id


def test_load_adds_what_is_missing(database):
    db.session.delete(title("engineering_technician", "研究员级高级工程师"))
    db.session.flush()

    report = reference_data.load_all(CONFIG_DIR)

    assert report.inserted == {"title": 1}
    restored = title("engineering_technician", "研究员级高级工程师")
    assert restored.current_id == title("engineering_technician", "正高级工程师").id


def test_code_defined_facts_are_synced_back(database):
    """Permission codes, unit types and natures belong to the code (admin_config/ in the repository), not to
    the administrator: a drifted name is restored and counted as updated."""
    db.session.get(UnitType, "declaring").name = "别的名字"
    db.session.flush()

    report = reference_data.load_all(CONFIG_DIR)

    assert db.session.get(UnitType, "declaring").name == "申报单位"
    assert report.updated == {"unit_type": 1}
    assert report.inserted == {}
