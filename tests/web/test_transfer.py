"""职称申报转换评委会 (H 1.27; B9; issue 16): a declaration still on its path moves to another committee of its series
and level, with a reason on the audit trail; one already at the committee, or a committee without a fitting activity,
is refused per declaration."""

from __future__ import annotations

from declaration_helpers import make_activity, pass_unit, publicity_input, submitted_declaration
from review_path_helpers import make_committee
from sqlalchemy import select

from app.extensions import db
from app.models import AuditLog, Declaration


def test_a_declaration_on_its_path_moves_to_another_committee(client, login, make_user, world):
    moving = submitted_declaration(world)  # waits on the school's first level
    other = make_committee(world.chain.competent, world.chain.city, name="乐山市第二中小学教师中级职称评审委员会")
    activity = make_activity(world.chain, committee_id=other.id, name="第二评委会年度评审")
    hr = make_user(world.chain.city, permissions=["application.transfer"], name="人社局经办")
    db.session.commit()
    login(hr)
    page = client.get("/application-review/transfer?keyword=第二").get_data(as_text=True)
    assert other.name in page and world.applicant.name in page
    refused = client.post("/application-review/transfer", data={
        "declaration_ids": [str(moving.id)], "committee_id": str(other.id), "reason": ""})
    assert refused.status_code == 400 and "转换原因" in refused.get_data(as_text=True)
    moved = client.post("/application-review/transfer", data={
        "declaration_ids": [str(moving.id)], "committee_id": str(other.id), "reason": "选错评委会", "scope": "selected"})
    assert moved.status_code == 200 and "已转换 1 人" in moved.get_data(as_text=True)
    db.session.expire_all()
    declaration = db.session.get(Declaration, moving.id)
    assert (declaration.committee_id, declaration.activity_id) == (other.id, activity.id)
    assert declaration.path[-1]["committee_id"] == other.id
    assert db.session.scalar(select(AuditLog.summary).where(AuditLog.action == "declaration.transfer"))


def test_a_declaration_at_the_committee_is_not_moved(client, login, make_user, world):
    declaration = submitted_declaration(world)
    pass_unit(world, declaration, world.chain.school, publicity_input())
    pass_unit(world, declaration, world.chain.competent)
    pass_unit(world, declaration, world.chain.city)
    assert declaration.at_committee
    other = make_committee(world.chain.competent, world.chain.city, name="乐山市第二中小学教师中级职称评审委员会")
    make_activity(world.chain, committee_id=other.id, name="第二评委会年度评审")
    hr = make_user(world.chain.city, permissions=["application.transfer"], name="人社局经办")
    db.session.commit()
    login(hr)
    response = client.post("/application-review/transfer", data={
        "declaration_ids": [str(declaration.id)], "committee_id": str(other.id), "reason": "选错评委会"})
    text = response.get_data(as_text=True)
    assert "已转换 0 人" in text and "未到评委会" in text
