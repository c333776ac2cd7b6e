"""The drawing rules over random libraries (hypothesis): no drawn set breaks a rule, a replay gives the same set."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from services.common.errors import InvalidInput
from services.meetings import drawing
from services.meetings.drawing import Candidate, Group

YEAR = 2026
SPECIALTIES = ("建筑施工", "道路桥梁", "给排水")


@st.composite
def libraries(draw: Any) -> tuple[list[Candidate], list[Group], int, str]:
    size = draw(st.integers(min_value=1, max_value=60))
    pool = []
    for expert_id in draw(st.lists(st.integers(1, 10_000), min_size=size, max_size=size, unique=True)):
        attended = draw(st.sets(st.sampled_from(range(YEAR - 4, YEAR)), max_size=4))
        role = draw(st.sampled_from(("chair", "member", "member", "vice_chair")))
        chair_years = draw(st.sets(st.sampled_from(sorted(attended)), max_size=2)) if role == "chair" and attended \
            else set()
        pool.append(Candidate(expert_id, f"专家{expert_id}", draw(st.sampled_from(SPECIALTIES)),
                              draw(st.integers(1, 3)), role, draw(st.sampled_from(("甲单位", "乙单位", ""))),
                              tuple(sorted(attended)), tuple(sorted(chair_years))))
    group_count = draw(st.integers(1, 3))
    groups = [Group(key, f"第{key}组", draw(st.sampled_from(SPECIALTIES)), draw(st.integers(1, 3)),
                    draw(st.integers(1, 6))) for key in range(1, group_count + 1)]
    return pool, groups, draw(st.sampled_from(drawing.MULTIPLIERS)), draw(st.text("0123456789abcdef", min_size=8,
                                                                                   max_size=16))


@settings(max_examples=300, deadline=None)
@given(libraries())
def test_no_drawn_set_breaks_a_rule_and_a_replay_gives_the_same_set(library: Any) -> None:
    pool, groups, multiplier, seed = library
    try:
        result = drawing.draw(pool, groups, multiplier, YEAR, seed)
    except InvalidInput:
        assume(False)
        return
    by_id = {c.expert_id: c for c in pool}
    # One group per expert, and no expert twice.
    assert len(result.drawn) == len(set(result.drawn))
    pools, _ = drawing.group_pools(pool, groups)
    for expert_id in result.drawn:
        expert = by_id[expert_id]
        group = next(g for g in groups if g.key == result.group_of[expert_id])
        assert expert in pools[group.key]
        assert expert.specialty == group.specialty and expert.level_rank <= group.level_rank
        # A non-chair who attended the three years before is never drawn.
        assert expert.role == "chair" or not drawing.attended_three_years(expert, YEAR)
    # At least one chair candidate, and last year's chair never counts as one.
    assert result.chairs
    for expert_id in result.chairs:
        assert by_id[expert_id].role == "chair" and YEAR - 1 not in by_id[expert_id].chair_years
    # Each group draws ceil(needed × multiplier), or all its eligible candidates, never fewer than needed.
    for group in groups:
        drawn_here = [e for e in result.drawn if result.group_of[e] == group.key]
        eligible = [c for c in pools[group.key] if c.role == "chair" or not drawing.attended_three_years(c, YEAR)]
        assert len(drawn_here) == min(drawing.draw_count(group.needed, multiplier), len(eligible))
        assert len(drawn_here) >= group.needed
    # Every expert of the pool has a reason.
    assert set(result.reasons) == set(by_id)
    # Replay: the same inputs, in any order, give the same set.
    replay = drawing.draw(list(reversed(pool)), groups, multiplier, YEAR, seed)
    assert replay.drawn == result.drawn and replay.reasons == result.reasons
    stored = [Candidate.from_json(c.as_json()) for c in pool]
    assert drawing.draw(stored, [Group.from_json(g.as_json()) for g in groups], multiplier, YEAR, seed).drawn \
        == result.drawn


@settings(max_examples=150, deadline=None)
@given(libraries())
def test_a_replacement_draw_takes_only_undrawn_eligible_experts_of_the_group(library: Any) -> None:
    pool, groups, multiplier, seed = library
    try:
        first = drawing.draw(pool, groups, multiplier, YEAR, seed)
    except InvalidInput:
        assume(False)
        return
    counts = {groups[0].key: 1}
    again = drawing.draw(pool, groups, multiplier, YEAR, seed + "r", already_drawn=first.drawn, counts=counts)
    assert not set(again.drawn) & set(first.drawn)
    assert all(again.group_of[e] == groups[0].key for e in again.drawn)
    assert len(again.drawn) <= 1
    assert drawing.draw(pool, groups, multiplier, YEAR, seed + "r", already_drawn=first.drawn,
                        counts=counts).drawn == again.drawn


def _expert(expert_id: int, role: str = "member", attended: tuple[int, ...] = (), chair_years: tuple[int, ...] = (),
            specialty: str = "建筑施工", rank: int = 3) -> Candidate:
    return Candidate(expert_id, f"专家{expert_id}", specialty, rank, role, "", attended, chair_years)


def test_the_multiplier_is_ceil_of_needed_times_it_in_integers() -> None:
    assert [drawing.draw_count(5, m) for m in drawing.MULTIPLIERS] == [8, 10, 15]
    assert drawing.draw_count(4, 15) == 6 and drawing.draw_count(1, 15) == 2


def test_last_years_chair_is_no_chair_candidate_and_another_chair_is_brought_in() -> None:
    pool = [_expert(1, "chair", attended=(YEAR - 1,), chair_years=(YEAR - 1,)), _expert(2, "chair")] + \
        [_expert(n) for n in range(3, 13)]
    for seed in ("a", "b", "c", "d", "e"):
        result = drawing.draw(pool, [Group(1, "第1组", "建筑施工", 3, 2)], 15, YEAR, seed)
        assert result.chairs == [2] and 2 in result.drawn


def test_a_non_chair_who_attended_three_years_running_is_excluded_but_a_chair_is_not() -> None:
    years = (YEAR - 1, YEAR - 2, YEAR - 3)
    pool = [_expert(1, "chair", attended=years), _expert(2, attended=years), _expert(3, attended=years[:2]),
            _expert(4)]
    result = drawing.draw(pool, [Group(1, "第1组", "建筑施工", 3, 2)], 30, YEAR, "seed")
    assert sorted(result.drawn) == [1, 3, 4]
    assert "连续三年参会" in result.reasons[2]


def test_an_expert_matching_two_groups_is_a_candidate_of_the_first_only() -> None:
    pool = [_expert(1, "chair", rank=1), _expert(2, rank=1), _expert(3, rank=2)]
    groups = [Group(1, "正高组", "建筑施工", 1, 1), Group(2, "副高组", "建筑施工", 2, 1)]
    result = drawing.draw(pool, groups, 15, YEAR, "s")
    assert {e: result.group_of[e] for e in result.drawn} == {1: 1, 2: 1, 3: 2}


def test_too_few_candidates_or_no_chair_refuses_the_draw() -> None:
    with pytest.raises(InvalidInput, match="少于本组抽取人数"):
        drawing.draw([_expert(1, "chair")], [Group(1, "第1组", "建筑施工", 3, 2)], 15, YEAR, "s")
    with pytest.raises(InvalidInput, match="主任委员"):
        drawing.draw([_expert(1), _expert(2)], [Group(1, "第1组", "建筑施工", 3, 2)], 15, YEAR, "s")
    with pytest.raises(InvalidInput, match="抽选倍数"):
        drawing.draw([_expert(1, "chair")], [Group(1, "第1组", "建筑施工", 3, 1)], 25, YEAR, "s")


@settings(max_examples=150, deadline=None)
@given(libraries())
def test_a_replacement_asked_for_a_chair_brings_one_when_the_group_has_one_left(library: Any) -> None:
    pool, groups, multiplier, seed = library
    try:
        first = drawing.draw(pool, groups, multiplier, YEAR, seed)
    except InvalidInput:
        assume(False)
        return
    pools, _ = drawing.group_pools(pool, groups)
    left = [c for c in pools[groups[0].key] if c.expert_id not in first.drawn and drawing.is_chair_candidate(c, YEAR)]
    counts = {groups[0].key: 2}
    try:
        again = drawing.draw(pool, groups, multiplier, YEAR, seed + "c", already_drawn=first.drawn, counts=counts,
                             require_chair=True)
    except InvalidInput:
        assert not left  # refused only when the group has no chair candidate left
        return
    assert left and again.chairs and set(again.chairs) <= {c.expert_id for c in left}
    assert len(again.drawn) <= 2 and not set(again.drawn) & set(first.drawn)
