"""主管部门配置, 审核路径配置 and 审核路径配置查询 pages (FEATURES B2–B4): writes, refusals, scope, simulation."""

from __future__ import annotations

import pytest
from review_path_helpers import LEVEL, METHOD, SERIES, build_chain, configure_chain
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditLog, CompetentAssignment, ReviewPathLink


@pytest.fixture
def chain(make_unit):
    return build_chain(make_unit)


@pytest.fixture
def leshan_staff(chain, make_user):
    return make_user(chain.city, permissions=["path.config", "path.query"], name="乐山经办")


@pytest.fixture
def chengdu_staff(chain, make_user):
    return make_user(chain.other_city, permissions=["path.config", "path.query"], name="成都经办")


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def audit_entries() -> int:
    """Audit entries of this area (sign-ins and the fixtures write others)."""
    return db.session.scalar(select(func.count()).select_from(AuditLog).where(
        AuditLog.action.like("competent_assignment.%") | AuditLog.action.like("review_path.%")))


def assignment_form(chain, **changes):
    form = {"region_code": "511100", "committee_id": str(chain.committee.id), "competent_unit_id": str(chain.competent.id)}
    form.update(changes)
    return form


def link_form(chain, **changes):
    form = {"method_code": METHOD, "level_code": LEVEL, "subordinate_unit_id": str(chain.competent.id),
            "target_type": "unit", "superior_unit_id": str(chain.city.id)}
    form.update(changes)
    return form


# ---------------------------------------------------------------- 主管部门配置


def test_hr_staff_sets_the_competent_department_of_a_committee(client, login, chain, leshan_staff):
    login(leshan_staff)

    response = client.post("/review-paths/competent/new", data=assignment_form(chain))

    assert response.status_code == 302
    saved = db.session.scalar(select(CompetentAssignment))
    assert (saved.competent_unit_id, saved.owner_unit_id) == (chain.competent.id, chain.city.id)
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "competent_assignment.create",
                                                    AuditLog.target_id == str(saved.id)))
    page = client.get("/review-paths/competent").get_data(as_text=True)
    assert "乐山市中小学教师中级职称评审委员会" in page and "乐山市教育局" in page


@pytest.mark.parametrize(("changes", "message"), [
    ({"committee_id": ""}, "评委会：请选择有效的评委会"),
    ({"committee_id": "999999"}, "评委会：请选择有效的评委会"),
    ({"region_code": "510104"}, "地区：四川省 / 成都市 / 锦江区 不在本单位的管辖地区内"),
    ({"region_code": "nowhere"}, "地区：请选择有效的行政区划"),
    ({"competent_unit_id": "abc"}, "主管部门：请选择本单位管辖范围内的主管部门"),
])
def test_bad_competent_configuration_is_refused_and_nothing_written(client, login, chain, leshan_staff, changes,
                                                                     message):
    login(leshan_staff)

    response = client.post("/review-paths/competent/new", data=assignment_form(chain, **changes))

    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert count(CompetentAssignment) == 0 and audit_entries() == 0


def test_one_competent_department_per_region_and_committee(client, login, chain, leshan_staff):
    login(leshan_staff)
    client.post("/review-paths/competent/new", data=assignment_form(chain))

    response = client.post("/review-paths/competent/new", data=assignment_form(chain))

    assert response.status_code == 409
    assert "该地区的该评委会已配置主管部门" in response.get_data(as_text=True)
    assert count(CompetentAssignment) == 1


def test_edit_and_delete_a_competent_configuration(client, login, chain, leshan_staff, make_unit):
    configure_chain(chain)
    assignment = db.session.scalar(select(CompetentAssignment))
    health = make_unit(parent=chain.city, unit_type="competent", region="511100B", name="乐山市卫生健康委员会")
    login(leshan_staff)

    assert client.get(f"/review-paths/competent/{assignment.id}/edit").status_code == 200
    response = client.post(f"/review-paths/competent/{assignment.id}/edit",
                           data=assignment_form(chain, competent_unit_id=str(health.id)))
    assert response.status_code == 302
    assert db.session.get(CompetentAssignment, assignment.id).competent_unit_id == health.id

    assert client.post(f"/review-paths/competent/{assignment.id}/delete").status_code == 302
    assert count(CompetentAssignment) == 0
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "competent_assignment.delete"))


def test_another_citys_hr_cannot_see_or_change_the_configuration(client, login, chain, chengdu_staff):
    configure_chain(chain)
    assignment = db.session.scalar(select(CompetentAssignment))
    link = db.session.scalar(select(ReviewPathLink))
    login(chengdu_staff)

    assert "乐山市教育局" not in client.get("/review-paths/competent").get_data(as_text=True)
    assert "乐山市教育局" not in client.get("/review-paths/links").get_data(as_text=True)
    for url in (f"/review-paths/competent/{assignment.id}/edit", f"/review-paths/links/{link.id}/edit"):
        assert client.get(url).status_code == 404
        assert client.post(url, data={}).status_code == 404
    assert client.post(f"/review-paths/competent/{assignment.id}/delete").status_code == 404
    assert client.post(f"/review-paths/links/{link.id}/delete").status_code == 404
    assert count(CompetentAssignment) == 1 and count(ReviewPathLink) == 2


def test_another_citys_hr_cannot_point_its_path_at_leshan_units(client, login, chain, chengdu_staff):
    login(chengdu_staff)

    response = client.post("/review-paths/links/new", data=link_form(chain))

    assert response.status_code == 400
    assert "下级机构：请选择本单位管辖范围内的单位" in response.get_data(as_text=True)
    assert count(ReviewPathLink) == 0


def test_a_declaring_unit_holds_no_configuration_permission(client, login, chain, make_user):
    login(make_user(chain.school, admin=True))

    assert client.get("/review-paths/competent").status_code == 403
    assert client.get("/review-paths/links").status_code == 403


# ---------------------------------------------------------------- 审核路径配置


def test_hr_staff_adds_subordinates_up_to_the_committee(client, login, chain, leshan_staff):
    login(leshan_staff)

    first = client.post("/review-paths/links/new", data=link_form(chain))
    final = client.post("/review-paths/links/new", data=link_form(
        chain, subordinate_unit_id=str(chain.city.id), target_type="committee", superior_unit_id="",
        committee_id=str(chain.committee.id)))

    assert first.status_code == final.status_code == 302
    page = client.get(f"/review-paths/links?method={METHOD}&level={LEVEL}").get_data(as_text=True)
    assert "乐山市中小学教师中级职称评审委员会" in page and "乐山市教育局" in page
    assert audit_entries() == 2


@pytest.mark.parametrize(("changes", "field_message"), [
    ({"method_code": "magic"}, "取得方式：请选择有效的取得方式"),
    ({"level_code": "senior_full"}, "职称等级：取得方式“中评会”不适用于正高级职称"),
    ({"target_type": ""}, "受理节点类型：请选择单位或评委会"),
    ({"superior_unit_id": "x"}, "受理机构：请选择本单位管辖范围内的有效单位"),
    ({"superior_unit_id": "{school}"}, "受理机构：乐山第一中学校 是 乐山市教育局 本身或其下级，会形成循环"),
    ({"target_type": "committee", "committee_id": "0"}, "受理评委会：请选择有效的评委会"),
    ({"level_code": "assistant", "method_code": "initial", "target_type": "committee", "committee_id": "{committee}"},
     "受理评委会：乐山市中小学教师中级职称评审委员会 不能评审助理级职称"),
])
def test_bad_path_configuration_is_refused_naming_the_field(client, login, chain, leshan_staff, changes,
                                                            field_message):
    login(leshan_staff)
    ids = {"school": chain.school.id, "committee": chain.committee.id}
    changes = {k: v.format(**ids) for k, v in changes.items()}

    response = client.post("/review-paths/links/new", data=link_form(chain, **changes))

    assert response.status_code == 400
    assert field_message in response.get_data(as_text=True)
    assert count(ReviewPathLink) == 0 and audit_entries() == 0


def test_a_subordinate_has_one_receiver_per_method_and_level(client, login, chain, leshan_staff):
    configure_chain(chain)
    login(leshan_staff)

    response = client.post("/review-paths/links/new", data=link_form(chain))

    assert response.status_code == 409
    assert "乐山市教育局 已配置该取得方式和职称等级的受理机构" in response.get_data(as_text=True)


def test_edit_and_delete_a_path_link(client, login, chain, leshan_staff):
    configure_chain(chain)
    link = db.session.scalar(select(ReviewPathLink).where(ReviewPathLink.subordinate_unit_id == chain.competent.id))
    login(leshan_staff)

    assert client.get(f"/review-paths/links/{link.id}/edit").status_code == 200
    response = client.post(f"/review-paths/links/{link.id}/edit", data=link_form(chain, method_code="recognition"))
    assert response.status_code == 302
    assert db.session.get(ReviewPathLink, link.id).method_code == "recognition"
    assert client.post(f"/review-paths/links/{link.id}/delete").status_code == 302
    assert db.session.get(ReviewPathLink, link.id) is None


# ---------------------------------------------------------------- 审核路径配置查询


def simulate(client, chain, **changes):
    args = {"unit_id": chain.school.id, "level": LEVEL, "series": SERIES, "method": METHOD, "specialty": "初中语文"}
    args.update(changes)
    return client.get("/review-paths/simulate", query_string=args)


def test_simulation_shows_the_whole_path(client, login, chain, leshan_staff):
    configure_chain(chain)
    login(leshan_staff)

    assert client.get("/review-paths/simulate").status_code == 200
    html = simulate(client, chain).get_data(as_text=True)

    assert "审核路径完整：乐山第一中学校 → 乐山市教育局 → 乐山市人力资源和社会保障局 → 乐山市中小学教师中级职称评审委员会" in html


def test_simulation_shows_where_the_path_breaks(client, login, chain, leshan_staff):
    login(leshan_staff)

    html = simulate(client, chain).get_data(as_text=True)

    assert "审核路径断在第 1 步（乐山第一中学校）" in html and "配置主管部门" in html


@pytest.mark.parametrize(("changes", "message"), [
    ({"level": "top"}, "拟申报职称等级：请选择有效的职称等级"), ({"series": ""}, "系列：请选择有效的职称系列"),
    ({"method": "x"}, "取得方式：请选择有效的取得方式"), ({"unit_id": "abc"}, "单位：请选择要查询的单位"),
    ({"specialty": "不存在的专业"}, "专业：中小学教师系列中没有专业“不存在的专业”"),
])
def test_simulation_refuses_bad_input_naming_the_field(client, login, chain, leshan_staff, changes, message):
    login(leshan_staff)

    response = simulate(client, chain, **changes)

    assert response.status_code == 400
    assert message in response.get_data(as_text=True)


def test_simulation_and_relations_of_another_citys_unit_are_not_found(client, login, chain, chengdu_staff):
    configure_chain(chain)
    login(chengdu_staff)

    assert simulate(client, chain).status_code == 404
    assert client.get(f"/review-paths/query?unit_id={chain.competent.id}").status_code == 404


def test_relations_show_superiors_and_subordinates(client, login, chain, leshan_staff):
    configure_chain(chain)
    login(leshan_staff)

    html = client.get(f"/review-paths/query?unit_id={chain.city.id}").get_data(as_text=True)

    assert "乐山市中小学教师中级职称评审委员会" in html  # its superior, a 终审机构
    assert "乐山市教育局" in html  # its subordinate
