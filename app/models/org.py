"""Applicant units, their contacts, and reviewing offices (编办 / CONAC)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models._types import SealedText, UTCDateTime, utcnow


class Role(db.Model):
    """A role: the lane names of the diagrams for those who act in procedures, plus staff roles.

    Data, not code: a new reviewing role (a lane name) is a row here and offices of its kind.
    """

    name: Mapped[str] = mapped_column(String(20), primary_key=True)  # 单位, 编办, CONAC, 电子政务中心, 政策 …
    audience: Mapped[str] = mapped_column(String(10))  # unit / reviewer / staff: which pages its users get
    scope: Mapped[str] = mapped_column(String(10), default="regional")  # regional / national offices
    description: Mapped[str] = mapped_column(String(200), default="")


class Office(db.Model):
    """A reviewing office of one role (its kind) at a level: 县, 市, 省, or 中央 (nationwide)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(20), index=True)  # the role (lane name) it works in
    region_code: Mapped[str | None] = mapped_column(String(6), index=True)  # None for a national office
    level: Mapped[str | None] = mapped_column(String(10))  # county / city / province / central


class Unit(db.Model):
    """An applicant unit (申报单位) with the 单位信息 of DOMAIN.md §1.4."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), index=True)
    uscc: Mapped[str] = mapped_column(String(18), unique=True)
    unit_type: Mapped[str] = mapped_column(String(10))  # 党政机关 / 事业单位 / 社会组织
    nature: Mapped[str] = mapped_column(String(20), default="")
    affiliation: Mapped[str] = mapped_column(String(40), default="")
    region_code: Mapped[str] = mapped_column(String(6), index=True)
    level: Mapped[str] = mapped_column(String(10))
    address: Mapped[str] = mapped_column(String(200), default="")
    postcode: Mapped[str] = mapped_column(String(6), default="")
    leader: Mapped[str] = mapped_column(String(40), default="")
    functions: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    contacts: Mapped[list[Contact]] = relationship(back_populates="unit", order_by="Contact.id")


class Contact(db.Model):
    """A unit's contact person (联系人/经办人); SMS and e-mail go to them."""

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    name: Mapped[str] = mapped_column(String(40))
    mobile: Mapped[str] = mapped_column(SealedText("contact.mobile"))
    email: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str] = mapped_column(String(20), default="")

    unit: Mapped[Unit] = relationship(back_populates="contacts")
