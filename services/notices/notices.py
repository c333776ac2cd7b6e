"""Notices: the manager's operations and the public listing.

Rules (S 1.2.15.1):
- A unit manages its own notices (permission notice.manage, scope unit); the platform administrator all of them.
- 未发布 → 发布 → 已发布 → 撤销 → 已撤销 → 发布 again. Editing a published notice keeps it published.
- 删除 only what is not published: a published notice is withdrawn first (409 otherwise), so nothing
  disappears from the public page without a recorded 撤销.
- The public page lists 已发布 notices, newest first, by type, with a keyword over the title.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import nh3
from sqlalchemy import Select, func, select

from app.extensions import db
from app.models import Notice, User
from app.models.messages import NOTICE_STATUS_LABELS, NOTICE_TYPES
from services.authz import access
from services.common import audit_log, file_store
from services.common.errors import Conflict, InvalidInput, NotFound

PERMISSION = "notice.manage"
TITLE_MAX = 100
BODY_MAX = 100_000
ATTACHMENT_TYPES = ("pdf", "docx", "xlsx", "jpg", "png")
ATTACHMENT_MAX_MB = 20

# Formatting a notice needs; everything else (script, style, iframe, form, on* attributes) is dropped.
ALLOWED_TAGS = {"p", "br", "b", "strong", "i", "em", "u", "s", "sub", "sup", "h2", "h3", "h4", "h5", "ul", "ol",
                "li", "blockquote", "a", "table", "thead", "tbody", "tr", "th", "td", "hr", "span", "div", "pre"}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "td": {"colspan", "rowspan"}, "th": {"colspan", "rowspan"}}


def sanitize_html(raw: str) -> str:
    return nh3.clean(raw, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, url_schemes={"http", "https", "mailto"},
                     link_rel="noopener noreferrer")


@dataclass(frozen=True)
class AttachmentField:
    """The upload spec services.common.file_store checks a notice's attachment against."""

    name: str = "attachment"
    label: str = "附件"
    type: str = "file"
    max_size_mb: float | None = ATTACHMENT_MAX_MB
    accept: tuple[str, ...] = ATTACHMENT_TYPES


@dataclass(frozen=True)
class NoticeInput:
    notice_type: str
    title: str
    body_html: str
    attachment: tuple[str, bytes] | None = None  # (filename, content)
    remove_attachment: bool = False


def _checked(data: NoticeInput) -> tuple[str, str, str]:
    errors: dict[str, list[str]] = {}
    title = data.title.strip()
    if data.notice_type not in NOTICE_TYPES:
        errors["notice_type"] = ["公告类型：请选择" + "、".join(NOTICE_TYPES.values()) + "之一"]
    if not title:
        errors["title"] = ["公告标题：必填"]
    elif len(title) > TITLE_MAX:
        errors["title"] = [f"公告标题：不能超过 {TITLE_MAX} 个字"]
    if len(data.body_html) > BODY_MAX:
        errors["body_html"] = [f"公告内容：不能超过 {BODY_MAX} 个字符"]
    if errors:
        raise InvalidInput(next(iter(errors.values()))[0], errors=errors)
    return data.notice_type, title, sanitize_html(data.body_html)


def _attach(notice: Notice, data: NoticeInput) -> None:
    if data.attachment is not None:
        filename, content = data.attachment
        checked = file_store.check(AttachmentField(), filename, content)
        file_store.store(checked, content)
        notice.attachment = {"sha256": checked.sha256, "filename": checked.filename, "file_type": checked.file_type}
    elif data.remove_attachment:
        notice.attachment = None


def create_notice(actor: User, data: NoticeInput) -> Notice:
    access.require_permission(actor, PERMISSION)
    notice_type, title, body = _checked(data)
    notice = Notice(unit_id=actor.unit_id, notice_type=notice_type, title=title, body_html=body, status="draft",
                    created_by_id=actor.id)
    _attach(notice, data)
    db.session.add(notice)
    db.session.flush()
    audit_log.record(actor, "notice.create", f"新增公告：{title}", "notice", notice.id)
    return notice


def update_notice(actor: User, notice: Notice, data: NoticeInput) -> None:
    notice.notice_type, notice.title, notice.body_html = _checked(data)
    _attach(notice, data)
    audit_log.record(actor, "notice.update", f"编辑公告：{notice.title}", "notice", notice.id)


def publish_notice(actor: User, notice: Notice, now: datetime | None = None) -> None:
    if notice.status == "published":
        raise Conflict("该公告已发布")
    notice.status, notice.published_at, notice.withdrawn_at = "published", now or datetime.now(), None
    audit_log.record(actor, "notice.publish", f"发布公告：{notice.title}", "notice", notice.id)


def withdraw_notice(actor: User, notice: Notice, now: datetime | None = None) -> None:
    if notice.status != "published":
        raise Conflict("只有已发布的公告可以撤销")
    notice.status, notice.withdrawn_at = "withdrawn", now or datetime.now()
    audit_log.record(actor, "notice.withdraw", f"撤销公告：{notice.title}", "notice", notice.id)


def delete_notice(actor: User, notice: Notice) -> None:
    if notice.status == "published":
        raise Conflict("已发布的公告请先撤销再删除")
    audit_log.record(actor, "notice.delete", f"删除公告：{notice.title}", "notice", notice.id)
    db.session.delete(notice)


def load_managed(actor: User, notice_id: int) -> Notice:
    """A notice of the actor's unit (any unit for the platform administrator); others answer 404."""
    access.require_permission(actor, PERMISSION)
    notice = db.session.get(Notice, notice_id)
    if notice is None or not access.has_permission(actor, PERMISSION, notice.unit):
        raise NotFound("公告不存在")
    return notice


def managed_statement(actor: User, notice_type: str = "", status: str = "", keyword: str = "") -> Select[Any]:
    stmt = access.scope_to_units(select(Notice), Notice.unit_id, actor, PERMISSION)
    if notice_type in NOTICE_TYPES:
        stmt = stmt.where(Notice.notice_type == notice_type)
    if status in NOTICE_STATUS_LABELS:
        stmt = stmt.where(Notice.status == status)
    if keyword:
        stmt = stmt.where(Notice.title.contains(keyword, autoescape=True))
    return stmt.order_by(Notice.id.desc())


# --- public -------------------------------------------------------------------------------------------------------

def public_statement(notice_type: str = "", keyword: str = "") -> Select[Any]:
    stmt = select(Notice).where(Notice.status == "published")
    if notice_type in NOTICE_TYPES:
        stmt = stmt.where(Notice.notice_type == notice_type)
    if keyword:
        stmt = stmt.where(Notice.title.contains(keyword, autoescape=True))
    return stmt.order_by(Notice.published_at.desc(), Notice.id.desc())


def public_type_counts() -> dict[str, int]:
    """Published notices per type, for the public page's type list (one grouped query on ix_notice_public)."""
    rows = db.session.execute(select(Notice.notice_type, func.count()).where(Notice.status == "published")
                              .group_by(Notice.notice_type))
    return {notice_type: int(count) for notice_type, count in rows}


def load_published(notice_id: int) -> Notice:
    notice = db.session.get(Notice, notice_id)
    if notice is None or notice.status != "published":
        raise NotFound("公告不存在或已撤销")
    return notice
