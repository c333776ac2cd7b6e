"""bpmn/result_publicity.bpmn, its one path, and the end of bpmn/review_meeting.bpmn that opens it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from workflow_helpers import Recorder, only_ready

from services.workflow import runner
from services.workflow.spec import ParsedProcess


def test_the_publicity_task_is_the_forming_units_and_publishing_ends_the_process(
        parsed: Callable[[str], ParsedProcess], engine: Any, recorder: Recorder) -> None:
    workflow = runner.start(parsed("result_publicity"), {"meeting_id": 7}, engine)
    task = only_ready(workflow)
    assert (task.bpmn_id, task.name, task.form_key, task.post) == (
        "publish_results", "评审结果公示", "results/publish", "unit_admin")
    runner.complete_task(workflow, task.task_id, {"note": "发布评审结果公示"})
    assert runner.is_completed(workflow) and recorder.calls == []


def test_the_last_round_of_a_meeting_opens_the_publicity(
        parsed: Callable[[str], ParsedProcess], engine: Any, recorder: Recorder) -> None:
    workflow = runner.start(parsed("review_meeting"), {"meeting_id": 7, "group_voting": False}, engine)
    # The recorder's close_meeting_round returns no True: the first round is the last.
    while (ready := runner.ready_user_tasks(workflow)):
        runner.complete_task(workflow, ready[0].task_id, {})
    assert recorder.names()[-2:] == ["close_meeting_round", "open_result_publicity"]
    assert recorder.calls[-1] == ("open_result_publicity", {"meeting_id": 7})
    assert runner.is_completed(workflow)
