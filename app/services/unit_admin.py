"""The 编办's 申报单位管理 (seed 003 FAQ 二、四): its units' information, password resets and unlocks.

Units reach these functions already loaded through the jurisdiction rules (a unit outside the
编办's jurisdiction is not found). Every change is audited with what changed; a reset is refused,
naming the missing fields, until every required (*) field of the unit is complete.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from app.models import Domain, Region, Unit, User
from app.models.account import BIANBAN_ROLE
from app.services import accounts, audit, text_match
from app.services.audit import Actor
from app.services.errors import ServiceRefusal
from app.services.jurisdiction import RoutingError, office_units, region_prefix, route
from app.services.paging import Paged

# The unit's own fields the 编办 maintains, with the labels of the registration form.
EDITABLE = {
    "name": "单位名称",
    "uscc": "统一社会信用代码",
    "unit_type": "用户类型",
    "nature": "单位性质",
    "affiliation": "隶属关系",
    "region_code": "所在地区",
    "address": "单位地址",
    "postcode": "邮政编码",
    "leader": "机构负责人",
}
# Fields marked * at registration: a password is reset only once all of them are filled in.
REQUIRED_UNIT = ("name", "uscc", "unit_type", "nature", "affiliation", "region_code", "address", "leader")
REQUIRED_CONTACT = {"name": "联系人", "mobile": "联系人手机号码", "email": "联系人电子邮箱"}


@dataclass(frozen=True)
class UnitRow:
    unit: Unit
    account: User | None
    domains: int
    locked: bool


@dataclass(frozen=True)
class UnitFilters:
    text: str = ""  # part of the unit's name or its 统一社会信用代码
    region: str = ""
    unit_type: str = ""

    def as_dict(self) -> dict[str, str]:
        values = {"q": self.text, "region": self.region, "unit_type": self.unit_type}
        return {k: v for k, v in values.items() if v}


def units_page(session: Session, user: Any, filters: UnitFilters, page: int, page_size: int, now: datetime) -> Paged:
    """One page of the units the 编办 answers for, by name."""
    conditions = _conditions(session, user, filters)
    total = session.scalar(select(func.count(Unit.id)).where(*conditions)) or 0
    page = min(max(page, 1), max(1, -(-total // page_size)))
    return Paged(unit_rows(session, user, filters, now, (page - 1) * page_size, page_size), total, page, page_size)


def unit_rows(
    session: Session, user: Any, filters: UnitFilters, now: datetime, offset: int = 0, limit: int | None = None
) -> list[UnitRow]:
    query = select(Unit).where(*_conditions(session, user, filters)).order_by(Unit.name, Unit.id).offset(offset)
    units = list(session.scalars(query.limit(limit) if limit else query))
    ids = [u.id for u in units]
    accounts_by_unit = {a.unit_id: a for a in session.scalars(select(User).where(User.unit_id.in_(ids)))}
    counts = dict(
        session.execute(
            select(Domain.unit_id, func.count(Domain.id))
            .where(Domain.unit_id.in_(ids), Domain.status.in_(("active", "expired", "frozen")))
            .group_by(Domain.unit_id)
        ).all()
    )
    rows = []
    for unit in units:
        account = accounts_by_unit.get(unit.id)
        locked = account is not None and accounts.is_locked(account, now)
        rows.append(UnitRow(unit, account, counts.get(unit.id, 0), locked))
    return rows


def _conditions(session: Session, user: Any, filters: UnitFilters) -> list[Any]:
    conditions: list[Any] = [Unit.id.in_(office_units(session, user.office_code))]
    if filters.text:
        dialect = session.get_bind().dialect.name
        uscc = Unit.uscc.like(text_match.like_pattern(filters.text), escape="\\")
        conditions.append(or_(text_match.contains(Unit.name, filters.text, dialect), uscc))
    if filters.region:
        conditions.append(Unit.region_code.startswith(region_prefix(filters.region), autoescape=True))
    if filters.unit_type:
        conditions.append(Unit.unit_type == filters.unit_type)
    return conditions


def account_of(session: Session, unit: Unit) -> User | None:
    return session.scalar(select(User).where(User.unit_id == unit.id).order_by(User.id).limit(1))


def account_status(session: Session, unit: Unit, now: datetime) -> tuple[User | None, bool]:
    """The unit's login account and whether it is locked now."""
    account = account_of(session, unit)
    return account, account is not None and accounts.is_locked(account, now)


def edit(session: Session, user: Any, unit: Unit, values: dict[str, str], actor: Actor) -> dict[str, list[str]]:
    """Change the unit's information; returns field label → [before, after] of what changed (audited)."""
    region = session.get(Region, values.get("region_code", ""))
    if region is None:
        raise ServiceRefusal("请选择所在地区", field="province")
    if not _answers_for(session, user, region.code):
        raise ServiceRefusal("所选地区不在本编办管辖范围内，请联系该地区的编办办理", field="province")
    taken = session.scalar(select(Unit.id).where(Unit.uscc == values.get("uscc"), Unit.id != unit.id))
    if taken is not None:
        raise ServiceRefusal("该统一社会信用代码已被其他单位使用", field="uscc")
    changes: dict[str, list[str]] = {}
    for key, label in EDITABLE.items():
        new = str(values.get(key) or "")
        if str(getattr(unit, key) or "") != new:
            changes[label] = [str(getattr(unit, key) or ""), new]
            setattr(unit, key, new)
    unit.level = region.level
    session.flush()
    if changes:
        audit.record(session, actor, "unit_edit", detail={"unit_id": unit.id, "unit": unit.name, "changes": changes})
    return changes


def _answers_for(session: Session, user: Any, region_code: str) -> bool:
    """Whether a unit in `region_code` would be this 编办's (routing picks the nearest office of its kind)."""
    try:
        return route(session, SimpleNamespace(region_code=region_code), BIANBAN_ROLE) == user.office_code  # type: ignore[arg-type]
    except RoutingError:
        return False


def missing_fields(unit: Unit) -> list[str]:
    """Labels of the unit's required (*) fields that are empty."""
    missing = [EDITABLE[key] for key in REQUIRED_UNIT if not str(getattr(unit, key) or "").strip()]
    contact = unit.contacts[0] if unit.contacts else None
    missing += [label for key, label in REQUIRED_CONTACT.items() if contact is None or not getattr(contact, key)]
    return missing


def reset_password(session: Session, unit: Unit, password: str, actor: Actor, now: datetime) -> User:
    """Seed 003 FAQ 四: a new password (8–16 half-width letters and digits mixed) once the unit is complete."""
    missing = missing_fields(unit)
    if missing:
        raise ServiceRefusal(f"请先完善单位信息中带*号的项目：{'、'.join(missing)}", field="password")
    account = _account(session, unit)
    accounts.reset_password(session, account, password, actor, now)
    return account


def unlock(session: Session, unit: Unit, actor: Actor, now: datetime) -> User:
    account = _account(session, unit)
    if not accounts.is_locked(account, now) and not account.failed_logins:
        raise ServiceRefusal(f"账号 {account.username} 未被锁定")
    accounts.unlock(session, account, actor)
    return account


def _account(session: Session, unit: Unit) -> User:
    account = account_of(session, unit)
    if account is None:
        raise ServiceRefusal("该单位没有登录账号")
    return account
