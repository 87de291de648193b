"""Who sees what: a unit its own applications, a 编办 those of units in its region, CONAC all.

Every page that takes an id loads through these functions; anything outside the user's
jurisdiction is simply not found (404), so nothing about it leaks.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from app.models import ProcessInstance, Unit, WorkItem

KNOWN_ROLES = ("单位", "编办", "CONAC", "电子政务中心")
NATIONAL_OFFICES = {"CONAC": "CONAC", "电子政务中心": "电子政务中心"}


def office_code_for(unit: Unit, role: str) -> str | None:
    """The 同级编办 is the office of the unit's own region; CONAC works nationwide."""
    if role == "编办":
        return f"编办:{unit.region_code}"
    return NATIONAL_OFFICES.get(role)


def visible_instances(user: Any) -> Select[tuple[ProcessInstance]]:
    """Applications the user may open."""
    query = select(ProcessInstance)
    if user.role == "单位":
        return query.where(ProcessInstance.unit_id == user.unit_id)
    if user.role == "编办" and user.office is not None:
        units = select(Unit.id).where(Unit.region_code == user.office.region_code)
        return query.where(ProcessInstance.unit_id.in_(units))
    if user.role in NATIONAL_OFFICES:
        return query
    return query.where(ProcessInstance.id.is_(None))


def visible_work_items(user: Any) -> Select[tuple[WorkItem]]:
    """Open tasks the user may act on: the unit's own, or those of the user's role and office."""
    query = select(WorkItem)
    if user.role == "单位":
        return query.where(WorkItem.role == "单位", WorkItem.unit_id == user.unit_id)
    return query.where(WorkItem.role == user.role, WorkItem.office_code == user.office_code)


def instance_for(session: Session, user: Any, business_key: str) -> ProcessInstance | None:
    query = visible_instances(user).where(ProcessInstance.business_key == business_key)
    return session.scalar(query)


def work_item_for(session: Session, user: Any, item_id: int) -> WorkItem | None:
    return session.scalar(visible_work_items(user).where(WorkItem.id == item_id))
