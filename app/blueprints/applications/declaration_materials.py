"""The declaration's achievements (S 1.2.4.1.1–8) and materials (申报材料需求配置): the applicant's file pages of the
declarations blueprint (its other pages are in declarations.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import flash, redirect, render_template, request, url_for

from app.blueprints.applications.applicant import applicant_required
from app.blueprints.applications.declarations import FORM_PLUMBING, _done, _editable, _me, _refused, bp
from app.extensions import db
from app.models import (
    ActivityAchievement,
    ActivityMaterialRequirement,
    Declaration,
    DeclarationAchievement,
)
from app.web import send_stored
from services.activities.activities import template_config
from services.applications import declarations
from services.common import file_store
from services.common.errors import InvalidInput, NotFound, ServiceError


def _item(declaration: Declaration, item_id: int) -> ActivityAchievement:
    item = next((i for i in declaration.activity.achievements if i.id == item_id), None)
    if item is None:
        raise NotFound("业绩成果项不存在")
    return item


def _template_of(item: ActivityAchievement, wanted: str | None) -> dict[str, Any]:
    code = wanted if wanted in item.templates else item.templates[0]
    return declarations.template(code)


def _attachment_uploads() -> list[tuple[file_store.StoredFile, bytes]]:
    """附件信息: every posted file checked by size and real type; nothing is stored yet."""
    spec = declarations.achievement_file_field()
    uploads = [u for u in request.files.getlist("attachments") if u.filename]
    if len(uploads) > declarations.ACHIEVEMENT_MAX_FILES:
        raise InvalidInput(f"附件信息：每条业绩成果最多 {declarations.ACHIEVEMENT_MAX_FILES} 个附件", field="attachments")
    checked = []
    for upload in uploads:
        content = upload.read()
        checked.append((file_store.check(spec, upload.filename or "", content), content))
    return checked


def _achievement_form(declaration: Declaration, item: ActivityAchievement, template: dict[str, Any],
                      row: Any = None, values: Any = None, exc: ServiceError | None = None) -> Any:
    context = {"declaration": declaration, "item": item, "template": template, "row": row,
               "templates": {t["code"]: t for t in template_config()["templates"]},
               "values": values if values is not None else (row.fields if row is not None else {}),
               "errors": exc.errors if exc else {}, "error": exc.message if exc else "",
               "max_files": declarations.ACHIEVEMENT_MAX_FILES, "max_mb": declarations.ACHIEVEMENT_MAX_MB,
               "file_types": declarations.ACHIEVEMENT_FILE_TYPES}
    return render_template("declarations/achievement_form.html", **context), exc.status if exc else 200


def _save_achievement(own_declaration_id: int, item_id: int | None, achievement_id: int | None) -> Any:
    me, now = _me(), datetime.now()
    declaration = declarations.load_own(me, own_declaration_id)
    row = _own_achievement(declaration, achievement_id) if achievement_id else None
    item = _item(declaration, row.item_id if row is not None else item_id or 0)
    template_code = request.form.get("template_code", "")
    values = {k: v for k, v in request.form.items() if k not in FORM_PLUMBING}
    try:
        declarations.save_achievement(me, declaration, item.id, template_code, values, _attachment_uploads(),
                                      achievement_id, now)
    except ServiceError as exc:
        db.session.rollback()
        declaration = declarations.load_own(me, own_declaration_id)
        row = _own_achievement(declaration, achievement_id) if achievement_id else None
        item = _item(declaration, item.id)
        return _achievement_form(declaration, item, _template_of(item, template_code), row, request.form, exc)
    return _done(own_declaration_id, f"「{item.title}」已保存", f"item-{item.id}")


def _own_achievement(declaration: Declaration, achievement_id: int | None) -> DeclarationAchievement:
    row = next((a for a in declaration.achievements if a.id == achievement_id), None)
    if row is None:
        raise NotFound("业绩成果不存在")
    return row


def _closed(declaration: Declaration) -> Any:
    flash(f"申报当前状态为{declaration.status_label}或已过提交截止时间，不能修改", "warning")
    return redirect(url_for("declarations.detail", own_declaration_id=declaration.id))


@bp.route("/<int:own_declaration_id>/items/<int:item_id>/achievements/new", methods=["GET", "POST"])
@applicant_required
def new_achievement(own_declaration_id: int, item_id: int) -> Any:
    """新增业绩成果信息 in one of the item's 模板类别 (?template=)."""
    if request.method == "POST":
        return _save_achievement(own_declaration_id, item_id, None)
    declaration = declarations.load_own(_me(), own_declaration_id)
    item = _item(declaration, item_id)
    if not _editable(declaration, datetime.now()):
        return _closed(declaration)
    return _achievement_form(declaration, item, _template_of(item, request.args.get("template")))


@bp.route("/<int:own_declaration_id>/achievements/<int:achievement_id>/edit", methods=["GET", "POST"])
@applicant_required
def edit_achievement(own_declaration_id: int, achievement_id: int) -> Any:
    if request.method == "POST":
        return _save_achievement(own_declaration_id, None, achievement_id)
    declaration = declarations.load_own(_me(), own_declaration_id)
    row = _own_achievement(declaration, achievement_id)
    item = _item(declaration, row.item_id)
    if not _editable(declaration, datetime.now()):
        return _closed(declaration)
    return _achievement_form(declaration, item, _template_of(item, request.args.get("template", row.template_code)),
                             row)


@bp.route("/<int:own_declaration_id>/achievements/<int:achievement_id>/delete", methods=["POST"])
@applicant_required
def delete_achievement(own_declaration_id: int, achievement_id: int) -> Any:
    me = _me()
    declaration = declarations.load_own(me, own_declaration_id)
    try:
        declarations.delete_achievement(me, declaration, achievement_id, datetime.now())
    except ServiceError as exc:
        return _refused(own_declaration_id, exc, "achievements")
    return _done(own_declaration_id, "业绩成果已删除", "achievements")


# ---------------------------------------------------------------- 申报材料上传


def _requirement(declaration: Declaration, requirement_id: int) -> ActivityMaterialRequirement:
    found = next((r for r in declaration.activity.material_requirements if r.id == requirement_id), None)
    if found is None:
        raise NotFound("申报材料项不存在")
    return found


@bp.route("/<int:own_declaration_id>/materials/<int:requirement_id>", methods=["POST"])
@applicant_required
def upload_material(own_declaration_id: int, requirement_id: int) -> Any:
    me = _me()
    declaration = declarations.load_own(me, own_declaration_id)
    requirement = _requirement(declaration, requirement_id)
    upload = request.files.get("file")
    try:
        if upload is None or not upload.filename:
            raise InvalidInput(f"{requirement.name}：请选择要上传的文件", field=f"material-{requirement.id}")
        declarations.add_material(me, declaration, requirement.id, upload.filename, upload.read(), datetime.now())
    except ServiceError as exc:
        return _refused(own_declaration_id, exc, "materials")
    return _done(own_declaration_id, f"「{requirement.name}」已上传", "materials")


@bp.route("/<int:own_declaration_id>/materials/<int:requirement_id>/<file_sha256>/delete", methods=["POST"])
@applicant_required
def delete_material(own_declaration_id: int, requirement_id: int, file_sha256: str) -> Any:
    me = _me()
    declaration = declarations.load_own(me, own_declaration_id)
    try:
        declarations.remove_material(me, declaration, requirement_id, file_sha256, datetime.now())
    except ServiceError as exc:
        return _refused(own_declaration_id, exc, "materials")
    return _done(own_declaration_id, "申报材料已删除", "materials")


@bp.route("/<int:own_declaration_id>/files/<file_sha256>")
@applicant_required
def download(own_declaration_id: int, file_sha256: str) -> Any:
    """The applicant's own files only (materials, achievement attachments), never the units' attachments."""
    declaration = declarations.load_own(_me(), own_declaration_id)
    return send_stored(declarations.declaration_file(declaration, file_sha256, with_review=False))


@bp.route("/<int:own_declaration_id>/achievements/<int:achievement_id>/files/<file_sha256>/delete", methods=["POST"])
@applicant_required
def delete_achievement_file(own_declaration_id: int, achievement_id: int, file_sha256: str) -> Any:
    me = _me()
    declaration = declarations.load_own(me, own_declaration_id)
    try:
        declarations.remove_achievement_attachment(me, declaration, achievement_id, file_sha256, datetime.now())
    except ServiceError as exc:
        return _refused(own_declaration_id, exc, "achievements")
    return _done(own_declaration_id, "附件已删除", "achievements")


# ---------------------------------------------------------------- 提交 / 重新提交
