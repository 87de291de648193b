"""What every response carries and refuses: security headers, size limits, Chinese error pages,
the audit of denied record accesses, and a secret key that is never a published default."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app import create_app
from app.extensions import db
from app.models import AuditEvent
from app.secret_key import KNOWN_DEFAULT_KEYS, SecretKeyError, ensure_secret_key, read_secret_key
from tests.conftest import TEST_APPLICATION, UNIT


def test_pages_carry_security_headers_and_no_version_banner(login: Any) -> None:
    response = login("unit1").get("/unit/")
    headers = response.headers
    policy = headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["Cache-Control"] == "no-store"
    assert "Werkzeug" not in headers.get("Server", "") and "Python" not in headers.get("Server", "")
    assert "Strict-Transport-Security" not in headers  # plain HTTP: HSTS would be meaningless


def test_hsts_is_sent_over_https(client: Any) -> None:
    response = client.get("/login", base_url="https://localhost")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_templates_have_no_inline_scripts_or_style_attributes() -> None:
    """The policy forbids them, so a page that used one would break in the browser."""
    offenders = []
    for path in (Path(__file__).resolve().parent.parent / "app" / "templates").rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        if " style=" in text or " onclick=" in text or " onload=" in text or "<script>" in text:
            offenders.append(path.name)
    assert offenders == []


def test_an_oversized_request_is_refused_before_it_is_parsed(client: Any, demo: dict[str, Any]) -> None:
    response = client.post("/login", data={"username": "x", "password": "y" * (1024 * 1024)})
    assert response.status_code == 413
    assert "提交的内容过大" in response.get_data(as_text=True)


@pytest.mark.parametrize(("path", "method", "status", "text"), [("/no-such-page", "get", 404, "页面不存在"),
                                                                 ("/logout", "get", 405, "请求方式不正确")])
def test_error_pages_speak_chinese(client: Any, path: str, method: str, status: int, text: str) -> None:
    response = getattr(client, method)(path)
    assert response.status_code == status and text in response.get_data(as_text=True)


def test_an_unexpected_error_shows_an_incident_number_and_no_trace(app: Flask, client: Any) -> None:
    app.view_functions["public.list_procedures"], original = _boom, app.view_functions["public.list_procedures"]
    app.config["PROPAGATE_EXCEPTIONS"] = False
    try:
        response = client.get("/")
    finally:
        app.view_functions["public.list_procedures"] = original
        app.config["PROPAGATE_EXCEPTIONS"] = None
    page = response.get_data(as_text=True)
    assert response.status_code == 500 and "事件编号" in page
    assert "Traceback" not in page and "RuntimeError" not in page and "secret detail" not in page


def _boom() -> str:
    raise RuntimeError("secret detail")


def test_a_csrf_failure_gets_a_chinese_page(app: Flask, client: Any) -> None:
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        response = client.post("/login", data={"username": "x", "password": "y"})
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert response.status_code == 400 and "页面已过期" in response.get_data(as_text=True)


def test_another_units_application_is_not_found_and_the_attempt_is_audited(
    two_reviews: str, login: Any, demo: dict[str, Any], start: Any
) -> None:
    from app.models import Unit

    unit2 = db.session.get(Unit, demo["unit2"].unit_id)
    application = start(two_reviews, unit2, actor=UNIT)  # the tests' own procedure
    application.complete(UNIT, {**TEST_APPLICATION, "domain_name": "另一个单位.公益"})
    key = application.instance.business_key
    response = login("unit1").get(f"/unit/applications/{key}", environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert response.status_code == 404
    denied = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "access_denied"))
    assert denied is not None
    assert (denied.actor, denied.role, denied.ip) == ("unit1", "单位", "10.1.2.3")
    assert denied.detail["path"] == f"/unit/applications/{key}" and denied.detail["status"] == 404


def test_a_role_refused_a_page_is_audited(login: Any) -> None:
    assert login("unit1").get("/admin/users/1/password").status_code == 403
    denied = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "access_denied"))
    assert denied.detail["status"] == 403 and denied.actor == "unit1"


def test_set_up_writes_a_private_random_key_once(tmp_path: Path) -> None:
    path = ensure_secret_key(tmp_path)
    first = read_secret_key(tmp_path)
    ensure_secret_key(tmp_path)
    assert read_secret_key(tmp_path) == first and len(first or "") >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize("key", [None, "", "dev-only-secret-change-me", "short-key"])
def test_production_refuses_a_missing_or_known_key(monkeypatch: pytest.MonkeyPatch, key: str | None) -> None:
    assert "dev-only-secret-change-me" in KNOWN_DEFAULT_KEYS
    monkeypatch.setenv("APP_ENV", "production")
    with pytest.raises(SecretKeyError):
        create_app({"SECRET_KEY": key, "SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_the_repository_holds_no_secret_key() -> None:
    root = Path(__file__).resolve().parent.parent
    assert "dev-only-secret-change-me" not in (root / "app" / "config.py").read_text(encoding="utf-8")
    assert "instance/" in (root / ".gitignore").read_text(encoding="utf-8")
