"""SMS codes as a staff account's second factor (DOMAIN.md §7.1 d): password + a code sent to the registered mobile.

Each login (user_session row) has at most one code at a time. Only its HMAC (keyed with the app's secret key
and bound to the session row) is stored, with the time it was sent and the wrong tries against it: a code is
good for five minutes and five wrong tries. Sending is limited per account, whichever login asks (a new
login per code would otherwise lift a per-login limit): a new code a minute after the account's last one, and
at most SENDS_PER_HOUR in any hour, counted on the audit trail, so someone holding a stolen password cannot
flood the owner's phone or run up the SMS bill; the web layer adds a limit per address. What a refused code
means for the account (lockout, audit) is decided in app.services.second_factor.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import AuditEvent, OutboxMessage, User, UserSession
from app.models.outbox import PENDING
from app.services import audit, delivery
from app.services.audit import Actor
from app.services.errors import ServiceRefusal
from app.services.masking import mask_mobile

CODE_VALID = timedelta(minutes=5)
RESEND_AFTER = timedelta(seconds=60)
SENDS_PER_HOUR = 10
SENT = "second_factor_sms_sent"  # the audit action of a send
MAX_TRIES_PER_CODE = 5
# Nothing but the code: the text passes through the provider and may show on a locked phone screen.
SMS_TEXT = "您的登录验证码为 {code}，5分钟内有效，请勿告知他人。"
NO_MOBILE = "该账号未登记手机号码，请联系安全管理员登记"
TOO_MANY = (
    "该账号一小时内获取短信验证码已达 {n} 次，请稍后再试，或使用恢复码登录；"
    "如非本人操作，请立即修改密码并联系安全管理员"
)


class Outcome(Enum):
    ACCEPTED = "accepted"
    WRONG = "wrong"
    EXPIRED = "expired"  # none sent for this login, or older than CODE_VALID
    EXHAUSTED = "exhausted"  # MAX_TRIES_PER_CODE wrong tries: only a new code helps


@dataclass(frozen=True)
class LoginCode:
    """Where this login's code is kept, and the key of its HMAC (the app's secret key)."""

    row: UserSession
    key: bytes


def mobile_hint(user: User) -> str:
    """The registered mobile as the staff member sees it on the pages: 138****8000."""
    return mask_mobile(user.mobile or "")


def send_code(
    session: Session, user: User, login: LoginCode, config: Mapping[str, Any], now: datetime, ip: str | None
) -> bool:
    """A new code for this login, sent to the registered mobile at once; whether the gateway accepted it
    (if not, the staff member asks again). Refused within RESEND_AFTER of the last one."""
    if not user.mobile:
        raise ServiceRefusal(NO_MOBILE)
    wait = seconds_until_resend(session, user, now)
    if wait:
        raise ServiceRefusal(f"验证码已发送，请{wait}秒后再重新获取")
    if sends_in_last_hour(session, user, now) >= SENDS_PER_HOUR:
        raise ServiceRefusal(TOO_MANY.format(n=SENDS_PER_HOUR))
    code = f"{secrets.randbelow(1_000_000):06d}"
    row = login.row
    row.sms_code_hash, row.sms_code_sent_at, row.sms_code_attempts = _digest(login, code), now, 0
    message = OutboxMessage(
        channel="sms",
        recipient=user.mobile,
        subject="登录验证码",
        body=SMS_TEXT.format(code=code),
        created_at=now,
        next_attempt_at=now,
        status=PENDING,
        attempts=0,
    )
    session.add(message)
    delivered = delivery.send_sms_now(session, config, message, now)
    message.body = SMS_TEXT.format(code="******")  # sent or given up: the outbox keeps no usable code
    detail = {"mobile": mobile_hint(user), "delivered": delivered}
    audit.record(session, Actor(user.username, user.role, ip), SENT, detail=detail)
    session.flush()
    return delivered


def seconds_until_resend(session: Session, user: User, now: datetime) -> int:
    """Whole seconds (rounded up) before another code may be sent to the account; 0 when it may be now."""
    last = session.scalar(select(func.max(UserSession.sms_code_sent_at)).where(UserSession.user_id == user.id))
    if last is None:
        return 0
    left = (last + RESEND_AFTER - now).total_seconds()
    return max(0, math.ceil(left))


def sends_in_last_hour(session: Session, user: User, now: datetime) -> int:
    """Codes sent to the account in the hour before `now`, whichever login asked (its newest audit events)."""
    newest = (
        select(AuditEvent.at)
        .where(AuditEvent.actor == user.username, AuditEvent.action == SENT)
        .order_by(AuditEvent.id.desc())
        .limit(SENDS_PER_HOUR)
    )
    return sum(1 for at in session.scalars(newest) if at > now - timedelta(hours=1))


def check(login: LoginCode, entered: str, now: datetime) -> Outcome:
    """Compare a 6-digit entry with this login's code; an accepted code is spent, a wrong one counts."""
    row = login.row
    if row.sms_code_hash is None or row.sms_code_sent_at is None or now - row.sms_code_sent_at > CODE_VALID:
        return Outcome.EXPIRED
    if row.sms_code_attempts >= MAX_TRIES_PER_CODE:
        return Outcome.EXHAUSTED
    if hmac.compare_digest(row.sms_code_hash, _digest(login, entered)):
        row.sms_code_hash, row.sms_code_attempts = None, 0
        return Outcome.ACCEPTED
    row.sms_code_attempts += 1
    return Outcome.WRONG


def _digest(login: LoginCode, code: str) -> str:
    """The HMAC of a code bound to its login, so a hash copied to another session row matches nothing."""
    return hmac.new(login.key, f"{login.row.id}:{code}".encode(), hashlib.sha256).hexdigest()
