"""Sign-in wiring: the user loader, the permission decorator and first-sign-in password change.

Access decisions themselves belong to services.access (one place decides).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, abort, redirect, request, url_for
from flask_login import current_user

from app.extensions import db, login_manager
from app.models import User
from services import access

F = TypeVar("F", bound=Callable[..., Any])

# Pages a signed-in user who must change the password may still reach.
_PASSWORD_CHANGE_ALLOWED = {"auth.change_password", "auth.logout", "static"}


@login_manager.user_loader
def _load_user(token: str) -> User | None:
    """Sessions carry "id:session_token"; rotating the token signs the account out everywhere."""
    user_id, _, session_token = token.partition(":")
    if not user_id.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.enabled or user.session_token != session_token:
        return None
    return user


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
    def _force_password_change() -> Any:
        if (
            current_user.is_authenticated
            and current_user.must_change_password
            and request.endpoint not in _PASSWORD_CHANGE_ALLOWED
        ):
            return redirect(url_for("auth.change_password"))
        return None
