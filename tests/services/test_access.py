"""services.authz.access: the one place deciding access, by scope unit / subtree / platform (S 1.1.2, 1.2.9.1.3)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from flask_login import AnonymousUserMixin
from sqlalchemy import select

from app.extensions import db
from app.models import AuditLog, Unit, User
from services.authz import access
from services.common import audit_log

UNIT_CODE, SUBTREE_CODE, PLATFORM_CODE = "staff.manage", "unit.sub.view", "dict.manage"


@dataclass
class Tree:
    """province ─ leshan ─ hospital ─ branch, leshan ─ school (sibling), province ─ chengdu ─ clinic."""

    province: Unit
    leshan: Unit
    hospital: Unit
    branch: Unit
    school: Unit
    chengdu: Unit
    clinic: Unit

    def named(self, *names: str) -> set[int]:
        return {getattr(self, name).id for name in names}


@pytest.fixture
def tree(make_unit) -> Tree:
    province = make_unit(unit_type="hr", region="510000B")
    leshan = make_unit(parent=province, unit_type="hr", region="511100B")
    hospital = make_unit(parent=leshan, region="511102")
    branch = make_unit(parent=hospital, region="511102")
    school = make_unit(parent=leshan, region="511102")
    chengdu = make_unit(parent=province, unit_type="hr", region="510100B")
    clinic = make_unit(parent=chengdu, region="510104")
    return Tree(province, leshan, hospital, branch, school, chengdu, clinic)


def test_registry_scopes_are_the_configured_ones():
    scopes = access.permission_scopes()

    assert scopes[UNIT_CODE] == "unit"
    assert scopes[SUBTREE_CODE] == "subtree"
    assert scopes[PLATFORM_CODE] == "platform"
    assert set(scopes.values()) <= {"unit", "subtree", "platform"}


def test_the_registry_refuses_a_code_that_is_not_dotted_words(tmp_path, monkeypatch):
    """A signed-in account's codes are read joined by commas (app.auth): a code must not hold one."""
    bad = tmp_path / "permissions.yaml"
    bad.write_text("menus:\n  - menu: 首页\n    permissions:\n      - {code: 'home.view,inbox.view', name: 两项}\n",
                   encoding="utf-8")
    monkeypatch.setattr(access, "PERMISSIONS_FILE", bad)
    access.registry.cache_clear()
    try:
        with pytest.raises(ValueError, match="权限编码 'home.view,inbox.view' 只能由小写字母、数字、下划线和点组成"):
            access.registry()
    finally:
        access.registry.cache_clear()
        monkeypatch.undo()
        assert UNIT_CODE in access.registry()


# ---------------------------------------------------------------- has_permission


@pytest.mark.parametrize(
    ("target", "allowed"),
    [("hospital", True), ("branch", False), ("leshan", False), ("school", False), ("clinic", False)],
)
@pytest.mark.parametrize("holder", ["role", "unit_admin"])
def test_unit_scope_reaches_the_own_unit_only(tree, make_user, target, allowed, holder):
    user = make_user(tree.hospital, admin=True) if holder == "unit_admin" else make_user(tree.hospital,
                                                                                         permissions=[UNIT_CODE])

    assert access.has_permission(user, UNIT_CODE, getattr(tree, target)) is allowed


@pytest.mark.parametrize(
    ("target", "allowed"),
    [("hospital", True), ("branch", True), ("leshan", False), ("province", False), ("school", False),
     ("clinic", False)],
)
@pytest.mark.parametrize("holder", ["role", "unit_admin"])
def test_subtree_scope_reaches_the_own_unit_and_below(tree, make_user, target, allowed, holder):
    user = make_user(tree.hospital, admin=True) if holder == "unit_admin" else make_user(tree.hospital,
                                                                                         permissions=[SUBTREE_CODE])

    assert access.has_permission(user, SUBTREE_CODE, getattr(tree, target)) is allowed


@pytest.mark.parametrize("kind", ["unit_admin", "role_naming_it"])
def test_platform_scope_is_never_granted_to_a_unit(tree, make_user, kind):
    user = make_user(tree.province, admin=True) if kind == "unit_admin" else make_user(
        tree.province, permissions=[PLATFORM_CODE, SUBTREE_CODE])

    assert access.has_permission(user, PLATFORM_CODE) is False
    assert PLATFORM_CODE not in access.effective_codes(user)


@pytest.mark.parametrize("code", [UNIT_CODE, SUBTREE_CODE, PLATFORM_CODE])
@pytest.mark.parametrize("target", [None, "clinic", "branch", "province"])
def test_platform_admin_holds_every_code_everywhere(tree, make_user, code, target):
    admin = make_user(tree.province, platform=True)

    assert access.has_permission(admin, code, getattr(tree, target) if target else None) is True


def test_a_role_grants_only_its_own_codes(tree, make_user):
    user = make_user(tree.hospital, permissions=[SUBTREE_CODE])

    assert access.has_permission(user, SUBTREE_CODE) is True
    assert access.has_permission(user, "unit.sub.manage") is False
    assert access.has_permission(user, UNIT_CODE, tree.hospital) is False
    assert access.effective_codes(user) == {SUBTREE_CODE}


def test_unknown_codes_grant_nothing(tree, make_user):
    assert access.has_permission(make_user(tree.hospital, admin=True), "no.such.code") is False


@pytest.mark.parametrize("platform", [False, True])
def test_a_disabled_account_has_no_permission(tree, make_user, platform):
    user = make_user(tree.hospital, admin=True, platform=platform, enabled=False)

    assert access.effective_codes(user) == set()
    assert access.has_permission(user, "home.view") is False


@pytest.mark.parametrize("status", ["pending", "disabled"])
def test_a_unit_that_is_not_active_grants_nothing(make_unit, make_user, tree, status):
    unit = make_unit(parent=tree.leshan, region="511102", status=status)

    assert access.has_permission(make_user(unit, admin=True), "home.view") is False


def test_signed_out_visitors_have_no_permission(tree):
    assert access.has_permission(AnonymousUserMixin(), "home.view") is False
    assert access.has_permission(None, "home.view") is False


def test_require_permission_raises_forbidden(tree, make_user):
    from services.common.errors import Forbidden

    with pytest.raises(Forbidden):
        access.require_permission(make_user(tree.hospital, admin=True), SUBTREE_CODE, tree.leshan)


def test_subtree_is_decided_by_whole_path_segments(make_unit, make_user, tree):
    """/9001/ must not reach /90011/: a path prefix only counts up to a segment boundary."""
    near = make_unit(parent=tree.leshan, region="511102")
    lookalike = make_unit(parent=tree.leshan, region="511102")
    near.path, lookalike.path = "/9001/", "/90011/"
    db.session.flush()
    user = make_user(near, admin=True)

    assert access.has_permission(user, SUBTREE_CODE, lookalike) is False
    assert visible(user, SUBTREE_CODE) == {near.id}


# ---------------------------------------------------------------- visible_units


def visible(user: User, code: str, include_own: bool = True) -> set[int]:
    return {unit.id for unit in db.session.scalars(access.visible_units(user, code, include_own))}


@pytest.mark.parametrize(
    ("viewer", "code", "include_own", "expected"),
    [
        ("leshan", SUBTREE_CODE, True, ("leshan", "hospital", "branch", "school")),
        ("leshan", SUBTREE_CODE, False, ("hospital", "branch", "school")),
        ("hospital", SUBTREE_CODE, True, ("hospital", "branch")),
        ("branch", SUBTREE_CODE, False, ()),
        ("leshan", UNIT_CODE, True, ("leshan",)),
        ("leshan", PLATFORM_CODE, True, ()),
    ],
)
def test_visible_units_follow_the_codes_scope(tree, make_user, viewer, code, include_own, expected):
    user = make_user(getattr(tree, viewer), admin=True)

    assert visible(user, code, include_own) == tree.named(*expected)


def test_visible_units_are_empty_without_the_code(tree, make_user):
    assert visible(make_user(tree.leshan, permissions=["home.view"]), SUBTREE_CODE) == set()


def test_platform_admin_sees_every_unit(tree, make_user):
    admin = make_user(tree.province, platform=True)
    every = set(db.session.scalars(select(Unit.id)))

    assert visible(admin, SUBTREE_CODE) == every
    assert visible(admin, PLATFORM_CODE) == every


# ---------------------------------------------------------------- scope_to_units


@pytest.fixture
def staff_everywhere(tree, make_user) -> dict[str, User]:
    return {name: make_user(getattr(tree, name), name=f"员工{name[:4]}")
            for name in ("province", "leshan", "hospital", "branch", "school", "chengdu", "clinic")}


def scoped_user_ids(user: User, code: str) -> set[int]:
    return set(db.session.scalars(access.scope_to_units(select(User.id), User.unit_id, user, code)))


@pytest.mark.parametrize(
    ("viewer", "code", "expected"),
    [
        ("leshan", SUBTREE_CODE, ("leshan", "hospital", "branch", "school")),
        ("hospital", SUBTREE_CODE, ("hospital", "branch")),
        ("hospital", UNIT_CODE, ("hospital",)),
        ("hospital", PLATFORM_CODE, ()),
    ],
)
def test_scope_to_units_restricts_any_statement(tree, make_user, staff_everywhere, viewer, code, expected):
    user = make_user(getattr(tree, viewer), admin=True)
    expected_ids = {staff_everywhere[name].id for name in expected} | ({user.id} if expected else set())

    assert scoped_user_ids(user, code) == expected_ids


def test_scope_to_units_gives_nothing_without_the_code(tree, make_user, staff_everywhere):
    assert scoped_user_ids(make_user(tree.leshan, permissions=["home.view"]), SUBTREE_CODE) == set()


def test_scope_to_units_gives_the_platform_admin_everything(tree, make_user, staff_everywhere):
    admin = make_user(tree.province, platform=True)

    assert scoped_user_ids(admin, SUBTREE_CODE) == set(db.session.scalars(select(User.id)))


def test_scope_to_units_leaves_out_rows_without_a_unit(tree, make_user):
    user = make_user(tree.leshan, admin=True)
    audit_log.record(None, "system.note", "系统记录", unit_id=None)
    mine = audit_log.record(user, "test.note", "本单位记录")
    db.session.flush()

    rows = set(db.session.scalars(access.scope_to_units(select(AuditLog.id), AuditLog.unit_id, user, "audit_log.view")))

    assert rows == {mine.id}
