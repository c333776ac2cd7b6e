"""常用意见 and 常用意见设置: each staff member's saved review opinions (S 1.2.3.1; FEATURES B5).

Rules:
- Opinions belong to one user; nobody else sees or edits them (another user's opinion answers 404).
- An opinion is 1–500 characters (the length of 审核意见), at most MAX_PER_USER per user, without duplicates.
- The order is the user's own (the 常用意见 drop-down shows it); every change is written to the audit log.
"""

from __future__ import annotations

from sqlalchemy import func, select

from app.extensions import db
from app.models import CommonOpinion, User
from services.common import audit_log
from services.common.errors import InvalidInput, NotFound

MAX_LENGTH = 500
MAX_PER_USER = 20
# What a new account's 常用意见 starts with, by its unit's type (a 申报单位 recommends, superiors pass or return).
DEFAULT_OPINIONS = {
    "declaring": ["经公示无异议，同意推荐上报", "材料齐全，情况属实，同意推荐", "材料不全，请补充后重新提交"],
    "competent": ["材料齐全，符合申报条件，同意上报", "材料不全，请补充后重新提交", "不符合申报条件"],
    "hr": ["审核通过，同意上报评委会", "材料不全，请补充后重新提交", "不符合申报条件"],
}
FALLBACK_OPINIONS = ["同意", "材料不全，请补充后重新提交", "不同意"]


def seed_default_opinions(user: User) -> int:
    """A first sign-in starts with a few 常用意见 for the unit's type (the user edits or deletes them after)."""
    if db.session.scalar(select(func.count()).where(CommonOpinion.user_id == user.id)):
        return 0
    texts = DEFAULT_OPINIONS.get(user.unit.unit_type_code, FALLBACK_OPINIONS)
    db.session.add_all([CommonOpinion(user_id=user.id, text=text, sort_order=n) for n, text in enumerate(texts, 1)])
    return len(texts)


def list_opinions(user: User) -> list[CommonOpinion]:
    return list(db.session.scalars(select(CommonOpinion).where(CommonOpinion.user_id == user.id)
                                   .order_by(CommonOpinion.sort_order, CommonOpinion.id)))


def _clean(user: User, text: str, keep_id: int | None = None) -> str:
    text = (text or "").strip()
    if "\x00" in text:  # PostgreSQL refuses NUL in text
        raise InvalidInput("常用意见：含有无效字符", field="text")
    if not text:
        raise InvalidInput("常用意见：必须填写", field="text")
    if len(text) > MAX_LENGTH:
        raise InvalidInput(f"常用意见：不能超过 {MAX_LENGTH} 个字", field="text")
    if any(o.text == text and o.id != keep_id for o in list_opinions(user)):
        raise InvalidInput("常用意见：已有相同的意见", field="text")
    return text


def add_opinion(user: User, text: str) -> CommonOpinion:
    text = _clean(user, text)
    count, last = db.session.execute(select(func.count(), func.max(CommonOpinion.sort_order))
                                     .where(CommonOpinion.user_id == user.id)).one()
    if count >= MAX_PER_USER:
        raise InvalidInput(f"常用意见：最多保存 {MAX_PER_USER} 条，请先删除不用的意见", field="text")
    opinion = CommonOpinion(user_id=user.id, text=text, sort_order=(last or 0) + 1)
    db.session.add(opinion)
    db.session.flush()
    audit_log.record(user, "opinion.add", f"新增常用意见「{text[:30]}」", "common_opinion", opinion.id)
    return opinion


def _own(user: User, opinion_id: int) -> CommonOpinion:
    opinion = db.session.get(CommonOpinion, opinion_id)
    if opinion is None or opinion.user_id != user.id:
        raise NotFound("常用意见不存在")
    return opinion


def update_opinion(user: User, opinion_id: int, text: str) -> CommonOpinion:
    opinion = _own(user, opinion_id)
    opinion.text = _clean(user, text, keep_id=opinion.id)
    db.session.flush()
    audit_log.record(user, "opinion.update", f"修改常用意见「{opinion.text[:30]}」", "common_opinion", opinion.id)
    return opinion


def delete_opinion(user: User, opinion_id: int) -> None:
    opinion = _own(user, opinion_id)
    audit_log.record(user, "opinion.delete", f"删除常用意见「{opinion.text[:30]}」", "common_opinion", opinion.id)
    db.session.delete(opinion)
    db.session.flush()


def reorder_opinions(user: User, opinion_ids: list[int]) -> None:
    """Put the user's opinions in the given order; the list must name each of them exactly once."""
    opinions = {o.id: o for o in list_opinions(user)}
    if sorted(opinion_ids) != sorted(opinions):
        raise InvalidInput("常用意见顺序：与已保存的意见不一致，请刷新后重试", field="order")
    for position, opinion_id in enumerate(opinion_ids, start=1):
        opinions[opinion_id].sort_order = position
    db.session.flush()
    audit_log.record(user, "opinion.reorder", "调整常用意见顺序", "common_opinion", "",
                     detail={"order": opinion_ids})


def move_opinion(user: User, opinion_id: int, direction: str) -> None:
    """上移 / 下移 one of the user's opinions by one place; at either end it stays where it is."""
    opinion = _own(user, opinion_id)
    if direction not in ("up", "down"):
        raise InvalidInput("移动方向：只能上移或下移", field="direction")
    ids = [o.id for o in list_opinions(user)]
    here = ids.index(opinion.id)
    there = here - 1 if direction == "up" else here + 1
    if 0 <= there < len(ids):
        ids[here], ids[there] = ids[there], ids[here]
        reorder_opinions(user, ids)
