"""A registered domain after 注册成功: expiry after the grace period, and the 编办's 冻结/解冻/删除.

Only `active` domains are published (DNS records, URL转发). The worker marks a domain 已过期 once
its expiry date is more than the grace period (setting DOMAIN_GRACE_DAYS) behind; a renewal makes it
active again. Before that it sends the 到期提醒: how many days ahead and its texts are procedure data,
the properties expiryWarningDays / expiryWarningSubject / expiryWarningBody of the newest version of
the procedure that sets them (域名续费), so policy staff change them by deploying the diagram.
The 编办 of the unit's jurisdiction freezes, unfreezes or deletes a domain with a reason; every change
is audited with the reason and the status before and after.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.engine import get_engine
from app.models import Domain, Unit, WorkflowDefinition
from app.services import audit, notifications
from app.services.audit import Actor
from app.services.calendar import to_beijing_date
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


WARNING_DAYS, WARNING_SUBJECT, WARNING_BODY = "expiryWarningDays", "expiryWarningSubject", "expiryWarningBody"


@dataclass(frozen=True)
class ExpiryWarning:
    """The 到期提醒 as the procedure words it: how many days before the expiry date, and its texts."""

    procedure: str
    days: int
    subject: str
    body: str


def expiry_warning(session: Session) -> ExpiryWarning | None:
    """The warning of the newest version of the procedure that sets expiryWarningDays; None when none does."""
    engine = get_engine()
    newest = select(WorkflowDefinition.process_id, func.max(WorkflowDefinition.version)).group_by(
        WorkflowDefinition.process_id
    )
    for process_id, version in session.execute(newest.order_by(WorkflowDefinition.process_id)):
        row = session.scalar(select(WorkflowDefinition).filter_by(process_id=process_id, version=version))
        compiled = engine.definitions.compiled(row)  # type: ignore[arg-type]
        props = compiled.process_properties
        if WARNING_DAYS in props:
            days = props[WARNING_DAYS].strip()
            if not days.isdigit() or int(days) < 1:
                raise ServiceRefusal(f"流程“{compiled.name}”的属性 {WARNING_DAYS} 须为正整数，当前为“{days}”")
            return ExpiryWarning(compiled.name, int(days), props.get(WARNING_SUBJECT, ""), props.get(WARNING_BODY, ""))
    return None


def warn_expiring(session: Session, now: datetime, grace_days: int, limit: int | None = None) -> list[str]:
    """Queue the 到期提醒 (SMS and e-mail to the domain's contact, else the unit's first contact) for every
    active domain that expires within the warning's days and was not yet warned about that expiry date.

    A renewal moves the expiry date, so the next one is warned about again. Returns the names warned."""
    warning = expiry_warning(session)
    if warning is None:
        return []
    today = to_beijing_date(now)
    query = (
        select(Domain)
        .where(
            Domain.status == "active",
            Domain.expires_on >= today,
            Domain.expires_on <= today + timedelta(days=warning.days),
            (Domain.expiry_warned_for.is_(None)) | (Domain.expiry_warned_for != Domain.expires_on),
        )
        .order_by(Domain.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)  # parallel workers split the rows
    names = []
    for domain in session.scalars(query):
        _warn(session, domain, warning, today, grace_days, now)
        names.append(domain.name)
    session.flush()
    return names


def _warn(
    session: Session, domain: Domain, warning: ExpiryWarning, today: date, grace_days: int, now: datetime
) -> None:
    assert domain.expires_on is not None  # the query selects by expiry date
    variables = {
        "domain_name": domain.name,
        "expires_on": domain.expires_on.isoformat(),
        "days_left": (domain.expires_on - today).days,
        "grace_days": grace_days,
    }
    subject, body = notifications.render(warning.subject, variables), notifications.render(warning.body, variables)
    notifications.queue(session, None, _contact_of(session, domain), subject, body, now, unit_id=domain.unit_id)
    domain.expiry_warned_for = domain.expires_on
    detail = {"domain": domain.name, "unit_id": domain.unit_id, "expires_on": domain.expires_on.isoformat()}
    audit.record(session, SYSTEM, "domain_expiry_warning", detail=detail)


def _contact_of(session: Session, domain: Domain) -> dict[str, str]:
    if domain.contact_mobile or domain.contact_email:
        return {"sms": domain.contact_mobile, "email": domain.contact_email}
    unit = session.get(Unit, domain.unit_id)
    contact = unit.contacts[0] if unit is not None and unit.contacts else None
    return {"sms": contact.mobile, "email": contact.email} if contact is not None else {}


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
