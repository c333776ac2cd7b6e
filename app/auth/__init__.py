"""Sign-in wiring: the user loader, the permission decorator and first-sign-in password change.

Two kinds of account share Flask-Login: staff (User, session id "id:token") and individual applicants
(Applicant, "a:id:token"). Applicants reach only the applicant blueprint (and static files); any other page
sends them to their own home (GET) or refuses them (403), so staff checks never see an applicant.

Access decisions themselves belong to services.access (one place decides).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, abort, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import bindparam, select
from sqlalchemy.orm import contains_eager

from app.extensions import db, login_manager
from app.models import Applicant, Role, RolePermission, User, UserRole
from services import access

F = TypeVar("F", bound=Callable[..., Any])

# Pages a signed-in user who must change the password may still reach.
_PASSWORD_CHANGE_ALLOWED = {"auth.change_password", "auth.logout", "static"}
# Blueprints an applicant may reach; staff pages (and staff sign-in) are out of bounds.
APPLICANT_BLUEPRINTS = {"applicant"}


def is_applicant(user: Any) -> bool:
    return getattr(user, "is_applicant", False) is True


# One query for the account, its unit and its roles' permissions, which every permission check reads; built once
# (every request runs it). Flat outer joins: joinedload nests (user_role JOIN role), which SQLite materializes by
# scanning user_role.
_USER_QUERY = (
    select(User).outerjoin(UserRole, UserRole.user_id == User.id).outerjoin(Role, Role.id == UserRole.role_id)
    .outerjoin(RolePermission, RolePermission.role_id == Role.id).where(User.id == bindparam("user_id"))
    .options(contains_eager(User.roles).contains_eager(Role.permissions))
)


@login_manager.user_loader
def _load_user(token: str) -> User | Applicant | None:
    """Sessions carry "id:session_token"; rotating the token signs the account out everywhere."""
    if token.startswith("a:"):
        return _load_applicant(token[2:])
    user_id, _, session_token = token.partition(":")
    if not user_id.isdigit():
        return None
    user = db.session.scalars(_USER_QUERY, {"user_id": int(user_id)}).unique().first()
    if user is None or not user.enabled or user.session_token != session_token:
        return None
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
    """The user must hold `code` somewhere; views still check the target unit through services.access."""

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


def init_app(app: Flask) -> None:
    from app.auth.views import bp

    app.register_blueprint(bp)

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
    def _force_password_change() -> Any:
        if (
            current_user.is_authenticated
            and current_user.must_change_password
            and request.endpoint not in _PASSWORD_CHANGE_ALLOWED
        ):
            return redirect(url_for("auth.change_password"))
        return None
