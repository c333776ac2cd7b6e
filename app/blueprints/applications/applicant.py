"""申报人 (individual applicants, H 一; FEATURES A8): registration, sign-in, 申报人首页 and 个人信息.

Applicants sign in here, not at /login; staff are refused on these pages (403) and applicants on staff pages
(app.auth sends them back here). Every form carries CSRF; bad input re-renders the form with its messages.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from functools import wraps
from typing import Any

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user

from app.auth import is_applicant, start_session
from app.auth.views import _safe_next
from app.extensions import db
from app.models import Applicant, Unit
from app.schemas import load_or_400
from app.schemas.applicant import (
    ApplicantLoginSchema,
    ApplicantPasswordSchema,
    BasicInfoSchema,
    EducationSchema,
    RegisterSchema,
    TitleSchema,
    WorkSchema,
)
from app.web import client_ip, render_form, wants_json
from services.applications import applicants, blacklist
from services.common.errors import ServiceError
from services.org.accounts import LoginFailed

bp = Blueprint("applicant", __name__, url_prefix="/applicant")


def applicant_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Signed-out visitors go to the applicant sign-in; staff accounts are refused."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            flash("请先登录", "warning")
            return redirect(url_for("applicant.login", next=request.path))
        if not is_applicant(current_user):
            abort(403)
        return view(*args, **kwargs)

    return wrapper


def _me() -> Applicant:
    return current_user._get_current_object()  # type: ignore[no-any-return]


def _signed_in_home() -> Any:
    return redirect(url_for("applicant.home" if is_applicant(current_user) else "home.index"))


def _chosen_unit(unit_id: Any) -> Unit | None:
    return db.session.get(Unit, int(unit_id)) if str(unit_id or "").isdigit() else None


def _options() -> dict[str, Any]:
    """The choices of admin_config/applicants.yaml as (value, label) pairs for the select macro."""
    opts = applicants.options()
    return {"choices": {name: [(v, v) for v in getattr(opts, name)] for name in vars(opts)}}


# ---------------------------------------------------------------- registration and sign-in


@bp.route("/register", methods=["GET", "POST"])
def register() -> Any:
    if current_user.is_authenticated:
        return _signed_in_home()
    if request.method == "GET":
        return render_template("applicant/register.html", values={}, errors={}, unit=None, **_options())
    try:
        data = load_or_400(RegisterSchema(), request.form)
        applicant = applicants.register_applicant(data, ip=client_ip())
    except ServiceError as exc:
        return render_form("applicant/register.html", exc, unit=_chosen_unit(request.form.get("unit_id")),
                           **_options())
    db.session.commit()
    flash(f"注册成功，请使用证件号码或手机号码登录（{applicant.name}）", "success")
    return redirect(url_for("applicant.login"))


@bp.route("/units")
def units() -> Any:
    """The 工作单位 picker: active employer units by name, at most 20 (htmx fragment, or JSON)."""
    found = applicants.find_employers(request.args.get("q", ""))
    if wants_json():
        return jsonify([{"id": u.id, "name": u.name} for u in found])
    return render_template("applicant/_unit_options.html", found=found, selected=None,
                           searched=bool(request.args.get("q", "").strip()))


def _safe_applicant_next(target: str | None) -> str:
    path = _safe_next(target)
    return path if path.startswith("/applicant/") else url_for("applicant.home")


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    if current_user.is_authenticated:
        return _signed_in_home()
    if request.method == "GET":
        return render_template("applicant/login.html", next=request.args.get("next", ""))
    data = load_or_400(ApplicantLoginSchema(), request.form)
    try:
        applicant = applicants.authenticate(data["account"], data["password"], datetime.now(), ip=client_ip())
    except LoginFailed as exc:
        db.session.commit()  # keep the failure count and any lock
        return render_template("applicant/login.html", error=exc.message, account=data["account"],
                               next=data.get("next") or ""), 401
    db.session.commit()
    # A fresh session on sign-in (nothing from before survives), with the idle and absolute limits of staff.
    start_session()
    login_user(applicant)
    return redirect(_safe_applicant_next(data.get("next")))


@bp.route("/logout", methods=["POST"])
@applicant_required
def logout() -> Any:
    applicants.record_logout(_me(), ip=client_ip())
    db.session.commit()
    logout_user()
    session.clear()
    flash("已安全退出", "info")
    return redirect(url_for("applicant.login"))


@bp.route("/password", methods=["GET", "POST"])
@applicant_required
def change_password() -> Any:
    if request.method == "GET":
        return render_template("applicant/password.html", errors={})
    try:
        data = load_or_400(ApplicantPasswordSchema(), request.form)
        applicants.change_password(_me(), data["old_password"], data["new_password"], data["confirm_password"])
    except ServiceError as exc:
        return render_template("applicant/password.html", errors=exc.errors, error=exc.message), exc.status
    db.session.commit()
    login_user(_me())  # the session token rotated; keep this session signed in
    flash("密码已修改，其他设备上的登录已失效", "success")
    return redirect(url_for("applicant.home"))


# ---------------------------------------------------------------- 申报人首页 and 个人信息


@bp.route("/")
@applicant_required
def home() -> Any:
    me = _me()
    return render_template("applicant/home.html", me=me, sections=applicants.completeness(me),
                           ban=blacklist.active_entry(me.id_number), ban_message=blacklist.ban_message)


@bp.route("/profile")
@applicant_required
def profile() -> Any:
    return render_template("applicant/profile.html", me=_me())


def _basic_values(me: Applicant) -> dict[str, Any]:
    return {"phone": me.phone, "email": me.email or "", "ethnicity": me.ethnicity or "",
            "political_status": me.political_status or "", "unit_id": me.unit_id,
            "work_start_date": me.work_start_date or "", "specialty": me.specialty or ""}


@bp.route("/profile/basic", methods=["GET", "POST"])
@applicant_required
def edit_basic() -> Any:
    me = _me()
    if request.method == "GET":
        return render_template("applicant/basic_form.html", me=me, values=_basic_values(me), errors={},
                               unit=me.unit, **_options())
    try:
        data = load_or_400(BasicInfoSchema(), request.form)
        applicants.update_basic_info(me, data, date.today())
    except ServiceError as exc:
        return render_form("applicant/basic_form.html", exc, me=_me(),
                           unit=_chosen_unit(request.form.get("unit_id")), **_options())
    db.session.commit()
    flash("个人基本信息已保存", "success")
    return redirect(url_for("applicant.profile"))


@bp.route("/profile/title", methods=["GET", "POST"])
@applicant_required
def edit_title() -> Any:
    me = _me()
    context = {"me": me, "groups": applicants.title_choices(), **_options()}
    if request.method == "GET":
        values = {"title_id": me.title_id or "", "title_obtained_on": me.title_obtained_on or "",
                  "title_method": me.title_method or "", "title_certificate_no": me.title_certificate_no or ""}
        return render_template("applicant/title_form.html", values=values, errors={}, **context)
    try:
        data = load_or_400(TitleSchema(), request.form)
        applicants.update_title(me, data, date.today())
    except ServiceError as exc:
        return render_form("applicant/title_form.html", exc, **context)
    db.session.commit()
    flash("现职称已保存", "success")
    return redirect(url_for("applicant.profile"))


def _row_values(row: Any, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: getattr(row, name) or "" for name in names} if row is not None else {}


EDUCATION_FIELDS = ("education", "degree", "school", "major", "start_date", "end_date", "certificate_no")
WORK_FIELDS = ("start_date", "end_date", "unit_name", "position")


@bp.route("/educations/new", methods=["GET", "POST"])
@bp.route("/educations/<int:education_id>/edit", methods=["GET", "POST"])
@applicant_required
def edit_education(education_id: int | None = None) -> Any:
    me = _me()
    row = applicants.load_education(me, education_id) if education_id else None
    if request.method == "GET":
        return render_template("applicant/education_form.html", row=row, values=_row_values(row, EDUCATION_FIELDS),
                               errors={}, **_options())
    try:
        data = load_or_400(EducationSchema(), request.form)
        applicants.save_education(me, row, data, date.today())
    except ServiceError as exc:
        return render_form("applicant/education_form.html", exc, row=row, **_options())
    db.session.commit()
    flash("学历信息已保存", "success")
    return redirect(url_for("applicant.profile"))


@bp.route("/educations/<int:education_id>/delete", methods=["POST"])
@applicant_required
def delete_education(education_id: int) -> Any:
    me = _me()
    applicants.delete_education(me, applicants.load_education(me, education_id))
    db.session.commit()
    flash("学历记录已删除", "success")
    return redirect(url_for("applicant.profile"))


@bp.route("/work/new", methods=["GET", "POST"])
@bp.route("/work/<int:work_id>/edit", methods=["GET", "POST"])
@applicant_required
def edit_work(work_id: int | None = None) -> Any:
    me = _me()
    row = applicants.load_work(me, work_id) if work_id else None
    if request.method == "GET":
        return render_template("applicant/work_form.html", row=row, values=_row_values(row, WORK_FIELDS), errors={})
    try:
        data = load_or_400(WorkSchema(), request.form)
        applicants.save_work(me, row, data, date.today())
    except ServiceError as exc:
        return render_form("applicant/work_form.html", exc, row=row)
    db.session.commit()
    flash("工作经历已保存", "success")
    return redirect(url_for("applicant.profile"))


@bp.route("/work/<int:work_id>/delete", methods=["POST"])
@applicant_required
def delete_work(work_id: int) -> Any:
    me = _me()
    applicants.delete_work(me, applicants.load_work(me, work_id))
    db.session.commit()
    flash("工作经历已删除", "success")
    return redirect(url_for("applicant.profile"))
