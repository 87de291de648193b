"""Login sessions live on the server: logout, a password change, an admin's reset and a lock end them.

A captured session cookie is worthless once its session has ended; a login always starts a new
session; every session expires after the idle timeout and after the absolute lifetime.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, User, UserSession
from app.services.demo import DEMO_PASSWORD
from tests.second_factor_login import log_in

NEW_PASSWORD = "Qx7pLm2026"


def _cookie(client: Any) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None
    return str(cookie.value)


def _replay(app: Flask, cookie: str, path: str = "/review/") -> int:
    """Another browser presenting a captured cookie."""
    other = app.test_client()
    other.set_cookie("session", cookie)
    return int(other.get(path).status_code)


def _user(name: str) -> User:
    db.session.expire_all()
    return db.session.scalar(select(User).where(User.username == name))  # type: ignore[return-value]


def test_a_cookie_captured_before_logout_no_longer_works(app: Flask, login: Any) -> None:
    client = login("bianban")
    captured = _cookie(client)
    assert _replay(app, captured) == 200
    client.post("/logout")
    assert _replay(app, captured) == 302  # back to the login page
    assert db.session.scalar(select(func.count(UserSession.id))) == 0


def test_login_starts_a_new_session(app: Flask, client: Any, demo: dict[str, Any]) -> None:
    client.get("/login?lang=zh_CN")  # an anonymous session, as an attacker could plant it
    before = _cookie(client)
    log_in(client, "bianban", DEMO_PASSWORD)
    after = _cookie(client)
    assert after != before
    assert _replay(app, before) == 302  # a cookie planted before the login is not logged in (no fixation)


def test_a_password_change_ends_every_other_session(app: Flask, login: Any) -> None:
    first = login("bianban")
    elsewhere = _cookie(first)
    second = app.test_client()
    log_in(second, "bianban", DEMO_PASSWORD)
    response = second.post(
        "/account/password", data={"current": DEMO_PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )
    assert response.status_code == 302
    assert _replay(app, elsewhere) == 302
    assert second.get("/review/").status_code == 200  # the device that changed it stays signed in
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "password_change")) is not None


@pytest.mark.parametrize(
    ("current", "new", "message"),
    [
        ("wrong-pass1", NEW_PASSWORD, "当前密码不正确"),
        (DEMO_PASSWORD, DEMO_PASSWORD, "新密码不能与当前密码相同"),
        (DEMO_PASSWORD, "qwer1234", "密码过于简单或常见"),
        (DEMO_PASSWORD, "abcdefgh", "至少包含大写字母、小写字母、数字、符号中的三类"),  # a reviewer: the staff rule
    ],
)
def test_a_refused_password_change_says_why_and_keeps_the_old_password(
    login: Any, current: str, new: str, message: str
) -> None:
    client = login("bianban")
    response = client.post("/account/password", data={"current": current, "password": new, "confirm": new})
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    client.post("/logout")
    assert log_in(client, "bianban", DEMO_PASSWORD).status_code == 302


def test_an_admin_reset_ends_the_sessions_and_forces_a_new_password(app: Flask, login: Any) -> None:
    reviewer = login("bianban")
    captured = _cookie(reviewer)
    admin = app.test_client()
    log_in(admin, "secadmin", DEMO_PASSWORD)  # resets: the security admin
    user = _user("bianban")
    temporary = "Tmp8kq2026"
    response = admin.post(f"/admin/users/{user.id}/password", data={"password": temporary, "confirm": temporary})
    assert response.status_code == 302
    assert _replay(app, captured) == 302

    fresh = app.test_client()
    log_in(fresh, "bianban", temporary)
    assert fresh.get("/review/").headers["Location"].endswith("/account/password")  # nothing else until changed
    changed = fresh.post(
        "/account/password", data={"current": temporary, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )
    assert changed.status_code == 302
    assert fresh.get("/review/").status_code == 200
    assert not _user("bianban").must_change_password


def test_a_lock_ends_the_sessions_of_the_account(app: Flask, login: Any) -> None:
    captured = _cookie(login("bianban"))
    attacker = app.test_client()
    for _ in range(5):
        attacker.post("/login", data={"username": "bianban", "password": "wrong1234"})
    assert _user("bianban").locked_until is not None
    assert _replay(app, captured) == 302


@pytest.mark.parametrize(("idle", "age"), [(timedelta(minutes=31), timedelta(minutes=31)), (None, timedelta(hours=9))])
def test_sessions_expire_when_idle_and_after_their_absolute_lifetime(
    app: Flask, login: Any, idle: timedelta | None, age: timedelta
) -> None:
    client = login("bianban")
    row = db.session.scalar(select(UserSession))
    now = datetime.now(UTC)
    row.created_at = now - age
    row.last_seen_at = now - (idle or timedelta(minutes=1))  # active a minute ago, but too old in total
    db.session.commit()
    assert client.get("/review/").status_code == 302
    assert db.session.scalar(select(func.count(UserSession.id))) == 0
