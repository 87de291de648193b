"""Who calls the API: the account of the request's bearer token, checked before every non-public route.

The API accepts tokens only, never the browser's login cookie, so a page cannot be made to call it on a
user's behalf. The CSRF check is therefore skipped only for requests that carry a token: a state-changing
request without one is checked like any form post first (and, having no token, refused anyway).
Requests are throttled per token and per client address (Flask-Limiter, the login's storage).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from flask import Blueprint, current_app, g, request
from flask_babel import lazy_gettext as _l

from app.extensions import csrf, db, limiter
from app.models import User
from app.services import api_tokens
from app.services.audit import Actor
from app.web.api.errors import ApiError

UNSAFE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
WRONG_ROLE = _l("您的账号角色不能使用该接口")


def init_api_auth(blueprint: Blueprint, public_endpoints: tuple[str, ...]) -> None:
    csrf.exempt(blueprint)  # checked below for requests without a token
    limiter.limit(lambda: current_app.config["API_LIMIT_PER_IP"])(blueprint)
    limiter.limit(lambda: current_app.config["API_LIMIT_PER_TOKEN"], key_func=_token_key)(blueprint)

    @blueprint.before_request
    def _authenticate() -> None:
        if request.endpoint in public_endpoints:
            return
        authorization = request.headers.get("Authorization")
        if not authorization and request.method in UNSAFE_METHODS and current_app.config.get("WTF_CSRF_ENABLED"):
            csrf.protect()
        try:
            g.api_user = api_tokens.authenticate(db.session, authorization, datetime.now(UTC), request.remote_addr)
        except api_tokens.TokenRefused as refused:
            db.session.commit()  # the refusal's audit record
            raise ApiError(refused.status, refused.code, refused.message) from refused
        db.session.commit()  # last use


def api_user() -> User:
    user: User = g.api_user
    return user


def api_actor() -> Actor:
    user = api_user()
    return Actor(user.username, user.role, request.remote_addr, user.office_code)


def require_audience(*audiences: str) -> None:
    """The API's counterpart of a blueprint's gate: the same audiences reach the same actions."""
    if api_user().audience not in audiences:
        raise ApiError(403, "forbidden_role", WRONG_ROLE)


def require_role(*roles: str) -> None:
    if api_user().role not in roles:
        raise ApiError(403, "forbidden_role", WRONG_ROLE)


def _token_key() -> str:
    """A digest of the presented token (never the token), so each token has its own budget."""
    presented = request.headers.get("Authorization", "")
    return "api-token:" + hashlib.sha256(presented.encode("utf-8", "replace")).hexdigest()[:32]
