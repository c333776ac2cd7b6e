"""黑名单管理 (Hunan guide H 1.21; FEATURES F7): add, edit, view, lift, export; a listed person cannot declare.

Rules owned here:
- Fraud revokes the title and bans the person; the default ban is 3 years (RULES.md "Publicity, confirmation,
  penalties"), configurable as default_years in admin_config/blacklist.yaml. A ban runs from its start date to
  its end date inclusive; the default end date is the day before the anniversary.
- A person is identified by the 证件号码 (GB 11643-1999), registered or not; a registered applicant's entry
  is linked to the account, and the 姓名 must then match the registration.
- One person has at most one unlifted entry whose period overlaps another's: extend the existing one instead.
- 解除 needs a reason and is final; lifted and expired entries are history and are not edited. Entries are
  never deleted.
- Scope: blacklist.manage (人社部门 only, scope subtree): a unit sees and changes the entries it or a unit of its
  subtree added; the province (root) and the platform administrator see all. The ban itself applies
  everywhere, whoever added it.
- Lists mask 证件号码 (DESIGN §4); the detail page and the export show them in full to holders of
  blacklist.manage, who need the full number to act on it, and every export is written to the audit trail.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from flask import current_app
from sqlalchemy import Select, and_, bindparam, select

from app.extensions import db
from app.models import Applicant, BlacklistEntry, User
from services.authz import access
from services.common import audit_log
from services.common.errors import Conflict, Forbidden, InvalidInput, NotFound
from services.common.excel.export import write_table
from services.reference.validation import InvalidValue, mask_id_number, normalize_id_number

PERMISSION = "blacklist.manage"
STATUSES = {"active": "生效中", "pending": "未生效", "expired": "已到期", "lifted": "已解除"}
PEOPLE_SEARCH_LIMIT = 10


@lru_cache(maxsize=4)
def _default_years_from(config_dir: str) -> int:
    raw = yaml.safe_load((Path(config_dir) / "blacklist.yaml").read_text(encoding="utf-8"))
    return int(raw["default_years"])


def default_years() -> int:
    return _default_years_from(str(current_app.config["ADMIN_CONFIG_DIR"]))


def default_end_date(start: date, years: int | None = None) -> date:
    """The last day of a ban of `years` from `start`: the day before the anniversary (29 Feb → 28 Feb)."""
    years = default_years() if years is None else years
    try:
        anniversary = start.replace(year=start.year + years)
    except ValueError:  # 29 February in a non-leap year
        anniversary = start.replace(year=start.year + years, day=28) + timedelta(days=1)
    return anniversary - timedelta(days=1)


# ---------------------------------------------------------------- the ban (used by declarations, F1)


# Built once: every submission runs it, and the entry's eager joins (its unit, its author) made computing the cache
# key of a statement built per call cost more than running it (issue 20).
_ACTIVE_ENTRY = (
    select(BlacklistEntry).where(BlacklistEntry.id_number == bindparam("id_number"), BlacklistEntry.lifted_at.is_(None),
                                 BlacklistEntry.start_date <= bindparam("on"), BlacklistEntry.end_date >= bindparam("on"))
    .order_by(BlacklistEntry.end_date.desc()).limit(1)
)


def active_entry(id_number: str, on: date | None = None) -> BlacklistEntry | None:
    """The entry banning this 证件号码 on `on` (today by default), or None."""
    return db.session.scalar(_ACTIVE_ENTRY, {"id_number": id_number.strip().upper(), "on": on or date.today()})


def ban_message(entry: BlacklistEntry) -> str:
    return (f"您已被列入职称评审黑名单（原因：{entry.reason}；期限：{entry.start_date:%Y年%m月%d日} 至 "
            f"{entry.end_date:%Y年%m月%d日}），期限内不能申报职称。如有异议，请联系{entry.unit.name}。")


def ensure_not_blacklisted(applicant: Applicant, on: date | None = None) -> None:
    """Raise Forbidden with the reason and the period when the applicant is banned on `on`."""
    entry = active_entry(applicant.id_number, on)
    if entry is not None:
        raise Forbidden(ban_message(entry))


# ---------------------------------------------------------------- administration


def _check_period(start: date, end: date) -> None:
    if end < start:
        raise InvalidInput("截止日期：不能早于开始日期", field="end_date")


def _check_overlap(id_number: str, start: date, end: date, entry: BlacklistEntry | None = None) -> None:
    clash = db.session.scalar(
        select(BlacklistEntry).where(BlacklistEntry.id_number == id_number, BlacklistEntry.lifted_at.is_(None),
                                     BlacklistEntry.start_date <= end, BlacklistEntry.end_date >= start,
                                     BlacklistEntry.id != (entry.id if entry else -1)).limit(1)
    )
    if clash is not None:
        raise Conflict(f"证件号码：该人员已有未解除的黑名单记录（{clash.start_date} 至 {clash.end_date}，"
                       f"{clash.unit.name}），期限重叠；请修改该记录", field="id_number")


def _person(data: dict[str, Any]) -> tuple[str, str, Applicant | None]:
    """The 证件号码 and 姓名 to list: a chosen registered applicant, or what was typed."""
    if data.get("applicant_id"):
        applicant = db.session.get(Applicant, data["applicant_id"])
        if applicant is None:
            raise InvalidInput("人员：请从查询结果中选择", field="applicant_id")
        return applicant.id_number, applicant.name, applicant
    if not data.get("id_number"):
        raise InvalidInput("证件号码：必填", field="id_number")
    if not data.get("name"):
        raise InvalidInput("姓名：必填", field="name")
    try:
        id_number = normalize_id_number(data["id_number"])
    except InvalidValue as exc:
        raise InvalidInput(f"证件号码：{exc.message}", field="id_number") from exc
    applicant = db.session.scalar(select(Applicant).where(Applicant.id_number == id_number))
    if applicant is not None and applicant.name != data["name"]:
        raise InvalidInput("姓名：与该证件号码的注册信息不一致", field="name")
    return id_number, data["name"], applicant


def add_entry(actor: User, data: dict[str, Any], today: date) -> BlacklistEntry:
    access.require_permission(actor, PERMISSION, actor.unit)
    id_number, name, applicant = _person(data)
    start = data.get("start_date") or today
    end = data.get("end_date") or default_end_date(start)
    _check_period(start, end)
    _check_overlap(id_number, start, end)
    entry = BlacklistEntry(id_number=id_number, name=name, applicant_id=applicant.id if applicant else None,
                           reason=data["reason"], basis=data.get("basis"), start_date=start, end_date=end,
                           unit_id=actor.unit_id, created_by_id=actor.id)
    db.session.add(entry)
    db.session.flush()
    audit_log.record(actor, "blacklist.add", f"将 {name}（{mask_id_number(id_number)}）列入黑名单，{start} 至 {end}",
                     "blacklist_entry", entry.id, detail={"reason": entry.reason, "basis": entry.basis})
    return entry


def _require_editable(entry: BlacklistEntry, today: date, verb: str) -> None:
    status = entry.status_on(today)
    if status in ("lifted", "expired"):
        raise Conflict(f"该记录{STATUSES[status]}，不能{verb}")


def update_entry(actor: User, entry: BlacklistEntry, data: dict[str, Any], today: date) -> BlacklistEntry:
    """修改: 姓名 / 原因 / 依据 / 期限; the 证件号码 is the record's identity (a wrong one: 解除 and add anew)."""
    access.require_permission(actor, PERMISSION, entry.unit)
    _require_editable(entry, today, "修改")
    if not data.get("name"):
        raise InvalidInput("姓名：必填", field="name")
    if entry.applicant_id is not None and data["name"] != entry.name:
        raise InvalidInput("姓名：已关联注册申报人，姓名以注册信息为准", field="name")
    start = data.get("start_date") or entry.start_date
    end = data.get("end_date") or entry.end_date
    _check_period(start, end)
    if end < today:
        raise InvalidInput("截止日期：不能早于今天；提前结束请使用“解除”", field="end_date")
    _check_overlap(entry.id_number, start, end, entry)
    before = {"name": entry.name, "reason": entry.reason, "basis": entry.basis,
              "start_date": str(entry.start_date), "end_date": str(entry.end_date)}
    entry.name, entry.reason, entry.basis = data["name"], data["reason"], data.get("basis")
    entry.start_date, entry.end_date = start, end
    audit_log.record(actor, "blacklist.update", f"修改黑名单记录 {entry.name}（{mask_id_number(entry.id_number)}）",
                     "blacklist_entry", entry.id,
                     detail={"before": before, "after": {"name": entry.name, "reason": entry.reason,
                                                         "basis": entry.basis, "start_date": str(start),
                                                         "end_date": str(end)}})
    return entry


def lift_entry(actor: User, entry: BlacklistEntry, reason: str, now: datetime) -> BlacklistEntry:
    """解除: final; the reason is kept with the record."""
    access.require_permission(actor, PERMISSION, entry.unit)
    _require_editable(entry, now.date(), "解除")
    if not reason.strip():
        raise InvalidInput("解除原因：必填", field="lift_reason")
    entry.lifted_at = now
    entry.lifted_by_id = actor.id
    entry.lift_reason = reason.strip()
    audit_log.record(actor, "blacklist.lift", f"解除黑名单 {entry.name}（{mask_id_number(entry.id_number)}）",
                     "blacklist_entry", entry.id, detail={"reason": entry.lift_reason})
    return entry


def load_entry(actor: User, entry_id: int) -> BlacklistEntry:
    entry = db.session.get(BlacklistEntry, entry_id)
    if entry is None or not access.has_permission(actor, PERMISSION, entry.unit):
        raise NotFound("黑名单记录不存在或无权查看")
    return entry


def find_people(actor: User, keyword: str) -> list[Applicant]:
    """新增 → 查询人员 (H 1.21 1.1): an exact 证件号码 anywhere, or a 姓名 among the applicants of the actor's
    subtree (a unit does not browse other trees' people by name)."""
    keyword = keyword.strip()[:20]
    if not keyword:
        return []
    by_name = access.scope_to_units(select(Applicant), Applicant.unit_id, actor, PERMISSION).where(
        Applicant.name.contains(keyword, autoescape=True))
    by_id = select(Applicant).where(Applicant.id_number == keyword.upper())
    found = {a.id: a for a in db.session.scalars(by_id)}
    found.update({a.id: a for a in db.session.scalars(by_name.order_by(Applicant.name).limit(PEOPLE_SEARCH_LIMIT))})
    return list(found.values())[:PEOPLE_SEARCH_LIMIT]


# ---------------------------------------------------------------- lists and export


@dataclass(frozen=True)
class Filters:
    name: str = ""
    id_number: str = ""
    status: str = ""
    start_from: date | None = None
    start_to: date | None = None

    @classmethod
    def parse(cls, args: Any) -> Filters:
        def day(key: str) -> date | None:
            try:
                return date.fromisoformat(str(args.get(key, "")).strip())
            except ValueError:
                return None

        status = args.get("status", "")
        return cls(name=str(args.get("name", "")).strip()[:20],
                   id_number=str(args.get("id_number", "")).strip().upper()[:18],
                   status=status if status in STATUSES else "", start_from=day("start_from"), start_to=day("start_to"))


def entries_query(actor: User, filters: Filters, today: date) -> Select[tuple[BlacklistEntry]]:
    stmt = access.scope_to_units(select(BlacklistEntry), BlacklistEntry.unit_id, actor, PERMISSION)
    if filters.name:
        stmt = stmt.where(BlacklistEntry.name.contains(filters.name, autoescape=True))
    if filters.id_number:
        # A whole number matches exactly; a part (e.g. the last four shown in masked lists) matches inside it.
        stmt = stmt.where(BlacklistEntry.id_number == filters.id_number if len(filters.id_number) == 18
                          else BlacklistEntry.id_number.contains(filters.id_number, autoescape=True))
    unlifted = BlacklistEntry.lifted_at.is_(None)
    status_clause = {
        "lifted": BlacklistEntry.lifted_at.is_not(None),
        "expired": and_(unlifted, BlacklistEntry.end_date < today),
        "pending": and_(unlifted, BlacklistEntry.start_date > today),
        "active": and_(unlifted, BlacklistEntry.start_date <= today, BlacklistEntry.end_date >= today),
    }.get(filters.status)
    if status_clause is not None:
        stmt = stmt.where(status_clause)
    if filters.start_from:
        stmt = stmt.where(BlacklistEntry.start_date >= filters.start_from)
    if filters.start_to:
        stmt = stmt.where(BlacklistEntry.start_date <= filters.start_to)
    return stmt.order_by(BlacklistEntry.created_at.desc(), BlacklistEntry.id.desc())


EXPORT_HEADERS = ("序号", "姓名", "证件号码", "列入原因", "处理依据", "开始日期", "截止日期", "状态", "列入单位",
                  "经办人", "解除时间", "解除原因")


def export_entries(actor: User, filters: Filters, today: date) -> bytes:
    """导出查询结果 (H 1.21 5): the whole filtered list with full 证件号码; the export is audited."""
    entries = list(db.session.scalars(entries_query(actor, filters, today)))
    rows = [(i, e.name, e.id_number, e.reason, e.basis or "", str(e.start_date), str(e.end_date),
             STATUSES[e.status_on(today)], e.unit.name, e.created_by.name,
             e.lifted_at.strftime("%Y-%m-%d %H:%M") if e.lifted_at else "", e.lift_reason or "")
            for i, e in enumerate(entries, start=1)]
    audit_log.record(actor, "blacklist.export", f"导出黑名单 {len(rows)} 条", "blacklist_entry", "",
                     detail={"filters": {k: str(v) for k, v in vars(filters).items() if v}})
    return write_table("黑名单", EXPORT_HEADERS, rows)

