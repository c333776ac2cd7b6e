"""Sign-in wiring: the user loader, the permission decorator and first-sign-in password change.

Two kinds of account share Flask-Login: staff (User, session id "id:token") and individual applicants
(Applicant, "a:id:token"). Applicants reach only the applicant blueprint (and static files); any other page
sends them to their own home (GET) or refuses them (403), so staff checks never see an applicant.

Access decisions themselves belong to services.authz.access (one place decides).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, abort, current_app, flash, g, redirect, request, session, url_for
from flask_login import current_user, logout_user
from sqlalchemy import bindparam, func, select

from app.extensions import db, loaded_from_row, login_manager
from app.models import Applicant, RolePermission, Unit, User, UserRole
from services.authz import access
from services.common import config_cache
from services.notifications import center

F = TypeVar("F", bound=Callable[..., Any])

# Pages a signed-in user who must change the password may still reach.
_PASSWORD_CHANGE_ALLOWED = {"auth.change_password", "auth.logout", "static", "expert_portal.change_password",
                            "expert_portal.logout"}
# Blueprints an applicant may reach; staff pages (and staff sign-in) are out of bounds.
# public_results / public / verify: the public notices and the certificate check, open to everyone.
APPLICANT_BLUEPRINTS = {"applicant", "declarations", "notifications", "public", "my_messages", "my_talent",
                        "public_results", "verify"}
# Experts (专家端, A9) reach their own blueprint only.
EXPERT_BLUEPRINTS = {"expert_portal"}


def is_applicant(user: Any) -> bool:
    return getattr(user, "is_applicant", False) is True


def is_expert(user: Any) -> bool:
    return getattr(user, "is_expert", False) is True


# The account, its unit and the permission codes its roles grant, as one Core read of one row: every request runs
# it. The ORM query this replaced built User, Unit (with four eager relationships), Role and RolePermission objects
# and cost more than a whole engine step (issue #3); here the two objects are built from the row and attached to the
# session as if loaded, and the codes (joined by the database into one string: one row, not one per code with the
# account's and the unit's columns repeated, issue 20) go to the permission module for this request.
_USER, _UNIT, _USER_ROLE, _GRANT = User.__table__, Unit.__table__, UserRole.__table__, RolePermission.__table__
_CODE_SEPARATOR = ","  # permission codes are dotted words (admin_config/permissions)
_CODES = (
    select(func.aggregate_strings(_GRANT.c.permission_code, _CODE_SEPARATOR))
    .select_from(_USER_ROLE.join(_GRANT, _GRANT.c.role_id == _USER_ROLE.c.role_id))
    .where(_USER_ROLE.c.user_id == bindparam("user_id"))
    .scalar_subquery()
)
_ACCOUNT_ROW = (
    # The configuration generation rides along, so the request's cached configuration (services/common/
    # config_cache.py: the inbox's business type names and unit choices …) costs no statement of its own.
    # So does the bell's unread count (services/notifications/center.py), shown on every staff page.
    select(_USER, *(column.label(f"unit__{column.name}") for column in _UNIT.c), _CODES.label("permission_codes"),
           config_cache.GENERATION_COLUMN,
           center.unread_count_column(bindparam("user_id")).label("unread_notifications"))
    .join(_UNIT, _UNIT.c.id == _USER.c.unit_id)
    .where(_USER.c.id == bindparam("user_id"))
)


@login_manager.user_loader
def _load_user(token: str) -> User | Applicant | None:
    """Sessions carry "id:session_token"; rotating the token signs the account out everywhere."""
    if token.startswith("a:"):
        return _load_applicant(token[2:])
    if token.startswith("e:"):
        from services.meetings.expert_accounts import load_account

        return load_account(token[2:])
    user_id, _, session_token = token.partition(":")
    if not user_id.isdigit():
        return None
    db.session.flush()  # as the ORM's autoflush would: the row shows what this session already changed
    found = db.session.connection().execute(_ACCOUNT_ROW, {"user_id": int(user_id)}).first()
    if found is None:
        return None
    row = found._mapping
    if not row["enabled"] or row["session_token"] != session_token:
        return None
    user = loaded_from_row(User, row, unit=loaded_from_row(Unit, row, prefix="unit__"))
    if row["config_generation"] is not None:
        config_cache.remember(row["config_generation"])
    center.remember_unread_count(center.user_recipient(user.id), int(row["unread_notifications"] or 0))
    codes = row["permission_codes"]
    access.hold_codes_for_request(user, codes.split(_CODE_SEPARATOR) if codes else ())
    return user


def _load_applicant(token: str) -> Applicant | None:
    applicant_id, _, session_token = token.partition(":")
    if not applicant_id.isdigit():
        return None
    applicant = db.session.get(Applicant, int(applicant_id))
    if applicant is None or not applicant.enabled or applicant.session_token != session_token:
        return None
    return applicant


def permission_required(code: str) -> Callable[[F], F]:
    """The user must hold `code` somewhere; views still check the target unit through services.authz.access."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not access.has_permission(current_user, code):
                abort(403)
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator


def now_seconds() -> float:
    return time.time()


def start_session() -> None:
    """A fresh session at sign-in (nothing from before survives), timed from now: staff and applicants alike."""
    session.clear()
    session.permanent = True  # the cookie itself ends with PERMANENT_SESSION_LIFETIME
    session["signed_in_at"] = session["seen_at"] = int(now_seconds())


def _session_expired() -> str:
    """Why the signed-in session has ended ("" while it lasts): idle longer than SESSION_IDLE_MINUTES, or older
    than SESSION_MAX_HOURS since sign-in, whatever the activity (A10; issue 13)."""
    now = int(now_seconds())
    signed_in_at, seen_at = session.get("signed_in_at"), session.get("seen_at")
    if not isinstance(signed_in_at, int) or not isinstance(seen_at, int):
        return "登录状态已失效，请重新登录"
    if now - seen_at > int(current_app.config["SESSION_IDLE_MINUTES"]) * 60:
        return f"超过 {current_app.config['SESSION_IDLE_MINUTES']} 分钟未操作，已自动退出，请重新登录"
    if now - signed_in_at > int(current_app.config["SESSION_MAX_HOURS"]) * 3600:
        return f"登录已超过 {current_app.config['SESSION_MAX_HOURS']} 小时，请重新登录"
    return ""


def init_app(app: Flask) -> None:
    from app.auth.views import bp

    @app.before_request
    def _end_expired_sessions() -> Any:
        if request.endpoint == "static" or not current_user.is_authenticated:
            return None
        reason = _session_expired()
        if not reason:
            session["seen_at"] = int(now_seconds())
            return None
        applicant, expert = is_applicant(current_user), is_expert(current_user)
        logout_user()
        session.clear()
        if request.method != "GET" or request.headers.get("HX-Request"):
            abort(401)
        flash(reason, "warning")
        login_page = "applicant.login" if applicant else "expert_portal.login" if expert else "auth.login"
        return redirect(url_for(login_page, next=request.full_path))

    app.register_blueprint(bp)

    @app.teardown_request
    def _forget_request_codes(_exc: BaseException | None) -> None:
        user = g.get("_login_user")
        if isinstance(user, User):
            access.forget_request_codes(user)

    @app.before_request
    def _keep_applicants_in_their_area() -> Any:
        if not is_applicant(current_user) or request.endpoint is None or request.endpoint == "static":
            return None
        if request.blueprint in APPLICANT_BLUEPRINTS:
            return None
        if request.method == "GET":
            return redirect(url_for("applicant.home"))
        abort(403)

    @app.before_request
    def _keep_experts_in_their_area() -> Any:
        if not is_expert(current_user) or request.endpoint is None or request.endpoint == "static":
            return None
        if request.blueprint in EXPERT_BLUEPRINTS:
            return None
        if request.method == "GET":
            return redirect(url_for("expert_portal.home"))
        abort(403)

    @app.before_request
    def _force_password_change() -> Any:
        if (
            current_user.is_authenticated
            and current_user.must_change_password
            and request.endpoint not in _PASSWORD_CHANGE_ALLOWED
        ):
            # An expert's initial password was shown to the committee's staff: the expert replaces it first.
            return redirect(url_for("expert_portal.change_password" if is_expert(current_user)
                                    else "auth.change_password"))
        return None
