"""Logging a test client in, second factor included: every test that logs in a staff account goes through here.

A staff account answers the password with a redirect to the code page (or to enrolment if it has no TOTP
secret yet, as accounts created by a test); the helper completes it with pyotp like an authenticator app.
Tests log the same account in many times within one 30-second step, and the app refuses a step's code
twice, so `fresh_code` forgets the account's last used step first. That is the one thing the real replay
test (tests/test_second_factor.py) does not do.
"""

from __future__ import annotations

import re
from typing import Any

import pyotp
from sqlalchemy import select

from app.extensions import db
from app.models import User
from app.services.demo import DEMO_PASSWORD

CODE_PAGE, ENROL_PAGE = "/account/second-factor", "/account/second-factor/enrol"
# The browser tests' live app (tests/browser/conftest.py), for their log_in, which has no fixture at hand.
LIVE_APPS: list[Any] = []
_csrf = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|value="([^"]+)" name="csrf_token"')
_secret = re.compile(r'<code class="totp-secret">([A-Z2-7]+)</code>')


def fresh_code(username: str) -> str:
    """The current code of an enrolled account, after forgetting its last used step (needs an app context)."""
    user = db.session.scalar(select(User).where(User.username == username))
    assert user is not None and user.totp_secret, f"{username} has no second factor"
    user.totp_last_step = None
    db.session.commit()
    return pyotp.TOTP(user.totp_secret).now()


def log_in(client: Any, username: str, password: str = DEMO_PASSWORD, **extra: str) -> Any:
    """POST /login and, for a staff account, the second factor; returns the last response (302 when done)."""
    response = client.post("/login", data={"username": username, "password": password, **extra})
    return complete_second_factor(client, username, response)


def complete_second_factor(client: Any, username: str, response: Any) -> Any:
    """Answer the code or enrolment page `response` redirects to; any other response is returned as it is."""
    location = response.headers.get("Location", "") if response.status_code == 302 else ""
    if location.endswith(ENROL_PAGE):
        page = client.get(ENROL_PAGE).get_data(as_text=True)
        secret = _secret.search(page)
        assert secret is not None, "no secret on the enrolment page"
        return client.post(ENROL_PAGE, data=_form(page, pyotp.TOTP(secret.group(1)).now()))
    if location.endswith(CODE_PAGE):
        page = client.get(CODE_PAGE).get_data(as_text=True)
        return client.post(CODE_PAGE, data=_form(page, fresh_code(username)))
    return response


def _form(page: str, code: str) -> dict[str, str]:
    """The code, with the page's CSRF token when the test client runs with CSRF protection."""
    token = _csrf.search(page)
    return {"code": code, **({"csrf_token": token.group(1) or token.group(2)} if token else {})}
