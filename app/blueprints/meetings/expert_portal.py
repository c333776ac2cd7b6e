"""专家端 (FEATURES A9, G8; Hunan guide H 1.3): the experts' sign-in, their meetings, each applicant's materials,
材料复审 / 打分 / 投票 / 评审意见, and 提交.

Experts sign in here, not at /login; app.auth keeps a signed-in expert inside this blueprint, and these pages
refuse staff and applicants (403). A meeting the expert was not confirmed for, or whose voting is not open, is 404.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import wraps
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user

from app.auth import is_expert, start_session
from app.auth.views import _safe_next
from app.extensions import db
from app.models import ExpertAccount
from app.web import client_ip, send_stored
from services.common.errors import InvalidInput, NotFound, ServiceError
from services.meetings import expert_accounts, voting
from services.org.accounts import LoginFailed

bp = Blueprint("expert_portal", __name__, url_prefix="/expert")


def expert_required(view: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            flash("请先登录", "warning")
            return redirect(url_for("expert_portal.login", next=request.path))
        if not is_expert(current_user):
            abort(403)
        return view(*args, **kwargs)

    return wrapper


def _me() -> ExpertAccount:
    return current_user._get_current_object()  # type: ignore[no-any-return]


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    if current_user.is_authenticated:
        return redirect(url_for("expert_portal.home" if is_expert(current_user) else "home.index"))
    if request.method == "GET":
        return render_template("expert_portal/login.html", next=request.args.get("next", ""))
    account, password = request.form.get("account", "").strip()[:30], request.form.get("password", "")[:64]
    if not account or not password:
        return render_template("expert_portal/login.html", error="证件号码或手机号码、密码：必填", account=account,
                               next=request.form.get("next", "")), 400
    try:
        expert = expert_accounts.authenticate(account, password, datetime.now(), ip=client_ip())
    except LoginFailed as exc:
        db.session.commit()  # keep the failure count and any lock
        return render_template("expert_portal/login.html", error=exc.message, account=account,
                               next=request.form.get("next", "")), 401
    db.session.commit()
    start_session()
    login_user(expert)
    target = _safe_next(request.form.get("next"))
    return redirect(target if target.startswith("/expert/") else url_for("expert_portal.home"))


@bp.route("/logout", methods=["POST"])
@expert_required
def logout() -> Any:
    logout_user()
    flash("已安全退出", "info")
    return redirect(url_for("expert_portal.login"))


@bp.route("/password", methods=["GET", "POST"])
@expert_required
def change_password() -> Any:
    if request.method == "GET":
        return render_template("expert_portal/password.html")
    try:
        expert_accounts.change_password(_me(), request.form.get("old_password", ""),
                                        request.form.get("new_password", ""), request.form.get("confirm_password", ""))
    except ServiceError as exc:
        return render_template("expert_portal/password.html", error=exc.message, errors=exc.errors), exc.status
    db.session.commit()
    login_user(_me())
    flash("密码已修改", "success")
    return redirect(url_for("expert_portal.home"))


@bp.route("/")
@expert_required
def home() -> Any:
    return render_template("expert_portal/home.html", meetings=voting.expert_meetings(_me()))


@bp.route("/meetings/<int:meeting_id>")
@expert_required
def meeting(meeting_id: int) -> Any:
    found, seat = voting.seat_of(_me(), meeting_id)
    return _meeting_page(found, seat)


def _meeting_page(found: Any, seat: Any, error: str = "") -> Any:
    rows = voting.ballot_rows(found, seat)
    submission = voting.latest_submissions(found, found.current_round).get(seat.id)
    page = render_template("expert_portal/meeting.html", meeting=found, seat=seat, rows=rows,
                           submitted=voting.is_submitted(submission), submission=submission, error=error)
    return (page, 400) if error else page


@bp.route("/meetings/<int:meeting_id>/applicants/<int:row_id>", methods=["GET", "POST"])
@expert_required
def ballot(meeting_id: int, row_id: int) -> Any:
    found, seat = voting.seat_of(_me(), meeting_id)
    applicant = voting.load_ballot_applicant(found, seat, row_id)
    error, errors = "", {}
    if request.method == "POST":
        try:
            voting.save_ballot(seat, found, applicant, request.form)
        except ServiceError as exc:
            if exc.status != 400:
                raise
            error, errors = exc.message, exc.errors
        else:
            db.session.commit()
            flash(f"{applicant.declaration.applicant.name}：已保存", "success")
            return redirect(url_for("expert_portal.meeting", meeting_id=found.id))
    row = next(r for r in voting.ballot_rows(found, seat) if r.applicant.id == applicant.id)
    submission = voting.latest_submissions(found, found.current_round).get(seat.id)
    page = render_template("expert_portal/ballot.html", meeting=found, seat=seat, row=row,
                           submitted=voting.is_submitted(submission), error=error, errors=errors,
                           values=request.form if error else {})
    return (page, 400) if error else page


@bp.route("/meetings/<int:meeting_id>/applicants/<int:row_id>/materials/<material_key>/<int:file_index>")
@expert_required
def material(meeting_id: int, row_id: int, material_key: str, file_index: int) -> Any:
    found, seat = voting.seat_of(_me(), meeting_id)
    applicant = voting.load_ballot_applicant(found, seat, row_id)
    files = applicant.declaration.materials.get(material_key) or []
    if file_index >= len(files):
        raise NotFound("材料不存在")
    return send_stored(files[file_index])


@bp.route("/meetings/<int:meeting_id>/plan-materials/<int:file_index>")
@expert_required
def plan_material(meeting_id: int, file_index: int) -> Any:
    """专家评议材料 the committee uploaded for the meeting."""
    from services.meetings import assignment

    found, _seat = voting.seat_of(_me(), meeting_id)
    return send_stored(assignment.material_of(found, file_index))


@bp.route("/meetings/<int:meeting_id>/submit", methods=["POST"])
@expert_required
def submit(meeting_id: int) -> Any:
    found, seat = voting.seat_of(_me(), meeting_id)
    try:
        voting.submit_ballots(seat, found)
    except InvalidInput as exc:
        return _meeting_page(found, seat, exc.message)
    db.session.commit()
    flash("已提交", "success")
    return redirect(url_for("expert_portal.meeting", meeting_id=found.id))
