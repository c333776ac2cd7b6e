"""Round trips of the review chain's actions, counted (issue 20): on PostgreSQL on another machine every statement
is a network round trip, so a change that adds statements to a level pass must fail here, loudly, with the SQL.

Counted with an SQLAlchemy `before_cursor_execute` listener on the engine (an executemany counts once; SQLite's
explicit BEGIN is not counted: psycopg sends its own without the cursor; nor the suite's SAVEPOINTs, which stand
for a request's BEGIN and COMMIT). The action is what a request does
after signing in: load the declaration as the page's POST does (application_review.load_for_unit(..., acting=True)), review.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime

from declaration_helpers import (
    build_world,
    complete_profile,
    decide,
    open_task,
    pass_unit,
    publicity_input,
    ready_declaration,
    submitted_declaration,
)
from sqlalchemy import event

from app import auth
from app.extensions import db
from services.applications import application_review, declarations
from services.applications.application_review import ReviewInput

# 11 of the review chain's own, and since issue 19 one INSERT of the new task's notifications (services/notifications:
# one bulk INSERT in the caller's transaction); bench/review_chain.py adds the user loader's statement.
LEVEL_PASS_MAX = 12
ROUTING_PASS_MAX = 17  # to the committee: its forming unit, and 参评资格审核 staff by permission (no levels)
# PostgreSQL sends a step's writes (task done, candidates closed, trail, state, new task, its candidates and their
# notifications) as one statement of data-modifying CTEs (services/workflow/instances._step_writes): the
# declaration, the lock with the task, the current step, the writes.
POSTGRES_LEVEL_PASS_MAX = 4
POSTGRES_ROUTING_PASS_MAX = 10
# A submission from a unit whose path this process resolved under the same configuration (services/common/
# config_cache.py): the applicant as the user loader reads them (3), the declaration, the blacklist and the
# activity with what 提交 checks (8), the configuration generation (1), the writes (declaration, its first step,
# instance, trail, task, candidates, notification, audit log: 8). The first submission from a unit after a
# configuration change resolves the path as before (about ten more).
SUBMISSION_MAX = 20
# The applicant's 重新提交 after a 退回: the reads of 提交 (the applicant, the declaration, the activity …: 12), the
# task, the lock, the arrivals, the writes (the arrivals, the declaration, the step's, the audit log). Before the
# applicant's step went through complete_checked_task (issue 20): 30 and 29.
RESUBMISSION_MAX = 26
POSTGRES_RESUBMISSION_MAX = 22
# 审核退回 to the applicant: a level's step with the 退回 and the applicant's notice (the activity's name and 个人修改
# 提交截止时间: one narrow read; the ReviewActivity loaded for them took 6 statements before).
RETURN_TO_APPLICANT_MAX = 14
POSTGRES_RETURN_TO_APPLICANT_MAX = 9


@contextmanager
def counted() -> Iterator[list[str]]:
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:  # noqa: ANN001
        if statement != "BEGIN" and "SAVEPOINT" not in statement:  # the suite's transactions: BEGIN / COMMIT here
            statements.append(" ".join(statement.split())[:160])

    engine = db.session.get_bind()
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


PASS = ReviewInput("pass", "同意")


def review_as_a_request(declaration_id: int, user, data: ReviewInput = PASS,  # noqa: ANN001
                        fresh_session: bool = False) -> list[str]:
    task_id = open_task(db.session.get(application_review.Declaration, declaration_id), user).id
    db.session.commit()  # a request starts a transaction of its own
    if fresh_session:
        db.session.expunge_all()  # and a session of its own: nothing loaded before
    with counted() as statements:
        declaration = application_review.load_for_unit(user, declaration_id, acting=True)
        application_review.review(user, declaration, task_id, data)
        db.session.commit()
    return statements


def test_a_level_pass_and_a_routing_pass_keep_their_round_trips(make_unit, make_user, make_applicant):
    world = build_world(make_unit, make_user, make_applicant)
    declaration = submitted_declaration(world)
    pass_unit(world, declaration, world.chain.school, publicity_input())
    pass_unit(world, declaration, world.chain.competent)
    # 乐山市人社局 has two levels: its first is a level pass, its second routes the declaration to the committee.
    level_pass = review_as_a_request(declaration.id, world.city_reviewers[0])
    routing_pass = review_as_a_request(declaration.id, world.city_reviewers[1])
    assert declaration.at_committee
    postgres = db.session.get_bind().dialect.name == "postgresql"
    assert len(level_pass) <= (POSTGRES_LEVEL_PASS_MAX if postgres else LEVEL_PASS_MAX), "a level pass sends more statements than before:\n" + "\n".join(
        level_pass)
    assert len(routing_pass) <= (POSTGRES_ROUTING_PASS_MAX if postgres else ROUTING_PASS_MAX), "a routing pass sends more statements than before:\n" + "\n".join(
        routing_pass)


def test_a_return_to_the_applicant_keeps_its_round_trips(make_unit, make_user, make_applicant):
    world = build_world(make_unit, make_user, make_applicant)
    declaration = submitted_declaration(world)
    decide(declaration, world.school_reviewers[0], publicity_input())
    declaration_id = declaration.id

    statements = review_as_a_request(declaration_id, world.school_reviewers[1],
                                     ReviewInput("return", "请补充业绩材料", return_to="applicant"),
                                     fresh_session=True)  # the activity not in the session, as in a request

    declaration = db.session.get(application_review.Declaration, declaration_id)
    assert declaration.status == "returned"
    postgres = db.session.get_bind().dialect.name == "postgresql"
    assert len(statements) <= (POSTGRES_RETURN_TO_APPLICANT_MAX if postgres else RETURN_TO_APPLICANT_MAX), "a return to the applicant sends more statements than before:\n" + "\n".join(statements)


def test_a_submission_keeps_its_round_trips(make_unit, make_user, make_applicant):
    world = build_world(make_unit, make_user, make_applicant)
    submitted_declaration(world)  # the school's first submission resolves its path under this configuration
    colleague = make_applicant(world.chain.school, name="李老师")
    complete_profile(colleague)
    declaration_id = ready_declaration(replace(world, applicant=colleague)).id
    token = f"{colleague.id}:{colleague.session_token}"
    db.session.commit()  # a request starts a transaction of its own
    db.session.expunge_all()  # and a session of its own: nothing loaded before
    with counted() as statements:
        applicant = auth._load_user(f"a:{token}")  # noqa: SLF001 — the loader a signed-in request goes through
        declaration = declarations.load_own(applicant, declaration_id)
        declarations.submit(applicant, declaration, datetime.now())
        db.session.commit()
    assert declaration.status == "reviewing" and declaration.path[-1]["name"]
    assert len(statements) <= SUBMISSION_MAX, "a submission sends more statements than before:\n" + "\n".join(
        statements)


def test_a_resubmission_keeps_its_round_trips(make_unit, make_user, make_applicant):
    world = build_world(make_unit, make_user, make_applicant)
    declaration = submitted_declaration(world)
    decide(declaration, world.school_reviewers[0], publicity_input())
    decide(declaration, world.school_reviewers[1], ReviewInput("return", "请补充业绩材料", return_to="applicant"))
    assert declaration.status == "returned"
    token = f"{world.applicant.id}:{world.applicant.session_token}"
    declaration_id = declaration.id
    db.session.commit()  # a request starts a transaction of its own
    db.session.expunge_all()  # and a session of its own: nothing loaded before
    with counted() as statements:
        applicant = auth._load_user(f"a:{token}")  # noqa: SLF001 — the loader a signed-in request goes through
        declaration = declarations.load_own(applicant, declaration_id)
        declarations.submit(applicant, declaration, datetime.now(), note="已补充业绩材料")
        db.session.commit()
    assert declaration.status == "reviewing" and declaration.current_unit_id == world.chain.school.id
    postgres = db.session.get_bind().dialect.name == "postgresql"
    assert len(statements) <= (POSTGRES_RESUBMISSION_MAX if postgres else RESUBMISSION_MAX), "a resubmission sends more statements than before:\n" + "\n".join(statements)
