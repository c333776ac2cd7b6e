"""Many people complete the same open task at once: exactly one wins, every other gets 409, nothing half-written.

DESIGN §2 "Instances": the instance row is locked while a request works on it (SELECT … FOR UPDATE on
PostgreSQL; the lock_version check of the UPDATE on SQLite) and a lost race answers HTTP 409, never a silent
overwrite. The losers must see the winner's *committed* work, so these tests commit for real: they build their
own units, users and instance on a dedicated app (its pool fits every thread) and delete all of it afterwards,
instead of using the rolled-back `database` fixture.

Each thread is one reviewer with its own signed-in test client, posting the task's form to the real endpoint
(`POST /inbox/tasks/<id>`: 302 on success, 409 on a lost race or a task already handled), all released together.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient
from helpers import PASSWORD, region_id, valid_credit_code
from sqlalchemy import delete, func, or_, select

from app import create_app
from app.extensions import db
from app.models import (
    AuditLevel,
    AuditLevelMember,
    AuditLog,
    HumanTask,
    HumanTaskCandidate,
    ProcessInstance,
    Role,
    RolePermission,
    Unit,
    User,
    UserRole,
    WorkflowEvent,
)
from services.org.accounts import hash_password
from services.workflow import instances, runner

ON_POSTGRES = bool(os.environ.get("TEST_DATABASE_URL"))
FORM = {"decision": "pass", "opinion": "同意变更"}
_serial = itertools.count(1)


@dataclass
class Scene:
    """Ids of everything the test committed, so it can be deleted again."""

    unit_ids: list[int]
    user_ids: list[int]
    level1_ids: list[int]
    level2_ids: list[int]
    instance_id: int
    task_id: int
    lock_version: int


@pytest.fixture
def committing_app(app: Flask) -> Iterator[Flask]:
    """An app on the suite's database whose connection pool has room for every thread at once."""
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    options.update(pool_size=25, max_overflow=5, pool_timeout=60)
    overrides = {key: app.config[key] for key in ("TESTING", "SECRET_KEY", "WTF_CSRF_ENABLED", "PASSWORD_HASH_METHOD",
                                                  "UPLOAD_FOLDER", "SQLALCHEMY_DATABASE_URI")}
    dedicated = create_app({**overrides, "SQLALCHEMY_ENGINE_OPTIONS": options}, instance_path=app.instance_path)
    try:
        yield dedicated
    finally:
        with dedicated.app_context():
            db.engine.dispose()


def _unit(parent: Unit | None, unit_type: str) -> Unit:
    n = next(_serial)
    unit = Unit(name=f"并发测试单位{n}", credit_code=valid_credit_code("11" if unit_type == "hr" else "12"),
                parent_id=parent.id if parent else None, unit_type_code=unit_type,
                nature_code="organ" if unit_type == "hr" else "institution", region_id=region_id("510100B"),
                phone="028-86000000", depth=(parent.depth + 1) if parent else 0)
    db.session.add(unit)
    db.session.flush()
    unit.path = f"{parent.path if parent else '/'}{unit.id}/"
    return unit


def _user(unit: Unit, password_hash: str, admin: bool = False, role: Role | None = None) -> User:
    n = next(_serial)
    user = User(username=f"race{os.getpid()}_{n}", password_hash=password_hash, name=f"审核员{n}", unit_id=unit.id,
                is_unit_admin=admin, session_token=f"race{n}", roles=[role] if role else [])
    db.session.add(user)
    return user


def _build_scene(app: Flask, reviewers: int) -> Scene:
    """A unit asking its new superior to accept it; the superior reviews in two levels, `reviewers` at level 1."""
    with app.app_context():
        superior = _unit(None, "hr")
        unit = _unit(superior, "declaring")
        password_hash = hash_password(PASSWORD)  # the suite's cheap hash method; one hash for every account
        _user(unit, password_hash, admin=True)
        role = Role(unit_id=superior.id, name="审核人员",
                    permissions=[RolePermission(permission_code=code) for code in ("inbox.view", "registration.review")])
        level1 = [_user(superior, password_hash, role=role) for _ in range(reviewers)]
        level2 = [_user(superior, password_hash, role=role)]
        db.session.flush()
        for number, members in ((1, level1), (2, level2)):
            level = AuditLevel(unit_id=superior.id, item_type="unit_registration", level_no=number,
                               name=f"第{number}级审核")
            level.members = [AuditLevelMember(user_id=u.id) for u in members]
            db.session.add(level)
        db.session.flush()
        instance = instances.start_process(
            "unit_superior_change", "unit_superior_change", 1, "变更上级单位（并发）", unit.id,
            {"change_request_id": 1, "levels": [1, 2], "reviewing_unit_id": superior.id}, None)
        [task] = db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id))
        db.session.commit()
        scene = Scene(
            unit_ids=[unit.id, superior.id],  # child first: the FK order for deleting
            user_ids=list(db.session.scalars(select(User.id).where(User.unit_id.in_([unit.id, superior.id])))),
            level1_ids=[u.id for u in level1], level2_ids=[u.id for u in level2],
            instance_id=instance.id, task_id=task.id, lock_version=instance.lock_version,
        )
        db.session.remove()
        return scene


def _remove_scene(app: Flask, scene: Scene) -> None:
    with app.app_context():
        db.session.rollback()
        task_ids = select(HumanTask.id).where(HumanTask.instance_id == scene.instance_id)
        db.session.execute(delete(HumanTaskCandidate).where(HumanTaskCandidate.task_id.in_(task_ids)))
        db.session.execute(delete(WorkflowEvent).where(WorkflowEvent.instance_id == scene.instance_id))
        db.session.execute(delete(HumanTask).where(HumanTask.instance_id == scene.instance_id))
        db.session.execute(delete(ProcessInstance).where(ProcessInstance.id == scene.instance_id))
        levels = select(AuditLevel.id).where(AuditLevel.unit_id.in_(scene.unit_ids))
        db.session.execute(delete(AuditLevelMember).where(AuditLevelMember.level_id.in_(levels)))
        db.session.execute(delete(AuditLevel).where(AuditLevel.unit_id.in_(scene.unit_ids)))
        db.session.execute(delete(AuditLog).where(or_(AuditLog.actor_id.in_(scene.user_ids),
                                                      AuditLog.unit_id.in_(scene.unit_ids))))
        db.session.execute(delete(UserRole).where(UserRole.user_id.in_(scene.user_ids)))
        roles = select(Role.id).where(Role.unit_id.in_(scene.unit_ids))
        db.session.execute(delete(RolePermission).where(RolePermission.role_id.in_(roles)))
        db.session.execute(delete(Role).where(Role.unit_id.in_(scene.unit_ids)))
        db.session.execute(delete(User).where(User.id.in_(scene.user_ids)))
        for unit_id in scene.unit_ids:
            db.session.execute(delete(Unit).where(Unit.id == unit_id))
        db.session.commit()
        db.session.remove()


def _signed_in(app: Flask, user_ids: list[int]) -> dict[int, FlaskClient]:
    """A test client per reviewer, each signed in through the real sign-in page (one after the other)."""
    with app.app_context():
        usernames = dict(db.session.execute(select(User.id, User.username).where(User.id.in_(user_ids))).all())
        db.session.remove()
    clients = {}
    for user_id in user_ids:
        client = app.test_client()
        response = client.post("/login", data={"username": usernames[user_id], "password": PASSWORD})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        clients[user_id] = client
    return clients


def _complete_at_once(app: Flask, task_id: int, user_ids: list[int]) -> list[tuple[int, int, str]]:
    """Each user posts the task's form in its own thread, all released together; (status, user id, body) each."""
    clients = _signed_in(app, user_ids)
    barrier = threading.Barrier(len(user_ids))
    outcomes: list[tuple[int, int, str]] = []
    lock = threading.Lock()

    def request(user_id: int) -> None:
        try:
            barrier.wait(timeout=30)
            response = clients[user_id].post(f"/inbox/tasks/{task_id}", data=FORM)
            outcome = (response.status_code, user_id, response.get_data(as_text=True)[-300:])
        except Exception as exc:  # reported by the assertions, with the others
            outcome = (-1, user_id, repr(exc))
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=request, args=(user_id,)) for user_id in user_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(outcomes) == len(user_ids), "a request thread did not finish"
    return outcomes


def _assert_one_winner_and_consistent(app: Flask, scene: Scene, outcomes: list[tuple[int, int, str]]) -> None:
    statuses = sorted(status for status, _, _ in outcomes)
    assert statuses == [302] + [409] * (len(outcomes) - 1), sorted(outcomes)
    [winner] = [user_id for status, user_id, _ in outcomes if status == 302]
    with app.app_context():
        instance = db.session.get(ProcessInstance, scene.instance_id)
        assert instance is not None and instance.status == "running"
        assert instance.lock_version == scene.lock_version + 1, "the instance was saved more than once"
        ready = runner.ready_user_tasks(instances._load_workflow(instance))
        rows = list(db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id)))
        open_rows = [row for row in rows if row.status == "open"]
        assert {(r.task_uuid, r.bpmn_id, r.level_no) for r in open_rows} == {
            (t.task_id, t.bpmn_id, t.data.get("level")) for t in ready}
        [done] = [row for row in rows if row.status == "done"]
        assert (done.id, done.completed_by_id, done.decision) == (scene.task_id, winner, "pass")
        assert len(rows) == 2, "only the contested task and the next level's task exist"
        [next_task] = open_rows
        assert next_task.level_no == 2
        assert set(db.session.scalars(select(HumanTaskCandidate.user_id).where(
            HumanTaskCandidate.task_id == next_task.id))) == set(scene.level2_ids)
        passes = list(db.session.scalars(select(WorkflowEvent).where(
            WorkflowEvent.instance_id == instance.id, WorkflowEvent.action == "pass")))
        assert [(e.human_task_id, e.actor_id) for e in passes] == [(scene.task_id, winner)]
        assert db.session.scalar(select(func.count()).select_from(WorkflowEvent).where(
            WorkflowEvent.instance_id == instance.id)) == 2  # start + the one pass
        db.session.remove()


@pytest.mark.skipif(not ON_POSTGRES, reason="needs PostgreSQL (set TEST_DATABASE_URL; `make test` does under CI): "
                    "row locks with SELECT … FOR UPDATE are what this test proves")
def test_twenty_reviewers_completing_one_task_on_postgres_one_wins_the_rest_get_409(committing_app):
    scene = _build_scene(committing_app, reviewers=20)
    try:
        outcomes = _complete_at_once(committing_app, scene.task_id, scene.level1_ids)
        _assert_one_winner_and_consistent(committing_app, scene, outcomes)
    finally:
        _remove_scene(committing_app, scene)


@pytest.mark.skipif(ON_POSTGRES, reason="SQLite variant; this run's database is PostgreSQL")
def test_five_reviewers_completing_one_task_on_sqlite_one_wins_the_rest_get_409(committing_app):
    # SQLite serializes writers: a loser's "database is locked" must surface as 409, not as a 500.
    scene = _build_scene(committing_app, reviewers=5)
    try:
        outcomes = _complete_at_once(committing_app, scene.task_id, scene.level1_ids)
        _assert_one_winner_and_consistent(committing_app, scene, outcomes)
    finally:
        _remove_scene(committing_app, scene)
