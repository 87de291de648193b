"""三员 (DOMAIN.md §7.2): system admin `admin`, security admin `secadmin` and audit admin `auditor`.

1. Each admin role reaches only its own pages: the admin blueprints' url_map is walked against the one
   permission table (app/web/admin/permissions.py), which must name every admin endpoint.
2. No account holds two admin roles: changing an admin account into another role, or giving a second
   admin role to the same person, is refused in Chinese and nothing changes.
3. Admins are no reviewers: 403 on the reviewer pages, and the runner refuses them a task.
4. Only the audit admin reads the audit trail; mobiles and ID numbers are masked, the filters and pages
   work, each reading is audited, and 验证审计链 reports the rows checked or the first problem.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, update

from app.engine.errors import RefusedError
from app.extensions import db
from app.models import AuditEvent, User
from app.models.account import ADMIN_ROLES, AUDIT_ADMIN_ROLE, SECURITY_ADMIN_ROLE, SYSTEM_ADMIN_ROLE
from app.services import administration, audit
from app.services.audit import Actor
from app.services.errors import ServiceRefusal
from app.services.masking import mask_text
from app.web.admin.permissions import ADMIN_PAGES
from tests.conftest import BIANBAN, TEST_APPLICATION, UNIT, audit_guards_lifted
from tests.second_factor_login import log_in

ADMINS = {"admin": SYSTEM_ADMIN_ROLE, "secadmin": SECURITY_ADMIN_ROLE, "auditor": AUDIT_ADMIN_ROLE}
ADMIN_BLUEPRINTS = ("admin.", "admin_delivery.", "admin_audit.")
SEPARATION = "三员须由不同"


def user(username: str) -> User:
    found = db.session.scalar(select(User).where(User.username == username))
    assert found is not None
    return found


def _call(client: Any, rule: Any) -> int:
    path = rule.rule.replace("<business_key>", "KB2026000001").replace("<int:user_id>", "1")
    path = path.replace("<int:message_id>", "999999")
    method = "post" if "POST" in rule.methods and "GET" not in rule.methods else "get"
    return getattr(client, method)(path).status_code


def test_each_admin_role_reaches_only_its_pages(app: Flask, login: Any) -> None:
    rules = [r for r in app.url_map.iter_rules() if r.endpoint.startswith(ADMIN_BLUEPRINTS)]
    assert {r.endpoint for r in rules} == set(ADMIN_PAGES)  # the table names every admin page, no more
    for username, role in ADMINS.items():
        client = login(username)
        refused = {rule.endpoint for rule in rules if _call(client, rule) == 403}
        assert refused == {e for e, roles in ADMIN_PAGES.items() if role not in roles}, username
    for username in ("unit1", "bianban", "policy"):
        client = login(username)
        assert {_call(client, rule) for rule in rules} == {403}, username
    # each kind of page has exactly one admin role, apart from the user list the system and security admins share
    assert ADMIN_PAGES["admin_audit.trail"] == (AUDIT_ADMIN_ROLE,)
    assert ADMIN_PAGES["admin.reset_password"] == ADMIN_PAGES["admin.unlock_user"] == (SECURITY_ADMIN_ROLE,)
    assert ADMIN_PAGES["admin.create_user"] == ADMIN_PAGES["admin.list_errors"] == (SYSTEM_ADMIN_ROLE,)


@pytest.mark.parametrize(
    ("account", "home", "menu"),
    [
        ("admin", "/admin/users", "系统管理"),
        ("secadmin", "/admin/users", "安全管理"),
        ("auditor", "/admin/audit/", "审计日志"),
    ],
)
def test_each_admin_lands_on_its_own_home(login: Any, account: str, home: str, menu: str) -> None:
    client = login(account)
    assert client.get("/home").headers["Location"].endswith(home)
    assert client.get("/admin/").headers["Location"].endswith(home)
    page = client.get(home).get_data(as_text=True)
    assert menu in page and "待办" not in page


def test_the_security_admin_sees_its_actions_and_not_the_system_admins(login: Any) -> None:
    page = login("secadmin").get("/admin/users").get_data(as_text=True)
    assert "重置密码" in page and "结束会话" in page
    assert "新建工作人员账号" not in page and "修改角色" not in page and "/admin/roles" not in page
    page = login("admin").get("/admin/users").get_data(as_text=True)
    assert "新建工作人员账号" in page and "修改角色" in page and "重置密码" not in page


def test_the_security_admin_ends_an_accounts_sessions(app: Flask, login: Any) -> None:
    reviewer = app.test_client()
    from app.services.demo import DEMO_PASSWORD

    log_in(reviewer, "bianban", DEMO_PASSWORD)
    assert reviewer.get("/review/").status_code == 200
    response = login("secadmin").post(f"/admin/users/{user('bianban').id}/sessions/end", follow_redirects=True)
    assert "已结束 bianban 的 1 个会话" in response.get_data(as_text=True)
    assert reviewer.get("/review/").status_code == 302  # back to the login
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "end_sessions"))
    assert (event.actor, event.role, event.detail["username"]) == ("secadmin", SECURITY_ADMIN_ROLE, "bianban")


@pytest.mark.parametrize(
    ("username", "role", "office"),
    [("secadmin", AUDIT_ADMIN_ROLE, ""), ("auditor", SYSTEM_ADMIN_ROLE, ""), ("secadmin", "编办", "编办:150600")],
)
def test_an_admin_account_never_takes_another_role(login: Any, username: str, role: str, office: str) -> None:
    target = user(username)
    response = login("admin").post(f"/admin/users/{target.id}/role", data={"role": role, "office": office})
    assert response.status_code == 400
    assert f"账号 {username} 已担任{ADMINS[username]}；三员须由不同账号担任，不能改为{role}" in response.get_data(
        as_text=True
    )
    db.session.expire_all()
    assert user(username).role == ADMINS[username]
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "change_role")) is None


def test_one_person_is_given_one_admin_role_only(login: Any) -> None:
    admin = login("admin")
    second = {
        "username": "auditor2", "display_name": "安全管理员", "role": AUDIT_ADMIN_ROLE,
        "office": "", "password": "Audit2026kq", "confirm": "Audit2026kq",
    }  # fmt: skip
    refused = admin.post("/admin/users/new", data=second)
    assert refused.status_code == 400
    assert "“安全管理员”已有安全管理员账号 secadmin；三员须由不同人员担任，不能再担任审计管理员" in refused.get_data(
        as_text=True
    )
    assert db.session.scalar(select(User).where(User.username == "auditor2")) is None

    created = admin.post("/admin/users/new", data={**second, "display_name": "审计员 周某"})
    assert created.status_code == 302 and user("auditor2").role == AUDIT_ADMIN_ROLE
    # a reviewer may become an administrator (leaving its office), but not under the name of another admin
    namesake = user("bianban2")
    namesake.display_name = "审计员 周某"
    with pytest.raises(ServiceRefusal, match=SEPARATION):
        administration.change_role(db.session, namesake, SECURITY_ADMIN_ROLE, None, Actor("admin", SYSTEM_ADMIN_ROLE))
    db.session.rollback()
    moved = admin.post(f"/admin/users/{user('bianban2').id}/role", data={"role": SECURITY_ADMIN_ROLE, "office": ""})
    assert moved.status_code == 302
    db.session.expire_all()
    assert (user("bianban2").role, user("bianban2").office_code) == (SECURITY_ADMIN_ROLE, None)
    change = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "change_role"))
    assert (change.detail["from"], change.detail["to"], change.detail["office_from"]) == (
        "编办",
        SECURITY_ADMIN_ROLE,
        "编办:150600",
    )


def test_a_units_account_keeps_its_role(demo: dict[str, Any]) -> None:
    with pytest.raises(ServiceRefusal, match="申报单位的账号不能改为工作人员角色"):
        administration.change_role(db.session, user("unit1"), "政策", None, Actor("admin", SYSTEM_ADMIN_ROLE))


def test_admins_are_refused_the_reviewer_pages_and_tasks(
    login: Any, start: Any, make_unit: Any, two_reviews: str
) -> None:
    application = start(two_reviews, make_unit()).complete(UNIT, TEST_APPLICATION)
    item = application.task()
    for username in ADMINS:
        client = login(username)
        assert client.get("/review/").status_code == 403
        assert client.get(f"/review/tasks/{item.id}").status_code == 403
        assert client.post(f"/review/tasks/{item.id}", data={"decision": "approve"}).status_code == 403
    for role in ADMIN_ROLES:  # even one that names the task's office is refused before anything else
        with pytest.raises(RefusedError, match=f"{role}不能办理审核任务"):
            application.complete(Actor("someone", role, office_code=item.office_code), {"decision": "approve"})
    assert application.task().id == item.id  # still open: a reviewer completes it
    application.complete(BIANBAN, {"decision": "approve"})


PERSONAL = {"mobile": "13800138000", "id_number": "11010519491231002X", "uscc": "11110000000012343B"}


def test_only_the_audit_admin_reads_the_trail_masked_and_the_reading_is_audited(login: Any) -> None:
    audit.record(
        db.session, Actor("bianban", "编办", "10.0.0.8"), "view_id_card",
        data={"reason": "核对经办人 13900139000 的身份证 11010519491231002X"}, detail=PERSONAL,
    )  # fmt: skip
    db.session.commit()
    for username in ("admin", "secadmin", "policy", "bianban", "unit1"):
        assert login(username).get("/admin/audit/").status_code == 403, username
    page = login("auditor").get("/admin/audit/?action=view_id_card").get_data(as_text=True)
    assert "138****8000" in page and "110105********002X" in page and "139****9000" in page
    assert "13800138000" not in page and "11010519491231002X" not in page and "13900139000" not in page
    assert "11110000000012343B" in page and "10.0.0.8" in page  # a unit's USCC is no personal data
    reading = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "view_audit_trail")).all()
    assert [(r.actor, r.role, r.detail) for r in reading] == [
        ("auditor", AUDIT_ADMIN_ROLE, {"action": "view_id_card", "page": 1})
    ]


def test_the_masking_helper() -> None:
    assert mask_text("13800138000") == "138****8000"
    assert mask_text("11010519491231002X") == "110105********002X"
    assert mask_text("电话+8613800138000。") == "电话138****8000。"
    assert mask_text("110105194912310021") == "110105194912310021"  # wrong check character: not an ID number
    assert mask_text("订单 2138001380001") == "订单 2138001380001"  # digits of a longer number stay


def test_the_trail_filters_and_pages(app: Flask, login: Any, start: Any, make_unit: Any, two_reviews: str) -> None:
    application = start(two_reviews, make_unit()).complete(UNIT, TEST_APPLICATION)
    key = application.instance.business_key
    client = login("auditor")
    by_key = client.get(f"/admin/audit/?business_key={key}").get_data(as_text=True)
    assert (
        by_key.count(f"<td>{key}</td>")
        == len(db.session.scalars(select(AuditEvent.id).where(AuditEvent.instance_id == application.instance_id)).all())
        >= 2
    )
    by_actor = client.get("/admin/audit/?actor=unit-user&action=start").get_data(as_text=True)
    assert "共 1 条" in by_actor
    assert "共 0 条" in client.get("/admin/audit/?start=2020-01-01&end=2020-01-31").get_data(as_text=True)
    bad = client.get("/admin/audit/?start=2026-13-01")
    assert bad.status_code == 400 and "日期格式应为 YYYY-MM-DD" in bad.get_data(as_text=True)

    page_size, app.config["PAGE_SIZE"] = app.config["PAGE_SIZE"], 1
    try:
        first = client.get(f"/admin/audit/?business_key={key}").get_data(as_text=True)
        second = client.get(f"/admin/audit/?business_key={key}&page=2").get_data(as_text=True)
    finally:
        app.config["PAGE_SIZE"] = page_size
    assert first.count(f"<td>{key}</td>") == second.count(f"<td>{key}</td>") == 1 and first != second
    assert f"business_key={key}&amp;page=2" in first


def test_the_chain_is_verified_from_the_page(login: Any) -> None:
    client = login("auditor")
    sound = client.post("/admin/audit/verify").get_data(as_text=True)
    before = db.session.scalar(select(AuditEvent.id).where(AuditEvent.action == "verify_audit_chain"))
    checked = len(db.session.scalars(select(AuditEvent.id).where(AuditEvent.id < before)).all())
    assert f"审计链完整：已核对 {checked} 行" in sound
    login_event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "login").limit(1))
    with audit_guards_lifted():
        db.session.execute(update(AuditEvent).where(AuditEvent.id == login_event.id).values(ip="6.6.6.6"))
    db.session.commit()
    broken = client.post("/admin/audit/verify").get_data(as_text=True)
    assert "审计链已被破坏：已核对" in broken and f"id {login_event.id} 被改动：内容与其 row_hash 不符" in broken
    verified = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "verify_audit_chain")).all()
    assert [v.detail["problem"] is None for v in verified] == [True, False]
    assert login("admin").post("/admin/audit/verify").status_code == 403
