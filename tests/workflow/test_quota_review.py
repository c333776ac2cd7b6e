"""bpmn/quota_review.bpmn (职数审核, H 1.5.2), every path, through unit_review — without HTTP."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from workflow_helpers import Recorder, only_ready, review

from services.workflow import runner
from services.workflow.spec import ParsedProcess


def begin(parsed: Callable[[str], ParsedProcess], engine: Any, levels: list[int] | None = None) -> Any:
    data = {"declaration_id": 9, "reviewing_unit_id": 41, "review_levels": levels or [1]}
    return runner.start(parsed("quota_review"), data, engine)


def test_one_level_passes_and_approves(parsed: Callable[[str], ParsedProcess], engine: Any,
                                       recorder: Recorder) -> None:
    workflow = begin(parsed, engine)
    task = review(workflow, "pass", "同意")
    assert (task.data["reviewing_unit_id"], task.data["level"]) == (41, 1)
    assert recorder.calls == [("approve_quota_declaration", {"declaration_id": 9, "opinion": "同意"})]
    assert runner.is_completed(workflow)


def test_two_configured_levels_pass_and_only_the_top_level_approves(
        parsed: Callable[[str], ParsedProcess], engine: Any, recorder: Recorder) -> None:
    workflow = begin(parsed, engine, [1, 2])
    first = review(workflow, "pass")
    assert recorder.names() == []  # the first level's pass does not approve
    second = review(workflow, "pass", "核准")
    assert [(t.data["reviewing_unit_id"], t.data["level"]) for t in (first, second)] == [(41, 1), (41, 2)]
    assert recorder.calls == [("approve_quota_declaration", {"declaration_id": 9, "opinion": "核准"})]
    assert runner.is_completed(workflow)


def test_return_goes_to_the_declaring_unit_and_resubmission_restarts_the_review(
        parsed: Callable[[str], ParsedProcess], engine: Any, recorder: Recorder) -> None:
    workflow = begin(parsed, engine, [1, 2])
    review(workflow, "pass")
    review(workflow, "return", "申报职数超出空缺岗位")
    assert recorder.calls == [("return_quota_declaration", {"declaration_id": 9, "opinion": "申报职数超出空缺岗位"})]
    task = only_ready(workflow)
    assert (task.bpmn_id, task.form_key, task.post) == ("correct_declaration", "quota/correction", "unit_admin")
    runner.complete_task(workflow, task.task_id, {"note": "已核减申报职数"})
    again = review(workflow, "pass")
    assert again.data["level"] == 1  # the review starts again from the first level
    review(workflow, "pass")
    assert recorder.names() == ["return_quota_declaration", "approve_quota_declaration"]
    assert runner.is_completed(workflow)


def test_reject_at_the_second_level_is_final(parsed: Callable[[str], ParsedProcess], engine: Any,
                                             recorder: Recorder) -> None:
    workflow = begin(parsed, engine, [1, 2])
    review(workflow, "pass")
    review(workflow, "reject", "不符合职数管理规定")
    assert recorder.calls == [("reject_quota_declaration", {"declaration_id": 9, "opinion": "不符合职数管理规定"})]
    assert runner.ready_user_tasks(workflow) == []
    assert runner.is_completed(workflow)
