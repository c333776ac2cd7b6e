"""Deployment checks for BPMN diagrams; the core of ``flask bpmn check`` and ``python -m services.workflow.checker``.

A diagram is deployable when (DESIGN §1–2):

- the real SpiffWorkflow parser accepts it (with the diagrams its call activities need), with no DOCTYPE/ENTITY;
- it holds one process whose id equals the file stem;
- every user task names an existing form (``formKey``) and a known ``post``; there are no manual tasks, which
  the inbox never shows;
- every splitting exclusive/inclusive gateway has a default flow (3.2.0 errors when no condition is true);
- every script and expression passes ``expressions.check_expression`` against the whitelist.
"""

from __future__ import annotations

import sys
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from SpiffWorkflow.bpmn.specs.mixins.manual_task import ManualTask
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask

from .expressions import check_expression
from .forms import form_exists, task_properties
from .posts import POSTS
from .scripting import WHITELIST
from .spec import DiagramError, parse_with_library, read_diagram

__all__ = ["Problem", "check_diagram", "check_files", "main"]

_NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
}
# (xpath, mode): every place SpiffWorkflow hands text to the script engine.
_CODE_LOCATIONS: tuple[tuple[str, Literal["eval", "exec"]], ...] = (
    (".//bpmn:scriptTask/bpmn:script", "exec"),
    (".//spiffworkflow:preScript", "exec"),
    (".//spiffworkflow:postScript", "exec"),
    (".//bpmn:sequenceFlow/bpmn:conditionExpression", "eval"),
    (".//bpmn:multiInstanceLoopCharacteristics/bpmn:completionCondition", "eval"),
    (".//bpmn:multiInstanceLoopCharacteristics/bpmn:loopCardinality", "eval"),
    (".//bpmn:standardLoopCharacteristics/bpmn:loopCondition", "eval"),
    (".//bpmn:timeDate", "eval"),
    (".//bpmn:timeDuration", "eval"),
    (".//bpmn:timeCycle", "eval"),
    (".//bpmn:conditionalEventDefinition/bpmn:condition", "eval"),
    (".//spiffworkflow:messagePayload", "eval"),
    (".//spiffworkflow:payloadExpression", "eval"),
)


@dataclass(frozen=True)
class Problem:
    file: str
    element_id: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.element_id or '-'}: {self.message}"


def _owner_id(node: Any) -> str:
    """The id of the nearest element that has one (the task for loop characteristics and extensions)."""
    while node is not None:
        if node.get("id"):
            return str(node.get("id"))
        node = node.getparent()
    return ""


def check_diagram(
    xml: bytes,
    filename: str,
    *,
    library: Mapping[str, bytes] | None = None,
    posts: Collection[str] = POSTS,
    functions: Collection[str] = WHITELIST,
    forms_root: Path | None = None,
) -> list[Problem]:
    """All problems in one diagram; ``library`` maps process id → XML for call activities."""
    name = Path(filename).name
    try:
        root = read_diagram(xml, name)
    except DiagramError as err:
        return [Problem(name, err.element_id, err.message)]
    processes = root.xpath(".//bpmn:process", namespaces=_NS)
    if len(processes) != 1:
        return [Problem(name, "", f"每个文件只能包含一个流程，实际为 {len(processes)} 个")]
    process_id = str(processes[0].get("id"))
    problems: list[Problem] = []
    if Path(filename).stem != process_id:
        problems.append(Problem(name, process_id, f"文件名须与流程 id 一致：应命名为 {process_id}.bpmn"))
    problems += _gateway_problems(name, root)
    problems += _code_problems(name, root, functions)
    try:
        parsed = parse_with_library(xml, process_id, {k: v for k, v in (library or {}).items() if k != process_id})
    except DiagramError as err:
        problems.append(Problem(name, err.element_id or process_id, err.message))
        return problems
    own_file = f"{process_id}.bpmn"
    for spec in (parsed.spec, *parsed.subprocess_specs.values()):
        if spec.file == own_file:  # called processes are checked in their own files
            problems += _task_problems(name, spec, posts, forms_root)
    return problems


def _task_problems(name: str, spec: Any, posts: Collection[str], forms_root: Path | None) -> list[Problem]:
    problems: list[Problem] = []
    for task_spec in spec.task_specs.values():
        element_id = str(getattr(task_spec, "bpmn_id", "") or task_spec.name)
        if isinstance(task_spec, ManualTask):
            problems.append(Problem(name, element_id, "不支持手工任务（manualTask），请改用用户任务"))
        if not isinstance(task_spec, UserTask):
            continue
        properties = task_properties(task_spec)
        form_key, post = properties.get("formKey"), properties.get("post")
        if not form_key:
            problems.append(Problem(name, element_id, "用户任务缺少 formKey 属性"))
        elif not form_exists(form_key, forms_root):
            problems.append(Problem(name, element_id, f"表单 {form_key} 不存在"))
        if not post:
            problems.append(Problem(name, element_id, "用户任务缺少 post 属性"))
        elif post not in posts:
            problems.append(Problem(name, element_id, f"未知岗位 {post}"))
    return problems


def _gateway_problems(name: str, root: Any) -> list[Problem]:
    problems: list[Problem] = []
    flows = {str(f.get("id")): f for f in root.xpath(".//bpmn:sequenceFlow", namespaces=_NS)}
    for gateway in root.xpath(".//bpmn:exclusiveGateway | .//bpmn:inclusiveGateway", namespaces=_NS):
        gateway_id = str(gateway.get("id"))
        outgoing = [f for f in flows.values() if f.get("sourceRef") == gateway_id]
        conditional = [f for f in outgoing if f.find("bpmn:conditionExpression", _NS) is not None]
        default = gateway.get("default")
        # A merging gateway with one unconditioned outflow cannot get stuck; everything else needs a default.
        if default is None and (len(outgoing) > 1 or conditional):
            problems.append(Problem(name, gateway_id, "网关缺少默认流向（无条件成立时流程会出错）"))
        elif default is not None and default not in {str(f.get("id")) for f in outgoing}:
            problems.append(Problem(name, gateway_id, f"默认流向 {default} 不是该网关的出口"))
    return problems


def _code_problems(name: str, root: Any, functions: Collection[str]) -> list[Problem]:
    problems: list[Problem] = []
    for xpath, mode in _CODE_LOCATIONS:
        for node in root.xpath(xpath, namespaces=_NS):
            source = node.text or ""
            if not source.strip():
                continue
            owner = _owner_id(node)
            problems += [Problem(name, owner, message) for message in check_expression(source, mode, functions)]
    for operator in root.xpath(".//spiffworkflow:serviceTaskOperator", namespaces=_NS):
        owner = _owner_id(operator.getparent())
        operation = operator.get("id") or ""
        if operation not in functions:
            problems.append(Problem(name, owner, f"服务任务调用的函数 {operation or '（空）'} 不在白名单中"))
        for parameter in operator.xpath(".//spiffworkflow:parameter", namespaces=_NS):
            for message in check_expression(parameter.get("value") or "None", "eval", functions):
                problems.append(Problem(name, owner, f"参数 {parameter.get('id')}：{message}"))
    return problems


def _library_for(paths: Iterable[Path]) -> dict[str, bytes]:
    """Diagrams a call activity may name: the checked files plus their siblings, by file stem."""
    library: dict[str, bytes] = {}
    for folder in {path.parent for path in paths}:
        for sibling in sorted(folder.glob("*.bpmn")):
            library.setdefault(sibling.stem, sibling.read_bytes())
    for path in paths:
        library[path.stem] = path.read_bytes()
    return library


def check_files(
    paths: Iterable[str | Path],
    *,
    posts: Collection[str] = POSTS,
    functions: Collection[str] = WHITELIST,
    forms_root: Path | None = None,
) -> list[Problem]:
    files = [Path(p) for p in paths]
    missing = [Problem(str(p), "", "文件不存在") for p in files if not p.is_file()]
    present = [p for p in files if p.is_file()]
    library = _library_for(present)
    problems = list(missing)
    for path in present:
        found = check_diagram(path.read_bytes(), path.name, library=library, posts=posts, functions=functions,
                              forms_root=forms_root)
        problems += [Problem(str(path), p.element_id, p.message) for p in found]
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    """``flask bpmn check [FILE …]``: 0 when clean, 1 when any problem, 2 when there is nothing to check.

    With no files it checks every diagram in bpmn/.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        args = sorted(str(p) for p in (Path(__file__).resolve().parents[2] / "bpmn").glob("*.bpmn"))
    if not args:
        print("bpmn/ 中没有流程图", file=sys.stderr)
        return 2
    problems = check_files(args)
    for problem in problems:
        print(problem)
    print(f"检查 {len(args)} 个流程图，发现 {len(problems)} 个问题", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
