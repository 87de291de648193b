"""SMS codes as a staff account's second factor (DOMAIN.md §7.1 d): password + a code sent to the registered mobile.

Each login (user_session row) has at most one code at a time. Only its HMAC (keyed with the app's secret key
and bound to the session row) is stored, with the time it was sent and the wrong tries against it: a code is
good for five minutes and five wrong tries, and a new one may be asked for a minute after the last. What a
refused code means for the account (lockout, audit) is decided in app.services.second_factor.
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

from sqlalchemy.orm import Session

from app.models import OutboxMessage, User, UserSession
from app.models.outbox import PENDING
from app.services import audit, delivery
from app.services.audit import Actor
from app.services.errors import ServiceRefusal
from app.services.masking import mask_mobile

CODE_VALID = timedelta(minutes=5)
RESEND_AFTER = timedelta(seconds=60)
MAX_TRIES_PER_CODE = 5
# Nothing but the code: the text passes through the provider and may show on a locked phone screen.
SMS_TEXT = "您的登录验证码为 {code}，5分钟内有效，请勿告知他人。"
NO_MOBILE = "该账号未登记手机号码，请联系安全管理员登记"


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
    wait = seconds_until_resend(login.row, now)
    if wait:
        raise ServiceRefusal(f"验证码已发送，请{wait}秒后再重新获取")
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
    audit.record(session, Actor(user.username, user.role, ip), "second_factor_sms_sent", detail=detail)
    session.flush()
    return delivered


def seconds_until_resend(row: UserSession, now: datetime) -> int:
    """Whole seconds (rounded up) before another code may be sent; 0 when it may be now."""
    if row.sms_code_sent_at is None:
        return 0
    left = (row.sms_code_sent_at + RESEND_AFTER - now).total_seconds()
    return max(0, math.ceil(left))


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
