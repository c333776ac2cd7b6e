"""Web plumbing shared by the blueprints: error pages, template globals, paging, form input, downloads."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter, Map

from app.navigation import build_menu
from services.applications.application_queries import shown_value
from services.authz import access
from services.common.errors import InvalidInput, ServiceError
from services.reference.validation import mask_id_number

HTTP_MESSAGES = {
    400: "请求有误",
    403: "无权访问此页面或执行此操作",
    404: "页面或记录不存在",
    405: "不支持的请求方式",
    409: "操作冲突，请刷新后重试",
    413: "上传的文件过大",
}



# Scripts only from this site's own files: no inline <script>, no on* attributes, no eval (htmx and bpmn-js run
# under it; tests/browser/test_csp.py). Styles keep 'unsafe-inline': templates and bpmn-js set style attributes,
# which cannot run code. Images allow data:/blob: for the diagram export; frames only from this site.
CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'", "script-src 'self'", "style-src 'self' 'unsafe-inline'", "img-src 'self' data: blob:",
    "font-src 'self' data:", "connect-src 'self'", "object-src 'none'", "base-uri 'self'", "form-action 'self'",
    "frame-ancestors 'self'"))

def client_ip() -> str:
    return request.remote_addr or ""


def wants_json() -> bool:
    return request.is_json or request.accept_mimetypes.best == "application/json" or request.path.startswith("/api/")


def form_input(*list_fields: str) -> dict[str, Any]:
    """request.form as a dict; the named fields keep every value (multi-selects, checkboxes)."""
    data: dict[str, Any] = request.form.to_dict()
    for name in list_fields:
        data[name] = request.form.getlist(name)
    return data


def error_response(status: int, message: str, errors: dict[str, list[str]] | None = None) -> Any:
    if wants_json():
        return jsonify({"error": message, "errors": errors or {}}), status
    return render_template("errors/error.html", status=status, message=message, errors=errors or {}), status


def render_form(template: str, exc: ServiceError, **context: Any) -> Any:
    """Re-render a form with the service's messages beside the fields; nothing was committed."""
    return render_template(template, errors=exc.errors, error=exc.message, values=request.form, **context), exc.status


def paginate(stmt: Any, per_page: int | None = None) -> Any:
    from app.extensions import db

    page = request.args.get("page", 1, type=int) or 1
    size = per_page or request.args.get("per_page", 20, type=int) or 20
    return db.paginate(stmt, page=max(page, 1), per_page=min(max(size, 1), 100), error_out=False)


def xlsx_response(content: bytes, filename: str) -> Response:
    from urllib.parse import quote

    response = Response(content, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return response


def export_job(kind: str, title: str, params: dict[str, Any]) -> Response:
    """An export too large for a request (more than EXPORT_INLINE_ROWS rows) runs as a background job; the person
    goes to its page, which shows the progress and then offers the file."""
    from flask import flash, redirect, url_for

    from services.jobs import start_job

    job = start_job(current_user, kind, title, params)
    flash("数据较多，已转为后台任务导出：完成后在本页下载（也可在“我的任务”中查看）", "info")
    return redirect(url_for("jobs.detail", job_id=job.id))


def date_input(raw: str | None, name: str, label: str) -> date | None:
    """A YYYY-MM-DD form or query value, None when blank; anything else is a 400 naming the field."""
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(f"{label}：日期格式应为 YYYY-MM-DD", field=name) from None


STORED_MIMETYPES = {"pdf": "application/pdf", "jpg": "image/jpeg", "png": "image/png",
                    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def send_stored(record: dict[str, Any], missing: str = "文件不存在，请联系管理员") -> Response:
    """Download a file kept by services.common.file_store, described by its {sha256, filename, file_type} record.
    The caller has checked that the user may see the record it comes from; never cached by the browser."""
    from flask import send_file

    from services.common import file_store
    from services.common.errors import NotFound

    path = file_store.path_for(str(record.get("sha256") or ""))
    if not path.is_file():
        raise NotFound(missing)
    file_type = str(record.get("file_type"))
    # PDFs and images open in the browser, other files download; both under the real name (RFC 6266 filename*,
    # which werkzeug writes for non-ASCII names). The type was checked by content at upload, and nosniff holds.
    inline = file_type in INLINE_TYPES
    response = send_file(path, mimetype=STORED_MIMETYPES.get(file_type, "application/octet-stream"),
                         as_attachment=not inline, download_name=str(record.get("filename") or "附件"), max_age=0)
    if inline:
        response.headers["Content-Security-Policy"] = INLINE_FILE_POLICY  # the viewer may render; nothing runs
    return response


INLINE_TYPES = frozenset({"pdf", "jpg", "png"})
INLINE_FILE_POLICY = "default-src 'none'; img-src 'self' data:; object-src 'self'; style-src 'unsafe-inline'"


MAX_ROW_ID = 2**31 - 1  # the largest key an INTEGER column holds on PostgreSQL


class RowIdConverter(IntegerConverter):
    """`<int:…>` in every route: an id no row can have is a 404 from the router, before a database driver
    overflows on it (10**20 made SQLite raise OverflowError → 500)."""

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ROW_ID)
        super().__init__(map, *args, **kwargs)


def init_app(app: Flask) -> None:
    app.url_map.converters["int"] = RowIdConverter

    @app.errorhandler(ServiceError)
    def _service_error(exc: ServiceError) -> Any:
        return error_response(exc.status, exc.message, exc.errors)

    @app.errorhandler(CSRFError)
    def _csrf_error(exc: CSRFError) -> Any:
        return error_response(400, "表单已过期或缺少安全校验（CSRF），请刷新页面后重新提交")

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Any:
        status = exc.code or 500
        return error_response(status, HTTP_MESSAGES.get(status, exc.description or "出错了"))

    @app.after_request
    def _security_headers(response: Response) -> Response:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response

    @app.context_processor
    def _template_globals() -> dict[str, Any]:
        menu = build_menu(current_user) if current_user.is_authenticated else []
        return {
            "menu": menu,
            "can": lambda code, unit=None: access.has_permission(current_user, code, unit),
        }

    app.jinja_env.filters["mask_id"] = lambda v: mask_id_number(v) if v else ""
    app.jinja_env.filters["dt"] = lambda v: v.strftime("%Y-%m-%d %H:%M") if v else ""
    app.jinja_env.filters["shown"] = lambda v, unit="": shown_value(v, unit or "")


def checked_uploads(name: str, spec: Any) -> list[tuple[dict[str, Any], bytes]]:
    """The files of form field `name` checked against `spec` (size, real type), nothing stored yet: (record, content)
    pairs, the record being what services keep ({sha256, filename, size, file_type}). Store them with
    `store_uploads` once the service accepted the request, so a refused one leaves no file behind."""
    from services.common import file_store

    kept = []
    for upload in request.files.getlist(name):
        if not upload or not upload.filename:
            continue
        content = upload.read()
        checked = file_store.check(spec, upload.filename, content)
        kept.append(({"sha256": checked.sha256, "filename": checked.filename, "size": checked.size,
                      "file_type": checked.file_type}, content))
    return kept


def store_uploads(files: list[tuple[dict[str, Any], bytes]]) -> None:
    from services.common import file_store

    for record, content in files:
        file_store.store(file_store.StoredFile(record["sha256"], record["filename"], record["size"],
                                               record["file_type"]), content)
