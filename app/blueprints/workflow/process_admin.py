"""流程管理 (FEATURES P4, P6): process versions, the browser modeler, and the instance console.

Platform administrators only (permission process.admin, scope platform), pages and their JSON API alike.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, Response, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from app.auth import permission_required
from app.extensions import db
from app.models.workflow import ProcessDefinition, ProcessInstance
from app.web import paginate
from services.common.errors import Conflict, InvalidInput, NotFound, ServiceError
from services.workflow import console, definitions, instances, migration

bp = Blueprint("process_admin", __name__, url_prefix="/process-admin")

PERMISSION = "process.admin"
ACTIONS = {"suspend": console.suspend_instance, "resume": console.resume_instance,
           "terminate": console.terminate_instance}


def _problems_json(exc: ServiceError) -> list[dict[str, str]]:
    problems = getattr(exc, "problems", [])
    return [{"element_id": p.element_id, "message": p.message} for p in problems]


def _int_arg(name: str) -> int | None:
    value = request.values.get(name, "")
    return int(value) if value.isdigit() and len(value) < 10 else None


def _date_arg(name: str) -> date | None:
    try:
        return date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None


def _load_instance(instance_id: int) -> ProcessInstance:
    instance = db.session.get(ProcessInstance, instance_id)
    if instance is None:
        raise NotFound("流程实例不存在")
    return instance


# ---------------------------------------------------------------- versions (P4)


@bp.route("/")
@permission_required(PERMISSION)
def index() -> Any:
    return render_template("process_admin/index.html", processes=definitions.list_versions())


@bp.route("/upload", methods=["POST"])
@permission_required(PERMISSION)
def upload() -> Any:
    file = request.files.get("diagram")
    try:
        if file is None or not file.filename:
            raise InvalidInput("请选择要上传的 .bpmn 文件", field="diagram")
        definition = definitions.deploy_upload(current_user, file.stream.read(definitions.MAX_DIAGRAM_BYTES + 1))
    except ServiceError as exc:
        return render_template("process_admin/index.html", processes=definitions.list_versions(),
                               error=exc.message, problems=_problems_json(exc)), exc.status
    db.session.commit()
    flash(f"流程 {definition.process_id} 已部署为第 {definition.version} 版", "success")
    return redirect(url_for("process_admin.index"))


@bp.route("/<process_id>/v<int:version>.bpmn")
@permission_required(PERMISSION)
def download(process_id: str, version: int) -> Any:
    definition = definitions.load_version(process_id, version)
    response = Response(definition.xml, mimetype="application/xml")
    response.headers["Content-Disposition"] = f'attachment; filename="{process_id}_v{version}.bpmn"'
    response.headers["X-Diagram-Sha256"] = definition.sha256
    return response


@bp.route("/<process_id>/compare")
@permission_required(PERMISSION)
def compare(process_id: str) -> Any:
    newest = definitions.latest(process_id)
    if newest is None:
        raise NotFound(f"流程 {process_id} 不存在")
    new = definitions.load_version(process_id, _int_arg("to") or newest.version)
    old = definitions.load_version(process_id, _int_arg("from") or max(new.version - 1, 1))
    versions = definitions.list_versions()[process_id]
    return render_template("process_admin/compare.html", comparison=definitions.compare_versions(old, new),
                           process_id=process_id, versions=versions)


@bp.route("/<process_id>/v<int:version>/edit")
@permission_required(PERMISSION)
def modeler(process_id: str, version: int) -> Any:
    definition = definitions.load_version(process_id, version)
    return render_template("process_admin/modeler.html", definition=definition,
                           newest=definitions.latest(process_id), options=definitions.editor_options())


@bp.route("/<process_id>/deploy", methods=["POST"])
@permission_required(PERMISSION)
def deploy(process_id: str) -> Any:
    """JSON API of the modeler: {xml, base_hash} → 201 with the new version, 400 with problems, or 409."""
    body = request.get_json(silent=True)
    try:
        if not isinstance(body, dict) or not isinstance(body.get("xml"), str):
            raise InvalidInput("请求须为 JSON：{xml, base_hash}")
        definition = definitions.deploy_from_editor(current_user, process_id, body["xml"].encode("utf-8"),
                                                    str(body.get("base_hash") or ""))
    except ServiceError as exc:
        return jsonify({"error": exc.message, "problems": _problems_json(exc)}), exc.status
    db.session.commit()
    return jsonify({"version": definition.version, "sha256": definition.sha256,
                    "message": f"已部署为第 {definition.version} 版",
                    "edit_url": url_for("process_admin.modeler", process_id=process_id,
                                        version=definition.version)}), 201


@bp.route("/<process_id>/v<int:version>/migrate", methods=["POST"])
@permission_required(PERMISSION)
def migrate_version(process_id: str, version: int) -> Any:
    source = definitions.load_version(process_id, version)
    target = definitions.load_version(process_id, _int_arg("target") or version)
    results = migration.migrate_version(current_user, source, target, request.form.get("reason", ""),
                                        force=request.form.get("force") == "1")
    db.session.commit()
    return render_template("process_admin/migrated.html", source=source, target=target, results=results)


# ---------------------------------------------------------------- instance console (P6)


@bp.route("/instances")
@permission_required(PERMISSION)
def instance_list() -> Any:
    filters = console.InstanceFilters(
        process_id=request.args.get("process_id", "").strip()[:80], version=_int_arg("version"),
        status=request.args.get("status", "") if request.args.get("status") in console.STATUS_LABELS else "",
        business_key=request.args.get("business_key", "").strip()[:100],
        unit=request.args.get("unit", "").strip()[:50], date_from=_date_arg("date_from"),
        date_to=_date_arg("date_to"))
    return render_template("process_admin/instances.html", pagination=paginate(console.search_instances(filters)),
                           filters=filters, processes=definitions.process_names(),
                           statuses=console.STATUS_LABELS)


@bp.route("/instances/<int:instance_id>")
@permission_required(PERMISSION)
def instance_detail(instance_id: int) -> Any:
    instance = _load_instance(instance_id)
    newest = definitions.latest(instance.definition.process_id)
    check = None
    if newest is not None and newest.version > instance.definition.version and instance.status in migration.MIGRATABLE:
        check = migration.check_migration(instance, newest)
    return render_template("process_admin/instance.html", instance=instance,
                           position=console.instance_position(instance), trail=instances.trail(instance.id),
                           labels=instances.ACTION_LABELS, statuses=console.STATUS_LABELS, newest=newest,
                           check=check, newer=_newer_versions(instance.definition))


def _newer_versions(definition: ProcessDefinition) -> list[int]:
    return [v.definition.version for v in definitions.list_versions().get(definition.process_id, [])
            if v.definition.version > definition.version]


@bp.route("/instances/<int:instance_id>/<any(suspend, resume, terminate):operation>", methods=["POST"])
@permission_required(PERMISSION)
def instance_action(instance_id: int, operation: str) -> Any:
    _load_instance(instance_id)
    try:
        ACTIONS[operation](current_user, instance_id, request.form.get("reason", ""))
    except (InvalidInput, Conflict) as exc:
        flash(exc.message, "error")
    else:
        db.session.commit()
        flash(f"已{instances.ACTION_LABELS[operation]}该流程实例", "success")
    return redirect(url_for("process_admin.instance_detail", instance_id=instance_id))


@bp.route("/instances/<int:instance_id>/migrate", methods=["POST"])
@permission_required(PERMISSION)
def instance_migrate(instance_id: int) -> Any:
    instance = _load_instance(instance_id)
    try:
        target = definitions.load_version(instance.definition.process_id, _int_arg("target") or 0)
        migration.migrate_instance(current_user, instance_id, target, request.form.get("reason", ""),
                                   force=request.form.get("force") == "1")
    except (InvalidInput, Conflict, NotFound) as exc:
        flash(exc.message, "error")
    else:
        db.session.commit()
        flash(f"已迁移到第 {target.version} 版", "success")
    return redirect(url_for("process_admin.instance_detail", instance_id=instance_id))
