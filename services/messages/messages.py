"""Messages: sending (inline or as a job), the receipts, 确认已读, and the sender's read counts.

Rules (S 1.2.11, 1.2.12):
- Recipients are units strictly below the sender's unit (message.send, scope subtree) — picked ones, or one of
  them with every unit below it — or applicants working in such units or in the sender's own unit. Anything
  outside answers 404, so ids of other trees cannot be probed; nothing is written then.
- A unit's message is read by any of its staff holding message.receive; 确认已读 records who confirmed, once.
- Each recipient gets one receipt (unique per message), and is notified (event message_received): an applicant
  directly, a unit through its 超级管理员.
- More than MESSAGE_INLINE_RECIPIENTS recipients: the message is recorded and a job of kind messages.deliver
  writes the receipts in chunks of CHUNK, each chunk one transaction (a job run again skips finished chunks).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import Select, func, insert, select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import Applicant, Message, MessageReceipt, Unit, User
from services.authz import access
from services.common import audit_log, file_store
from services.common.errors import Conflict, InvalidInput, NotFound
from services.jobs import JobContext, job_kind, start_job
from services.notifications import applicant_recipient, notify, user_recipient

SEND_PERMISSION = "message.send"
RECEIVE_PERMISSION = "message.receive"
CHUNK = 500
TITLE_MAX = 100
BODY_MAX = 5000
ATTACHMENT_TYPES = ("pdf", "docx", "xlsx", "jpg", "png", "zip")


@dataclass(frozen=True)
class AttachmentField:
    name: str = "attachment"
    label: str = "附件"
    type: str = "file"
    max_size_mb: float | None = 20
    accept: tuple[str, ...] = ATTACHMENT_TYPES


@dataclass(frozen=True)
class MessageInput:
    title: str
    body: str
    attachment: tuple[str, bytes] | None = None


@dataclass(frozen=True)
class Audience:
    """Who a message goes to: kind "units" or "applicants"; `ids` picked, or everything under `root_id`."""

    kind: str
    ids: Sequence[int] = field(default_factory=tuple)
    root_id: int | None = None


# --- scope --------------------------------------------------------------------------------------------------------

def subordinate_units(actor: User) -> Select[tuple[Unit]]:
    """The units a message may go to: strictly below the actor's unit (all units for the platform admin)."""
    return access.visible_units(actor, SEND_PERMISSION, include_own=False).where(Unit.status == "active")


def _root(actor: User, root_id: int) -> Unit:
    unit = db.session.scalar(subordinate_units(actor).where(Unit.id == root_id))
    own = actor.unit if root_id == actor.unit_id and access.has_permission(actor, SEND_PERMISSION) else None
    found = unit or own
    if found is None:
        raise NotFound("接收单位不存在或不在本单位的下级范围内")
    return found


def applicants_in_scope(actor: User) -> Select[tuple[Applicant]]:
    """Applicants working in the actor's unit or below it."""
    units = access.visible_units(actor, SEND_PERMISSION).with_only_columns(Unit.id)
    return select(Applicant).where(Applicant.unit_id.in_(units), Applicant.enabled.is_(True))


def _recipient_ids(actor: User, audience: Audience) -> list[int]:
    """Every recipient id, ordered, checked against the actor's scope (a foreign id is a 404)."""
    if audience.kind == "units":
        stmt = subordinate_units(actor).with_only_columns(Unit.id)
        if audience.root_id is not None:
            root = _root(actor, audience.root_id)
            stmt = stmt.where(Unit.path.startswith(root.path, autoescape=True))
            if root.id == actor.unit_id:
                stmt = stmt.where(Unit.id != actor.unit_id)
    elif audience.kind == "applicants":
        stmt = applicants_in_scope(actor).with_only_columns(Applicant.id)
        if audience.root_id is not None:
            root = _root(actor, audience.root_id)
            stmt = stmt.where(Applicant.unit_id.in_(select(Unit.id).where(
                Unit.path.startswith(root.path, autoescape=True))))
    else:
        raise InvalidInput("接收对象：请选择下级单位或申报人", field="audience")
    if audience.root_id is None:
        wanted = sorted(set(audience.ids))
        if not wanted:
            raise InvalidInput("接收对象：请至少勾选一个" + ("单位" if audience.kind == "units" else "申报人"),
                               field="ids")
        column = Unit.id if audience.kind == "units" else Applicant.id
        found: list[int] = []
        for start in range(0, len(wanted), 900):  # SQLite bounds the parameters of one statement
            found += db.session.scalars(stmt.where(column.in_(wanted[start:start + 900]))).all()
        if len(found) != len(wanted):
            raise NotFound("所选接收对象不存在或不在本单位范围内")
        return sorted(found)
    ids = list(db.session.scalars(stmt.order_by(Unit.id if audience.kind == "units" else Applicant.id)))
    if not ids:
        raise InvalidInput("接收对象：所选范围内没有可接收的" + ("单位" if audience.kind == "units" else "申报人"),
                           field="root_id")
    return ids


# --- sending ------------------------------------------------------------------------------------------------------

def _checked(data: MessageInput) -> tuple[str, str]:
    title, body = data.title.strip(), data.body.strip()
    if not title:
        raise InvalidInput("消息标题：必填", field="title")
    if len(title) > TITLE_MAX:
        raise InvalidInput(f"消息标题：不能超过 {TITLE_MAX} 个字", field="title")
    if not body:
        raise InvalidInput("消息内容：必填", field="body")
    if len(body) > BODY_MAX:
        raise InvalidInput(f"消息内容：不能超过 {BODY_MAX} 个字", field="body")
    return title, body


def send_message(actor: User, data: MessageInput, audience: Audience) -> Message:
    """Record the message and deliver it: in this transaction when small, else as a job (which commits)."""
    access.require_permission(actor, SEND_PERMISSION)
    title, body = _checked(data)
    ids = _recipient_ids(actor, audience)
    attachment = None
    if data.attachment is not None:
        checked = file_store.check(AttachmentField(), *data.attachment)
        file_store.store(checked, data.attachment[1])
        attachment = {"sha256": checked.sha256, "filename": checked.filename, "file_type": checked.file_type}
    message = Message(sender_unit_id=actor.unit_id, sender_user_id=actor.id, audience=audience.kind, title=title,
                      body=body, attachment=attachment, recipient_count=len(ids), created_at=datetime.now())
    db.session.add(message)
    db.session.flush()
    audit_log.record(actor, "message.send", f"消息推送：{title}（{len(ids)} 个接收对象）", "message", message.id)
    if len(ids) <= int(current_app.config.get("MESSAGE_INLINE_RECIPIENTS", 500)):
        deliver_chunk(message, ids)
        return message
    params = {"message_id": message.id, "kind": audience.kind, "ids": list(audience.ids), "root_id": audience.root_id}
    job = start_job(actor, "messages.deliver", f"消息推送：{title}", params)
    message.job_id = job.id
    db.session.commit()
    return message


def deliver_chunk(message: Message, ids: Sequence[int]) -> None:
    """Receipts and notifications for one chunk of recipients; a recipient already holding one is skipped."""
    column = MessageReceipt.unit_id if message.audience == "units" else MessageReceipt.applicant_id
    have = set(db.session.scalars(select(column).where(MessageReceipt.message_id == message.id, column.in_(ids))))
    fresh = [i for i in ids if i not in have]
    if not fresh:
        return
    now = datetime.now()
    key = "unit_id" if message.audience == "units" else "applicant_id"
    db.session.execute(insert(MessageReceipt), [
        {"message_id": message.id, key: i, "unit_id" if key == "applicant_id" else "applicant_id": None,
         "read_at": None, "read_by_id": None, "created_at": now} for i in fresh])
    sender = message.sender_unit.name
    if message.audience == "units":
        admins = db.session.scalars(select(User.id).where(User.unit_id.in_(fresh), User.is_unit_admin.is_(True),
                                                          User.enabled.is_(True)))
        recipients = [user_recipient(i) for i in admins]
    else:
        recipients = [applicant_recipient(i) for i in fresh]
    notify("message_received", recipients, f"收到新消息：{message.title}", f"{sender}发来消息：{message.body[:200]}",
           ("message", message.id))


@job_kind("messages.deliver", "消息推送")
def _deliver_job(ctx: JobContext, params: dict[str, Any]) -> None:
    message = db.session.get(Message, int(params["message_id"]))
    actor = ctx.actor
    if message is None or actor is None:
        raise NotFound("消息不存在")
    ids = _recipient_ids(actor, Audience(str(params["kind"]), tuple(params.get("ids") or ()), params.get("root_id")))
    chunks = [ids[start:start + CHUNK] for start in range(0, len(ids), CHUNK)]
    ctx.set_total(len(chunks))
    db.session.commit()

    def handle(key: str) -> str:
        chunk = chunks[int(key)]
        deliver_chunk(db.session.get(Message, message.id) or message, chunk)
        return f"已送达 {len(chunk)} 个接收对象"

    ctx.each(range(len(chunks)), handle)
    ctx.summary = f"消息已送达 {len(ids)} 个接收对象"


# --- receiving ----------------------------------------------------------------------------------------------------

def received_statement(unit_id: int | None = None, applicant_id: int | None = None, status: str = "",
                       keyword: str = "") -> Select[Any]:
    stmt = select(MessageReceipt).join(Message, Message.id == MessageReceipt.message_id)
    stmt = stmt.where(MessageReceipt.unit_id == unit_id if unit_id is not None
                      else MessageReceipt.applicant_id == applicant_id)
    if status == "unread":
        stmt = stmt.where(MessageReceipt.read_at.is_(None))
    elif status == "read":
        stmt = stmt.where(MessageReceipt.read_at.is_not(None))
    if keyword:
        stmt = stmt.where(Message.title.contains(keyword, autoescape=True))
    return stmt.order_by(MessageReceipt.id.desc())


def unread_received(unit_id: int, cap: int = 99) -> int:
    capped = select(MessageReceipt.id).where(MessageReceipt.unit_id == unit_id,
                                             MessageReceipt.read_at.is_(None)).limit(cap + 1).subquery()
    return int(db.session.scalar(select(func.count()).select_from(capped)) or 0)


def load_receipt_for_unit(actor: User, receipt_id: int) -> MessageReceipt:
    access.require_permission(actor, RECEIVE_PERMISSION)
    receipt = db.session.get(MessageReceipt, receipt_id)
    if receipt is None or receipt.unit_id != actor.unit_id:
        raise NotFound("消息不存在")
    return receipt


def load_receipt_for_applicant(applicant: Applicant, receipt_id: int) -> MessageReceipt:
    receipt = db.session.get(MessageReceipt, receipt_id)
    if receipt is None or receipt.applicant_id != applicant.id:
        raise NotFound("消息不存在")
    return receipt


def confirm_read(receipt: MessageReceipt, actor: User | None = None) -> None:
    """确认已读: once; the first confirmation stands."""
    if receipt.read_at is not None:
        raise Conflict("该消息已确认已读")
    receipt.read_at, receipt.read_by_id = datetime.now(), actor.id if actor else None


# --- the sender's side --------------------------------------------------------------------------------------------

def sent_statement(actor: User, keyword: str = "") -> Select[Any]:
    access.require_permission(actor, SEND_PERMISSION)
    stmt = select(Message).where(Message.sender_unit_id == actor.unit_id)
    if keyword:
        stmt = stmt.where(Message.title.contains(keyword, autoescape=True))
    return stmt.order_by(Message.id.desc())


def read_counts(message_ids: Sequence[int]) -> dict[int, tuple[int, int]]:
    """message id → (receipts, read) for a page of messages, in one grouped query."""
    if not message_ids:
        return {}
    rows = db.session.execute(
        select(MessageReceipt.message_id, func.count(), func.count(MessageReceipt.read_at))
        .where(MessageReceipt.message_id.in_(list(message_ids))).group_by(MessageReceipt.message_id))
    return {mid: (int(total), int(read)) for mid, total, read in rows}


def load_sent(actor: User, message_id: int) -> Message:
    access.require_permission(actor, SEND_PERMISSION)
    message = db.session.get(Message, message_id)
    if message is None or (message.sender_unit_id != actor.unit_id and not actor.is_platform_admin):
        raise NotFound("消息不存在")
    return message


def receipts_statement(message: Message, status: str = "") -> Select[Any]:
    """Who has read it: the receipts with the recipient's name and who confirmed."""
    stmt = (select(MessageReceipt).where(MessageReceipt.message_id == message.id)
            .options(selectinload(MessageReceipt.unit).load_only(Unit.name, raiseload=True),
                     selectinload(MessageReceipt.applicant).load_only(Applicant.name, raiseload=True),
                     selectinload(MessageReceipt.read_by).load_only(User.name, raiseload=True)))
    if status == "unread":
        stmt = stmt.where(MessageReceipt.read_at.is_(None))
    elif status == "read":
        stmt = stmt.where(MessageReceipt.read_at.is_not(None))
    return stmt.order_by(MessageReceipt.id)
