"""A registered domain after 注册成功: expiry after the grace period, and the 编办's 冻结/解冻/删除.

Only `active` domains are published (DNS records, URL转发). The worker marks a domain 已过期 once
its expiry date is more than the grace period (setting DOMAIN_GRACE_DAYS) behind; a renewal makes it
active again. The 编办 of the unit's jurisdiction freezes, unfreezes or deletes a domain with a
reason; every change is audited with the reason and the status before and after.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Domain
from app.services import audit
from app.services.audit import Actor
from app.services.errors import ServiceRefusal
from app.services.renewals import open_renewal
from app.taskforms.text import TextRefused, clean_text

REASON_MAX = 200
SYSTEM = Actor(name="system", role="系统")


def expire_overdue(session: Session, today: date, grace_days: int) -> list[str]:
    """Mark 已过期 every active domain whose expiry date lies more than `grace_days` before today."""
    last_expiry = today - timedelta(days=grace_days + 1)
    query = select(Domain).where(Domain.status == "active", Domain.expires_on <= last_expiry).order_by(Domain.id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)  # parallel workers split the rows
    names = []
    for domain in session.scalars(query):
        domain.status = "expired"
        names.append(domain.name)
        detail = {"domain": domain.name, "expires_on": domain.expires_on.isoformat(), "grace_days": grace_days}
        audit.record(session, SYSTEM, "domain_expired", detail={**detail, "unit_id": domain.unit_id})
    session.flush()
    return names


def freeze(session: Session, domain: Domain, reason: str, actor: Actor) -> None:
    """冻结: the domain stops being published and cannot be renewed until it is unfrozen."""
    if domain.status not in ("active", "expired"):
        raise ServiceRefusal(f"域名 {domain.name} 当前状态为{domain.status_label}，不能冻结")
    _change(session, domain, "frozen", _reason(reason), actor, "domain_freeze")


def unfreeze(session: Session, domain: Domain, reason: str, actor: Actor, today: date, grace_days: int) -> None:
    """解冻: back to 正常, or straight to 已过期 if its grace period ran out meanwhile."""
    if domain.status != "frozen":
        raise ServiceRefusal(f"域名 {domain.name} 未被冻结，不需要解冻")
    lapsed = domain.expires_on is not None and domain.expires_on + timedelta(days=grace_days) < today
    _change(session, domain, "expired" if lapsed else "active", _reason(reason), actor, "domain_unfreeze")


def delete(session: Session, domain: Domain, reason: str, actor: Actor) -> None:
    """删除: the name is no longer the unit's; refused while a renewal of it is under way."""
    if domain.status in ("reserved", "deleted"):
        refusal = "正在注册申请中，请在审核中处理" if domain.status == "reserved" else "已删除"
        raise ServiceRefusal(f"域名 {domain.name} {refusal}，不能删除")
    key = open_renewal(session, domain.id)
    if key:
        raise ServiceRefusal(f"域名 {domain.name} 有未办结的续费申请 {key}，请办结或撤回后再删除")
    _change(session, domain, "deleted", _reason(reason), actor, "domain_delete")


def _change(session: Session, domain: Domain, status: str, reason: str, actor: Actor, action: str) -> None:
    """Set the status; a frozen or deleted domain keeps the reason to show, any other status none."""
    before = domain.status
    domain.status = status
    domain.status_reason = reason if status in ("frozen", "deleted") else ""
    session.flush()
    detail = {"domain": domain.name, "unit_id": domain.unit_id, "from": before, "to": status, "reason": reason}
    audit.record(session, actor, action, detail=detail)


def _reason(text: str) -> str:
    try:
        reason = clean_text(text or "", max_length=REASON_MAX)
    except TextRefused as refusal:
        raise ServiceRefusal(f"原因{refusal.message}", field="reason") from refusal
    if len(reason) < 2:
        raise ServiceRefusal("请填写原因（2至200个字）", field="reason")
    return reason
