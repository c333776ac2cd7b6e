"""Notifications (K4): a 退回 reaches the applicant in the app and by e-mail through a real SMTP conversation with
a fake server on loopback; new 待办 ring the staff's bell; preferences, retries, finished jobs, deadline reminders."""

from __future__ import annotations

import socket
from datetime import date, datetime, timedelta
from email import message_from_bytes, policy
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from declaration_helpers import ready_declaration
from flask.testing import FlaskClient
from sqlalchemy import select, update

from app.extensions import db
from app.models import Declaration, Notification, NotificationDelivery, User
from services.applications import declarations
from services.jobs import job_kind, start_job
from services.notifications import center, reminders
from services.notifications.delivery import deliver_pending


class Inbox:
    """An aiosmtpd handler keeping what it was sent."""

    def __init__(self) -> None:
        self.envelopes: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        self.envelopes.append(envelope)
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp_server(app, monkeypatch):
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    monkeypatch.setitem(app.config, "SMTP_HOST", "127.0.0.1")
    monkeypatch.setitem(app.config, "SMTP_PORT", controller.port)
    monkeypatch.setitem(app.config, "SMTP_FROM", "noreply@zhiping.test")
    yield handler
    controller.stop()


@pytest.fixture
def sign_in(client, login):
    def as_user(user: User) -> FlaskClient:
        client.post("/logout")
        return login(user)

    return as_user


def submitted(world: Any) -> Declaration:
    declaration = ready_declaration(world)
    declarations.submit(world.applicant, declaration, datetime.now())
    db.session.flush()
    return declaration


def notifications_of(**who: int) -> list[Notification]:
    (column, ident), = who.items()
    return list(db.session.scalars(select(Notification).where(getattr(Notification, column) == ident)
                                   .order_by(Notification.id)))


def test_a_return_notifies_the_applicant_in_app_and_by_email_with_its_chinese_subject(
        client, sign_in, login_applicant, world, smtp_server):
    world.applicant.email = "wang.laoshi@example.cn"
    declaration = submitted(world)
    sign_in(world.school_reviewers[0])

    response = client.post(f"/application-review/applications/{declaration.id}",
                           data={"decision": "return", "opinion": "请补充考核材料", "return_to": "applicant"},
                           content_type="multipart/form-data")

    assert response.status_code == 302
    subject = f"您的职称申报已被退回：{world.activity.name}"
    [notice] = notifications_of(applicant_id=world.applicant.id)
    assert notice.title == subject and "请补充考核材料" in notice.body and notice.read_at is None
    assert f"请在 {world.activity.revise_submit_deadline:%Y-%m-%d %H:%M}（个人修改提交截止时间）前" in notice.body

    report = deliver_pending()  # what beat runs every NOTIFY_DELIVER_SECONDS

    assert report.sent >= 1
    [envelope] = [e for e in smtp_server.envelopes if e.rcpt_tos == ["wang.laoshi@example.cn"]]
    raw_subject = next(line for line in envelope.content.split(b"\r\n") if line.startswith(b"Subject:"))
    assert b"=?utf-8?" in raw_subject.lower(), "a Chinese subject travels RFC 2047 encoded"
    mail = message_from_bytes(envelope.content, policy=policy.default)
    assert mail["Subject"] == subject
    assert mail["From"].addresses[0].display_name == "职称评审管理平台"
    assert "请补充考核材料" in mail.get_content()
    [delivery] = db.session.scalars(select(NotificationDelivery).where(
        NotificationDelivery.notification_id == notice.id, NotificationDelivery.channel == "email"))
    assert (delivery.status, delivery.attempts) == ("sent", 1)

    client.post("/logout")
    login_applicant(world.applicant)
    home = client.get("/applicant/").get_data(as_text=True)
    assert 'data-testid="bell"' in home and ">1</span>" in home
    listing = client.get("/notifications/?status=unread").get_data(as_text=True)
    assert subject in listing
    opened = client.get(f"/notifications/{notice.id}")
    assert opened.status_code == 302 and f"/declarations/{declaration.id}" in opened.headers["Location"]
    db.session.expire_all()
    assert db.session.get(Notification, notice.id).read_at is not None


def test_a_new_task_rings_its_candidates_bell_and_nobody_elses(client, sign_in, world):
    declaration = submitted(world)
    first, second = world.school_reviewers

    [notice] = notifications_of(user_id=first.id)
    assert notice.event == "task_assigned" and notice.target_type == "task"
    assert notifications_of(user_id=second.id) == [], "the second level has no task yet"
    assert notifications_of(user_id=world.competent_reviewer.id) == []

    sign_in(first)
    assert 'data-testid="bell"' in client.get("/").get_data(as_text=True)
    opened = client.get(f"/notifications/{notice.id}")
    assert opened.status_code == 302 and f"/inbox/tasks/{notice.target_id}" in opened.headers["Location"]
    assert declaration.id


def test_someone_elses_notification_is_not_found(client, sign_in, world):
    submitted(world)
    [notice] = notifications_of(user_id=world.school_reviewers[0].id)
    sign_in(world.school_reviewers[1])
    assert client.get(f"/notifications/{notice.id}").status_code == 404
    client.post("/notifications/read", data={"ids": [str(notice.id)]})
    db.session.expire_all()
    assert db.session.get(Notification, notice.id).read_at is None


def test_preferences_turn_a_channel_off_and_a_bad_email_is_refused(client, sign_in, world, smtp_server):
    reviewer = world.school_reviewers[0]
    sign_in(reviewer)
    bad = client.post("/notifications/settings", data={"email": "不是邮箱", "channels": ["task_assigned:email"]})
    assert bad.status_code == 400 and "电子邮箱：格式不正确" in bad.get_data(as_text=True)
    assert client.post("/notifications/settings", data={"email": "sh1@example.cn"}).status_code == 302
    assert db.session.get(User, reviewer.id).email == "sh1@example.cn"

    submitted(world)
    deliver_pending()

    assert [e for e in smtp_server.envelopes if "sh1@example.cn" in e.rcpt_tos] == [], "e-mail switched off"
    assert notifications_of(user_id=reviewer.id), "in-app stays on"


class FlakySender:
    def __init__(self, failures: int) -> None:
        self.failures, self.sent = failures, []

    def send(self, address: str, subject: str, body: str) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("短信网关超时")
        self.sent.append((address, subject))


def test_a_failed_send_is_retried_later_and_gives_up_after_the_maximum(app, world, monkeypatch):
    monkeypatch.setitem(app.config, "NOTIFY_MAX_ATTEMPTS", 2)
    center.notify("application_returned", [center.applicant_recipient(world.applicant.id)], "退回测试", "正文")
    flaky = FlakySender(failures=1)

    deliver_pending(senders={"sms": flaky, "email": flaky})
    [delivery] = db.session.scalars(select(NotificationDelivery).where(NotificationDelivery.channel == "sms"))
    assert (delivery.status, delivery.attempts, flaky.sent) == ("pending", 1, [])
    assert "短信网关超时" in delivery.last_error and delivery.next_attempt_at > datetime.now()

    deliver_pending(senders={"sms": flaky})
    assert flaky.sent == [], "not before its pause is over"
    db.session.execute(update(NotificationDelivery).values(next_attempt_at=datetime.now() - timedelta(seconds=1)))
    deliver_pending(senders={"sms": flaky})
    db.session.refresh(delivery)
    assert (delivery.status, delivery.attempts) == ("sent", 2)
    assert flaky.sent == [(world.applicant.phone, "退回测试")]

    center.notify("application_returned", [center.applicant_recipient(world.applicant.id)], "再次退回", "正文")
    always = FlakySender(failures=99)
    for _ in range(3):
        db.session.execute(update(NotificationDelivery).where(NotificationDelivery.status == "pending")
                           .values(next_attempt_at=datetime.now() - timedelta(seconds=1)))
        deliver_pending(senders={"sms": always, "email": always})
    [gave_up] = db.session.scalars(select(NotificationDelivery).where(NotificationDelivery.channel == "sms",
                                                                      NotificationDelivery.id != delivery.id))
    assert (gave_up.status, gave_up.attempts) == ("failed", 2)


@job_kind("test.notify_done", "通知测试任务")
def _finishing_job(ctx: Any, params: dict[str, Any]) -> None:
    ctx.summary = "处理完成 3 条"


def test_a_finished_job_tells_its_starter(world):
    starter = world.school_reviewers[0]
    job = start_job(starter, "test.notify_done", "导入专家")

    [notice] = [n for n in notifications_of(user_id=starter.id) if n.event == "job_finished"]
    assert notice.title == "后台任务已完成：导入专家" and notice.body == "处理完成 3 条"
    assert (notice.target_type, notice.target_id) == ("job", job.id)


def test_deadline_reminders_come_three_working_days_ahead_once(world):
    draft = ready_declaration(world)
    friday = date(2026, 11, 27)  # a Friday with no holiday near: +3 working days is Wednesday 2 December
    world.activity.first_submit_deadline = datetime(2026, 12, 2, 17, 0)
    db.session.flush()

    assert reminders.horizon(friday) == date(2026, 12, 2)
    assert reminders.send_deadline_reminders(friday - timedelta(days=1)) == 0, "Thursday: four working days ahead"
    assert reminders.send_deadline_reminders(friday) == 1
    assert reminders.send_deadline_reminders(friday + timedelta(days=3)) == 0, "once per person and deadline"
    [notice] = [n for n in notifications_of(applicant_id=world.applicant.id) if n.event == "deadline_reminder"]
    assert "个人初次提交截止时间" in notice.title and "2026-12-02 17:00" in notice.body
    assert draft.status == "draft"


def test_the_bell_count_read_with_the_account_gives_way_to_a_write_in_the_same_transaction(world):
    """The user loader reads the unread count with the account (no statement of its own); a notification written
    or read later in the same transaction makes the next count a fresh one."""
    reviewer = world.school_reviewers[0]
    me = center.user_recipient(reviewer.id)
    before = center.unread_count(me)
    center.remember_unread_count(me, before)
    assert center.unread_count(me) == before
    center.notify("task_assigned", [me], "新的待办：测试")
    assert center.unread_count(me) == before + 1, "a notification written since is counted"
    center.remember_unread_count(me, before + 1)
    center.mark_read(me)
    assert center.unread_count(me) == 0, "reading them all since is counted"
    db.session.commit()
    center.remember_unread_count(me, 42)
    db.session.commit()
    assert center.unread_count(me) == 0, "a remembered count does not outlive its transaction"


def _bell(client) -> str:  # noqa: ANN001
    home = client.get("/").get_data(as_text=True)
    bell = home[home.index('data-testid="bell"'):]
    return bell[:bell.index("</a>")]


def test_the_bell_shows_the_unread_count_read_with_the_account(client, sign_in, world):
    reviewer, other = world.school_reviewers
    center.notify("task_assigned", [center.user_recipient(reviewer.id)], "新的待办：一")
    center.notify("task_assigned", [center.user_recipient(reviewer.id)], "新的待办：二")
    for n in range(5):
        center.notify("task_assigned", [center.user_recipient(other.id)], f"新的待办：他人{n}")
    db.session.commit()
    mine = center.unread_count(center.user_recipient(reviewer.id))
    theirs = center.unread_count(center.user_recipient(other.id))
    assert theirs == mine + 3, "the two accounts' counts differ"
    sign_in(reviewer)
    assert f">{mine}</span>" in _bell(client), "each account's own count, not everyone's"
    sign_in(other)
    assert f">{theirs}</span>" in _bell(client)
    assert client.post("/notifications/read", data={"all": "1"}).status_code == 302  # 全部已读
    assert "</span>" not in _bell(client), "no badge once all are read"
