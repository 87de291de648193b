"""Accounts: password rule, hashing, login with lockout, unit self-registration, staff accounts."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from zxcvbn import zxcvbn

from app.models import Contact, Office, Unit, User
from app.models.account import UNIT_ROLE
from app.services import audit
from app.services.audit import Actor
from app.services.errors import ServiceRefusal, ServiceRefusals
from app.services.sessions import end_all_sessions

# Seed 003: 8–16 half-width characters, letters and digits mixed.
_PASSWORD = re.compile(r"(?=.*[A-Za-z])(?=.*\d)[\x21-\x7e]{8,16}")
_USERNAME = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{3,39}")
MAX_FAILED_LOGINS = 5
LOCK_MINUTES = 15
# One text for a wrong password and an unknown name, one for a lock, so neither tells whether an account exists.
WRONG_CREDENTIALS = "用户名或密码错误"
LOCKED = f"该用户名连续登录失败次数过多，已暂停登录，请{LOCK_MINUTES}分钟后再试"
WEAK_PASSWORD = "密码过于简单或常见（如 abcd1234、qwer1234、woaini1314），请换一个不易被猜到的密码"
# zxcvbn scores 0–4 by estimated guesses; below 2 (fewer than about 10^6 guesses) is refused.
MIN_PASSWORD_SCORE = 2
# Words Chinese users build weak passwords from, which zxcvbn's English lists do not know.
_CHINESE_WEAK_WORDS = (
    "woaini", "aini", "5201314", "1314520", "1314", "520", "woaiwojia", "zhongguo", "beijing", "shanghai",
    "zhang", "wang", "li", "liu", "chen", "yang", "huang", "zhao", "zhou", "xu", "sun", "zhu", "guo", "lin",
    "zhengwu", "gongyi", "bianban", "conac", "admin", "root", "gov", "mima",
)

_hasher = PasswordHasher()


def check_password_rule(password: str, username: str = "") -> None:
    """Seed 003's rule, no user name inside, and not easily guessed (common or patterned passwords)."""
    if not _PASSWORD.fullmatch(password):
        raise ServiceRefusal("密码须为8-16位半角字符，且同时包含字母和数字", field="password")
    if username and username.lower() in password.lower():
        raise ServiceRefusal("密码不能包含用户名", field="password")
    if zxcvbn(password, user_inputs=[username, *_CHINESE_WEAK_WORDS])["score"] < MIN_PASSWORD_SCORE:
        raise ServiceRefusal(WEAK_PASSWORD, field="password")


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


def _count_failure(session: Session, user: User, now: datetime, ip: str | None) -> None:
    user.failed_logins += 1
    if user.failed_logins >= MAX_FAILED_LOGINS:
        user.locked_until, user.failed_logins = now + timedelta(minutes=LOCK_MINUTES), 0
        end_all_sessions(session, user.id)
        audit.record(session, Actor(user.username, user.role, ip), "lock", detail={"minutes": LOCK_MINUTES})
    session.flush()


def change_password(session: Session, user: User, current: str, new: str, now: datetime) -> None:
    """The user's own change: the current password proves it is them; every session of the account ends."""
    if not _verify(user.password_hash, current):
        raise ServiceRefusal("当前密码不正确", field="current")
    if _verify(user.password_hash, new):
        raise ServiceRefusal("新密码不能与当前密码相同", field="password")
    check_password_rule(new, user.username)
    _set_password(session, user, new, now, must_change=False)


def reset_password(session: Session, user: User, temporary: str, actor: Actor, now: datetime) -> None:
    """An admin's reset: unlocks, ends every session, and forces a change at the next login."""
    check_password_rule(temporary, user.username)
    _set_password(session, user, temporary, now, must_change=True)
    user.failed_logins, user.locked_until = 0, None
    audit.record(session, actor, "password_reset", detail={"username": user.username})


def unlock(session: Session, user: User, actor: Actor) -> None:
    user.failed_logins, user.locked_until = 0, None
    audit.record(session, actor, "unlock", detail={"username": user.username})
    session.flush()


def _set_password(session: Session, user: User, password: str, now: datetime, must_change: bool) -> None:
    user.password_hash = hash_password(password)
    user.password_changed_at, user.must_change_password = now, must_change
    end_all_sessions(session, user.id)
    session.flush()


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
    checks = (
        lambda: _check_username(session, username),
        lambda: check_password_rule(password, username),
        lambda: _check_uscc_free(session, uscc),
    )
    refusals = []
    for check in checks:
        try:
            check()
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
    user = User(
        username=form.username,
        display_name=form.name,
        password_hash=hash_password(form.password),
        role=UNIT_ROLE,
        unit=unit,
    )
    session.add_all([unit, user])
    session.flush()
    return user


def create_staff(
    session: Session, username: str, password: str, role: str, display_name: str, office_code: str | None = None
) -> User:
    """A reviewer, policy or admin account (the caller checks the role); reviewers belong to an office."""
    _check_username(session, username)
    check_password_rule(password, username)
    office = None
    if office_code:
        office = session.scalar(select(Office).where(Office.code == office_code))
        if office is None:
            raise ServiceRefusal(f"没有机构 {office_code}", field="office")
    user = User(
        username=username, display_name=display_name, password_hash=hash_password(password), role=role, office=office
    )
    session.add(user)
    session.flush()
    return user


def _check_username(session: Session, username: str) -> None:
    if not _USERNAME.fullmatch(username):
        raise ServiceRefusal("用户名须以字母开头，4-40位字母、数字、下划线、点或连字符", field="username")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise ServiceRefusal("该用户名已被使用", field="username")
