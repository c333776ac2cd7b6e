"""The job layer run eagerly: per-item transactions, refusals, failure and retry, cancel, stale claims, pages."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

import pytest
from job_kinds import FAIL_ONCE, marks
from sqlalchemy import insert, select, update

from app.extensions import db
from app.models import Job, JobItem
from services.jobs import JobContext, cancel_job, job_kind, retry_job, run_job, start_job


@pytest.fixture
def staff(database, make_unit, make_user):
    return make_user(make_unit(), admin=True)


def test_each_item_is_processed_once_refusals_are_recorded_and_the_result_kept(staff):
    job = start_job(staff, "test.mark", "标记", {"count": 5, "refuse": [3], "file": True})
    assert (job.state, job.total, job.done, job.refused) == ("done", 5, 4, 1)
    assert job.summary == "标记完成 5 条" and job.result_filename == "结果.txt" and job.attempts == 1
    assert sorted(marks(job.id)) == ["0", "1", "2", "4"]
    items = {i.key: (i.status, i.message) for i in db.session.scalars(select(JobItem).where(JobItem.job_id == job.id))}
    assert items["3"] == ("refused", "第 3 条：测试拒绝") and items["0"] == ("done", "已标记 0")


def test_a_failed_job_keeps_what_it_did_and_its_retry_skips_those_items(staff):
    FAIL_ONCE.add("6")
    job = start_job(staff, "test.mark", "标记", {"count": 10})
    assert job.state == "failed" and "RuntimeError" in job.error and "重试" in job.error
    assert (job.done, len(marks(job.id))) == (6, 6)
    retry_job(staff, job)
    assert job.state == "done" and job.done == 10 and job.attempts == 2
    assert Counter(marks(job.id)) == Counter(str(k) for k in range(10))


def test_an_item_recorded_by_another_worker_first_undoes_this_workers_work_on_it(staff):
    @job_kind("test.race", "测试：抢先记录")
    def race(ctx: JobContext, params: dict) -> None:
        def handle(key: str) -> None:
            from services.common import audit_log

            audit_log.record(None, "test.mark", "late", "job", ctx.job_id, {"key": key})
            # A worker taken for dead commits this item while we are at it.
            db.session.execute(insert(JobItem).values(job_id=ctx.job_id, key=key, status="done", message="",
                                                      at=datetime.now()))
        ctx.each(["a"], handle)

    job = start_job(staff, "test.race", "抢先", {})
    assert job.state == "done" and marks(job.id) == []  # our insert collided, so our audit row was rolled back


def test_a_job_runs_only_when_claimed(staff):
    job = Job(kind="test.mark", title="t", params={"count": 1}, state="running", heartbeat_at=datetime.now(),
              started_by_id=staff.id, worker="elsewhere:1", created_at=datetime.now())
    db.session.add(job)
    db.session.commit()
    assert run_job(job.id) is False  # alive elsewhere
    db.session.execute(update(Job).where(Job.id == job.id).values(heartbeat_at=datetime.now() - timedelta(hours=1)))
    db.session.commit()
    assert run_job(job.id) is True and db.session.get(Job, job.id).state == "done"
    assert run_job(job.id) is False  # finished: a second delivery does nothing


def test_cancel_stops_a_queued_job_at_once_and_a_running_one_between_items(staff):
    queued = Job(kind="test.mark", title="t", params={"count": 3}, state="queued", started_by_id=staff.id,
                 created_at=datetime.now())
    db.session.add(queued)
    db.session.commit()
    cancel_job(staff, queued)
    assert queued.state == "cancelled" and run_job(queued.id) is False

    @job_kind("test.cancel", "测试：中途取消")
    def cancelling(ctx: JobContext, params: dict) -> None:
        def handle(key: str) -> None:
            if key == "1":
                db.session.execute(update(Job).where(Job.id == ctx.job_id).values(cancel_requested=True))
        ctx.set_total(5)
        ctx.each([str(k) for k in range(5)], handle)

    job = start_job(staff, "test.cancel", "取消", {})
    assert job.state == "cancelled" and job.done == 2


def test_pages_show_the_starters_jobs_only(client, login, staff, make_user):
    job = start_job(staff, "test.mark", "我的标记任务", {"count": 3, "refuse": [1], "file": True})
    login(staff)
    html = client.get("/jobs/").get_data(as_text=True)
    assert "我的标记任务" in html and "已完成" in html and "2 / 3" not in html and "3 / 3" in html
    page = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert "共 3 条，已处理 2 条，未处理 1 条" in page and "第 1 条：测试拒绝" in page and "下载结果文件" in page
    panel = client.get(f"/jobs/{job.id}/panel").get_data(as_text=True)
    assert 'data-state="done"' in panel and "hx-trigger" not in panel
    assert client.get(f"/jobs/{job.id}/file").data == "共 3 条".encode()
    assert client.post(f"/jobs/{job.id}/cancel").status_code == 409
    other = make_user(staff.unit, admin=True)
    client.post("/logout")
    login(other)
    assert client.get(f"/jobs/{job.id}").status_code == 404
    assert "我的标记任务" not in client.get("/jobs/").get_data(as_text=True)


def test_a_queued_job_panel_polls_until_it_ends(client, login, staff):
    job = Job(kind="test.mark", title="排队的任务", params={"count": 1}, state="queued", started_by_id=staff.id,
              created_at=datetime.now())
    db.session.add(job)
    db.session.commit()
    login(staff)
    panel = client.get(f"/jobs/{job.id}/panel").get_data(as_text=True)
    assert 'hx-trigger="every 1s"' in panel and "等待执行" in panel and "取消任务" in panel
