"""Notifications are delivered: `flask worker` mails the outbox over SMTP (a real local server), retries with
back-off and gives up, records SMS through the default gateway for the admin, never mails an office code,
splits the outbox between parallel workers on PostgreSQL, and stops gracefully on SIGTERM. The 消息中心 shows
units their own messages and reviewers their office's, with unread counts and mark-as-read."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.extensions import db
from app.models import InAppMessage, OutboxMessage, SmsRecord, Unit
from app.services import delivery, notifications
from tests.conftest import APPROVE, BIANBAN, CONAC, DOMAIN_APPLICATION, UNIT
from tests.smtp_sink import SmtpSink
from tests.test_runner import in_threads

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SENDER = "政务和公益机构网上名称办理平台 <noreply@example.cn>"


@pytest.fixture
def smtp(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpSink]:
    """A local SMTP server the app's e-mail goes to (settings restored after the test)."""
    with SmtpSink() as sink:
        for key, value in sink.settings().items():
            monkeypatch.setitem(app.config, key, value)
        yield sink


def deliver(app: Flask, now: datetime, limit: int = 50) -> delivery.DeliveryReport:
    """One delivery round of the worker, committed."""
    report = delivery.run_round(db.session, app.config, now, limit)
    db.session.commit()
    return report


def queue_email(address: str, subject: str, body: str, now: datetime) -> OutboxMessage:
    notifications.queue(db.session, None, {"email": address}, subject, body, now)
    db.session.commit()
    return db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc())).first()  # type: ignore[return-value]


def outbox_row(message_id: int) -> OutboxMessage:
    db.session.expire_all()
    return db.session.get(OutboxMessage, message_id)  # type: ignore[return-value]


# ---- e-mail over SMTP, and the SMS gateway ---------------------------------------------------


def test_a_diagram_notification_is_mailed_by_the_worker_with_its_chinese_text_intact(
    app: Flask, smtp: SmtpSink, make_unit: Any, start: Any, clock: Any
) -> None:
    application = start("domain_registration", make_unit())
    for actor, data in ((UNIT, DOMAIN_APPLICATION), (BIANBAN, APPROVE), (CONAC, APPROVE)):
        application.complete(actor, data)
    sms, mail = application.outbox()
    assert (sms.channel, mail.channel, mail.status, mail.sent_at) == ("sms", "email", "pending", None)

    clock.set("2026-09-28 10:05")
    result = app.test_cli_runner().invoke(args=["worker", "--once"])

    assert result.exit_code == 0, result.output
    assert "消息发送: 已发送 2，待重试 0，已放弃 0" in result.output
    (received,) = smtp.received
    assert received.recipients == ["zhang@example.cn"]
    message = received.message
    assert (message["Subject"], message["To"], message["From"]) == (mail.subject, "zhang@example.cn", SENDER)
    assert message.get_content().strip() == mail.body
    assert "请缴纳注册费" in message["Subject"] and "注册年限" in message.get_content()
    sent = outbox_row(mail.id)
    assert (sent.status, sent.attempts, sent.sent_at, sent.last_error) == ("sent", 1, clock.now, None)
    (record,) = db.session.scalars(select(SmsRecord)).all()
    assert (record.mobile, record.text, record.outbox_id) == ("13800138000", sms.body, sms.id)


def test_refusals_are_retried_with_growing_waits_and_given_up_after_the_last_attempt(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in {
        "OUTBOX_MAX_ATTEMPTS": 3,
        "OUTBOX_RETRY_BASE_SECONDS": 60,
        "OUTBOX_RETRY_MAX_SECONDS": 3600,
    }.items():
        monkeypatch.setitem(app.config, key, value)
    start = datetime(2026, 10, 9, 1, 0, tzinfo=UTC)
    with SmtpSink(refuse_with="451 4.3.0 Mailbox busy, try later") as sink:
        for key, value in sink.settings().items():
            monkeypatch.setitem(app.config, key, value)
        message = queue_email("zhang@example.cn", "网站标识代码已发放", "正文", start)

        assert deliver(app, start).retrying == 1
        first = outbox_row(message.id)
        assert (first.status, first.attempts, first.next_attempt_at) == ("pending", 1, start + timedelta(seconds=60))
        assert "451" in (first.last_error or "")
        assert deliver(app, start + timedelta(seconds=59)).handled == 0  # not due yet: no attempt
        assert deliver(app, start + timedelta(seconds=60)).retrying == 1
        second = outbox_row(message.id)
        assert (second.attempts, second.next_attempt_at) == (2, start + timedelta(seconds=60 + 120))
        assert deliver(app, start + timedelta(seconds=180)).given_up == 1
        assert deliver(app, start + timedelta(days=1)).handled == 0

    final = outbox_row(message.id)
    assert (final.status, final.attempts, final.sent_at) == ("failed", 3, None)
    assert "451" in (final.last_error or "") and sink.recipient_attempts == 3 and sink.received == []


def test_an_unreachable_server_is_retried_and_its_other_messages_fail_without_waiting(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    with SmtpSink() as sink:
        settings = sink.settings()
    for key, value in settings.items():  # the server is gone: connections are refused
        monkeypatch.setitem(app.config, key, value)
    now = datetime(2026, 10, 9, 1, 0, tzinfo=UTC)
    ids = [queue_email(f"user{n}@example.cn", "通知", "正文", now).id for n in range(3)]

    report = deliver(app, now)

    assert (report.retrying, report.errors) == (3, ["smtp-connect"] * 3)
    assert all("无法连接邮件服务器" in (outbox_row(i).last_error or "") for i in ids)


def test_an_office_code_is_never_used_as_an_email_address(app: Flask, smtp: SmtpSink) -> None:
    now = datetime(2026, 10, 9, 1, 0, tzinfo=UTC)
    message = queue_email("编办:150602", "催办", "请尽快办理", now)

    report = deliver(app, now)

    assert (report.given_up, report.retrying) == (1, 0)  # at once: retrying would not make it an address
    assert outbox_row(message.id).last_error == "收件人不是电子邮件地址，不能发送邮件"
    assert smtp.connections == 0 and smtp.received == []


def test_sms_are_recorded_by_the_default_gateway_and_shown_with_the_outbox_on_the_admin_pages(
    app: Flask, login: Any
) -> None:
    now = datetime(2026, 10, 9, 1, 0, tzinfo=UTC)
    notifications.queue(db.session, None, {"sms": "13900139000"}, "域名注册成功", "您单位的域名已注册成功。", now)
    notifications.queue(db.session, None, {"sms": "编办:150600"}, "催办", "请尽快办理。", now)
    db.session.commit()

    report = deliver(app, now)

    assert (report.sent, report.given_up) == (1, 1)
    client = login("admin")
    sms_page = client.get("/admin/sms").get_data(as_text=True)
    assert "139****9000" in sms_page and "13900139000" not in sms_page  # the admin needs no whole mobile
    assert "您单位的域名已注册成功。" in sms_page and "请尽快办理" not in sms_page
    outbox_page = client.get("/admin/outbox?status=failed").get_data(as_text=True)
    assert "收件人不是手机号码，不能发送短信" in outbox_page and "域名注册成功" not in outbox_page
    assert "尚未配置邮件服务器" in outbox_page
    assert login("unit1").get("/admin/sms").status_code == 403


def test_the_admin_sends_a_given_up_message_again(app: Flask, login: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "OUTBOX_MAX_ATTEMPTS", 1)
    now = datetime(2026, 10, 9, 1, 0, tzinfo=UTC)
    with SmtpSink(refuse_with="452 4.2.2 Mailbox full") as sink:
        for key, value in sink.settings().items():
            monkeypatch.setitem(app.config, key, value)
        message = queue_email("zhang@example.cn", "通知", "正文", now)
        assert deliver(app, now).given_up == 1
    client = login("admin")
    assert "邮件服务器答复 452：4.2.2 Mailbox full" in client.get("/admin/outbox").get_data(as_text=True)

    assert client.post(f"/admin/outbox/{message.id}/retry").status_code == 302

    again = outbox_row(message.id)
    assert (again.status, again.attempts) == ("pending", 0)
    assert client.post(f"/admin/outbox/{message.id}/retry").status_code == 404  # only a given-up one


# ---- several workers, and stopping ------------------------------------------------------------


def test_two_workers_on_postgresql_deliver_each_of_200_messages_exactly_once(
    app: Flask, smtp: SmtpSink, backend: str
) -> None:
    if backend != "postgresql":
        pytest.skip("SQLite runs a single worker")
    now = datetime(2026, 10, 9, 1, 0, tzinfo=UTC)
    for number in range(200):
        notifications.queue(db.session, None, {"email": f"unit{number}@example.cn"}, f"通知 {number}", "正文", now)
    db.session.commit()

    def worker() -> int:
        delivered = 0
        while (report := deliver(app, now, limit=20)).handled:
            delivered += report.sent
        return delivered

    first, second = in_threads(app, [worker, worker])

    assert first + second == 200 and first > 0 and second > 0
    subjects = sorted(received.message["Subject"] for received in smtp.received)
    assert subjects == sorted(f"通知 {number}" for number in range(200))
    statuses = db.session.execute(select(OutboxMessage.status, OutboxMessage.attempts).distinct()).all()
    assert statuses == [("sent", 1)]


def _worker_process(app: Flask, sink: SmtpSink, interval: str) -> subprocess.Popen[str]:
    settings = {key: str(value) for key, value in sink.settings().items()}
    env = {
        **os.environ,
        **settings,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "WORKER_BATCH_SIZE": "5",
        "FLASK_APP": "app",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "worker", "--interval", interval],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(condition: Any, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_sigterm_lets_a_real_worker_finish_its_batch_then_exit_0(app: Flask) -> None:
    now = datetime.now(UTC) - timedelta(minutes=1)  # the subprocess runs on the wall clock
    for number in range(30):
        notifications.queue(db.session, None, {"email": f"unit{number}@example.cn"}, f"通知 {number}", "正文", now)
    db.session.commit()
    with SmtpSink(delay=0.2) as sink:
        process = _worker_process(app, sink, "60")
        try:
            _wait_for(lambda: sink.received)  # in the middle of its first batch of five
            process.send_signal(signal.SIGTERM)
            output, errors = process.communicate(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()

    assert process.returncode == 0, errors
    assert "已停止" in output
    db.session.expire_all()
    sent = db.session.scalar(select(func.count(OutboxMessage.id)).where(OutboxMessage.status == "sent"))
    assert sent == len(sink.received) == 5  # the batch was finished and recorded; no further batch began


def test_a_worker_goes_on_without_sleeping_while_work_is_due_and_stops_at_once_when_idle(app: Flask) -> None:
    now = datetime.now(UTC)
    for number in range(12):  # three batches of five
        notifications.queue(db.session, None, {"sms": f"1380013{number:04d}"}, "通知", "正文", now)
    db.session.commit()
    with SmtpSink() as sink:
        process = _worker_process(app, sink, "600")
        try:
            _wait_for(lambda: db.session.scalar(select(func.count(SmsRecord.id))) == 12)  # no 10-minute pauses
            time.sleep(0.3)  # into its sleep: nothing else is due
            signalled = time.monotonic()
            process.send_signal(signal.SIGTERM)
            process.communicate(timeout=30)
            stopped_after = time.monotonic() - signalled
        finally:
            if process.poll() is None:
                process.kill()

    assert process.returncode == 0 and stopped_after < 5


# ---- 消息中心 -------------------------------------------------------------------------------


def _unit_of(demo: dict[str, Any], username: str) -> Unit:
    return demo[username].unit  # type: ignore[no-any-return]


def test_a_unit_sees_its_messages_with_an_unread_count_and_marks_them_read(
    app: Flask, demo: dict[str, Any], start: Any, login: Any, clock: Any
) -> None:
    application = start("domain_registration", _unit_of(demo, "unit1"))
    for subject in ("域名审核通过，请缴纳注册费", "域名注册成功"):
        recipients = {"sms": "13800138000", "email": "zhang@example.cn"}
        notifications.queue(db.session, application.instance_id, recipients, subject, f"{subject}。", clock.now)
    db.session.commit()
    client = login("unit1")

    home = client.get("/messages/").get_data(as_text=True)
    assert 'data-unread-count="2"' in home and "域名注册成功。" in home and home.count("message-unread") == 2
    first, _ = db.session.scalars(select(InAppMessage).order_by(InAppMessage.id)).all()
    assert client.post(f"/messages/{first.id}/read").status_code == 302
    assert 'data-unread-count="1"' in client.get("/messages/").get_data(as_text=True)
    unread_only = client.get("/messages/?unread=1").get_data(as_text=True)
    assert "域名注册成功。" in unread_only and "域名审核通过，请缴纳注册费。" not in unread_only

    client.post("/messages/read-all")

    assert "data-unread-count" not in client.get("/messages/").get_data(as_text=True)
    assert application.instance.business_key in client.get("/messages/").get_data(as_text=True)


def test_a_unit_cannot_read_or_mark_another_units_messages(
    app: Flask, demo: dict[str, Any], start: Any, login: Any, clock: Any
) -> None:
    application = start("domain_registration", _unit_of(demo, "unit1"))
    notifications.queue(db.session, application.instance_id, {"sms": "13800138000"}, "缴费通知", "请缴费。", clock.now)
    db.session.commit()
    message = db.session.scalars(select(InAppMessage)).one()
    client = login("unit2")

    assert "请缴费。" not in client.get("/messages/").get_data(as_text=True)
    assert client.post(f"/messages/{message.id}/read").status_code == 404
    assert client.post("/messages/read-all").status_code == 302
    client = login("unit1")
    assert 'data-unread-count="1"' in client.get("/messages/").get_data(as_text=True)  # still unread for unit1


def test_an_office_notice_reaches_that_offices_reviewers_by_the_offices_name(
    app: Flask, demo: dict[str, Any], login: Any, clock: Any
) -> None:
    notifications.queue(
        db.session, None, {notifications.OFFICE_CHANNEL: "编办:150602"}, "催办", "请尽快初审。", clock.now
    )
    db.session.commit()
    (row,) = db.session.scalars(select(OutboxMessage)).all()
    assert (row.status, row.sent_at) == ("sent", clock.now)  # delivered in-app as it was queued

    reviewer = login("dongsheng")
    page = reviewer.get("/messages/").get_data(as_text=True)
    assert "请尽快初审。" in page and 'data-unread-count="1"' in page and "东胜区委编办" in page
    assert "请尽快初审。" in reviewer.get("/review/").get_data(as_text=True)  # also among the 待办 page's 提醒
    other_office = login("bianban")
    assert "请尽快初审。" not in other_office.get("/messages/").get_data(as_text=True)
    outbox_page = login("admin").get("/admin/outbox").get_data(as_text=True)
    assert "东胜区委编办" in outbox_page and "编办:150602" not in outbox_page


def test_each_reviewer_of_an_office_keeps_their_own_read_marks(
    app: Flask, demo: dict[str, Any], login: Any, clock: Any
) -> None:
    notifications.queue(
        db.session, None, {notifications.OFFICE_CHANNEL: "编办:150600"}, "提醒", "期限将至。", clock.now
    )
    db.session.commit()
    message = db.session.scalars(select(InAppMessage)).one()

    login("bianban").post(f"/messages/{message.id}/read")

    assert "data-unread-count" not in login("bianban").get("/messages/").get_data(as_text=True)
    assert 'data-unread-count="1"' in login("bianban2").get("/messages/").get_data(as_text=True)


def test_a_reminder_reaches_the_reviewing_offices_message_center_named_by_the_office(
    app: Flask, demo: dict[str, Any], start: Any, login: Any, clock: Any, smtp: SmtpSink
) -> None:
    clock.set("2026-09-28 10:00")
    application = start("domain_registration", _unit_of(demo, "unit1")).complete(UNIT, DOMAIN_APPLICATION)
    clock.set("2026-10-12 09:00")  # the 编办's five working days are over

    page = login("unit1").post(f"/unit/applications/{application.instance.business_key}/remind", follow_redirects=True)

    assert "已催办，鄂尔多斯市委编办的审核人员将在消息中心收到催办通知。" in page.get_data(as_text=True)
    (notice,) = application.outbox()
    center = login("bianban").get("/messages/").get_data(as_text=True)
    assert notice.body in center and 'data-unread-count="1"' in center
    assert app.test_cli_runner().invoke(args=["worker", "--once"]).exit_code == 0
    assert smtp.connections == 0  # nothing of it goes out by e-mail
