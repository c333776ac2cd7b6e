"""Signed-in sessions end (issue 13 "Hardening"): staff and applicants alike, after SESSION_IDLE_MINUTES (default
30) without a request, and SESSION_MAX_HOURS (default 8) after sign-in whatever the activity."""

from __future__ import annotations

import pytest

import app.auth as auth


@pytest.fixture
def clock(monkeypatch):
    now = {"t": 1_800_000_000.0}
    monkeypatch.setattr(auth, "now_seconds", lambda: now["t"])

    def advance(minutes: float) -> None:
        now["t"] += minutes * 60

    return advance


def test_the_defaults_are_thirty_minutes_idle_and_eight_hours(app):
    assert app.config["SESSION_IDLE_MINUTES"] == 30 and app.config["SESSION_MAX_HOURS"] == 8


def test_a_staff_session_ends_after_thirty_idle_minutes(client, login, make_unit, make_user, clock):
    login(make_user(make_unit()))
    clock(29)
    assert client.get("/jobs/").status_code == 200  # a request within the limit keeps it alive
    clock(29)
    assert client.get("/jobs/").status_code == 200
    clock(31)

    response = client.get("/jobs/")

    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert "超过 30 分钟未操作" in client.get("/login").get_data(as_text=True)
    assert client.get("/jobs/").status_code == 302  # signed out for good
    clock(1)
    assert client.post("/logout").status_code in (302, 401)


def test_an_active_staff_session_still_ends_after_eight_hours(client, login, make_unit, make_user, clock):
    login(make_user(make_unit()))
    for _ in range(16):  # a request every 29 minutes (7 h 44 min in all): never idle
        clock(29)
        assert client.get("/jobs/").status_code == 200
    clock(29)  # 8 h 13 min after sign-in

    response = client.get("/jobs/")

    assert response.status_code == 302 and "登录已超过 8 小时" in client.get("/login").get_data(as_text=True)


def test_a_post_after_the_idle_limit_is_refused_and_writes_nothing(client, login, make_unit, make_user, clock):
    login(make_user(make_unit(), admin=True))
    clock(31)

    assert client.post("/inbox/opinions", data={"text": "同意"}).status_code == 401


def test_an_applicant_session_ends_after_the_idle_limit(client, login_applicant, make_unit, make_applicant, clock):
    login_applicant(make_applicant(make_unit()))
    assert client.get("/applicant/").status_code == 200
    clock(31)

    response = client.get("/applicant/")

    assert response.status_code == 302 and "/applicant/login" in response.headers["Location"]


def test_a_first_sign_in_starts_with_default_opinions_for_the_units_type(client, login, make_unit, make_user):
    from app.extensions import db
    from app.models import CommonOpinion
    from services.common import opinions

    user = make_user(make_unit(), permissions=["inbox.view"])  # of a 申报单位
    login(user)
    texts = list(db.session.scalars(db.select(CommonOpinion.text).where(CommonOpinion.user_id == user.id)
                                    .order_by(CommonOpinion.sort_order)))
    assert texts == opinions.DEFAULT_OPINIONS["declaring"]
    assert "经公示无异议，同意推荐上报" in client.get("/inbox/opinions").get_data(as_text=True)
    db.session.execute(db.delete(CommonOpinion).where(CommonOpinion.user_id == user.id))
    client.post("/logout")
    login(user)  # not a first sign-in: what the user deleted stays deleted
    assert db.session.scalar(db.select(db.func.count()).where(CommonOpinion.user_id == user.id)) == 0
