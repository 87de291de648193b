"""Registered Chinese domain names (.政务 / .公益)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, FetchedValue, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models._types import SealedText, UTCDateTime, utcnow

# The record's lifecycle. Only `active` domains are published (DNS, URL转发); `expired` is set by the worker
# after the grace period, `frozen` and `deleted` by the 编办 with a reason. reserved/active/expired/frozen hold
# the name; a deleted name may be applied for again.
STATUS_LABELS = {
    "reserved": "申请中",
    "active": "正常",
    "expired": "已过期",
    "frozen": "已冻结",
    "deleted": "已删除",
}
HELD_STATUSES = ("reserved", "active", "expired", "frozen")


class Domain(db.Model):
    """One domain; `status` is the record's lifecycle (STATUS_LABELS), not the application stage."""

    # 到期域名: a 编办's domains of one status are one range of region codes (minus nearer offices' pieces);
    # on PostgreSQL the index carries what the filters test, so the bounded counts read only the index.
    __table_args__ = (
        Index(
            "ix_domain_status_region_expiry",
            "status",
            "region_code",
            "expires_on",
            "id",
            postgresql_include=["suffix", "name", "unit_name"],
        ),
        # 统计: the domains registered in a period are one index range.
        Index("ix_domain_registered_on", "registered_on", postgresql_include=["unit_id"]),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    # The unit's region, copied by database triggers on insert and whenever the unit moves (migration
    # fa13a0000001): a jurisdiction's domains are counted off an index without visiting their units.
    region_code: Mapped[str | None] = mapped_column(String(6), server_default=FetchedValue())
    # The unit's name, copied the same way (migration fi13a0000005) and followed when the unit is renamed:
    # the 到期域名 name filter reads it on the domain's own index instead of visiting each unit.
    unit_name: Mapped[str | None] = mapped_column(String(120), server_default=FetchedValue())
    name: Mapped[str] = mapped_column(String(200), index=True)  # 鄂尔多斯市人民政府.政务
    ascii_name: Mapped[str] = mapped_column(String(255), index=True)  # xn--….xn--zfr164b
    suffix: Mapped[str] = mapped_column(String(10))  # 政务 / 公益
    status: Mapped[str] = mapped_column(String(20), default="reserved")  # a key of STATUS_LABELS
    status_reason: Mapped[str] = mapped_column(String(200), default="")  # why the 编办 froze or deleted it
    years: Mapped[int] = mapped_column(Integer)
    host_mode: Mapped[str] = mapped_column(String(10))  # ip / url / none (red page)
    host_ip: Mapped[str] = mapped_column(String(45), default="")
    host_url: Mapped[str] = mapped_column(String(255), default="")
    contact_name: Mapped[str] = mapped_column(String(40), default="")
    contact_mobile: Mapped[str] = mapped_column(SealedText("domain.contact_mobile"), default="")
    contact_email: Mapped[str] = mapped_column(String(120), default="")
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"), index=True)
    registered_on: Mapped[date | None] = mapped_column(Date)
    expires_on: Mapped[date | None] = mapped_column(Date, index=True)
    # The expiry date the last 到期提醒 was about: one warning per expiry date, a renewal makes the next one due.
    expiry_warned_for: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)
