"""The permission matrix: every route × every kind of actor (STYLE: "a permission matrix per blueprint").

Actors stand around one target unit (a 申报单位 under 乐山市人社局):
- signed_out;
- member_with / member_without: staff of the target unit holding / lacking the route's permission;
- superior_admin: 超级管理员 of the target's superior (逐级管理: sees and manages its subordinates' units,
  but staff and roles stay each unit's own business);
- unrelated_admin: 超级管理员 of another city's tree;
- platform_admin: the province's platform administrator.
Routes carrying <int:unit_id> / <int:user_id> / <int:role_id> are called with a record of the target unit.
Signed-out requests go to /login; refusals are 403 (permission missing) or 404 (record outside one's scope,
so that ids of other units cannot be probed); nothing answers 500.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import g
from flask.testing import FlaskClient
from sqlalchemy import select

from app.extensions import db
from app.models import Role, RolePermission, Specialty, Title, Unit, User
from services import access, audit_log

ACTORS = ("signed_out", "member_with", "member_without", "superior_admin", "unrelated_admin", "platform_admin")
OK, LOGIN, FORBIDDEN, NOT_FOUND = "ok", "login", "403", "404"
SERIES = "higher_education_teacher"


@pytest.fixture(autouse=True)
def fresh_request_state(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each request starts as a real one does. The database fixture keeps one app context and one session for the
    whole test, so flask.g (where Flask-Login caches the signed-in user) and the session's loaded rows would
    otherwise carry over from one request, or one client, into the next."""
    original = FlaskClient.open

    def open_fresh(self: FlaskClient, *args: object, **kwargs: object) -> object:
        vars(g).clear()
        db.session.flush()
        db.session.expire_all()
        return original(self, *args, **kwargs)

    monkeypatch.setattr(FlaskClient, "open", open_fresh)


def expect(**outcomes: str) -> dict[str, str]:
    assert set(outcomes) == set(ACTORS)
    return outcomes


# Who gets through, by the kind of check a route makes.
PUBLIC = expect(signed_out=OK, member_with=OK, member_without=OK, superior_admin=OK, unrelated_admin=OK,
                platform_admin=OK)
SIGNED_IN = expect(signed_out=LOGIN, member_with=OK, member_without=OK, superior_admin=OK, unrelated_admin=OK,
                   platform_admin=OK)
# The permission alone decides: each holder acts on its own unit.
HOLDER = expect(signed_out=LOGIN, member_with=OK, member_without=FORBIDDEN, superior_admin=OK, unrelated_admin=OK,
                platform_admin=OK)
# scope subtree on the target unit: its own staff and its superiors, nobody beside it.
SUBTREE = expect(signed_out=LOGIN, member_with=OK, member_without=FORBIDDEN, superior_admin=OK,
                 unrelated_admin=NOT_FOUND, platform_admin=OK)
# scope unit on a record of the target unit: not even the superior.
OWN_UNIT = expect(signed_out=LOGIN, member_with=OK, member_without=FORBIDDEN, superior_admin=NOT_FOUND,
                  unrelated_admin=NOT_FOUND, platform_admin=OK)
# scope platform: a unit role naming the code grants nothing.
PLATFORM = expect(signed_out=LOGIN, member_with=FORBIDDEN, member_without=FORBIDDEN, superior_admin=FORBIDDEN,
                  unrelated_admin=FORBIDDEN, platform_admin=OK)


@dataclass(frozen=True)
class Entry:
    code: str  # the permission member_with holds (and member_without lacks)
    outcomes: dict[str, str]
    query: str = ""


def both(code: str, outcomes: dict[str, str], query: str = "") -> dict[str, Entry]:
    return {"GET": Entry(code, outcomes, query), "POST": Entry(code, outcomes, query)}


ROUTES: dict[str, dict[str, Entry]] = {
    "/login": both("home.view", PUBLIC),
    "/logout": {"POST": Entry("home.view", SIGNED_IN)},
    "/password": both("home.view", SIGNED_IN),
    "/": {"GET": Entry("home.view", SIGNED_IN)},
    "/units/regions.json": {"GET": Entry("home.view", SIGNED_IN)},
    "/units/own": both("unit.self.edit", HOLDER),
    "/units/subordinates": {"GET": Entry("unit.sub.view", HOLDER)},
    "/units/subordinates/export": {"GET": Entry("unit.sub.view", HOLDER)},
    "/units/subordinates/<int:unit_id>": {"GET": Entry("unit.sub.view", SUBTREE)},
    "/units/subordinates/new": both("unit.sub.manage", SUBTREE, "parent_id={unit_id}"),
    "/units/subordinates/new/<step>": both("unit.sub.manage", SUBTREE, "parent_id={unit_id}"),
    "/units/subordinates/<int:unit_id>/edit": both("unit.sub.manage", SUBTREE),
    "/staff/": {"GET": Entry("staff.manage", HOLDER)},
    "/staff/new": both("staff.manage", HOLDER),
    "/staff/<int:user_id>/edit": both("staff.manage", OWN_UNIT),
    "/staff/<int:user_id>/<any(enable, disable):action>": {"POST": Entry("staff.manage", OWN_UNIT)},
    "/staff/<int:user_id>/reset-password": {"POST": Entry("staff.manage", OWN_UNIT)},
    "/roles/": {"GET": Entry("role.manage", HOLDER)},
    "/roles/new": both("role.manage", HOLDER),
    "/roles/<int:role_id>/edit": both("role.manage", OWN_UNIT),
    "/roles/<int:role_id>/delete": {"POST": Entry("role.manage", OWN_UNIT)},
    "/audit-log/": {"GET": Entry("audit_log.view", HOLDER)},
    "/dictionary/series": {"GET": Entry("dict.manage", PLATFORM)},
    "/dictionary/series/new": both("dict.manage", PLATFORM),
    "/dictionary/series/<code>": {"GET": Entry("dict.manage", PLATFORM)},
    "/dictionary/series/<code>/edit": both("dict.manage", PLATFORM),
    "/dictionary/series/<code>/<any(enable, disable):action>": {"POST": Entry("dict.manage", PLATFORM)},
    "/dictionary/series/<code>/titles/new": both("dict.manage", PLATFORM),
    "/dictionary/series/<code>/titles/<int:title_id>/edit": both("dict.manage", PLATFORM),
    "/dictionary/specialties": {"GET": Entry("dict.manage", PLATFORM)},
    "/dictionary/specialties/new": both("dict.manage", PLATFORM, "series={code}"),
    "/dictionary/specialties/export": {"GET": Entry("dict.manage", PLATFORM, "series={code}")},
    "/dictionary/specialties/<int:specialty_id>/edit": both("dict.manage", PLATFORM),
    "/dictionary/specialties/<int:specialty_id>/<any(enable, disable):action>": {
        "POST": Entry("dict.manage", PLATFORM)},
}

MATRIX = [(rule, method) for rule, methods in ROUTES.items() for method in methods]


@dataclass
class World:
    """Two city trees under the province; the target unit sits in 乐山's."""

    province: Unit
    superior: Unit
    target: Unit
    child: Unit
    sibling: Unit
    unrelated: Unit
    unrelated_child: Unit
    target_staff: User
    target_role: Role
    admins: dict[str, User]

    def arguments(self) -> dict[str, Any]:
        title = db.session.scalar(select(Title).where(Title.series_code == SERIES).order_by(Title.id).limit(1))
        specialty = db.session.scalar(select(Specialty).where(Specialty.series_code == SERIES).order_by(Specialty.id)
                                      .limit(1))
        return {"unit_id": self.target.id, "user_id": self.target_staff.id, "role_id": self.target_role.id,
                "step": "legal", "action": "disable", "code": SERIES, "title_id": title.id,
                "specialty_id": specialty.id}


@pytest.fixture
def world(make_unit, make_user) -> World:
    province = make_unit(unit_type="hr", region="510000B", name="四川省人力资源和社会保障厅")
    superior = make_unit(parent=province, unit_type="hr", region="511100B", name="乐山市人力资源和社会保障局")
    target = make_unit(parent=superior, region="511102", name="乐山市市中区人民医院")
    child = make_unit(parent=target, region="511102", name="嘉州骨科医院")
    sibling = make_unit(parent=superior, region="511102", name="乐山市第一中学")
    unrelated = make_unit(parent=province, unit_type="hr", region="510100B", name="成都市人力资源和社会保障局")
    unrelated_child = make_unit(parent=unrelated, region="510104", name="成都市第一人民医院")
    role = Role(unit_id=target.id, name="目标单位角色")
    role.permissions = [RolePermission(permission_code="home.view")]
    db.session.add(role)
    admins = {
        "superior_admin": make_user(superior, admin=True, name="乐山管理员"),
        "unrelated_admin": make_user(unrelated, admin=True, name="成都管理员"),
        "platform_admin": make_user(province, platform=True, name="平台管理员"),
    }
    return World(province, superior, target, child, sibling, unrelated, unrelated_child,
                 make_user(target, name="目标员工"), role, admins)


def url_for_rule(rule: str, arguments: dict[str, Any], query: str) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        assert name in arguments, f"no test value for <{name}>: add one to World.arguments()"
        return str(arguments[name])

    path = re.sub(r"<(?:[^<>]*:)?(\w+)>", value, rule)
    return f"{path}?{query.format(**arguments)}" if query else path


def observed(response: Any, method: str) -> str:
    location = response.headers.get("Location", "")
    if response.status_code == 302 and urlsplit(location).path == "/login" and "next" in parse_qs(
            urlsplit(location).query):
        return LOGIN
    if response.status_code in (403, 404):
        return str(response.status_code)
    # A POST made without a body may be refused as bad input: the access check has let it through.
    allowed = (200, 302) if method == "GET" else (200, 302, 400, 409)
    return OK if response.status_code in allowed else f"unexpected {response.status_code}"


def test_matrix_covers_every_route(app):
    routes = {(rule.rule, method) for rule in app.url_map.iter_rules() if rule.endpoint != "static"
              for method in rule.methods - {"HEAD", "OPTIONS"}}

    assert sorted(routes - set(MATRIX)) == [], "routes without a matrix entry"
    assert sorted(set(MATRIX) - routes) == [], "matrix entries for routes that no longer exist"


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize(("rule", "method"), MATRIX, ids=[f"{m} {r}" for r, m in MATRIX])
def test_route_answers_each_actor_as_the_matrix_says(client, login, make_user, world, rule, method, actor):
    entry = ROUTES[rule][method]
    arguments = world.arguments()
    if actor == "member_with":
        login(make_user(world.target, permissions=[entry.code], name="有权员工"))
    elif actor == "member_without":
        # Every other permission a unit may grant: no neighbouring code stands in for the one required.
        others = [p.code for p in access.registry().values() if p.scope != "platform" and p.code != entry.code]
        login(make_user(world.target, permissions=others, name="无权员工"))
    elif actor != "signed_out":
        login(world.admins[actor])

    response = client.open(url_for_rule(rule, arguments, entry.query), method=method)

    assert observed(response, method) == entry.outcomes[actor]


# ---------------------------------------------------------------- 逐级管理: no view upwards or sideways


@pytest.mark.parametrize("other", ["superior", "sibling", "province", "unrelated", "unrelated_child"])
@pytest.mark.parametrize("path", ["/units/subordinates/{id}", "/units/subordinates/{id}/edit",
                                  "/units/subordinates/new?parent_id={id}"])
def test_a_subordinate_cannot_open_its_superior_or_siblings(client, login, make_user, world, other, path):
    login(make_user(world.target, admin=True))
    unit = getattr(world, other)

    response = client.get(path.format(id=unit.id))

    assert response.status_code == 404
    assert unit.name not in response.get_data(as_text=True)


def seed_markers(world: World, make_user) -> dict[int, list[str]]:
    """A staff member, a role and an audit entry in every unit, each named after the unit's marker."""
    markers: dict[int, list[str]] = {}
    for letter, unit in zip("甲乙丙丁戊己庚", (world.province, world.superior, world.target, world.child, world.sibling,
                                          world.unrelated, world.unrelated_child), strict=True):
        staff = make_user(unit, name=f"员工{letter}号")
        db.session.add(Role(unit_id=unit.id, name=f"角色{letter}号"))
        audit_log.record(staff, "test.marker", f"日志{letter}号")
        markers[unit.id] = [unit.name, f"员工{letter}号", f"角色{letter}号", f"日志{letter}号"]
    db.session.flush()
    return markers


LIST_PAGES = {
    "/units/subordinates": lambda m: m[0],
    "/staff/": lambda m: m[1],
    "/roles/": lambda m: m[2],
    "/audit-log/": lambda m: m[3],
}


@pytest.mark.parametrize("viewer", ["superior", "target"])
@pytest.mark.parametrize("page", list(LIST_PAGES))
def test_list_pages_never_show_another_trees_names(client, login, make_user, world, viewer, page):
    markers = seed_markers(world, make_user)
    unit = getattr(world, viewer)
    login(make_user(unit, admin=True, name="查看人"))
    own_tree = {u.id for u in db.session.scalars(select(Unit).where(Unit.path.startswith(unit.path)))}

    html = client.get(page).get_data(as_text=True)

    shown = LIST_PAGES[page]
    for unit_id, unit_markers in markers.items():
        if unit_id not in own_tree:
            assert shown(unit_markers) not in html, f"{page} of {unit.name} shows {shown(unit_markers)}"
            assert all(marker not in html for marker in unit_markers)
    # Not vacuous: the page does list the viewer's own records.
    expected_here = unit.id if page in ("/staff/", "/roles/") else world.child.id
    assert shown(markers[expected_here]) in html


def test_home_page_shows_nothing_of_siblings_or_other_trees(client, login, make_user, world):
    login(make_user(world.target, admin=True))

    html = client.get("/").get_data(as_text=True)

    assert world.superior.name in html, "a unit knows its own superior"
    for unit in (world.sibling, world.province, world.unrelated, world.unrelated_child):
        assert unit.name not in html
