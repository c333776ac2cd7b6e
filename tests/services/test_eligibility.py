"""申报资格 at creation and at submission (issue 13 "No eligibility check on declarations"): the series and level
against the applicant's 现职称, 逐级 unless 破格, 任现职称年限 where the activity sets it, the unit inside the 评审区域;
each refusal names its rule, and the warnings the applicant sees reach the reviewing units."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from declaration_helpers import ready_declaration
from review_path_helpers import LEVEL
from sqlalchemy import select

from app.extensions import db
from app.models import ActivityExceptionalCondition, ActivityLevel, Title
from services.applications import declarations, eligibility
from services.common.errors import Conflict, InvalidInput


def title(series: str, name: str) -> Title:
    found = db.session.scalar(select(Title).where(Title.series_code == series, Title.name == name,
                                                  Title.current_id.is_(None)))
    assert found is not None, name
    return found


def holding(world: Any, series: str, name: str, obtained: date = date(2015, 9, 30)) -> None:
    world.applicant.title_id, world.applicant.title_obtained_on = title(series, name).id, obtained
    db.session.flush()
    db.session.expire(world.applicant, ["title"])


def test_a_doctor_with_an_intermediate_title_cannot_declare_to_the_teachers_intermediate_activity(world):
    holding(world, "health_technician", "主治医师")

    with pytest.raises(Conflict) as refused:
        declarations.start_declaration(world.applicant, world.activity.id, {"level_code": LEVEL}, datetime.now())

    assert "申报系列" in refused.value.message and "卫生技术人员" in refused.value.message
    assert declarations.open_activities(world.applicant, datetime.now())[0].problem.startswith("申报系列")


def test_the_declared_level_must_be_above_the_current_title(world):
    holding(world, "primary_secondary_teacher", "一级教师")

    with pytest.raises(Conflict) as refused:
        declarations.start_declaration(world.applicant, world.activity.id, {"level_code": LEVEL}, datetime.now())

    assert "申报层级" in refused.value.message and "须高于现职称" in refused.value.message


def test_a_level_is_skipped_only_by_a_exceptional_declaration(world):
    world.activity.levels.append(ActivityLevel(level_code="senior_deputy"))
    world.activity.exceptional_review = True
    world.activity.exceptional_conditions.append(ActivityExceptionalCondition(position=1, title="业绩突出"))
    db.session.flush()
    holding(world, "primary_secondary_teacher", "三级教师")
    found = eligibility.problems(world.applicant, world.activity,
                                 eligibility.Declared(LEVEL, "normal"), date.today())
    assert found and "逐级申报" in found[0] and "应申报助理级" in found[0]
    assert eligibility.problems(world.applicant, world.activity,
                                eligibility.Declared(LEVEL, "exceptional"), date.today()) == []


def test_years_since_the_current_title_where_the_activity_sets_them(world):
    today = date.today()
    world.activity.min_title_years = 5
    holding(world, "primary_secondary_teacher", "二级教师", obtained=today.replace(year=today.year - 5)
            + timedelta(days=1))

    with pytest.raises(Conflict) as refused:
        declarations.start_declaration(world.applicant, world.activity.id, {"level_code": LEVEL}, datetime.now())

    assert "任现职称年限" in refused.value.message and "满 4 年" in refused.value.message
    holding(world, "primary_secondary_teacher", "二级教师", obtained=today.replace(year=today.year - 5))
    assert declarations.start_declaration(world.applicant, world.activity.id, {"level_code": LEVEL}, datetime.now())


def test_whole_years_count_on_the_anniversary():
    assert eligibility.whole_years(date(2020, 3, 1), date(2025, 2, 28)) == 4
    assert eligibility.whole_years(date(2020, 3, 1), date(2025, 3, 1)) == 5


def test_submission_checks_again_after_the_profile_changed(world):
    holding(world, "primary_secondary_teacher", "二级教师")
    declaration = ready_declaration(world)
    holding(world, "primary_secondary_teacher", "一级教师")

    with pytest.raises(InvalidInput) as refused:
        declarations.submit(world.applicant, declaration, datetime.now())

    assert any("申报层级" in p for p in refused.value.errors["submit"])
    assert declaration.status == "draft"


def test_submission_refuses_a_unit_outside_the_review_region_naming_the_rule(world):
    declaration = ready_declaration(world)
    world.applicant.unit_id = world.chain.other_school.id
    db.session.flush()
    db.session.expire(world.applicant, ["unit"])

    with pytest.raises(InvalidInput) as refused:
        declarations.submit(world.applicant, declaration, datetime.now())

    assert any(p.startswith("申报单位：") and "评审区域" in p for p in refused.value.errors["submit"])


def test_warnings_the_applicant_sees_reach_the_reviewing_unit(client, login, world):
    declaration = ready_declaration(world)  # the profile has no 现职称: a warning, not a refusal
    declarations.submit(world.applicant, declaration, datetime.now())
    db.session.flush()
    login(world.school_reviewers[0])

    html = client.get(f"/application-review/applications/{declaration.id}").get_data(as_text=True)

    assert 'data-testid="eligibility-warnings"' in html and "未填写现职称" in html
