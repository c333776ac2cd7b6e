"""抽选小组, the draw and its record, 确认参评 / 取消参评, 补抽, 执行主任 and 专家分组 (manual S 1.2.5.5 "专家抽选",
"确认出席专家名单"; S 1.2.6 "专家分组"; FEATURES G5, G11).

Rules owned here (the drawing rules themselves are services/meetings/drawing.py, a pure function):
- 新增抽选小组: a 从事专业 and a 职称层级 with the count of active in-library experts matching it, and the number to
  draw (at least 1); groups change only before the draw.
- 开始抽选 reads the pool once (the committee's in-library experts with title level, unit and the committee's
  service history of the three years before), draws with a fresh random seed, and stores seed, pool, groups,
  multiplier, result and every expert's reason (ExpertDraw): the 抽选记录 replays it from what is stored.
- 确认参评 / 取消参评 after phoning; a group short of confirmed experts after 取消参评 gets a 补抽 from the same pool
  (a new ExpertDraw, with the experts drawn before left out).
- 确认出席专家名单 is done when every group has at least its number confirmed, at least one confirmed 主任委员
  candidate, and, when several are confirmed, the 执行主任 chosen among them.
- 专家分组 (专业组, G11): every confirmed expert in a 专业组, each 专业组 with one 组长.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    CommitteeExpert,
    DrawGroup,
    Expert,
    ExpertDraw,
    ExpertService,
    MeetingExpert,
    ReviewMeeting,
    Title,
    TitleLevel,
    User,
)
from services.common.errors import Conflict, InvalidInput, NotFound
from services.jobs import JobContext, job_kind
from services.meetings import drawing
from services.meetings.drawing import Candidate, Group
from services.meetings.meetings import check_invalid, groups_of, record, register_step_check, require_step

MAX_GROUPS = 20


def _level_rank(level_code: str) -> TitleLevel:
    level = db.session.get(TitleLevel, level_code)
    if level is None:
        raise InvalidInput("职称层级：无效", field="level_code")
    return level


def active_count(meeting: ReviewMeeting, specialty: str, level_code: str) -> int:
    """符合条件的在库活跃专家人数: in the committee's library, this 从事专业, title at the level or above."""
    rank = _level_rank(level_code).rank
    return int(db.session.scalar(
        select(func.count()).select_from(CommitteeExpert).join(Expert, Expert.id == CommitteeExpert.expert_id)
        .join(Title, Title.id == Expert.title_id).join(TitleLevel, TitleLevel.code == Title.level_code)
        .where(CommitteeExpert.committee_id == meeting.committee_id, CommitteeExpert.status == "in_library",
               Expert.specialty == specialty, TitleLevel.rank <= rank)) or 0)


def specialty_choices(meeting: ReviewMeeting) -> list[tuple[str, int]]:
    """The 从事专业 of the committee's in-library experts, with their counts."""
    return [(s, n) for s, n in db.session.execute(
        select(Expert.specialty, func.count()).join(CommitteeExpert, CommitteeExpert.expert_id == Expert.id)
        .where(CommitteeExpert.committee_id == meeting.committee_id, CommitteeExpert.status == "in_library")
        .group_by(Expert.specialty).order_by(Expert.specialty))]


def add_group(actor: User, meeting: ReviewMeeting, specialty: str, level_code: str, needed: Any) -> DrawGroup:
    require_step(meeting, "draw_experts")
    if _drawn(meeting):
        raise Conflict("已开始抽选，抽选小组不能再变更")
    specialty = (specialty or "").strip()
    if not specialty:
        raise InvalidInput("从事专业：必填", field="specialty")
    if not str(needed or "").isdigit() or not 1 <= int(needed) <= 99:
        raise InvalidInput("本组抽取人数：须为 1–99 的整数", field="needed")
    groups = groups_of(meeting)
    if len(groups) >= MAX_GROUPS:
        raise InvalidInput(f"抽选小组：最多 {MAX_GROUPS} 个", field="specialty")
    level = _level_rank(level_code)
    if any(g.specialty == specialty and g.level_code == level_code for g in groups):
        raise InvalidInput(f"抽选小组：已有「{specialty}·{level.name}」小组", field="specialty")
    available = active_count(meeting, specialty, level_code)
    if available < int(needed):
        raise InvalidInput(f"本组抽取人数：符合条件的在库活跃专家仅 {available} 人，少于 {needed} 人", field="needed")
    group = DrawGroup(meeting_id=meeting.id, position=len(groups) + 1, specialty=specialty, level_code=level_code,
                      needed=int(needed))
    db.session.add(group)
    db.session.flush()
    record(meeting, actor.name, "group.add", f"新增抽选小组「{specialty}·{level.name}」抽取 {needed} 人",
           {"group_id": group.id, "available": available})
    return group


def remove_group(actor: User, meeting: ReviewMeeting, group_id: int) -> None:
    """Before the draw only: a group nobody was drawn from is a draft, not part of the record."""
    require_step(meeting, "draw_experts")
    if _drawn(meeting):
        raise Conflict("已开始抽选，抽选小组不能再变更")
    group = db.session.get(DrawGroup, group_id)
    if group is None or group.meeting_id != meeting.id:
        raise NotFound("抽选小组不存在")
    record(meeting, actor.name, "group.remove", f"删除抽选小组「{group.specialty}」")
    db.session.delete(group)


def _drawn(meeting: ReviewMeeting) -> bool:
    return db.session.scalar(select(ExpertDraw.id).where(ExpertDraw.meeting_id == meeting.id).limit(1)) is not None


def read_pool(meeting: ReviewMeeting, specialties: list[str]) -> list[Candidate]:
    """The candidate pool as the drawing rules see it: the committee's in-library experts of the groups' 从事专业
    (an expert of another specialty is no candidate of any group), with their service history of the three years
    before; two statements, whatever the size of the library."""
    in_pool = (CommitteeExpert.committee_id == meeting.committee_id, CommitteeExpert.status == "in_library",
               Expert.specialty.in_(sorted(set(specialties))))
    rows = db.session.execute(
        select(Expert.id, Expert.name, Expert.specialty, Expert.work_unit, TitleLevel.rank, CommitteeExpert.role)
        .join(CommitteeExpert, CommitteeExpert.expert_id == Expert.id)
        .join(Title, Title.id == Expert.title_id).join(TitleLevel, TitleLevel.code == Title.level_code)
        .where(*in_pool)).all()
    candidates = select(Expert.id).join(CommitteeExpert, CommitteeExpert.expert_id == Expert.id).where(*in_pool)
    attended: dict[int, list[int]] = {}
    chaired: dict[int, list[int]] = {}
    for expert_id, year, role, was_there in db.session.execute(
            select(ExpertService.expert_id, ExpertService.year, ExpertService.role, ExpertService.attended)
            .where(ExpertService.committee_id == meeting.committee_id, ExpertService.expert_id.in_(candidates),
                   ExpertService.year.between(meeting.year - drawing.CONSECUTIVE_YEARS, meeting.year - 1))):
        if was_there:
            attended.setdefault(expert_id, []).append(year)
        if role == "chair":
            chaired.setdefault(expert_id, []).append(year)
    return [Candidate(r.id, r.name, r.specialty, r.rank, r.role, r.work_unit,
                      tuple(sorted(attended.get(r.id, ()))), tuple(sorted(chaired.get(r.id, ())))) for r in rows]


def _groups(meeting: ReviewMeeting) -> list[Group]:
    ranks = dict(db.session.execute(select(TitleLevel.code, TitleLevel.rank)).tuples().all())
    names = dict(db.session.execute(select(TitleLevel.code, TitleLevel.name)).tuples().all())
    return [Group(g.id, f"{g.specialty}·{names[g.level_code]}", g.specialty, ranks[g.level_code], g.needed)
            for g in groups_of(meeting)]


def check_draw(meeting: ReviewMeeting, multiplier_tenths: Any) -> int:
    """What 开始抽选 checks before any candidate is read (the request answers these at once)."""
    require_step(meeting, "draw_experts")
    if _drawn(meeting):
        raise Conflict("本会议已完成抽选；如需补充专家，请在“确认出席专家名单”中补抽")
    if str(multiplier_tenths) not in {str(m) for m in drawing.MULTIPLIERS}:
        raise InvalidInput("抽选倍数：只能为 1.5 倍、2 倍或 3 倍", field="multiplier")
    return int(multiplier_tenths)


def start_draw(actor: User, meeting: ReviewMeeting, multiplier_tenths: Any, seed: str | None = None) -> ExpertDraw:
    """开始抽选 with a 抽选倍数; the seed is fresh unless given (tests, the bench)."""
    multiplier = check_draw(meeting, multiplier_tenths)
    groups = _groups(meeting)
    pool, seed = read_pool(meeting, [g.specialty for g in groups]), seed or secrets.token_hex(16)
    result = drawing.draw(pool, groups, multiplier, meeting.year, seed)
    meeting.multiplier_tenths = multiplier
    return _store(actor, meeting, "initial", seed, pool, groups, result, [], {})


def _store(actor: User, meeting: ReviewMeeting, kind: str, seed: str, pool: list[Candidate], groups: list[Group],
           result: drawing.DrawResult, already: list[int], counts: Mapping[int, int],
           require_chair: bool = False) -> ExpertDraw:
    draw = ExpertDraw(meeting_id=meeting.id, kind=kind, seed=seed, multiplier_tenths=meeting.multiplier_tenths,
                      year=meeting.year, groups=[g.as_json() for g in groups], pool=[c.as_json() for c in pool],
                      already_drawn=already, replacement_count={str(k): v for k, v in counts.items()},
                      require_chair=require_chair,
                      drawn=result.drawn, reasons={str(k): v for k, v in result.reasons.items()},
                      created_by_name=actor.name)
    db.session.add(draw)
    db.session.flush()
    start = int(db.session.scalar(select(func.coalesce(func.max(MeetingExpert.position), 0)).where(
        MeetingExpert.meeting_id == meeting.id)) or 0)
    chairs = set(result.chairs)
    db.session.add_all([MeetingExpert(meeting_id=meeting.id, expert_id=expert_id, group_id=result.group_of[expert_id],
                                      draw_id=draw.id, position=start + n, chair=expert_id in chairs, status="drawn")
                        for n, expert_id in enumerate(result.drawn, start=1)])
    label = "补抽" if kind == "replacement" else "抽选"
    record(meeting, actor.name, f"draw.{kind}", f"{label}专家 {len(result.drawn)} 人（抽选倍数 "
           f"{meeting.multiplier_tenths / 10:g} 倍，随机种子 {seed[:8]}…）", {"draw_id": draw.id})
    db.session.flush()
    return draw


def load_draw(meeting: ReviewMeeting, draw_id: int) -> ExpertDraw:
    draw = db.session.get(ExpertDraw, draw_id)
    if draw is None or draw.meeting_id != meeting.id:
        raise NotFound("抽选记录不存在")
    return draw


def draws_of(meeting: ReviewMeeting) -> list[ExpertDraw]:
    return list(db.session.scalars(select(ExpertDraw).where(ExpertDraw.meeting_id == meeting.id)
                                   .order_by(ExpertDraw.id)))


def replay(draw: ExpertDraw) -> drawing.DrawResult:
    """重放: the stored inputs through the same pure function."""
    counts = {int(k): int(v) for k, v in draw.replacement_count.items()} if draw.kind == "replacement" else None
    return drawing.draw([Candidate.from_json(c) for c in draw.pool], [Group.from_json(g) for g in draw.groups],
                        draw.multiplier_tenths, draw.year, draw.seed, already_drawn=draw.already_drawn, counts=counts,
                        require_chair=draw.require_chair)


def recusals(meeting: ReviewMeeting) -> dict[str, list[str]]:
    """Work unit → the meeting's applicants of that unit: an expert of the unit is recused for them (回避)."""
    from services.meetings.assignment import applicants_of

    found: dict[str, list[str]] = {}
    for row in applicants_of(meeting):
        found.setdefault(row.declaration.unit.name, []).append(row.declaration.applicant.name)
    return found


def draw_record_rows(draw: ExpertDraw, recused_units: Mapping[str, list[str]] | None = None) -> list[dict[str, Any]]:
    """抽选记录: every pool expert with the group, whether drawn, and why (and for whom they are recused)."""
    drawn = set(draw.drawn)
    group_names = {g["key"]: g["name"] for g in draw.groups}
    pools, _ = drawing.group_pools([Candidate.from_json(c) for c in draw.pool],
                                   [Group.from_json(g) for g in draw.groups])
    group_of = {c.expert_id: key for key, cs in pools.items() for c in cs}
    recused_units = recused_units or {}
    rows = [{**c, "group": group_names.get(group_of.get(c["expert_id"], -1), ""), "drawn": c["expert_id"] in drawn,
             "reason": draw.reasons.get(str(c["expert_id"]), ""),
             "recused": "、".join(recused_units.get(c["unit"], []))} for c in draw.pool]
    rows.sort(key=lambda r: (not r["drawn"], r["group"] == "", r["group"], r["expert_id"]))
    return rows


# --- confirmation -----------------------------------------------------------------------------------------------

def meeting_experts(meeting: ReviewMeeting) -> list[MeetingExpert]:
    return list(db.session.scalars(select(MeetingExpert).where(MeetingExpert.meeting_id == meeting.id)
                                   .order_by(MeetingExpert.position)))


def load_meeting_expert(meeting: ReviewMeeting, meeting_expert_id: int) -> MeetingExpert:
    member = db.session.get(MeetingExpert, meeting_expert_id)
    if member is None or member.meeting_id != meeting.id:
        raise NotFound("参会专家不存在")
    return member


def set_attendance(actor: User, meeting: ReviewMeeting, member: MeetingExpert, confirmed: bool) -> None:
    """确认参评 / 取消参评 (after phoning the expert)."""
    require_step(meeting, "confirm_experts")
    member.status = "confirmed" if confirmed else "cancelled"
    if not confirmed:
        member.executive_chair = False
    record(meeting, actor.name, "expert.confirm" if confirmed else "expert.cancel",
           f"{'确认参评' if confirmed else '取消参评'}：{member.expert.name}", {"meeting_expert_id": member.id})


def replacement_draw(actor: User, meeting: ReviewMeeting, group_id: int, count: Any,
                     seed: str | None = None) -> ExpertDraw:
    """补抽 for a group from the same pool (read again: who is in the library now), leaving out everyone drawn."""
    require_step(meeting, "confirm_experts")
    if not str(count or "").isdigit() or not 1 <= int(count) <= 99:
        raise InvalidInput("补抽人数：须为 1–99 的整数", field="count")
    groups = _groups(meeting)
    if not any(g.key == group_id for g in groups):
        raise NotFound("抽选小组不存在")
    members = meeting_experts(meeting)
    already = [e.expert_id for e in members]
    # Every chair drawn before was cancelled: this draw must bring one (主任委员最少一人).
    need_chair = not any(e.chair and e.status != "cancelled" for e in members)
    pool, seed = read_pool(meeting, [g.specialty for g in groups]), seed or secrets.token_hex(16)
    counts = {group_id: int(count)}
    result = drawing.draw(pool, groups, meeting.multiplier_tenths, meeting.year, seed, already_drawn=already,
                          counts=counts, require_chair=need_chair)
    if not result.drawn:
        raise Conflict("补抽：本组已无可抽选的备选专家")
    return _store(actor, meeting, "replacement", seed, pool, groups, result, already, counts, need_chair)


def set_executive_chair(actor: User, meeting: ReviewMeeting, member: MeetingExpert) -> None:
    """执行主任: chosen by the committee among the confirmed chair candidates when the draw gave several."""
    require_step(meeting, "confirm_experts")
    if not member.chair or member.status != "confirmed":
        raise InvalidInput("执行主任：只能从已确认参评的主任委员中选择", field="executive_chair")
    for other in meeting_experts(meeting):
        other.executive_chair = other.id == member.id
    record(meeting, actor.name, "expert.executive_chair", f"设置执行主任：{member.expert.name}")


def _check_confirmed(meeting: ReviewMeeting) -> None:
    experts = meeting_experts(meeting)
    confirmed = [e for e in experts if e.status == "confirmed"]
    problems = []
    for group in groups_of(meeting):
        have = sum(1 for e in confirmed if e.group_id == group.id)
        if have < group.needed:
            problems.append(f"抽选小组「{group.specialty}」：已确认参评 {have} 人，少于本组抽取人数 {group.needed} 人"
                            "（可补抽）")
    if any(e.status == "drawn" for e in experts):
        problems.append("确认出席专家名单：仍有专家未确认参评或取消参评")
    chairs = [e for e in confirmed if e.chair]
    if not chairs:
        problems.append("主任委员：已确认参评的专家中没有主任委员（可补抽）")
    elif len(chairs) > 1 and not any(e.executive_chair for e in chairs):
        problems.append(f"执行主任：已确认参评的主任委员有 {len(chairs)} 人，请设置本年度执行主任")
    check_invalid(problems, "experts")


def _check_drawn(meeting: ReviewMeeting) -> None:
    if not _drawn(meeting):
        raise InvalidInput("专家抽选：请先设置抽选小组并开始抽选", field="multiplier")


# --- 专家分组 (G11) ---------------------------------------------------------------------------------------------

def set_specialty_groups(actor: User, meeting: ReviewMeeting, groups: Mapping[int, str], leaders: set[int]) -> None:
    """专家分组: meeting expert id → 专业组 name; `leaders` the 组长."""
    require_step(meeting, "group_experts")
    for member in meeting_experts(meeting):
        if member.status != "confirmed":
            continue
        name = str(groups.get(member.id, "") or "").strip()[:30]
        member.specialty_group, member.group_leader = name, member.id in leaders and bool(name)
    record(meeting, actor.name, "expert.groups", "保存专家分组",
           {"groups": {str(k): v for k, v in groups.items()}, "leaders": sorted(leaders)})
    db.session.flush()


def specialty_group_names(meeting: ReviewMeeting) -> list[str]:
    return sorted({e.specialty_group for e in meeting_experts(meeting) if e.status == "confirmed"
                   and e.specialty_group})


def _check_grouped(meeting: ReviewMeeting) -> None:
    confirmed = [e for e in meeting_experts(meeting) if e.status == "confirmed"]
    problems = [f"专家分组：{e.expert.name} 未分配专业组" for e in confirmed if not e.specialty_group]
    for name in sorted({e.specialty_group for e in confirmed if e.specialty_group}):
        leaders = [e for e in confirmed if e.specialty_group == name and e.group_leader]
        if len(leaders) != 1:
            problems.append(f"专业组「{name}」：须设置一名组长（现 {len(leaders)} 名）")
    check_invalid(problems, "groups")


register_step_check("draw_experts", _check_drawn)
register_step_check("confirm_experts", _check_confirmed)
register_step_check("group_experts", _check_grouped)


@job_kind("meetings.draw", "评审会议：专家抽选", cancellable=False)
def _draw_job(ctx: JobContext, params: dict[str, Any]) -> None:
    """开始抽选 off the request: reading a 20,000-expert library and storing the draw takes over a second."""
    meeting = db.session.get(ReviewMeeting, int(params["meeting_id"]))
    actor = ctx.actor
    if meeting is None or actor is None:
        raise NotFound("评审会议不存在")
    draw = start_draw(actor, meeting, params["multiplier"])
    ctx.summary = f"抽选完成：抽中 {len(draw.drawn)} 人"
    ctx.result = {"next_url": f"/meetings/{meeting.id}/draws/{draw.id}", "next_label": "查看抽选记录"}
