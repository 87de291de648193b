"""Accounts: password rule, hashing, login with lockout, unit self-registration, staff accounts."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Contact, Office, Unit, User
from app.models.account import ALL_ROLES, UNIT_ROLE
from app.services.errors import ServiceRefusal

# Seed 003: 8–16 half-width characters, letters and digits mixed.
_PASSWORD = re.compile(r"(?=.*[A-Za-z])(?=.*\d)[\x21-\x7e]{8,16}")
_USERNAME = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{3,39}")
MAX_FAILED_LOGINS = 5
LOCK_MINUTES = 15

_hasher = PasswordHasher()


def check_password_rule(password: str, username: str = "") -> None:
    if not _PASSWORD.fullmatch(password):
        raise ServiceRefusal("密码须为8-16位半角字符，且同时包含字母和数字", field="password")
    if username and username.lower() in password.lower():
        raise ServiceRefusal("密码不能包含用户名", field="password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def authenticate(session: Session, username: str, password: str, now: datetime) -> User:
    """The user, if the password is right and the account is neither locked nor disabled."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        _hasher.hash(password)  # same work as a real check, so timing does not reveal accounts
        raise ServiceRefusal("用户名或密码错误")
    if user.locked_until and user.locked_until > now:
        raise ServiceRefusal(f"连续登录失败次数过多，账号已锁定至 {user.locked_until:%H:%M}（UTC），请稍后再试")
    if not _verify(user.password_hash, password):
        user.failed_logins += 1
        if user.failed_logins >= MAX_FAILED_LOGINS:
            user.locked_until, user.failed_logins = now + timedelta(minutes=LOCK_MINUTES), 0
        session.flush()
        raise ServiceRefusal("用户名或密码错误")
    if not user.active:
        raise ServiceRefusal("账号已停用，请联系管理员")
    user.failed_logins, user.locked_until, user.last_login_at = 0, None, now
    session.flush()
    return user


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


def register_unit(session: Session, form: UnitRegistration) -> User:
    """Create the unit, its first contact and its account."""
    _check_username(session, form.username)
    check_password_rule(form.password, form.username)
    if session.scalar(select(Unit.id).where(Unit.uscc == form.uscc)) is not None:
        raise ServiceRefusal("该统一社会信用代码已注册，请直接登录或联系同级编办", field="uscc")
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
    """A reviewer, policy or admin account; reviewers belong to an office."""
    if role not in ALL_ROLES or role == UNIT_ROLE:
        raise ServiceRefusal(f"角色 {role} 不存在或不能由管理员直接创建", field="role")
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
