"""Administrators (blueprint `admin`; the 三员 split in tests/test_admin_roles.py): staff accounts and applications
stuck in error.

1. The admin creates a reviewer account for an office; the reviewer can log in and belongs to that office.
   Problems are shown next to the field (weak password, taken user name, reviewer without or with the
   wrong kind of office), and nothing is created.
2. An application whose step failed (an operator raised) is listed under 出错的申请; 重试 replays the failed
   action once the cause is gone; the runner records the retry in the audit trail.
3. Every route of the blueprint refuses other roles (403) and sends anonymous visitors to the login.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app.engine.errors import TaskFailure
from app.extensions import db
from app.models import AuditEvent, User
from app.services import billing
from tests.conftest import APPROVE, BIANBAN, CONAC, TEST_APPLICATION, UNIT, Application
from tests.second_factor_login import log_in

NEW_REVIEWER = {
    "username": "kangbashi",
    "display_name": "鄂尔多斯市委编办 审核员三",
    "role": "编办",
    "office": "编办:150600",
    "password": "Review-2026",
    "confirm": "Review-2026",
}


def user(username: str) -> User | None:
    return db.session.scalar(select(User).where(User.username == username))


def test_the_admin_creates_a_reviewer_with_an_office(login: Any) -> None:
    client = login("admin")
    page = client.get("/admin/users/new").get_data(as_text=True)
    assert "鄂尔多斯市委编办（编办）" in page and 'name="csrf_token"' in page

    response = client.post("/admin/users/new", data=NEW_REVIEWER)
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/users")
    created = user("kangbashi")
    assert (created.role, created.office_code, created.display_name) == (
        "编办",
        "编办:150600",
        "鄂尔多斯市委编办 审核员三",
    )
    assert "kangbashi" in client.get("/admin/users").get_data(as_text=True)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "create_user"))
    assert (event.actor, event.detail["username"], event.detail["office"]) == ("admin", "kangbashi", "编办:150600")

    client.post("/logout")
    assert log_in(client, "kangbashi", "Review-2026").status_code == 200  # enrolled: its recovery codes
    assert client.get("/review/").headers["Location"].endswith("/account/password")  # first login: own password
    own = {"current": "Review-2026", "password": "Ordos-kbs-77", "confirm": "Ordos-kbs-77"}
    assert client.post("/account/password", data=own).status_code == 302
    assert client.get("/review/").status_code == 200


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"password": "short1", "confirm": "short1"}, "至少包含大写字母、小写字母、数字、符号中的三类"),
        ({"confirm": "other2026"}, "两次输入的密码不一致"),
        ({"username": "bianban"}, "该用户名已被使用"),
        ({"username": "1abc"}, "用户名须以字母开头"),
        ({"office": ""}, "审核人员须选择所属机构"),
        ({"office": "CONAC"}, "“编办”账号须属于编办机构，所选机构为CONAC"),
        ({"role": "单位", "office": ""}, "不能由管理员直接创建"),
        ({"display_name": ""}, "请填写姓名或名称"),
    ],
)
def test_problems_are_shown_next_to_the_field(login: Any, changes: dict[str, str], message: str) -> None:
    client = login("admin")
    before = len(db.session.scalars(select(User.id)).all())
    response = client.post("/admin/users/new", data={**NEW_REVIEWER, **changes})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in page
    assert 'class="invalid-feedback"' in page
    assert len(db.session.scalars(select(User.id)).all()) == before


@pytest.fixture
def failed(two_reviews: str, make_unit: Any, start: Any, monkeypatch: pytest.MonkeyPatch) -> Application:
    """An application of the tests' own procedure whose CONAC approval failed in an operator (the invoice
    service was down)."""
    application = start(two_reviews, make_unit()).complete(UNIT, TEST_APPLICATION)
    application.complete(BIANBAN, APPROVE)

    def unreachable(*args: Any, **kwargs: Any) -> int:
        raise RuntimeError("invoice service unreachable")

    monkeypatch.setattr(billing, "create_charge", unreachable)
    with pytest.raises(TaskFailure):
        application.complete(CONAC, APPROVE)
    monkeypatch.undo()
    assert application.instance.status == "error"
    return application


def test_the_admin_retries_an_application_in_error(failed: Application, login: Any) -> None:
    client = login("admin")
    key = failed.instance.business_key
    page = client.get("/admin/errors").get_data(as_text=True)
    assert key in page and "事件编号" in page and "重试" in page
    assert "invoice service unreachable" not in page  # the exception's text stays in the server log

    response = client.post(f"/admin/errors/{key}/retry", follow_redirects=True)
    assert response.status_code == 200
    assert f"申请 {key} 已重试成功，当前状态：待缴费" in response.get_data(as_text=True)
    assert (failed.instance.status, failed.stage) == ("running", "待缴费")
    retry = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "retry"))
    assert (retry.actor, retry.role, retry.instance_id) == ("admin", "系统管理员", failed.instance_id)
    assert key not in client.get("/admin/errors").get_data(as_text=True)


def test_retrying_what_did_not_fail_is_explained(failed: Application, login: Any) -> None:
    client = login("admin")
    key = failed.instance.business_key
    client.post(f"/admin/errors/{key}/retry")
    response = client.post(f"/admin/errors/{key}/retry", follow_redirects=True)
    assert "重试未成功：该申请没有可重试的失败操作" in response.get_data(as_text=True)
    assert client.post("/admin/errors/XX2026999999/retry").status_code == 404


def test_every_admin_route_refuses_other_roles(app: Flask, login: Any) -> None:
    """Walks the blueprint's url_map, so routes added later are covered too."""
    rules = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("admin.")]
    assert len(rules) >= 5

    def call(client: Any, rule: Any) -> int:
        path = rule.rule.replace("<business_key>", "KB2026000001").replace("<int:user_id>", "1")
        method = "post" if "POST" in rule.methods and "GET" not in rule.methods else "get"
        return getattr(client, method)(path).status_code

    for username in ("unit1", "bianban", "conac", "policy"):
        client = login(username)
        assert {rule.rule: call(client, rule) for rule in rules} == {rule.rule: 403 for rule in rules}, username
    client.post("/logout")
    assert {rule.rule: call(client, rule) for rule in rules} == {rule.rule: 302 for rule in rules}
    client = login("admin")
    assert client.get("/admin/").status_code == 302
    assert client.get("/admin/users").status_code == 200


@pytest.mark.parametrize(
    ("account", "home"),
    [("admin", "/admin/users"), ("policy", "/studio/"), ("bianban", "/review/"), ("unit1", "/unit/")],
)
def test_each_role_lands_on_its_own_home_page(login: Any, account: str, home: str) -> None:
    assert login(account).get("/home").headers["Location"].endswith(home)
