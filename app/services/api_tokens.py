"""Personal API tokens (docs/api.md): created and revoked by their account on a page, used as
`Authorization: Bearer <token>` on /api/v1.

A token is shown once, when it is created; only its SHA-256 is stored. It expires after the days chosen
(at most API_TOKEN_MAX_DAYS) and ends earlier when revoked. Units and reviewers may hold tokens; the
administrators (三员) and policy staff work only in the browser. A staff account proves its second factor
again, with a current code, to create one, and its tokens stop working while it has no second factor (the
security admin's 重置第二因素) or must choose a new password, as its pages would. Creation, revocation and
every refused use are audited.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import ApiToken, User
from app.models.account import REVIEWER_AUDIENCE, UNIT_AUDIENCE
from app.services import accounts, audit, second_factor
from app.services.audit import Actor
from app.services.errors import ServiceRefusal

# Tokens start with this, so a leaked one is recognisable (secret scanners, logs); the rest is 256 random bits.
TOKEN_PREFIX = "zwgy_"
SHOWN_PREFIX_LENGTH = len(TOKEN_PREFIX) + 6  # what the token list shows to tell tokens apart
# last_used_at is written at most this often: a busy client costs one write a minute, not one per request.
TOUCH_EVERY = timedelta(seconds=60)
HOLDER_AUDIENCES = (UNIT_AUDIENCE, REVIEWER_AUDIENCE)


@dataclass(frozen=True)
class Issued:
    """A new token: its row, and the secret to show once."""

    token: ApiToken
    secret: str


class TokenRefused(Exception):
    """A request's token was not accepted: `code` for machines, `message` in Chinese, `status` 401 or 403."""

    def __init__(self, code: str, message: str, status: int = 401) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def may_hold_tokens(user: User) -> bool:
    return user.audience in HOLDER_AUDIENCES


def tokens_of(session: Session, user: User) -> list[ApiToken]:
    """The account's tokens, newest first (revoked and expired ones too, for the record)."""
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())))


@dataclass(frozen=True)
class Request:
    """What the token page asks for: a name, a lifetime, and (staff) a current second-factor code."""

    name: str
    days: int
    code: str = ""


def create(
    session: Session, user: User, wanted: Request, now: datetime, ip: str | None, limits: tuple[int, int]
) -> Issued:
    """A new token for `user`; `limits` are (API_TOKEN_MAX_DAYS, API_TOKENS_PER_ACCOUNT). A wrong second-factor
    code counts towards the login lockout, so the caller commits after a refusal too."""
    max_days, per_account = limits
    if not may_hold_tokens(user):
        raise ServiceRefusal("该账号不能使用 API 令牌")
    if not 1 <= wanted.days <= max_days:
        raise ServiceRefusal(f"有效期须为1至{max_days}天", field="days")
    if _active_count(session, user, now) >= per_account:
        raise ServiceRefusal(f"每个账号最多同时持有 {per_account} 个有效令牌，请先吊销不再使用的令牌", field="name")
    if second_factor.is_required(user):
        try:
            second_factor.verify(session, user, wanted.code, now, ip)  # audited and counted like a login's code
        except ServiceRefusal as refusal:
            raise ServiceRefusal(refusal.message, field="code") from refusal
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        name=wanted.name,
        token_hash=_digest(secret),
        prefix=secret[:SHOWN_PREFIX_LENGTH],
        created_at=now,
        expires_at=now + timedelta(days=wanted.days),
    )
    session.add(token)
    session.flush()
    detail = {"token_id": token.id, "name": token.name, "prefix": token.prefix, "days": wanted.days}
    audit.record(session, _actor(user, ip), "api_token_create", detail=detail)
    return Issued(token, secret)


def token_of(session: Session, user: User, token_id: int) -> ApiToken | None:
    """One of the account's own tokens; another account's is not found."""
    return session.scalar(select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user.id))


def revoke(session: Session, user: User, token: ApiToken, now: datetime, ip: str | None) -> None:
    """End one of the account's tokens at once (loaded through `token_of`)."""
    if token.revoked_at is not None:
        raise ServiceRefusal("该令牌已吊销")
    token.revoked_at = now
    audit.record(session, _actor(user, ip), "api_token_revoke", detail={"token_id": token.id, "prefix": token.prefix})
    session.flush()


def authenticate(session: Session, authorization: str | None, now: datetime, ip: str | None) -> User:
    """The account of a request's `Authorization: Bearer …` header, or TokenRefused (audited; commit after)."""
    secret = _bearer(authorization)
    if secret is None:
        raise TokenRefused("token_missing", "请求未携带 API 令牌（Authorization: Bearer <令牌>）")
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(secret)))
    if token is None:
        _refused(session, None, "token_invalid", ip, secret[:SHOWN_PREFIX_LENGTH])
        raise TokenRefused("token_invalid", "API 令牌无效")
    problem = _problem(token, token.user, now)
    if problem is not None:
        _refused(session, token.user, problem.code, ip, token.prefix)
        raise problem
    if token.last_used_at is None or now - token.last_used_at > TOUCH_EVERY:
        token.last_used_at, token.last_used_ip = now, ip
        session.flush()
    return token.user


def _problem(token: ApiToken, user: User, now: datetime) -> TokenRefused | None:
    """Why a known token may not act now, in the order a user would want to hear it (the first that holds)."""
    checks = (
        (token.revoked_at is not None, TokenRefused("token_revoked", "API 令牌已吊销")),
        (token.expires_at <= now, TokenRefused("token_expired", "API 令牌已过期，请在“API 令牌”页面重新创建")),
        (
            not user.active or accounts.is_locked(user, now),
            TokenRefused("account_locked", "账号已停用或暂停登录，令牌不可用", 403),
        ),
        (not may_hold_tokens(user), TokenRefused("role_not_allowed", "该账号不能使用 API 令牌", 403)),
        (
            second_factor.is_required(user) and not second_factor.is_enrolled(user),
            TokenRefused("second_factor_required", "账号的第二因素已被重置，请登录网页重新绑定后再使用令牌", 403),
        ),
        (
            accounts.must_choose_password(user, now),
            TokenRefused("password_change_required", "账号须先在网页上修改密码，令牌暂不可用", 403),
        ),
    )
    return next((refusal for failed, refusal in checks if failed), None)


def _refused(session: Session, user: User | None, reason: str, ip: str | None, prefix: str) -> None:
    actor = _actor(user, ip) if user is not None else Actor("-", "-", ip)
    audit.record(session, actor, "api_token_refused", detail={"reason": reason, "prefix": prefix})


def _bearer(authorization: str | None) -> str | None:
    scheme, _, value = (authorization or "").partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not value or len(value) > 200:
        return None
    return value


def _active_count(session: Session, user: User, now: datetime) -> int:
    query = select(func.count(ApiToken.id)).where(
        ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None), ApiToken.expires_at > now
    )
    return session.scalar(query) or 0


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "replace")).hexdigest()


def _actor(user: User, ip: str | None) -> Actor:
    return Actor(user.username, user.role, ip, user.office_code)
