"""待办事项 in the browser (FEATURES P2, B5, M1; S 1.2.1, S 1.2.3.1): lists, counts, filters, paging, the task page,
completing a task, batch review, 常用意见 and 查看经办流程 — driven through real unit_review flows."""

from __future__ import annotations

import itertools
import json
import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import delete, event, func, select

from app.blueprints.workflow import inbox as inbox_views
from app.extensions import db
from app.models import CommonOpinion, HumanTask, Job, JobItem, ProcessInstance, WorkflowEvent
from services.workflow import forms, inbox, instances
from services.workflow.scripting import WHITELIST

PASSWORD = "Passw0rd2026"  # tests/conftest.py

PDF = b"%PDF-1.4\n" + b"0" * 200 + b"\n%%EOF"
PNG = b"\x89PNG\r\n\x1a\n" + b"0" * 200
_ids = itertools.count(9000)
CALLS: list[tuple[str, dict[str, Any]]] = []


@pytest.fixture(autouse=True)
def operations_and_views(monkeypatch: pytest.MonkeyPatch) -> None:
    """Business operations record their calls; record views start empty (the generic panel), per test."""
    CALLS.clear()
    functions = dict(WHITELIST._functions)
    for name in ("apply_superior_change", "reject_superior_change", "approve_unit_registration",
                 "reject_unit_registration"):
        functions[name] = lambda _name=name, **kwargs: CALLS.append((_name, kwargs)) or json.dumps({"ok": True})
    monkeypatch.setattr(WHITELIST, "_functions", functions)
    monkeypatch.setattr(inbox_views, "_RECORD_VIEWS", {})


def start(kind: str, unit: Any, reviewer_unit: Any, title: str, levels: tuple[int, ...] = (1,)) -> ProcessInstance:
    business_id = next(_ids)
    key = "change_request_id" if kind == "unit_superior_change" else "registration_id"
    return instances.start_process(kind, kind, business_id, title, unit.id,
                                   {key: business_id, "levels": list(levels), "reviewing_unit_id": reviewer_unit.id},
                                   None)


def open_task_of(instance: ProcessInstance) -> HumanTask:
    return db.session.scalar(select(HumanTask).where(HumanTask.instance_id == instance.id,
                                                     HumanTask.status == "open"))


def signed_in(app: Any, user: Any) -> FlaskClient:
    client = app.test_client()
    response = client.post("/login", data={"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    return client


def events(instance: ProcessInstance) -> int:
    return db.session.scalar(select(func.count()).where(WorkflowEvent.instance_id == instance.id))


def html(response: Any) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def org(make_unit, make_user) -> dict[str, Any]:
    """乐山 reviews its subordinates' requests; 成都 is another tree with its own reviewer."""
    leshan = make_unit(unit_type="hr", name="乐山市人社局")
    hospital = make_unit(parent=leshan, name="乐山市人民医院")
    school = make_unit(parent=leshan, name="乐山一中")
    chengdu = make_unit(unit_type="hr", name="成都市人社局")
    chengdu_unit = make_unit(parent=chengdu, name="成都某医院")
    perms = ["inbox.view", "registration.review"]
    return {
        "leshan": leshan, "hospital": hospital, "school": school, "chengdu": chengdu, "chengdu_unit": chengdu_unit,
        "reviewer": make_user(leshan, permissions=perms, name="王审核"),
        "colleague": make_user(leshan, permissions=perms, name="李同事"),
        "outsider": make_user(chengdu, permissions=perms, name="成都审核员"),
        "viewer": make_user(leshan, permissions=["inbox.view"], name="只读员工"),
    }


# --- lists, counts, filters, paging ---------------------------------------------------------------------

def test_todo_list_and_counts_per_business_type(app, org):
    start("unit_superior_change", org["hospital"], org["leshan"], "医院变更上级单位")
    start("unit_superior_change", org["school"], org["leshan"], "一中变更上级单位")
    start("unit_registration", org["school"], org["leshan"], "新单位注册申请")
    start("unit_registration", org["chengdu_unit"], org["chengdu"], "成都注册申请")
    client = signed_in(app, org["reviewer"])

    page = html(client.get("/inbox/"))

    assert "医院变更上级单位" in page and "新单位注册申请" in page
    assert "成都注册申请" not in page, "another unit's tasks never show"
    assert 'data-testid="count-todo">3<' in page and 'data-testid="count-done">0<' in page
    assert "变更上级单位审核" in page and "单位注册审核" in page
    filtered = html(client.get("/inbox/?business_type=unit_registration"))
    assert "新单位注册申请" in filtered and "医院变更上级单位" not in filtered
    home = html(client.get("/"))
    assert "/inbox/?business_type=unit_superior_change" in home and "变更上级单位审核" in home


def test_counts_past_the_cap_and_tasks_of_no_listed_type(app, org, monkeypatch: pytest.MonkeyPatch):
    """A type over the cap makes the total "cap+" without counting again; under it, the total counts every task,
    a type missing from audit_items.yaml's list included (issue 20: tab counts in one cheap statement)."""
    monkeypatch.setattr(inbox, "COUNT_CAP", 2)
    inbox._tab_counts_statement.cache_clear()
    try:
        start("unit_registration", org["school"], org["leshan"], "注册一")
        start("unit_superior_change", org["hospital"], org["leshan"], "变更一")
        counts = inbox.tab_counts(org["reviewer"])
        assert (counts["todo"], counts["todo_total"]) == ({"unit_registration": 1, "unit_superior_change": 1}, 2)
        monkeypatch.setattr(inbox, "filter_types", lambda: {"unit_registration": "单位注册审核"})
        inbox._tab_counts_statement.cache_clear()
        assert inbox.tab_counts(org["reviewer"])["todo_total"] == 2, "an unlisted type still counts in the total"
        for n in range(2):
            start("unit_registration", org["school"], org["leshan"], f"注册{n + 2}")
        counts = inbox.tab_counts(org["reviewer"])
        assert (counts["todo"], counts["todo_total"]) == ({"unit_registration": 3}, 3), "capped: cap + 1"
    finally:
        inbox._tab_counts_statement.cache_clear()


def test_a_list_past_the_cap_pages_on_to_its_last_row(app, org, monkeypatch: pytest.MonkeyPatch):
    """Past COUNT_CAP the total says "cap+" and the page number stands alone; 下一页 stays as long as rows follow
    (read as one row past the page), so every task can still be reached page by page."""
    monkeypatch.setattr(inbox, "COUNT_CAP", 2)
    inbox._tab_counts_statement.cache_clear()
    try:
        for n in range(4):
            start("unit_registration", org["school"], org["leshan"], f"注册{n}")
        client = signed_in(app, org["reviewer"])
        seen = []
        for number in range(1, 5):
            page = html(client.get(f"/inbox/?per_page=1&page={number}"))
            seen += [f"注册{n}" for n in range(4) if f">注册{n}<" in page]
            assert f'data-testid="page-info">共 2+ 条，第 {number} 页<' in page
            next_link = re.search(r'<li class="page-item ?(disabled)?"><a class="page-link" href="([^"]*)">下一页', page)
            assert next_link is not None
            if number < 4:
                assert next_link[1] is None and f"page={number + 1}" in next_link[2]
            else:
                assert next_link[1] == "disabled", "the last row is on this page"
        assert seen == [f"注册{n}" for n in (3, 2, 1, 0)], "each task on one page, newest first"
        under = html(client.get("/inbox/?per_page=4"))
        assert 'data-testid="page-info">共 2+ 条，第 1 页<' in under and ">注册0<" in under
    finally:
        inbox._tab_counts_statement.cache_clear()


def test_done_tab_lists_what_the_user_handled(app, org):
    instance = start("unit_superior_change", org["hospital"], org["leshan"], "医院变更上级单位")
    instances.complete_human_task(org["reviewer"], open_task_of(instance).id, {"decision": "pass", "opinion": "同意"})
    client = signed_in(app, org["reviewer"])

    done = html(client.get("/inbox/?tab=done"))
    todo = html(client.get("/inbox/?tab=todo"))

    assert "医院变更上级单位" in done and "审核通过" in done and 'data-testid="count-done">1<' in done
    assert "医院变更上级单位" not in todo.split('data-testid="inbox-table"')[1]


def test_filters_keyword_unit_and_dates(app, org):
    old = start("unit_superior_change", org["hospital"], org["leshan"], "医院变更上级单位")
    start("unit_superior_change", org["school"], org["leshan"], "一中变更上级单位")
    open_task_of(old).created_at = datetime.now() - timedelta(days=30)
    db.session.flush()
    client = signed_in(app, org["reviewer"])
    today = datetime.now().date().isoformat()

    by_keyword = html(client.get("/inbox/?keyword=一中"))
    by_unit = html(client.get(f"/inbox/?unit_id={org['hospital'].id}"))
    recent = html(client.get(f"/inbox/?created_from={today}&created_to={today}"))

    assert "一中变更上级单位" in by_keyword and "医院变更上级单位" not in by_keyword
    assert "医院变更上级单位" in by_unit and "一中变更上级单位" not in by_unit
    assert "一中变更上级单位" in recent and "医院变更上级单位" not in recent


@pytest.mark.parametrize(("query", "field"), [
    ("tab=mine", "标签页"), ("business_type=nonsense", "业务类型"), ("keyword=" + "长" * 51, "关键字"),
    ("unit_id=abc", "单位"), ("created_from=2024-13-01", "接收日期起"), ("created_to=yesterday", "接收日期止"),
    ("created_from=2024-05-02&created_to=2024-05-01", "接收日期"), ("page=0", "页码"), ("per_page=-5", "每页条数"),
])
def test_bad_filters_answer_400_naming_the_field(app, org, query, field):
    client = signed_in(app, org["reviewer"])

    response = client.get(f"/inbox/?{query}")

    assert response.status_code == 400
    assert field in html(response)


def test_paging_is_server_side_and_capped(app, org):
    for n in range(3):
        start("unit_superior_change", org["hospital"], org["leshan"], f"变更申请{n}")
    client = signed_in(app, org["reviewer"])

    first = html(client.get("/inbox/?per_page=2"))
    second = html(client.get("/inbox/?per_page=2&page=2"))
    capped = client.get("/inbox/?per_page=100000")

    assert first.count('name="task_ids"') == 2 and second.count('name="task_ids"') == 1
    assert "共 3 条，第 1 / 2 页" in first
    assert capped.status_code == 200 and "共 3 条，第 1 / 1 页" in html(capped)


# --- the task page --------------------------------------------------------------------------------------

def test_task_page_shows_record_form_trail_and_diagram(app, org):
    instance = start("unit_superior_change", org["hospital"], org["leshan"], "医院变更上级单位")
    task = open_task_of(instance)
    client = signed_in(app, org["reviewer"])

    page = html(client.get(f"/inbox/tasks/{task.id}"))
    diagram = client.get(f"/inbox/tasks/{task.id}/diagram.xml")

    assert 'data-testid="record-generic"' in page and "乐山市人民医院" in page
    assert 'name="opinion"' in page and 'value="pass"' in page and 'value="return"' in page and 'value="reject"' in page
    assert "常用意见" in page and "退回至" in page
    trail = page.split('data-testid="trail"')[1]
    assert "发起" in trail and "系统" in trail
    assert f'data-xml-url="/inbox/tasks/{task.id}/diagram.xml"' in page
    assert diagram.status_code == 200 and diagram.mimetype == "application/xml"
    assert b"unit_superior_change" in diagram.data


def test_task_page_marks_the_call_activity_reaching_the_review(app, org):
    from services.workflow import diagrams

    instance = start("unit_superior_change", org["hospital"], org["leshan"], "医院变更上级单位")
    task = open_task_of(instance)
    mark = diagrams.current_element(instance.definition, task.bpmn_id)
    client = signed_in(app, org["reviewer"])

    page = html(client.get(f"/inbox/tasks/{task.id}"))

    assert mark.element_id and mark.called_process_id == "unit_review"
    assert f'data-mark="{mark.element_id}"' in page and 'data-mark-class="task-current"' in page


def test_registered_record_view_feeds_the_panel(app, org):
    instance = start("unit_superior_change", org["hospital"], org["leshan"], "医院变更上级单位")
    seen = []
    inbox_views.register_record_view("unit_superior_change", lambda inst: seen.append(inst.id) or {"extra": 1})
    client = signed_in(app, org["reviewer"])

    response = client.get(f"/inbox/tasks/{open_task_of(instance).id}")

    assert response.status_code == 200 and seen == [instance.id]


def test_read_only_for_a_viewer_who_may_not_act(app, org):
    instance = start("unit_superior_change", org["hospital"], org["leshan"], "医院变更上级单位")
    task = open_task_of(instance)
    instances.complete_human_task(org["colleague"], task.id, {"decision": "pass", "opinion": "同意"})
    client = signed_in(app, org["reviewer"])  # a candidate too, but it is handled now

    page = html(client.get(f"/inbox/tasks/{task.id}"))

    assert 'data-testid="read-only"' in page and "李同事" in page and 'name="opinion"' not in page


# --- completing through POST ----------------------------------------------------------------------------

@pytest.mark.parametrize(("decision", "next_post", "operation"), [
    ("pass", None, "apply_superior_change"),
    ("return", "unit_admin", None),
    ("reject", None, "reject_superior_change"),
])
def test_complete_with_each_decision(app, org, decision, next_post, operation):
    instance = start("unit_superior_change", org["hospital"], org["leshan"], "医院变更上级单位")
    task = open_task_of(instance)
    client = signed_in(app, org["reviewer"])

    response = client.post(f"/inbox/tasks/{task.id}", data={"decision": decision, "opinion": "意见一", "return_to": ""})

    assert response.status_code == 302 and response.headers["Location"].endswith("/inbox/")
    db.session.expire_all()
    assert db.session.get(HumanTask, task.id).status == "done"
    assert db.session.get(HumanTask, task.id).decision == decision
    following = open_task_of(instance)
    assert (following.post if following else None) == next_post
    assert [c[0] for c in CALLS] == ([operation] if operation else [])
    last = db.session.scalars(select(WorkflowEvent).where(WorkflowEvent.instance_id == instance.id,
                                                          WorkflowEvent.action == decision)).one()
    assert (last.actor_name, last.opinion, last.unit_name) == ("王审核", "意见一", "乐山市人社局")
    trail = html(client.get(f"/inbox/instances/{instance.id}/trail"))
    assert "意见一" in trail and "王审核" in trail


@pytest.mark.parametrize(("data", "message"), [
    ({"decision": "pass", "opinion": "好", "sneaky": "1"}, "未知字段：sneaky"),
    ({"decision": "pass"}, "审核意见：必须填写"),
    ({"opinion": "好"}, "审核结果：必须选择"),
    ({"decision": "pass", "opinion": "长" * 501}, "审核意见：不能超过 500 个字"),
    ({"decision": "approve", "opinion": "好"}, "审核结果：选项无效"),
    ({"decision": "return", "opinion": "好", "return_to": "环" * 51}, "退回至：请从列表中选择"),
])
def test_bad_input_answers_400_and_changes_nothing(app, org, data, message):
    instance = start("unit_superior_change", org["hospital"], org["leshan"], "医院变更上级单位")
    task = open_task_of(instance)
    before = (bytes(instance.state), events(instance))
    client = signed_in(app, org["reviewer"])

    response = client.post(f"/inbox/tasks/{task.id}", data=data)

    assert response.status_code == 400
    assert message in html(response) and 'name="opinion"' in html(response)
    db.session.expire_all()
    assert db.session.get(HumanTask, task.id).status == "open"
    assert (bytes(db.session.get(ProcessInstance, instance.id).state), events(instance)) == before


def test_another_units_task_is_403(app, org):
    instance = start("unit_superior_change", org["chengdu_unit"], org["chengdu"], "成都变更申请")
    task = open_task_of(instance)
    client = signed_in(app, org["reviewer"])

    page = client.get(f"/inbox/tasks/{task.id}")
    post = client.post(f"/inbox/tasks/{task.id}", data={"decision": "pass", "opinion": "好"})
    diagram = client.get(f"/inbox/tasks/{task.id}/diagram.xml")

    assert (page.status_code, post.status_code, diagram.status_code) == (403, 403, 403)
    assert "办理人" in html(post) and "成都变更申请" not in html(page)
    db.session.expire_all()
    assert db.session.get(HumanTask, task.id).status == "open" and events(instance) == 1


def test_a_task_already_handled_is_409_naming_who(app, org):
    instance = start("unit_superior_change", org["hospital"], org["leshan"], "医院变更上级单位")
    task = open_task_of(instance)
    instances.complete_human_task(org["colleague"], task.id, {"decision": "pass", "opinion": "同意"})
    db.session.flush()
    count = events(instance)
    client = signed_in(app, org["reviewer"])

    response = client.post(f"/inbox/tasks/{task.id}", data={"decision": "reject", "opinion": "不同意"})

    assert response.status_code == 409
    assert "李同事" in html(response) and "已由" in html(response) and "审核通过" in html(response)
    # The task page as it stands: read-only, naming who handled it, with the trail.
    assert 'data-testid="read-only"' in html(response) and 'id="trail"' in html(response)
    db.session.expire_all()
    assert db.session.get(HumanTask, task.id).decision == "pass" and events(instance) == count


def test_a_forged_task_id_is_404(app, org):
    client = signed_in(app, org["reviewer"])

    assert client.get("/inbox/tasks/999999").status_code == 404
    assert client.post("/inbox/tasks/999999", data={"decision": "pass", "opinion": "好"}).status_code == 404
    assert client.get("/inbox/tasks/999999/diagram.xml").status_code == 404
    assert client.get("/inbox/instances/999999/trail").status_code == 404


# --- attachments ---------------------------------------------------------------------------------------

@pytest.fixture
def attachment_form(tmp_path, monkeypatch) -> str:
    """A test-only form with a file field (forms.FORMS_ROOT pointed at a temporary directory)."""
    (tmp_path / "review").mkdir()
    (tmp_path / "review" / "with_attachment.yaml").write_text(
        "title: 审核意见（含附件）\n"
        "fields:\n"
        "  - {name: decision, label: 审核结果, type: choice, required: true,\n"
        "     choices: [{value: pass, label: 审核通过}, {value: return, label: 审核退回}, {value: reject, label: 审核不通过}]}\n"
        "  - {name: opinion, label: 审核意见, type: textarea, required: true, max_length: 500}\n"
        "  - {name: proof, label: 公示证明附件, type: file, required: true, accept: [pdf], max_size_mb: 0.001}\n",
        encoding="utf-8")
    monkeypatch.setattr(forms, "FORMS_ROOT", tmp_path)
    return "review/with_attachment"


@pytest.mark.parametrize(("content", "filename", "message"), [
    (PDF + b"0" * 2000, "公示.pdf", "公示证明附件：文件不能超过 0.001 MB"),
    (PNG, "公示.pdf", "公示证明附件：文件类型须为 pdf，实际为 png"),
    (None, None, "公示证明附件：必须上传"),
])
def test_bad_attachments_answer_400_and_change_nothing(app, org, attachment_form, content, filename, message):
    from io import BytesIO

    instance = start("unit_superior_change", org["hospital"], org["leshan"], "医院变更上级单位")
    task = open_task_of(instance)
    task.form_key = attachment_form
    db.session.flush()
    client = signed_in(app, org["reviewer"])
    data: dict[str, Any] = {"decision": "pass", "opinion": "同意"}
    if content is not None:
        data["proof"] = (BytesIO(content), filename)

    page = html(client.get(f"/inbox/tasks/{task.id}"))
    response = client.post(f"/inbox/tasks/{task.id}", data=data, content_type="multipart/form-data")

    assert 'type="file"' in page and 'enctype="multipart/form-data"' in page
    assert response.status_code == 400 and message in html(response)
    db.session.expire_all()
    assert db.session.get(HumanTask, task.id).status == "open" and events(instance) == 1


def test_a_good_attachment_completes_and_is_stored(app, org, attachment_form):
    import hashlib
    from io import BytesIO

    from services.common import file_store

    instance = start("unit_superior_change", org["hospital"], org["leshan"], "医院变更上级单位")
    task = open_task_of(instance)
    task.form_key = attachment_form
    db.session.flush()
    client = signed_in(app, org["reviewer"])

    response = client.post(f"/inbox/tasks/{task.id}", content_type="multipart/form-data",
                           data={"decision": "pass", "opinion": "同意", "proof": (BytesIO(PDF), "公示.pdf")})

    assert response.status_code == 302
    with app.test_request_context():
        assert file_store.path_for(hashlib.sha256(PDF).hexdigest()).read_bytes() == PDF


def test_a_forged_file_reference_or_a_file_in_a_text_field_is_refused(app, org, attachment_form):
    from io import BytesIO

    instance = start("unit_superior_change", org["hospital"], org["leshan"], "医院变更上级单位")
    task = open_task_of(instance)
    task.form_key = attachment_form
    db.session.flush()
    client = signed_in(app, org["reviewer"])

    forged = client.post(f"/inbox/tasks/{task.id}", data={"decision": "pass", "opinion": "好", "proof": "0" * 64})
    in_text = client.post(f"/inbox/tasks/{task.id}", content_type="multipart/form-data",
                          data={"decision": "pass", "opinion": (BytesIO(PDF), "a.pdf")})

    assert forged.status_code == 400 and "公示证明附件：必须上传" in html(forged)
    assert in_text.status_code == 400 and "审核意见：不接受文件" in html(in_text)
    db.session.expire_all()
    assert db.session.get(HumanTask, task.id).status == "open"


# --- batch ---------------------------------------------------------------------------------------------

def test_batch_with_mixed_outcomes(app, org):
    mine = open_task_of(start("unit_superior_change", org["hospital"], org["leshan"], "医院变更上级单位"))
    taken = open_task_of(start("unit_superior_change", org["school"], org["leshan"], "一中变更上级单位"))
    foreign = open_task_of(start("unit_superior_change", org["chengdu_unit"], org["chengdu"], "成都变更申请"))
    instances.complete_human_task(org["colleague"], taken.id, {"decision": "pass", "opinion": "同意"})
    db.session.flush()
    client = signed_in(app, org["reviewer"])

    response = client.post("/inbox/batch", data={"task_ids": [str(mine.id), str(taken.id), str(foreign.id)],
                                                 "decision": "reject", "opinion": "材料不全"}, follow_redirects=True)

    page = html(response)
    assert response.status_code == 200
    assert f'data-task-id="{mine.id}" data-status="done"' in page
    assert f'data-task-id="{taken.id}" data-status="taken"' in page and "李同事" in page
    assert f'data-task-id="{foreign.id}" data-status="refused"' in page and "成都变更申请" not in page
    db.session.expire_all()
    assert db.session.get(HumanTask, mine.id).decision == "reject"
    assert db.session.get(HumanTask, taken.id).decision == "pass"
    assert db.session.get(HumanTask, foreign.id).status == "open"


def test_a_batch_is_a_job_with_an_item_per_task_and_its_own_result_page(app, org):
    tasks = [open_task_of(start("unit_superior_change", org["hospital"], org["leshan"], f"变更{n}"))
             for n in range(3)]
    client = signed_in(app, org["reviewer"])

    response = client.post("/inbox/batch", data={"task_ids": [str(t.id) for t in tasks], "decision": "pass",
                                                 "opinion": "同意"})

    assert response.status_code == 302 and "/inbox/batch/" in response.headers["Location"]
    job = db.session.scalars(select(Job).where(Job.kind == "inbox.batch")).one()
    assert (job.state, job.total, job.done, job.refused) == ("done", 3, 3, 0)
    assert sorted(db.session.scalars(select(JobItem.key).where(JobItem.job_id == job.id))) == sorted(
        str(t.id) for t in tasks)
    page = html(client.get(response.headers["Location"]))
    assert page.count('data-status="done"') == 3 and "hx-get" not in page  # finished: no more polling
    assert signed_in(app, org["colleague"]).get(response.headers["Location"]).status_code == 404  # the starter's


def test_a_large_batch_waits_for_a_worker_with_progress_then_shows_each_outcome(app, org, monkeypatch):
    from services.jobs import runner
    from services.workflow import inbox_batch

    monkeypatch.setattr(inbox_batch, "INLINE_LIMIT", 1)
    monkeypatch.setattr(runner, "_enqueue", lambda job_id: None)  # no worker yet
    tasks = [open_task_of(start("unit_superior_change", org["hospital"], org["leshan"], f"变更{n}"))
             for n in range(2)]
    client = signed_in(app, org["reviewer"])

    location = client.post("/inbox/batch", data={"task_ids": [str(t.id) for t in tasks], "decision": "pass",
                                                 "opinion": "同意"}).headers["Location"]
    waiting = html(client.get(location))
    job = db.session.scalars(select(Job).where(Job.kind == "inbox.batch")).one()
    runner.run_job(job.id)  # the worker
    finished = html(client.get(location))

    assert 'data-state="queued"' in waiting and 'hx-trigger="every 1s"' in waiting and "办理进度" in waiting
    assert finished.count('data-status="done"') == 2 and 'data-state="done"' in finished


def test_a_batch_retried_after_a_crash_completes_each_task_once(app, org, monkeypatch):

    tasks = [open_task_of(start("unit_superior_change", org["hospital"], org["leshan"], f"变更{n}"))
             for n in range(3)]
    real = instances.complete_posted_task
    calls: list[int] = []

    def crash_on_the_second(actor, task_id, data):
        calls.append(task_id)
        if task_id == tasks[1].id and calls.count(task_id) == 1:
            raise RuntimeError("worker killed")
        return real(actor, task_id, data)

    monkeypatch.setattr(instances, "complete_posted_task", crash_on_the_second)
    client = signed_in(app, org["reviewer"])
    location = client.post("/inbox/batch", data={"task_ids": [str(t.id) for t in tasks], "decision": "pass",
                                                 "opinion": "同意"}).headers["Location"]
    job = db.session.scalars(select(Job).where(Job.kind == "inbox.batch")).one()
    assert (job.state, job.done) == ("failed", 1)
    assert "任务失败" in html(client.get(location))

    assert client.post(f"/jobs/{job.id}/retry").status_code == 302
    db.session.expire_all()

    assert (db.session.get(Job, job.id).state, db.session.get(Job, job.id).done) == ("done", 3)
    assert calls == [tasks[0].id, tasks[1].id, tasks[1].id, tasks[2].id]  # the first is not completed again
    for task in tasks:
        assert db.session.scalar(select(func.count()).select_from(WorkflowEvent).where(
            WorkflowEvent.human_task_id == task.id)) == 1
    assert html(client.get(location)).count('data-status="done"') == 3


@pytest.mark.parametrize(("data", "message"), [
    ({"decision": "pass", "opinion": "好"}, "请至少选择一条待办"),
    ({"task_ids": ["x"], "decision": "pass", "opinion": "好"}, "待办选择有误"),
    ({"task_ids": ["1"], "decision": "maybe", "opinion": "好"}, "审核结果：选项无效"),
    ({"task_ids": ["1"], "decision": "pass", "opinion": " "}, "审核意见：必须填写"),
    ({"task_ids": ["1"], "decision": "pass", "opinion": "长" * 501}, "审核意见：不能超过 500 个字"),
])
def test_bad_batch_input_answers_400(app, org, data, message):
    client = signed_in(app, org["reviewer"])

    response = client.post("/inbox/batch", data=data)

    assert response.status_code == 400 and message in html(response)


def test_batch_buttons_ask_before_return_and_reject(app, org):
    start("unit_superior_change", org["hospital"], org["leshan"], "医院变更上级单位")
    client = signed_in(app, org["reviewer"])

    page = html(client.get("/inbox/"))

    assert "批量通过" in page and "批量退回" in page and "批量不通过" in page
    assert page.count("data-confirm=") == 2


# --- 常用意见 ------------------------------------------------------------------------------------------

def test_common_opinions_crud_order_and_picker(app, org):
    client = signed_in(app, org["reviewer"])
    # A first sign-in brought the unit type's defaults; this test starts from an empty list.
    db.session.execute(delete(CommonOpinion).where(CommonOpinion.user_id == org["reviewer"].id))

    assert client.post("/inbox/opinions", data={"text": "材料齐全，同意"}).status_code == 302
    assert client.post("/inbox/opinions", data={"text": "请补充公示证明"}).status_code == 302
    duplicate = client.post("/inbox/opinions", data={"text": "请补充公示证明"})
    empty = client.post("/inbox/opinions", data={"text": "  "})
    first, second = db.session.scalars(select(CommonOpinion).where(CommonOpinion.user_id == org["reviewer"].id)
                                       .order_by(CommonOpinion.sort_order)).all()
    assert client.post(f"/inbox/opinions/{second.id}/move", data={"direction": "up"}).status_code == 302
    assert client.post(f"/inbox/opinions/{first.id}/edit", data={"text": "同意"}).status_code == 302
    bad_move = client.post(f"/inbox/opinions/{first.id}/move", data={"direction": "sideways"})
    too_long = client.post(f"/inbox/opinions/{first.id}/edit", data={"text": "长" * 501})
    listing = html(client.get("/inbox/opinions"))
    instance = start("unit_superior_change", org["hospital"], org["leshan"], "医院变更上级单位")
    task_page = html(client.get(f"/inbox/tasks/{open_task_of(instance).id}"))

    assert duplicate.status_code == 400 and "常用意见：已有相同的意见" in html(duplicate)
    assert empty.status_code == 400 and "常用意见：必须填写" in html(empty)
    assert bad_move.status_code == 400 and "移动方向" in html(bad_move)
    assert too_long.status_code == 400 and "不能超过 500 个字" in html(too_long)
    assert listing.index("请补充公示证明") < listing.index("同意")
    assert '<option value="请补充公示证明">' in task_page and '<option value="同意">' in task_page
    assert client.post(f"/inbox/opinions/{first.id}/delete").status_code == 302
    db.session.expire_all()
    assert [o.text for o in db.session.scalars(select(CommonOpinion).where(
        CommonOpinion.user_id == org["reviewer"].id))] == ["请补充公示证明"]


def test_common_opinions_are_each_users_own(app, org):
    own = CommonOpinion(user_id=org["colleague"].id, text="李同事的意见", sort_order=1)
    db.session.add(own)
    db.session.flush()
    client = signed_in(app, org["reviewer"])

    listing = html(client.get("/inbox/opinions"))
    answers = [client.post(f"/inbox/opinions/{own.id}/{action}", data=data).status_code for action, data in
               (("edit", {"text": "改掉"}), ("move", {"direction": "up"}), ("delete", {}))]

    assert "李同事的意见" not in listing
    assert answers == [404, 404, 404]
    db.session.expire_all()
    assert db.session.get(CommonOpinion, own.id).text == "李同事的意见"


# --- 查看经办流程 --------------------------------------------------------------------------------------

def test_trail_is_visible_to_participants_and_superiors_only(app, org, make_user):
    instance = start("unit_superior_change", org["hospital"], org["leshan"], "医院变更上级单位")
    instances.complete_human_task(org["reviewer"], open_task_of(instance).id,
                                  {"decision": "return", "opinion": "请补充材料"})
    db.session.flush()
    hospital_staff = make_user(org["hospital"], permissions=["inbox.view"])
    school_staff = make_user(org["school"], permissions=["inbox.view"])
    url = f"/inbox/instances/{instance.id}/trail"

    answers = {name: signed_in(app, user).get(url) for name, user in (
        ("reviewer", org["reviewer"]), ("viewer", org["viewer"]), ("hospital", hospital_staff),
        ("school", school_staff), ("outsider", org["outsider"]))}

    assert {name: r.status_code for name, r in answers.items()} == {
        "reviewer": 200, "viewer": 200, "hospital": 200, "school": 404, "outsider": 404}
    assert "请补充材料" in html(answers["reviewer"]) and "审核退回" in html(answers["reviewer"])


# --- the projection is enough ----------------------------------------------------------------------------

def test_lists_counts_and_task_page_never_deserialize_a_workflow(app, org, monkeypatch):
    from services.workflow import state

    instance = start("unit_superior_change", org["hospital"], org["leshan"], "医院变更上级单位")
    client = signed_in(app, org["reviewer"])

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a list or count deserialized a workflow")

    monkeypatch.setattr(state, "load_state", refuse)

    for url in ("/", "/inbox/", "/inbox/?tab=done", f"/inbox/tasks/{open_task_of(instance).id}",
                f"/inbox/instances/{instance.id}/trail"):
        assert client.get(url).status_code == 200, url


def test_list_page_query_count_does_not_grow_with_its_rows(app, org):
    from sqlalchemy import event

    client = signed_in(app, org["reviewer"])
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    def queries() -> int:
        statements.clear()
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            assert client.get("/inbox/").status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        return len(statements)

    start("unit_superior_change", org["hospital"], org["leshan"], "变更申请0")
    queries()  # the process's configuration cache warm (business type names, unit choices), as on later requests
    few = queries()
    for n in range(1, 8):
        start("unit_superior_change", org["school"], org["leshan"], f"变更申请{n}")

    assert queries() == few


def test_a_suspended_instance_answers_409(app, org):
    instance = start("unit_superior_change", org["hospital"], org["leshan"], "医院变更上级单位")
    task = open_task_of(instance)
    instance.status = "suspended"
    db.session.flush()
    client = signed_in(app, org["reviewer"])

    response = client.post(f"/inbox/tasks/{task.id}", data={"decision": "pass", "opinion": "同意"})

    assert response.status_code == 409 and "挂起" in html(response)
    assert ">同意</textarea>" in html(response)  # the form again, as it was filled in
    db.session.expire_all()
    assert db.session.get(HumanTask, task.id).status == "open"


@pytest.mark.parametrize("url", [
    "/inbox/?created_to=9999-12-31", "/inbox/?created_from=0001-01-01", "/inbox/?page=99999999999999999999999",
    "/inbox/?unit_id=99999999999999999999999", "/inbox/?page=²", "/inbox/tasks/99999999999999999999999",
    "/inbox/tasks/99999999999999999999999/diagram.xml", "/inbox/instances/99999999999999999999999/trail",
])
def test_extreme_values_never_500(app, org, url):
    client = signed_in(app, org["reviewer"])

    assert client.get(url).status_code in (200, 400, 404)


@pytest.mark.parametrize("task_ids", [["99999999999999999999999"], ["²"], ["-1"]])
def test_extreme_batch_ids_never_500(app, org, task_ids):
    client = signed_in(app, org["reviewer"])

    response = client.post("/inbox/batch", data={"task_ids": task_ids, "decision": "pass", "opinion": "同意"})

    assert response.status_code in (200, 400)


def test_nul_characters_are_bad_input(app, org):
    instance = start("unit_superior_change", org["hospital"], org["leshan"], "医院变更上级单位")
    client = signed_in(app, org["reviewer"])

    task_post = client.post(f"/inbox/tasks/{open_task_of(instance).id}", data={"decision": "pass", "opinion": "同\x00意"})
    opinion_post = client.post("/inbox/opinions", data={"text": "同\x00意"})

    assert task_post.status_code == 400 and "审核意见：必须是文字" in html(task_post)
    assert opinion_post.status_code == 400 and "常用意见：含有无效字符" in html(opinion_post)


def test_the_type_filter_offers_business_types_not_called_processes(client, login, make_unit, make_user):
    unit = make_unit()
    login(make_user(unit, permissions=["inbox.view"]))
    page = client.get("/inbox/").get_data(as_text=True)
    assert 'value="application_review"' in page and 'value="unit_review"' not in page
    assert client.get("/inbox/?business_type=unit_review").status_code == 400


def test_return_to_is_a_list_on_generic_tasks(app, org):
    task = open_task_of(start("unit_superior_change", org["hospital"], org["leshan"], "医院变更上级单位"))
    client = signed_in(app, org["reviewer"])

    page = html(client.get(f"/inbox/tasks/{task.id}"))
    typed = client.post(f"/inbox/tasks/{task.id}", data={"decision": "return", "opinion": "请补充",
                                                        "return_to": "随便写的环节"})

    field = page[page.index('data-field="return_to"'):]
    assert '<select class="form-select ' in field[:400] and 'name="return_to"' in field[:400]
    assert 'type="text"' not in field[:field.index("</div>")]
    assert typed.status_code == 400 and "退回至：请从列表中选择" in html(typed)
    assert client.post(f"/inbox/tasks/{task.id}", data={"decision": "return", "opinion": "请补充",
                                                        "return_to": ""}).status_code == 302


# --- round trips (issue 20) ----------------------------------------------------------------------------------

# GET /inbox/ as a signed-in reviewer: the user loader (with the configuration generation, so the business type
# names and the unit choices come from services/common/config_cache.py, and the layout's unread notifications),
# the tab counts (one statement), the page (with its rows' 复审 marks) and the 常用意见. Was 7 (8 with a page of
# 申报 rows), then 5.
INBOX_PAGE_MAX = 4


def test_the_inbox_page_keeps_its_round_trips(app, org):
    start("unit_superior_change", org["hospital"], org["leshan"], "医院变更上级单位")
    start("unit_registration", org["school"], org["leshan"], "新单位注册申请")
    client = signed_in(app, org["reviewer"])
    assert client.get("/inbox/").status_code == 200  # the process's cache is warm, as on any later request
    hospital = org["hospital"].name
    db.session.commit()  # a request starts a transaction of its own
    db.session.expunge_all()  # and a session of its own: nothing loaded before
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:  # noqa: ANN001
        if statement != "BEGIN" and "SAVEPOINT" not in statement:  # the suite's transactions stand for BEGIN / COMMIT
            statements.append(" ".join(statement.split())[:160])

    engine = db.session.get_bind()
    event.listen(engine, "before_cursor_execute", record)
    try:
        page = html(client.get("/inbox/"))
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert "医院变更上级单位" in page and 'data-testid="count-todo">2<' in page
    assert hospital in page, "the unit choices still show"
    assert len(statements) <= INBOX_PAGE_MAX, "the inbox page sends more statements than before:\n" + "\n".join(
        statements)
