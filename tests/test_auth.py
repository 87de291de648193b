"""Accounts: login with lockout, unit self-registration with 单位信息, role gates on every blueprint."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, Unit, User

VALID_REGISTRATION = {
    "unit_type": "党政机关",
    "name": "东胜区人民政府办公室",
    "uscc": "11110000000012343B",
    "nature": "机关",
    "affiliation": "县（市、区、旗）属",
    "province": "150000",
    "city": "150600",
    "county": "150602",
    "address": "东胜区政府大楼",
    "postcode": "017000",
    "leader": "刘主任",
    "contact_name": "陈经办",
    "contact_mobile": "13912345678",
    "contact_email": "chen@example.cn",
    "contact_phone": "",
    "username": "dongsheng-gov",
    "password": "Dsgov2026x",
    "confirm": "Dsgov2026x",
    "agree": "y",
}


def test_a_unit_registers_and_logs_in(client: Any, regions_loaded: None) -> None:
    response = client.post("/register", data=VALID_REGISTRATION)
    assert response.status_code == 302
    unit = db.session.scalar(select(Unit).where(Unit.uscc == "11110000000012343B"))
    assert (unit.region_code, unit.level, unit.contacts[0].mobile) == ("150602", "county", "13912345678")
    response = client.post("/login", data={"username": "dongsheng-gov", "password": "Dsgov2026x"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/unit/")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("uscc", "11110000000012344E", "统一社会信用代码格式或校验位不正确"),
        ("contact_mobile", "1234567", "请输入11位手机号码"),
        ("password", "abcdefgh", "密码须为8-16位半角字符，且同时包含字母和数字"),
        ("name", "<script>x</script>", "不能包含 &lt; 或 &gt; 等字符"),
        ("agree", "", "请阅读并同意注册协议"),
    ],
)
def test_registration_errors_are_shown_next_to_the_field(
    client: Any, regions_loaded: None, field: str, value: str, message: str
) -> None:
    data = {**VALID_REGISTRATION, field: value}
    if field == "password":
        data["confirm"] = value
    response = client.post("/register", data=data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(User).where(User.username == "dongsheng-gov")) is None


def test_one_submit_shows_every_registration_problem_at_once(client: Any, regions_loaded: None) -> None:
    assert client.post("/register", data=VALID_REGISTRATION).status_code == 302
    data = {
        **VALID_REGISTRATION,
        "password": "abcdefgh",  # the password rule
        "confirm": "abcdefgh",
        "contact_mobile": "1234567",  # a field of the form itself
    }  # and the user name and the USCC are taken
    page = client.post("/register", data=data).get_data(as_text=True)
    for message in ("该用户名已被使用", "密码须为8-16位半角字符", "请输入11位手机号码", "该统一社会信用代码已注册"):
        assert message in page, message


def test_five_wrong_passwords_lock_the_account_and_the_lock_is_audited(client: Any, demo: dict[str, Any]) -> None:
    for _ in range(5):
        assert client.post("/login", data={"username": "bianban", "password": "wrong1234"}).status_code == 401
    from app.services.demo import DEMO_PASSWORD

    response = client.post("/login", data={"username": "bianban", "password": DEMO_PASSWORD})
    assert response.status_code == 429 and "已暂停登录" in response.get_data(as_text=True)
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.actor == "bianban")).all()
    assert actions.count("login_failed") == 5 and "lock" in actions and "login_throttled" in actions
    assert db.session.scalar(select(User).where(User.username == "bianban")).locked_until is not None


def test_an_unknown_name_gets_the_same_answers_as_an_existing_account(client: Any, demo: dict[str, Any]) -> None:
    """Probing cannot tell accounts apart: the same texts and statuses, also once the name is locked."""
    answers = {}
    for name in ("bianban", "no-such-account"):
        seen = [client.post("/login", data={"username": name, "password": "wrong1234"}) for _ in range(7)]
        answers[name] = [(r.status_code, _login_error(r)) for r in seen]
    assert answers["bianban"] == answers["no-such-account"]
    assert answers["bianban"][0] == (401, "用户名或密码错误")
    assert answers["bianban"][-1][0] == 429 and "已暂停登录" in answers["bianban"][-1][1]


def test_logins_from_one_address_are_throttled(app: Flask, client: Any, demo: dict[str, Any]) -> None:
    app.config["LOGIN_LIMIT_PER_IP"] = "3 per minute"
    try:
        statuses = [
            client.post("/login", data={"username": f"name{i}", "password": "wrong1234"}).status_code for i in range(4)
        ]
    finally:
        app.config["LOGIN_LIMIT_PER_IP"] = "30 per minute;300 per hour"
    assert statuses == [401, 401, 401, 429]


def test_an_admin_unlocks_a_locked_account_and_it_is_audited(login: Any, demo: dict[str, Any]) -> None:
    from app.services.accounts import LOCK_MINUTES

    user = db.session.scalar(select(User).where(User.username == "bianban"))
    user.locked_until = datetime.now(UTC) + timedelta(minutes=LOCK_MINUTES)
    db.session.commit()
    admin = login("secadmin")  # 三员: unlocking is the security admin's
    page = admin.get("/admin/users").get_data(as_text=True)
    assert "已锁定至" in page and "解锁" in page
    assert admin.post(f"/admin/users/{user.id}/unlock").status_code == 302
    db.session.expire_all()
    assert db.session.get(User, user.id).locked_until is None
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "unlock")).detail["username"] == "bianban"


def _login_error(response: Any) -> str:
    text = response.get_data(as_text=True)
    start = text.find('class="invalid-feedback"')
    return text[text.find(">", start) + 1 : text.find("</div>", start)].strip() if start >= 0 else ""


def test_each_blueprint_refuses_the_wrong_role(app: Flask, login: Any) -> None:
    """Walks every GET route without parameters: anonymous → login, wrong role → 403."""
    gated = {"wizard": "bianban", "worklist": "unit1"}
    for rule in app.url_map.iter_rules():
        blueprint = rule.endpoint.split(".")[0]
        if blueprint not in gated or "GET" not in rule.methods or rule.arguments:
            continue
        client = login(gated[blueprint])
        assert client.get(rule.rule).status_code == 403, rule.rule
        client.post("/logout")
        assert client.get(rule.rule).status_code == 302, rule.rule


_FAILED_LOGINS_IN_A_PROCESS = """
import sys
from flask_migrate import upgrade
from app import create_app
app = create_app({"SQLALCHEMY_DATABASE_URI": sys.argv[1], "WTF_CSRF_ENABLED": False,
                  "RATELIMIT_STORAGE_URI": sys.argv[2], "RATELIMIT_KEY_PREFIX": sys.argv[3]})
with app.app_context():
    upgrade(directory="migrations", revision="heads")
client = app.test_client()
codes = [client.post("/login", data={"username": "probe", "password": "wrong1234"}).status_code
         for _ in range(int(sys.argv[4]))]
print(" ".join(map(str, codes)))
"""


def _redis_reachable() -> bool:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.mark.skipif(not _redis_reachable(), reason="no Redis on 127.0.0.1:6379")
def test_web_processes_share_the_throttle_through_redis(tmp_path: Any) -> None:
    """Two processes (as two gunicorn workers): failures counted by one lock the name in the other."""
    import subprocess
    import sys
    import uuid
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    prefix = f"test-{uuid.uuid4().hex}"

    def attempts(count: int) -> list[int]:
        database = f"sqlite:///{tmp_path / 'throttle.sqlite3'}"
        arguments = [database, "redis://127.0.0.1:6379/0", prefix, str(count)]
        done = subprocess.run(
            [sys.executable, "-c", _FAILED_LOGINS_IN_A_PROCESS, *arguments],
            cwd=root, capture_output=True, text=True, timeout=120, check=True,
        )
        return [int(code) for code in done.stdout.split()]

    assert attempts(5) == [401] * 5
    assert attempts(1) == [429]


def test_the_province_list_is_in_simplified_chinese(client: Any, regions_loaded: None) -> None:
    page = client.get("/register").get_data(as_text=True)
    assert "香港特别行政区" in page and "澳门特别行政区" in page
    assert "特別行政區" not in page
