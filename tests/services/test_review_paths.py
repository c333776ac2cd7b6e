"""审核路径 resolution (services.applications.review_paths): the whole chain, and every place it can break and why."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from review_path_helpers import LEVEL, METHOD, SERIES, build_chain, configure_chain, make_committee
from sqlalchemy import select

from app.extensions import db
from app.models import CompetentAssignment, ReviewPathLink, Specialty
from services.applications.review_paths import resolve_path
from services.common.errors import InvalidInput


@pytest.fixture
def chain(make_unit):
    return build_chain(make_unit)


def specialty(code: str) -> Specialty:
    found = db.session.scalar(select(Specialty).where(Specialty.code == code))
    assert found is not None
    return found


def resolve(unit, level=LEVEL, method=METHOD, specialty_code="PST-01-02", **kwargs):
    return resolve_path(unit, level, SERIES, method, specialty_code, **kwargs)


def test_a_school_declaration_runs_through_competent_and_hr_to_the_committee(chain):
    configure_chain(chain)

    path = resolve(chain.school)

    assert path.complete and path.broken is None
    assert [(s.role, s.name) for s in path.steps] == [
        ("申报单位", "乐山第一中学校"), ("主管部门", "乐山市教育局"), ("人社部门", "乐山市人力资源和社会保障局"),
        ("评委会", "乐山市中小学教师中级职称评审委员会")]
    assert [s.via for s in path.steps[1:]] == ["主管部门配置", "审核路径配置", "审核路径配置"]
    assert path.committee == chain.committee


def test_resolution_takes_a_handful_of_queries(chain):
    configure_chain(chain)
    db.session.expire_all()
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        assert resolve(chain.school).complete
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
    assert len(statements) <= 16, "\n".join(s[:160] for s in statements)


def test_without_competent_configuration_the_path_breaks_at_the_school(chain):
    configure_chain(chain)
    db.session.execute(sa.delete(CompetentAssignment))

    path = resolve(chain.school)

    assert path.broken is not None and path.broken.index == 0
    assert "未为评委会 乐山市中小学教师中级职称评审委员会 配置主管部门" in path.broken.reason
    assert [s.name for s in path.steps] == ["乐山第一中学校"]


def test_a_competent_department_without_superior_breaks_the_path(chain):
    configure_chain(chain)
    db.session.execute(sa.delete(ReviewPathLink).where(ReviewPathLink.subordinate_unit_id == chain.competent.id))

    path = resolve(chain.school)

    assert path.broken.index == 1
    assert path.broken.reason.startswith("乐山市教育局 没有上级机构")
    assert "不是终审机构" in path.broken.reason


def test_an_hr_department_that_is_not_a_final_body_breaks_the_path(chain):
    configure_chain(chain)
    db.session.execute(sa.delete(ReviewPathLink).where(ReviewPathLink.subordinate_unit_id == chain.city.id))

    path = resolve(chain.school)

    assert path.broken.index == 2
    assert "乐山市人力资源和社会保障局 没有上级机构（未配置中评会中级审核路径），且不是终审机构" in path.broken.reason


def test_paths_are_per_method_and_level(chain):
    configure_chain(chain)

    path = resolve(chain.school, method="recognition")

    assert path.broken.index == 1 and "未配置认定中级审核路径" in path.broken.reason


def test_a_committee_that_has_not_kept_the_specialty_cannot_take_the_declaration(chain):
    chain.committee.status = "deregistered"
    narrow = make_committee(chain.competent, chain.city, name="乐山市中小学数学中级评委会",
                            specialty_ids=(specialty("PST-02").id,))
    configure_chain(chain, narrow)

    assert resolve(chain.school, specialty_code="PST-02-02").complete  # 初中数学 falls under 数学
    path = resolve(chain.school, specialty_code="PST-01-02")

    assert path.broken.index == 0
    assert "乐山市中小学数学中级评委会 未维护可评审专业“初中语文”（是否能评审该专业：否）" in path.broken.reason


def test_a_linked_committee_that_cannot_review_is_reported_at_its_step(chain):
    configure_chain(chain)
    chain.committee.specialties = []
    other = make_committee(chain.competent, chain.city, name="乐山市另一评委会")
    db.session.add(CompetentAssignment(region_id=chain.school.region_id, committee_id=other.id,
                                       competent_unit_id=chain.competent.id, owner_unit_id=chain.city.id))
    chain.committee.valid_until = date.today() - timedelta(days=1)
    db.session.flush()

    path = resolve(chain.school)

    assert path.broken.index == 3
    assert "已过期" in path.broken.reason and "重新备案" in path.broken.reason


def test_an_expired_committee_leaves_no_committee_to_declare_to(chain):
    configure_chain(chain)
    chain.committee.valid_until = date.today() - timedelta(days=1)
    db.session.flush()

    path = resolve(chain.school)

    assert path.broken.index == 0
    assert "没有可受理该申报的已备案评委会" in path.broken.reason and "已过期" in path.broken.reason


@pytest.mark.parametrize(("status", "words"), [("unfiled", "不是已备案评委会"), ("deregistered", "没有评审")])
def test_a_committee_not_filed_is_no_final_body(chain, status, words):
    configure_chain(chain)
    chain.committee.status = status
    db.session.flush()

    path = resolve(chain.school)

    assert path.broken.index == 0 and words in path.broken.reason


def test_a_committee_outside_the_units_region_cannot_review_it(chain):
    configure_chain(chain)

    path = resolve(chain.other_school)

    assert path.broken.index == 0 and "评审区域" in path.broken.reason and "成都市第七中学" in path.broken.reason


def test_a_level_the_committee_does_not_review_breaks_the_path(chain):
    configure_chain(chain)

    path = resolve(chain.school, level="senior_deputy", method="senior_committee")

    assert path.broken.index == 0 and "没有评审中小学教师系列副高级职称的评委会" in path.broken.reason


def test_a_method_applies_only_to_its_grades(chain):
    configure_chain(chain)

    path = resolve(chain.school, method="senior_committee")

    assert path.broken.index == 0 and path.broken.reason == "取得方式“高评会”不适用于中级（中级）职称"


def test_a_loop_in_the_configuration_is_reported(chain):
    configure_chain(chain)
    db.session.execute(sa.delete(ReviewPathLink).where(ReviewPathLink.subordinate_unit_id == chain.city.id))
    db.session.add(ReviewPathLink(method_code=METHOD, level_code=LEVEL, subordinate_unit_id=chain.city.id,
                                  superior_unit_id=chain.competent.id, owner_unit_id=chain.city.id))
    db.session.flush()

    path = resolve(chain.school)

    assert path.broken.index == 2 and "审核路径出现循环" in path.broken.reason


def test_a_deregistered_unit_cannot_declare(chain):
    configure_chain(chain)
    chain.school.status = "disabled"

    path = resolve(chain.school)

    assert path.broken.index == 0 and "已注销" in path.broken.reason


def test_the_chosen_committee_must_be_the_one_the_path_reaches(chain):
    configure_chain(chain)
    other = make_committee(chain.competent, chain.city, name="乐山市另一评委会")

    path = resolve(chain.school, committee_id=other.id)

    assert path.broken is not None and "配置主管部门" in path.broken.reason


@pytest.mark.parametrize(("args", "field"), [
    ({"level": "grand"}, "level"), ({"method": "chosen"}, "method"), ({"specialty_code": "外语"}, "specialty")])
def test_unknown_codes_are_input_errors_naming_the_field(chain, args, field):
    with pytest.raises(InvalidInput) as caught:
        resolve(chain.school, **args)
    assert caught.value.field == field
