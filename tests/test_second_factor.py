"""The second factor of staff accounts (DOMAIN.md §7.1): TOTP with enrolment, recovery codes, replay and
lockout, the security admin's reset; units are not asked."""

from __future__ import annotations

import json
import re
from typing import Any

import pyotp
import pytest
from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, User
from app.services.accounts import MAX_FAILED_LOGINS
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
    user.totp_secret = user.totp_last_step = user.totp_recovery_hashes = None
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
