"""Demo data for a fresh installation: offices, one unit of each kind plus a central organ, and accounts."""

from __future__ import annotations

from datetime import date
from functools import cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Contact, Domain, Office, Unit, User
from app.models.account import (
    AUDIT_ADMIN_ROLE,
    BIANBAN_ROLE,
    CONAC_ROLE,
    POLICY_ROLE,
    SECURITY_ADMIN_ROLE,
    SYSTEM_ADMIN_ROLE,
    UNIT_ROLE,
)
from app.services.accounts import hash_password
from app.services.calendar import add_years
from app.taskforms.formats import domain_suffix, to_ascii_domain

DEMO_PASSWORD = "demo2026pw"
# The published TOTP secret every demo staff account is enrolled with, so the demo needs no phone
# (README: `flask users totp <name>` prints the current code). Never used outside the demo seed.
DEMO_TOTP_SECRET = "DEMOSTAFFTOTPKEYZHENGWUGONGYIABC"
DEMO_DOMAINS = ("鄂尔多斯市人民政府办公室.政务", "鄂尔多斯市第一人民医院.公益", "国家某某局.政务")
ZHONGXIN_ROLE = "电子政务中心"  # a national role: one office for the whole country (migration 20261130_2000)
# (username, role, display name, office code or unit index)
DEMO_STAFF = (
    ("bianban", BIANBAN_ROLE, "鄂尔多斯市委编办 审核员", "编办:150600"),
    ("bianban2", BIANBAN_ROLE, "鄂尔多斯市委编办 审核员二", "编办:150600"),
    ("dongsheng", BIANBAN_ROLE, "东胜区委编办 审核员", "编办:150602"),
    ("conac", CONAC_ROLE, "CONAC 复审员", "CONAC"),
    ("conac2", CONAC_ROLE, "CONAC 复审员二", "CONAC"),
    ("zhongxin", ZHONGXIN_ROLE, "中央编办电子政务中心 审核员", "电子政务中心"),
    ("policy", POLICY_ROLE, "政策制定人员", None),
    ("admin", SYSTEM_ADMIN_ROLE, "系统管理员", None),  # 三员: three accounts, three people
    ("secadmin", SECURITY_ADMIN_ROLE, "安全管理员", None),
    ("auditor", AUDIT_ADMIN_ROLE, "审计管理员", None),
)

DEMO_OFFICES = (
    {"code": "编办:150600", "name": "鄂尔多斯市委编办", "kind": "编办", "region_code": "150600", "level": "city"},
    {"code": "编办:150602", "name": "东胜区委编办", "kind": "编办", "region_code": "150602", "level": "county"},
    {
        "code": "CONAC",
        "name": "政务和公益机构域名注册管理中心",
        "kind": "CONAC",
        "region_code": None,
        "level": "central",
    },
    {
        "code": "电子政务中心",
        "name": "中央编办电子政务中心",
        "kind": "电子政务中心",
        "region_code": None,
        "level": "central",
    },
)
DEMO_UNITS = (
    {
        "name": "鄂尔多斯市人民政府办公室",
        "uscc": "11110000000012343B",
        "unit_type": "党政机关",
        "nature": "机关",
        "affiliation": "市属",
        "region_code": "150600",
        "level": "city",
        "address": "鄂尔多斯市康巴什区市府大楼",
        "leader": "王主任",
        "contact": ("张经办", "13800138000", "zhang@example.cn"),
    },
    {
        "name": "鄂尔多斯市第一人民医院",
        "uscc": "12440300455500001A",
        "unit_type": "事业单位",
        "nature": "事业单位",
        "affiliation": "市属",
        "region_code": "150600",
        "level": "city",
        "address": "鄂尔多斯市东胜区",
        "leader": "李院长",
        "contact": ("赵经办", "13900139000", "zhao@example.cn"),
    },
    {  # a central organ: its 初审, 再审 and paper go to the 电子政务中心 where a procedure says so
        "name": "国家某某局",
        "uscc": "111000000000123437",
        "unit_type": "党政机关",
        "nature": "机关",
        "affiliation": "中央和国家机关",
        "region_code": "110000",
        "level": "province",
        "address": "北京市西城区",
        "leader": "陈局长",
        "contact": ("孙经办", "13700137000", "sun@example.cn"),
    },
)


def seed(session: Session, with_domains: bool = False) -> list[User]:
    """Create demo offices, units and one account per role unless they exist; returns the accounts.

    `with_domains` also gives each demo unit a paid domain, so a newcomer can walk 开办审核 at once.
    """
    units = _seed_units(session)
    if with_domains:
        for unit, domain_name in zip(units, DEMO_DOMAINS, strict=True):
            _active_domain(session, unit, domain_name)
    accounts = [_unit_account(session, f"unit{number}", unit) for number, unit in enumerate(units, start=1)]
    for username, role, display_name, office_code in DEMO_STAFF:
        accounts.append(_staff_account(session, username, role, display_name, office_code))
    session.flush()
    return accounts


def _active_domain(session: Session, unit: Unit, name: str) -> None:
    """A paid, unexpired domain, so the demo units can apply for 开办审核 / 标识 at once."""
    if session.scalar(select(Domain.id).where(Domain.name == name)) is not None:
        return
    today = date.today()
    session.add(
        Domain(
            unit_id=unit.id,
            name=name,
            ascii_name=to_ascii_domain(name),
            suffix=domain_suffix(name),
            status="active",
            years=1,
            host_mode="none",
            registered_on=today,
            expires_on=add_years(today, 1),
            contact_name=unit.contacts[0].name,
            contact_mobile=unit.contacts[0].mobile,
            contact_email=unit.contacts[0].email,
        )
    )


@cache
def _demo_password_hash() -> str:
    """The demo accounts share one published password, so one argon2 hash (most of a second) serves them all."""
    return hash_password(DEMO_PASSWORD)


def _unit_account(session: Session, username: str, unit: Unit) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        user = User(
            username=username,
            display_name=unit.name,
            password_hash=_demo_password_hash(),
            role=UNIT_ROLE,
            unit=unit,
        )
        session.add(user)
    return user


def _staff_account(session: Session, username: str, role: str, display_name: str, office_code: str | None) -> User:
    user = session.scalar(select(User).where(User.username == username))
    office = session.scalar(select(Office).where(Office.code == office_code)) if office_code else None
    if user is not None and user.office is None:
        user.office = office
    if user is None:
        user = User(
            username=username,
            display_name=display_name,
            password_hash=_demo_password_hash(),
            role=role,
            office=office,
            totp_secret=DEMO_TOTP_SECRET,
            second_factor_method="totp",
        )
        session.add(user)
    return user


def _seed_units(session: Session) -> list[Unit]:
    for office in DEMO_OFFICES:
        if session.scalar(select(Office).where(Office.code == office["code"])) is None:
            session.add(Office(**office))
    units = []
    for spec in DEMO_UNITS:
        fields = {k: v for k, v in spec.items() if k != "contact"}
        unit = session.scalar(select(Unit).where(Unit.uscc == fields["uscc"]))
        if unit is None:
            unit = Unit(**fields)
            name, mobile, email = spec["contact"]  # type: ignore[misc]
            unit.contacts.append(Contact(name=name, mobile=mobile, email=email))
            session.add(unit)
        units.append(unit)
    session.flush()
    return units
