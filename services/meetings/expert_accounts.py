"""专家端 sign-in (FEATURES A9; Hunan guide H 1.3): an expert's own account, like the applicants'.

Rules owned here:
- The committee's staff create (or reset) a drawn expert's account from the meeting's confirmation page; the
  initial password (the password policy's) is shown once to the staff, who give it to the expert by phone; the
  expert must replace it at the first sign-in (app.auth sends them to 修改密码 until then).
- The expert signs in with the 证件号码 (any case of x) or a phone number that names exactly one expert with an
  account; failures count and lock the account as for staff and applicants (A10). A wrong password answers as
  an unknown account does.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import or_, select
from werkzeug.security import check_password_hash

from app.extensions import db
from app.models import Expert, ExpertAccount, MeetingExpert, ReviewMeeting, User
from services.common import audit_log
from services.common.errors import InvalidInput
from services.meetings.meetings import record, require_step
from services.org.accounts import (
    LoginFailed,
    check_password_policy,
    failed_login_message,
    generate_initial_password,
    hash_password,
)

_DUMMY_HASH: str | None = None


def issue_password(actor: User, meeting: ReviewMeeting, member: MeetingExpert) -> str:
    """生成专家登录密码: a new initial password for the expert's account (created when missing)."""
    require_step(meeting, "confirm_experts", "group_experts", "assign_applicants", "open_voting", "count_votes")
    if member.status == "cancelled":
        raise InvalidInput(f"{member.expert.name} 已取消参评", field="expert")
    password = generate_initial_password()
    account = db.session.scalar(select(ExpertAccount).where(ExpertAccount.expert_id == member.expert_id))
    if account is None:
        account = ExpertAccount(expert_id=member.expert_id, password_hash="")
        db.session.add(account)
    account.password_hash = hash_password(password)
    account.session_token = secrets.token_hex(8)  # earlier sessions end
    account.failed_logins, account.locked_until, account.enabled = 0, None, True
    account.must_change_password = True  # the staff saw it
    record(meeting, actor.name, "expert.password", f"生成专家登录密码：{member.expert.name}")
    audit_log.record(actor, "expert_account.password", f"生成专家 {member.expert.name} 的登录密码", "expert",
                     member.expert_id)
    db.session.flush()
    return password


def _find(account: str) -> ExpertAccount | None:
    account = account.strip().upper()
    if not account:
        return None
    found = list(db.session.scalars(select(ExpertAccount).join(Expert, Expert.id == ExpertAccount.expert_id)
                                    .where(or_(Expert.id_number == account, Expert.phone1 == account)).limit(2)))
    return found[0] if len(found) == 1 else None


def authenticate(account: str, password: str, now: datetime, ip: str = "") -> ExpertAccount:
    global _DUMMY_HASH
    found = _find(account)
    wrong = failed_login_message("账号或密码错误")
    if found is None:
        _DUMMY_HASH = _DUMMY_HASH or hash_password(secrets.token_hex(8))
        check_password_hash(_DUMMY_HASH, password)
        raise LoginFailed(wrong)
    if not check_password_hash(found.password_hash, password):
        if found.locked_until is not None and found.locked_until > now:
            raise LoginFailed(wrong)
        found.failed_logins += 1
        if found.failed_logins >= int(current_app.config["LOGIN_MAX_FAILURES"]):
            found.failed_logins = 0
            found.locked_until = now + timedelta(minutes=int(current_app.config["LOGIN_LOCK_MINUTES"]))
            audit_log.record(None, "expert_account.locked", f"专家 {found.expert.name} 连续登录失败，已锁定",
                             "expert", found.expert_id, ip=ip)
        raise LoginFailed(wrong)
    if found.locked_until is not None and found.locked_until > now:
        minutes = max(1, int((found.locked_until - now).total_seconds() // 60) + 1)
        raise LoginFailed(f"登录失败次数过多，账号已锁定，请 {minutes} 分钟后再试")
    if not found.enabled:
        raise LoginFailed("账号已停用")
    found.failed_logins, found.locked_until, found.last_login_at = 0, None, now
    if not found.session_token:
        found.session_token = secrets.token_hex(8)
    audit_log.record(None, "expert_account.login", f"专家 {found.expert.name} 登录", "expert", found.expert_id, ip=ip)
    return found


def change_password(account: ExpertAccount, old_password: str, new_password: str, confirm_password: str) -> None:
    if not check_password_hash(account.password_hash, old_password):
        raise InvalidInput("原密码：不正确", field="old_password")
    check_password_policy(new_password, "new_password")
    if new_password != confirm_password:
        raise InvalidInput("确认新密码：两次输入的新密码不一致", field="confirm_password")
    if old_password == new_password:
        raise InvalidInput("新密码：不能与原密码相同", field="new_password")
    account.password_hash = hash_password(new_password)
    account.session_token = secrets.token_hex(8)
    account.must_change_password = False


def load_account(token: str) -> ExpertAccount | None:
    """The Flask-Login loader's half: "id:session_token"."""
    account_id, _, session_token = token.partition(":")
    if not account_id.isdigit():
        return None
    account = db.session.get(ExpertAccount, int(account_id))
    if account is None or not account.enabled or account.session_token != session_token:
        return None
    return account
