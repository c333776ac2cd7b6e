"""评委会备案 and 评委会备案审核 (manual S 1.2.2.1 提交备案, S 1.2.2.2; FEATURES C1–C3).

Rules owned here:
- Submission (bpmn/committee_filing.bpmn) needs the 核准备案请示 upload and an expert list that satisfies the
  composition rules of admin_config/committee_rules.yaml (职称评审管理暂行规定 第十条; RULES.md): at least the
  minimum for the committee's highest grade and build mode, an odd count, at least one 主任委员, and every expert
  complete (专家各项信息需完善，未完善不可提交) holding a title of the series at the committee's grade or above.
- The 授权管理单位 reviews, then the 备案单位, each through its 多岗审核 levels for 评委会备案 (unit_review);
  when both roles fall to one unit it reviews once. 退回 returns the filing to the forming unit for correction
  and resubmission; 不通过 is final for that run.
- A pass files the committee for three years (validity_years) from the day of the pass; a timer tells the
  forming unit expiry_notice_days before the end and marks the committee 已过期 when it ends — unless a later
  filing has passed meanwhile. Re-filing runs the same flow: allowed when 未备案 / 备案不通过 / 已过期, or within the
  notice window of a filed committee, which stays 已备案 while the new run is reviewed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, exists, func, select, update

from app.extensions import db
from app.models import (
    Committee,
    CommitteeExpert,
    CommitteeFiling,
    Expert,
    ExpertService,
    HumanTask,
    HumanTaskCandidate,
    RolePermission,
    TitleLevel,
    User,
    UserRole,
    WorkflowEvent,
)
from services import notifications
from services.authz import access, audit_chain
from services.committees.committees import (
    FILING_PERMISSION,
    GRADE_ORDER,
    add_years,
    highest_grade,
    open_filing,
    returned_filing,
    rules,
)
from services.common import audit_log, file_store
from services.common.errors import Conflict, InvalidInput, NotFound
from services.org import review_lists
from services.workflow import forms, instances
from services.workflow.scripting import WHITELIST, FunctionRegistry

PROCESS_ID = "committee_filing"
BUSINESS_TYPE = "committee_filing"
AUDIT_ITEM = "committee_filing"
REVIEW_PERMISSION = "committee_filing.review"
REQUEST_FORM = "committee/filing_request"
LOCAL_TZ = ZoneInfo("Asia/Shanghai")
FILING_MEMBER_STATUSES = ("draft", "submitted", "in_library")
REVIEW_TABS = {"todo": "待审核", "pass": "审核通过", "reject": "审核不通过", "return": "审核退回"}


def request_field() -> forms.FieldDefinition:
    """核准备案请示's size and type rules, from the form definition (one place for them)."""
    return forms.load_form(REQUEST_FORM).field("filing_request")


def latest_filing(committee: Committee) -> CommitteeFiling | None:
    return db.session.scalar(select(CommitteeFiling).where(CommitteeFiling.committee_id == committee.id)
                             .order_by(CommitteeFiling.id.desc()).limit(1))


def filing_members(committee: Committee) -> list[CommitteeExpert]:
    """The expert list a filing carries: the library and the experts added for this filing."""
    return list(db.session.scalars(select(CommitteeExpert).where(
        CommitteeExpert.committee_id == committee.id, CommitteeExpert.status.in_(FILING_MEMBER_STATUSES))
        .order_by(CommitteeExpert.id)))


def composition_problems(committee: Committee, members: list[CommitteeExpert]) -> list[str]:
    """Every broken composition rule, each message naming it (admin_config/committee_rules.yaml)."""
    composition = rules()["composition"]
    grade = highest_grade(committee.level_codes)
    minimum = int(composition["minimum_members"][grade][committee.build_mode])
    count = len(members)
    problems = []
    if count < minimum:
        problems.append(f"专家库名单：{grade}评委会{committee.build_mode_label}至少需要 {minimum} 名专家，当前 {count} 名")
    if composition.get("odd_count") and count % 2 == 0:
        problems.append(f"专家库名单：评委会人数应为单数，当前 {count} 名")
    chairs = sum(1 for m in members if m.role == "chair")
    if chairs < int(composition.get("min_chairs", 1)):
        problems.append(f"专家库名单：至少需要 {composition.get('min_chairs', 1)} 名主任委员")
    for member in members:
        problem = expert_fit_problem(committee, member.expert)
        if problem:
            problems.append(problem)
    return problems


def expert_fit_problem(committee: Committee, expert: Expert) -> str | None:
    """An expert must be complete and hold a title of the series at the committee's grade or above."""
    if not expert.is_complete:
        return f"专家「{expert.name}」：信息未完善，未完善不可提交"
    if expert.title.series_code != committee.series_code:
        return f"专家「{expert.name}」：现职称「{expert.title.name}」不属于评审系列「{committee.series.name}」"
    if rules()["expert"].get("require_title_at_committee_level"):
        needed = highest_grade(committee.level_codes)
        held = db.session.scalar(select(TitleLevel.grade).where(TitleLevel.code == expert.title.level_code))
        if held is None or GRADE_ORDER.index(held) > GRADE_ORDER.index(needed):
            return f"专家「{expert.name}」：现职称须为{needed}及以上"
    return None


def check_can_file(committee: Committee, today: date | None = None) -> None:
    today = today or date.today()
    if committee.status == "deregistered":
        raise Conflict(f"评委会「{committee.name}」已注销，不能备案")
    if open_filing(committee) is not None:
        raise Conflict(f"评委会「{committee.name}」正在备案审核中，不能重复提交")
    if committee.status == "filed" and committee.valid_until is not None:
        window = int(rules()["expiry_notice_days"])
        if committee.valid_until - today > timedelta(days=window):
            raise Conflict(f"评委会「{committee.name}」备案有效期至 {committee.valid_until}，"
                           f"到期前 {window} 天内方可重新备案")


def _review_data(committee: Committee, filing: CommitteeFiling) -> dict[str, Any]:
    return {"filing_id": filing.id, "committee_id": committee.id,
            "authorizing_unit_id": committee.authorizing_unit_id, "filing_unit_id": committee.filing_unit_id,
            "authorizing_levels": audit_chain.review_levels(committee.authorizing_unit_id, AUDIT_ITEM),
            "filing_levels": audit_chain.review_levels(committee.filing_unit_id, AUDIT_ITEM)}


def _columns(committee: Committee) -> dict[str, Any]:
    levels = committee.level_codes
    return {"committee_id": committee.id, "series_code": committee.series_code,
            "level_code": levels[0] if levels else "", "applicant_name": committee.forming_unit.name[:30]}


def _submit_members(committee: Committee) -> int:
    members = filing_members(committee)
    problems = composition_problems(committee, members)
    if problems:
        raise InvalidInput(problems[0], errors={"experts": problems})
    now = datetime.now()
    for member in members:
        if member.status == "draft":
            member.status, member.submitted_at, member.return_opinion = "submitted", now, ""
    return len(members)


def submit_filing(actor: User, committee: Committee, filename: str, content: bytes) -> CommitteeFiling:
    """提交备案: check the rules, keep the 核准备案请示, start the review (S 1.2.2.1)."""
    access.require_permission(actor, FILING_PERMISSION, committee.forming_unit)
    check_can_file(committee)
    if not filename or not content:
        raise InvalidInput("核准备案请示：必须上传", field="filing_request")
    checked = file_store.check(request_field(), filename, content)
    count = _submit_members(committee)
    filing = CommitteeFiling(committee_id=committee.id, status="pending", expert_count=count,
                             submitted_by_id=actor.id, submitted_at=datetime.now(), request_sha256=checked.sha256,
                             request_filename=checked.filename, request_size=checked.size,
                             request_type=checked.file_type)
    db.session.add(filing)
    db.session.flush()
    # A filed committee stays valid while its re-filing is reviewed; the others show 备案中.
    if committee.status != "filed":
        committee.status = "filing"
    instances.start_process(PROCESS_ID, BUSINESS_TYPE, filing.id, f"评委会备案：{committee.name}",
                            committee.forming_unit_id, _review_data(committee, filing), actor,
                            columns=_columns(committee))
    file_store.store(checked, content)
    audit_log.record(actor, "committee.file", f"评委会「{committee.name}」提交备案（{count} 名专家）",
                     "committee", committee.id)
    return filing


def correction_task(filing: CommitteeFiling) -> HumanTask | None:
    return instances.open_task_for(BUSINESS_TYPE, filing.id, "unit_admin")


def resubmit_filing(actor: User, committee: Committee, note: str, filename: str = "",
                    content: bytes = b"") -> CommitteeFiling:
    """After 退回: the forming unit corrects the committee and its experts, then submits again."""
    filing = returned_filing(committee)
    task = correction_task(filing) if filing is not None else None
    if filing is None or task is None:
        raise Conflict("该评委会的备案当前不是“已退回”状态，不能重新提交")
    checked = file_store.check(request_field(), filename, content) if filename and content else None
    filing.expert_count = _submit_members(committee)
    if checked is not None:
        filing.request_sha256, filing.request_filename = checked.sha256, checked.filename
        filing.request_size, filing.request_type = checked.size, checked.file_type
    filing.status = "pending"
    instances.complete_human_task(actor, task.id, {"note": note}, columns=_columns(committee))
    if checked is not None:
        file_store.store(checked, content)
    audit_log.record(actor, "committee.refile", f"评委会「{committee.name}」修改后重新提交备案", "committee",
                     committee.id)
    return filing


def trail_of(filing: CommitteeFiling) -> list[WorkflowEvent]:
    """备案审核记录."""
    return instances.business_trail(BUSINESS_TYPE, filing.id)


def filings_of(committee: Committee) -> list[CommitteeFiling]:
    return list(db.session.scalars(select(CommitteeFiling).where(CommitteeFiling.committee_id == committee.id)
                                   .order_by(CommitteeFiling.id.desc())))


# --- 评委会备案审核 (S 1.2.2.2) -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class ReviewRow:
    filing: CommitteeFiling
    task_id: int | None  # the actor's open task on it (待审核 only)
    task_name: str


def review_query(actor: User, tab: str, keyword: str = "") -> Select[tuple[CommitteeFiling]]:
    """The filings the actor must review (待审核) or the actor's unit has decided, scoped to that unit."""
    tasks = review_lists.reviewed_ids(actor, BUSINESS_TYPE, tab, REVIEW_PERMISSION)
    stmt = select(CommitteeFiling).join(Committee, Committee.id == CommitteeFiling.committee_id).where(
        CommitteeFiling.id.in_(tasks))
    if keyword:
        stmt = stmt.where(Committee.name.icontains(keyword[:50], autoescape=True))
    return stmt.order_by(CommitteeFiling.id.desc())


def review_rows(actor: User, filings: list[CommitteeFiling]) -> list[ReviewRow]:
    """Each filing with the actor's open task on it, for the 审核 link and the batch check boxes."""
    open_tasks = instances.open_tasks_of(actor, BUSINESS_TYPE, [f.id for f in filings])
    return [ReviewRow(f, *open_tasks.get(f.id, (None, ""))) for f in filings]


def review_counts(actor: User) -> dict[str, int]:
    return review_lists.tab_counts(lambda tab: review_query(actor, tab), REVIEW_TABS)


def load_filing_for_reviewer(actor: User, filing_id: int) -> CommitteeFiling:
    """A filing the actor's unit reviews (or reviewed), or its forming unit's; else 404 (ids cannot be probed)."""
    filing = db.session.get(CommitteeFiling, filing_id)
    if filing is None:
        raise NotFound("备案申请不存在")
    committee = filing.committee
    if access.has_permission(actor, FILING_PERMISSION, committee.forming_unit):
        return filing
    # The 授权管理单位 and the 备案单位 review it; any other unit that held one of its tasks reviewed it once.
    if any(access.has_permission(actor, REVIEW_PERMISSION, unit)
           for unit in (committee.authorizing_unit, committee.filing_unit)):
        return filing
    involved = exists().where(HumanTask.business_type == BUSINESS_TYPE, HumanTask.business_id == filing.id,
                              HumanTask.unit_id == actor.unit_id)
    if access.has_permission(actor, REVIEW_PERMISSION, actor.unit) and db.session.scalar(select(involved)):
        return filing
    raise NotFound("备案申请不存在")


def open_task_for(actor: User, filing: CommitteeFiling) -> HumanTask | None:
    return db.session.scalar(select(HumanTask).where(
        HumanTask.business_type == BUSINESS_TYPE, HumanTask.business_id == filing.id, HumanTask.status == "open",
        HumanTask.id.in_(select(HumanTaskCandidate.task_id).where(HumanTaskCandidate.user_id == actor.id))))


# --- whitelisted business operations (bpmn/committee_filing.bpmn) --------------------------------------------

def _filing(filing_id: int, *statuses: str) -> CommitteeFiling:
    filing = db.session.get(CommitteeFiling, int(filing_id))
    if filing is None or (statuses and filing.status not in statuses):
        raise Conflict(f"备案申请 {filing_id} 不存在或已办结")
    return filing


def _members_back_to_draft(committee_id: int, opinion: str) -> None:
    db.session.execute(update(CommitteeExpert).where(
        CommitteeExpert.committee_id == committee_id, CommitteeExpert.status == "submitted")
        .values(status="draft", return_opinion=opinion[:500]).execution_options(synchronize_session="fetch"))


def _at_midnight(day: date) -> str:
    return datetime.combine(day, time(0), tzinfo=LOCAL_TZ).isoformat()


def approve_committee_filing(filing_id: int) -> dict[str, str]:
    """审核通过 at the 备案单位: 已备案 for validity_years from today; returns the timer dates for the diagram."""
    filing = _filing(filing_id, "pending")
    committee = filing.committee
    today = date.today()
    # Three years inclusive of the first day: filed 2026-03-01 → valid through 2029-02-28.
    valid_until = add_years(today, int(rules()["validity_years"])) - timedelta(days=1)
    filing.status, filing.decided_at = "approved", datetime.now()
    filing.valid_from, filing.valid_until = today, valid_until
    committee.status, committee.filed_on, committee.valid_until = "filed", today, valid_until
    committee.expiry_notified_on = None
    members = list(db.session.scalars(select(CommitteeExpert).where(
        CommitteeExpert.committee_id == committee.id, CommitteeExpert.status == "submitted")))
    for member in members:
        member.status, member.admitted_on = "in_library", today
    record_service_year(committee, today.year)
    audit_log.record(instances.current_actor.get(), "committee.filed",
                     f"评委会「{committee.name}」备案通过，有效期至 {valid_until}", "committee", committee.id)
    expires = valid_until + timedelta(days=1)
    notice = expires - timedelta(days=int(rules()["expiry_notice_days"]))
    return {"reminder_at": _at_midnight(notice), "expires_at": _at_midnight(expires)}


def record_service_year(committee: Committee, year: int) -> int:
    """Expert history (D5): one row per in-library expert for the year, with the role held."""
    members = list(db.session.scalars(select(CommitteeExpert).where(
        CommitteeExpert.committee_id == committee.id, CommitteeExpert.status == "in_library")))
    existing = set(db.session.scalars(select(ExpertService.expert_id).where(
        ExpertService.committee_id == committee.id, ExpertService.year == year)))
    for member in members:
        if member.expert_id not in existing:
            db.session.add(ExpertService(expert_id=member.expert_id, committee_id=committee.id, year=year,
                                         role=member.role))
    return len(members)


def return_committee_filing(filing_id: int, opinion: str) -> None:
    """审核退回: back to the forming unit, which corrects the committee and its experts and resubmits."""
    filing = _filing(filing_id, "pending")
    filing.status, filing.opinion = "returned", str(opinion or "")[:500]
    _members_back_to_draft(filing.committee_id, f"备案退回：{opinion}")


def reject_committee_filing(filing_id: int, opinion: str) -> None:
    """审核不通过: this run ends; a committee never filed becomes 备案不通过, a filed one keeps its validity."""
    filing = _filing(filing_id, "pending")
    committee = filing.committee
    filing.status, filing.opinion, filing.decided_at = "rejected", str(opinion or "")[:500], datetime.now()
    if committee.status == "filing":
        committee.status = "refused"
    _members_back_to_draft(committee.id, f"备案不通过：{opinion}")
    audit_log.record(instances.current_actor.get(), "committee.refused",
                     f"评委会「{committee.name}」备案不通过", "committee", committee.id)


def _still_current(filing: CommitteeFiling) -> bool:
    """The timers of an older run do nothing once a later filing of the committee has passed."""
    newest = db.session.scalar(select(func.max(CommitteeFiling.id)).where(
        CommitteeFiling.committee_id == filing.committee_id, CommitteeFiling.status == "approved"))
    return newest == filing.id and filing.committee.status == "filed"


def notify_committee_expiry(filing_id: int) -> None:
    """到期提醒: expiry_notice_days before the end, the forming unit is told to file again."""
    filing = _filing(filing_id)
    if not _still_current(filing):
        return
    committee = filing.committee
    committee.expiry_notified_on = date.today()
    notifications.notify("committee_expiring", [notifications.user_recipient(i) for i in _filing_staff(committee)],
                         f"评委会备案即将到期：{committee.name}",
                         f"评委会「{committee.name}」备案将于 {committee.valid_until} 到期，请及时重新备案。",
                         ("committee", committee.id))
    audit_log.record(None, "committee.expiry_notice",
                     f"评委会「{committee.name}」备案将于 {committee.valid_until} 到期，请及时重新备案",
                     "committee", committee.id, unit_id=committee.forming_unit_id)


def _filing_staff(committee: Committee) -> list[int]:
    """Who files for the forming unit: its 超级管理员 and the staff whose roles grant 评委会备案申报."""
    admins = select(User.id).where(User.unit_id == committee.forming_unit_id, User.enabled.is_(True),
                                   User.is_unit_admin.is_(True))
    holders = (select(User.id).join(UserRole, UserRole.user_id == User.id)
               .join(RolePermission, RolePermission.role_id == UserRole.role_id)
               .where(User.unit_id == committee.forming_unit_id, User.enabled.is_(True),
                      RolePermission.permission_code == FILING_PERMISSION))
    return sorted(set(db.session.scalars(admins.union(holders))))


def expire_committee(filing_id: int) -> None:
    """已过期: the filing's validity ended with no later filing passed (RULES.md: valid at most 3 years)."""
    filing = _filing(filing_id)
    if not _still_current(filing):
        return
    committee = filing.committee
    committee.status = "expired"
    audit_log.record(None, "committee.expired", f"评委会「{committee.name}」备案已过期", "committee", committee.id,
                     unit_id=committee.forming_unit_id)


def register_operations(registry: FunctionRegistry = WHITELIST) -> None:
    registry.register("approve_committee_filing", approve_committee_filing, replace=True)
    registry.register("return_committee_filing", return_committee_filing, replace=True)
    registry.register("reject_committee_filing", reject_committee_filing, replace=True)
    registry.register("notify_committee_expiry", notify_committee_expiry, replace=True)
    registry.register("expire_committee", expire_committee, replace=True)
