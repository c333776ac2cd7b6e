"""Parsing BPMN diagrams into SpiffWorkflow specs, and caching the parsed specs per definition version.

DESIGN §2: definitions are versioned rows; the parsed spec is serialized once per version (``dump_spec``) and
cached in process (``load_spec_cached`` / ``parse_cached``), because parsing costs milliseconds and the spec
dominates small instance blobs. Instances keep only their own state (``state.py``).

Diagrams come from administrators' browsers, so DOCTYPE and ENTITY declarations are refused before lxml sees
them (entity expansion and external entities), and the lxml parser is configured not to resolve any.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import orjson
from lxml import etree
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

from services.common.errors import InvalidInput

__all__ = [
    "DiagramError",
    "REGISTRY",
    "ParsedProcess",
    "called_process_ids",
    "clear_cache",
    "dump_spec",
    "load_spec",
    "load_spec_cached",
    "parse_cached",
    "parse_process",
    "parse_with_library",
    "read_diagram",
    "source_sha256",
]

SPEC_FORMAT = 1
_CACHE_SIZE = 64
_DECLARATION = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_XML_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False,
    remove_comments=False,
)
_BPMN_NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL"}
_REGISTRY = BpmnWorkflowSerializer.configure(SPIFF_CONFIG)
REGISTRY = _REGISTRY  # the converters SpiffWorkflow's SpecDiff compares task specs with (version comparison)


class DiagramError(InvalidInput):
    """A diagram the real parser (or our pre-checks) refused; ``element_id`` names the offending element."""

    def __init__(self, message: str, element_id: str = "", line: int | None = None) -> None:
        super().__init__(message)
        self.element_id = element_id
        self.line = line


@dataclass(frozen=True)
class ParsedProcess:
    """A top-level process spec plus the specs of every process it calls (call activities)."""

    process_id: str
    spec: Any  # SpiffWorkflow BpmnProcessSpec (the library is untyped)
    subprocess_specs: Mapping[str, Any] = field(default_factory=dict)


def read_diagram(xml: bytes, filename: str = "") -> Any:
    """Parse XML safely and return the lxml root; refuses DOCTYPE/ENTITY declarations in any encoding."""
    if _DECLARATION.search(xml) or _DECLARATION.search(_as_utf8(xml)):
        raise DiagramError(f"{filename or '流程图'}：不允许包含 DOCTYPE 或 ENTITY 声明")
    try:
        root = etree.fromstring(xml, parser=_XML_PARSER)
    except etree.XMLSyntaxError as err:
        raise DiagramError(f"XML 格式错误：{err.msg}", line=err.lineno) from err
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise DiagramError(f"{filename or '流程图'}：不允许包含 DOCTYPE 或 ENTITY 声明")
    return root


def _as_utf8(xml: bytes) -> bytes:
    # A UTF-16/32 document hides "<!DOCTYPE" from a byte search; decode by BOM before searching again.
    for bom, codec in ((b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"),
                       (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):
        if xml.startswith(bom):
            return xml.decode(codec, errors="replace").encode()
    return b""


def called_process_ids(root: Any) -> set[str]:
    """Process ids named by the call activities of a diagram."""
    return {
        str(node.get("calledElement"))
        for node in root.xpath(".//bpmn:callActivity", namespaces=_BPMN_NS)
        if node.get("calledElement")
    }


def parse_process(xml: bytes, process_id: str) -> ParsedProcess:
    """Parse one self-contained diagram (no call activities to other files)."""
    return parse_with_library(xml, process_id, {})


def parse_with_library(xml: bytes, process_id: str, library: Mapping[str, bytes]) -> ParsedProcess:
    """Parse ``xml`` and add, transitively, the library diagrams (process id → XML) its call activities need."""
    parser = SpiffBpmnParser(validator=VALIDATOR)
    try:
        root = read_diagram(xml, f"{process_id}.bpmn")
        parser.add_bpmn_xml(root, filename=f"{process_id}.bpmn")
        loaded = {process_id}
        pending = called_process_ids(root) - loaded
        while pending:
            called = pending.pop()
            loaded.add(called)
            if called in parser.process_parsers:
                continue
            if called not in library:
                raise DiagramError(f"调用活动引用的流程 {called} 不存在", element_id=called)
            called_root = read_diagram(library[called], f"{called}.bpmn")
            parser.add_bpmn_xml(called_root, filename=f"{called}.bpmn")
            pending |= called_process_ids(called_root) - loaded
        spec = parser.get_spec(process_id)
        subprocess_specs = parser.get_subprocess_specs(process_id)
    except SpiffWorkflowException as err:
        raise _diagram_error(err) from err
    parsed = ParsedProcess(process_id, spec, MappingProxyType(dict(subprocess_specs)))
    _connect_loop_children(parsed)
    return parsed


def _diagram_error(err: SpiffWorkflowException) -> DiagramError:
    element_id = str(getattr(err, "id", "") or "")
    line = getattr(err, "line_number", None)
    detail = str(err.args[0]) if err.args else err.__class__.__name__
    return DiagramError(f"流程图无法解析：{detail}", element_id=element_id, line=line if isinstance(line, int) else None)


def _connect_loop_children(parsed: ParsedProcess) -> None:
    # Spiff connects a loop task to its child's completed_event lazily, on the *shared* spec, the first time an
    # instance runs it; the spec deserializer does it eagerly. Doing it here makes parsed and loaded specs
    # identical and avoids a first-use race when several threads share one cached spec.
    for spec in (parsed.spec, *parsed.subprocess_specs.values()):
        for task_spec in spec.task_specs.values():
            if isinstance(task_spec, LoopTask):
                child = spec.task_specs[task_spec.task_spec]
                if not child.completed_event.is_connected(task_spec.merge_child):
                    child.completed_event.connect(task_spec.merge_child)


def dump_spec(parsed: ParsedProcess) -> bytes:
    """Serialize a parsed process once per definition version (stored beside the XML)."""
    return orjson.dumps({
        "format": SPEC_FORMAT,
        "process_id": parsed.process_id,
        "spec": _REGISTRY.convert(parsed.spec),
        "subprocess_specs": {name: _REGISTRY.convert(spec) for name, spec in parsed.subprocess_specs.items()},
    })


def load_spec(blob: bytes) -> ParsedProcess:
    dct = orjson.loads(blob)
    if dct.get("format") != SPEC_FORMAT:
        raise DiagramError(f"不支持的流程定义缓存格式：{dct.get('format')}")
    subprocess_specs = {name: _REGISTRY.restore(spec) for name, spec in dct["subprocess_specs"].items()}
    return ParsedProcess(dct["process_id"], _REGISTRY.restore(dct["spec"]), MappingProxyType(subprocess_specs))


def source_sha256(xml: bytes, library: Mapping[str, bytes] | None = None) -> str:
    """Content hash of a diagram (and the library it was parsed with): the version key of a definition."""
    digest = hashlib.sha256(xml)
    for name in sorted(library or {}):
        digest.update(b"\0" + name.encode() + b"\0" + hashlib.sha256((library or {})[name]).digest())
    return digest.hexdigest()


class _LruCache:
    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[str, ParsedProcess] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_build(self, key: str, build: Callable[[], ParsedProcess]) -> ParsedProcess:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
                return found
        built = build()  # outside the lock: a slow parse must not block readers of other versions
        with self._lock:
            found = self._items.setdefault(key, built)
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)
            return found

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_CACHE = _LruCache(_CACHE_SIZE)


def load_spec_cached(blob: bytes | Callable[[], bytes], sha256: str) -> ParsedProcess:
    """``load_spec`` memoized by the definition row's sha256; `blob` may be a loader called only on a miss."""
    return _CACHE.get_or_build(f"spec:{sha256}", lambda: load_spec(blob() if callable(blob) else blob))


def parse_cached(xml: bytes, process_id: str, library: Mapping[str, bytes] | None = None) -> ParsedProcess:
    """``parse_with_library`` memoized by :func:`source_sha256` of the diagram and its library."""
    key = f"xml:{process_id}:{source_sha256(xml, library)}"
    return _CACHE.get_or_build(key, lambda: parse_with_library(xml, process_id, library or {}))


def clear_cache() -> None:
    _CACHE.clear()
