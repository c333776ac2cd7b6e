"""Fixtures for engine tests: the real diagrams in bpmn/, and a whitelist whose business operations record calls."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from workflow_helpers import BPMN_DIR, Recorder

from services.workflow.scripting import build_script_engine
from services.workflow.spec import ParsedProcess, parse_with_library


@pytest.fixture(scope="session")
def library() -> dict[str, bytes]:
    return {path.stem: path.read_bytes() for path in sorted(BPMN_DIR.glob("*.bpmn"))}


@pytest.fixture(scope="session")
def parsed(library: dict[str, bytes]) -> Callable[[str], ParsedProcess]:
    cache: dict[str, ParsedProcess] = {}

    def get(process_id: str) -> ParsedProcess:
        if process_id not in cache:
            cache[process_id] = parse_with_library(library[process_id], process_id, library)
        return cache[process_id]

    return get


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def engine(recorder: Recorder) -> Any:
    return build_script_engine(recorder.registry)
