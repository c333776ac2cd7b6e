"""bpmn/unit_review.bpmn: sequential multi-post review that stops at the first 退回 or 不通过."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from workflow_helpers import review

from services.workflow import runner
from services.workflow.spec import ParsedProcess


def start_review(parsed: Callable[[str], ParsedProcess], engine: Any, levels: list[int]) -> Any:
    return runner.start(parsed("unit_review"), {"levels": levels, "reviewing_unit_id": 31}, engine)


def outcome(workflow: Any) -> tuple[str, str]:
    # The End task's data carries the process outputs to a caller.
    end = workflow.get_next_task(spec_name="End")
    return end.data["review_decision"], end.data["review_opinion"]


def test_every_level_passes(parsed: Callable[[str], ParsedProcess], engine: Any) -> None:
    workflow = start_review(parsed, engine, [1, 2, 3])
    seen = [review(workflow, "pass", f"第 {n} 级同意") for n in (1, 2, 3)]
    assert [task.data["level"] for task in seen] == [1, 2, 3]
    assert [task.instance_index for task in seen] == [0, 1, 2]
    assert runner.is_completed(workflow)
    assert outcome(workflow) == ("pass", "第 3 级同意")


@pytest.mark.parametrize("decision", ["return", "reject"])
def test_first_non_pass_stops_the_chain(parsed: Callable[[str], ParsedProcess], engine: Any, decision: str) -> None:
    workflow = start_review(parsed, engine, [1, 2, 3])
    review(workflow, "pass")
    stopped_at = review(workflow, decision, "材料不全")
    assert stopped_at.data["level"] == 2
    assert runner.ready_user_tasks(workflow) == []
    assert runner.is_completed(workflow)
    assert outcome(workflow) == (decision, "材料不全")
    assert [entry.decision for entry in runner.trail(workflow)] == ["pass", decision]


def test_review_task_names_form_post_and_routing_data(parsed: Callable[[str], ParsedProcess], engine: Any) -> None:
    task = runner.ready_user_tasks(start_review(parsed, engine, [4]))[0]
    assert (task.bpmn_id, task.name, task.form_key, task.post) == (
        "review_by_level", "单位审核", "review/unit_opinion", "unit_reviewer")
    assert task.process_id == "unit_review"
    assert task.data == {"reviewing_unit_id": 31, "level": 4}
