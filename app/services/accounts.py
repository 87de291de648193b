"""Accounts: password rule, hashing, login with lockout, unit self-registration, staff accounts."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from sqlalchemy import Select, delete, select
from sqlalchemy.orm import Session
from zxcvbn import zxcvbn

from app.models import Contact, Office, PasswordHistory, Unit, User
from app.models._types import utcnow
from app.models.account import UNIT_ROLE
from app.services import audit
from app.services.audit import Actor
from app.services.errors import ServiceRefusal, ServiceRefusals
from app.services.sessions import end_all_sessions

# Seed 003: unit accounts have 8–16 half-width characters, letters and digits mixed.
_UNIT_PASSWORD = re.compile(r"(?=.*[A-Za-z])(?=.*\d)[\x21-\x7e]{8,16}")
UNIT_PASSWORD_RULE = "密码须为8-16位半角字符，且同时包含字母和数字"
# DOMAIN.md §7.1 a): staff accounts (reviewers, policy, admins) use at least 3 of the 4 character classes.
_STAFF_PASSWORD = re.compile(r"[\x21-\x7e]{8,64}")
_CHARACTER_CLASSES = (re.compile(r"[A-Z]"), re.compile(r"[a-z]"), re.compile(r"\d"), re.compile(r"[^A-Za-z0-9]"))
STAFF_PASSWORD_RULE = "密码须为8-64位半角字符，且至少包含大写字母、小写字母、数字、符号中的三类"
_USERNAME = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{3,39}")
MAX_FAILED_LOGINS = 5
LOCK_MINUTES = 15
# One text for a wrong password and an unknown name, one for a lock, so neither tells whether an account exists.
WRONG_CREDENTIALS = "用户名或密码错误"
LOCKED = f"该用户名连续登录失败次数过多，已暂停登录，请{LOCK_MINUTES}分钟后再试"
WEAK_PASSWORD = "密码过于简单或常见（如 abcd1234、qwer1234、woaini1314），请换一个不易被猜到的密码"
# zxcvbn scores 0–4 by estimated guesses; below 2 (fewer than about 10^6 guesses) is refused. Staff accounts
# open every unit's data, so theirs must reach 3 (about 10^8 guesses): that refuses Admin@123 and the like.
MIN_PASSWORD_SCORE, MIN_STAFF_PASSWORD_SCORE = 2, 3
# zxcvbn's time grows steeply with length; longer inputs are refused by the length rule anyway.
_ZXCVBN_MAX_LENGTH = 64
# Words Chinese users build weak passwords from, which zxcvbn's English lists do not know.
_CHINESE_WEAK_WORDS = (
    "woaini", "aini", "5201314", "1314520", "1314", "520", "woaiwojia", "zhongguo", "beijing", "shanghai",
    "zhang", "wang", "li", "liu", "chen", "yang", "huang", "zhao", "zhou", "xu", "sun", "zhu", "guo", "lin",
    "zhengwu", "gongyi", "bianban", "conac", "admin", "root", "gov", "mima",
)

_hasher = PasswordHasher()


@dataclass(frozen=True)
class PasswordPolicy:
    """The PASSWORD_* settings of app/config.py."""

    max_age: timedelta
    warn_before: timedelta
    history: int


def password_policy() -> PasswordPolicy:
    config = current_app.config
    return PasswordPolicy(
        max_age=timedelta(days=int(config["PASSWORD_MAX_AGE_DAYS"])),
        warn_before=timedelta(days=int(config["PASSWORD_WARN_DAYS"])),
        history=int(config["PASSWORD_HISTORY"]),
    )


def is_staff_role(role: str) -> bool:
    """Every account but a unit's is staff: the stricter password rule and the maximum age apply."""
    return role != UNIT_ROLE


def password_refusals(password: str, username: str = "", staff: bool = False) -> list[ServiceRefusal]:
    """Every way the password breaks its rule: the shape (seed 003 for units, 3 of 4 classes for staff),
    the user name inside it, and being easily guessed (common or patterned)."""
    messages = [_staff_shape_problem(password) if staff else _unit_shape_problem(password)]
    if username and username.lower() in password.lower():
        messages.append("密码不能包含用户名")
    guessing = zxcvbn(password[:_ZXCVBN_MAX_LENGTH], user_inputs=[username, *_CHINESE_WEAK_WORDS])
    if guessing["score"] < (MIN_STAFF_PASSWORD_SCORE if staff else MIN_PASSWORD_SCORE):
        messages.append(WEAK_PASSWORD)
    return [ServiceRefusal(message, field="password") for message in messages if message]


def check_password_rule(password: str, username: str = "", staff: bool = False) -> None:
    refusals = password_refusals(password, username, staff)
    if refusals:
        raise ServiceRefusals(refusals)


def _unit_shape_problem(password: str) -> str | None:
    return None if _UNIT_PASSWORD.fullmatch(password) else UNIT_PASSWORD_RULE


def _staff_shape_problem(password: str) -> str | None:
    classes = sum(1 for pattern in _CHARACTER_CLASSES if pattern.search(password))
    return None if _STAFF_PASSWORD.fullmatch(password) and classes >= 3 else STAFF_PASSWORD_RULE


def password_rule_text(role: str) -> str:
    """The rule as the password forms explain it to the account's holder."""
    shape = STAFF_PASSWORD_RULE if is_staff_role(role) else UNIT_PASSWORD_RULE
    return f"{shape.removeprefix('密码')}，不能包含用户名，不能是常见的简单密码。"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def authenticate(session: Session, username: str, password: str, now: datetime, ip: str | None = None) -> User:
    """The user, if the password is right and the account is neither locked nor disabled.

    Every path does one argon2 computation and unknown names get the same texts as real ones,
    so neither the answer nor its timing tells whether an account exists.
    """
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        _hasher.hash(password)
        raise ServiceRefusal(WRONG_CREDENTIALS)
    right = _verify(user.password_hash, password)
    if is_locked(user, now):
        raise ServiceRefusal(LOCKED)
    if not right:
        _count_failure(session, user, now, ip)
        raise ServiceRefusal(WRONG_CREDENTIALS)
    if not user.active:
        raise ServiceRefusal("账号已停用，请联系管理员")
    user.failed_logins, user.locked_until, user.last_login_at = 0, None, now
    session.flush()
    return user


def is_locked(user: User, now: datetime) -> bool:
    return user.locked_until is not None and user.locked_until > now


def count_failed_login(session: Session, user: User, now: datetime, ip: str | None) -> None:
    """A wrong second-factor code counts like a wrong password (app.services.second_factor)."""
    _count_failure(session, user, now, ip)


def _count_failure(session: Session, user: User, now: datetime, ip: str | None) -> None:
    user.failed_logins += 1
    if user.failed_logins >= MAX_FAILED_LOGINS:
        user.locked_until, user.failed_logins = now + timedelta(minutes=LOCK_MINUTES), 0
        end_all_sessions(session, user.id)
        audit.record(session, Actor(user.username, user.role, ip), "lock", detail={"minutes": LOCK_MINUTES})
    session.flush()


def change_password(session: Session, user: User, current: str, new: str, now: datetime) -> None:
    """The user's own change: the current password proves it is them; every session of the account ends.

    Every problem is named at once; the recent passwords are compared only once the current one is proven,
    so a borrowed session cannot probe the account's old passwords.
    """
    refusals = password_refusals(new, user.username, is_staff_role(user.role))
    if not _verify(user.password_hash, current):
        refusals.insert(0, ServiceRefusal("当前密码不正确", field="current"))
    elif _verify(user.password_hash, new):
        refusals.append(ServiceRefusal("新密码不能与当前密码相同", field="password"))
    elif _used_recently(session, user, new):
        history = password_policy().history
        refusals.append(ServiceRefusal(f"新密码不能与最近{history}次使用过的密码相同", field="password"))
    if refusals:
        raise ServiceRefusals(refusals)
    _set_password(session, user, new, now, must_change=False)


def reset_password(session: Session, user: User, temporary: str, actor: Actor, now: datetime) -> None:
    """An admin's reset: unlocks, ends every session, and forces a change at the next login."""
    check_password_rule(temporary, user.username, is_staff_role(user.role))
    _set_password(session, user, temporary, now, must_change=True)
    user.failed_logins, user.locked_until = 0, None
    audit.record(session, actor, "password_reset", detail={"username": user.username})


def unlock(session: Session, user: User, actor: Actor) -> None:
    user.failed_logins, user.locked_until = 0, None
    audit.record(session, actor, "unlock", detail={"username": user.username})
    session.flush()


def _set_password(session: Session, user: User, password: str, now: datetime, must_change: bool) -> None:
    user.must_change_password = must_change
    _record_password(session, user, hash_password(password), now)
    end_all_sessions(session, user.id)
    session.flush()


def _record_password(session: Session, user: User, password_hash: str, now: datetime) -> None:
    """Make it the account's password and keep it in the history, of which only the newest rows stay."""
    user.password_hash, user.password_changed_at = password_hash, now
    session.flush()  # a new account gets its id
    session.add(PasswordHistory(user_id=user.id, password_hash=password_hash, set_at=now))
    session.flush()
    kept = _recent_history(session, user.id).limit(password_policy().history).subquery()
    session.execute(
        delete(PasswordHistory).where(PasswordHistory.user_id == user.id, PasswordHistory.id.not_in(select(kept.c.id)))
    )


def _recent_history(session: Session, user_id: int) -> Select[tuple[PasswordHistory]]:
    return (
        select(PasswordHistory)
        .where(PasswordHistory.user_id == user_id)
        .order_by(PasswordHistory.set_at.desc(), PasswordHistory.id.desc())
    )


def _used_recently(session: Session, user: User, password: str) -> bool:
    """One of the last PASSWORD_HISTORY passwords, the current one counted (it is compared separately)."""
    recent = session.scalars(_recent_history(session, user.id).limit(password_policy().history))
    return any(_verify(row.password_hash, password) for row in recent if row.password_hash != user.password_hash)


def password_expires_at(user: User) -> datetime | None:
    """When a staff password must be changed; unit passwords follow the seed's rule and do not expire."""
    if not is_staff_role(user.role):
        return None
    return (user.password_changed_at or user.created_at) + password_policy().max_age


def password_expired(user: User, now: datetime) -> bool:
    expires_at = password_expires_at(user)
    return expires_at is not None and expires_at <= now


def days_until_expiry_notice(user: User, now: datetime) -> int | None:
    """Whole days left (at least 1) once the warning period has begun; None before it and once expired."""
    expires_at = password_expires_at(user)
    if expires_at is None or expires_at <= now or expires_at - now > password_policy().warn_before:
        return None
    return max(1, math.ceil((expires_at - now) / timedelta(days=1)))


def must_choose_password(user: User, now: datetime) -> bool:
    """After an admin's reset, on a new staff account's first login, and once the password expired."""
    return user.must_change_password or password_expired(user, now)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class UnitRegistration:
    """The 单位信息 of the new-user registration (DOMAIN.md §1.4)."""

    username: str
    password: str
    unit_type: str
    name: str
    uscc: str
    nature: str
    affiliation: str
    region_code: str
    level: str
    address: str
    postcode: str
    leader: str
    contact_name: str
    contact_mobile: str
    contact_email: str
    contact_phone: str = ""


def registration_refusals(session: Session, username: str, password: str, uscc: str) -> list[ServiceRefusal]:
    """Every rule of the account a registration breaks (name free and well formed, password rule, unit new)."""
    refusals = [*_username_refusals(session, username), *password_refusals(password, username)]
    try:
        _check_uscc_free(session, uscc)
    except ServiceRefusal as refusal:
        refusals.append(refusal)
    return refusals


def _check_uscc_free(session: Session, uscc: str) -> None:
    if session.scalar(select(Unit.id).where(Unit.uscc == uscc)) is not None:
        raise ServiceRefusal("该统一社会信用代码已注册，请直接登录或联系同级编办", field="uscc")


def register_unit(session: Session, form: UnitRegistration) -> User:
    """Create the unit, its first contact and its account; refused with every broken rule at once."""
    refusals = registration_refusals(session, form.username, form.password, form.uscc)
    if refusals:
        raise ServiceRefusals(refusals)
    unit = Unit(
        name=form.name,
        uscc=form.uscc,
        unit_type=form.unit_type,
        nature=form.nature,
        affiliation=form.affiliation,
        region_code=form.region_code,
        level=form.level,
        address=form.address,
        postcode=form.postcode,
        leader=form.leader,
    )
    unit.contacts.append(
        Contact(name=form.contact_name, mobile=form.contact_mobile, email=form.contact_email, phone=form.contact_phone)
    )
    user = User(username=form.username, display_name=form.name, role=UNIT_ROLE, unit=unit)
    session.add_all([unit, user])
    _record_password(session, user, hash_password(form.password), utcnow())
    return user


def create_staff(
    session: Session, username: str, password: str, role: str, display_name: str, office_code: str | None = None
) -> User:
    """A reviewer, policy or admin account (the caller checks the role); reviewers belong to an office.

    Refused with every broken rule at once. The password is the admin's choice, so the holder must
    choose their own at the first login.
    """
    refusals = staff_account_refusals(session, username, password)
    office = session.scalar(select(Office).where(Office.code == office_code)) if office_code else None
    if office_code and office is None:
        refusals.append(ServiceRefusal(f"没有机构 {office_code}", field="office"))
    if refusals:
        raise ServiceRefusals(refusals)
    user = User(username=username, display_name=display_name, role=role, office=office, must_change_password=True)
    session.add(user)
    _record_password(session, user, hash_password(password), utcnow())
    return user


def staff_account_refusals(session: Session, username: str, password: str) -> list[ServiceRefusal]:
    """What is wrong with a new staff account's user name and password, all at once."""
    return [*_username_refusals(session, username), *password_refusals(password, username, staff=True)]


def _username_refusals(session: Session, username: str) -> list[ServiceRefusal]:
    if not _USERNAME.fullmatch(username):
        return [ServiceRefusal("用户名须以字母开头，4-40位字母、数字、下划线、点或连字符", field="username")]
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        return [ServiceRefusal("该用户名已被使用", field="username")]
    return []
