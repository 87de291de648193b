"""The second factor of staff accounts (DOMAIN.md §7.1): TOTP with enrolment, recovery codes, replay and
lockout, the security admin's reset; SMS codes to the mobile the security admin registers; units are not asked."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp
import pytest
from flask import Flask
from sqlalchemy import select, text

from app.extensions import db
from app.models import AuditEvent, OutboxMessage, SmsRecord, User, UserSession
from app.models.outbox import FAILED, SENT
from app.services import accounts, audit, second_factor_sms
from app.services.accounts import MAX_FAILED_LOGINS
from app.services.audit import Actor
from app.services.delivery_errors import DeliveryFailure
from app.services.demo import DEMO_PASSWORD, DEMO_TOTP_SECRET
from tests.second_factor_login import CODE_PAGE, ENROL_PAGE, log_in

STAFF_PAGES = ("/review/", "/review/done", "/studio/", "/admin/users", "/admin/", "/account/password", "/home")


def _user(name: str) -> User:
    db.session.expire_all()
    return db.session.scalar(select(User).where(User.username == name))  # type: ignore[return-value]


def _password_only(client: Any, username: str) -> Any:
    response = client.post("/login", data={"username": username, "password": DEMO_PASSWORD})
    assert response.status_code == 302
    return response


def _actions(actor: str) -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).where(AuditEvent.actor == actor)))


def _another_code(right: str) -> str:
    return f"{(int(right) + 1) % 1_000_000:06d}"


def _unenrol(username: str) -> None:
    user = _user(username)
    user.totp_secret = user.totp_last_step = user.totp_recovery_hashes = user.second_factor_method = None
    db.session.commit()


def _enrol(client: Any, username: str) -> list[str]:
    """Log in with the password, enrol through the page; returns the recovery codes shown."""
    assert _password_only(client, username).headers["Location"].endswith(ENROL_PAGE)
    page = client.get(ENROL_PAGE).get_data(as_text=True)
    secret = re.search(r'<code class="totp-secret">([A-Z2-7]+)</code>', page)
    assert secret is not None
    response = client.post(ENROL_PAGE, data={"code": pyotp.TOTP(secret.group(1)).now()})
    assert response.status_code == 200
    return re.findall(r"<li><code>([0-9a-f]{5}-[0-9a-f]{5})</code></li>", response.get_data(as_text=True))


@pytest.mark.parametrize("username", ["bianban", "conac", "policy", "admin", "secadmin", "auditor"])
def test_a_staff_password_alone_reaches_no_page(client: Any, demo: dict[str, Any], username: str) -> None:
    assert _password_only(client, username).headers["Location"].endswith(CODE_PAGE)
    for path in STAFF_PAGES:
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"].endswith(CODE_PAGE), path
    assert client.post("/admin/users/1/sessions/end").headers["Location"].endswith(CODE_PAGE)


def test_units_are_not_asked(client: Any, demo: dict[str, Any]) -> None:
    response = _password_only(client, "unit1")
    assert response.headers["Location"].endswith("/unit/")
    assert client.get("/unit/").status_code == 200
    assert client.get(CODE_PAGE).headers["Location"].endswith("/unit/")  # nothing to do there


def test_enrolment_shows_a_qr_code_and_needs_a_current_code(client: Any, demo: dict[str, Any]) -> None:
    _unenrol("bianban")
    assert _password_only(client, "bianban").headers["Location"].endswith(ENROL_PAGE)
    assert client.get("/review/").headers["Location"].endswith(ENROL_PAGE)
    page = client.get(ENROL_PAGE).get_data(as_text=True)
    secret = re.search(r'<code class="totp-secret">([A-Z2-7]{32})</code>', page)
    assert secret is not None and "<svg" in page and "<script" not in page.split("<svg", 1)[1].split("</svg>")[0]
    assert client.get(ENROL_PAGE).get_data(as_text=True).count(secret.group(1)) == 1  # same secret until confirmed

    wrong = client.post(ENROL_PAGE, data={"code": _another_code(pyotp.TOTP(secret.group(1)).now())})
    assert wrong.status_code == 401 and "验证码不正确" in wrong.get_data(as_text=True)
    assert _user("bianban").failed_logins == 1 and _user("bianban").totp_secret is None

    shown = client.post(ENROL_PAGE, data={"code": pyotp.TOTP(secret.group(1)).now()})
    codes = re.findall(r"<li><code>([0-9a-f]{5}-[0-9a-f]{5})</code></li>", shown.get_data(as_text=True))
    assert shown.status_code == 200 and len(set(codes)) == 10
    user = _user("bianban")
    assert user.totp_secret == secret.group(1) and user.failed_logins == 0
    hashes = json.loads(user.totp_recovery_hashes or "[]")
    assert len(hashes) == 10 and all(h.startswith("$argon2") for h in hashes)
    assert codes[0] not in (user.totp_recovery_hashes or "")
    assert client.get("/review/").status_code == 200
    assert "second_factor_enrol" in _actions("bianban")
    trail = " ".join(str(event.detail) for event in db.session.scalars(select(AuditEvent)))
    assert secret.group(1) not in trail


def test_wrong_codes_are_refused_and_count_towards_the_lockout(client: Any, demo: dict[str, Any]) -> None:
    _password_only(client, "conac")
    wrong = _another_code(pyotp.TOTP(DEMO_TOTP_SECRET).now())
    for attempt in range(1, MAX_FAILED_LOGINS):
        response = client.post(CODE_PAGE, data={"code": wrong})
        assert response.status_code == 401 and "验证码不正确" in response.get_data(as_text=True)
        assert _user("conac").failed_logins == attempt
    client.post(CODE_PAGE, data={"code": wrong})  # the fifth: locked, and the session ends
    assert _user("conac").locked_until is not None
    assert _actions("conac").count("second_factor_failed") == MAX_FAILED_LOGINS and "lock" in _actions("conac")
    again = client.post("/login", data={"username": "conac", "password": DEMO_PASSWORD})
    assert again.status_code in (401, 429) and "已暂停登录" in again.get_data(as_text=True)  # locked out
    assert client.get("/review/").headers["Location"].startswith("/login")


def test_a_used_code_cannot_be_replayed(app: Flask, demo: dict[str, Any]) -> None:
    first, second = app.test_client(), app.test_client()
    code = pyotp.TOTP(DEMO_TOTP_SECRET).now()
    _password_only(first, "bianban")
    assert first.post(CODE_PAGE, data={"code": code}).headers["Location"].endswith("/review/")
    _password_only(second, "bianban")
    replayed = second.post(CODE_PAGE, data={"code": code})
    assert replayed.status_code == 401 and second.get("/review/").headers["Location"].endswith(CODE_PAGE)
    assert _user("bianban").failed_logins == 1


def test_a_recovery_code_works_once(app: Flask, demo: dict[str, Any]) -> None:
    _unenrol("dongsheng")
    codes = _enrol(app.test_client(), "dongsheng")
    phone_lost = app.test_client()
    _password_only(phone_lost, "dongsheng")
    assert phone_lost.post(CODE_PAGE, data={"code": codes[3].upper()}).headers["Location"].endswith("/review/")
    assert len(json.loads(_user("dongsheng").totp_recovery_hashes or "[]")) == 9
    again = app.test_client()
    _password_only(again, "dongsheng")
    assert again.post(CODE_PAGE, data={"code": codes[3]}).status_code == 401
    assert again.post(CODE_PAGE, data={"code": codes[4]}).status_code == 302
    assert again.get("/review/").status_code == 200


def test_the_security_admin_resets_the_second_factor(app: Flask, login: Any, demo: dict[str, Any]) -> None:
    reviewer = app.test_client()
    assert log_in(reviewer, "bianban").status_code == 302
    bianban_id = _user("bianban").id
    assert login("admin").post(f"/admin/users/{bianban_id}/second-factor/reset").status_code == 403  # 三员
    response = login("secadmin").post(f"/admin/users/{bianban_id}/second-factor/reset", follow_redirects=True)
    assert "已重置 bianban 的第二因素" in response.get_data(as_text=True)
    assert _user("bianban").totp_secret is None
    assert reviewer.get("/review/").headers["Location"].startswith("/login")  # its sessions ended
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "second_factor_reset"))
    assert event is not None and (event.actor, event.detail["username"]) == ("secadmin", "bianban")
    assert len(_enrol(app.test_client(), "bianban")) == 10  # the next login enrols again
    unit_id = _user("unit1").id
    refused = login("secadmin").post(f"/admin/users/{unit_id}/second-factor/reset", follow_redirects=True)
    assert "单位账号不使用第二因素" in refused.get_data(as_text=True)


def test_the_demo_code_command_refuses_production(app: Flask, demo: dict[str, Any]) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "totp", "bianban"])
    assert result.exit_code == 0 and pyotp.TOTP(DEMO_TOTP_SECRET).verify(result.output.strip(), valid_window=1)
    assert runner.invoke(args=["users", "totp", "unit1"]).exit_code != 0
    environment, app.config["APP_ENV"] = app.config["APP_ENV"], "production"
    try:
        refused = runner.invoke(args=["users", "totp", "bianban"])
    finally:
        app.config["APP_ENV"] = environment
    assert refused.exit_code != 0 and "生产环境" in refused.output


# ---- SMS codes to the registered mobile (app.services.second_factor_sms) ---------------------------------

MOBILE, MASKED = "13800138000", "138****8000"
SEND = "/account/second-factor/sms"
ENROL_SMS_PAGE = "/account/second-factor/enrol/sms"
SMS_TEXT = re.compile(r"^您的登录验证码为 (\d{6})，5分钟内有效，请勿告知他人。$")


def _use_sms(username: str, mobile: str = MOBILE) -> None:
    """An account enrolled for SMS codes, as the enrolment through the pages leaves it (tested below)."""
    user = _user(username)
    user.mobile, user.second_factor_method = mobile, "sms"
    user.totp_secret = user.totp_last_step = user.totp_recovery_hashes = None
    db.session.commit()


def _last_sms_code(mobile: str = MOBILE) -> str:
    """The code in the newest SMS the recording gateway kept, checking it went to `mobile` and says no more."""
    db.session.expire_all()
    record = db.session.scalar(select(SmsRecord).order_by(SmsRecord.id.desc()).limit(1))
    assert record is not None and record.mobile == mobile
    matched = SMS_TEXT.match(record.text)
    assert matched is not None, record.text
    return matched.group(1)


def _sms_count() -> int:
    return len(list(db.session.scalars(select(SmsRecord.id))))


def _age_the_code(username: str, seconds: int) -> None:
    """Move the clock on for this account's logins: their codes were sent `seconds` earlier."""
    for row in db.session.scalars(select(UserSession).join(User).where(User.username == username)):
        if row.sms_code_sent_at is not None:
            row.sms_code_sent_at -= timedelta(seconds=seconds)
    db.session.commit()


def _send(client: Any) -> str:
    return client.post(SEND, follow_redirects=True).get_data(as_text=True)


def test_enrolment_by_sms_to_the_registered_mobile(client: Any, demo: dict[str, Any]) -> None:
    _unenrol("bianban")
    _password_only(client, "bianban")
    assert "使用短信验证码" not in client.get(ENROL_PAGE).get_data(as_text=True)  # no mobile registered
    assert client.get(ENROL_SMS_PAGE).headers["Location"].endswith(ENROL_PAGE)
    user = _user("bianban")
    user.mobile = MOBILE
    db.session.commit()
    choice = client.get(ENROL_PAGE).get_data(as_text=True)
    assert "使用短信验证码" in choice and MASKED in choice and MOBILE not in choice

    sent = _send(client)
    assert "验证码已发送至 138****8000" in sent and "发送验证码" in sent and MOBILE not in sent
    code = _last_sms_code()
    stored = db.session.scalar(select(UserSession.sms_code_hash).join(User).where(User.username == "bianban"))
    assert stored is not None and re.fullmatch(r"[0-9a-f]{64}", stored) and code not in stored
    wrong = client.post(ENROL_SMS_PAGE, data={"code": _another_code(code)})
    assert wrong.status_code == 401 and "短信验证码不正确" in wrong.get_data(as_text=True)
    assert _user("bianban").second_factor_method is None and _user("bianban").failed_logins == 1

    shown = client.post(ENROL_SMS_PAGE, data={"code": code})
    codes = re.findall(r"<li><code>([0-9a-f]{5}-[0-9a-f]{5})</code></li>", shown.get_data(as_text=True))
    assert shown.status_code == 200 and len(set(codes)) == 10
    user = _user("bianban")
    assert (user.second_factor_method, user.totp_secret, user.failed_logins) == ("sms", None, 0)
    assert len(json.loads(user.totp_recovery_hashes or "[]")) == 10
    assert client.get("/review/").status_code == 200
    assert {"second_factor_sms_sent", "second_factor_enrol"} <= set(_actions("bianban"))
    trail = " ".join(str(event.detail) for event in db.session.scalars(select(AuditEvent)))
    assert MOBILE not in trail and code not in trail


def test_logging_in_with_an_sms_code(app: Flask, demo: dict[str, Any]) -> None:
    _use_sms("conac")
    client = app.test_client()
    assert _password_only(client, "conac").headers["Location"].endswith(CODE_PAGE)
    page = client.get(CODE_PAGE).get_data(as_text=True)
    assert "发送验证码" in page and MASKED in page and MOBILE not in page
    for path in STAFF_PAGES:  # the password alone reaches nothing, before and after a code is sent
        assert client.get(path).headers["Location"].endswith(CODE_PAGE), path
    assert _sms_count() == 0  # nothing is sent before the staff member asks
    _send(client)
    code = _last_sms_code()
    message = db.session.scalars(select(OutboxMessage)).one()  # sent at once, not left to the worker
    assert message.status == SENT and code not in message.body and "******" in message.body
    assert client.get("/review/").headers["Location"].endswith(CODE_PAGE)
    assert client.post(CODE_PAGE, data={"code": code}).headers["Location"].endswith("/review/")
    assert client.get("/review/").status_code == 200
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "second_factor")).all()[-1]
    assert (event.actor, event.detail) == ("conac", {"method": "sms"})

    another = app.test_client()  # a code is for its own login, and only once
    _password_only(another, "conac")
    assert another.post(CODE_PAGE, data={"code": code}).status_code == 401
    assert another.get("/review/").headers["Location"].endswith(CODE_PAGE)


def test_an_sms_code_expires_after_five_minutes(client: Any, demo: dict[str, Any]) -> None:
    _use_sms("conac")
    _password_only(client, "conac")
    _send(client)
    code = _last_sms_code()
    _age_the_code("conac", 5 * 60 + 1)
    expired = client.post(CODE_PAGE, data={"code": code})
    assert expired.status_code == 401 and "已过期" in expired.get_data(as_text=True)
    assert _user("conac").failed_logins == 1
    _send(client)  # the last one was sent over a minute ago
    assert client.post(CODE_PAGE, data={"code": _last_sms_code()}).headers["Location"].endswith("/review/")


def test_five_wrong_tries_spend_a_code(client: Any, demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(accounts, "MAX_FAILED_LOGINS", 20)  # the code's own limit, apart from the lockout
    _use_sms("conac")
    _password_only(client, "conac")
    _send(client)
    code = _last_sms_code()
    for _ in range(5):
        assert client.post(CODE_PAGE, data={"code": _another_code(code)}).status_code == 401
    spent = client.post(CODE_PAGE, data={"code": code})
    assert spent.status_code == 401 and "输错次数过多" in spent.get_data(as_text=True)
    _age_the_code("conac", 61)
    _send(client)
    assert client.post(CODE_PAGE, data={"code": _last_sms_code()}).headers["Location"].endswith("/review/")


def test_a_new_code_is_sent_a_minute_after_the_last(client: Any, demo: dict[str, Any]) -> None:
    _use_sms("conac")
    _password_only(client, "conac")
    _send(client)
    first = _last_sms_code()
    _age_the_code("conac", 30)
    throttled = _send(client)
    assert re.search(r"验证码已发送，请(29|30)秒后再重新获取", throttled) and _sms_count() == 1
    assert re.search(r"(29|30) 秒后可重新获取", client.get(CODE_PAGE).get_data(as_text=True))
    _age_the_code("conac", 31)
    _send(client)
    second = _last_sms_code()
    assert _sms_count() == 2
    if first != second:  # one in a million they agree; then the first proves nothing
        assert client.post(CODE_PAGE, data={"code": first}).status_code == 401
    assert client.post(CODE_PAGE, data={"code": second}).headers["Location"].endswith("/review/")


def test_sms_codes_are_limited_per_account_whichever_login_asks(app: Flask, demo: dict[str, Any]) -> None:
    """A new login per code does not lift the wait, and an hour holds at most SENDS_PER_HOUR codes: a stolen
    password alone cannot flood the owner's phone."""
    _use_sms("conac")
    first, second = app.test_client(), app.test_client()
    _password_only(first, "conac")
    _send(first)
    _password_only(second, "conac")
    assert re.search(r"验证码已发送，请(59|60)秒后再重新获取", _send(second)) and _sms_count() == 1
    assert re.search(r"(59|60) 秒后可重新获取", second.get(CODE_PAGE).get_data(as_text=True))
    _age_the_code("conac", 61)
    _send(second)
    assert _sms_count() == 2

    now = datetime.now(UTC)
    for minutes in range(second_factor_sms.SENDS_PER_HOUR - 2):  # sent earlier this hour, from other logins
        _sent_earlier("conac", now - timedelta(minutes=10 + minutes))
    _age_the_code("conac", 61)
    refused = _send(second)
    assert f"一小时内获取短信验证码已达 {second_factor_sms.SENDS_PER_HOUR} 次" in refused and _sms_count() == 2

    for _ in range(second_factor_sms.SENDS_PER_HOUR):  # what counts is the last hour only
        _sent_earlier("conac", now - timedelta(minutes=61))
    _send(second)
    assert _sms_count() == 3
    assert second.post(CODE_PAGE, data={"code": _last_sms_code()}).headers["Location"].endswith("/review/")


def _sent_earlier(username: str, at: datetime) -> None:
    user = _user(username)
    audit.record_at(db.session, at, Actor(user.username, user.role, None), second_factor_sms.SENT, None, None, {})
    db.session.commit()


def test_sms_codes_are_limited_per_address(app: Flask, demo: dict[str, Any]) -> None:
    app.config["SMS_LIMIT_PER_IP"] = "2 per minute"
    for username in ("conac", "bianban", "dongsheng"):
        _use_sms(username)
    answers = []
    for username in ("conac", "bianban", "dongsheng"):  # three accounts, one address
        client = app.test_client()
        _password_only(client, username)
        answers.append(client.post(SEND).status_code)
    assert answers == [302, 302, 429] and _sms_count() == 2


def test_wrong_sms_codes_count_towards_the_lockout(client: Any, demo: dict[str, Any]) -> None:
    _use_sms("conac")
    _password_only(client, "conac")
    _send(client)
    wrong = _another_code(_last_sms_code())
    for attempt in range(1, MAX_FAILED_LOGINS):
        assert client.post(CODE_PAGE, data={"code": wrong}).status_code == 401
        assert _user("conac").failed_logins == attempt
    client.post(CODE_PAGE, data={"code": wrong})
    assert _user("conac").locked_until is not None and "lock" in _actions("conac")
    failed = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "second_factor_failed")).all()
    assert len(failed) == MAX_FAILED_LOGINS and failed[0].detail == {"method": "sms"}
    assert client.get("/review/").headers["Location"].startswith("/login")


def test_recovery_codes_work_with_sms(app: Flask, demo: dict[str, Any]) -> None:
    _unenrol("dongsheng")
    user = _user("dongsheng")
    user.mobile = MOBILE
    db.session.commit()
    enrolling = app.test_client()
    _password_only(enrolling, "dongsheng")
    _send(enrolling)
    shown = enrolling.post(ENROL_SMS_PAGE, data={"code": _last_sms_code()}).get_data(as_text=True)
    codes = re.findall(r"<li><code>([0-9a-f]{5}-[0-9a-f]{5})</code></li>", shown)
    phone_lost = app.test_client()
    _password_only(phone_lost, "dongsheng")
    assert phone_lost.post(CODE_PAGE, data={"code": codes[0]}).headers["Location"].endswith("/review/")
    assert len(json.loads(_user("dongsheng").totp_recovery_hashes or "[]")) == 9


def test_the_security_admin_registers_a_staff_mobile(app: Flask, login: Any, demo: dict[str, Any]) -> None:
    conac_id, bianban_id, unit_id = _user("conac").id, _user("bianban").id, _user("unit1").id
    assert login("admin").get(f"/admin/users/{conac_id}/mobile").status_code == 403  # 三员: not the system admin
    admin = login("secadmin")
    invalid = admin.post(f"/admin/users/{conac_id}/mobile", data={"mobile": "1380013800"})
    assert invalid.status_code == 400 and "请输入11位手机号码" in invalid.get_data(as_text=True)
    refused = admin.post(f"/admin/users/{unit_id}/mobile", data={"mobile": MOBILE})
    assert refused.status_code == 400 and "单位账号不使用第二因素" in refused.get_data(as_text=True)

    reviewer = app.test_client()  # a TOTP account keeps its sessions when its mobile is registered
    log_in(reviewer, "bianban")
    listing = admin.post(f"/admin/users/{bianban_id}/mobile", data={"mobile": "138 0013 8000"}, follow_redirects=True)
    page = listing.get_data(as_text=True)
    assert "已登记 bianban 的手机号码" in page and MASKED in page and MOBILE not in page
    assert _user("bianban").mobile == MOBILE and reviewer.get("/review/").status_code == 200
    stored = db.session.execute(text('SELECT mobile FROM "user" WHERE id = :id'), {"id": bianban_id}).scalar()
    assert stored and MOBILE not in stored  # sealed at rest
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "second_factor_mobile_set")).one()
    assert (event.actor, event.detail) == ("secadmin", {"username": "bianban", "mobile": MASKED, "sessions": 0})

    _use_sms("conac")
    sms_user = app.test_client()
    _password_only(sms_user, "conac")
    _send(sms_user)
    sms_user.post(CODE_PAGE, data={"code": _last_sms_code()})
    assert sms_user.get("/review/").status_code == 200
    changed = admin.post(f"/admin/users/{conac_id}/mobile", data={"mobile": "13900139000"}, follow_redirects=True)
    assert "已结束其 1 个会话" in changed.get_data(as_text=True)
    assert sms_user.get("/review/").headers["Location"].startswith("/login")  # the old phone's holder is out
    assert _user("conac").mobile == "13900139000"


def test_the_reset_clears_the_sms_method(app: Flask, login: Any, demo: dict[str, Any]) -> None:
    assert _user("conac").second_factor_method == "totp"  # the demo accounts use the README's TOTP secret
    _use_sms("conac")
    login("secadmin").post(f"/admin/users/{_user('conac').id}/second-factor/reset")
    user = _user("conac")
    assert (user.second_factor_method, user.totp_recovery_hashes, user.mobile) == (None, None, MOBILE)
    again = app.test_client()
    assert _password_only(again, "conac").headers["Location"].endswith(ENROL_PAGE)
    assert "使用短信验证码" in again.get(ENROL_PAGE).get_data(as_text=True)  # SMS may be chosen again


class RefusingGateway:
    """An SMS provider that accepts nothing (SMS_GATEWAY names it in the test below)."""

    def __init__(self, session: Any, config: Any) -> None:
        pass

    def send(self, message: OutboxMessage, now: Any) -> None:
        raise DeliveryFailure("短信平台拒收", "rejected")


def test_a_code_the_gateway_refuses_is_not_retried_later(app: Flask, demo: dict[str, Any]) -> None:
    _use_sms("conac")
    client = app.test_client()
    _password_only(client, "conac")
    gateway, app.config["SMS_GATEWAY"] = app.config["SMS_GATEWAY"], f"{__name__}:RefusingGateway"
    try:
        page = _send(client)
    finally:
        app.config["SMS_GATEWAY"] = gateway
    assert "验证码短信发送失败" in page
    message = db.session.scalars(select(OutboxMessage)).one()
    assert (message.status, message.attempts, message.last_error) == (FAILED, 1, "短信平台拒收")
    assert re.search(r"\d{6}", message.body) is None
