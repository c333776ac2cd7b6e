"""登录 / 退出 / 修改密码."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from app.auth import start_session
from app.extensions import db
from app.schemas import load_or_400
from app.schemas.accounts import ChangePasswordSchema, LoginSchema
from app.web import client_ip
from services.common import audit_log
from services.common.errors import InvalidInput
from services.org import accounts

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths: an open redirect would help phishing. Browsers read a backslash as a
    slash ("/\\evil.example" is "//evil.example") and drop tabs and newlines, so those are refused too."""
    if (target and target.startswith("/") and not target.startswith("//") and "\\" not in target
            and not any(ord(c) < 0x20 or ord(c) == 0x7F for c in target) and not urlsplit(target).netloc):
        return target
    return url_for("home.index")


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    if request.method == "GET":
        return render_template("auth/login.html", next=request.args.get("next", ""))
    data = load_or_400(LoginSchema(), request.form)
    try:
        user = accounts.authenticate(data["username"], data["password"], datetime.now(), ip=client_ip())
    except accounts.LoginFailed as exc:
        db.session.commit()  # keep the failure count and any lock
        return render_template("auth/login.html", error=exc.message, username=data["username"],
                               next=data.get("next") or ""), 401
    db.session.commit()
    start_session()
    login_user(user)
    return redirect(_safe_next(data.get("next")))


@bp.route("/logout", methods=["POST"])
@login_required
def logout() -> Any:
    audit_log.record(current_user, "auth.logout", "退出系统", "user", current_user.id, ip=client_ip())
    db.session.commit()
    logout_user()
    flash("已安全退出", "info")
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password() -> Any:
    if request.method == "GET":
        return render_template("auth/change_password.html")
    data = load_or_400(ChangePasswordSchema(), request.form)
    if data["new_password"] != data["confirm_password"]:
        raise InvalidInput("确认新密码：两次输入的新密码不一致", field="confirm_password")
    accounts.change_password(current_user, data["old_password"], data["new_password"])
    db.session.commit()
    login_user(current_user)  # the session token rotated; keep this session signed in
    flash("密码已修改", "success")
    return redirect(url_for("home.index"))
