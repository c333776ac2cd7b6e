"""批量发证 through a real worker (P5; issue 17): the worker is killed with SIGKILL in the middle of a 1,000-certificate
job; after the new worker finishes it every person has exactly one certificate and one number, and no number is
handed out twice. Reuses the broker and worker machinery of test_worker.py."""

from __future__ import annotations

import signal
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from helpers import region_id, valid_credit_code, valid_id_number
from sqlalchemy import delete, func, select, update
from test_worker import _job, broker, wait_until  # noqa: F401  (the fixture and helpers)

from app.extensions import db
from app.models import (
    AuditLog,
    Certificate,
    CertificateIssuer,
    HumanTask,
    HumanTaskCandidate,
    Issuance,
    IssuanceBatch,
    Job,
    JobItem,
    NumberPool,
    ProcessInstance,
    Role,
    RolePermission,
    Unit,
    User,
    UserRole,
    WorkflowEvent,
)

PEOPLE = 1000


def _people(count: int) -> list[dict[str, Any]]:
    return [{"name": f"证书{n}", "id_number": valid_id_number(birth="19800101", sequence=n % 1000),
             "work_unit": "乐山第一中学校", "series_name": "中小学教师", "title_name": "一级教师", "level_name": "中级",
             "qualified_on": "2026-11-30", "committee_name": "乐山市中小学教师中级职称评审委员会",
             "approval_no": "乐人社〔2026〕88号", "approved_on": "2026-12-01"} for n in range(count)]


@pytest.fixture
def waiting_queue(app: Any) -> Iterator[dict[str, Any]]:
    """PEOPLE people in the 待发放 queue of a unit committed for real (the worker is another process)."""
    from services.certificates import issuance
    from services.org.accounts import hash_password

    with app.app_context():
        unit = Unit(name="证书发放测试局", credit_code=valid_credit_code("11"), unit_type_code="hr", nature_code="organ",
                    region_id=region_id("511100"), phone="0833-2000000", path="")
        db.session.add(unit)
        db.session.flush()
        unit.path = f"/{unit.id}/"
        user = User(username=f"cert_worker_{unit.id}", password_hash=hash_password("Passw0rd2026"), name="发证员",
                    phone="13800000000", unit_id=unit.id, is_unit_admin=True, session_token="t")
        db.session.add(user)
        db.session.flush()
        issuance.queue(user, "review", _people(PEOPLE))
        for task_id in db.session.scalars(select(HumanTask.id).where(HumanTask.unit_id == unit.id,
                                                                      HumanTask.status == "open")).all():
            issuance.complete_task(user, task_id, "pass")
        db.session.commit()
        task_ids = list(db.session.scalars(select(HumanTask.id).where(
            HumanTask.unit_id == unit.id, HumanTask.status == "open", HumanTask.bpmn_id == "issue_certificate")))
        job = Job(kind="certificates.clear", title="批量发放", state="queued", started_by_id=user.id,
                  unit_id=unit.id, created_at=datetime.now(),
                  params={"action": "issue", "task_ids": task_ids, "opinion": "", "batch_id": None})
        db.session.add(job)
        db.session.commit()
        ids = {"unit_id": unit.id, "user_id": user.id, "job_id": job.id, "task_count": len(task_ids)}
        db.session.remove()
    yield ids
    with app.app_context():
        unit_id = ids["unit_id"]
        issuances = select(Issuance.id).where(Issuance.issuer_unit_id == unit_id)
        instances_ = select(ProcessInstance.id).where(ProcessInstance.unit_id == unit_id)
        db.session.execute(delete(Certificate).where(Certificate.issuer_unit_id == unit_id))
        db.session.execute(update(Issuance).where(Issuance.issuer_unit_id == unit_id).values(batch_id=None))
        db.session.execute(delete(IssuanceBatch).where(IssuanceBatch.issuer_unit_id == unit_id))
        tasks = select(HumanTask.id).where(HumanTask.instance_id.in_(instances_))
        db.session.execute(delete(WorkflowEvent).where(WorkflowEvent.instance_id.in_(instances_)))
        db.session.execute(delete(HumanTaskCandidate).where(HumanTaskCandidate.task_id.in_(tasks)))
        db.session.execute(delete(HumanTask).where(HumanTask.instance_id.in_(instances_)))
        db.session.execute(delete(ProcessInstance).where(ProcessInstance.unit_id == unit_id))
        db.session.execute(delete(Issuance).where(Issuance.id.in_(issuances)))
        issuer_ids = select(CertificateIssuer.id).where(CertificateIssuer.unit_id == unit_id)
        db.session.execute(delete(NumberPool).where(NumberPool.issuer_id.in_(issuer_ids)))
        db.session.execute(delete(CertificateIssuer).where(CertificateIssuer.unit_id == unit_id))
        db.session.execute(delete(JobItem).where(JobItem.job_id == ids["job_id"]))
        db.session.execute(delete(Job).where(Job.id == ids["job_id"]))
        db.session.execute(delete(AuditLog).where(AuditLog.actor_id == ids["user_id"]))
        db.session.execute(delete(AuditLog).where(AuditLog.unit_id == unit_id))
        roles = select(Role.id).where(Role.unit_id == unit_id)
        db.session.execute(delete(UserRole).where(UserRole.role_id.in_(roles)))
        db.session.execute(delete(RolePermission).where(RolePermission.role_id.in_(roles)))
        db.session.execute(delete(Role).where(Role.unit_id == unit_id))
        db.session.execute(delete(User).where(User.id == ids["user_id"]))
        db.session.execute(delete(Unit).where(Unit.id == unit_id))
        db.session.commit()
        db.session.remove()


def test_a_worker_killed_mid_issue_leaves_every_person_one_certificate_and_one_number(app, broker, waiting_queue):  # noqa: F811
    job_id, unit_id = waiting_queue["job_id"], waiting_queue["unit_id"]
    assert waiting_queue["task_count"] == PEOPLE
    first = broker["start_worker"]()
    broker["send"](job_id)
    wait_until(lambda: _job(app, job_id).done >= 150, 180, "the first worker to issue 150 certificates")
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    killed_at = _job(app, job_id)
    assert killed_at.state == "running" and 150 <= killed_at.done < PEOPLE
    wait_until(lambda: (datetime.now() - _job(app, job_id).heartbeat_at).total_seconds() > 1.1, 5, "staleness")
    broker["start_worker"]()
    wait_until(lambda: _job(app, job_id).state == "done", 300, "the second worker to finish the job")
    job = _job(app, job_id)
    assert (job.done, job.refused, job.attempts) == (PEOPLE, 0, 2)
    with app.app_context():
        rows = db.session.execute(select(Issuance.id, Issuance.status, Certificate.number, Certificate.status,
                                         Certificate.pdf_sha256)
                                  .outerjoin(Certificate, Certificate.issuance_id == Issuance.id)
                                  .where(Issuance.issuer_unit_id == unit_id)).all()
        per_person = Counter(row[0] for row in rows)
        numbers = [row[2] for row in rows]
        open_tasks = db.session.scalar(select(func.count()).select_from(HumanTask).where(
            HumanTask.unit_id == unit_id, HumanTask.status == "open"))
        pool_next = db.session.scalar(select(NumberPool.next_seq).join(
            CertificateIssuer, CertificateIssuer.id == NumberPool.issuer_id).where(CertificateIssuer.unit_id == unit_id))
        db.session.remove()
    assert len(per_person) == PEOPLE and set(per_person.values()) == {1}  # one certificate each
    assert len(set(numbers)) == PEOPLE and None not in numbers  # one number each, none twice
    assert {(row[1], row[3]) for row in rows} == {("issued", "valid")} and all(row[4] for row in rows)
    assert open_tasks == 0
    assert pool_next == PEOPLE + 1  # the killed chunk's numbers were committed with their certificates and reused
