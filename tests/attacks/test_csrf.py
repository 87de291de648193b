"""Cross-site request forgery on every state change.

The test app switches CSRF off (tests/conftest.py), so these tests build the app as production runs it,
WTF_CSRF_ENABLED on, over the same database. The route table is walked: every rule that accepts POST, PUT,
PATCH or DELETE is requested by a logged-in account without a token, with a token of another session, and
with a forged token; each must answer 400 with the Chinese 页面已过期 page. The red page's upload routes,
exempted from the global check to raise their body limit, check the token themselves and are in the walk.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask

from app import create_app
from app.services.demo import DEMO_PASSWORD
from tests.attacks.tally import attempt
from tests.second_factor_login import log_in

ATTACK = "CSRF"
STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')
# A value for each kind of URL parameter: the token check comes before the view looks anything up.
SAMPLE_VALUES = {"process_id": "two_reviews", "business_key": "TR2026000001", "action": "freeze", "section": "intro"}
_apps: dict[str, Flask] = {}


def _csrf_app(test_app: Flask) -> Flask:
    """The production setting over the test database; one per database for the whole run."""
    url = str(test_app.config["SQLALCHEMY_DATABASE_URI"])
    if url not in _apps:
        _apps[url] = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "WTF_CSRF_ENABLED": True})
    return _apps[url]


def _routes() -> list[tuple[str, str]]:
    """(method, URL) of every state-changing rule, its parameters filled with sample values."""
    probe = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    found = []
    for rule in sorted(probe.url_map.iter_rules(), key=lambda r: r.rule):
        for method in sorted(rule.methods & STATE_CHANGING):
            values = {name: SAMPLE_VALUES.get(name, 1) for name in rule.arguments}
            found.append((method, probe.url_map.bind("localhost").build(rule.endpoint, values, method=method)))
    return found


ROUTES = _routes()


def _token(client: Any, path: str = "/login") -> str:
    match = TOKEN.search(client.get(path).get_data(as_text=True))
    assert match, f"no csrf_token on {path}"
    return match.group(1) or match.group(2)


def _logged_in(app: Flask, username: str) -> Any:
    client = app.test_client()
    token = _token(client)
    response = log_in(client, username, DEMO_PASSWORD, csrf_token=token)
    assert response.status_code == 302, "a login with its token must work"
    return client


@pytest.fixture
def protected(app: Flask, demo: dict[str, Any]) -> Flask:
    return _csrf_app(app)


def _refused(response: Any) -> bool:
    return response.status_code == 400 and "页面已过期" in response.get_data(as_text=True)


def _assert_refused(client: Any, method: str, url: str, foreign_token: str) -> None:
    for data in ({}, {"csrf_token": foreign_token}, {"csrf_token": "forged.token.value"}):
        response = client.open(url, method=method, data=data)
        assert _refused(response), (data, response.status_code)
    assert _refused(client.open(url, method=method, json={"xml": ""}))


class TestEveryStateChange:
    """Every POST/PUT/PATCH/DELETE route of app.url_map, as a logged-in unit: no token, a token taken from
    another session, a forged token. Each is refused with 400 页面已过期 before the view runs."""

    def test_every_route_refuses_without_a_valid_token(self, protected: Flask) -> None:
        # One login for the whole walk: each route is still its own case in the tally and in the failure list.
        victim = _logged_in(protected, "unit1")
        foreign = _token(protected.test_client())  # a real token, of the attacker's own session
        failures = []
        for method, url in ROUTES:
            try:
                with attempt(ATTACK, f"{method} {url}"):
                    _assert_refused(victim, method, url, foreign)
            except AssertionError as failure:
                failures.append(f"{method} {url}: {failure}")
        assert not failures

    def test_a_token_of_the_session_is_accepted(self, protected: Flask) -> None:
        """The control: with the session's own token the same request goes through (here: 退出)."""
        victim = _logged_in(protected, "unit1")
        token = _token(victim, "/unit/")
        assert victim.post("/logout", data={"csrf_token": token}).status_code == 302


def test_the_walk_found_the_state_changes() -> None:
    """The table comes from the URL map; logout, login and the studio's deploy are among its rules."""
    urls = {url for _, url in ROUTES}
    assert {"/logout", "/login", "/studio/two_reviews/deploy", "/unit/red-page/carousel"} <= urls
