"""bpmn/committee_filing.bpmn and bpmn/expert_review.bpmn, every path, through unit_review, with timers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from workflow_helpers import Recorder, only_ready, review

from services.workflow import runner
from services.workflow.spec import ParsedProcess
from services.workflow.state import dump_state, load_state

PAST = {"reminder_at": "2000-01-01T00:00:00+08:00", "expires_at": "2000-03-31T00:00:00+08:00"}
FUTURE = {"reminder_at": "2998-10-03T00:00:00+08:00", "expires_at": "2999-01-01T00:00:00+08:00"}


@pytest.fixture
def dates(recorder: Recorder, engine: Any) -> dict[str, str]:
    """approve_committee_filing returns the timer dates; tests choose them (future by default)."""
    chosen = dict(FUTURE)

    def approve(**kwargs: Any) -> dict[str, str]:
        recorder.calls.append(("approve_committee_filing", kwargs))
        return dict(chosen)

    recorder.registry.register("approve_committee_filing", approve, replace=True)
    # The engine copied the registry into its globals when it was built.
    engine.environment.globals["approve_committee_filing"] = approve
    return chosen


def begin(parsed: Callable[[str], ParsedProcess], engine: Any, authorizing: int = 31, filing: int = 41,
          authorizing_levels: list[int] | None = None, filing_levels: list[int] | None = None) -> Any:
    data = {"filing_id": 7, "committee_id": 3, "authorizing_unit_id": authorizing, "filing_unit_id": filing,
            "authorizing_levels": authorizing_levels or [1], "filing_levels": filing_levels or [1]}
    return runner.start(parsed("committee_filing"), data, engine)


def correct(workflow: Any, note: str = "已补充专家") -> runner.ReadyTask:
    task = only_ready(workflow)
    assert (task.bpmn_id, task.form_key, task.post) == ("correct_filing", "committee/correction", "unit_admin")
    runner.complete_task(workflow, task.task_id, {"note": note})
    return task


def test_two_levels_at_the_authorizing_unit_then_the_filing_unit_file_the_committee(
        parsed: Callable[[str], ParsedProcess], engine: Any, recorder: Recorder, dates: dict[str, str]) -> None:
    workflow = begin(parsed, engine, authorizing_levels=[1, 2])
    first, second, third = (review(workflow, "pass") for _ in range(3))
    assert [(t.data["reviewing_unit_id"], t.data["level"]) for t in (first, second, third)] == [
        (31, 1), (31, 2), (41, 1)]
    assert recorder.names() == ["approve_committee_filing"]
    # The instance now waits for the reminder, then the expiry.
    assert runner.waiting_timers(workflow) == [datetime(2998, 10, 2, 16, 0, tzinfo=UTC)]
    assert not runner.is_completed(workflow)


def test_one_unit_holding_both_roles_reviews_once(parsed: Callable[[str], ParsedProcess], engine: Any,
                                                 recorder: Recorder, dates: dict[str, str]) -> None:
    workflow = begin(parsed, engine, authorizing=31, filing=31)
    review(workflow, "pass")
    assert runner.ready_user_tasks(workflow) == []
    assert recorder.names() == ["approve_committee_filing"]


@pytest.mark.parametrize("stage", ["authorizing", "filing"])
def test_return_goes_to_the_forming_unit_and_restarts_at_the_authorizing_unit(
        parsed: Callable[[str], ParsedProcess], engine: Any, recorder: Recorder, dates: dict[str, str],
        stage: str) -> None:
    workflow = begin(parsed, engine)
    if stage == "filing":
        review(workflow, "pass")
    review(workflow, "return", "专家人数不足")
    assert recorder.calls == [("return_committee_filing", {"filing_id": 7, "opinion": "专家人数不足"})]
    correct(workflow)
    again = review(workflow, "pass")
    assert again.data["reviewing_unit_id"] == 31
    review(workflow, "pass")
    assert recorder.names() == ["return_committee_filing", "approve_committee_filing"]


@pytest.mark.parametrize("stage", ["authorizing", "filing"])
def test_reject_is_final(parsed: Callable[[str], ParsedProcess], engine: Any, recorder: Recorder,
                         stage: str) -> None:
    workflow = begin(parsed, engine)
    if stage == "filing":
        review(workflow, "pass")
    review(workflow, "reject", "组建条件不符")
    assert runner.is_completed(workflow)
    assert recorder.calls == [("reject_committee_filing", {"filing_id": 7, "opinion": "组建条件不符"})]


def test_timers_notify_then_expire(parsed: Callable[[str], ParsedProcess], engine: Any, recorder: Recorder,
                                   dates: dict[str, str]) -> None:
    dates.update(PAST)
    workflow = begin(parsed, engine)
    review(workflow, "pass")
    review(workflow, "pass")
    # Saved and restored between ticks, as the tick command does.
    workflow = load_state(dump_state(workflow), parsed("committee_filing"), engine)
    runner.tick(workflow)
    assert recorder.names() == ["approve_committee_filing", "notify_committee_expiry", "expire_committee"]
    assert runner.is_completed(workflow)


def test_the_reminder_fires_before_the_expiry(parsed: Callable[[str], ParsedProcess], engine: Any,
                                              recorder: Recorder, dates: dict[str, str]) -> None:
    dates.update({"reminder_at": PAST["reminder_at"], "expires_at": FUTURE["expires_at"]})
    workflow = begin(parsed, engine)
    review(workflow, "pass")
    review(workflow, "pass")
    runner.tick(workflow)
    assert recorder.names() == ["approve_committee_filing", "notify_committee_expiry"]
    assert runner.waiting_timers(workflow) == [datetime(2998, 12, 31, 16, 0, tzinfo=UTC)]


@pytest.mark.parametrize(("decision", "operation"), [("pass", "admit_committee_expert"),
                                                     ("return", "return_committee_expert"),
                                                     ("reject", "return_committee_expert")])
def test_expert_review_admits_or_returns(parsed: Callable[[str], ParsedProcess], engine: Any, recorder: Recorder,
                                         decision: str, operation: str) -> None:
    workflow = runner.start(parsed("expert_review"), {"membership_id": 9, "reviewing_unit_id": 41,
                                                      "levels": [1, 2]}, engine)
    review(workflow, decision, "意见")
    if decision == "pass":
        review(workflow, "pass")
    assert runner.is_completed(workflow)
    assert recorder.names() == [operation]
    assert recorder.calls[0][1]["membership_id"] == 9
