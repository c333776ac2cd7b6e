"""申报材料审核 at scale: declarations driven up realistic chains to the committee through the service layer.

The world: 四川省人社厅 above four cities, each with its 人社局 and its 教育局 (主管部门, by 主管部门配置 for the
city's region); SCHOOLS schools spread over the cities' counties under their 教育局. Every 中级 declaration goes
school → 教育局 → 市人社局 → 省人社厅 → 四川省中小学教师中级职称评审委员会 (formed by 四川省教育厅): four units
(review_paths.resolve_path), each with two configured 申报材料审核 levels (audit_chain.save_levels), then the
committee's 参评资格审核 (post committee_reviewer, a 省教育厅 user holding application.qualify). The applicants
(complete profiles) are spread over the schools and bulk-inserted; their drafts (start_declaration,
save_assessments, save_achievement, add_material) go through the services but are not measured.

Measured, each action a real service call in its own application context and transaction, committed like a
request (the actor loaded fresh through the app's user loader, the declaration as the page's POST loads it:
declarations.load_own / application_review.load_for_unit):
- submit:  declarations.submit (path resolved, instance started, first task projected);
- review:  application_review.review, one reviewer completing one task — 2 levels × 4 units, the school's
           first level with its 公示 dates and the two uploads (checked in the action);
- qualify: application_review.review of the committee's 参评资格审核 task — counted as an action too.
So a declaration costs 10 actions. They run level by level over all declarations (every school level 1, then
every level 2, …), the way a deadline batch moves; `actions_per_s` = measured actions / their summed seconds.

Also: `instance_state_kb` (median len(process_instance.state) / 1024 at the end, all completed) and
`instance_state_mid_kb` (when every declaration waits at 省人社厅, 7 tasks done); `inbox_page_p95_ms`: while
省人社厅 holds every declaration's open task, `GET /inbox/?tab=todo` for its level-1 reviewer through a signed-in
test client (the real view, as bench/inbox.py), p95 over INBOX_REQUESTS after one untimed request (the process's
first render of the page compiles its templates: 60-70 ms once, not the page's steady cost). A full collection of
Python's garbage collector (about 170 ms on this machine) can still land among them: the samples are printed.

`statements_per_action`: the SQL statements one action sends (an SQLAlchemy `before_cursor_execute` listener on
the engine; an executemany counts once; BEGIN and COMMIT are not counted — SQLite's BEGIN goes through the
cursor, psycopg's does not), median per kind — submission, level pass (a
unit's level 1 that is not the school's: 教育局, 市人社局, 省人社厅), routing pass (a unit's last level, which
routes the declaration to the next unit), 参评资格审核 — and per measured kind. On a database on another machine
each statement is a network round trip.

SQLite always (a temporary file); PostgreSQL when TEST_DATABASE_URL is set (a dedicated schema, dropped
afterwards), both in the same run, one after the other. Targets (issue #20, --declarations 1000):
postgres_actions_per_s ≥ 0.9 × sqlite_actions_per_s; a level pass ≤ 12 statements, a submission ≤ 20;
inbox_page_p95_ms ≤ 10 on both databases.

Run: .venv/bin/python bench/review_chain.py [--declarations N] [--databases sqlite,postgres] [--profile FILE]
[--profile-kind KIND] [--statements]   (last line of output is a JSON object; KIND one of the measured kinds, e.g. school_l2)
"""

from __future__ import annotations

import argparse
import cProfile
import inspect
import json
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flask import Flask  # noqa: E402
from sqlalchemy import event, func, insert, select  # noqa: E402
from sqlalchemy.engine.default import CacheStats  # noqa: E402

from app.extensions import db, login_manager  # noqa: E402
from app.models import (  # noqa: E402
    ActivityAchievement,
    ActivityLevel,
    ActivityMaterialRequirement,
    Applicant,
    ApplicantEducation,
    ApplicantWork,
    Committee,
    CommitteeLevel,
    CompetentAssignment,
    Declaration,
    HumanTask,
    HumanTaskCandidate,
    ProcessInstance,
    Region,
    ReviewActivity,
    ReviewPathLink,
    Role,
    RolePermission,
    Unit,
    User,
)
from bench.support.app_db import PASSWORD, build_app, drop_schema, signed_in  # noqa: E402
from services.applications import application_review, declarations  # noqa: E402
from services.applications.application_review import ReviewInput  # noqa: E402
from services.authz import audit_chain  # noqa: E402
from services.common import file_store  # noqa: E402
from services.reference.validation import (  # noqa: E402
    credit_code_check_char,
    id_number_birth_date,
    id_number_check_char,
    id_number_gender,
)

SERIES, METHOD, LEVEL = "primary_secondary_teacher", "intermediate_committee", "intermediate"
CITIES = {"510100": "成都市", "510600": "德阳市", "510700": "绵阳市", "511100": "乐山市"}
SCHOOLS = 200
LEVELS_PER_UNIT = 2
INBOX_REQUESTS = 50
DRAFT_BATCH = 250
SCHEMA = "bench_review_chain"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
OPINION = "材料齐全，同意上报"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华"
ROLE_NAMES = ("school", "competent", "city", "province")  # the four units of every path, in order


def ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def p95(samples: list[float]) -> float:
    return ms(statistics.quantiles(samples, n=20)[-1])


# --- the world ----------------------------------------------------------------------------------------------

@dataclass
class World:
    activity_id: int
    committee_id: int
    qualifier_id: int
    # unit id → its reviewers' ids by level (level 1 first); each level's first reviewer acts
    reviewers: dict[int, list[list[int]]] = field(default_factory=dict)
    province_id: int = 0
    busy_username: str = ""
    applicant_ids: list[int] = field(default_factory=list)


class Serial:
    def __init__(self) -> None:
        self.n = 0

    def __call__(self) -> int:
        self.n += 1
        return self.n


def _credit_code(n: int, prefix: str) -> str:
    body = f"{prefix}510100{n:09d}"
    return body + credit_code_check_char(body)


def build_world(declaration_count: int) -> World:
    from services.org.accounts import hash_password

    serial = Serial()
    regions = dict(db.session.execute(select(Region.code, Region.id)).all())
    children: dict[int, list[int]] = defaultdict(list)
    for region_id, parent_id in db.session.execute(select(Region.id, Region.parent_id)).all():
        if parent_id is not None:
            children[parent_id].append(region_id)
    password_hash = hash_password(PASSWORD)

    def unit(name: str, unit_type: str, region: int, parent: Unit | None) -> Unit:
        nature = "organ" if unit_type in ("hr", "competent") else "institution"
        row = Unit(name=name, credit_code=_credit_code(serial(), "11" if nature == "organ" else "12"),
                   parent_id=parent.id if parent else None, unit_type_code=unit_type, nature_code=nature,
                   region_id=region, phone="028-86000000", contact_name="联系人",
                   depth=(parent.depth + 1) if parent else 0)
        db.session.add(row)
        db.session.flush()
        row.path = f"{parent.path if parent else '/'}{row.id}/"
        return row

    def user(at: Unit, name: str, permissions: tuple[str, ...] = (), admin: bool = False) -> User:
        n = serial()
        row = User(username=f"rc_{n}", password_hash=password_hash, name=name, phone="13800000000", unit_id=at.id,
                   is_unit_admin=admin, session_token=f"rc{n}")
        if permissions:
            role = Role(unit_id=at.id, name=f"角色{n}")
            role.permissions = [RolePermission(permission_code=c) for c in permissions]
            row.roles = [role]
        db.session.add(row)
        return row

    world = World(0, 0, 0)
    review = ("application.review", "inbox.view")

    def levels(at: Unit, per_level: int) -> None:
        staff = [[user(at, f"审核员{lv}-{k}", review) for k in range(per_level)]
                 for lv in range(1, LEVELS_PER_UNIT + 1)]
        admin = user(at, "单位管理员", admin=True)
        db.session.flush()
        audit_chain.save_levels(admin, at, application_review.AUDIT_ITEM,
                                [{"name": f"第{n}级", "user_ids": [u.id for u in level]}
                                 for n, level in enumerate(staff, 1)])
        world.reviewers[at.id] = [[u.id for u in level] for level in staff]

    province = unit("四川省人力资源和社会保障厅", "hr", regions["510000B"], None)
    education = unit("四川省教育厅", "competent", regions["510000B"], province)
    committee = Committee(
        name="四川省中小学教师中级职称评审委员会", agency="四川省教育厅人事处", office="职称办公室",
        forming_unit_id=education.id, review_type="regular", authorizing_unit_id=education.id,
        filing_unit_id=province.id, contact_name="周联系", contact_phone="028-86000000", address="成都市青羊区",
        build_mode="series", series_code=SERIES, region_id=regions["510000"], status="filed",
        filed_on=date.today() - timedelta(days=30), valid_until=date.today() + timedelta(days=700),
        applicant_natures=[])
    committee.levels = [CommitteeLevel(level_code=LEVEL)]
    db.session.add(committee)
    db.session.flush()
    levels(province, 2)
    qualifier = user(education, "评委会资格审核", ("application.qualify", "inbox.view"))
    db.session.add(ReviewPathLink(method_code=METHOD, level_code=LEVEL, subordinate_unit_id=province.id,
                                  committee_id=committee.id, owner_unit_id=province.id))
    schools: list[Unit] = []
    per_city = SCHOOLS // len(CITIES)
    for code, city_name in CITIES.items():
        city = unit(f"{city_name}人力资源和社会保障局", "hr", regions[f"{code}B"], province)
        competent = unit(f"{city_name}教育局", "competent", regions[f"{code}B"], city)
        levels(city, 2)
        levels(competent, 2)
        db.session.add_all([
            CompetentAssignment(region_id=regions[code], committee_id=committee.id, competent_unit_id=competent.id,
                                owner_unit_id=city.id),
            ReviewPathLink(method_code=METHOD, level_code=LEVEL, subordinate_unit_id=competent.id,
                           superior_unit_id=city.id, owner_unit_id=city.id),
            ReviewPathLink(method_code=METHOD, level_code=LEVEL, subordinate_unit_id=city.id,
                           superior_unit_id=province.id, owner_unit_id=province.id)])
        counties = sorted(r for r in children[regions[code]] if r != regions[f"{code}B"])
        for n in range(per_city):
            school = unit(f"{city_name}第{n + 1}中学校", "declaring", counties[n % len(counties)], competent)
            levels(school, 1)
            schools.append(school)
    activity = ReviewActivity(
        committee_id=committee.id, unit_id=education.id, reviewing_unit_id=education.id,
        name=f"{date.today().year}年度四川省中小学教师中级职称评审", scope="四川省", year=date.today().year,
        category="annual", review_method="expert_review", exceptional_review=False, written_exam="none",
        interview="none", specialty_groups=False, group_method="",
        apply_start=datetime.now() - timedelta(days=10), first_submit_deadline=datetime.now() + timedelta(days=20),
        revise_submit_deadline=datetime.now() + timedelta(days=30),
        committee_receive_deadline=datetime.now() + timedelta(days=40), status="published",
        published_at=datetime.now() - timedelta(days=11), policy_files=[], plan_files=[])
    activity.levels = [ActivityLevel(level_code=LEVEL)]
    activity.achievements = [ActivityAchievement(position=1, title="论文论著", templates=["paper", "general"],
                                                 description="", required=True, min_count=1, max_count=5)]
    activity.material_requirements = [ActivityMaterialRequirement(position=1, name="身份证明", required=True,
                                                                  max_files=2, max_size_mb=5, file_types=["pdf"])]
    db.session.add(activity)
    db.session.commit()
    world.activity_id, world.committee_id, world.qualifier_id = activity.id, committee.id, qualifier.id
    world.province_id = province.id
    busy = db.session.get(User, world.reviewers[province.id][0][0])
    assert busy is not None
    world.busy_username = busy.username
    world.applicant_ids = insert_applicants([s.id for s in schools], declaration_count)
    return world


def insert_applicants(school_ids: list[int], count: int) -> list[int]:
    """`count` applicants with complete profiles, round-robin over the schools (Core executemany)."""
    rows = []
    for n in range(count):
        birth = date(1975, 1, 1) + timedelta(days=n // 500)
        body = f"510104{birth:%Y%m%d}{n % 500:03d}"
        number = body + id_number_check_char(body)
        name = SURNAMES[n % len(SURNAMES)] + GIVEN[(n // 20) % len(GIVEN)] + GIVEN[(n // 500) % len(GIVEN)]
        rows.append({"name": name, "id_type": "居民身份证", "id_number": number, "gender": id_number_gender(number),
                     "birth_date": id_number_birth_date(number), "phone": f"139{n:08d}",
                     "unit_id": school_ids[n % len(school_ids)], "password_hash": "-", "session_token": f"ap{n}",
                     "ethnicity": "汉族", "political_status": "群众", "work_start_date": date(2005, 9, 1),
                     "specialty": "中学数学", "title_id": None, "enabled": True, "failed_logins": 0})
    ids = list(db.session.execute(insert(Applicant).returning(Applicant.id, sort_by_parameter_order=True),
                                  rows).scalars())
    db.session.execute(insert(ApplicantEducation), [
        {"applicant_id": a, "education": "大学本科", "degree": "学士", "school": "四川师范大学",
         "major": "数学与应用数学", "start_date": date(2001, 9, 1), "end_date": date(2005, 7, 1)} for a in ids])
    db.session.execute(insert(ApplicantWork), [
        {"applicant_id": a, "start_date": date(2005, 9, 1), "end_date": None, "unit_name": "第一中学校",
         "position": "教师"} for a in ids])
    db.session.commit()
    return ids


def draft(app: Flask, world: World) -> list[int]:
    """Every applicant's 暂存 declaration, complete, through the services (not measured); batches commit."""
    ids: list[int] = []
    item_id = requirement_id = 0
    for start in range(0, len(world.applicant_ids), DRAFT_BATCH):
        with app.app_context():
            activity = db.session.get(ReviewActivity, world.activity_id)
            assert activity is not None
            item_id, requirement_id = activity.achievements[0].id, activity.material_requirements[0].id
            now = datetime.now()
            for applicant_id in world.applicant_ids[start:start + DRAFT_BATCH]:
                applicant = db.session.get(Applicant, applicant_id)
                assert applicant is not None
                declaration = declarations.start_declaration(applicant, activity.id, {"level_code": LEVEL}, now)
                declarations.save_assessments(applicant, declaration, [{"year": now.year - 1, "result": "合格"}],
                                              now)
                declarations.save_achievement(applicant, declaration, item_id, "paper", {
                    "paper_name": "初中函数教学研究", "published_on": "2022-03-01", "category": "论文",
                    "journal": "中学数学", "journal_number": "CN51-1234/G4", "author_rank": "独著",
                    "words_thousands": "5"}, now=now)
                declarations.add_material(applicant, declaration, requirement_id, "身份证.pdf", PDF, now)
                ids.append(declaration.id)
            db.session.commit()
    return ids


# --- the measured actions -----------------------------------------------------------------------------------

CPU_SECONDS: list[float] = []  # this process's CPU time of each measured action (robust to a busy machine)
STATEMENTS: list[int] = []  # the SQL statements of each measured action
_COUNTER = [0]
_MISSES = [0]
MISSES: list[int] = []  # statements of each measured action that missed SQLAlchemy's compiled cache
SHOWN: list[str] = []  # --statements: the SQL of the action being measured
ROUND_TRIPS: list[int] = []  # PostgreSQL: the waits for the server of each measured action (see count_round_trips)
_WAITS = [0]


def count_round_trips() -> None:
    """Count psycopg's waits for the server's reply: every statement, BEGIN, COMMIT, the pool's pre-ping.

    psycopg sends each command and then runs its `execute` generator until the results are in: one call is one
    round trip (a pipeline's sync runs `pipeline_communicate` instead, counted once per sync). Only PostgreSQL.
    """
    import psycopg._connection_base as connection_base
    import psycopg._cursor_base as cursor_base
    import psycopg._pipeline_base as pipeline_base

    def counting(original: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            _WAITS[0] += 1
            return original(*args, **kwargs)
        return wrapper

    for module in (connection_base.generators, cursor_base):
        if not getattr(module.execute, "_counted", False):
            module.execute = counting(module.execute)
            module.execute._counted = True
    if not getattr(pipeline_base.pipeline_communicate, "_counted", False):
        pipeline_base.pipeline_communicate = counting(pipeline_base.pipeline_communicate)
        pipeline_base.pipeline_communicate._counted = True


def count_statements(app: Flask) -> None:
    """Count every statement the app's engine sends (executemany once); COMMIT and pool pings are not counted."""
    def counted(_conn: Any, _cursor: Any, statement: str, _parameters: Any, context: Any, _many: bool) -> None:
        if statement == "BEGIN":  # SQLite's explicit BEGIN (app._configure_sqlite); psycopg's is implicit
            return
        _COUNTER[0] += 1
        if getattr(context, "compiled", None) is not None and context.cache_hit is not CacheStats.CACHE_HIT:
            _MISSES[0] += 1  # compiled anew: a statement built per call that SQLAlchemy's cache cannot serve
        SHOWN.append(" ".join(statement.split())[:300])

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", counted)


def timed(app: Flask, action: Callable[[], Any]) -> float:
    """One request's worth of work: a fresh application context and session, the action, COMMIT."""
    began, cpu = time.perf_counter(), time.process_time()
    _COUNTER[0] = _MISSES[0] = _WAITS[0] = 0
    SHOWN.clear()
    with app.app_context():
        action()
        db.session.commit()
    CPU_SECONDS.append(time.process_time() - cpu)
    STATEMENTS.append(_COUNTER[0])
    ROUND_TRIPS.append(_WAITS[0])
    MISSES.append(_MISSES[0])
    return time.perf_counter() - began


def account(user_id: int) -> Any:
    """The signed-in account as a request has it: through the app's own user loader (Flask-Login's callback)."""
    token = TOKENS.get(user_id)
    if token is None:
        token = TOKENS[user_id] = db.session.scalar(select(User.session_token).where(User.id == user_id))
    user = login_manager._user_callback(f"{user_id}:{token}")  # noqa: SLF001 — the loader the requests use
    assert user is not None
    return user


TOKENS: dict[int, str | None] = {}
# The review page's POST loads the declaration with load_for_unit(..., acting=True) since issue 20's second pass;
# the code at issue time (run side by side for the CPU figure) has no such argument and loads it whole.
ACTING_LOAD = "acting" in inspect.signature(application_review.load_for_unit).parameters
PREPARE_THRESHOLD: list[int | None] = []  # --prepare-threshold


def submit_action(applicant_id: int, declaration_id: int) -> Callable[[], Any]:
    def run() -> None:
        token = APPLICANT_TOKENS[applicant_id]
        applicant = login_manager._user_callback(f"a:{applicant_id}:{token}")  # noqa: SLF001
        assert applicant is not None
        declaration = declarations.load_own(applicant, declaration_id)  # as POST /declarations/<id>/submit
        declarations.submit(applicant, declaration, datetime.now())
    return run


APPLICANT_TOKENS: dict[int, str] = {}


def publicity_input() -> ReviewInput:
    today = date.today()
    uploads = {kind: (file_store.check(application_review.attachment_field(kind), f"{kind}.pdf", PDF), PDF)
               for kind in ("publicity_proof", "recommendation")}
    return ReviewInput("pass", OPINION, publicity_start=today - timedelta(days=14),
                       publicity_end=today - timedelta(days=3), uploads=uploads)


def review_action(user_id: int, declaration_id: int, task_id: int, first_at_school: bool,
                  opinion: str = OPINION) -> Callable[[], Any]:
    def run() -> None:
        actor = account(user_id)
        # as POST /review/applications/<id> (its `acting` load, when the code under test has one)
        declaration = (application_review.load_for_unit(actor, declaration_id, acting=True) if ACTING_LOAD
                       else application_review.load_for_unit(actor, declaration_id))
        data = publicity_input() if first_at_school else ReviewInput("pass", opinion)
        application_review.review(actor, declaration, task_id, data)
    return run


def open_tasks(app: Flask) -> dict[int, tuple[int, int, int | None]]:
    """declaration id → (open task id, its unit, its level) — what each reviewer's inbox links to (untimed)."""
    with app.app_context():
        rows = db.session.execute(select(HumanTask.business_id, HumanTask.id, HumanTask.unit_id, HumanTask.level_no)
                                  .where(HumanTask.business_type == application_review.BUSINESS_TYPE,
                                         HumanTask.status == "open")).all()
        return {business_id: (task_id, unit_id, level_no) for business_id, task_id, unit_id, level_no in rows}


def state_sizes_kb(app: Flask) -> dict[str, float]:
    with app.app_context():
        sizes = list(db.session.scalars(select(func.length(ProcessInstance.state)).where(
            ProcessInstance.business_type == application_review.BUSINESS_TYPE)))
        tasks = db.session.scalar(select(func.count()).select_from(HumanTask).where(
            HumanTask.business_type == application_review.BUSINESS_TYPE))
    return {"median_kb": round(statistics.median(sizes) / 1024, 2), "max_kb": round(max(sizes) / 1024, 2),
            "instances": len(sizes), "human_tasks": tasks or 0}


def measure_inbox(app: Flask, world: World) -> dict[str, Any]:
    client = signed_in(app, world.busy_username)
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == world.busy_username))
        assert user is not None
        open_for_user = db.session.scalar(select(func.count()).select_from(HumanTaskCandidate).where(
            HumanTaskCandidate.user_id == user.id, HumanTaskCandidate.is_open.is_(True)))
    assert client.get("/inbox/?tab=todo").status_code == 200  # untimed: the templates' first compilation
    samples = []
    for _ in range(INBOX_REQUESTS):
        began = time.perf_counter()
        response = client.get("/inbox/?tab=todo")
        samples.append(time.perf_counter() - began)
        assert response.status_code == 200, response.status_code
    print(f"  inbox page, ms per request in order: {[round(s * 1000, 1) for s in samples]}")
    return {"inbox_page_p95_ms": p95(samples), "inbox_page_median_ms": ms(statistics.median(samples)),
            "inbox_open_tasks": open_for_user or 0}


def drive(app: Flask, world: World, declaration_ids: list[int], label: str,
          profiler: cProfile.Profile | None, profile_kind: str = "", show: bool = False) -> dict[str, Any]:
    kinds: dict[str, list[float]] = defaultdict(list)
    statements: dict[str, list[int]] = defaultdict(list)
    cpu: dict[str, list[float]] = defaultdict(list)
    misses: dict[str, list[int]] = defaultdict(list)
    trips: dict[str, list[int]] = defaultdict(list)
    figures: dict[str, Any] = {}

    def run(kind: str, action: Callable[[], Any]) -> None:
        profiling = profiler is not None and profile_kind in ("", kind)
        if profiling:
            profiler.enable()
        try:
            kinds[kind].append(timed(app, action))
        finally:
            if profiling:
                profiler.disable()
        statements[kind].append(STATEMENTS[-1])
        cpu[kind].append(CPU_SECONDS[-1])
        misses[kind].append(MISSES[-1])
        trips[kind].append(ROUND_TRIPS[-1])
        if show and len(statements[kind]) == 2:  # the second of its kind (caches warm)
            print(f"  --- {label} {kind}: {len(SHOWN)} statements")
            for n, sql in enumerate(SHOWN, 1):
                print(f"  {n:3d} {sql}")

    with app.app_context():
        TOKENS.update(db.session.execute(select(User.id, User.session_token)).tuples().all())
        APPLICANT_TOKENS.update(db.session.execute(select(Applicant.id, Applicant.session_token)).tuples().all())
        applicants = dict(db.session.execute(select(Declaration.id, Declaration.applicant_id).where(
            Declaration.id.in_(declaration_ids))).all()) if len(declaration_ids) < 1000 else \
            dict(db.session.execute(select(Declaration.id, Declaration.applicant_id)).all())
    began = time.perf_counter()
    for declaration_id in declaration_ids:
        run("submit", submit_action(applicants[declaration_id], declaration_id))
    progress(label, "submit", kinds["submit"], began)

    for unit_index, role in enumerate(ROLE_NAMES):
        for level in range(1, LEVELS_PER_UNIT + 1):
            tasks = open_tasks(app)
            if unit_index == 3 and level == 1:  # every declaration waits at 省人社厅: the busiest unit
                figures["instance_state_mid"] = state_sizes_kb(app)
                figures.update(measure_inbox(app, world))
            kind = f"{role}_l{level}"
            began = time.perf_counter()
            for declaration_id in declaration_ids:
                task_id, unit_id, level_no = tasks[declaration_id]
                assert level_no == level, (declaration_id, level_no, level)
                user_id = world.reviewers[unit_id][level - 1][0]
                run(kind, review_action(user_id, declaration_id, task_id, unit_index == 0 and level == 1))
            progress(label, kind, kinds[kind], began)
    tasks = open_tasks(app)
    began = time.perf_counter()
    for declaration_id in declaration_ids:
        task_id, _, _ = tasks[declaration_id]
        run("qualify", review_action(world.qualifier_id, declaration_id, task_id, False, "符合参评条件"))
    progress(label, "qualify", kinds["qualify"], began)

    with app.app_context():
        accepted = db.session.scalar(select(func.count()).select_from(Declaration).where(
            Declaration.status == "accepted"))
        left = db.session.scalar(select(func.count()).select_from(HumanTask).where(HumanTask.status == "open"))
    assert accepted == len(declaration_ids) and left == 0, (accepted, left)
    figures["instance_state_end"] = state_sizes_kb(app)
    figures["kinds"] = {kind: {"n": len(v), "median_ms": ms(statistics.median(v)), "p95_ms": p95(v) if len(v) > 1
                               else ms(v[0]), "total_s": round(sum(v), 2),
                               "statements": statistics.median(statements[kind]),
                               "round_trips": statistics.median(trips[kind]),
                               "cpu_ms": ms(statistics.median(cpu[kind])),
                               "cache_misses": statistics.mean(misses[kind][len(v) // 2:])} for kind, v in kinds.items()}
    level_pass = [n for role in ROLE_NAMES[1:] for n in statements[f"{role}_l1"]]
    routing_pass = [n for role in ROLE_NAMES for n in statements[f"{role}_l{LEVELS_PER_UNIT}"]]
    figures["statements_per_action"] = {
        "submission": statistics.median(statements["submit"]), "level_pass": statistics.median(level_pass),
        "routing_pass": statistics.median(routing_pass), "qualification": statistics.median(statements["qualify"]),
        "school_level_1": statistics.median(statements[f"{ROLE_NAMES[0]}_l1"])}
    if any(trips["submit"]):  # PostgreSQL: psycopg's waits, by the same kinds
        figures["round_trips_per_action"] = {
            "submission": statistics.median(trips["submit"]),
            "level_pass": statistics.median([n for role in ROLE_NAMES[1:] for n in trips[f"{role}_l1"]]),
            "routing_pass": statistics.median([n for role in ROLE_NAMES for n in trips[f"{role}_l{LEVELS_PER_UNIT}"]]),
            "qualification": statistics.median(trips["qualify"]),
            "school_level_1": statistics.median(trips[f"{ROLE_NAMES[0]}_l1"])}
    figures["actions"] = sum(len(v) for v in kinds.values())
    figures["cpu_ms_per_action"] = ms(sum(CPU_SECONDS) / len(CPU_SECONDS))
    CPU_SECONDS.clear()
    figures["measured_s"] = round(sum(sum(v) for v in kinds.values()), 2)
    return figures


def progress(label: str, kind: str, samples: list[float], began: float) -> None:
    tail = STATEMENTS[-len(samples):]
    cpu = CPU_SECONDS[-len(samples):]
    print(f"  {label} {kind:<12} {len(samples):>6} actions, median {ms(statistics.median(samples)):7.2f} ms, "
          f"{len(samples) / sum(samples):6.1f} actions/s, {statistics.median(tail):4.0f} statements, "
          f"CPU {ms(statistics.median(cpu)):6.2f} ms (wall {time.perf_counter() - began:6.1f} s)", flush=True)


def run(label: str, count: int, postgres_url: str | None, profile: str | None, profile_kind: str = "",
        show: bool = False) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"bench_review_chain_{label}_") as tmp:
        began = time.perf_counter()
        app = build_app(Path(tmp), postgres_url, SCHEMA)
        if postgres_url and PREPARE_THRESHOLD:
            with app.app_context():
                db.engine.dispose()
                event.listen(db.engine, "connect", lambda dbapi, _record: setattr(
                    dbapi, "prepare_threshold", PREPARE_THRESHOLD[0]))
        count_statements(app)
        if postgres_url:
            count_round_trips()
        with app.app_context():
            world = build_world(count)
        built = time.perf_counter() - began
        began = time.perf_counter()
        declaration_ids = draft(app, world)
        drafted = time.perf_counter() - began
        print(f"{label}: world built in {built:.1f} s ({SCHOOLS} schools, {count} applicants); "
              f"{len(declaration_ids)} drafts through the services in {drafted:.1f} s", flush=True)
        profiler = cProfile.Profile() if profile else None
        figures = drive(app, world, declaration_ids, label, profiler, profile_kind, show)
        if profiler is not None and profile:
            profiler.dump_stats(f"{profile}.{label}")
            print(f"{label}: profile of the measured actions in {profile}.{label}")
        with app.app_context():
            db.engine.dispose()
    rate = figures["actions"] / figures["measured_s"]
    mid, end = figures["instance_state_mid"], figures["instance_state_end"]
    print(f"{label}: {figures['actions']} actions in {figures['measured_s']} s → {rate:.1f} actions/s; state median "
          f"{mid['median_kb']} KB in flight, {end['median_kb']} KB at the end; inbox p95 "
          f"{figures['inbox_page_p95_ms']} ms over {figures['inbox_open_tasks']} open tasks; this process's CPU "
          f"{figures['cpu_ms_per_action']} ms per action", flush=True)
    return {f"{label}_actions_per_s": round(rate, 1), f"{label}_actions": figures["actions"],
            f"{label}_measured_s": figures["measured_s"],
            f"{label}_cpu_ms_per_action": figures["cpu_ms_per_action"],
            f"{label}_instance_state_kb": end["median_kb"], f"{label}_instance_state_mid_kb": mid["median_kb"],
            f"{label}_inbox_page_p95_ms": figures["inbox_page_p95_ms"],
            f"{label}_inbox_page_median_ms": figures["inbox_page_median_ms"],
            f"{label}_inbox_open_tasks": figures["inbox_open_tasks"],
            f"{label}_statements_per_action": figures["statements_per_action"],
            f"{label}_statements_by_kind": {k: v["statements"] for k, v in figures["kinds"].items()},
            **({f"{label}_round_trips_per_action": figures["round_trips_per_action"],
                f"{label}_round_trips_by_kind": {k: v["round_trips"] for k, v in figures["kinds"].items()}}
               if "round_trips_per_action" in figures else {}),
            f"{label}_cpu_ms_by_kind": {k: v["cpu_ms"] for k, v in figures["kinds"].items()},
            # statements compiled anew per action (mean over the second half of each kind: the cache is warm)
            f"{label}_compiled_cache_misses_by_kind": {k: round(v["cache_misses"], 2)
                                                       for k, v in figures["kinds"].items()},
            f"{label}_action_median_ms": {k: v["median_ms"] for k, v in figures["kinds"].items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--declarations", type=int, default=10_000)
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--profile", help="write cProfile stats of the measured actions to FILE.<database>")
    parser.add_argument("--profile-kind", default="", help="profile only this kind of action (submit, school_l1, "
                        "competent_l1, …, province_l2, qualify)")
    parser.add_argument("--statements", action="store_true", help="print the SQL of one action of each kind")
    parser.add_argument("--prepare-threshold", default="", help="psycopg's prepare_threshold for PostgreSQL "
                        "(default psycopg's 5; 'none': never prepare server-side; 0: prepare at once)")
    args = parser.parse_args()
    wanted = [d.strip() for d in args.databases.split(",") if d.strip()]
    figures: dict[str, Any] = {"benchmark": "review_chain", "declarations": args.declarations,
                               "units_per_path": len(ROLE_NAMES), "levels_per_unit": LEVELS_PER_UNIT,
                               "schools": SCHOOLS,
                               "actions_per_declaration": 1 + len(ROLE_NAMES) * LEVELS_PER_UNIT + 1}
    if "sqlite" in wanted:
        figures.update(run("sqlite", args.declarations, None, args.profile, args.profile_kind,
                           args.statements))
    postgres_url = os.environ.get("TEST_DATABASE_URL")
    if "postgres" in wanted and postgres_url:
        if args.prepare_threshold:
            PREPARE_THRESHOLD.append(None if args.prepare_threshold == "none" else int(args.prepare_threshold))
            figures["prepare_threshold"] = args.prepare_threshold
        try:
            figures.update(run("postgres", args.declarations, postgres_url, args.profile, args.profile_kind,
                           args.statements))
        finally:
            drop_schema(postgres_url, SCHEMA)
    elif "postgres" in wanted:
        print("postgres: skipped (set TEST_DATABASE_URL to measure PostgreSQL too)")
    # The keys: the SQLite figures unless only PostgreSQL ran.
    main_label = "sqlite" if "sqlite_actions_per_s" in figures else "postgres"
    if f"{main_label}_actions_per_s" in figures:
        figures["instance_state_kb"] = figures[f"{main_label}_instance_state_kb"]
        figures["inbox_page_p95_ms"] = figures[f"{main_label}_inbox_page_p95_ms"]
        figures["statements_per_action"] = figures[f"{main_label}_statements_per_action"]
    if "sqlite_actions_per_s" in figures:
        print(f"target sqlite_actions_per_s ≥ 60: {'met' if figures['sqlite_actions_per_s'] >= 60 else 'NOT met'}")
    if "sqlite_actions_per_s" in figures and "postgres_actions_per_s" in figures:
        ratio = figures["postgres_actions_per_s"] / figures["sqlite_actions_per_s"]
        figures["postgres_over_sqlite"] = round(ratio, 3)
        print(f"postgres_actions_per_s {figures['postgres_actions_per_s']} beside sqlite_actions_per_s "
              f"{figures['sqlite_actions_per_s']} (the floor, same run): ratio {ratio:.2f}, target ≥ 0.9: "
              f"{'met' if ratio >= 0.9 else 'NOT met'}; CPU per action {figures['postgres_cpu_ms_per_action']} ms "
              f"against {figures['sqlite_cpu_ms_per_action']} ms")
    for label in ("sqlite", "postgres"):
        if f"{label}_statements_per_action" in figures:
            spa = figures[f"{label}_statements_per_action"]
            print(f"{label} statements per action: {spa} (targets: level pass ≤ 12: "
                  f"{'met' if spa['level_pass'] <= 12 else 'NOT met'}, submission ≤ 20: "
                  f"{'met' if spa['submission'] <= 20 else 'NOT met'}); inbox_page_p95_ms "
                  f"{figures[f'{label}_inbox_page_p95_ms']} (target ≤ 10: "
                  f"{'met' if figures[f'{label}_inbox_page_p95_ms'] <= 10 else 'NOT met'})")
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
