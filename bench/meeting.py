"""Review meetings (issue 15): the expert draw, the count, one expert's vote.

Figures, each beside a floor measured in the same run:
- draw_ms_p95: services.meetings.drawing.draw (every rule, a reason for every expert) drawing 25 experts in three
  groups at 1.5 倍 from a 20,000-expert pool, 50 draws with different seeds (target ≤ 50 ms). Floor: shuffling the
  20,000 candidates once with the same seeded generator. Also draw_service_ms_p95: a 补抽 of 25 through the service
  on the database (read the pool of the group's specialty — ~4,000 of the 20,000-expert library — and its history,
  draw, store pool + reasons + drawn experts) — 10 runs; floor: the SELECT of the library's 20,000 rows.
- tally_ms_p95: voting.applicant_tallies of a meeting with 25 confirmed experts and 500 applicants (12,500 ballots,
  all submitted) — the 计票结果 page's work (target ≤ 200 ms). Floor: the bare GROUP BY that counts the 12,500
  ballots per applicant and vote (the database's share of the work).
- expert_vote_ms_p95: one expert's `POST /expert/meetings/<id>/applicants/<row>` through a signed-in Flask test
  client (load the seat, check, save, commit; target ≤ 25 ms), 300 votes. Floor: `GET /expert/` for the same client.

SQLite database in a temporary folder. Run: .venv/bin/python bench/meeting.py (last line of output is a JSON object)
"""

from __future__ import annotations

import gc
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, insert, select  # noqa: E402

from app.extensions import db  # noqa: E402
from app.models import (  # noqa: E402
    Applicant,
    Ballot,
    BallotSubmission,
    Committee,
    CommitteeExpert,
    Declaration,
    DrawGroup,
    Expert,
    ExpertAccount,
    ExpertService,
    MeetingApplicant,
    MeetingExpert,
    Region,
    ReviewActivity,
    ReviewMeeting,
    Title,
    Unit,
    User,
)
from bench.support.app_db import CHEAP_HASH, build_app  # noqa: E402
from services.meetings import drawing, draws, voting  # noqa: E402
from services.meetings.drawing import Candidate, Group  # noqa: E402

LIBRARY = 20_000
EXPERTS, APPLICANTS = 25, 500
SPECIALTIES = ("建筑施工", "道路桥梁", "给排水", "暖通空调", "电气工程")
YEAR = 2026
PASSWORD = "Passw0rd2026"


def p95(samples: list[float]) -> float:
    return round(statistics.quantiles(samples, n=20)[18], 2)


def p50(samples: list[float]) -> float:
    return round(statistics.median(samples), 2)


def timed(fn: Any) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def random_pool(rng: random.Random) -> list[Candidate]:
    """A library like a province's: 2 % chairs, some chaired last year, a tenth attended three years running."""
    pool = []
    for expert_id in range(1, LIBRARY + 1):
        role = "chair" if rng.random() < 0.02 else "member"
        attended = tuple(y for y in range(YEAR - 3, YEAR) if rng.random() < 0.45)
        chair_years = (YEAR - 1,) if role == "chair" and rng.random() < 0.3 else ()
        pool.append(Candidate(expert_id, f"专家{expert_id}", rng.choice(SPECIALTIES), rng.randint(1, 3), role,
                              f"单位{expert_id % 700}", attended, chair_years))
    return pool


GROUPS = [Group(1, "建筑施工·副高", "建筑施工", 2, 10), Group(2, "道路桥梁·副高", "道路桥梁", 2, 10),
          Group(3, "给排水·中级", "给排水", 3, 5)]


def bench_draw() -> dict[str, float]:
    pool = random_pool(random.Random(7))
    samples, floors = [], []
    for n in range(50):
        samples.append(timed(lambda n=n: drawing.draw(pool, GROUPS, 15, YEAR, f"seed{n}")))
        ids = list(range(LIBRARY))
        floors.append(timed(lambda n=n, ids=ids: random.Random(f"seed{n}:1").shuffle(ids)))
    result = drawing.draw(pool, GROUPS, 15, YEAR, "seed0")
    assert len(result.drawn) == 38 and result.chairs, result.drawn  # 15 + 15 + 8 at 1.5 倍
    return {"draw_ms_p95": p95(samples), "draw_floor_shuffle_ms_p95": p95(floors)}


def _world(app: Any) -> dict[str, Any]:
    """Units, a filed committee with a 20,000-expert library, a published activity, a meeting with 25 confirmed
    experts and 500 accepted declarations on its list, every ballot cast and submitted; Core inserts in bulk."""
    from werkzeug.security import generate_password_hash

    rng = random.Random(11)
    with app.app_context():
        region = db.session.scalar(select(Region.id).where(Region.code == "511100B"))
        unit = Unit(name="乐山市人力资源和社会保障局", credit_code="11511100MB0000001X", unit_type_code="hr",
                    nature_code="organ", region_id=region, phone="0833-2136712", status="active")
        school = Unit(name="乐山第一中学校", credit_code="12511100MB0000002X", unit_type_code="declaring",
                      nature_code="institution", region_id=region, phone="0833-2136713", status="active")
        db.session.add_all([unit, school])
        db.session.flush()
        unit.path, school.path = f"/{unit.id}/", f"/{unit.id}/{school.id}/"
        staff = User(username="meeting_staff", password_hash=generate_password_hash(PASSWORD, method=CHEAP_HASH),
                     name="会议经办", unit_id=unit.id, is_unit_admin=True, session_token="bench")
        committee = Committee(name="工程技术中级职称评审委员会", agency="人社局", office="专技科", forming_unit_id=unit.id,
                              review_type="regular", authorizing_unit_id=unit.id, filing_unit_id=unit.id,
                              contact_name="吴敏", contact_phone="0833-2136712", address="乐山", build_mode="series",
                              series_code="engineering_technician", region_id=region, applicant_natures=[],
                              status="filed", filed_on=date.today(), valid_until=date.today() + timedelta(days=700))
        db.session.add_all([staff, committee])
        db.session.flush()
        titles = {rank: db.session.scalar(select(Title.id).join(Title.level).where(
            Title.series_code == "engineering_technician", Title.level.has(rank=rank)).limit(1)) for rank in (1, 2, 3)}
        now = datetime.now()
        activity = ReviewActivity(committee_id=committee.id, unit_id=unit.id, reviewing_unit_id=unit.id,
                                  name="2026年度工程技术中级职称评审", scope="乐山", year=YEAR, category="annual",
                                  review_method="expert_review", written_exam="none", interview="none",
                                  apply_start=now, first_submit_deadline=now, revise_submit_deadline=now,
                                  committee_receive_deadline=now, status="published", policy_files=[], plan_files=[])
        db.session.add(activity)
        db.session.flush()
        db.session.execute(insert(Expert), [
            {"name": f"专家{n}", "id_number": f"51110219700101{n:04d}"[-18:] if n < 10_000 else f"5111021971{n:08d}",
             "gender": "男", "birth_month": "197001", "work_unit": f"单位{n % 700}", "admin_post": "无",
             "phone1": f"138{n:08d}", "honors": "无", "series_code": "engineering_technician",
             "specialty": rng.choice(SPECIALTIES), "title_id": titles[rng.randint(1, 3)], "country": "中国",
             "id_type": "居民身份证", "retired": False, "competent_unit": "", "admin_post_level": "", "phone2": ""}
            for n in range(LIBRARY)])
        expert_ids = list(db.session.scalars(select(Expert.id).order_by(Expert.id)))
        db.session.execute(insert(CommitteeExpert), [
            {"committee_id": committee.id, "expert_id": e, "role": "chair" if rng.random() < 0.02 else "member",
             "status": "in_library", "source_unit_id": unit.id, "return_opinion": ""} for e in expert_ids])
        db.session.execute(insert(ExpertService), [
            {"expert_id": e, "committee_id": committee.id, "year": y, "role": "member", "attended": True}
            for e in expert_ids for y in range(YEAR - 3, YEAR) if rng.random() < 0.45])
        meeting = ReviewMeeting(activity_id=activity.id, committee_id=committee.id, unit_id=unit.id, kind="ordinary",
                                name="基准测试评审会议", year=YEAR, stage="voting", voting_open=True, materials=[],
                                review_plan="无记名投票")
        db.session.add(meeting)
        db.session.flush()
        # The drawing meeting: its own, standing at 专家抽选 for the service figure (no process instance: the
        # bench calls read_pool / draw / _store directly, as start_draw does after its step check).
        group = DrawGroup(meeting_id=meeting.id, position=1, specialty="建筑施工", level_code="intermediate",
                          needed=EXPERTS)
        db.session.add(group)
        db.session.flush()
        db.session.execute(insert(Applicant), [
            {"name": f"申报人{n}", "id_number": f"5111021985{n:08d}", "gender": "男", "birth_date": date(1985, 1, 1),
             "phone": f"139{n:08d}", "unit_id": school.id, "password_hash": "x", "session_token": f"a{n}",
             "enabled": True, "failed_logins": 0} for n in range(APPLICANTS)])
        applicant_ids = list(db.session.scalars(select(Applicant.id).order_by(Applicant.id)))
        db.session.execute(insert(Declaration), [
            {"applicant_id": a, "activity_id": activity.id, "committee_id": committee.id, "unit_id": school.id,
             "year": YEAR, "series_code": "engineering_technician", "level_code": "intermediate",
             "method_code": "review", "evaluation_method": "normal", "materials": {}, "assessments": [],
             "snapshot": {}, "status": "accepted", "path": [], "step": 0, "resume_steps": [], "opinion": ""}
            for a in applicant_ids])
        declaration_ids = list(db.session.scalars(select(Declaration.id).order_by(Declaration.id)))
        from app.models import ExpertDraw

        record = ExpertDraw(meeting_id=meeting.id, seed="bench", multiplier_tenths=15, year=YEAR, groups=[],
                            pool=[], drawn=[], reasons={})
        db.session.add(record)
        db.session.flush()
        db.session.execute(insert(MeetingExpert), [
            {"meeting_id": meeting.id, "expert_id": e, "group_id": group.id, "draw_id": record.id, "position": n,
             "chair": n == 0, "status": "confirmed", "absent": False, "specialty_group": "", "group_leader": False,
             "executive_chair": False} for n, e in enumerate(expert_ids[:EXPERTS])])
        db.session.execute(insert(MeetingApplicant), [
            {"meeting_id": meeting.id, "declaration_id": d, "source": "accepted", "position": n, "status": "waiting",
             "exam_score": "", "interview": {}, "assistant_reviewer_ids": [], "specialty_group": "", "in_round": 1}
            for n, d in enumerate(declaration_ids)])
        seats = list(db.session.scalars(select(MeetingExpert.id).where(MeetingExpert.meeting_id == meeting.id)))
        rows = list(db.session.scalars(select(MeetingApplicant.id).where(MeetingApplicant.meeting_id == meeting.id)))
        stamp = datetime.now()
        db.session.execute(insert(Ballot), [
            {"meeting_id": meeting.id, "round_no": 1, "meeting_expert_id": s, "meeting_applicant_id": r,
             "material_check": "pass", "vote": rng.choice(("pass", "pass", "fail", "abstain")), "opinion": "",
             "updated_at": stamp} for s in seats[1:] for r in rows])
        db.session.execute(insert(BallotSubmission), [
            {"meeting_id": meeting.id, "meeting_expert_id": s, "round_no": 1, "submitted_at": stamp}
            for s in seats[1:]])
        voter = db.session.get(MeetingExpert, seats[0])
        db.session.add(ExpertAccount(expert_id=voter.expert_id, password_hash=generate_password_hash(
            PASSWORD, method=CHEAP_HASH), session_token="bench"))
        db.session.commit()
        ids = {"meeting_id": meeting.id, "voter_id_number": voter.expert.id_number, "rows": rows,
               "staff_id": staff.id}
        db.session.remove()
    return ids


def bench_draw_service(app: Any, ids: dict[str, Any]) -> dict[str, float]:
    samples, floors = [], []
    with app.app_context():
        meeting = db.session.get(ReviewMeeting, ids["meeting_id"])
        staff = db.session.get(User, ids["staff_id"])
        seated = [m.expert_id for m in draws.meeting_experts(meeting)]
        for n in range(10):
            # As 补抽 does (draws.replacement_draw past its step check): the pool read again, the experts already
            # on the meeting left out, the draw, the record stored.
            def run(n: int = n) -> None:
                groups = draws._groups(meeting)
                pool = draws.read_pool(meeting, [g.specialty for g in groups])
                result = drawing.draw(pool, groups, 15, meeting.year, f"service{n}", already_drawn=seated,
                                      counts={groups[0].key: EXPERTS})
                draws._store(staff, meeting, "replacement", f"service{n}", pool, groups, result, seated,
                             {groups[0].key: EXPERTS})
                db.session.rollback()  # measured, never kept
            samples.append(timed(run))
            floors.append(timed(lambda: db.session.execute(select(
                Expert.id, Expert.name, Expert.specialty, Expert.work_unit, CommitteeExpert.role)
                .join(CommitteeExpert, CommitteeExpert.expert_id == Expert.id)).all()))
        db.session.remove()
    return {"draw_service_ms_p95": p95(samples), "draw_service_floor_pool_select_ms_p95": p95(floors)}


def bench_tally(app: Any, ids: dict[str, Any]) -> dict[str, float]:
    samples, floors = [], []
    with app.app_context():
        for _ in range(20):
            meeting = db.session.get(ReviewMeeting, ids["meeting_id"])
            results: list[Any] = []
            samples.append(timed(lambda meeting=meeting, results=results: results.extend(voting.applicant_tallies(meeting))))
            assert len(results) == APPLICANTS and all(t.members == EXPERTS for _, t in results)
            db.session.remove()
            floors.append(timed(lambda: db.session.execute(
                select(Ballot.meeting_applicant_id, Ballot.vote, func.count())
                .where(Ballot.meeting_id == ids["meeting_id"], Ballot.round_no == 1)
                .group_by(Ballot.meeting_applicant_id, Ballot.vote)).all()))
            db.session.remove()
    # p50 beside p95: a full garbage collection of the process's heap (~150 ms) lands in some runs.
    return {"tally_ms_p95": p95(samples), "tally_ms_p50": p50(samples), "tally_floor_group_by_ms_p95": p95(floors)}


def bench_vote(app: Any, ids: dict[str, Any]) -> dict[str, float]:
    client = app.test_client()
    response = client.post("/expert/login", data={"account": ids["voter_id_number"], "password": PASSWORD})
    assert response.status_code == 302, response.status_code
    samples, floors = [], []
    url = f"/expert/meetings/{ids['meeting_id']}/applicants/"
    for n in range(300):
        row = ids["rows"][n % len(ids["rows"])]
        vote = ("pass", "fail", "abstain")[n % 3]

        def post(row: int = row, vote: str = vote) -> None:
            answer = client.post(f"{url}{row}", data={"vote": vote, "material_check": "pass", "opinion": "同意"})
            assert answer.status_code == 302, answer.status_code

        samples.append(timed(post))
        floors.append(timed(lambda: client.get("/expert/")))
    return {"expert_vote_ms_p95": p95(samples), "expert_vote_ms_p50": p50(samples),
            "expert_vote_floor_home_ms_p95": p95(floors)}


def main() -> None:
    figures: dict[str, Any] = {}
    figures.update(bench_draw())
    print("draw", figures, flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        app = build_app(Path(tmp))
        started = time.perf_counter()
        ids = _world(app)
        print(f"world built in {time.perf_counter() - started:.1f} s", flush=True)
        figures.update(bench_tally(app, ids))
        # The p95 above holds full collections of the process heap (~200k objects after start-up); with the
        # start-up objects frozen (gc.freeze(), as a server may do after loading the app) they no longer count.
        gc.collect()
        gc.freeze()
        frozen = bench_tally(app, ids)
        gc.unfreeze()
        figures["tally_ms_p95_gc_frozen"] = frozen["tally_ms_p95"]
        print("tally", figures, flush=True)
        figures.update(bench_vote(app, ids))
        print("vote", figures, flush=True)
        figures.update(bench_draw_service(app, ids))
        with app.app_context():
            db.engine.dispose()
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
