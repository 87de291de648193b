"""Applicant units, their contacts, and reviewing offices (编办 / CONAC)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models._types import UTCDateTime, utcnow


class Office(db.Model):
    """A reviewing office. Lane names in the diagrams map to an office kind."""

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(20))  # lane name: 编办, CONAC, 电子政务中心
    region_code: Mapped[str | None] = mapped_column(String(6), index=True)
    level: Mapped[str | None] = mapped_column(String(10))  # province / city / county / central


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
    mobile: Mapped[str] = mapped_column(String(11))
    email: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str] = mapped_column(String(20), default="")

    unit: Mapped[Unit] = relationship(back_populates="contacts")
