"""Helpers shared by the engine tests: crafted diagrams, recording fakes, and review steps."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from services.workflow import runner
from services.workflow.scripting import BUSINESS_OPERATIONS, WHITELIST, FunctionRegistry

REPO = Path(__file__).resolve().parents[2]
BPMN_DIR = REPO / "bpmn"
NAMESPACES = (
    'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"'
)


def diagram(process_id: str, body: str, prolog: str = "") -> bytes:
    """A minimal diagram around ``body`` (flow elements of one process), for crafted test cases."""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n{prolog}'
        f'<bpmn:definitions {NAMESPACES} id="defs" targetNamespace="https://zhiping.example/test">'
        f'<bpmn:process id="{process_id}" isExecutable="true">{body}</bpmn:process>'
        f"</bpmn:definitions>"
    ).encode()


def user_task(task_id: str, form_key: str = "review/unit_opinion", post: str = "unit_reviewer",
              incoming: str = "", outgoing: str = "") -> str:
    return (
        f'<bpmn:userTask id="{task_id}" name="{task_id}"><bpmn:extensionElements><spiffworkflow:properties>'
        f'<spiffworkflow:property name="formKey" value="{form_key}"/>'
        f'<spiffworkflow:property name="post" value="{post}"/>'
        f"</spiffworkflow:properties></bpmn:extensionElements>{incoming}{outgoing}</bpmn:userTask>"
    )


def unbound_registry() -> FunctionRegistry:
    """The whitelist as a diagram sees it before the application binds the business operations.

    create_app binds them in the process-wide WHITELIST, so engine tests that run after any app test start from
    this copy rather than from WHITELIST itself.
    """
    registry = FunctionRegistry({name: func for name, func in WHITELIST.items() if name not in BUSINESS_OPERATIONS})
    for name in BUSINESS_OPERATIONS:
        registry.declare(name)
    return registry


class Recorder:
    """Recording fakes for the declared business operations."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.registry = unbound_registry()
        for name in BUSINESS_OPERATIONS:
            self.registry.register(name, self._fake(name))

    def _fake(self, name: str) -> Callable[..., Any]:
        def fake(**kwargs: Any) -> Any:
            self.calls.append((name, kwargs))
            return {"done": name}

        return fake

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]


def only_ready(workflow: Any) -> runner.ReadyTask:
    ready = runner.ready_user_tasks(workflow)
    assert len(ready) == 1, ready
    return ready[0]


def review(workflow: Any, decision: str, opinion: str = "") -> runner.ReadyTask:
    task = only_ready(workflow)
    assert task.form_key == "review/unit_opinion"
    runner.complete_task(workflow, task.task_id, {"decision": decision, "opinion": opinion or f"意见：{decision}"})
    return task
