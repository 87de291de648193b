"""JSON errors of the REST API: a machine code and a Chinese message, never an HTML page.

Every answer that is not a success has the body `{"error": {"code": …, "message": …}}`, with `fields`
(field → message) for form problems. Denied record accesses are audited as on the pages.
"""

from __future__ import annotations

import json
import logging
import secrets
from typing import Any

from flask import Blueprint, Response, g, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from app.extensions import db
from app.services import audit
from app.services.audit import Actor

logger = logging.getLogger(__name__)

API_PREFIX = "/api/v1/"
# Status → (machine code, message) for errors that carry no words of their own.
STATUS_ERRORS: dict[int, tuple[str, Any]] = {
    400: ("bad_request", _l("请求无效，请检查参数和请求体")),
    401: ("unauthorized", _l("需要有效的 API 令牌")),
    403: ("forbidden", _l("您的账号无权执行此操作")),
    404: ("not_found", _l("没有找到该对象，或您无权查看")),
    405: ("method_not_allowed", _l("该地址不支持这种请求方式")),
    413: ("payload_too_large", _l("请求体超过了允许的大小")),
    429: ("rate_limited", _l("请求过于频繁，请稍后再试")),
    500: ("internal_error", _l("系统处理请求时出错，已记录；如仍有问题，请联系管理员并告知事件编号")),
}
CSRF_MESSAGE = _l("页面已过期或来源无法确认：API 请求须携带 Authorization: Bearer 令牌")


class ApiError(Exception):
    """An answer other than success, raised anywhere in a view."""

    def __init__(self, status: int, code: str, message: object, fields: dict[str, str] | None = None) -> None:
        super().__init__(str(message))
        self.status, self.code, self.message, self.fields = status, code, message, fields or {}


def json_response(body: Any, status: int = 200) -> Response:
    """Chinese stays readable (no \\u escapes); the body is never cached by shared caches."""
    response = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response


def error_response(status: int, code: str, message: object, fields: dict[str, str] | None = None) -> Response:
    error: dict[str, Any] = {"code": code, "message": str(message)}
    if fields:
        error["fields"] = {name: str(text) for name, text in fields.items()}
    response = json_response({"error": error}, status)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


def init_api_errors(blueprint: Blueprint) -> None:
    """By status too: Flask prefers an application handler for a status over a blueprint's generic one."""
    blueprint.register_error_handler(ApiError, _api_error)
    for status in STATUS_ERRORS:
        blueprint.register_error_handler(status, http_error)
    blueprint.register_error_handler(HTTPException, http_error)
    blueprint.register_error_handler(Exception, _unexpected)


def is_api_request() -> bool:
    return request.path.startswith(API_PREFIX)


def http_error(error: HTTPException) -> Response:
    """Also answers the API's routing errors (no such path or method), which reach no blueprint."""
    if isinstance(error, CSRFError):
        return error_response(400, "csrf_failed", CSRF_MESSAGE)
    status = error.code or 500
    if status in (403, 404):
        _audit_denied(status)
    code, message = STATUS_ERRORS.get(status, ("http_error", error.description or ""))
    return error_response(status, code, message)


def _api_error(error: ApiError) -> Response:
    if error.status in (403, 404):
        _audit_denied(error.status)
    return error_response(error.status, error.code, error.message, error.fields)


def _unexpected(error: Exception) -> Response:
    if isinstance(error, HTTPException):
        return http_error(error)
    incident = secrets.token_hex(4).upper()
    logger.exception("unhandled API error, incident %s, %s %s", incident, request.method, request.path)
    db.session.rollback()
    code, message = STATUS_ERRORS[500]
    return error_response(500, code, f"{message}（事件编号 {incident}）")


def _audit_denied(status: int) -> None:
    """A token's account refused a record: who, what, from where, as the pages audit it."""
    user = g.get("api_user")
    if user is None or not request.view_args:
        return
    db.session.rollback()
    actor = Actor(user.username, user.role, request.remote_addr, user.office_code)
    detail = {"status": status, "method": request.method, "path": request.path, "endpoint": request.endpoint}
    audit.record(db.session, actor, "access_denied", detail=detail)
    db.session.commit()
