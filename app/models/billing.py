"""Fees: a charge per registration or renewal, and 编办's remittances to CONAC."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models._types import UTCDateTime, utcnow


class Remittance(db.Model):
    """A batch of collected charges 编办 sends to CONAC; CONAC's 认款 confirms it once."""

    id: Mapped[int] = mapped_column(primary_key=True)
    office_code: Mapped[str] = mapped_column(String(40), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(80))
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmed_by: Mapped[str | None] = mapped_column(String(80))


class Charge(db.Model):
    """Fee for one domain: tariff × years, collected by 编办 against an invoice."""

    # 统计: the fees collected in a period are one index range (on PostgreSQL carrying unit and amount).
    __table_args__ = (Index("ix_charge_collected_at", "collected_at", postgresql_include=["unit_id", "amount_yuan"]),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    domain_id: Mapped[int] = mapped_column(ForeignKey("domain.id"), index=True)
    # The application that charges it: one registration has one charge, one renewal one per domain; an
    # application's charges are collected, remitted and confirmed (认款) together.
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(20))  # register / renew
    years: Mapped[int] = mapped_column(Integer)
    tariff_yuan: Mapped[int] = mapped_column(Integer)
    amount_yuan: Mapped[int] = mapped_column(Integer)
    # unpaid/collected/remitted/confirmed, or cancelled when the application was withdrawn unpaid
    status: Mapped[str] = mapped_column(String(20), default="unpaid")
    invoice_no: Mapped[str | None] = mapped_column(String(40))
    collected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    remittance_id: Mapped[int | None] = mapped_column(ForeignKey("remittance.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
