"""专家库管理 and 专家库审核 (manual S 1.2.2.3, 1.2.2.4; FEATURES D1, D3, D4, D5).

Rules owned here:
- The fields and limits of 新增专家信息 (S 1.2.2.3): 姓名 ≤10, 证件号码 ≤18 and valid (GB 11643-1999), 性别 and
  出生日期 (yyyyMM) agreeing with the 证件号码, 工作单位 ≤30, 主管单位 ≤30, 行政职务 ≤20, 联系电话 ≤11 digits,
  所获荣誉、称号 ≤300, 现从事专业 ≤30, 现职称 from the title dictionary (of the 现专业技术系列 when one is given);
  年龄 is derived from 出生日期, never typed.
- An expert is one person per 证件号码, listed at most once per committee. The forming unit adds experts to
  本单位新增待提交; a subordinate unit recommends experts to a committee formed by one of its superiors
  (下级单位推荐待审核), which the forming unit takes over or returns (本单位退回).
- Experts of a committee that is not yet filed go with its filing (services/committee_filing). Experts added to a
  filed committee are submitted to its 备案单位 one by one (bpmn/expert_review.bpmn): 通过 puts them 在库, 退回
  sends them back to 本单位新增待提交 with the opinion.
- Expert history (D5): the committees, years and roles served (ExpertService), read by the drawing rules.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, func, select

from app.extensions import db
from app.models import (
    Committee,
    CommitteeExpert,
    Expert,
    ExpertService,
    HumanTask,
    HumanTaskCandidate,
    Title,
    TitleSeries,
    Unit,
    User,
)
from services.authz import access, audit_chain
from services.committees.committee_filing import expert_fit_problem, record_service_year
from services.committees.committees import FILING_PERMISSION, rules
from services.common import audit_log
from services.common.errors import Conflict, InvalidInput, NotFound
from services.common.excel.export import looks_like_formula
from services.reference.validation import (
    InvalidValue,
    id_number_birth_date,
    id_number_gender,
    normalize_id_number,
)
from services.workflow import instances
from services.workflow.scripting import WHITELIST, FunctionRegistry

MANAGE_PERMISSION = "expert.manage"
REVIEW_PERMISSION = "expert.review"
PROCESS_ID = BUSINESS_TYPE = AUDIT_ITEM = "expert_review"
LISTS = ("draft", "recommended", "in_library", "returned")
ROLES = ("chair", "vice_chair", "member")
_PHONE = re.compile(r"^[0-9]{7,11}$")
_BIRTH = re.compile(r"^[0-9]{6}$")

# (field, label, limit, required) of S 1.2.2.3, in the manual's order.
TEXT_FIELDS = (
    ("country", "国别", 20, False), ("name", "姓名", 10, True), ("work_unit", "工作单位", 30, True),
    ("competent_unit", "主管单位", 30, False), ("admin_post", "行政职务", 20, True),
    ("honors", "所获荣誉、称号", 300, True), ("specialty", "现从事专业", 30, True),
)


def field_errors(data: Mapping[str, Any], today: date | None = None) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Clean one expert's data; returns (values, errors by field). Shared by 单个新增 and 批量新增."""
    today = today or date.today()
    values: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}

    def fail(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    for name, label, limit, required in TEXT_FIELDS:
        value = str(data.get(name) or "").strip()
        if required and not value:
            fail(name, f"{label}：必填")
        elif len(value) > limit:
            fail(name, f"{label}：不能超过 {limit} 个字")
        elif looks_like_formula(value):
            fail(name, f"{label}：不能以 = + - @ 开头")
        values[name] = value
    values["country"] = values["country"] or "中国"
    expert_rules = rules()["expert"]
    id_type = str(data.get("id_type") or expert_rules["id_types"][0]).strip()
    if id_type not in expert_rules["id_types"]:
        fail("id_type", f"证件类型：只能为{'、'.join(expert_rules['id_types'])}")
    values["id_type"] = id_type
    raw_id = str(data.get("id_number") or "").strip()
    birth_from_id: date | None = None
    if not raw_id:
        fail("id_number", "证件号码：必填")
    elif len(raw_id) > 18:
        fail("id_number", "证件号码：不能超过 18 位")
    else:
        try:
            values["id_number"] = normalize_id_number(raw_id, today)
            birth_from_id = id_number_birth_date(values["id_number"])
        except InvalidValue as exc:
            fail("id_number", f"证件号码：{exc.message}")
    gender = str(data.get("gender") or "").strip()
    if gender not in expert_rules["genders"]:
        fail("gender", "性别：请选择男或女")
    elif birth_from_id is not None and gender != id_number_gender(values["id_number"]):
        fail("gender", "性别：与证件号码不一致")
    values["gender"] = gender
    birth = str(data.get("birth_month") or "").strip().replace("-", "").replace("/", "")
    if not _BIRTH.fullmatch(birth) or not 1 <= int(birth[4:6]) <= 12:
        fail("birth_month", "出生日期：格式应为 yyyyMM，例如 197307")
    elif birth_from_id is not None and birth != birth_from_id.strftime("%Y%m"):
        fail("birth_month", "出生日期：与证件号码中的出生年月不一致")
    values["birth_month"] = birth
    values["retired"] = str(data.get("retired") or "").strip() in ("是", "true", "1", "已退休")
    level = str(data.get("admin_post_level") or "").strip()
    if level and level not in expert_rules["admin_post_levels"]:
        fail("admin_post_level", "行政职务级别：请从列表中选择")
    values["admin_post_level"] = level
    for name, label, required in (("phone1", "联系电话1", True), ("phone2", "联系电话2", False)):
        phone = re.sub(r"[\s-]", "", str(data.get(name) or ""))
        if required and not phone:
            fail(name, f"{label}：必填")
        elif phone and not _PHONE.fullmatch(phone):
            fail(name, f"{label}：应为不超过 11 位的数字")
        values[name] = phone
    _title(data, values, fail)
    return values, errors


def _title(data: Mapping[str, Any], values: dict[str, Any], fail: Any) -> None:
    """现专业技术系列 (optional) and 现职称 (required), by code / id from forms or by name from spreadsheets."""
    series_raw = str(data.get("series_code") or data.get("series_name") or "").strip()
    series = None
    if series_raw:
        series = db.session.scalar(select(TitleSeries).where(
            (TitleSeries.code == series_raw) | (TitleSeries.name == series_raw)))
        if series is None:
            fail("series_code", f"现专业技术系列：「{series_raw[:30]}」不在职称系列中")
    values["series_code"] = series.code if series else None
    title_raw = str(data.get("title_id") or data.get("title_name") or "").strip()
    if not title_raw:
        fail("title_id", "现职称：必填")
        return
    stmt = select(Title).where(Title.id == int(title_raw)) if title_raw.isdigit() else select(Title).where(
        Title.name == title_raw)
    if series is not None:
        stmt = stmt.where(Title.series_code == series.code)
    titles = list(db.session.scalars(stmt.limit(2)))
    if not titles:
        where = f"「{series.name}」系列中" if series else "职称树中"
        fail("title_id", f"现职称：「{title_raw[:30]}」不在{where}")
    elif len(titles) > 1:
        fail("title_id", f"现职称：「{title_raw[:30]}」属于多个系列，请填写现专业技术系列")
    else:
        values["title_id"] = titles[0].id
        values["series_code"] = values["series_code"] or titles[0].series_code


def _role(raw: Any) -> str:
    role = str(raw or "member")
    if role not in ROLES:
        raise InvalidInput("评委会职务：请选择主任委员、副主任委员或委员", field="role")
    return role


# --- which committees a unit may work on --------------------------------------------------------------------

def managed_committees(actor: User) -> Select[tuple[Committee]]:
    """Committees whose library the actor's unit manages (its own), not deregistered."""
    stmt = access.scope_to_units(select(Committee), Committee.forming_unit_id, actor, MANAGE_PERMISSION)
    return stmt.where(Committee.status != "deregistered").order_by(Committee.id.desc())


def recommendable_committees(actor: User) -> list[Committee]:
    """Committees formed by the actor's superiors, to which it may recommend experts (S 1.2.2.3)."""
    if not access.has_permission(actor, MANAGE_PERMISSION, actor.unit):
        return []
    ancestors = [int(p) for p in actor.unit.path.strip("/").split("/")[:-1] if p]
    return list(db.session.scalars(select(Committee).where(
        Committee.forming_unit_id.in_(ancestors), Committee.status != "deregistered").order_by(Committee.name)))


def load_committee(actor: User, committee_id: int) -> tuple[Committee, bool]:
    """(committee, is_own): the actor's own committee, or a superior's it may recommend to; else 404."""
    committee = db.session.get(Committee, committee_id)
    if committee is None or committee.status == "deregistered":
        raise NotFound("评委会不存在或无权查看")
    if access.has_permission(actor, MANAGE_PERMISSION, committee.forming_unit):
        return committee, True
    if committee in recommendable_committees(actor):
        return committee, False
    raise NotFound("评委会不存在或无权查看")


def members_query(actor: User, committee: Committee, status: str, keyword: str = "") -> Select[Any]:
    """One of the four lists; a recommending unit sees only what it recommended itself."""
    stmt = select(CommitteeExpert).join(Expert).where(CommitteeExpert.committee_id == committee.id)
    stmt = stmt.where(CommitteeExpert.status.in_(("draft", "submitted")) if status == "draft"
                      else CommitteeExpert.status == status)
    if not access.has_permission(actor, MANAGE_PERMISSION, committee.forming_unit):
        stmt = stmt.where(CommitteeExpert.source_unit_id == actor.unit_id)
    if keyword:
        stmt = stmt.where(Expert.name.icontains(keyword[:30], autoescape=True)
                          | (Expert.id_number == keyword.strip().upper()[:18]))
    return stmt.order_by(CommitteeExpert.id)


def list_counts(actor: User, committee: Committee) -> dict[str, int]:
    return {status: db.session.scalar(select(func.count()).select_from(
        members_query(actor, committee, status).order_by(None).subquery())) or 0 for status in LISTS}


def load_member(actor: User, committee: Committee, membership_id: int) -> CommitteeExpert:
    member = db.session.get(CommitteeExpert, membership_id)
    if member is None or member.committee_id != committee.id:
        raise NotFound("专家不存在")
    if (not access.has_permission(actor, MANAGE_PERMISSION, committee.forming_unit)
            and member.source_unit_id != actor.unit_id):
        raise NotFound("专家不存在")
    return member


# --- 单个新增 / 编辑 ----------------------------------------------------------------------------------------------

def _fit_or_raise(committee: Committee, member: CommitteeExpert) -> None:
    problem = expert_fit_problem(committee, member.expert)
    if problem:
        raise InvalidInput(problem, field="title_id")


def add_expert(actor: User, committee: Committee, data: Mapping[str, Any]) -> CommitteeExpert:
    """新增专家信息: the forming unit adds to 本单位新增待提交; a subordinate recommends (下级单位推荐待审核)."""
    own = access.has_permission(actor, MANAGE_PERMISSION, committee.forming_unit)
    if not own and committee not in recommendable_committees(actor):
        raise NotFound("评委会不存在或无权查看")
    values, errors = field_errors(data)
    if errors:
        raise InvalidInput(next(iter(errors.values()))[0], errors=errors)
    role = _role(data.get("role"))
    expert = db.session.scalar(select(Expert).where(Expert.id_number == values["id_number"]))
    if expert is not None and db.session.scalar(select(CommitteeExpert.id).where(
            CommitteeExpert.committee_id == committee.id, CommitteeExpert.expert_id == expert.id,
            CommitteeExpert.status != "removed")):
        raise Conflict("证件号码：该专家已在本评委会专家库名单中", field="id_number")
    if expert is None:
        expert = Expert(created_by_unit_id=actor.unit_id, **values)
        db.session.add(expert)
    else:
        # One person, one record: the newest data entered for the 证件号码 wins (history stays in the audit log).
        for key, value in values.items():
            setattr(expert, key, value)
    db.session.flush()
    member = db.session.scalar(select(CommitteeExpert).where(
        CommitteeExpert.committee_id == committee.id, CommitteeExpert.expert_id == expert.id))
    if member is None:
        member = CommitteeExpert(committee_id=committee.id, expert_id=expert.id)
        db.session.add(member)
    member.expert = expert
    member.role, member.source_unit_id, member.return_opinion = role, actor.unit_id, ""
    member.status = "draft" if own else "recommended"
    _fit_or_raise(committee, member)
    db.session.flush()
    audit_log.record(actor, "expert.add", f"{'新增' if own else '推荐'}专家「{expert.name}」至评委会「{committee.name}」",
                     "committee_expert", member.id)
    return member


def add_from_library(actor: User, committee: Committee, expert_ids: list[int]) -> int:
    """专家库名单 (a step of 评委会备案申报): draw experts of the unit's libraries into this committee (as 委员)."""
    access.require_permission(actor, FILING_PERMISSION, committee.forming_unit)
    if not expert_ids:
        raise InvalidInput("请至少选择一名专家", field="expert_ids")
    own_library = select(CommitteeExpert.expert_id).join(Committee).where(
        Committee.forming_unit_id == committee.forming_unit_id, CommitteeExpert.status == "in_library")
    present = select(CommitteeExpert.expert_id).where(CommitteeExpert.committee_id == committee.id)
    chosen = list(db.session.scalars(select(Expert).where(Expert.id.in_(expert_ids), Expert.id.in_(own_library),
                                                          Expert.id.not_in(present))))
    if len(chosen) != len(set(expert_ids)):
        raise InvalidInput("所选专家不在本单位专家库中或已在本评委会名单中", field="expert_ids")
    for expert in chosen:
        member = CommitteeExpert(committee_id=committee.id, expert=expert, role="member", status="draft",
                                 source_unit_id=actor.unit_id)
        db.session.add(member)
        _fit_or_raise(committee, member)
    db.session.flush()
    audit_log.record(actor, "expert.pick", f"从本单位专家库选入 {len(chosen)} 名专家至评委会「{committee.name}」",
                     "committee", committee.id)
    return len(chosen)


def update_expert(actor: User, committee: Committee, member: CommitteeExpert, data: Mapping[str, Any]
                  ) -> CommitteeExpert:
    if member.status == "submitted":
        raise Conflict("该专家正在审核中，不能编辑")
    values, errors = field_errors(data)
    if errors:
        raise InvalidInput(next(iter(errors.values()))[0], errors=errors)
    if values["id_number"] != member.expert.id_number:
        raise InvalidInput("证件号码：编辑时不能修改证件号码，如填错请删除后重新新增", field="id_number")
    for key, value in values.items():
        setattr(member.expert, key, value)
    member.role = _role(data.get("role"))
    _fit_or_raise(committee, member)
    db.session.flush()
    audit_log.record(actor, "expert.update", f"编辑专家「{member.expert.name}」", "committee_expert", member.id)
    return member


def remove_member(actor: User, member: CommitteeExpert) -> None:
    """删除 a draft, returned or recommended entry (the person record stays for other committees)."""
    if member.status not in ("draft", "returned", "recommended"):
        raise Conflict(f"「{member.expert.name}」{member.status_label}，不能删除")
    audit_log.record(actor, "expert.remove", f"从评委会名单删除专家「{member.expert.name}」", "committee_expert",
                     member.id)
    db.session.delete(member)
    db.session.flush()


def take_recommendation(actor: User, committee: Committee, member: CommitteeExpert, accept: bool,
                        opinion: str = "") -> None:
    """The forming unit takes a subordinate's recommendation into 本单位新增待提交, or returns it (本单位退回)."""
    access.require_permission(actor, MANAGE_PERMISSION, committee.forming_unit)
    if member.status != "recommended":
        raise Conflict("该专家不是“下级单位推荐待审核”状态")
    if not accept and not opinion.strip():
        raise InvalidInput("退回意见：必填", field="opinion")
    member.status = "draft" if accept else "returned"
    member.return_opinion = "" if accept else opinion.strip()[:500]
    audit_log.record(actor, "expert.recommendation", f"{'采纳' if accept else '退回'}下级单位推荐的专家「{member.expert.name}」",
                     "committee_expert", member.id)


def submit_experts(actor: User, committee: Committee, membership_ids: list[int]) -> int:
    """提交 drafts of a filed committee to its 备案单位, one expert_review instance each (S 1.2.2.4)."""
    access.require_permission(actor, MANAGE_PERMISSION, committee.forming_unit)
    if committee.status != "filed":
        raise Conflict("评委会尚未备案：新增专家随评委会备案申报一并提交")
    members = list(db.session.scalars(select(CommitteeExpert).where(
        CommitteeExpert.committee_id == committee.id, CommitteeExpert.id.in_(membership_ids),
        CommitteeExpert.status == "draft")))
    if not members:
        raise InvalidInput("请至少选择一名“本单位新增待提交”的专家", field="membership_ids")
    for member in members:
        _fit_or_raise(committee, member)
    levels = audit_chain.review_levels(committee.filing_unit_id, AUDIT_ITEM)
    for member in members:
        member.status, member.submitted_at = "submitted", datetime.now()
        instances.start_process(
            PROCESS_ID, BUSINESS_TYPE, member.id, f"专家库审核：{committee.name} {member.expert.name}",
            committee.forming_unit_id,
            {"membership_id": member.id, "reviewing_unit_id": committee.filing_unit_id, "levels": levels}, actor,
            columns={"committee_id": committee.id, "applicant_name": member.expert.name,
                     "series_code": committee.series_code})
    audit_log.record(actor, "expert.submit", f"提交评委会「{committee.name}」专家 {len(members)} 名审核",
                     "committee", committee.id)
    return len(members)


# --- 专家库审核 (S 1.2.2.4) -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ReviewCommittee:
    committee: Committee
    chairs: list[str]
    vice_chairs: list[str]
    in_library: int
    pending: int


def review_committees(actor: User) -> list[ReviewCommittee]:
    """The committees the actor's unit files (备案单位), with their leaders and counts."""
    if not access.has_permission(actor, REVIEW_PERMISSION, actor.unit):
        return []
    stmt = select(Committee).where(Committee.status != "deregistered")
    if not actor.is_platform_admin:
        stmt = stmt.where(Committee.filing_unit_id == actor.unit_id)
    committees = list(db.session.scalars(stmt.order_by(Committee.id.desc()).limit(500)))
    ids = [c.id for c in committees]
    counts = dict.fromkeys(((i, s) for i in ids for s in ("in_library", "submitted")), 0)
    for cid, status, n in db.session.execute(select(CommitteeExpert.committee_id, CommitteeExpert.status, func.count())
                                             .where(CommitteeExpert.committee_id.in_(ids))
                                             .group_by(CommitteeExpert.committee_id, CommitteeExpert.status)):
        counts[(cid, status)] = n
    leaders: dict[tuple[int, str], list[str]] = {}
    for cid, role, name in db.session.execute(
            select(CommitteeExpert.committee_id, CommitteeExpert.role, Expert.name).join(Expert)
            .where(CommitteeExpert.committee_id.in_(ids), CommitteeExpert.status == "in_library",
                   CommitteeExpert.role.in_(("chair", "vice_chair"))).order_by(CommitteeExpert.id)):
        leaders.setdefault((cid, role), []).append(name)
    return [ReviewCommittee(c, leaders.get((c.id, "chair"), []), leaders.get((c.id, "vice_chair"), []),
                            counts[(c.id, "in_library")], counts[(c.id, "submitted")]) for c in committees]


def load_review_committee(actor: User, committee_id: int) -> Committee:
    committee = db.session.get(Committee, committee_id)
    if committee is None or not access.has_permission(actor, REVIEW_PERMISSION, committee.filing_unit):
        raise NotFound("评委会不存在或无权查看")
    return committee


def pending_reviews(actor: User, committee: Committee) -> list[tuple[CommitteeExpert, int | None]]:
    """Submitted experts of the committee with the actor's open review task on each (None: another level's)."""
    mine = select(HumanTaskCandidate.task_id).where(HumanTaskCandidate.user_id == actor.id)
    rows = db.session.execute(
        select(CommitteeExpert, HumanTask.id).outerjoin(HumanTask, (HumanTask.business_id == CommitteeExpert.id)
                                                        & (HumanTask.business_type == BUSINESS_TYPE)
                                                        & (HumanTask.status == "open") & HumanTask.id.in_(mine))
        .where(CommitteeExpert.committee_id == committee.id, CommitteeExpert.status == "submitted")
        .order_by(CommitteeExpert.id))
    return [(member, task_id) for member, task_id in rows]


def complete_reviews(actor: User, committee: Committee, task_ids: list[int], decision: str, opinion: str) -> int:
    """通过 / 退回 experts of one committee: each task must be an open expert review of it."""
    if not task_ids:
        raise InvalidInput("请至少选择一名待审核的专家", field="task_ids")
    if len(task_ids) > 100:
        raise InvalidInput("一次最多批量审核 100 名专家", field="task_ids")
    opinion = opinion.strip() or ("同意入库" if decision == "pass" else "")
    for task_id in task_ids:
        task = db.session.get(HumanTask, task_id)
        member = db.session.get(CommitteeExpert, task.business_id) if task is not None else None
        if task is None or task.business_type != BUSINESS_TYPE or member is None or member.committee_id != committee.id:
            raise NotFound("待审核的专家不存在")
        instances.complete_human_task(actor, task_id, {"decision": decision, "opinion": opinion})
    return len(task_ids)


# --- whitelisted business operations (bpmn/expert_review.bpmn) -------------------------------------------------

def _submitted(membership_id: int) -> CommitteeExpert:
    member = db.session.get(CommitteeExpert, int(membership_id))
    if member is None or member.status != "submitted":
        raise Conflict(f"专家 {membership_id} 不存在或已审核")
    return member


def admit_committee_expert(membership_id: int) -> None:
    member = _submitted(membership_id)
    member.status, member.admitted_on, member.return_opinion = "in_library", date.today(), ""
    record_service_year(member.committee, date.today().year)


def return_committee_expert(membership_id: int, opinion: str) -> None:
    member = _submitted(membership_id)
    member.status, member.return_opinion = "draft", f"专家库审核退回：{opinion}"[:500]


def register_operations(registry: FunctionRegistry = WHITELIST) -> None:
    registry.register("admit_committee_expert", admit_committee_expert, replace=True)
    registry.register("return_committee_expert", return_committee_expert, replace=True)


# --- expert history (D5) ---------------------------------------------------------------------------------------

def history_of(expert: Expert) -> list[ExpertService]:
    """The committees and years an expert served and the roles held, newest first."""
    return list(db.session.scalars(select(ExpertService).where(ExpertService.expert_id == expert.id)
                                   .order_by(ExpertService.year.desc(), ExpertService.committee_id)))


def service_years(expert_ids: list[int], committee_id: int) -> dict[int, list[tuple[int, str, bool]]]:
    """For the drawing rules: expert → [(year, role, attended)] in one committee."""
    found: dict[int, list[tuple[int, str, bool]]] = {}
    for row in db.session.scalars(select(ExpertService).where(ExpertService.expert_id.in_(expert_ids),
                                                              ExpertService.committee_id == committee_id)
                                  .order_by(ExpertService.year)):
        found.setdefault(row.expert_id, []).append((row.year, row.role, row.attended))
    return found


def units_of(unit_ids: list[int]) -> dict[int, Unit]:
    return {u.id: u for u in db.session.scalars(select(Unit).where(Unit.id.in_(unit_ids)))}
