"""单位信息 as the unit keeps it current itself (seed 004: 联系人、手机号码、邮箱 已变更的，及时修改).

A unit edits its address, postcode, 机构负责人 and its contacts. Its name, 统一社会信用代码, type,
nature, 隶属关系 and region decide who reviews it and what it may apply for: only the 编办 changes them.
Every change is audited with the values before and after.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from sqlalchemy.orm import Session

from app.models import Contact, Unit
from app.services import audit
from app.services.audit import Actor
from app.services.errors import ServiceRefusal


@dataclass(frozen=True)
class ProfileFields:
    address: str
    postcode: str
    leader: str


@dataclass(frozen=True)
class ContactFields:
    name: str
    mobile: str
    email: str
    phone: str = ""


def update_profile(session: Session, unit: Unit, fields: ProfileFields, actor: Actor) -> list[str]:
    """Apply the unit's own edit; returns the names of the fields that changed (audited)."""
    changes = {k: (getattr(unit, k), v) for k, v in asdict(fields).items() if getattr(unit, k) != v}
    for key, (_, new) in changes.items():
        setattr(unit, key, new)
    if changes:
        audit.record(session, actor, "unit_update", detail=_changes(unit, changes))
    session.flush()
    return list(changes)


def add_contact(session: Session, unit: Unit, fields: ContactFields, actor: Actor) -> Contact:
    _refuse_same_mobile(unit, fields.mobile, None)
    contact = Contact(**asdict(fields))
    unit.contacts.append(contact)
    session.flush()
    audit.record(session, actor, "contact_add", detail={"unit_id": unit.id, "contact_id": contact.id, **asdict(fields)})
    return contact


def update_contact(session: Session, unit: Unit, contact_id: int, fields: ContactFields, actor: Actor) -> Contact:
    contact = contact_of(unit, contact_id)
    _refuse_same_mobile(unit, fields.mobile, contact.id)
    changes = {k: (getattr(contact, k), v) for k, v in asdict(fields).items() if getattr(contact, k) != v}
    for key, (_, new) in changes.items():
        setattr(contact, key, new)
    if changes:
        audit.record(session, actor, "contact_update", detail={"contact_id": contact.id, **_changes(unit, changes)})
    session.flush()
    return contact


def remove_contact(session: Session, unit: Unit, contact_id: int, actor: Actor) -> None:
    """Remove a contact; the last one stays (notifications and applications need someone to reach)."""
    contact = contact_of(unit, contact_id)
    if len(unit.contacts) <= 1:
        raise ServiceRefusal("单位至少要保留一位联系人；请先添加新的联系人，再删除这一位")
    unit.contacts.remove(contact)
    session.delete(contact)
    session.flush()
    audit.record(session, actor, "contact_remove", detail={"unit_id": unit.id, "contact_id": contact_id})


def contact_of(unit: Unit, contact_id: int) -> Contact:
    contact = next((c for c in unit.contacts if c.id == contact_id), None)
    if contact is None:
        raise ServiceRefusal("没有找到本单位的这位联系人")
    return contact


def _refuse_same_mobile(unit: Unit, mobile: str, own_id: int | None) -> None:
    if any(c.mobile == mobile and c.id != own_id for c in unit.contacts):
        raise ServiceRefusal("本单位已有使用这个手机号码的联系人", field="mobile")


def _changes(unit: Unit, changes: dict[str, tuple[str, str]]) -> dict[str, object]:
    return {"unit_id": unit.id, "changed": {k: {"from": old, "to": new} for k, (old, new) in changes.items()}}
