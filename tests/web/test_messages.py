"""消息推送 / 已接收消息 (S 1.2.10–1.2.12, K1, K2): a message to a subtree reaches exactly that subtree's units;
picked units and applicants; 确认已读 and the sender's view of who read; a large send runs as a job."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from app.extensions import db
from app.models import Job, Message, MessageReceipt, Notification, Unit, User

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@dataclass
class Tree:
    province: Unit
    city: Unit
    county1: Unit
    school1a: Unit
    school1b: Unit
    county2: Unit
    school2: Unit
    other_city: Unit
    other_school: Unit
    sender: User


@pytest.fixture
def tree(make_unit, make_user) -> Tree:
    province = make_unit(unit_type="hr", region="510000B", name="四川省人力资源和社会保障厅")
    city = make_unit(parent=province, unit_type="hr", region="511100B", name="乐山市人力资源和社会保障局")
    county1 = make_unit(parent=city, unit_type="hr", region="511102", name="市中区人社局")
    school1a = make_unit(parent=county1, region="511102", name="市中区第一小学")
    school1b = make_unit(parent=county1, region="511102", name="市中区第二小学")
    county2 = make_unit(parent=city, unit_type="hr", region="511111", name="沙湾区人社局")
    school2 = make_unit(parent=county2, region="511111", name="沙湾区第一中学")
    other_city = make_unit(parent=province, unit_type="hr", region="510100B", name="成都市人力资源和社会保障局")
    other_school = make_unit(parent=other_city, region="510104", name="成都市第七中学")
    return Tree(province, city, county1, school1a, school1b, county2, school2, other_city, other_school,
                make_user(city, admin=True, name="乐山发送人"))


@pytest.fixture
def sign_in(client, login):
    def as_user(user: User) -> FlaskClient:
        client.post("/logout")
        return login(user)

    return as_user


def receiving_units(message_id: int) -> set[int]:
    return set(db.session.scalars(select(MessageReceipt.unit_id).where(MessageReceipt.message_id == message_id)))


def send(client: FlaskClient, **form: Any) -> Any:
    data = {"audience": "units", "title": "关于报送2026年度职称评审材料的通知", "body": "请于月底前报送。", **form}
    return client.post("/messages/new", data=data, content_type="multipart/form-data")


def test_a_message_to_a_subtree_reaches_exactly_that_subtrees_units(client, sign_in, tree):
    sign_in(tree.sender)

    response = send(client, scope="subtree", root_id=str(tree.county1.id))

    assert response.status_code == 302
    message = db.session.scalars(select(Message)).one()
    expected = {u.id for u in db.session.scalars(select(Unit).where(Unit.path.startswith(tree.county1.path)))}
    assert expected == {tree.county1.id, tree.school1a.id, tree.school1b.id}, "computed independently of the service"
    assert receiving_units(message.id) == expected
    assert message.recipient_count == 3


def test_all_subordinates_leave_out_the_sender_and_other_trees(client, sign_in, tree):
    sign_in(tree.sender)
    send(client, scope="subtree", root_id=str(tree.city.id))
    message = db.session.scalars(select(Message)).one()
    assert receiving_units(message.id) == {tree.county1.id, tree.school1a.id, tree.school1b.id, tree.county2.id,
                                           tree.school2.id}


def test_picked_units_get_it_and_a_foreign_unit_is_not_found(client, sign_in, tree):
    sign_in(tree.sender)
    assert send(client, scope="picked", ids=[str(tree.county2.id), str(tree.school1a.id)]).status_code == 302
    message = db.session.scalars(select(Message)).one()
    assert receiving_units(message.id) == {tree.county2.id, tree.school1a.id}

    for foreign in (tree.other_school, tree.province, tree.city):
        refused = send(client, scope="picked", ids=[str(tree.school2.id), str(foreign.id)])
        assert refused.status_code == 404
    assert send(client, scope="subtree", root_id=str(tree.other_city.id)).status_code == 404
    assert db.session.scalars(select(Message)).all() == [message], "nothing written by a refused send"
    empty = send(client, scope="picked", title="")
    assert empty.status_code == 400 and "消息标题：必填" in empty.get_data(as_text=True)


def test_a_unit_reads_confirms_and_the_sender_sees_who_read(client, sign_in, make_user, tree):
    reader = make_user(tree.school1a, permissions=["message.receive", "home.view"], name="一小经办")
    school_admin = make_user(tree.school1a, admin=True, name="一小管理员")
    sign_in(tree.sender)
    send(client, scope="subtree", root_id=str(tree.county1.id), attachment=(io.BytesIO(PDF), "材料清单.pdf"))
    message = db.session.scalars(select(Message)).one()
    assert db.session.scalars(select(Notification).where(Notification.user_id == school_admin.id,
                                                         Notification.event == "message_received")).all()

    sign_in(reader)
    listing = client.get("/messages/received?status=unread").get_data(as_text=True)
    assert message.title in listing
    receipt = db.session.scalars(select(MessageReceipt).where(MessageReceipt.unit_id == tree.school1a.id)).one()
    detail = client.get(f"/messages/received/{receipt.id}").get_data(as_text=True)
    assert "乐山市人力资源和社会保障局" in detail and "确认已读" in detail
    assert client.get(f"/messages/received/{receipt.id}/file").data == PDF
    assert client.post(f"/messages/received/{receipt.id}/confirm").status_code == 302
    assert client.post(f"/messages/received/{receipt.id}/confirm").status_code == 409, "once"
    other = db.session.scalars(select(MessageReceipt).where(MessageReceipt.unit_id == tree.school1b.id)).one()
    assert client.get(f"/messages/received/{other.id}").status_code == 404, "another unit's receipt"

    sign_in(tree.sender)
    page = client.get(f"/messages/sent/{message.id}?status=read").get_data(as_text=True)
    assert '<span data-testid="read-count">1</span>' in page and '<span data-testid="receipt-count">3</span>' in page
    assert "市中区第一小学" in page and "一小经办" in page and "市中区第二小学" not in page


def test_applicants_in_scope_get_their_message(client, sign_in, login_applicant, make_applicant, tree):
    mine = make_applicant(tree.school2, name="沙湾老师")
    foreign = make_applicant(tree.other_school, name="成都老师")
    sign_in(tree.sender)
    assert send(client, audience="applicants", scope="picked", ids=[str(foreign.id)]).status_code == 404
    assert send(client, audience="applicants", scope="picked", ids=[str(mine.id)]).status_code == 302
    receipt = db.session.scalars(select(MessageReceipt)).one()
    assert receipt.applicant_id == mine.id and receipt.unit_id is None

    client.post("/logout")
    login_applicant(mine)
    assert "关于报送2026年度职称评审材料的通知" in client.get("/my-messages/").get_data(as_text=True)
    assert client.post(f"/my-messages/{receipt.id}/confirm").status_code == 302
    db.session.refresh(receipt)
    assert receipt.read_at is not None


def test_a_large_send_runs_as_a_job_and_reaches_the_same_units(app, client, sign_in, tree, monkeypatch):
    monkeypatch.setitem(app.config, "MESSAGE_INLINE_RECIPIENTS", 2)
    sign_in(tree.sender)

    response = send(client, scope="subtree", root_id=str(tree.county1.id))

    message = db.session.scalars(select(Message)).one()
    assert message.job_id and f"/jobs/{message.job_id}" in response.headers["Location"]
    job = db.session.get(Job, message.job_id)
    assert job.state == "done" and job.kind == "messages.deliver"
    assert receiving_units(message.id) == {tree.county1.id, tree.school1a.id, tree.school1b.id}
