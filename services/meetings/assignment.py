"""人员分配 and 开启专家投票 (manual S 1.2.5.5 "人员分配", "开启专家投票"; S 1.2.6 (3)–(4); FEATURES G6, G7).

Rules owned here:
- The list shows the meeting's applicants (参评资格审核通过, 破格评议通过, 笔试通过) in their 再排序 order; 再排序 sets
  the order from an imported list of 证件号码 (every applicant exactly once), and the committee's counting pages
  and the experts' pages follow it.
- 主审 / 辅审: one 主审 and any 辅审 among the confirmed experts, never an expert recused for the applicant (same
  unit) and never the 主审 again as 辅审; 重新分配 replaces them.
- With 专业组, each applicant is reviewed in round 1 by one 专业组.
- 人员分配 is done when every applicant still in the meeting has a 主审 (and a 专业组 when grouped); an ordinary
  meeting whose activity has a 破格 meeting waits for that meeting's 计票完成 (its passers join this list).
- 开启专家投票 needs the 评审方案; the list is then fixed and the confirmed experts see it on their side.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload, lazyload

from app.extensions import db
from app.models import Applicant, Declaration, MeetingApplicant, MeetingExpert, ReviewMeeting, User
from services.common import file_store
from services.common.errors import Conflict, InvalidInput, NotFound
from services.meetings.draws import meeting_experts, specialty_group_names
from services.meetings.meetings import (
    check_invalid,
    exceptional_meeting_of,
    record,
    register_step_check,
    require_step,
)
from services.workflow.forms import FieldDefinition

ACTIVE_STATUSES = ("waiting",)
# What the meeting's lists show of a declaration (name, 证件号码, unit, level): one joined SELECT. The applicant's
# own eager relationships (unit, title, educations, work history) would cost more than the count itself (bench).
_LIST_OPTIONS = joinedload(MeetingApplicant.declaration, innerjoin=True).options(
    joinedload(Declaration.applicant, innerjoin=True).options(
        lazyload(Applicant.unit), lazyload(Applicant.title), lazyload(Applicant.educations),
        lazyload(Applicant.work_history)),
    joinedload(Declaration.unit, innerjoin=True))


def applicants_of(meeting: ReviewMeeting, statuses: Sequence[str] | None = None) -> list[MeetingApplicant]:
    stmt = (select(MeetingApplicant).where(MeetingApplicant.meeting_id == meeting.id)
            .options(_LIST_OPTIONS)
            .order_by(MeetingApplicant.position, MeetingApplicant.id))
    if statuses is not None:
        stmt = stmt.where(MeetingApplicant.status.in_(statuses))
    return list(db.session.scalars(stmt))


def load_applicant(meeting: ReviewMeeting, meeting_applicant_id: int) -> MeetingApplicant:
    row = db.session.get(MeetingApplicant, meeting_applicant_id)
    if row is None or row.meeting_id != meeting.id:
        raise NotFound("参评人员不存在")
    return row


def recused(member: MeetingExpert, applicant: MeetingApplicant) -> bool:
    """回避: an expert of the applicant's own unit does not review or vote on that applicant."""
    return member.expert.work_unit == applicant.declaration.unit.name


def reorder(actor: User, meeting: ReviewMeeting, id_numbers: Sequence[str]) -> None:
    """再排序 from an imported list of 证件号码 in the wanted order: all or nothing."""
    require_step(meeting, "assign_applicants")
    rows = applicants_of(meeting)
    by_number = {r.declaration.applicant.id_number: r for r in rows}
    problems = []
    seen: set[str] = set()
    for line, raw in enumerate(id_numbers, start=2):
        number = str(raw or "").strip().upper()
        if number not in by_number:
            problems.append(f"第 {line} 行：身份证号 {number or '（空）'} 不在本会议参评人员中")
        elif number in seen:
            problems.append(f"第 {line} 行：身份证号 {number} 重复")
        seen.add(number)
    missing = [r.declaration.applicant.name for n, r in by_number.items() if n not in seen]
    if missing:
        problems.append(f"排序表：缺少参评人员 {'、'.join(missing[:5])}{' 等' if len(missing) > 5 else ''}")
    check_invalid(problems, "file")
    for position, number in enumerate(id_numbers, start=1):
        by_number[str(number).strip().upper()].position = position
    record(meeting, actor.name, "applicants.reorder", f"导入再排序，共 {len(rows)} 人")


def assign(actor: User, meeting: ReviewMeeting, applicant: MeetingApplicant, main_id: Any,
           assistant_ids: Sequence[Any], specialty_group: str = "") -> None:
    """主审 / 辅审 (and the 专业组) of one applicant; again = 重新分配."""
    require_step(meeting, "assign_applicants")
    if applicant.status not in ACTIVE_STATUSES:
        raise Conflict(f"{applicant.declaration.applicant.name}：{applicant.status_label}，不参加本次评审")
    members = {m.id: m for m in meeting_experts(meeting) if m.status == "confirmed"}

    def member(raw: Any, field: str, label: str) -> MeetingExpert:
        if not str(raw or "").isdigit() or int(raw) not in members:
            raise InvalidInput(f"{label}：请从已确认参评的专家中选择", field=field)
        chosen = members[int(raw)]
        if recused(chosen, applicant):
            raise InvalidInput(f"{label}：{chosen.expert.name} 与申报人同一单位，须回避", field=field)
        return chosen

    main = member(main_id, "main_reviewer_id", "主审专家")
    assistants = [member(raw, "assistant_reviewer_ids", "辅审专家") for raw in assistant_ids if str(raw or "")]
    if any(a.id == main.id for a in assistants):
        raise InvalidInput("辅审专家：不能与主审专家相同", field="assistant_reviewer_ids")
    if meeting.group_voting:
        names = specialty_group_names(meeting)
        if specialty_group not in names:
            raise InvalidInput("专业组：请选择专家分组中的专业组", field="specialty_group")
        applicant.specialty_group = specialty_group
    again = applicant.main_reviewer_id is not None
    applicant.main_reviewer_id = main.id
    applicant.assistant_reviewer_ids = sorted({a.id for a in assistants})
    record(meeting, actor.name, "applicants.assign",
           f"{'重新分配' if again else '分配'}：{applicant.declaration.applicant.name} 主审 {main.expert.name}"
           + (f"，辅审 {'、'.join(a.expert.name for a in assistants)}" if assistants else ""),
           {"meeting_applicant_id": applicant.id, "main": main.id, "assistants": applicant.assistant_reviewer_ids})


def _check_assigned(meeting: ReviewMeeting) -> None:
    exceptional = exceptional_meeting_of(meeting)
    if exceptional is not None and exceptional.stage != "counted":
        raise Conflict("人员分配：破格评审会议尚未计票完成，其通过人员还未进入待分配列表")
    rows = applicants_of(meeting, ACTIVE_STATUSES)
    if not rows:
        raise InvalidInput("人员分配：本会议没有待评审的参评人员", field="applicants")
    problems = [f"{r.declaration.applicant.name}：未设置主审专家" for r in rows if r.main_reviewer_id is None]
    if meeting.group_voting:
        problems += [f"{r.declaration.applicant.name}：未选择专业组" for r in rows if not r.specialty_group]
    check_invalid(problems, "applicants")


def save_plan(actor: User, meeting: ReviewMeeting, review_plan: str, supervising: str) -> None:
    """评审方案 and 监督的评委会 (G7)."""
    require_step(meeting, "open_voting")
    review_plan, supervising = (review_plan or "").strip(), (supervising or "").strip()
    if len(review_plan) > 5000:
        raise InvalidInput("评审方案：不能超过 5000 个字", field="review_plan")
    if len(supervising) > 100:
        raise InvalidInput("监督的评委会：不能超过 100 个字", field="supervising_committee")
    meeting.review_plan, meeting.supervising_committee = review_plan, supervising
    record(meeting, actor.name, "plan", "保存评审方案")


MATERIAL_TYPES = ("pdf", "docx", "jpg", "png")
MAX_MATERIALS = 20
MATERIAL_FIELD = FieldDefinition("material", "专家评议材料", "file", max_size_mb=20, accept=MATERIAL_TYPES)


def add_material(actor: User, meeting: ReviewMeeting, filename: str, content: bytes) -> None:
    """上传专家评议材料 (G7): shown to the experts on their side; checked by size and real type, kept by hash."""
    require_step(meeting, "assign_applicants", "open_voting")
    checked = file_store.check(MATERIAL_FIELD, filename, content)
    files = list(meeting.materials or [])
    if len(files) >= MAX_MATERIALS:
        raise InvalidInput(f"专家评议材料：最多上传 {MAX_MATERIALS} 个", field="material")
    if any(f["sha256"] == checked.sha256 for f in files):
        raise InvalidInput("专家评议材料：该文件已上传", field="material")
    meeting.materials = [*files, {"sha256": checked.sha256, "filename": checked.filename, "size": checked.size,
                                  "file_type": checked.file_type}]
    db.session.flush()
    file_store.store(checked, content)
    record(meeting, actor.name, "material.add", f"上传专家评议材料：{checked.filename}")


def material_of(meeting: ReviewMeeting, index: int) -> dict[str, Any]:
    files = list(meeting.materials or [])
    if not 0 <= index < len(files):
        raise NotFound("专家评议材料不存在")
    return dict(files[index])


def _open_voting(meeting: ReviewMeeting) -> None:
    """开启专家投票: the plan is set; the confirmed experts now see the meeting on their side."""
    if not meeting.review_plan.strip():
        raise InvalidInput("评审方案：开启专家投票前须完成评审方案设置", field="review_plan")
    meeting.voting_open = True


register_step_check("assign_applicants", _check_assigned)
register_step_check("open_voting", _open_voting)
