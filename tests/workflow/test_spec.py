"""Parsing, refusing unsafe XML, and the per-version spec cache."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from workflow_helpers import diagram, review

from services.workflow import runner
from services.workflow.spec import (
    DiagramError,
    ParsedProcess,
    dump_spec,
    load_spec,
    load_spec_cached,
    parse_cached,
    parse_process,
    parse_with_library,
)

SIMPLE = diagram("simple", (
    '<bpmn:startEvent id="begin"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>'
    '<bpmn:sequenceFlow id="f1" sourceRef="begin" targetRef="finish"/>'
    '<bpmn:endEvent id="finish"><bpmn:incoming>f1</bpmn:incoming></bpmn:endEvent>'
))
ENTITY_BOMB = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>\n'
    b'<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">&lol2;</bpmn:definitions>'
)


def test_parse_process_gives_a_runnable_spec() -> None:
    parsed = parse_process(SIMPLE, "simple")
    assert parsed.process_id == "simple" and dict(parsed.subprocess_specs) == {}
    assert runner.is_completed(runner.start(parsed, {}))


@pytest.mark.parametrize("xml", [
    ENTITY_BOMB,
    b'<?xml version="1.0"?><!DOCTYPE x SYSTEM "file:///etc/passwd"><x/>',
    b'<?xml version="1.0"?><!doctype x><x/>',
    ENTITY_BOMB.decode().replace('<?xml version="1.0"?>', '<?xml version="1.0" encoding="UTF-16"?>')
    .encode("utf-16"),
])
def test_doctype_and_entity_declarations_are_refused(xml: bytes) -> None:
    with pytest.raises(DiagramError, match="DOCTYPE 或 ENTITY"):
        parse_process(xml, "lolz")


def test_parser_errors_name_the_element() -> None:
    broken = diagram("broken", (
        '<bpmn:startEvent id="begin"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>'
        '<bpmn:sequenceFlow id="f1" sourceRef="begin" targetRef="nowhere"/>'
    ))
    with pytest.raises(DiagramError) as caught:
        parse_process(broken, "broken")
    assert caught.value.message.startswith("流程图无法解析")


def test_malformed_xml_is_a_diagram_error() -> None:
    with pytest.raises(DiagramError, match="XML 格式错误"):
        parse_process(b"<bpmn:definitions", "x")


def test_missing_called_process_is_reported(library: dict[str, bytes]) -> None:
    with pytest.raises(DiagramError, match="unit_review 不存在"):
        parse_with_library(library["unit_registration"], "unit_registration", {})


def test_call_activity_pulls_in_the_library_diagram(parsed: Callable[[str], ParsedProcess]) -> None:
    assert set(parsed("unit_registration").subprocess_specs) == {"unit_review"}


def test_spec_blob_round_trips_and_runs(parsed: Callable[[str], ParsedProcess], engine: object) -> None:
    blob = dump_spec(parsed("unit_superior_change"))
    restored = load_spec(blob)
    assert dump_spec(restored) == blob
    workflow = runner.start(restored, {"change_request_id": 1, "levels": [1, 2], "reviewing_unit_id": 2}, engine)
    review(workflow, "pass")
    review(workflow, "pass")
    assert runner.is_completed(workflow)


def test_caches_return_the_same_parsed_object(library: dict[str, bytes], parsed: Callable[[str], ParsedProcess]
                                              ) -> None:
    first = parse_cached(library["unit_registration"], "unit_registration", library)
    assert parse_cached(library["unit_registration"], "unit_registration", library) is first
    blob = dump_spec(parsed("unit_review"))
    assert load_spec_cached(blob, "sha-of-v1") is load_spec_cached(blob, "sha-of-v1")
    assert load_spec_cached(blob, "sha-of-v2") is not load_spec_cached(blob, "sha-of-v1")
