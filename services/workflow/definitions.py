"""Versioned process definitions (DESIGN §2 "Definitions are versioned rows"; FEATURES P4).

Files in bpmn/ are deployed when their hash (the diagram plus the diagrams its call activities use)
changes since the file was last deployed; each deployment is a new version whose parsed spec is serialized
once. Running instances keep the version they started on; new instances start on the newest.

Diagrams saved from the browser editor or uploaded by a platform administrator pass the same checks as
``flask bpmn check`` and are refused whole when any fails: over 2 MB, DOCTYPE/ENTITY declarations, not BPMN,
or any checker problem (each named with its element id). A save names the hash it was opened from; when
another version was deployed meanwhile the save is refused (409), never overwriting it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select

from app.extensions import db
from app.models import User
from app.models.workflow import ProcessDefinition, ProcessInstance
from services.common import audit_log, config_cache
from services.common.errors import Conflict, InvalidInput, NotFound
from services.workflow import checker
from services.workflow import spec as specs

BPMN_DIR = Path(__file__).resolve().parent.parent.parent / "bpmn"


def library(directory: Path = BPMN_DIR) -> dict[str, bytes]:
    return {path.stem: path.read_bytes() for path in sorted(directory.glob("*.bpmn"))}


def called_library(process_id: str, lib: dict[str, bytes]) -> dict[str, bytes]:
    """The diagrams `process_id` reaches through call activities, transitively."""
    needed: dict[str, bytes] = {}
    stack = [process_id]
    while stack:
        for called in specs.called_process_ids(specs.read_diagram(lib[stack.pop()])):
            if called in lib and called not in needed and called != process_id:
                needed[called] = lib[called]
                stack.append(called)
    return needed


def latest(process_id: str, source: str | None = None) -> ProcessDefinition | None:
    stmt = select(ProcessDefinition).where(ProcessDefinition.process_id == process_id)
    if source is not None:
        stmt = stmt.where(ProcessDefinition.source == source)
    return db.session.scalar(stmt.order_by(ProcessDefinition.version.desc()).limit(1))


def deploy(process_id: str, xml: bytes, lib: dict[str, bytes], actor: User | None = None,
           source: str = "file") -> ProcessDefinition | None:
    """Deploy `xml` as a new version unless the newest version has the same hash; None when unchanged."""
    sha = specs.source_sha256(xml, called_library(process_id, {**lib, process_id: xml}))
    # A file is compared with what the file last deployed, so an unchanged file never undoes an editor version.
    current = latest(process_id, source="file" if source == "file" else None)
    if current is not None and current.sha256 == sha:
        return None
    parsed = specs.parse_with_library(xml, process_id, lib)
    root = specs.read_diagram(xml)
    process = root.find(f".//{{http://www.omg.org/spec/BPMN/20100524/MODEL}}process[@id='{process_id}']")
    version = (db.session.scalar(select(func.max(ProcessDefinition.version))
                                 .where(ProcessDefinition.process_id == process_id)) or 0) + 1
    definition = ProcessDefinition(
        process_id=process_id, version=version, sha256=sha, xml=xml.decode("utf-8"),
        name=(process.get("name") if process is not None else "") or process_id,
        spec_blob=specs.dump_spec(parsed), source=source, deployed_by_id=actor.id if actor else None,
    )
    db.session.add(definition)
    db.session.flush()
    audit_log.record(actor, "workflow.deploy", f"部署流程 {process_id} 第 {version} 版", "process_definition",
                     definition.id, detail={"sha256": sha, "source": source})
    return definition


def deploy_directory(directory: Path = BPMN_DIR, actor: User | None = None) -> list[ProcessDefinition]:
    """Deploy every diagram in `directory` whose hash changed."""
    lib = library(directory)
    deployed = []
    for process_id, xml in lib.items():
        definition = deploy(process_id, xml, lib, actor)
        if definition is not None:
            deployed.append(definition)
    return deployed


def newest_or_deploy(process_id: str) -> ProcessDefinition:
    definition = latest(process_id)
    if definition is None:
        deploy_directory()
        definition = latest(process_id)
    if definition is None:
        raise NotFound(f"流程 {process_id} 未部署")
    return definition


def newest_version(process_id: str) -> tuple[int, str]:
    """(id, sha256) of the newest version of `process_id`, deployed from bpmn/ first when it has none; kept per
    process under the configuration generation (a deployment writes process_definition, which bumps it)."""
    def build() -> tuple[int, str]:
        definition = newest_or_deploy(process_id)
        return definition.id, definition.sha256
    # No flush: the caller's changes (a declaration being submitted) go in one flush with the engine's.
    with db.session.no_autoflush:
        return config_cache.cached("newest_definition", process_id, build, flush=False)


def parsed_version(definition_id: int, sha256: str) -> specs.ParsedProcess:
    """The parsed spec of a version known by id and hash: its blob is read only when no spec is cached."""
    return specs.load_spec_cached(lambda: db.session.execute(
        select(ProcessDefinition.spec_blob).where(ProcessDefinition.id == definition_id)).scalar_one(), sha256)


def parsed(definition: ProcessDefinition) -> specs.ParsedProcess:
    # spec_blob is a deferred column: it is read from the database only when this process has no cached spec.
    return specs.load_spec_cached(lambda: definition.spec_blob, definition.sha256)


# --- administration: versions, comparison, deployment from the browser (FEATURES P4) ----------------------

MAX_DIAGRAM_BYTES = 2 * 1024 * 1024
_BPMN_DEFINITIONS = "{http://www.omg.org/spec/BPMN/20100524/MODEL}definitions"
_PROCESS_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,79}$")
# SpecDiff names the serialized attributes that differ; these are the ones an administrator recognises.
CHANGE_LABELS = {
    "bpmn_name": "名称", "extensions": "表单/岗位等扩展属性", "outputs": "后续连线", "inputs": "前序连线",
    "cond_task_specs": "分支条件", "default_task_spec": "默认流向", "event_definition": "事件定义",
    "script": "脚本", "typename": "元素类型", "condition": "完成条件", "data_input": "输入集合",
    "data_output": "输出集合", "input_item": "输入元素", "output_item": "输出元素", "spec": "调用的流程",
    "operation_name": "服务函数", "operation_params": "服务参数", "result_variable": "结果变量",
    "cardinality": "循环次数", "lane": "泳道",
}


class DiagramRejected(InvalidInput):
    """A diagram the deployment checks refused; ``problems`` lists every finding beside its element id."""

    def __init__(self, problems: list[checker.Problem]) -> None:
        super().__init__(f"流程图有 {len(problems)} 个问题，未部署；请逐条修改后再保存")
        self.problems = problems


@dataclass(frozen=True)
class VersionSummary:
    definition: ProcessDefinition
    deployed_by: str
    counts: dict[str, int]  # instances on this version by status

    @property
    def running(self) -> int:
        return self.counts.get("running", 0) + self.counts.get("suspended", 0)


@dataclass(frozen=True)
class VersionComparison:
    old: ProcessDefinition
    new: ProcessDefinition
    added: list[str]
    removed: list[str]
    changed: list[tuple[str, list[str]]]  # element id, Chinese labels of what changed


def load_version(process_id: str, version: int) -> ProcessDefinition:
    definition = db.session.scalar(select(ProcessDefinition).where(
        ProcessDefinition.process_id == process_id, ProcessDefinition.version == version))
    if definition is None:
        raise NotFound(f"流程 {process_id} 没有第 {version} 版")
    return definition


def process_names() -> dict[str, str]:
    """Each deployed process id with the name of its newest version, ordered by name (filters and pickers)."""
    newest = select(ProcessDefinition.process_id, func.max(ProcessDefinition.version).label("version")) \
        .group_by(ProcessDefinition.process_id).subquery()
    rows = db.session.execute(select(ProcessDefinition.process_id, ProcessDefinition.name).join(
        newest, (newest.c.process_id == ProcessDefinition.process_id) & (newest.c.version == ProcessDefinition.version))
        .order_by(ProcessDefinition.name))
    return {process_id: name for process_id, name in rows}


def list_versions() -> dict[str, list[VersionSummary]]:
    """Every process with its versions (newest first), who deployed each and its instances by status."""
    definitions = list(db.session.scalars(select(ProcessDefinition).order_by(
        ProcessDefinition.process_id, ProcessDefinition.version.desc())))
    counts: dict[int, dict[str, int]] = {}
    for definition_id, status, count in db.session.execute(
            select(ProcessInstance.definition_id, ProcessInstance.status, func.count())
            .group_by(ProcessInstance.definition_id, ProcessInstance.status)):
        counts.setdefault(definition_id, {})[status] = count
    deployers = {d.deployed_by_id for d in definitions if d.deployed_by_id}
    names: dict[int | None, str] = {
        user_id: name for user_id, name in db.session.execute(select(User.id, User.name).where(User.id.in_(deployers)))}
    grouped: dict[str, list[VersionSummary]] = {}
    for definition in definitions:
        grouped.setdefault(definition.process_id, []).append(VersionSummary(
            definition, names.get(definition.deployed_by_id, "系统（文件部署）"), counts.get(definition.id, {})))
    return grouped


def compare_versions(old: ProcessDefinition, new: ProcessDefinition) -> VersionComparison:
    """Task ids added, removed and changed from `old` to `new`, matched by BPMN id (SpiffWorkflow's SpecDiff)."""
    from SpiffWorkflow.bpmn.util.diff import SpecDiff

    old_spec, new_spec = parsed(old).spec, parsed(new).spec
    old_ids = {str(s.bpmn_id) for s in old_spec.task_specs.values() if s.bpmn_id}
    new_ids = {str(s.bpmn_id) for s in new_spec.task_specs.values() if s.bpmn_id}
    # SpecDiff also pairs differently named tasks by position; the administrator's list goes by id alone.
    diff = SpecDiff(specs.REGISTRY, old_spec, new_spec)
    changed: dict[str, set[str]] = {}
    for task_spec, attributes in diff.changed.items():
        aligned = diff.alignment.get(task_spec)
        if task_spec.bpmn_id and aligned is not None and aligned.name == task_spec.name:
            changed.setdefault(str(task_spec.bpmn_id), set()).update(CHANGE_LABELS.get(a, a) for a in attributes)
    added, removed = sorted(new_ids - old_ids), sorted(old_ids - new_ids)
    return VersionComparison(old, new, added, removed, sorted((k, sorted(v)) for k, v in changed.items()))


def deployed_library() -> dict[str, bytes]:
    """The newest deployed XML of every process: what a diagram saved in the browser may call."""
    newest = (select(ProcessDefinition.process_id, func.max(ProcessDefinition.version).label("version"))
              .group_by(ProcessDefinition.process_id).subquery())
    rows = db.session.execute(select(ProcessDefinition.process_id, ProcessDefinition.xml).join(
        newest, (ProcessDefinition.process_id == newest.c.process_id)
        & (ProcessDefinition.version == newest.c.version)))
    return {process_id: xml.encode("utf-8") for process_id, xml in rows}


def screen_diagram(xml: bytes) -> str:
    """Refuse what must never reach the parser; returns the id of the diagram's one process."""
    if len(xml) > MAX_DIAGRAM_BYTES:
        raise InvalidInput(f"流程图大小 {len(xml) / 1024 / 1024:.1f} MB，超过 2 MB 上限", field="xml")
    if not xml.strip():
        raise InvalidInput("流程图内容为空", field="xml")
    root = specs.read_diagram(xml)  # DOCTYPE / ENTITY / malformed XML
    try:
        xml.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("流程图须为 UTF-8 编码", field="xml") from None
    if root.tag != _BPMN_DEFINITIONS:
        raise InvalidInput("不是 BPMN 2.0 流程图：根元素应为 bpmn:definitions", field="xml")
    processes = root.findall("{http://www.omg.org/spec/BPMN/20100524/MODEL}process")
    if len(processes) != 1:
        raise InvalidInput(f"流程图须恰好包含一个流程，实际为 {len(processes)} 个", field="xml")
    process_id = str(processes[0].get("id") or "")
    if not _PROCESS_ID.match(process_id):
        raise InvalidInput("流程 id 只能由字母、数字和下划线组成，且不以数字开头", field="xml")
    return process_id


def deploy_from_editor(actor: User, process_id: str, xml: bytes, base_hash: str) -> ProcessDefinition:
    """Deploy a diagram saved in the browser as a new version, unless it is stale or has any problem."""
    found_id = screen_diagram(xml)
    current = latest(process_id)
    if current is None:
        raise NotFound(f"流程 {process_id} 不存在")
    if base_hash != current.sha256:
        who = db.session.get(User, current.deployed_by_id) if current.deployed_by_id else None
        raise Conflict(
            f"保存被拒绝：您打开编辑后，流程已被{who.name if who else '系统'}于 {current.deployed_at:%Y-%m-%d %H:%M} "
            f"部署为第 {current.version} 版。您的修改没有覆盖它，请打开最新版本后重新修改")
    if found_id != process_id:
        raise InvalidInput(f"流程 id 不能修改：应为 {process_id}，实际为 {found_id}", field="xml")
    return _deploy_checked(actor, process_id, xml, "editor")


def deploy_upload(actor: User, xml: bytes) -> ProcessDefinition:
    """Deploy an uploaded .bpmn file: a new version of its process, or the first version of a new one."""
    return _deploy_checked(actor, screen_diagram(xml), xml, "upload")


def _deploy_checked(actor: User, process_id: str, xml: bytes, source: str) -> ProcessDefinition:
    lib = {**deployed_library(), process_id: xml}
    problems = checker.check_diagram(xml, f"{process_id}.bpmn", library=lib)
    if problems:
        raise DiagramRejected(problems)
    definition = deploy(process_id, xml, lib, actor, source=source)
    if definition is None:
        raise InvalidInput("流程图与当前最新版本相同，没有需要部署的改动")
    _redeploy_callers(actor, process_id, lib)
    return definition


def _redeploy_callers(actor: User, process_id: str, lib: dict[str, bytes]) -> None:
    # A caller's spec embeds the called process, so callers get a new version too: their *new* instances then
    # run the new called process (DESIGN §2: running instances keep their version).
    for caller_id, caller_xml in sorted(lib.items()):
        if caller_id != process_id and process_id in called_library(caller_id, lib):
            deploy(caller_id, caller_xml, lib, actor, source="cascade")


def editor_options() -> dict[str, object]:
    """What the browser modeler offers in its choice lists: forms, posts, whitelisted functions, processes."""
    from services.workflow.forms import list_form_keys, load_form
    from services.workflow.posts import POSTS
    from services.workflow.scripting import BUSINESS_OPERATIONS, WHITELIST

    return {
        "forms": [{"key": key, "title": load_form(key).title} for key in list_form_keys()],
        "posts": [{"key": key, "title": title} for key, title in POSTS.items()],
        "functions": [{"key": name, "title": BUSINESS_OPERATIONS.get(name, name)} for name in sorted(WHITELIST)],
        "processes": sorted(deployed_library()),
    }
