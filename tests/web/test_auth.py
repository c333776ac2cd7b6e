"""Sign-in, lock-out, sessions, password change and CSRF (FEATURES A10; S 1.2.9.1.3)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient
from helpers import PASSWORD
from sqlalchemy import func, select
from werkzeug.security import check_password_hash

import app.auth.views as auth_views
from app.extensions import db
from app.models import AuditLog, User

CSRF_MESSAGE = "表单已过期或缺少安全校验（CSRF），请刷新页面后重新提交"
NEW_PASSWORD = "Newpass2027x"


@pytest.fixture
def account(make_unit, make_user) -> User:
    return make_user(make_unit(unit_type="hr", region="511100B"), admin=True, name="乐山管理员")


def sign_in(client: FlaskClient, username: str, password: str, **extra: str):
    return client.post("/login", data={"username": username, "password": password, **extra})


def is_signed_in(client: FlaskClient) -> bool:
    return client.get("/jobs/").status_code == 200


def csrf_token_of(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "the form carries no csrf_token field"
    return match.group(1)


# ---------------------------------------------------------------- signing in


def test_sign_in_with_the_right_password_opens_the_home_page(client, account):
    response = sign_in(client, account.username, PASSWORD)

    assert response.status_code == 302
    assert response.location == "/"
    assert is_signed_in(client)
    assert account.last_login_at is not None
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "auth.login", AuditLog.actor_id == account.id))


def test_sign_in_ignores_the_case_of_the_username(client, account):
    assert sign_in(client, account.username.upper(), PASSWORD).status_code == 302


def body(response) -> str:
    """The page's messages (the form echoes the name typed, which differs by design)."""
    return "|".join(re.findall(r'<div class="alert[^"]*"[^>]*>(.*?)</div>', response.get_data(as_text=True), re.S))


@pytest.mark.parametrize("failures", [1, 4])
def test_a_wrong_password_answers_exactly_as_an_unknown_user(client, account, failures):
    for _ in range(failures):
        response = sign_in(client, account.username, "Wrong0pass")
    stranger = sign_in(client, "nobody_here", "Wrong0pass")

    assert response.status_code == stranger.status_code == 401
    assert body(response) == body(stranger)
    assert "用户名或密码错误；连续失败 5 次将锁定账号 15 分钟" in body(response) and "还可尝试" not in body(response)
    assert account.failed_logins == failures
    assert not is_signed_in(client)


def test_five_failures_lock_the_account_for_fifteen_minutes(client, account):
    for _ in range(4):
        sign_in(client, account.username, "Wrong0pass")
    before = datetime.now()

    fifth = sign_in(client, account.username, "Wrong0pass")
    sixth = sign_in(client, account.username, "Wrong0pass")

    assert fifth.status_code == sixth.status_code == 401
    # Locking tells nothing to whoever does not know the password: the same answer as an unknown user.
    assert body(fifth) == body(sixth) == body(sign_in(client, "nobody_here", "Wrong0pass"))
    assert before + timedelta(minutes=14) < account.locked_until <= datetime.now() + timedelta(minutes=15)
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "auth.locked",
                                                    AuditLog.target_id == str(account.id)))


def test_locked_account_refuses_even_the_right_password(client, account):
    for _ in range(5):
        sign_in(client, account.username, "Wrong0pass")

    response = sign_in(client, account.username, PASSWORD)

    assert response.status_code == 401
    assert "账号已锁定，请 15 分钟后再试" in response.get_data(as_text=True)
    assert not is_signed_in(client)


@pytest.mark.parametrize(("minutes_later", "signs_in"), [(14, False), (16, True)])
def test_lock_lifts_after_fifteen_minutes(client, account, monkeypatch, minutes_later, signs_in):
    for _ in range(5):
        sign_in(client, account.username, "Wrong0pass")
    later = datetime.now() + timedelta(minutes=minutes_later)

    class Clock(datetime):
        @classmethod
        def now(cls, tz=None):
            return later

    monkeypatch.setattr(auth_views, "datetime", Clock)
    response = sign_in(client, account.username, PASSWORD)

    assert (response.status_code == 302) is signs_in
    if signs_in:
        assert account.locked_until is None
        assert account.failed_logins == 0
    else:
        assert "账号已锁定，请 1 分钟后再试" in response.get_data(as_text=True)


def test_lock_set_in_the_past_no_longer_blocks(client, account):
    account.locked_until = datetime.now() - timedelta(seconds=1)
    db.session.flush()

    assert sign_in(client, account.username, PASSWORD).status_code == 302


@pytest.mark.parametrize("password", [PASSWORD, "Wrong0pass"])
def test_unknown_user_gets_the_generic_message(client, password):
    response = sign_in(client, "nobody_here", password)
    page = response.get_data(as_text=True)

    assert response.status_code == 401
    assert "用户名或密码错误" in page
    assert "还可尝试" not in page  # nothing tells a stranger whether the name exists


def test_disabled_account_is_refused(client, make_unit, make_user):
    user = make_user(make_unit(), enabled=False)

    response = sign_in(client, user.username, PASSWORD)

    assert response.status_code == 401
    assert "账号已停用，请联系本单位管理员" in response.get_data(as_text=True)
    assert not is_signed_in(client)


@pytest.mark.parametrize("field", ["username", "password"])
def test_sign_in_with_a_blank_field_names_it(client, account, field):
    data = {"username": account.username, "password": PASSWORD, field: ""}

    response = client.post("/login", data=data)

    assert response.status_code == 400
    assert {"username": "用户名：必填", "password": "密码：必填"}[field] in response.get_data(as_text=True)


# ---------------------------------------------------------------- the session


def test_session_cookie_is_http_only_and_same_site_lax(client, account):
    response = sign_in(client, account.username, PASSWORD)

    cookies = [value for key, value in response.headers.items() if key == "Set-Cookie"]
    session_cookie = next(c for c in cookies if c.startswith("session="))
    attributes = {part.strip().lower() for part in session_cookie.split(";")}
    assert "httponly" in attributes
    assert "samesite=lax" in attributes


def test_sign_out_requires_post(client, account):
    sign_in(client, account.username, PASSWORD)

    assert client.get("/logout").status_code == 405
    assert is_signed_in(client)

    response = client.post("/logout")

    assert response.status_code == 302
    assert response.location == "/login"
    assert not is_signed_in(client)


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "//evil.example/login",
        "https://evil.example/",
        "http:evil.example",
        "/\\evil.example",
        "/\t/evil.example",
        "javascript:alert(1)",
    ],
)
def test_sign_in_refuses_to_redirect_off_site(client, account, target):
    response = sign_in(client, account.username, PASSWORD, next=target)

    # What the browser receives: a path on this site, never something it would read as another host
    # (browsers treat "\\" as "/" and drop tabs, so both are checked on the header as sent).
    location = response.headers["Location"]
    assert response.status_code == 302
    assert location.startswith("/")
    assert not location.startswith("//")
    assert "\\" not in location
    assert not urlsplit(location).netloc


def test_sign_in_with_a_protocol_relative_next_goes_home(client, account):
    assert sign_in(client, account.username, PASSWORD, next="//evil.example").location == "/"


def test_sign_in_follows_a_same_site_next(client, account):
    response = sign_in(client, account.username, PASSWORD, next="/staff/?keyword=a")

    assert response.location == "/staff/?keyword=a"


# ---------------------------------------------------------------- changing the password


def change_password(client: FlaskClient, old: str, new: str, confirm: str | None = None):
    return client.post("/password", data={"old_password": old, "new_password": new,
                                          "confirm_password": new if confirm is None else confirm})


@pytest.mark.parametrize(
    ("old", "new", "confirm", "message"),
    [
        ("Wrong0pass", NEW_PASSWORD, None, "原密码：不正确"),
        (PASSWORD, "Ab1", None, "密码：长度须为 8–64 位"),
        (PASSWORD, "a1" * 33, None, "新密码：不能超过 64 个字"),
        (PASSWORD, "onlyletters", None, "密码：须同时包含字母和数字"),
        (PASSWORD, "1234567890", None, "密码：须同时包含字母和数字"),
        (PASSWORD, PASSWORD, None, "新密码：不能与原密码相同"),
        (PASSWORD, NEW_PASSWORD, "Other2027x", "确认新密码：两次输入的新密码不一致"),
        (PASSWORD, "", None, "新密码：必填"),
    ],
)
def test_change_password_enforces_the_policy(client, account, old, new, confirm, message):
    sign_in(client, account.username, PASSWORD)
    token = account.session_token

    response = change_password(client, old, new, confirm)

    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert check_password_hash(account.password_hash, PASSWORD)
    assert account.session_token == token


def test_change_password_rotates_the_session_token(app, client, account):
    sign_in(client, account.username, PASSWORD)
    elsewhere = app.test_client()
    sign_in(elsewhere, account.username, PASSWORD)
    token = account.session_token

    response = change_password(client, PASSWORD, NEW_PASSWORD)

    assert response.status_code == 302
    assert account.session_token != token
    assert is_signed_in(client), "the session that changed the password stays signed in"
    assert elsewhere.get("/jobs/").location.startswith("/login"), "every other session is signed out"
    assert sign_in(app.test_client(), account.username, PASSWORD).status_code == 401
    assert sign_in(app.test_client(), account.username, NEW_PASSWORD).status_code == 302


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/"),
        ("GET", "/units/own"),
        ("GET", "/units/subordinates"),
        ("GET", "/units/subordinates/export"),
        ("GET", "/units/regions.json"),
        ("GET", "/staff/"),
        ("POST", "/staff/new"),
        ("GET", "/roles/"),
        ("GET", "/audit-log/"),
        ("GET", "/login"),
        ("GET", "/no-such-page"),
    ],
)
def test_must_change_password_redirects_every_page_to_password(client, account, method, path):
    account.must_change_password = True
    db.session.flush()
    sign_in(client, account.username, PASSWORD)

    response = client.open(path, method=method)

    assert response.status_code == 302
    assert response.location == "/password"


def test_must_change_password_still_reaches_the_password_form_and_sign_out(client, account):
    account.must_change_password = True
    db.session.flush()
    sign_in(client, account.username, PASSWORD)

    assert client.get("/password").status_code == 200
    assert client.post("/logout").location == "/login"


def test_changing_the_password_lifts_the_redirect(client, account):
    account.must_change_password = True
    db.session.flush()
    sign_in(client, account.username, PASSWORD)

    change_password(client, PASSWORD, NEW_PASSWORD)

    assert account.must_change_password is False
    assert client.get("/units/own").status_code == 200


# ---------------------------------------------------------------- CSRF


@pytest.fixture
def csrf_enabled(app):
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        yield
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_sign_in_without_csrf_token_is_refused(client, account, csrf_enabled):
    response = sign_in(client, account.username, PASSWORD)

    assert response.status_code == 400
    assert CSRF_MESSAGE in response.get_data(as_text=True)
    assert account.last_login_at is None


def test_sign_in_with_the_token_from_the_form_is_accepted(client, account, csrf_enabled):
    token = csrf_token_of(client.get("/login").get_data(as_text=True))

    response = sign_in(client, account.username, PASSWORD, csrf_token=token)

    assert response.status_code == 302
    assert is_signed_in(client)


def test_staff_create_checks_the_csrf_token(client, account, csrf_enabled):
    sign_in(client, account.username, PASSWORD, csrf_token=csrf_token_of(client.get("/login").get_data(as_text=True)))
    data = {"username": "csrf_staff", "name": "新同事", "phone": "13912345678", "password": NEW_PASSWORD}
    count = db.session.scalar(select(func.count()).select_from(User))

    refused = client.post("/staff/new", data=data)

    assert refused.status_code == 400
    assert CSRF_MESSAGE in refused.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(User)) == count

    token = csrf_token_of(client.get("/staff/new").get_data(as_text=True))
    accepted = client.post("/staff/new", data={**data, "csrf_token": token})

    assert accepted.status_code == 302
    assert db.session.scalar(select(User).where(User.username == "csrf_staff")) is not None
