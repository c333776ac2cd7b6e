"""The engine persistence layer: start, complete, inbox projection, candidates, trail, refusals."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from sqlalchemy import select
from sqlalchemy.exc import DataError

from app.extensions import db
from app.models import HumanTask, HumanTaskCandidate, Notification, ProcessInstance
from services.authz import audit_chain
from services.common.errors import Conflict, Forbidden, InvalidInput, NotFound
from services.notifications import center
from services.workflow import instances, runner
from services.workflow.scripting import WHITELIST

CALLS: list[tuple[str, dict]] = []


@pytest.fixture
def fake_operations(monkeypatch):
    """Bind the superior-change business operations to recorders for this test only."""
    CALLS.clear()

    def apply_superior_change(**kwargs):
        CALLS.append(("apply", kwargs))
        return json.dumps({"ok": True})

    def reject_superior_change(**kwargs):
        CALLS.append(("reject", kwargs))

    functions = dict(WHITELIST._functions)
    functions["apply_superior_change"] = apply_superior_change
    functions["reject_superior_change"] = reject_superior_change
    monkeypatch.setattr(WHITELIST, "_functions", functions)


def _start(unit, reviewer_unit, levels=(1,)):
    return instances.start_process(
        "unit_superior_change", "unit_superior_change", 1, "变更上级单位", unit.id,
        {"change_request_id": 1, "levels": list(levels), "reviewing_unit_id": reviewer_unit.id}, None,
    )


def _open_tasks(instance):
    return list(db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id,
                                                           HumanTask.status == "open")))


def _assert_projection_matches(instance):
    workflow = instances._load_workflow(instance)
    ready = {t.task_id for t in runner.ready_user_tasks(workflow)}
    assert {t.task_uuid for t in _open_tasks(instance)} == ready


def test_review_passes_two_configured_levels_in_order(database, make_unit, make_user, fake_operations):
    superior = make_unit(unit_type="hr")
    unit = make_unit(parent=superior)
    admin = make_user(superior, admin=True)
    first, second = make_user(superior), make_user(superior)
    audit_chain.save_levels(admin, superior, "unit_registration",
                            [{"name": "初审", "user_ids": [first.id]}, {"name": "复审", "user_ids": [second.id]}])
    instance = _start(unit, superior, audit_chain.review_levels(superior.id, "unit_registration"))
    [task] = _open_tasks(instance)
    assert (task.unit_id, task.level_no) == (superior.id, 1)
    assert instances.is_candidate(task, first) and not instances.is_candidate(task, second)
    with pytest.raises(Forbidden):
        instances.complete_human_task(second, task.id, {"decision": "pass", "opinion": "同意"})
    instances.complete_human_task(first, task.id, {"decision": "pass", "opinion": "同意"})
    _assert_projection_matches(instance)
    [task2] = _open_tasks(instance)
    assert task2.level_no == 2 and instances.is_candidate(task2, second)
    instances.complete_human_task(second, task2.id, {"decision": "pass", "opinion": "同意变更"})
    assert instance.status == "completed"
    assert CALLS and CALLS[0][0] == "apply"
    actions = [e.action for e in instances.trail(instance.id)]
    assert actions == ["start", "pass", "pass", "completed"]


def test_unconfigured_unit_reviews_in_one_level_by_permission_holders(database, make_unit, make_user, fake_operations):
    superior = make_unit(unit_type="hr")
    unit = make_unit(parent=superior)
    admin = make_user(superior, admin=True)
    reviewer = make_user(superior, permissions=["registration.review"])
    bystander = make_user(superior, permissions=["home.view"])
    instance = _start(unit, superior, audit_chain.review_levels(superior.id, "unit_registration"))
    [task] = _open_tasks(instance)
    candidates = set(db.session.scalars(select(HumanTaskCandidate.user_id).where(HumanTaskCandidate.task_id == task.id)))
    assert candidates == {admin.id, reviewer.id}
    assert bystander.id not in candidates


def test_return_goes_to_the_unit_admin_and_back_to_review(database, make_unit, make_user, fake_operations):
    superior = make_unit(unit_type="hr")
    unit = make_unit(parent=superior)
    reviewer = make_user(superior, admin=True)
    unit_admin = make_user(unit, admin=True)
    instance = _start(unit, superior)
    [task] = _open_tasks(instance)
    instances.complete_human_task(reviewer, task.id, {"decision": "return", "opinion": "材料不全"})
    [correction] = _open_tasks(instance)
    assert correction.post == "unit_admin" and instances.is_candidate(correction, unit_admin)
    instances.complete_human_task(unit_admin, correction.id, {"note": "已补充"})
    [again] = _open_tasks(instance)
    assert again.post == "unit_reviewer"
    instances.complete_human_task(reviewer, again.id, {"decision": "reject", "opinion": "不符合条件"})
    assert instance.status == "completed"
    assert CALLS[-1][0] == "reject"
    _assert_projection_matches(instance)


def test_refusals_leave_instance_unchanged(database, make_unit, make_user, fake_operations):
    superior = make_unit(unit_type="hr")
    unit = make_unit(parent=superior)
    reviewer = make_user(superior, admin=True)
    instance = _start(unit, superior)
    [task] = _open_tasks(instance)
    before = bytes(instance.state)
    with pytest.raises(InvalidInput) as bad:
        instances.complete_human_task(reviewer, task.id, {"decision": "pass", "opinion": "x" * 501})
    assert "审核意见" in bad.value.message
    with pytest.raises(InvalidInput):
        instances.complete_human_task(reviewer, task.id, {"decision": "pass", "opinion": "好", "extra": "1"})
    with pytest.raises(InvalidInput):
        instances.complete_human_task(reviewer, task.id, {"decision": "maybe", "opinion": "好"})
    with pytest.raises(NotFound):
        instances.complete_human_task(reviewer, 999_999, {"decision": "pass", "opinion": "好"})
    assert bytes(db.session.get(ProcessInstance, instance.id).state) == before
    instances.complete_human_task(reviewer, task.id, {"decision": "pass", "opinion": "同意"})
    with pytest.raises(Conflict):
        instances.complete_human_task(reviewer, task.id, {"decision": "pass", "opinion": "同意"})


class _At(datetime):
    """datetime.now() fixed at a time with microseconds (a plain datetime), for the step's written timestamps."""

    @classmethod
    def now(cls, tz=None):  # noqa: ANN001, ANN206
        return datetime(2026, 12, 5, 9, 30, 15, 123456, tzinfo=tz)


def test_a_step_writes_its_rows_exactly_as_given(database, make_unit, make_user, fake_operations, monkeypatch):
    """A step's writes (on PostgreSQL one statement, its rows as JSON read into the tables' row types; on SQLite one
    statement per table) keep every value: quotes, backslashes, Chinese and emoji, microseconds, NULLs, the columns'
    defaults; the candidates and notifications find their new task."""
    superior = make_unit(unit_type="hr")
    unit = make_unit(parent=superior)
    admin = make_user(superior, admin=True)
    first, second = make_user(superior, name="王审核"), make_user(superior, name="李复审")
    audit_chain.save_levels(admin, superior, "unit_registration", [{"name": "初审", "user_ids": [first.id]},
                                                                   {"name": "复审", "user_ids": [second.id, admin.id]}])
    instance = _start(unit, superior, audit_chain.review_levels(superior.id, "unit_registration"))
    [task] = _open_tasks(instance)
    monkeypatch.setattr(instances, "datetime", _At)
    monkeypatch.setattr(center, "datetime", _At)
    opinion = 'He said "同意" \\ it\'s 好的 😀 {"x": [1]}'

    instances.complete_human_task(first, task.id, {"decision": "pass", "opinion": opinion})

    db.session.expire_all()
    [event] = [e for e in instances.trail(instance.id) if e.action == "pass"]
    assert (event.opinion, event.actor_id, event.actor_name, event.unit_id, event.unit_name, event.human_task_id,
            event.at) == (opinion, first.id, "王审核", superior.id, superior.name, task.id, _At.now())
    [new_task] = _open_tasks(instance)
    assert (new_task.level_no, new_task.title, new_task.business_type, new_task.unit_id, new_task.decision,
            new_task.completed_at, new_task.applicant_name) == (2, "变更上级单位", "unit_superior_change", superior.id,
                                                               "", None, "")
    candidates = db.session.execute(select(HumanTaskCandidate.user_id, HumanTaskCandidate.is_open,
                                           HumanTaskCandidate.business_type, HumanTaskCandidate.created_at)
                                    .where(HumanTaskCandidate.task_id == new_task.id)).all()
    assert sorted(candidates) == sorted((user.id, True, "unit_superior_change", new_task.created_at)
                                        for user in (second, admin))
    notices = db.session.scalars(select(Notification).where(Notification.target_type == "task",
                                                            Notification.target_id == new_task.id)).all()
    assert sorted((n.user_id, n.applicant_id, n.event, n.title, n.body, n.created_at, n.read_at, n.dispatch_state,
                   n.dedupe_key) for n in notices) == sorted(
        (user.id, None, "task_assigned", f"新的待办：{new_task.name}", f"变更上级单位（{new_task.name}）待您办理。",
         _At.now(), None, "pending", None) for user in (second, admin))
    assert db.session.get(HumanTask, task.id).completed_at == _At.now()


def test_a_value_too_long_for_its_column_is_refused_not_cut_on_postgresql(database, make_unit, fake_operations):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite does not check VARCHAR lengths")
    instance = _start(make_unit(), make_unit(unit_type="hr"))
    row = instances._event_row(instance, None, None, "start", "")
    statement, params = instances._step_writes(None, [{**row, "unit_name": "单" * 51}], None, [])  # VARCHAR(50)

    with pytest.raises(DataError, match="value too long"):
        db.session.connection().execute(statement, params)


def test_postgresql_stores_large_states_and_snapshots_with_lz4(database, make_unit, fake_operations):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: SQLite does not compress")
    methods = dict(db.session.execute(db.text(
        "SELECT attrelid::regclass::text || '.' || attname, attcompression FROM pg_attribute "
        "WHERE (attrelid, attname) IN (('process_instance'::regclass, 'state'), ('declaration'::regclass, 'snapshot'))"
    )).all())
    assert methods == {"process_instance.state": "l", "declaration.snapshot": "l"}
    instance = _start(make_unit(), make_unit(unit_type="hr"))
    state = json.loads(instance.state)
    state["padding"] = [{"task_spec": f"Activity_{n}", "state": 16, "data": {}} for n in range(800)]  # ≈ 40 KB
    db.session.execute(db.update(ProcessInstance).where(ProcessInstance.id == instance.id)
                       .values(state=json.dumps(state).encode()))
    assert db.session.scalar(db.text("SELECT pg_column_compression(state) FROM process_instance WHERE id = :id"),
                             {"id": instance.id}) == "lz4"
