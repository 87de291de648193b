"""Error pages in Chinese for every status a user can meet, and the audit of denied record accesses."""

from __future__ import annotations

import logging
import secrets

from flask import Flask, Response, render_template, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from app.extensions import db
from app.services import audit
from app.services.audit import Actor
from app.web.api import errors as api_errors

logger = logging.getLogger(__name__)

PAGES = {
    400: (_l("请求无效"), _l("提交的内容无法处理，请返回上一页检查后重试。")),
    403: (_l("无权访问"), _l("您的账号没有访问此页面的权限。")),
    404: (_l("页面不存在"), _l("您要查看的内容不存在或您无权查看。")),
    405: (_l("请求方式不正确"), _l("该页面不支持这种操作，请从页面上的按钮进入。")),
    413: (_l("提交的内容过大"), _l("提交的内容超过了允许的大小，请删减后重试。")),
    429: (_l("操作过于频繁"), _l("操作过于频繁，请稍后再试。")),
    500: (_l("系统繁忙"), _l("系统处理您的请求时出错，已记录。请稍后重试；如仍有问题，请联系管理员并告知事件编号。")),
}


def init_errors(app: Flask) -> None:
    for code in PAGES:
        if code != 500:
            app.register_error_handler(code, _http_error)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(Exception, _unexpected)


def render_error(code: int, message: object = None, incident: str | None = None) -> tuple[str, int]:
    title, text = PAGES[code]
    return render_template("errors/page.html", title=title, message=message or text, incident=incident), code


def _http_error(error: HTTPException) -> tuple[str, int] | Response:
    if api_errors.is_api_request():  # no such API path or method: JSON like the rest of the API
        return api_errors.http_error(error)
    code = error.code or 500
    if code in (403, 404):
        _audit_denied(code)
    return render_error(code)


def _csrf_error(error: CSRFError) -> tuple[str, int]:
    return render_error(400, _l("页面已过期或来源无法确认，请刷新页面后重新提交。"))


def _unexpected(error: Exception) -> tuple[str, int] | Response:
    if isinstance(error, HTTPException):
        return _http_error(error)
    incident = secrets.token_hex(4).upper()
    logger.exception("unhandled error, incident %s, %s %s", incident, request.method, request.path)
    db.session.rollback()
    return render_error(500, incident=incident)


def _audit_denied(code: int) -> None:
    """A signed-in user refused a record (another unit's or office's, or a role's page): who, what, from where."""
    if not current_user.is_authenticated or not request.view_args:
        return
    db.session.rollback()
    actor = Actor(current_user.username, current_user.role, request.remote_addr, current_user.office_code)
    detail = {"status": code, "method": request.method, "path": request.path, "endpoint": request.endpoint}
    audit.record(db.session, actor, "access_denied", detail=detail)
    db.session.commit()
