"""The second factor of staff accounts (DOMAIN.md §7.1): TOTP codes or SMS codes to the registered mobile
(app.services.second_factor_sms), one-time recovery codes, and resets.

After the right password a staff account's session is "password only" (user_session.second_factor_at is
empty) and reaches nothing but the enrolment and code pages until a code from its authenticator app (method
"totp") or sent to its mobile (method "sms"), or one of its recovery codes, is accepted. Units are not asked.
Wrong codes count towards the login lockout.
"""

from __future__ import annotations

import hmac
import json
import re
import secrets
from datetime import datetime

import pyotp
import segno
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session

from app.models import User
from app.services import accounts, audit, second_factor_sms, sessions
from app.services.audit import Actor
from app.services.errors import ServiceRefusal
from app.services.masking import mask_mobile
from app.services.second_factor_sms import LoginCode, Outcome
from app.taskforms.formats import FORMAT_MESSAGES, is_cn_mobile, normalise_mobile

ISSUER = "政务和公益机构域名与网站标识平台"
STEP_SECONDS = 30
# A code of the step before or after the current one is accepted too: phone clocks drift.
WINDOW_STEPS = 1
RECOVERY_CODE_COUNT = 10
TOTP, SMS = "totp", "sms"
WRONG_CODE = "验证码不正确或已使用过，请输入认证器中的最新验证码或一个未用过的恢复码"
SMS_REFUSALS = {
    Outcome.WRONG: "短信验证码不正确，请输入最近一条短信中的验证码或一个未用过的恢复码",
    Outcome.EXPIRED: "短信验证码已过期或尚未获取，请点击“发送验证码”获取新的验证码",
    Outcome.EXHAUSTED: "该短信验证码输错次数过多，已经失效，请重新获取",
}
# Recovery codes carry 50 random bits, so a lighter argon2 (OWASP's minimum) than for passwords is
# enough, and checking ten of them stays well under a second.
_recovery_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
_six_digits = re.compile(r"^\d{6}$")


def is_required(user: User) -> bool:
    """Every account but a unit's needs a second factor."""
    return accounts.is_staff_role(user.role)


def is_enrolled(user: User) -> bool:
    """Whether the account has a working method: an app's secret, or SMS and a registered mobile."""
    if user.second_factor_method == SMS:
        return bool(user.mobile)
    return user.second_factor_method == TOTP and bool(user.totp_secret)


def uses_sms(user: User) -> bool:
    return user.second_factor_method == SMS


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(user: User, secret: str) -> str:
    """The otpauth:// address authenticator apps read from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """The enrolment QR code as inline SVG; no title, so the secret appears nowhere but in the picture."""
    return str(segno.make(uri, error="m").svg_inline(scale=4))


def enrol(session: Session, user: User, secret: str, code: str, now: datetime, ip: str | None) -> list[str]:
    """Keep `secret` once `code` proves the app has it; returns the new recovery codes (shown only once)."""
    step = _matching_step(secret, code, None, now)
    if step is None:
        _count_failure(session, user, now, ip)
        raise ServiceRefusal(WRONG_CODE)
    user.totp_secret, user.totp_last_step = secret, step
    return _complete_enrolment(session, user, TOTP, ip)


def enrol_sms(session: Session, user: User, code: str, login: LoginCode, now: datetime, ip: str | None) -> list[str]:
    """Use SMS from now on once `code`, sent to the registered mobile for this login, is entered; returns the
    new recovery codes (shown only once)."""
    if not user.mobile:
        raise ServiceRefusal(second_factor_sms.NO_MOBILE)
    entered = _normalised(code)
    outcome = second_factor_sms.check(login, entered, now) if _six_digits.match(entered) else Outcome.WRONG
    if outcome is not Outcome.ACCEPTED:
        _count_failure(session, user, now, ip, {"method": SMS, "outcome": outcome.value})
        raise ServiceRefusal(SMS_REFUSALS[outcome])
    user.totp_secret = user.totp_last_step = None
    return _complete_enrolment(session, user, SMS, ip)


def _complete_enrolment(session: Session, user: User, method: str, ip: str | None) -> list[str]:
    user.second_factor_method, user.failed_logins = method, 0
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    user.totp_recovery_hashes = json.dumps([_recovery_hasher.hash(_normalised(c)) for c in codes])
    audit.record(session, Actor(user.username, user.role, ip), "second_factor_enrol", detail={"method": method})
    session.flush()
    return codes


def verify(
    session: Session, user: User, code: str, now: datetime, ip: str | None, login: LoginCode | None = None
) -> None:
    """Accept a current code of the account's method (a TOTP step once; this login's SMS code, given `login`,
    once) or an unused recovery code (which is then spent)."""
    if accounts.is_locked(user, now):
        raise ServiceRefusal(accounts.LOCKED)
    entered = _normalised(code)
    if _six_digits.match(entered):
        refusal = _check_current_code(user, entered, now, login)
        if refusal is None:
            user.failed_logins = 0
            actor = Actor(user.username, user.role, ip)
            audit.record(session, actor, "second_factor", detail={"method": _method(user)})
            session.flush()
            return
    elif _spend_recovery_code(user, entered):
        user.failed_logins = 0
        audit.record(session, Actor(user.username, user.role, ip), "second_factor", detail={"recovery_code": True})
        session.flush()
        return
    else:
        refusal = SMS_REFUSALS[Outcome.WRONG] if uses_sms(user) else WRONG_CODE
    _count_failure(session, user, now, ip, {"method": _method(user)})
    raise ServiceRefusal(refusal)


def _check_current_code(user: User, entered: str, now: datetime, login: LoginCode | None) -> str | None:
    """None when `entered` is the account's current code, else the reason it is refused."""
    if uses_sms(user):
        outcome = second_factor_sms.check(login, entered, now) if login else Outcome.EXPIRED
        return None if outcome is Outcome.ACCEPTED else SMS_REFUSALS[outcome]
    step = _matching_step(user.totp_secret, entered, user.totp_last_step, now) if user.totp_secret else None
    if step is None:
        return WRONG_CODE
    user.totp_last_step = step
    return None


def _method(user: User) -> str:
    return user.second_factor_method or TOTP


def recovery_codes_left(user: User) -> int:
    return len(json.loads(user.totp_recovery_hashes or "[]"))


def reset(session: Session, user: User, actor: Actor) -> None:
    """The security admin clears an account's second factor (lost phone): it must enrol again at its next
    login, and every session it has ends now."""
    if not is_required(user):
        raise ServiceRefusal("单位账号不使用第二因素")
    user.totp_secret = user.totp_last_step = user.totp_recovery_hashes = user.second_factor_method = None
    ended = sessions.end_all_sessions(session, user.id)
    audit.record(session, actor, "second_factor_reset", detail={"username": user.username, "sessions": ended})
    session.flush()


def set_mobile(session: Session, user: User, mobile: str, actor: Actor) -> int:
    """The security admin registers or changes the mobile a staff account receives SMS codes on. For an
    account that uses SMS every session ends: whoever held the old phone is out. Returns the sessions ended."""
    if not is_required(user):
        raise ServiceRefusal("单位账号不使用第二因素", field="mobile")
    number = normalise_mobile(mobile or "")
    if not is_cn_mobile(number):
        raise ServiceRefusal(FORMAT_MESSAGES["cn-mobile"], field="mobile")
    changed = number != user.mobile
    user.mobile = number
    ended = sessions.end_all_sessions(session, user.id) if changed and uses_sms(user) else 0
    detail = {"username": user.username, "mobile": mask_mobile(number), "sessions": ended}
    audit.record(session, actor, "second_factor_mobile_set", detail=detail)
    session.flush()
    return ended


def current_code(secret: str, now: datetime) -> str:
    """The code an authenticator shows at `now` (the demo's `flask users totp`)."""
    return pyotp.TOTP(secret).at(now)


def _matching_step(secret: str, code: str, last_step: int | None, now: datetime) -> int | None:
    """The step within the window whose code is `code` and that is later than the last one used."""
    entered = _normalised(code)
    if not _six_digits.match(entered):
        return None
    totp, current = pyotp.TOTP(secret), int(now.timestamp()) // STEP_SECONDS
    for step in range(current - WINDOW_STEPS, current + WINDOW_STEPS + 1):
        if (last_step is None or step > last_step) and hmac.compare_digest(totp.at(step * STEP_SECONDS), entered):
            return step
    return None


def _spend_recovery_code(user: User, entered: str) -> bool:
    hashes = json.loads(user.totp_recovery_hashes or "[]")
    for stored in hashes:
        try:
            _recovery_hasher.verify(stored, entered)
        except (VerificationError, InvalidHashError):
            continue
        hashes.remove(stored)
        user.totp_recovery_hashes = json.dumps(hashes)
        return True
    return False


def _new_recovery_code() -> str:
    raw = secrets.token_hex(5)
    return f"{raw[:5]}-{raw[5:]}"


def _normalised(code: str) -> str:
    """What people type: spaces and hyphens are ignored, letters in either case."""
    return re.sub(r"[\s-]", "", code or "").lower()


def _count_failure(
    session: Session, user: User, now: datetime, ip: str | None, detail: dict[str, str] | None = None
) -> None:
    accounts.count_failed_login(session, user, now, ip)
    audit.record(session, Actor(user.username, user.role, ip), "second_factor_failed", detail=detail)
