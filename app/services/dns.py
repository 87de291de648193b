"""域名解析: a unit's DNS records of its domains and what serves them.

A record is submitted by starting the review procedure (workflows/域名解析.bpmn), whose service tasks
call `submit`, `approve` and `refuse` through the dns.* operators; who reviews is the diagram's lane.
Only effective records of a domain in `PUBLISHED_DOMAIN_STATUS` are published (services/dns_zone.py)
and served (`forward_target`, for URL转发); a domain that expires, is frozen or deleted drops out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

import idna
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.models import DnsRecord, Domain
from app.services import audit
from app.services.audit import Actor
from app.services.errors import ServiceRefusal
from app.taskforms.formats import is_ipv4, to_ascii_domain, web_url_problem

HOSTS = ("@", "www")
TYPE_LABELS = {"A": "A", "URL": "URL转发"}
STATUS_LABELS = {
    "pending": "审核中",
    "effective": "已生效",
    "refused": "审核不通过",
    "replaced": "已被新记录替换",
    "removed": "已删除",
}
# Records are published and served only while their domain is registered and in force.
PUBLISHED_DOMAIN_STATUS = "active"
_LIVE = ("pending", "effective")
# A-labels of the registries' top levels: only a Host under one of them can be a forwarded domain.
SUFFIX_A_LABELS = {"政务": "xn--zfr164b", "公益": "xn--55qw42g"}


@dataclass(frozen=True)
class RecordInput:
    """One line of the 解析 form as the review procedure received it."""

    domain: str  # the U-label name, e.g. 鄂尔多斯市人民政府.政务
    host: str
    record_type: str
    value: str


def submit(session: Session, unit_id: int, line: RecordInput, actor: str, instance_id: int | None) -> int:
    """Record a unit's DNS record, pending review; refuse anything that could not take effect."""
    domain = _unit_domain(session, unit_id, line.domain)
    _check_line(domain, line)
    _refuse_repeats(session, domain, line)
    record = DnsRecord(
        domain_id=domain.id,
        host=line.host,
        record_type=line.record_type,
        value=line.value,
        status="pending",
        instance_id=instance_id,
        created_by=actor,
    )
    session.add(record)
    session.flush()
    return record.id


def approve(session: Session, unit_id: int, record_id: int, now: datetime) -> str:
    """Review passed: the record takes effect and replaces what its host pointed to before."""
    record = _pending(session, unit_id, record_id)
    session.execute(
        update(DnsRecord)
        .where(
            DnsRecord.domain_id == record.domain_id,
            DnsRecord.host == record.host,
            DnsRecord.status == "effective",
        )
        .values(status="replaced", decided_at=now)
    )
    record.status, record.decided_at = "effective", now
    session.flush()
    return record.status


def refuse(session: Session, unit_id: int, record_id: int, reason: str, now: datetime) -> str:
    """Review refused: the record never takes effect; the unit sees why."""
    record = _pending(session, unit_id, record_id)
    record.status, record.reason, record.decided_at = "refused", reason, now
    session.flush()
    return record.status


def remove(session: Session, unit_id: int, record_id: int, actor: Actor, now: datetime) -> DnsRecord:
    """The unit stops an effective record at once (no review: it only takes something out of the zone)."""
    record = session.get(DnsRecord, record_id)
    if record is None or record.domain.unit_id != unit_id:
        raise ServiceRefusal("没有找到本单位的这条解析记录")
    if record.status != "effective":
        raise ServiceRefusal(f"这条解析记录{STATUS_LABELS.get(record.status, '')}，不能删除")
    record.status, record.decided_at = "removed", now
    session.flush()
    detail = {"record_id": record.id, "domain": record.domain.name, "host": record.host, "value": record.value}
    audit.record(session, actor, "dns_remove", detail=detail)
    return record


def records_of(session: Session, domain_id: int) -> list[DnsRecord]:
    """Every record of a domain, live ones first (by host), then the history, newest first."""
    rows = session.scalars(select(DnsRecord).where(DnsRecord.domain_id == domain_id).order_by(DnsRecord.id.desc()))
    return sorted(rows, key=lambda r: (r.status not in _LIVE, r.status != "effective", HOSTS.index(r.host)))


def record_of_application(session: Session, instance_id: int) -> DnsRecord | None:
    """The record a review application is about."""
    return session.scalar(select(DnsRecord).where(DnsRecord.instance_id == instance_id))


def www_offer(session: Session, domain_id: int, record_id: int) -> DnsRecord | None:
    """After an @ record is saved, the same record for www, unless www already has it (seed 003)."""
    record = session.get(DnsRecord, record_id)
    if record is None or record.domain_id != domain_id or record.host != "@" or record.status not in _LIVE:
        return None
    same = _same_record(session, domain_id, "www", record.record_type, record.value)
    return None if same is not None else record


# ---- serving URL转发 -------------------------------------------------------------------


def host_name(raw_host: str) -> str:
    """The Host header as a lower-case ASCII name without port or final dot; empty when it is not a name.

    Servers hand a UTF-8 header over as Latin-1 characters, test clients as text: both become the name.
    """
    try:
        text = raw_host.encode("latin-1").decode("utf-8")
    except UnicodeError:
        text = raw_host
    if text.startswith("["):  # an IPv6 literal is never a domain of ours
        return ""
    name, colon, port = text.rpartition(":")
    name = name if colon and port.isdigit() else text
    try:
        return idna.encode(name.rstrip("."), uts46=True).decode("ascii")
    except idna.IDNAError:
        return ""


def forward_target(session: Session, name: str) -> str | None:
    """The URL转发 target of a host such as xn--….xn--zfr164b or www.xn--….xn--zfr164b (one query)."""
    labels = name.split(".")
    if labels[-1] not in SUFFIX_A_LABELS.values():
        return None
    host = "www" if len(labels) == 3 and labels[0] == "www" else "@" if len(labels) == 2 else ""
    if not host:
        return None
    apex = ".".join(labels[-2:])
    query = (
        select(DnsRecord.value)
        .join(Domain, Domain.id == DnsRecord.domain_id)
        .where(
            Domain.ascii_name == apex,
            Domain.status == PUBLISHED_DOMAIN_STATUS,
            DnsRecord.host == host,
            DnsRecord.record_type == "URL",
            DnsRecord.status == "effective",
        )
        .limit(1)
    )
    return session.scalar(query)


# ---- checks ------------------------------------------------------------------------------


def _unit_domain(session: Session, unit_id: int, name: str) -> Domain:
    domain = session.scalar(select(Domain).where(Domain.unit_id == unit_id, Domain.name == name))
    if domain is None:
        raise ServiceRefusal(f"域名 {name} 不是本单位的域名", field="record_domain")
    if domain.status != PUBLISHED_DOMAIN_STATUS:
        raise ServiceRefusal(f"域名 {name} 不是已注册且有效的域名，不能设置解析", field="record_domain")
    return domain


def _check_line(domain: Domain, line: RecordInput) -> None:
    """The form checks these too; a diagram may call the operator with data of another form."""
    if line.host not in HOSTS:
        raise ServiceRefusal("主机记录只能是 @ 或 www", field="host")
    if line.record_type not in TYPE_LABELS:
        raise ServiceRefusal("记录类型只能是 A 或 URL转发", field="record_type")
    if line.record_type == "A" and not is_ipv4(line.value):
        raise ServiceRefusal("A 记录须填写公网IPv4地址（不能是内网、本机、保留或组播地址）", field="value")
    if line.record_type == "URL":
        problem = web_url_problem(line.value)
        if problem:
            raise ServiceRefusal(problem, field="value")
        if _points_to_itself(domain, line.value):
            raise ServiceRefusal("不能转发到本域名自身，否则访问者会不断跳转", field="value")


def _points_to_itself(domain: Domain, url: str) -> bool:
    try:
        target = to_ascii_domain((urlsplit(url).hostname or "").rstrip("."))
    except (idna.IDNAError, UnicodeError):
        return False
    return target in (domain.ascii_name, f"www.{domain.ascii_name}")


def _refuse_repeats(session: Session, domain: Domain, line: RecordInput) -> None:
    if _same_record(session, domain.id, line.host, line.record_type, line.value) is not None:
        shown = f"{line.host} {TYPE_LABELS[line.record_type]} {line.value}"
        raise ServiceRefusal(f"已有相同的解析记录（{shown}），无需重复提交", field="value")
    waiting = session.scalar(
        select(DnsRecord).where(
            DnsRecord.domain_id == domain.id, DnsRecord.host == line.host, DnsRecord.status == "pending"
        )
    )
    if waiting is not None:
        raise ServiceRefusal(
            f"主机记录 {line.host} 已有一条解析记录正在审核中，请等审核完成后再提交新的记录", field="host"
        )


def _same_record(session: Session, domain_id: int, host: str, record_type: str, value: str) -> DnsRecord | None:
    return session.scalar(
        select(DnsRecord).where(
            DnsRecord.domain_id == domain_id,
            DnsRecord.host == host,
            DnsRecord.record_type == record_type,
            DnsRecord.value == value,
            DnsRecord.status.in_(_LIVE),
        )
    )


def _pending(session: Session, unit_id: int, record_id: int) -> DnsRecord:
    record = session.get(DnsRecord, record_id)
    if record is None or record.domain.unit_id != unit_id:
        raise ServiceRefusal("没有找到本单位的这条解析记录")
    if record.status != "pending":
        raise ServiceRefusal(f"这条解析记录{STATUS_LABELS.get(record.status, '')}，不能再审核")
    return record
