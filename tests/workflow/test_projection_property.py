"""Property: after any sequence of actions, the inbox projection equals the engine's READY user tasks.

DESIGN §2 "Inbox projection": READY manual tasks are copied into human_task (+ candidates) in the same
transaction that saves the instance, and inbox pages never deserialize a workflow — so the projection must
never drift from the engine. Hypothesis starts 1–3 变更上级单位 instances whose reviewing units have 1–3
configured 多岗审核 levels, then applies random actions: a candidate passes / returns / rejects, the unit
administrator corrects a returned request, the reviewing unit's administrator reconfigures who reviews at each
level (open tasks get the new staff at once, S 1.2.9.1.2), the timer tick runs (these diagrams wait on no timer,
so it must change nothing), a user who is not a candidate tries (403, nothing changes), and somebody completes a
task that is already done (409, nothing changes). After every step, for every instance,
the open human_task rows equal `runner.ready_user_tasks` of the deserialized instance by task uuid, BPMN id,
level and candidates (the candidates as the test configured them, not as the service resolved them), and a
finished instance has no open rows.

Each example runs inside a savepoint of the rolled-back `database` fixture and is rolled back at its end.
The test counts what the examples did and fails when an action never happened, so it cannot pass vacuously.
"""

from __future__ import annotations

import itertools
import json
import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select

from app.extensions import db
from app.models import HumanTask, HumanTaskCandidate, ProcessInstance, Unit, User, WorkflowEvent
from services.authz import audit_chain
from services.common.errors import Conflict, Forbidden, ServiceError
from services.org import audit_config
from services.workflow import definitions, instances, runner, state
from services.workflow.scripting import WHITELIST

REVIEW = "review_by_level"
CORRECTION = "correct_superior_change"
SETTINGS = settings(
    max_examples=50, deadline=None, stateful_step_count=20,
    derandomize=os.environ.get("CI") == "true",  # CI runs the same 50 examples every time
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
_change_ids = itertools.count(1)


@dataclass
class Tracked:
    """What the test expects of one instance, kept independently of the service under test."""

    instance_id: int
    change_request_id: int
    levels: list[int]
    reviewers: dict[int, list[int]]  # level → user ids configured for it now
    unit_admin_id: int
    outsider_ids: list[int]  # users of the same units who are never candidates
    superior_id: int
    superior_admin_id: int
    staff_ids: list[int]  # the reviewing unit's staff a level may name
    stage: str = "review"  # review / correction / completed
    level_index: int = 0
    outcome: str | None = None  # apply / reject once completed
    done_tasks: list[tuple[int, int]] = field(default_factory=list)  # (human task id, who completed it)

    def expected_candidates(self) -> set[int]:
        if self.stage == "review":
            return set(self.reviewers[self.levels[self.level_index]])
        return {self.unit_admin_id} if self.stage == "correction" else set()


@pytest.fixture
def fake_operations(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Bind the superior-change business operations to a recorder of (operation, change_request_id)."""
    calls: list[tuple[str, int]] = []

    def apply_superior_change(**kwargs: Any) -> str:
        calls.append(("apply", kwargs["change_request_id"]))
        return json.dumps({"ok": True})

    def reject_superior_change(**kwargs: Any) -> None:
        calls.append(("reject", kwargs["change_request_id"]))

    functions = dict(WHITELIST._functions)
    functions.update(apply_superior_change=apply_superior_change, reject_superior_change=reject_superior_change)
    monkeypatch.setattr(WHITELIST, "_functions", functions)
    return calls


def _snapshot(instance_id: int) -> tuple[Any, ...]:
    """Everything an action on the instance could write: state, version, projection, candidates, trail."""
    instance = db.session.scalar(select(ProcessInstance).where(ProcessInstance.id == instance_id)
                                 .execution_options(populate_existing=True))
    assert instance is not None
    rows = db.session.execute(select(HumanTask.id, HumanTask.status, HumanTask.completed_by_id, HumanTask.decision)
                              .where(HumanTask.instance_id == instance_id).order_by(HumanTask.id)).all()
    candidates = db.session.execute(select(HumanTaskCandidate.task_id, HumanTaskCandidate.user_id)
                                    .join(HumanTask, HumanTask.id == HumanTaskCandidate.task_id)
                                    .where(HumanTask.instance_id == instance_id)
                                    .order_by(HumanTaskCandidate.task_id, HumanTaskCandidate.user_id)).all()
    events = db.session.scalar(select(func.count()).select_from(WorkflowEvent)
                               .where(WorkflowEvent.instance_id == instance_id))
    return bytes(instance.state), instance.lock_version, instance.status, tuple(rows), tuple(candidates), events


def test_inbox_projection_equals_ready_user_tasks(database, make_unit, make_user, fake_operations):
    calls = fake_operations
    happened: Counter[str] = Counter()  # across all examples: what the rules did

    class ProjectionMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.savepoint = db.session.begin_nested()
            self.tracked: list[Tracked] = []
            calls.clear()

        def teardown(self) -> None:
            if self.savepoint.is_active:
                self.savepoint.rollback()

        @initialize(data=st.data(), level_counts=st.lists(st.integers(1, 3), min_size=1, max_size=3))
        def start_instances(self, data: st.DataObject, level_counts: list[int]) -> None:
            for count in level_counts:
                superior = make_unit(unit_type="hr")
                unit = make_unit(parent=superior)
                superior_admin = make_user(superior, admin=True)
                staff = [make_user(superior).id for _ in range(3)]
                reviewers = {number: data.draw(st.lists(st.sampled_from(staff), min_size=1, max_size=2, unique=True))
                             for number in range(1, count + 1)}
                audit_chain.save_levels(superior_admin, superior, "unit_registration",
                                        [{"name": f"第{n}级", "user_ids": ids} for n, ids in reviewers.items()])
                unit_admin = make_user(unit, admin=True)
                # Not candidates: the reviewing unit's own administrator (levels are configured) and a clerk.
                outsiders = [superior_admin.id, make_user(unit).id]
                change_request_id = next(_change_ids)
                levels = audit_chain.review_levels(superior.id, "unit_registration")
                instance = instances.start_process(
                    "unit_superior_change", "unit_superior_change", change_request_id, "变更上级单位", unit.id,
                    {"change_request_id": change_request_id, "levels": levels, "reviewing_unit_id": superior.id},
                    None)
                self.tracked.append(Tracked(instance.id, change_request_id, levels, reviewers, unit_admin.id,
                                            outsiders, superior.id, superior_admin.id, staff))
                happened["start"] += 1

        # --- helpers -------------------------------------------------------------------------------------

        def _open_task(self, tracked: Tracked) -> HumanTask:
            [task] = db.session.scalars(select(HumanTask).where(HumanTask.instance_id == tracked.instance_id,
                                                                HumanTask.status == "open"))
            return task

        def _complete(self, actor_id: int, task_id: int, form: dict[str, str]) -> None:
            """One request: a savepoint committed on success, rolled back when the service refuses."""
            actor = db.session.get(User, actor_id)
            assert actor is not None
            request = db.session.begin_nested()
            try:
                instances.complete_human_task(actor, task_id, form)
            except ServiceError:
                request.rollback()
                raise
            request.commit()

        def _refused(self, tracked: Tracked, actor_id: int, task_id: int, form: dict[str, str],
                     error: type[ServiceError]) -> None:
            before = _snapshot(tracked.instance_id)
            with pytest.raises(error):
                self._complete(actor_id, task_id, form)
            assert _snapshot(tracked.instance_id) == before, "a refused action changed the instance"

        def _in_stage(self, stage: str) -> list[Tracked]:
            return [t for t in self.tracked if t.stage == stage]

        # --- rules -----------------------------------------------------------------------------------------

        @precondition(lambda self: any(t.stage == "review" for t in self.tracked))
        @rule(data=st.data(), decision=st.sampled_from(["pass", "pass", "return", "reject"]))  # forward half the time
        def candidate_reviews(self, data: st.DataObject, decision: str) -> None:
            tracked = data.draw(st.sampled_from(self._in_stage("review")))
            task = self._open_task(tracked)
            actor_id = data.draw(st.sampled_from(sorted(tracked.expected_candidates())))
            self._complete(actor_id, task.id, {"decision": decision, "opinion": f"意见：{decision}"})
            tracked.done_tasks.append((task.id, actor_id))
            happened[decision] += 1
            if decision == "return":
                tracked.stage = "correction"
            elif decision == "reject":
                tracked.stage, tracked.outcome = "completed", "reject"
            elif tracked.level_index + 1 < len(tracked.levels):
                tracked.level_index += 1
            else:
                tracked.stage, tracked.outcome = "completed", "apply"

        @precondition(lambda self: any(t.stage == "correction" for t in self.tracked))
        @rule(data=st.data())
        def unit_admin_corrects(self, data: st.DataObject) -> None:
            tracked = data.draw(st.sampled_from(self._in_stage("correction")))
            task = self._open_task(tracked)
            self._complete(tracked.unit_admin_id, task.id, {"note": "已按意见修改"})
            tracked.done_tasks.append((task.id, tracked.unit_admin_id))
            happened["correct"] += 1
            tracked.stage, tracked.level_index = "review", 0  # a returned request is reviewed from level 1 again

        @precondition(lambda self: any(t.stage != "completed" for t in self.tracked))
        @rule(data=st.data())
        def wrong_user_is_refused(self, data: st.DataObject) -> None:
            tracked = data.draw(st.sampled_from([t for t in self.tracked if t.stage != "completed"]))
            task = self._open_task(tracked)
            everyone = {tracked.unit_admin_id, *tracked.outsider_ids,
                        *(uid for ids in tracked.reviewers.values() for uid in ids)}
            actor_id = data.draw(st.sampled_from(sorted(everyone - tracked.expected_candidates())))
            form = {"decision": "pass", "opinion": "越权办理"} if tracked.stage == "review" else {"note": "越权"}
            self._refused(tracked, actor_id, task.id, form, Forbidden)
            happened["forbidden"] += 1

        @precondition(lambda self: any(t.done_tasks for t in self.tracked))
        @rule(data=st.data())
        def done_task_again_conflicts(self, data: st.DataObject) -> None:
            tracked = data.draw(st.sampled_from([t for t in self.tracked if t.done_tasks]))
            task_id, actor_id = data.draw(st.sampled_from(tracked.done_tasks))
            task = db.session.get(HumanTask, task_id)
            assert task is not None
            form = {"decision": "pass", "opinion": "重复办理"} if task.bpmn_id == REVIEW else {"note": "重复"}
            self._refused(tracked, actor_id, task_id, form, Conflict)
            happened["conflict"] += 1

        @rule(data=st.data(), tick=st.booleans())
        def reconfigure_or_tick(self, data: st.DataObject, tick: bool) -> None:
            # One rule for both, so that the reviews (the point of the test) get most of the steps.
            if tick:
                self._timer_tick_changes_nothing()
            else:
                self._superior_reconfigures_levels(data)

        def _superior_reconfigures_levels(self, data: st.DataObject) -> None:
            # Same number of levels (running instances carry their level list), new staff at each level.
            tracked = data.draw(st.sampled_from(self.tracked))
            reviewers = {number: data.draw(st.lists(st.sampled_from(tracked.staff_ids), min_size=1, max_size=2,
                                                    unique=True)) for number in tracked.reviewers}
            actor = db.session.get(User, tracked.superior_admin_id)
            superior = db.session.get(Unit, tracked.superior_id)
            assert actor is not None and superior is not None
            before = tracked.expected_candidates()
            request = db.session.begin_nested()
            refreshed = audit_config.save_configuration(
                actor, superior, "unit_registration",
                [{"name": f"第{n}级", "user_ids": ids} for n, ids in reviewers.items()])
            request.commit()
            tracked.reviewers = reviewers
            # Only an open review task whose level got other staff is rewritten.
            assert refreshed == (1 if tracked.stage == "review" and tracked.expected_candidates() != before else 0)
            happened["reconfigure_open" if refreshed else "reconfigure"] += 1

        def _timer_tick_changes_nothing(self) -> None:
            before = [_snapshot(t.instance_id) for t in self.tracked]
            request = db.session.begin_nested()
            fired = instances.tick_due(now=datetime(2999, 12, 31))
            request.commit()
            assert fired == 0
            assert [_snapshot(t.instance_id) for t in self.tracked] == before
            happened["tick"] += 1

        # --- the property ---------------------------------------------------------------------------------

        @invariant()
        def projection_equals_ready_user_tasks(self) -> None:
            for tracked in self.tracked:
                instance = db.session.get(ProcessInstance, tracked.instance_id)
                assert instance is not None
                workflow = state.load_state(instance.state, definitions.parsed(instance.definition))
                ready = runner.ready_user_tasks(workflow)
                open_rows = list(db.session.scalars(select(HumanTask).where(
                    HumanTask.instance_id == instance.id, HumanTask.status == "open")))
                projected = {row.task_uuid: (row.bpmn_id, row.level_no, frozenset(db.session.scalars(
                    select(HumanTaskCandidate.user_id).where(HumanTaskCandidate.task_id == row.id))))
                    for row in open_rows}
                expected = {t.task_id: (t.bpmn_id, t.data.get("level") if t.post == "unit_reviewer" else None,
                                        frozenset(tracked.expected_candidates())) for t in ready}
                assert projected == expected
                # The candidate rows' 待办 bucket copies agree with their task, open or closed.
                copies = db.session.execute(
                    select(HumanTaskCandidate.is_open, HumanTaskCandidate.business_type, HumanTaskCandidate.created_at,
                           HumanTask.status, HumanTask.business_type, HumanTask.created_at)
                    .join(HumanTask, HumanTask.id == HumanTaskCandidate.task_id)
                    .where(HumanTask.instance_id == instance.id)).all()
                assert copies and all((is_open, copied_type, copied_at) == (status == "open", task_type, task_at)
                                      for is_open, copied_type, copied_at, status, task_type, task_at in copies)
                if tracked.stage == "completed":
                    assert instance.status == "completed" and runner.is_completed(workflow) and not open_rows
                else:
                    assert instance.status == "running"
                    [(bpmn_id, level_no, _)] = expected.values()
                    if tracked.stage == "review":
                        assert (bpmn_id, level_no) == (REVIEW, tracked.levels[tracked.level_index])
                    else:
                        assert (bpmn_id, level_no) == (CORRECTION, None)
            # The business operation ran once for each finished instance, with the right outcome.
            assert sorted(calls) == sorted((t.outcome, t.change_request_id) for t in self.tracked if t.outcome)
            happened["checked"] += 1
            happened["instances_completed"] = max(happened["instances_completed"],
                                                  sum(t.stage == "completed" for t in self.tracked))

    run_state_machine_as_test(ProjectionMachine, settings=SETTINGS)
    # Not vacuous: every kind of action ran somewhere in the examples, and instances reached their end.
    kinds = ("start", "pass", "return", "reject", "correct", "forbidden", "conflict", "reconfigure_open", "tick")
    assert not [kind for kind in kinds if not happened[kind]], sorted(happened.items())
    assert happened["checked"] > 100 and happened["instances_completed"] >= 1, dict(happened)
