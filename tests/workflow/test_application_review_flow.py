"""bpmn/application_review.bpmn, every path, with its business operations played by a fake chain.

The fake keeps what services/applications/application_review.py keeps in tables (where the declaration stands, who waits
for it after a 退回), so these tests check only the diagram's routing: unit_review per unit, 参评资格审核 at the
committee, 退回 to the applicant (修改申报材料) or to a unit, 不通过.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from workflow_helpers import Recorder, only_ready

from services.workflow import runner
from services.workflow.scripting import build_script_engine
from services.workflow.spec import ParsedProcess

UNITS = [11, 12, 13]  # 申报单位, 主管部门, 人社部门; then the committee (its forming unit 12)
COMMITTEE_UNIT = 12
LEVELS = {11: [1, 2], 12: [1], 13: [1, 2]}


class FakeChain:
    def __init__(self, recorder: Recorder) -> None:
        self.step, self.waiting, self.calls = 0, [], recorder.calls
        for name in ("route_declaration", "pass_declaration", "return_declaration", "reject_declaration"):
            recorder.registry.register(name, getattr(self, name), replace=True)

    def route_declaration(self, declaration_id: int) -> dict[str, Any]:
        at_committee = self.step == len(UNITS)
        unit = COMMITTEE_UNIT if at_committee else UNITS[self.step]
        self.calls.append(("route_declaration", {"unit": unit}))
        return {"unit_id": unit, "levels": [1] if at_committee else LEVELS[unit], "at_committee": at_committee}

    def pass_declaration(self, declaration_id: int, opinion: str) -> str:
        self.calls.append(("pass_declaration", {"step": self.step}))
        if self.step == len(UNITS):
            return "accepted"
        later = [s for s in self.waiting if s > self.step]
        self.waiting = later[:-1]
        self.step = later[-1] if later else self.step + 1
        return "next"

    def return_declaration(self, declaration_id: int, opinion: str, return_to: str) -> str:
        self.calls.append(("return_declaration", {"step": self.step, "return_to": return_to}))
        self.waiting.append(self.step)
        if return_to in ("", "applicant"):
            return "applicant"
        self.step = int(return_to)
        return "unit"

    def reject_declaration(self, declaration_id: int, opinion: str) -> None:
        self.calls.append(("reject_declaration", {"step": self.step}))

    def resubmitted(self) -> None:  # what services/applications/declarations.py does before completing 修改申报材料
        self.step = self.waiting[-1]


@pytest.fixture
def chain(recorder: Recorder) -> FakeChain:
    return FakeChain(recorder)


@pytest.fixture
def start(parsed: Callable[[str], ParsedProcess], recorder: Recorder, chain: FakeChain) -> Callable[[], Any]:
    return lambda: runner.start(parsed("application_review"), {"declaration_id": 7},
                                build_script_engine(recorder.registry))


def act(workflow: Any, decision: str, return_to: str = "") -> runner.ReadyTask:
    task = only_ready(workflow)
    data = {"decision": decision, "opinion": f"意见：{decision}"}
    if return_to:
        data["return_to"] = return_to
    runner.complete_task(workflow, task.task_id, data)
    return task


def where(task: runner.ReadyTask) -> tuple[str, int, int | None]:
    return task.bpmn_id, task.data["reviewing_unit_id"], task.data.get("level")


def test_every_level_of_every_unit_then_the_committee_accepts(start, recorder) -> None:
    workflow = start()
    seen = [where(act(workflow, "pass")) for _ in range(5)]
    assert seen == [("review_by_level", 11, 1), ("review_by_level", 11, 2), ("review_by_level", 12, 1),
                    ("review_by_level", 13, 1), ("review_by_level", 13, 2)]
    task = only_ready(workflow)
    assert (task.bpmn_id, task.form_key, task.post) == ("qualification_review", "declaration/qualification",
                                                       "committee_reviewer")
    assert task.data["reviewing_unit_id"] == COMMITTEE_UNIT
    act(workflow, "pass")
    assert runner.is_completed(workflow)
    assert recorder.names().count("pass_declaration") == 4  # once per unit (not per level) and the committee


def test_a_return_to_the_applicant_comes_back_to_the_returning_unit(start, chain) -> None:
    workflow = start()
    for _ in range(3):
        act(workflow, "pass")
    act(workflow, "return", "applicant")  # 人社部门 level 1
    task = only_ready(workflow)
    assert (task.bpmn_id, task.form_key, task.post) == ("correct_declaration", "declaration/correction", "applicant")
    chain.resubmitted()
    runner.complete_task(workflow, task.task_id, {"note": "已补充"})
    assert where(only_ready(workflow)) == ("review_by_level", 13, 1)  # the 人社部门 again, from its first level


def test_a_return_to_a_unit_below_comes_back_up_after_it_passes(start) -> None:
    workflow = start()
    for _ in range(3):
        act(workflow, "pass")
    act(workflow, "return", "0")  # 人社部门 → 申报单位
    assert where(act(workflow, "pass")) == ("review_by_level", 11, 1)
    act(workflow, "pass")
    assert where(only_ready(workflow)) == ("review_by_level", 13, 1)  # skips the 主管部门, back to the 人社部门


def test_the_committee_may_return_to_the_applicant(start, chain) -> None:
    workflow = start()
    for _ in range(5):
        act(workflow, "pass")
    act(workflow, "return", "applicant")
    task = only_ready(workflow)
    chain.resubmitted()
    runner.complete_task(workflow, task.task_id, {"note": "已修改"})
    assert only_ready(workflow).bpmn_id == "qualification_review"


@pytest.mark.parametrize("passes", [0, 1, 5])
def test_reject_at_any_step_ends_it(start, recorder, passes: int) -> None:
    workflow = start()
    for _ in range(passes):
        act(workflow, "pass")
    act(workflow, "reject")
    assert recorder.names()[-1] == "reject_declaration"
    assert runner.ready_user_tasks(workflow) == [] and runner.is_completed(workflow)
