"""我的域名: a unit's domains with their state, host information, DNS records and renewal."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import DnsRecord, Domain, ProcessInstance
from app.models.domain import STATUS_LABELS
from app.services import dns, renewals

# Frozen and deleted domains cannot be renewed (services/renewals.py refuses them); reservations are not yet registered.
RENEWABLE = ("active", "expired")


@dataclass(frozen=True)
class RecordView:
    record: DnsRecord
    status: str  # in words, e.g. 审核中
    record_type: str  # A / URL转发
    business_key: str  # the review application


@dataclass(frozen=True)
class DomainView:
    domain: Domain
    status: str  # in words, e.g. 正常, 已过期
    host: str  # 主机信息 in words
    records: list[RecordView]
    renewable: bool
    open_renewal: str | None  # application number of a renewal under way
    registration_key: str | None  # the application that registered it


def domains_of(session: Session, unit_id: int) -> list[DomainView]:
    """Every domain of the unit, registered ones first, each with its effective and pending records."""
    domains = list(session.scalars(select(Domain).where(Domain.unit_id == unit_id).order_by(Domain.id)))
    domains.sort(key=lambda d: (d.status != "active", d.expires_on is None, d.expires_on, d.name))
    return [_view(session, d, live_only=True) for d in domains]


def domain_of(session: Session, unit_id: int, domain_id: int) -> DomainView | None:
    """One of the unit's domains with the whole history of its records; None for another unit's."""
    domain = session.get(Domain, domain_id)
    if domain is None or domain.unit_id != unit_id:
        return None
    return _view(session, domain, live_only=False)


def host_info(domain: Domain) -> str:
    if domain.host_mode == "ip" and domain.host_ip:
        return f"服务器IP：{domain.host_ip}"
    if domain.host_mode == "url" and domain.host_url:
        return f"现有网站网址：{domain.host_url}"
    return "无自建网站，使用网络红页"


def _view(session: Session, domain: Domain, live_only: bool) -> DomainView:
    records = dns.records_of(session, domain.id)
    if live_only:
        records = [r for r in records if r.status in ("pending", "effective")]
    keys = _business_keys(session, [r.instance_id for r in records] + [domain.instance_id])
    renewable = domain.status in RENEWABLE
    return DomainView(
        domain=domain,
        status=STATUS_LABELS.get(domain.status, "状态待核实"),
        host=host_info(domain),
        records=[_record_view(r, keys) for r in records],
        renewable=renewable,
        open_renewal=renewals.open_renewal(session, domain.id) if renewable else None,
        registration_key=keys.get(domain.instance_id),
    )


def _record_view(record: DnsRecord, keys: dict[int | None, str]) -> RecordView:
    status = dns.STATUS_LABELS.get(record.status, "状态待核实")
    return RecordView(record, status, dns.TYPE_LABELS[record.record_type], keys.get(record.instance_id, ""))


def _business_keys(session: Session, instance_ids: list[int | None]) -> dict[int | None, str]:
    wanted = {i for i in instance_ids if i is not None}
    if not wanted:
        return {}
    query = select(ProcessInstance.id, ProcessInstance.business_key).where(ProcessInstance.id.in_(wanted))
    return {instance_id: key for instance_id, key in session.execute(query)}
