"""计票 as pure functions (manual S 1.2.5.5 "评委会计票"; RULES "Meetings and votes"; FEATURES G9, G11).

For one applicant in one round:
- members: the confirmed experts who sit on it (the whole meeting, or the 专业组 in round 1), less those recused
  (回避) because they work at the applicant's unit;
- present: members not marked 缺席; only a present expert's ballot counts (no proxy, no late votes);
- quorum: present × 3 ≥ members × 2, else 不足法定人数 and nothing passes;
- pass: 同意 × 3 ≥ present × 2; abstentions (弃权) count as present, not as 同意.
Integer arithmetic only ("以上 / 不少于" include the number itself).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

PASSED, FAILED, NO_QUORUM = "passed", "failed", "no_quorum"


@dataclass(frozen=True)
class Tally:
    members: int
    present: int
    votes_pass: int
    votes_fail: int
    votes_abstain: int
    result: str

    @property
    def not_voted(self) -> int:
        return self.present - self.votes_pass - self.votes_fail - self.votes_abstain


def has_quorum(members: int, present: int) -> bool:
    return present * 3 >= members * 2


def passes(present: int, votes_pass: int) -> bool:
    return votes_pass * 3 >= present * 2


def decide(members: int, present: int, votes_pass: int) -> str:
    if members <= 0 or not has_quorum(members, present):
        return NO_QUORUM
    return PASSED if passes(present, votes_pass) else FAILED


def count(members: Iterable[int], absent: Iterable[int], votes: Mapping[int, str]) -> Tally:
    """One applicant: `members` the expert ids who sit on it (recused already left out), `absent` those marked
    缺席, `votes` expert id → pass / fail / abstain of the submitted ballots."""
    sitting = set(members)
    present = sitting - set(absent)
    counted = [votes[e] for e in present if e in votes]
    votes_pass, votes_fail = counted.count("pass"), counted.count("fail")
    votes_abstain = counted.count("abstain")
    return Tally(len(sitting), len(present), votes_pass, votes_fail, votes_abstain,
                 decide(len(sitting), len(present), votes_pass))
