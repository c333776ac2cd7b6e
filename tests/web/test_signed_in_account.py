"""The signed-in account as each request reads it (app.auth): one row with its unit and the permission codes of
its roles, the codes held for that request only (issue #3). What an administrator changes about an account
(its roles, its state, its session token, its unit) counts from the account's next request."""

from __future__ import annotations

from sqlalchemy import event

from app.auth import _load_user
from app.extensions import db
from app.models import Role, RolePermission
from services.authz import access


def signed_out(response) -> bool:
    return response.status_code == 302 and response.location.startswith("/login")


def test_a_permission_granted_counts_from_the_next_request(client, login, make_unit, make_user):
    user = make_user(make_unit(), permissions=["home.view"])
    login(user)
    assert client.get("/inbox/").status_code == 403

    user.roles[0].permissions.append(RolePermission(permission_code="inbox.view"))

    assert client.get("/inbox/").status_code == 200


def test_a_permission_taken_away_counts_from_the_next_request(client, login, make_unit, make_user):
    user = make_user(make_unit(), permissions=["home.view", "inbox.view"])
    login(user)
    assert client.get("/inbox/").status_code == 200

    role = user.roles[0]
    role.permissions = [grant for grant in role.permissions if grant.permission_code != "inbox.view"]

    assert client.get("/inbox/").status_code == 403


def test_a_disabled_account_is_signed_out(client, login, make_unit, make_user):
    user = make_user(make_unit(), permissions=["home.view"])
    login(user)
    assert client.get("/jobs/").status_code == 200

    user.enabled = False

    assert signed_out(client.get("/jobs/"))


def test_a_new_session_token_signs_the_session_out(client, login, make_unit, make_user):
    user = make_user(make_unit(), permissions=["home.view"])
    login(user)

    user.session_token = "rotated"

    assert signed_out(client.get("/jobs/"))


def test_must_change_password_set_after_signing_in_sends_the_next_page_to_the_password_form(
        client, login, make_unit, make_user):
    user = make_user(make_unit(), permissions=["home.view", "inbox.view"])
    login(user)

    user.must_change_password = True

    assert client.get("/inbox/").location == "/password"


def test_a_unit_no_longer_active_takes_its_staff_permissions_away(client, login, make_unit, make_user):
    unit = make_unit()
    user = make_user(unit, admin=True)
    login(user)
    assert client.get("/inbox/").status_code == 200

    unit.status = "disabled"

    assert client.get("/inbox/").status_code == 403


def test_a_unit_administrator_holds_only_what_the_unit_type_allows(client, login, make_unit, make_user):
    login(make_user(make_unit(unit_type="declaring"), admin=True))
    assert client.get("/blacklist/").status_code == 403

    client.post("/logout")
    login(make_user(make_unit(unit_type="hr"), admin=True))
    assert client.get("/blacklist/").status_code == 200


def test_the_codes_read_for_a_request_are_not_kept_after_it(client, login, make_unit, make_user):
    user = make_user(make_unit(), permissions=["home.view"])
    login(user)
    client.get("/jobs/")

    user.roles[0].permissions.append(RolePermission(permission_code="inbox.view"))
    db.session.flush()

    assert access.has_permission(user, "inbox.view"), "outside a request the account's roles decide"


def test_the_account_its_unit_and_its_codes_are_read_in_one_query(app, make_unit, make_user):
    user = make_user(make_unit(), permissions=["home.view", "inbox.view"])
    token, user_id, unit_name = user.get_id(), user.id, user.unit.name
    db.session.expunge_all()
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        statements.append(statement)

    engine = db.session.get_bind()
    event.listen(engine, "before_cursor_execute", record)
    try:
        with app.test_request_context():
            loaded = _load_user(token)
            assert loaded is not None and loaded.id == user_id
            assert loaded.unit.name == unit_name
            assert access.effective_codes(loaded) == {"home.view", "inbox.view"}
            access.forget_request_codes(loaded)
    finally:
        event.remove(engine, "before_cursor_execute", record)

    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1
    assert not db.session.dirty, "the account built from the row has nothing to write back"


def test_a_wrong_token_or_unknown_account_loads_nobody(app, make_unit, make_user):
    user = make_user(make_unit(), permissions=["home.view"])

    with app.test_request_context():
        assert _load_user(f"{user.id}:not-the-token") is None
        assert _load_user("999999:x") is None
        assert _load_user("abc:x") is None


def test_the_codes_of_several_roles_and_of_none(app, make_unit, make_user):
    unit = make_unit()
    user = make_user(unit, permissions=["home.view", "inbox.view"])
    user.roles.append(Role(unit_id=unit.id, name="第二角色", permissions=[
        RolePermission(permission_code="inbox.view"), RolePermission(permission_code="staff.manage")]))
    nobody = make_user(unit)
    db.session.flush()
    tokens = user.get_id(), nobody.get_id()
    db.session.expunge_all()

    with app.test_request_context():
        loaded, plain = _load_user(tokens[0]), _load_user(tokens[1])
        assert access.effective_codes(loaded) == {"home.view", "inbox.view", "staff.manage"}
        assert access.effective_codes(plain) == set()
        access.forget_request_codes(loaded)
        access.forget_request_codes(plain)
