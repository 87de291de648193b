"""Roles and offices as data: an administrator adds a reviewing role or an office of any level, no code.

A role is a lane name diagrams may use; an office belongs to one role (its kind) at a level:
county, city, province, or central (a national office, without region). Both are audited.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Office, Region, Role, User
from app.models.account import REVIEWER_AUDIENCE, STAFF_AUDIENCE, UNIT_AUDIENCE
from app.services import audit
from app.services.audit import Actor
from app.services.errors import ServiceRefusal
from app.services.jurisdiction import NATIONAL, REGIONAL

AUDIENCES = {REVIEWER_AUDIENCE: "审核机构人员", STAFF_AUDIENCE: "平台工作人员", UNIT_AUDIENCE: "申报单位"}
SCOPES = {REGIONAL: "按地区设立（各级机构）", NATIONAL: "全国一个机构"}
LEVELS = {"county": "县级", "city": "市级", "province": "省级", "central": "中央"}
_ROLE_NAME = re.compile(r"[\u4e00-\u9fffA-Za-z][\u4e00-\u9fffA-Za-z0-9]{1,19}")
_LEVEL_OF_REGION = {"province": "province", "city": "city", "county": "county"}


@dataclass(frozen=True)
class RoleRow:
    role: Role
    offices: int
    accounts: int


def roles(session: Session) -> list[RoleRow]:
    office_counts = dict(session.execute(select(Office.kind, func.count(Office.id)).group_by(Office.kind)).all())
    account_counts = dict(session.execute(select(User.role, func.count(User.id)).group_by(User.role)).all())
    return [
        RoleRow(role, office_counts.get(role.name, 0), account_counts.get(role.name, 0))
        for role in session.scalars(select(Role).order_by(Role.audience, Role.name))
    ]


def offices(session: Session) -> list[Office]:
    return list(session.scalars(select(Office).order_by(Office.kind, Office.region_code, Office.code)))


def add_role(session: Session, name: str, audience: str, scope: str, description: str, actor: Actor) -> Role:
    """A new reviewing or staff role; diagrams may then use its name as a lane."""
    if not _ROLE_NAME.fullmatch(name):
        raise ServiceRefusal("角色名称须为2-20个汉字、字母或数字，以汉字或字母开头", field="name")
    if session.get(Role, name) is not None:
        raise ServiceRefusal(f"角色“{name}”已存在", field="name")
    if audience not in (REVIEWER_AUDIENCE, STAFF_AUDIENCE):
        raise ServiceRefusal("新角色只能是审核机构人员或平台工作人员", field="audience")
    if scope not in SCOPES:
        raise ServiceRefusal("请选择机构设置方式", field="scope")
    role = Role(name=name, audience=audience, scope=scope, description=description)
    session.add(role)
    audit.record(session, actor, "add_role", detail={"role": name, "audience": audience, "scope": scope})
    session.flush()
    return role


def add_office(session: Session, kind: str, name: str, region_code: str | None, actor: Actor) -> Office:
    """An office of a reviewing role: regional ones at the level of their region, a national one without."""
    role = session.get(Role, kind)
    if role is None or role.audience != REVIEWER_AUDIENCE:
        raise ServiceRefusal("请选择审核机构的角色", field="kind")
    if role.scope == NATIONAL:
        region, level = None, "central"
        if session.scalar(select(Office.id).where(Office.kind == kind)) is not None:
            raise ServiceRefusal(f"“{kind}”是全国一个机构的角色，已经设立", field="kind")
    else:
        region = session.get(Region, region_code or "")
        if region is None:
            raise ServiceRefusal("请选择机构所在地区", field="region_code")
        level = _LEVEL_OF_REGION[region.level]
    code = f"{kind}:{region.code}" if region is not None else kind
    if session.scalar(select(Office.id).where(Office.code == code)) is not None:
        raise ServiceRefusal(f"该地区已有“{kind}”机构（{code}）", field="region_code")
    office = Office(code=code, name=name, kind=kind, region_code=region.code if region else None, level=level)
    session.add(office)
    audit.record(session, actor, "add_office", detail={"office": code, "name": name, "level": level})
    session.flush()
    return office
