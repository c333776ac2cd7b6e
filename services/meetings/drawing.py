"""专家抽选 as a pure function (manual S 1.2.5.5 "专家抽选"; RULES "Committees and experts"; FEATURES G5).

`draw(pool, groups, multiplier_tenths, year, seed)` takes the candidates' facts as stored (no database), so the
same inputs give the same drawn set and the 抽选记录 page can replay a stored draw. The rules:

- A candidate is an in-library (在库) expert of the committee whose 从事专业 equals the group's specialty and whose
  title level is the group's level or above (rank ≤ the group's rank). An expert is the candidate of one group
  only: the first group, in the groups' order, that matches (同一个专家只能是一个小组的备选专家).
- A non-chair expert (library role other than 主任委员) who attended the committee's meetings in each of the three
  years before `year` is not drawn (非主任专家已连续三年参会本年度不再选中).
- A 主任委员 who was chair last year is no chair candidate this year (上年度主任委员本年度不计为主任委员备选): they
  may still be drawn, as a member.
- Each group draws ceil(needed × multiplier) of its candidates (抽选倍数 1.5 / 2 / 3, integer arithmetic in
  tenths), or all of them when fewer are left; fewer candidates than `needed` refuses the draw.
- At least one chair candidate is drawn (主任委员系统抽选最少一人): when the random order drew none, the first chair
  candidate in its group's random order replaces the last drawn non-chair of that group.
- The random order of each group is a shuffle, by `random.Random(f"{seed}:{group key}")`, of its candidates
  sorted by expert id: independent of the order the pool was read in.

Recusal (回避) is not a drawing rule: an expert of an applicant's own unit is drawn like any other and recused
for that applicant when voting (services/meetings/tally.py); the record notes it.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from services.common.errors import InvalidInput

MULTIPLIERS = (15, 20, 30)  # 1.5 / 2 / 3, in tenths
CONSECUTIVE_YEARS = 3


@dataclass(frozen=True)
class Candidate:
    """An in-library expert's facts at the draw, as stored in ExpertDraw.pool."""

    expert_id: int
    name: str
    specialty: str
    level_rank: int  # title_level.rank of the expert's current title (1 = 正高级)
    role: str  # library role: chair / vice_chair / member
    unit: str = ""
    attended_years: tuple[int, ...] = ()
    chair_years: tuple[int, ...] = ()  # years served as chair

    def as_json(self) -> dict[str, Any]:
        return {"expert_id": self.expert_id, "name": self.name, "specialty": self.specialty,
                "level_rank": self.level_rank, "role": self.role, "unit": self.unit,
                "attended_years": list(self.attended_years), "chair_years": list(self.chair_years)}

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Candidate:
        return cls(int(raw["expert_id"]), str(raw["name"]), str(raw["specialty"]), int(raw["level_rank"]),
                   str(raw["role"]), str(raw.get("unit") or ""), tuple(int(y) for y in raw.get("attended_years", ())),
                   tuple(int(y) for y in raw.get("chair_years", ())))


@dataclass(frozen=True)
class Group:
    key: int  # DrawGroup.id (or its position before it is saved)
    name: str
    specialty: str
    level_rank: int
    needed: int

    def as_json(self) -> dict[str, Any]:
        return {"key": self.key, "name": self.name, "specialty": self.specialty, "level_rank": self.level_rank,
                "needed": self.needed}

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Group:
        return cls(int(raw["key"]), str(raw["name"]), str(raw["specialty"]), int(raw["level_rank"]),
                   int(raw["needed"]))


@dataclass
class DrawResult:
    drawn: list[int]  # expert ids, group by group in random order
    group_of: dict[int, int]  # drawn expert id → group key
    chairs: list[int]  # drawn experts who are chair candidates
    reasons: dict[int, str] = field(default_factory=dict)  # every pool expert → why drawn or not


def draw_count(needed: int, multiplier_tenths: int) -> int:
    """ceil(needed × multiplier): 5 × 1.5 = 7.5 → 8."""
    return (needed * multiplier_tenths + 9) // 10


def is_chair_candidate(candidate: Candidate, year: int) -> bool:
    return candidate.role == "chair" and (year - 1) not in candidate.chair_years


def attended_three_years(candidate: Candidate, year: int) -> bool:
    return _three_years_before(year).issubset(candidate.attended_years)


def _three_years_before(year: int) -> frozenset[int]:
    return frozenset(year - k for k in range(1, CONSECUTIVE_YEARS + 1))


def _matches(candidate: Candidate, group: Group) -> bool:
    return candidate.specialty == group.specialty and candidate.level_rank <= group.level_rank


def group_pools(pool: Iterable[Candidate], groups: Sequence[Group]) -> tuple[dict[int, list[Candidate]], dict[int, str]]:
    """Each group's candidates (one group per expert) and the reason of every expert left out."""
    pools: dict[int, list[Candidate]] = {g.key: [] for g in groups}
    reasons: dict[int, str] = {}
    by_specialty: dict[str, list[Group]] = {}
    for g in groups:  # in the groups' order: the first that matches takes the expert
        by_specialty.setdefault(g.specialty, []).append(g)
    for candidate in sorted(pool, key=lambda c: c.expert_id):
        group = next((g for g in by_specialty.get(candidate.specialty, ()) if _matches(candidate, g)), None)
        if group is None:
            reasons[candidate.expert_id] = "未入组：从事专业或职称层级不符合任何抽选小组"
            continue
        pools[group.key].append(candidate)
    return pools, reasons


def draw(pool: Sequence[Candidate], groups: Sequence[Group], multiplier_tenths: int, year: int, seed: str,
         already_drawn: Iterable[int] = (), counts: Mapping[int, int] | None = None,
         require_chair: bool = False) -> DrawResult:
    """Draw the meeting's experts; `already_drawn` and `counts` (group key → how many) make a replacement draw
    (补抽) from the same pool. A replacement applies the at-least-one-chair rule only when asked (`require_chair`:
    the chairs drawn before were all cancelled), within the groups it draws for."""
    if multiplier_tenths not in MULTIPLIERS:
        raise InvalidInput("抽选倍数：只能为 1.5 倍、2 倍或 3 倍", field="multiplier")
    if not groups:
        raise InvalidInput("抽选小组：请先新增至少一个抽选小组", field="groups")
    replacement = counts is not None
    taken = set(already_drawn)
    pools, reasons = group_pools(pool, groups)
    orders: dict[int, list[Candidate]] = {}
    for group in groups:
        eligible = []
        for candidate in pools[group.key]:
            if candidate.expert_id in taken:
                reasons[candidate.expert_id] = f"已在此前抽选中抽中（{group.name}）"
            elif candidate.role != "chair" and attended_three_years(candidate, year):
                reasons[candidate.expert_id] = (f"排除：非主任委员专家已连续三年参会（{year - 3}–{year - 1}年），"
                                                "本年度不再选中")
            else:
                eligible.append(candidate)
        need = counts.get(group.key, 0) if counts is not None else group.needed
        if not replacement and len(eligible) < need:
            raise InvalidInput(f"抽选小组「{group.name}」：符合条件的在库专家 {len(eligible)} 人，少于本组抽取人数 "
                               f"{need} 人", field="groups")
        order = list(eligible)
        random.Random(f"{seed}:{group.key}").shuffle(order)
        orders[group.key] = order
    drawn_by_group: dict[int, list[Candidate]] = {}
    for group in groups:
        if replacement:
            target = min(counts.get(group.key, 0) if counts else 0, len(orders[group.key]))
        else:
            target = min(draw_count(group.needed, multiplier_tenths), len(orders[group.key]))
        drawn_by_group[group.key] = orders[group.key][:target]
    if (require_chair or not replacement) and not any(
            is_chair_candidate(c, year) for cs in drawn_by_group.values() for c in cs):
        within = [g for g in groups if counts is None or counts.get(g.key, 0) > 0]
        _ensure_chair(within, orders, drawn_by_group, year, reasons)
    result = DrawResult([], {}, [])
    for group in groups:
        chosen_ids = {c.expert_id for c in drawn_by_group[group.key]}
        for position, candidate in enumerate(orders[group.key], start=1):
            chosen = candidate.expert_id in chosen_ids
            note = "上年度主任委员，本年度不计为主任委员备选；" if candidate.role == "chair" and not \
                is_chair_candidate(candidate, year) else ("主任委员备选；" if is_chair_candidate(candidate, year) else "")
            if chosen:
                reasons.setdefault(candidate.expert_id, f"抽中：{group.name} 随机顺序第 {position} 位；{note}".rstrip("；"))
            else:
                reasons.setdefault(candidate.expert_id, f"未抽中：{group.name} 随机顺序第 {position} 位，本组抽取 "
                                                        f"{len(drawn_by_group[group.key])} 人；{note}".rstrip("；"))
        for candidate in drawn_by_group[group.key]:
            result.drawn.append(candidate.expert_id)
            result.group_of[candidate.expert_id] = group.key
            if is_chair_candidate(candidate, year):
                result.chairs.append(candidate.expert_id)
    result.reasons = reasons
    return result


def _ensure_chair(groups: Sequence[Group], orders: Mapping[int, list[Candidate]],
                  drawn: dict[int, list[Candidate]], year: int, reasons: dict[int, str]) -> None:
    """主任委员系统抽选最少一人: the first undrawn chair candidate (groups in order, each in its random order)
    replaces the last drawn non-chair of its group."""
    for group in groups:
        chosen = drawn[group.key]
        chosen_ids = {c.expert_id for c in chosen}
        for position, candidate in enumerate(orders[group.key], start=1):
            if candidate.expert_id in chosen_ids or not is_chair_candidate(candidate, year):
                continue
            if chosen:
                replaced = chosen.pop()
                reasons[replaced.expert_id] = (f"未抽中：{group.name} 随机顺序中抽中，但为保证至少一名主任委员，"
                                               f"由主任委员备选 {candidate.name} 替换")
            chosen.append(candidate)
            reasons[candidate.expert_id] = (f"抽中：{group.name} 随机顺序第 {position} 位；随机抽取未含主任委员，"
                                            "按“主任委员最少一人”规则补入")
            return
    raise InvalidInput("抽选规则：备选专家中没有主任委员备选（上年度主任委员不计），无法满足“主任委员最少一人”",
                       field="groups")
