"""Individual applicants' accounts and profile (申报人, Hunan guide H 一 个人注册/登录/个人信息; FEATURES A8).

Rules owned here:
- Registration is real-name: 姓名, 证件类型 and 证件号码 (GB 11643-1999, checked by services.reference.validation) are
  fixed once registered, because declarations, certificates and the blacklist all key on them; 性别 and
  出生日期 are derived from the number, never typed. One account per 证件号码 and per 手机号.
- The 工作单位 is an active unit of an employer type (admin_config/applicants.yaml employer_unit_types).
- Passwords and sign-in follow the staff rules (services.org.accounts, A10): the same policy, the same lock-out
  after LOGIN_MAX_FAILURES failures for LOGIN_LOCK_MINUTES; a password change signs out everywhere.
- The profile (basic info, 学历学位, 工作经历, 现职称) is kept across years; a declaration copies it.
  Dates are not in the future, not before the birth date, and every period starts before it ends.
Applicants are not staff: their actions go to the audit trail with no staff actor and their own name.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from flask import current_app
from sqlalchemy import or_, select
from werkzeug.security import check_password_hash

from app.extensions import db
from app.models import Applicant, ApplicantEducation, ApplicantWork, Title, TitleSeries, Unit
from services.common import audit_log
from services.common.errors import Conflict, InvalidInput, NotFound
from services.org.accounts import LoginFailed, check_password_policy, failed_login_message, hash_password
from services.reference.validation import id_number_birth_date, id_number_gender, normalize_id_number

UNIT_SEARCH_LIMIT = 20


@dataclass(frozen=True)
class Options:
    employer_unit_types: tuple[str, ...]
    id_types: tuple[str, ...]
    ethnicities: tuple[str, ...]
    political_statuses: tuple[str, ...]
    educations: tuple[str, ...]
    degrees: tuple[str, ...]
    title_methods: tuple[str, ...]


@lru_cache(maxsize=4)
def _options_from(config_dir: str) -> Options:
    raw = yaml.safe_load((Path(config_dir) / "applicants.yaml").read_text(encoding="utf-8"))
    return Options(**{name: tuple(raw[name]) for name in Options.__dataclass_fields__})


def options() -> Options:
    """The choices of admin_config/applicants.yaml."""
    return _options_from(str(current_app.config["ADMIN_CONFIG_DIR"]))


# ---------------------------------------------------------------- registration and sign-in


def find_employers(keyword: str, limit: int = UNIT_SEARCH_LIMIT) -> list[Unit]:
    """Active employer units whose name contains `keyword`, for the public 工作单位 picker."""
    keyword = keyword.strip()[:50]
    if not keyword:
        return []
    return list(db.session.scalars(
        select(Unit).where(Unit.status == "active", Unit.unit_type_code.in_(options().employer_unit_types),
                           Unit.name.icontains(keyword, autoescape=True))
        .order_by(Unit.name).limit(min(limit, UNIT_SEARCH_LIMIT))
    ))


def _employer(unit_id: int | None) -> Unit:
    unit = db.session.get(Unit, unit_id) if unit_id else None
    if unit is None:
        raise InvalidInput("工作单位：请从查询结果中选择单位", field="unit_id")
    if unit.status != "active" or unit.unit_type_code not in options().employer_unit_types:
        raise InvalidInput("工作单位：只能选择已审核通过的申报单位", field="unit_id")
    return unit


def _check_choice(value: str | None, allowed: tuple[str, ...], label: str, field: str) -> None:
    if value is not None and value not in allowed:
        raise InvalidInput(f"{label}：请选择有效的选项", field=field)


def _check_unique(id_number: str | None, phone: str | None, applicant: Applicant | None = None) -> None:
    own_id = applicant.id if applicant else -1
    if id_number and db.session.scalar(select(Applicant.id).where(Applicant.id_number == id_number,
                                                                  Applicant.id != own_id)):
        raise Conflict("证件号码：该证件号码已注册，请直接登录；忘记密码请联系所在单位", field="id_number")
    if phone and db.session.scalar(select(Applicant.id).where(Applicant.phone == phone, Applicant.id != own_id)):
        raise Conflict("手机号码：已被其他账号使用", field="phone")


def _check_password(password: str, field: str, label: str) -> None:
    """The staff password policy, with the message naming this form's field (密码 / 新密码)."""
    try:
        check_password_policy(password, field=field)
    except InvalidInput as exc:
        raise InvalidInput(exc.message.replace("密码：", f"{label}：", 1), field=field) from exc


def _record(applicant: Applicant, action: str, summary: str, detail: dict[str, object] | None = None,
            ip: str = "") -> None:
    entry = audit_log.record(None, action, summary, "applicant", applicant.id, detail=detail, ip=ip,
                             unit_id=applicant.unit_id)
    entry.actor_name = f"申报人 {applicant.name}"[:30]


def register_applicant(data: dict[str, Any], ip: str = "") -> Applicant:
    """个人注册: nothing is written unless every rule holds."""
    _check_choice(data["id_type"], options().id_types, "证件类型", "id_type")
    id_number = normalize_id_number(data["id_number"])
    _check_password(data["password"], "password", "密码")
    if data["password"] != data["confirm_password"]:
        raise InvalidInput("确认密码：两次输入的密码不一致", field="confirm_password")
    unit = _employer(data.get("unit_id"))
    _check_unique(id_number, data["phone"])
    applicant = Applicant(
        name=data["name"], id_type=data["id_type"], id_number=id_number, gender=id_number_gender(id_number),
        birth_date=id_number_birth_date(id_number), phone=data["phone"], unit_id=unit.id,
        password_hash=hash_password(data["password"]), session_token=secrets.token_hex(8),
    )
    db.session.add(applicant)
    db.session.flush()
    _record(applicant, "applicant.register", f"申报人 {applicant.name} 注册账号（{unit.name}）", ip=ip)
    return applicant


_DUMMY_HASH: str | None = None


def _find_account(account: str) -> Applicant | None:
    """Sign in with the 证件号码 (any case of x) or the 手机号码."""
    account = account.strip().upper()
    return db.session.scalar(select(Applicant).where(or_(Applicant.id_number == account, Applicant.phone == account)))


def authenticate(account: str, password: str, now: datetime, ip: str = "") -> Applicant:
    """Check credentials; count failures and lock the account after too many (A10, as for staff). A wrong
    password answers as an unknown account does: only who knows the password learns that it is locked."""
    global _DUMMY_HASH
    applicant = _find_account(account)
    if applicant is None:
        # Compare against a dummy hash so that the reply time does not reveal which accounts exist.
        _DUMMY_HASH = _DUMMY_HASH or hash_password(secrets.token_hex(8))
        check_password_hash(_DUMMY_HASH, password)
        raise LoginFailed(failed_login_message("账号或密码错误"))
    lock_minutes = int(current_app.config["LOGIN_LOCK_MINUTES"])
    if not check_password_hash(applicant.password_hash, password):
        if applicant.locked_until is not None and applicant.locked_until > now:
            raise LoginFailed(failed_login_message("账号或密码错误"))
        max_failures = int(current_app.config["LOGIN_MAX_FAILURES"])
        applicant.failed_logins += 1
        if applicant.failed_logins >= max_failures:
            applicant.failed_logins = 0
            applicant.locked_until = now + timedelta(minutes=lock_minutes)
            _record(applicant, "applicant.locked", f"申报人 {applicant.name} 连续登录失败，已锁定", ip=ip)
        raise LoginFailed(failed_login_message("账号或密码错误"))
    if applicant.locked_until is not None and applicant.locked_until > now:
        minutes = max(1, int((applicant.locked_until - now).total_seconds() // 60) + 1)
        raise LoginFailed(f"登录失败次数过多，账号已锁定，请 {minutes} 分钟后再试")
    if not applicant.enabled:
        raise LoginFailed("账号已停用")
    applicant.failed_logins = 0
    applicant.locked_until = None
    applicant.last_login_at = now
    if not applicant.session_token:
        applicant.session_token = secrets.token_hex(8)
    _record(applicant, "applicant.login", f"申报人 {applicant.name} 登录", ip=ip)
    return applicant


def record_logout(applicant: Applicant, ip: str = "") -> None:
    _record(applicant, "applicant.logout", f"申报人 {applicant.name} 退出", ip=ip)


def change_password(applicant: Applicant, old_password: str, new_password: str, confirm_password: str) -> None:
    if not check_password_hash(applicant.password_hash, old_password):
        raise InvalidInput("原密码：不正确", field="old_password")
    _check_password(new_password, "new_password", "新密码")
    if old_password == new_password:
        raise InvalidInput("新密码：不能与原密码相同", field="new_password")
    if new_password != confirm_password:
        raise InvalidInput("确认新密码：两次输入的新密码不一致", field="confirm_password")
    applicant.password_hash = hash_password(new_password)
    applicant.session_token = secrets.token_hex(8)  # every other session ends
    _record(applicant, "applicant.change_password", f"申报人 {applicant.name} 修改登录密码")


# ---------------------------------------------------------------- profile


def _check_day(value: date | None, applicant: Applicant, label: str, field: str, today: date) -> None:
    if value is None:
        return
    if value > today:
        raise InvalidInput(f"{label}：不能晚于今天", field=field)
    if value < applicant.birth_date:
        raise InvalidInput(f"{label}：不能早于出生日期", field=field)


def _check_period(start: date, end: date | None, applicant: Applicant, labels: tuple[str, str],
                  today: date, end_may_be_future: bool = False) -> None:
    _check_day(start, applicant, labels[0], "start_date", today)
    if end is not None:
        if end < start:
            raise InvalidInput(f"{labels[1]}：不能早于{labels[0]}", field="end_date")
        if not end_may_be_future:
            _check_day(end, applicant, labels[1], "end_date", today)


def update_basic_info(applicant: Applicant, data: dict[str, Any], today: date) -> None:
    """个人基本信息; 姓名 / 证件 / 性别 / 出生日期 stay as registered."""
    opts = options()
    _check_choice(data.get("ethnicity"), opts.ethnicities, "民族", "ethnicity")
    _check_choice(data.get("political_status"), opts.political_statuses, "政治面貌", "political_status")
    unit = _employer(data.get("unit_id"))
    _check_unique(None, data["phone"], applicant)
    _check_day(data.get("work_start_date"), applicant, "参加工作时间", "work_start_date", today)
    before = {"unit": applicant.unit.name, "phone": applicant.phone}
    for name in ("phone", "email", "ethnicity", "political_status", "work_start_date", "specialty"):
        setattr(applicant, name, data.get(name))
    applicant.unit_id = unit.id
    applicant.unit = unit
    _record(applicant, "applicant.update", f"申报人 {applicant.name} 修改个人基本信息",
            detail={"before": before, "after": {"unit": unit.name, "phone": applicant.phone}})


def title_choices() -> list[tuple[TitleSeries, list[Title]]]:
    """Titles of enabled series for the 现职称 picker, grouped by series, by level within it."""
    series = db.session.scalars(select(TitleSeries).where(TitleSeries.enabled.is_(True))
                                .order_by(TitleSeries.sort_order, TitleSeries.code)).all()
    return [(s, sorted(s.titles, key=lambda t: (t.level.rank, t.sort_order))) for s in series]


def update_title(applicant: Applicant, data: dict[str, Any], today: date) -> None:
    """现职称: a title of the dictionary, or none at all (a first declaration); the rest goes with it."""
    title_id = data.get("title_id")
    if title_id is None:
        applicant.title_id = None
        applicant.title = None
        applicant.title_obtained_on = applicant.title_method = applicant.title_certificate_no = None
        _record(applicant, "applicant.title", f"申报人 {applicant.name} 清除现职称")
        return
    title = db.session.get(Title, title_id)
    if title is None or not title.series.enabled:
        raise InvalidInput("职称名称：请从职称树中选择", field="title_id")
    if data.get("title_obtained_on") is None:
        raise InvalidInput("取得时间：必填", field="title_obtained_on")
    _check_day(data["title_obtained_on"], applicant, "取得时间", "title_obtained_on", today)
    if not data.get("title_method"):
        raise InvalidInput("取得方式：必填", field="title_method")
    _check_choice(data["title_method"], options().title_methods, "取得方式", "title_method")
    applicant.title_id = title.id
    applicant.title = title
    applicant.title_obtained_on = data["title_obtained_on"]
    applicant.title_method = data["title_method"]
    applicant.title_certificate_no = data.get("title_certificate_no")
    _record(applicant, "applicant.title", f"申报人 {applicant.name} 修改现职称为 {title.series.name} {title.name}")


def load_education(applicant: Applicant, education_id: int) -> ApplicantEducation:
    row = db.session.get(ApplicantEducation, education_id)
    if row is None or row.applicant_id != applicant.id:
        raise NotFound("学历记录不存在")
    return row


def save_education(applicant: Applicant, row: ApplicantEducation | None, data: dict[str, Any],
                   today: date) -> ApplicantEducation:
    opts = options()
    _check_choice(data["education"], opts.educations, "学历", "education")
    _check_choice(data["degree"], opts.degrees, "学位", "degree")
    # An end date in the future is a course still under way (在读): allowed, the start is not.
    _check_period(data["start_date"], data.get("end_date"), applicant, ("入学时间", "毕业时间"), today,
                  end_may_be_future=True)
    created = row is None
    if row is None:
        row = ApplicantEducation(applicant_id=applicant.id)
        applicant.educations.append(row)
    for name in ("education", "degree", "school", "major", "start_date", "end_date", "certificate_no"):
        setattr(row, name, data.get(name))
    db.session.flush()
    _record(applicant, "applicant.education", f"申报人 {applicant.name} {'新增' if created else '修改'}学历"
            f"「{row.school} {row.education}」")
    return row


def delete_education(applicant: Applicant, row: ApplicantEducation) -> None:
    _record(applicant, "applicant.education", f"申报人 {applicant.name} 删除学历「{row.school} {row.education}」")
    applicant.educations.remove(row)


def load_work(applicant: Applicant, work_id: int) -> ApplicantWork:
    row = db.session.get(ApplicantWork, work_id)
    if row is None or row.applicant_id != applicant.id:
        raise NotFound("工作经历不存在")
    return row


def save_work(applicant: Applicant, row: ApplicantWork | None, data: dict[str, Any], today: date) -> ApplicantWork:
    _check_period(data["start_date"], data.get("end_date"), applicant, ("开始时间", "结束时间"), today)
    created = row is None
    if row is None:
        row = ApplicantWork(applicant_id=applicant.id)
        applicant.work_history.append(row)
    for name in ("start_date", "end_date", "unit_name", "position"):
        setattr(row, name, data.get(name))
    db.session.flush()
    _record(applicant, "applicant.work", f"申报人 {applicant.name} {'新增' if created else '修改'}工作经历"
            f"「{row.unit_name}」")
    return row


def delete_work(applicant: Applicant, row: ApplicantWork) -> None:
    _record(applicant, "applicant.work", f"申报人 {applicant.name} 删除工作经历「{row.unit_name}」")
    applicant.work_history.remove(row)


@dataclass(frozen=True)
class Section:
    label: str
    done: bool
    hint: str
    endpoint: str


def completeness(applicant: Applicant) -> list[Section]:
    """What the profile still lacks; the home page shows it and a declaration (F1) will require it."""
    basic = all([applicant.ethnicity, applicant.political_status, applicant.work_start_date, applicant.specialty])
    return [
        Section("个人基本信息", basic, "民族、政治面貌、参加工作时间、现从事专业", "applicant.profile"),
        Section("学历学位", bool(applicant.educations), "至少一条学历记录", "applicant.profile"),
        Section("工作经历", bool(applicant.work_history), "至少一条工作经历", "applicant.profile"),
        # No title is a valid answer for a first declaration; it counts once the applicant has looked at it.
        Section("现职称", applicant.title_id is not None, "尚无职称者可不填", "applicant.edit_title"),
    ]

