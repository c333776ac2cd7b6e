"""bpmn/activity_publication.bpmn, every path, through unit_review."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from workflow_helpers import Recorder, only_ready, review

from services.workflow import runner
from services.workflow.spec import ParsedProcess


def begin(parsed: Callable[[str], ParsedProcess], engine: Any, levels: list[int] | None = None) -> Any:
    data = {"activity_id": 5, "reviewing_unit_id": 31, "review_levels": levels or [1]}
    return runner.start(parsed("activity_publication"), data, engine)


def test_two_configured_levels_pass_and_the_top_level_publishes(
        parsed: Callable[[str], ParsedProcess], engine: Any, recorder: Recorder) -> None:
    workflow = begin(parsed, engine, [1, 2])
    first = review(workflow, "pass")
    assert recorder.names() == []  # the first level's pass does not publish
    second = review(workflow, "pass")
    assert [(t.data["reviewing_unit_id"], t.data["level"]) for t in (first, second)] == [(31, 1), (31, 2)]
    assert recorder.calls == [("publish_activity", {"activity_id": 5})]
    assert runner.is_completed(workflow)


def test_return_goes_to_the_publishing_unit_and_resubmission_restarts_the_review(
        parsed: Callable[[str], ParsedProcess], engine: Any, recorder: Recorder) -> None:
    workflow = begin(parsed, engine, [1, 2])
    review(workflow, "pass")
    review(workflow, "return", "申报截止时间过早")
    assert recorder.calls == [("return_activity", {"activity_id": 5, "opinion": "申报截止时间过早"})]
    task = only_ready(workflow)
    assert (task.bpmn_id, task.form_key, task.post) == ("correct_activity", "activity/correction", "unit_admin")
    runner.complete_task(workflow, task.task_id, {"note": "已调整时间"})
    again = review(workflow, "pass")
    assert again.data["level"] == 1  # the review starts again from the first level
    review(workflow, "pass")
    assert recorder.names() == ["return_activity", "publish_activity"]
    assert runner.is_completed(workflow)


def test_reject_is_final(parsed: Callable[[str], ParsedProcess], engine: Any, recorder: Recorder) -> None:
    workflow = begin(parsed, engine, [1, 2])
    review(workflow, "reject", "不符合评审条件")
    assert recorder.calls == [("reject_activity", {"activity_id": 5, "opinion": "不符合评审条件"})]
    assert runner.ready_user_tasks(workflow) == []
    assert runner.is_completed(workflow)
