"""待办事项 (S 1.2.1; FEATURES P2, B5, M1): 待办 / 已办, the task page, batch review, 常用意见, 查看经办流程.

Contract other areas rely on: `POST /inbox/tasks/<id>` with `decision` (pass/return/reject), `opinion` and
optional `return_to` (empty on generic tasks: they return to their submitter) completes the task and answers 302 to /inbox/; bad input 400 (the page again, with the
messages beside the fields), not a candidate 403, unknown id 404, already handled 409 naming who handled it.

Business records are shown beside the form by the area that owns them: it calls `register_record_view` with a
loader returning template context, rendered by `inbox/records/<business_type>.html` (else a generic panel).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_login import current_user
from jinja2 import Template
from markupsafe import Markup

from app.auth import permission_required
from app.extensions import db
from app.models import HumanTask, ProcessInstance
from app.web import date_input, error_response
from services.common import file_store, opinions
from services.common.errors import Conflict, InvalidInput, NotFound
from services.workflow import diagrams, forms, inbox, inbox_batch, instances

bp = Blueprint("inbox", __name__, url_prefix="/inbox")


RecordLoader = Callable[[ProcessInstance], dict[str, Any]]
_RECORD_VIEWS: dict[str, RecordLoader] = {}
_SAFE_TYPE = re.compile(r"^[a-z0-9_]+$")
_POSITIVE = re.compile(r"^[1-9][0-9]{0,11}$")
KEYWORD_MAX = 50


def register_record_view(business_type: str, loader: RecordLoader) -> None:
    """Show `business_type`'s record on its task pages: `loader(instance)` gives the template's context."""
    _RECORD_VIEWS[business_type] = loader


TaskPage = Callable[[HumanTask], str]
_TASK_PAGES: dict[str, TaskPage] = {}


def register_task_page(business_type: str, page: TaskPage) -> None:
    """Open `business_type`'s tasks on the area's own page: `page(task)` gives its URL (GET /inbox/tasks/<id>
    redirects there once the task is found visible to the user)."""
    _TASK_PAGES[business_type] = page


_LIST_MARKS: dict[str, Mapping[str, str]] = {}


def register_list_marks(business_type: str, labels: Mapping[str, str]) -> None:
    """Mark `business_type`'s rows in the 待办 list: the value its mark column reads (services.workflow.inbox.
    register_mark) → the short label shown (复审 …); values without a label show none."""
    _LIST_MARKS[business_type] = labels


def _marks(items: list[inbox.InboxItem]) -> dict[int, str]:
    """Task id → its record's mark, from the values the list's own statement read."""
    marks: dict[int, str] = {}
    for item in items:
        label = _LIST_MARKS.get(item.business_type, {}).get(item.mark or "")
        if label:
            marks[item.id] = label
    return marks


def _record_panel(detail: inbox.TaskDetail) -> Markup:
    instance = detail.instance
    context: dict[str, Any] = {"instance": instance, "unit": detail.unit,
                               "business_type_name": detail.business_type_name, "record_missing": False}
    loader = _RECORD_VIEWS.get(instance.business_type)
    if loader is not None:
        try:
            context.update(loader(instance))
        except NotFound:  # the record was removed after the task was created; the task itself still shows
            context["record_missing"] = True
    names: list[str | Template] = ["inbox/records/_generic.html"]
    if loader is not None and _SAFE_TYPE.match(instance.business_type):
        names.insert(0, f"inbox/records/{instance.business_type}.html")
    return Markup(render_template(names, **context))


# --- query-string input ----------------------------------------------------------------------------------

def _date_arg(name: str, label: str) -> date | None:
    return date_input(request.args.get(name), name, label)


def _int_arg(name: str, label: str, default: int | None) -> int | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return default
    if not _POSITIVE.match(raw):
        raise InvalidInput(f"{label}：必须是正整数", field=name)
    if int(raw) > inbox.MAX_ID:
        raise InvalidInput(f"{label}：超出范围", field=name)
    return int(raw)


def _list_query() -> tuple[inbox.Tab, inbox.InboxFilters, int, int]:
    """tab, filters, page and page size from the query string; a bad value answers 400 naming the field."""
    raw_tab = request.args.get("tab", "todo") or "todo"
    if raw_tab not in inbox.TABS:
        raise InvalidInput("标签页：只能是待办或已办", field="tab")
    tab: inbox.Tab = "done" if raw_tab == "done" else "todo"
    business_type = request.args.get("business_type", "").strip()
    if business_type and business_type not in inbox.filter_types():
        raise InvalidInput("业务类型：选项无效", field="business_type")
    keyword = request.args.get("keyword", "").strip()
    if len(keyword) > KEYWORD_MAX:
        raise InvalidInput(f"关键字：不能超过 {KEYWORD_MAX} 个字", field="keyword")
    created_from, created_to = _date_arg("created_from", "接收日期起"), _date_arg("created_to", "接收日期止")
    if created_from and created_to and created_from > created_to:
        raise InvalidInput("接收日期：开始日期不能晚于结束日期", field="created_from")
    filters = inbox.InboxFilters(business_type, keyword, _int_arg("unit_id", "单位", None), created_from, created_to)
    page = _int_arg("page", "页码", 1) or 1
    per_page = min(_int_arg("per_page", "每页条数", 20) or 20, inbox.MAX_PER_PAGE)
    return tab, filters, page, per_page


# --- lists -----------------------------------------------------------------------------------------------

@bp.route("/")
@permission_required("inbox.view")
def index() -> Any:
    tab, filters, page, per_page = _list_query()
    counts = inbox.tab_counts(current_user)
    listed = inbox.inbox_page(current_user, tab, filters, page, per_page, counts)
    return render_template(
        "inbox/index.html", tab=tab, filters=filters, page=listed, marks=_marks(listed.items) if tab == "todo" else {},
        counts=counts, type_names=inbox.business_type_names(), filter_types=inbox.filter_types(),
        units=inbox.unit_filter_choices(current_user), opinions=opinions.list_opinions(current_user),
        count_label=inbox.count_label, batch_options=_batch_options(),
    )


def _batch_options() -> list[tuple[str, str]]:
    return [(value, f"批量{instances.ACTION_LABELS[value].removeprefix('审核')}") for value in inbox.BATCH_DECISIONS]


@bp.route("/batch", methods=["POST"])
@permission_required("inbox.view")
def batch() -> Any:
    ids = inbox.batch_task_ids(request.form.getlist("task_ids"))
    job = inbox_batch.start_batch(current_user, ids, request.form.get("decision", ""),
                                  request.form.get("opinion", "").strip())
    return redirect(url_for("inbox.batch_result", inbox_job_id=job.id))


@bp.route("/batch/<int:inbox_job_id>")
@permission_required("inbox.view")
def batch_result(inbox_job_id: int) -> Any:
    """The batch's progress (htmx refreshes it until the job ends), then each task's outcome."""
    job = inbox_batch.load_batch(current_user, inbox_job_id)
    outcomes = inbox_batch.outcomes(current_user, job) if job.finished else []
    return render_template("inbox/batch_result.html", job=job, outcomes=outcomes,
                           decision_label=inbox_batch.decision_label(job))


# --- the task page ---------------------------------------------------------------------------------------

def _render_task(detail: inbox.TaskDetail, errors: dict[str, list[str]] | None = None, error: str = "",
                 values: Any = None, status: int = 200) -> Any:
    mark = diagrams.current_element(detail.instance.definition, detail.task.bpmn_id)
    # 审核结果 is chosen with its buttons (审核通过 / 审核退回 / 审核不通过), not a drop-down.
    decision = next((spec for spec in detail.form.fields if spec.name == "decision" and spec.choices), None)
    return render_template(
        "inbox/task.html", detail=detail, task=detail.task, form=detail.form, record_panel=_record_panel(detail),
        trail=detail.trail,
        errors=errors or {}, error=error, values=values or {}, mark=mark,
        opinions=opinions.list_opinions(current_user), action_labels=instances.ACTION_LABELS,
        return_target_label=f"提交单位（{detail.unit.name if detail.unit else '申请人'}）修改后重新提交",
        decision_options=[(c.value, c.label) for c in decision.choices] if decision else [],
    ), status


@bp.route("/tasks/<int:task_id>")
@permission_required("inbox.view")
def task(task_id: int) -> Any:
    # 申报材料审核 needs more than the task's form (公示, 附件, 委托评审): its tasks open on the area's 审核 page,
    # after the same 404 / 403 checks as here.
    found = instances.load_task_for(current_user, task_id)
    page = _TASK_PAGES.get(found.business_type)
    if page is not None:
        return redirect(page(found))
    return _render_task(inbox.task_detail(current_user, found))


@bp.route("/tasks/<int:task_id>/diagram.xml")
@permission_required("inbox.view")
def diagram(task_id: int) -> Response:
    task = instances.load_task_for(current_user, task_id)
    return Response(task.instance.definition.xml, mimetype="application/xml")


@bp.route("/tasks/<int:task_id>", methods=["POST"])
@permission_required("inbox.view")
def complete(task_id: int) -> Any:
    # The instance locked with the task's read (one statement on PostgreSQL): completing it reads nothing again.
    task = instances.lock_task(current_user, task_id)
    own_page = task.business_type in _TASK_PAGES
    form = forms.load_form(task.form_key)
    try:
        uploads = _checked_uploads(form)
        data = _posted_data(form, uploads)
        if data.get("return_to") and not own_page:
            # A generic review returns to its submitter only: 退回至 lists that one target (value "").
            raise InvalidInput("退回至：请从列表中选择", field="return_to")
        instances.complete_posted_task(current_user, task.id, data)
        for checked, content in uploads.values():
            file_store.store(checked, content)
    except Conflict as exc:
        db.session.rollback()
        message = inbox.conflict_message(task_id, exc)
        if own_page:
            return error_response(409, message)
        # The task page as it stands now: who handled it and the trail, or the form again after a busy lock.
        return _render_task(inbox.open_task(current_user, task_id), error=message, values=request.form, status=409)
    except InvalidInput as exc:
        db.session.rollback()  # the task page's context is loaded only to show the form again
        return _render_task(inbox.open_task(current_user, task_id), exc.errors, exc.message, request.form,
                            exc.status)
    done = f"已办理「{task.title}」：{instances.ACTION_LABELS.get(task.decision, '提交')}"  # not re-read after commit
    db.session.commit()
    flash(done, "success")
    return redirect(url_for("inbox.index"))


def _checked_uploads(form: forms.FormDefinition) -> dict[str, tuple[file_store.StoredFile, bytes]]:
    """The posted files, each checked against its field by size and real type; nothing is stored yet."""
    file_fields = {spec.name: spec for spec in form.fields if spec.type == "file"}
    checked: dict[str, tuple[file_store.StoredFile, bytes]] = {}
    for name, upload in request.files.items(multi=True):
        if name not in file_fields:
            raise InvalidInput(f"未知字段：{name}" if name not in {f.name for f in form.fields}
                               else f"{form.field(name).label}：不接受文件", field=name)
        if upload.filename:
            content = upload.read()
            checked[name] = (file_store.check(file_fields[name], upload.filename, content), content)
    return checked


def _posted_data(form: forms.FormDefinition, uploads: dict[str, tuple[file_store.StoredFile, bytes]]
                 ) -> dict[str, Any]:
    """The form's fields as posted: lists for 多选, the stored file's hash for 附件 (never a posted string)."""
    data: dict[str, Any] = {k: v for k, v in request.form.items() if k != "csrf_token"}
    for spec in form.fields:
        if spec.type == "multichoice" and spec.name in request.form:
            data[spec.name] = request.form.getlist(spec.name)
        if spec.type == "file":
            data.pop(spec.name, None)
            if spec.name in uploads:
                data[spec.name] = uploads[spec.name][0].sha256
    return data


# --- 查看经办流程 ------------------------------------------------------------------------------------------

@bp.route("/instances/<int:instance_id>/trail")
@permission_required("inbox.view")
def trail(instance_id: int) -> Any:
    instance = inbox.trail_instance_for(current_user, instance_id)
    return render_template("inbox/trail.html", instance=instance, trail=instances.trail(instance.id),
                           action_labels=instances.ACTION_LABELS,
                           business_type_name=inbox.business_type_names().get(instance.business_type,
                                                                             instance.business_type))


# --- 常用意见设置 ------------------------------------------------------------------------------------------

@bp.route("/opinions", methods=["GET", "POST"], endpoint="opinions")
@permission_required("inbox.view")
def opinion_settings() -> Any:
    if request.method == "POST":
        try:
            opinions.add_opinion(current_user, request.form.get("text", ""))
        except InvalidInput as exc:
            db.session.rollback()
            return render_template("inbox/opinions.html", opinions=opinions.list_opinions(current_user),
                                   errors=exc.errors, error=exc.message, values=request.form), exc.status
        db.session.commit()
        flash("已新增常用意见", "success")
        return redirect(url_for("inbox.opinions"))
    return render_template("inbox/opinions.html", opinions=opinions.list_opinions(current_user), errors={},
                           values={})


@bp.route("/opinions/<int:opinion_id>/edit", methods=["POST"])
@permission_required("inbox.view")
def edit_opinion(opinion_id: int) -> Any:
    opinions.update_opinion(current_user, opinion_id, request.form.get("text", ""))
    db.session.commit()
    flash("已保存常用意见", "success")
    return redirect(url_for("inbox.opinions"))


@bp.route("/opinions/<int:opinion_id>/delete", methods=["POST"])
@permission_required("inbox.view")
def delete_opinion(opinion_id: int) -> Any:
    opinions.delete_opinion(current_user, opinion_id)
    db.session.commit()
    flash("已删除常用意见", "success")
    return redirect(url_for("inbox.opinions"))


@bp.route("/opinions/<int:opinion_id>/move", methods=["POST"])
@permission_required("inbox.view")
def move_opinion(opinion_id: int) -> Any:
    opinions.move_opinion(current_user, opinion_id, request.form.get("direction", ""))
    db.session.commit()
    return redirect(url_for("inbox.opinions"))
