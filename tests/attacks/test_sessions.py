"""Session fixation and replay: a session id set before login is not kept, a cookie captured before logout
does not work after it, and a cookie forged without the server's key is nobody's session."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.sessions import SecureCookieSessionInterface

from app.services.demo import DEMO_PASSWORD
from tests.attacks.tally import attempt
from tests.second_factor_login import log_in

ATTACK = "session fixation and replay"
# Each role's home page: 200 when the cookie is a live session, a redirect to the login page otherwise.
HOMES = {"unit1": "/unit/", "bianban": "/review/", "conac": "/review/", "policy": "/studio/", "admin": "/admin/users"}


def _cookie(client: Any) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None
    return str(cookie.value)


def _status_with(app: Flask, cookie: str, path: str) -> int:
    """Another browser presenting the cookie."""
    other = app.test_client()
    other.set_cookie("session", cookie)
    return int(other.get(path).status_code)


class TestReplayAfterLogout:
    """A cookie captured while logged in (every role) works until 退出 and never after it."""

    @pytest.mark.parametrize("username", HOMES)
    def test_a_captured_cookie_dies_with_the_logout(self, username: str, app: Flask, login: Any) -> None:
        with attempt(ATTACK, f"replay after logout: {username}"):
            client = login(username)
            captured = _cookie(client)
            assert _status_with(app, captured, HOMES[username]) == 200
            client.post("/logout")
            assert _status_with(app, captured, HOMES[username]) == 302


class TestFixation:
    """An attacker plants a session before the victim logs in: the login issues a new session id, and the
    planted cookie, anonymous or carrying the attacker's own values, is not logged in afterwards."""

    @pytest.mark.parametrize("planted", ["the attacker's session", "the victim's own anonymous session"])
    def test_a_planted_session_is_not_kept(self, planted: str, app: Flask, client: Any, demo: dict[str, Any]) -> None:
        with attempt(ATTACK, f"fixation: {planted}"):
            if planted == "the attacker's session":
                attacker = app.test_client()
                attacker.get("/login?lang=zh_CN")
                client.set_cookie("session", _cookie(attacker))
            else:
                client.get("/login?lang=en")
            before = _cookie(client)
            assert log_in(client, "bianban", DEMO_PASSWORD).status_code == 302
            assert _cookie(client) != before
            assert _status_with(app, before, "/review/") == 302

    def test_a_cookie_forged_without_the_key_is_refused(self, app: Flask, login: Any) -> None:
        """The victim's session values signed with a guessed key (the published default) are nobody's."""
        with attempt(ATTACK, "forged cookie"):
            captured = _cookie(login("bianban"))
            values = SecureCookieSessionInterface().get_signing_serializer(app).loads(captured)
            forger = Flask("forger")
            forger.secret_key = "dev-only-secret-change-me"
            forged = SecureCookieSessionInterface().get_signing_serializer(forger).dumps(values)
            assert _status_with(app, forged, "/review/") == 302

    def test_the_cookie_is_out_of_reach_of_scripts_and_other_sites(self, login: Any) -> None:
        with attempt(ATTACK, "cookie flags"):
            cookie = login("bianban").get_cookie("session")
            assert cookie.http_only and cookie.same_site in ("Lax", "Strict")
