"""Versioned process definitions (DESIGN §2 "Definitions are versioned rows").

Files in bpmn/ are deployed when their hash (the diagram plus the diagrams its call activities use)
changes; each deployment is a new version whose parsed spec is serialized once. Running instances keep
the version they started on; new instances start on the newest.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from app.extensions import db
from app.models import User
from app.models.workflow import ProcessDefinition
from services import audit_log
from services.errors import NotFound
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


def latest(process_id: str) -> ProcessDefinition | None:
    return db.session.scalar(
        select(ProcessDefinition).where(ProcessDefinition.process_id == process_id)
        .order_by(ProcessDefinition.version.desc()).limit(1)
    )


def deploy(process_id: str, xml: bytes, lib: dict[str, bytes], actor: User | None = None,
           source: str = "file") -> ProcessDefinition | None:
    """Deploy `xml` as a new version unless the newest version has the same hash; None when unchanged."""
    sha = specs.source_sha256(xml, called_library(process_id, {**lib, process_id: xml}))
    current = latest(process_id)
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


def parsed(definition: ProcessDefinition) -> specs.ParsedProcess:
    # spec_blob is a deferred column: it is read from the database only when this process has no cached spec.
    return specs.load_spec_cached(lambda: definition.spec_blob, definition.sha256)
