"""The counting rules (RULES "Meetings and votes"): quorum, the two-thirds pass, integer arithmetic."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from services.meetings import tally


def test_quorum_missed_is_no_quorum_whatever_the_votes() -> None:
    # 9 members, 5 present: 15 < 18.
    result = tally.count(range(9), absent=range(5, 9), votes={0: "pass", 1: "pass", 2: "pass", 3: "pass", 4: "pass"})
    assert (result.members, result.present, result.result) == (9, 5, tally.NO_QUORUM)


def test_exactly_two_thirds_passes_and_one_vote_less_fails() -> None:
    members = range(9)
    six = {e: "pass" for e in range(6)} | {6: "fail", 7: "abstain", 8: "fail"}
    assert tally.count(members, (), six).result == tally.PASSED  # 6 × 3 = 18 ≥ 9 × 2
    five = {**six, 5: "abstain"}
    assert tally.count(members, (), five).result == tally.FAILED  # 15 < 18


def test_quorum_exactly_two_thirds_present_holds() -> None:
    # 9 members, 6 present (18 ≥ 18); 4 of 6 vote 同意 (12 ≥ 12).
    votes = {0: "pass", 1: "pass", 2: "pass", 3: "pass", 4: "abstain", 5: "fail"}
    result = tally.count(range(9), absent=(6, 7, 8), votes=votes)
    assert (result.present, result.votes_pass, result.votes_abstain, result.result) == (6, 4, 1, tally.PASSED)


def test_abstentions_count_as_present_not_as_agreement() -> None:
    votes = {0: "pass", 1: "pass", 2: "abstain"}
    assert tally.count(range(3), (), votes).result == tally.PASSED  # 2 × 3 = 6 ≥ 3 × 2
    votes = {0: "pass", 1: "abstain", 2: "abstain"}
    assert tally.count(range(3), (), votes).result == tally.FAILED


def test_votes_of_absent_experts_do_not_count() -> None:
    result = tally.count(range(3), absent=(2,), votes={0: "pass", 1: "fail", 2: "pass"})
    assert (result.present, result.votes_pass, result.result) == (2, 1, tally.FAILED)


@given(st.integers(1, 60), st.data())
def test_the_rules_in_integers_agree_with_exact_fractions(members: int, data: st.DataObject) -> None:
    from fractions import Fraction

    present = data.draw(st.integers(0, members))
    votes_pass = data.draw(st.integers(0, present))
    decided = tally.decide(members, present, votes_pass)
    if Fraction(present, members) < Fraction(2, 3):
        assert decided == tally.NO_QUORUM
    elif present and Fraction(votes_pass, present) >= Fraction(2, 3):
        assert decided == tally.PASSED
    else:
        assert decided == (tally.PASSED if present == 0 else tally.FAILED)
