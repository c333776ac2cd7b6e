"""The new list pages read what they show in a fixed number of statements, however many rows (STYLE: query-count
checks on list pages): 通知提醒, a sent message's readers, 已发送消息, 专技人才审核, 职称确认审核, the public notices."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import event, insert

from app.extensions import db
from app.models import Message, MessageReceipt, Notice, Notification, TalentRecord, TitleConfirmation


def statements_for(client, path: str) -> int:
    seen: list[str] = []

    def count(*args: object) -> None:
        seen.append(str(args[2]))

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        assert client.get(path).status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return len(seen)


def test_list_pages_do_not_grow_with_their_rows(client, login, make_unit, make_user, make_applicant):
    hr = make_unit(unit_type="hr", region="511100B", name="乐山市人力资源和社会保障局")
    schools = [make_unit(parent=hr, region="511102", name=f"学校{n}") for n in range(12)]
    admin = make_user(hr, admin=True)
    people = [make_applicant(school, name=f"老师{n}") for n, school in enumerate(schools)]
    message = Message(sender_unit_id=hr.id, sender_user_id=admin.id, audience="units", title="通知", body="正文",
                      recipient_count=12, created_at=datetime(2026, 11, 1))
    db.session.add(message)
    db.session.flush()

    def add(n: int, start: int) -> None:
        db.session.execute(insert(Notification), [
            {"user_id": admin.id, "event": "task_assigned", "title": f"通知{k}", "body": "", "target_type": "",
             "created_at": datetime(2026, 11, 1), "dispatch_state": "done"} for k in range(start, start + n)])
        db.session.execute(insert(MessageReceipt), [
            {"message_id": message.id, "unit_id": schools[k].id, "read_at": datetime(2026, 11, 2),
             "read_by_id": admin.id, "created_at": datetime(2026, 11, 1)} for k in range(start, start + n)])
        db.session.execute(insert(TalentRecord), [
            {"applicant_id": people[k].id, "unit_id": schools[k].id, "category": "高等学校教师", "name": f"老师{k}",
             "path": [schools[k].id, hr.id], "step": 1, "current_unit_id": hr.id, "status": "reviewing",
             "opinion": "", "submitted_at": datetime(2026, 11, 1)} for k in range(start, start + n)])
        db.session.execute(insert(TitleConfirmation), [
            {"applicant_id": people[k].id, "unit_id": schools[k].id, "title_name": "讲师", "level_code": "intermediate",
             "obtained_on": date(2020, 1, 1), "issuer": "重庆市人社局", "certificate_no": "", "path": [hr.id],
             "step": 0, "current_unit_id": hr.id, "status": "reviewing", "opinion": "",
             "submitted_at": datetime(2026, 11, 1)} for k in range(start, start + n)])
        db.session.execute(insert(Notice), [
            {"unit_id": hr.id, "notice_type": "faq", "title": f"问题{k}", "body_html": "", "status": "published",
             "published_at": datetime(2026, 11, 1)} for k in range(start, start + n)])

    pages = ["/notifications/", f"/messages/sent/{message.id}", "/talent/reviews", "/talent/confirmations",
             "/messages/sent"]
    add(2, 0)
    login(admin)
    few = {page: statements_for(client, page) for page in pages}
    client.post("/logout")
    statements_for(client, "/")  # the first signed-out request also reads what the sign-out left behind
    public_few = statements_for(client, "/")
    add(10, 2)
    assert statements_for(client, "/") == public_few
    login(admin)
    assert {page: statements_for(client, page) for page in pages} == few
