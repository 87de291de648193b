"""The interface speaks Chinese first; an English catalogue follows when a user picks it."""

from __future__ import annotations

from typing import Any

from flask_babel import refresh


def page(client: Any, url: str) -> str:
    # The fixture's app context spans the whole test, so Flask-Babel's per-context cache would
    # keep the first request's language; in production every request has a context of its own.
    refresh()
    return str(client.get(url).get_data(as_text=True))


def test_pages_are_chinese_by_default(client: Any) -> None:
    html = page(client, "/login")
    assert "用户登录" in html and 'lang="zh-CN"' in html


def test_english_is_chosen_once_and_kept_in_the_session(client: Any) -> None:
    html = page(client, "/login?lang=en")
    assert "User name" in html and "Service guide" in html
    assert "Register" in page(client, "/login")
    assert "用户登录" in page(client, "/login?lang=zh_CN")
