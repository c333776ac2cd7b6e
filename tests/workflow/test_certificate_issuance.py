"""bpmn/certificate_issuance.bpmn (证书发放, S 1.2.8.1), every path — without HTTP."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from SpiffWorkflow.util.task import TaskState
from workflow_helpers import only_ready

from services.workflow import runner
from services.workflow.spec import ParsedProcess

ENDS = {"certificate_issued", "issuance_returned", "issuance_cancelled"}


def ended_at(workflow: Any) -> str:
    reached = [t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.COMPLETED)
               if t.task_spec.bpmn_id in ENDS]
    assert len(reached) == 1, reached
    return str(reached[0])


def begin(parsed: Callable[[str], ParsedProcess], engine: Any) -> Any:
    return runner.start(parsed("certificate_issuance"), {"issuance_id": 7}, engine)


def decide(workflow: Any, bpmn_id: str, decision: str, opinion: str = "") -> None:
    task = only_ready(workflow)
    assert (task.bpmn_id, task.post) == (bpmn_id, "issuer")
    runner.complete_task(workflow, task.task_id, {"decision": decision, "opinion": opinion})


def test_review_then_issue_ends_issued(parsed, engine) -> None:
    workflow = begin(parsed, engine)
    assert only_ready(workflow).form_key == "certificate/review"
    decide(workflow, "review_issuance", "pass")
    assert only_ready(workflow).form_key == "certificate/issue"
    decide(workflow, "issue_certificate", "issue")
    assert runner.is_completed(workflow) and ended_at(workflow) == "certificate_issued"


@pytest.mark.parametrize("decision", ["return", "cancel"])
def test_review_can_return_or_cancel(parsed, engine, decision) -> None:
    workflow = begin(parsed, engine)
    decide(workflow, "review_issuance", decision, "原因")
    assert runner.is_completed(workflow)
    assert ended_at(workflow) == {"return": "issuance_returned", "cancel": "issuance_cancelled"}[decision]


def test_issue_can_send_back_to_review_and_then_be_cancelled(parsed, engine) -> None:
    workflow = begin(parsed, engine)
    decide(workflow, "review_issuance", "pass")
    decide(workflow, "issue_certificate", "return", "文号待核实")
    decide(workflow, "review_issuance", "pass")
    decide(workflow, "issue_certificate", "cancel", "本人放弃")
    assert runner.is_completed(workflow) and ended_at(workflow) == "issuance_cancelled"
    assert [e.bpmn_id for e in runner.trail(workflow)] == ["review_issuance", "issue_certificate", "review_issuance",
                                                          "issue_certificate"]
