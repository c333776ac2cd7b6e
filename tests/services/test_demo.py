"""`flask seed-demo`: the demo organisation, its applicants and a committee filed through the real flow."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from app.extensions import db
from app.models import Committee, CommitteeExpert, ProcessInstance, Unit, WorkflowEvent
from services.demo import seed_demo

CONFIG = Path(__file__).resolve().parents[2] / "admin_config"


def test_seed_demo_files_the_demo_committee_through_the_flow(database):
    logins = seed_demo(CONFIG)

    assert logins is not None and any(username == "ls_rsj" for _, username, _ in logins)
    committee = db.session.scalar(select(Committee).where(Committee.name == "乐山市中小学教师中级职称评审委员会"))
    assert committee is not None
    assert committee.status == "filed"
    assert committee.forming_unit.name == "乐山市人力资源和社会保障局"
    members = list(db.session.scalars(select(CommitteeExpert).where(CommitteeExpert.committee_id == committee.id)))
    assert len(members) == 7 and {m.status for m in members} == {"in_library"}
    assert sorted(m.role for m in members).count("chair") == 1
    instance = db.session.scalar(select(ProcessInstance).where(ProcessInstance.business_type == "committee_filing"))
    assert instance is not None and instance.status == "running"  # waiting on the expiry timers
    assert instance.next_timer_at is not None
    passes = db.session.scalar(select(func.count()).select_from(WorkflowEvent).where(
        WorkflowEvent.instance_id == instance.id, WorkflowEvent.action == "pass"))
    assert passes >= 1


def test_seed_demo_is_a_no_op_when_units_exist(database, make_unit):
    make_unit()
    count = db.session.scalar(select(func.count()).select_from(Unit))

    assert seed_demo(CONFIG) is None
    assert db.session.scalar(select(func.count()).select_from(Unit)) == count
