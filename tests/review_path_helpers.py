"""A realistic Sichuan 审核路径 for the review-path tests.

四川省人社厅 → 乐山市人社局 → 乐山市教育局 (主管部门) → 乐山第一中学校 (申报单位), and a 已备案 乐山市中小学教师
中级职称评审委员会 reviewing all of 乐山. configure_chain() adds the 主管部门配置 (乐山市 · committee → 教育局) and
the 中评会 path 教育局 → 人社局 → committee, so the school's 中级 declaration reaches the committee.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from helpers import region_id

from app.extensions import db
from app.models import (
    Committee,
    CommitteeLevel,
    CommitteeSpecialty,
    CompetentAssignment,
    ReviewPathLink,
    Unit,
)

SERIES = "primary_secondary_teacher"
METHOD = "intermediate_committee"
LEVEL = "intermediate"


@dataclass
class Chain:
    province: Unit
    city: Unit
    competent: Unit
    school: Unit
    committee: Committee
    other_city: Unit
    other_school: Unit


def make_committee(forming: Unit, filing: Unit, name: str = "乐山市中小学教师中级职称评审委员会",
                   region: str = "511100", status: str = "filed", valid_until: date | None = None,
                   levels: tuple[str, ...] = (LEVEL,), specialty_ids: tuple[int, ...] = (), **changes: Any) -> Committee:
    committee = Committee(
        name=name, agency="乐山市教育局人事科", office="职称办公室", forming_unit_id=forming.id, review_type="regular",
        authorizing_unit_id=forming.id, filing_unit_id=filing.id, contact_name="周联系", contact_phone="0833-2123456",
        address="乐山市市中区", build_mode="specialty" if specialty_ids else "series", series_code=SERIES,
        region_id=region_id(region), status=status, filed_on=date.today() - timedelta(days=30),
        valid_until=valid_until or date.today() + timedelta(days=700), applicant_natures=[], **changes)
    committee.levels = [CommitteeLevel(level_code=code) for code in levels]
    committee.specialties = [CommitteeSpecialty(specialty_id=s) for s in specialty_ids]
    db.session.add(committee)
    db.session.flush()
    return committee


def build_chain(make_unit: Any) -> Chain:
    province = make_unit(unit_type="hr", region="510000B", name="四川省人力资源和社会保障厅")
    city = make_unit(parent=province, unit_type="hr", region="511100B", name="乐山市人力资源和社会保障局")
    competent = make_unit(parent=city, unit_type="competent", region="511100B", name="乐山市教育局")
    school = make_unit(parent=competent, region="511102", name="乐山第一中学校")
    other_city = make_unit(parent=province, unit_type="hr", region="510100B", name="成都市人力资源和社会保障局")
    other_school = make_unit(parent=other_city, region="510104", name="成都市第七中学")
    committee = make_committee(competent, city)
    return Chain(province, city, competent, school, committee, other_city, other_school)


def configure_chain(chain: Chain, committee: Committee | None = None) -> None:
    committee = committee or chain.committee
    db.session.add_all([
        CompetentAssignment(region_id=region_id("511100"), committee_id=committee.id,
                            competent_unit_id=chain.competent.id, owner_unit_id=chain.city.id),
        ReviewPathLink(method_code=METHOD, level_code=LEVEL, subordinate_unit_id=chain.competent.id,
                       superior_unit_id=chain.city.id, owner_unit_id=chain.city.id),
        ReviewPathLink(method_code=METHOD, level_code=LEVEL, subordinate_unit_id=chain.city.id,
                       committee_id=committee.id, owner_unit_id=chain.city.id),
    ])
    db.session.flush()
