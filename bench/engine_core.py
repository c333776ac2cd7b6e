"""Engine core benchmark: one user-task request inside the engine (DESIGN §6 floor ≈5.5 ms over a 32-step life).

A request is: load the instance from its blob, complete one user task, run engine steps, dump the blob.
The life measured is a 2-level unit_registration: level 1 passes, level 2 returns, the applicant corrects,
both levels pass (5 requests). It is repeated ITERATIONS times; medians are over all requests. For comparison
the same life runs with SpiffWorkflow's default serializer (spec embedded in every blob, stdlib json).

Run: .venv/bin/python bench/engine_core.py   (last line of output is a JSON object)
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer  # noqa: E402
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG  # noqa: E402

from services.workflow import runner  # noqa: E402
from services.workflow.scripting import BUSINESS_OPERATIONS, WHITELIST, build_script_engine  # noqa: E402
from services.workflow.spec import dump_spec, load_spec, parse_with_library  # noqa: E402
from services.workflow.state import dump_state, load_state  # noqa: E402

ITERATIONS = 200
STEPS: list[dict[str, Any]] = [
    {"decision": "pass", "opinion": "一级审核同意"},
    {"decision": "return", "opinion": "二级退回：请补充营业执照"},
    {"note": "已补充营业执照"},
    {"decision": "pass", "opinion": "一级审核同意"},
    {"decision": "pass", "opinion": "二级审核同意"},
]
START = {"registration_id": 1001, "levels": [1, 2], "reviewing_unit_id": 42}


def ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def timed(func: Callable[[], Any]) -> tuple[Any, float]:
    began = time.perf_counter()
    result = func()
    return result, time.perf_counter() - began


def main() -> None:
    library = {path.stem: path.read_bytes() for path in (ROOT / "bpmn").glob("*.bpmn")}
    registry = WHITELIST.copy()
    for name in BUSINESS_OPERATIONS:
        registry.register(name, lambda **kwargs: None)
    engine = build_script_engine(registry)

    parse_times = [timed(lambda: parse_with_library(library["unit_registration"], "unit_registration", library))[1]
                   for _ in range(20)]
    parsed = parse_with_library(library["unit_registration"], "unit_registration", library)
    spec_blob = dump_spec(parsed)
    spec_load_times = [timed(lambda: load_spec(spec_blob))[1] for _ in range(20)]

    request, load, complete, dump, blob_sizes = [], [], [], [], []
    for _ in range(ITERATIONS):
        blob = dump_state(runner.start(parsed, START, engine))
        for step in STEPS:
            began = time.perf_counter()
            workflow, t_load = timed(lambda: load_state(blob, parsed, engine))  # noqa: B023
            task_id = runner.ready_user_tasks(workflow)[0].task_id
            _, t_complete = timed(lambda: runner.complete_task(workflow, task_id, step))  # noqa: B023
            blob, t_dump = timed(lambda: dump_state(workflow))  # noqa: B023
            request.append(time.perf_counter() - began)
            load.append(t_load)
            complete.append(t_complete)
            dump.append(t_dump)
            blob_sizes.append(len(blob))
        assert runner.is_completed(workflow)

    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
    default_request, default_sizes = [], []
    for _ in range(ITERATIONS):
        text = serializer.serialize_json(runner.start(parsed, START, engine))
        for step in STEPS:
            began = time.perf_counter()
            workflow = serializer.deserialize_json(text)
            workflow.script_engine = engine
            runner.complete_task(workflow, runner.ready_user_tasks(workflow)[0].task_id, step)
            text = serializer.serialize_json(workflow)
            default_request.append(time.perf_counter() - began)
            default_sizes.append(len(text.encode()))

    figures = {
        "benchmark": "engine_core",
        "iterations": ITERATIONS,
        "requests_per_life": len(STEPS),
        "request_median_ms": ms(statistics.median(request)),
        "request_p90_ms": ms(statistics.quantiles(request, n=10)[-1]),
        "load_median_ms": ms(statistics.median(load)),
        "complete_and_engine_steps_median_ms": ms(statistics.median(complete)),
        "dump_median_ms": ms(statistics.median(dump)),
        "state_bytes_final": blob_sizes[-1],
        "state_bytes_max": max(blob_sizes),
        "default_serializer_request_median_ms": ms(statistics.median(default_request)),
        "default_serializer_bytes_final": default_sizes[-1],
        "instance_only_vs_default_ratio": round(statistics.median(request) / statistics.median(default_request), 2),
        "parse_median_ms": ms(statistics.median(parse_times)),
        "spec_load_median_ms": ms(statistics.median(spec_load_times)),
        "spec_bytes": len(spec_blob),
    }
    print(f"user-task request (load + complete + engine steps + dump), median of {len(request)}: "
          f"{figures['request_median_ms']} ms (p90 {figures['request_p90_ms']} ms)")
    print(f"  load {figures['load_median_ms']} ms, complete+engine {figures['complete_and_engine_steps_median_ms']}"
          f" ms, dump {figures['dump_median_ms']} ms; state {figures['state_bytes_final']} bytes at the end")
    print(f"  Spiff default serializer: {figures['default_serializer_request_median_ms']} ms, "
          f"{figures['default_serializer_bytes_final']} bytes (ratio {figures['instance_only_vs_default_ratio']}×)")
    print(f"parse unit_registration + unit_review: {figures['parse_median_ms']} ms; "
          f"load cached spec blob: {figures['spec_load_median_ms']} ms ({figures['spec_bytes']} bytes)")
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
