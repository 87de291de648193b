"""DNS records of registered domains (域名解析), each effective only after review."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models._types import UTCDateTime, utcnow
from app.models.domain import Domain


class DnsRecord(db.Model):
    """One line of a domain's 解析: host @ or www, type A (an IPv4 address) or URL (转发 to a web address).

    `status` is pending until the review application (`instance_id`) ends: effective or refused. An
    effective record is later replaced by the next approved record of its host, or removed by the unit.
    """

    # The URL转发 lookup of every request for a .政务/.公益 host and the zone export read by these columns.
    __table_args__ = (Index("ix_dns_record_domain_host_status", "domain_id", "host", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    domain_id: Mapped[int] = mapped_column(ForeignKey("domain.id"))
    host: Mapped[str] = mapped_column(String(10))  # @ / www
    record_type: Mapped[str] = mapped_column(String(10))  # A / URL
    value: Mapped[str] = mapped_column(String(2000))  # an IPv4 address, or an http(s) URL
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    reason: Mapped[str] = mapped_column(Text, default="")  # why the review refused it
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"), index=True)
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # reviewed, replaced or removed

    domain: Mapped[Domain] = relationship()
