"""The operators this platform offers to diagrams; each delegates to a service."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import select

from app.engine.context import ActionContext
from app.engine.operators import OperatorRegistry
from app.models import DnsRecord, Unit
from app.services import (
    audit,
    badges,
    billing,
    dns,
    jurisdiction,
    notifications,
    placement,
    process_context,
    renewals,
)
from app.services import domains as domain_service
from app.services import suffix_rule as suffix_rule_service
from app.services.audit import Actor
from app.services.calendar import to_beijing_date
from app.services.errors import ServiceRefusal


def build_registry() -> OperatorRegistry:
    registry = OperatorRegistry()
    for name, func in _OPERATORS.items():
        registry.register(name)(func)
    return registry


def _today(ctx: ActionContext) -> date:
    return to_beijing_date(ctx.now)


def require_active_domain(ctx: ActionContext, suffix: str, message: str) -> list[dict]:
    """Refuse to go on unless the unit holds a paid, unexpired domain with this suffix."""
    return domain_service.require_active(ctx.session, ctx.unit_id, suffix, _today(ctx), message)


def verify_owned_domains(ctx: ActionContext, domains: list, suffix: str = "") -> list[int]:
    """Check every named domain is the unit's active domain (with this suffix); returns their ids."""
    names = [str(d) for d in domains]
    return domain_service.verify_owned(ctx.session, ctx.unit_id, names, _today(ctx), suffix)


def reserve_domain(
    ctx: ActionContext,
    name: str,
    years: int,
    host_mode: str,
    host_ip: str = "",
    host_url: str = "",
    contact_name: str = "",
    contact_mobile: str = "",
    contact_email: str = "",
    suffix_rule: str = "",
) -> int:
    """Hold the applied-for name for this application (a resubmission updates it).

    `suffix_rule` (the diagram's suffixByUnitType property) refuses a suffix the unit's type may not use.
    """
    assert ctx.instance_id is not None
    suffix_rule_service.check(ctx.session, ctx.unit_id, name, suffix_rule)
    fields = {
        "name": name,
        "years": years,
        "host_mode": host_mode,
        "host_ip": host_ip,
        "host_url": host_url,
        "contact_name": contact_name,
        "contact_mobile": contact_mobile,
        "contact_email": contact_email,
    }
    return domain_service.reserve(ctx.session, ctx.unit_id, ctx.instance_id, fields)


def check_renewable(ctx: ActionContext, domains: list) -> dict[str, Any]:
    """Check the unit may renew the named domains (registered, not frozen or deleted, no renewal open); their ids."""
    return renewals.check_renewable(ctx.session, ctx.unit_id, [str(d) for d in domains])


def describe_domain(ctx: ActionContext, domain_id: int) -> dict[str, Any]:
    """A registered domain of the unit, with its expiry and contact (域名续费 versions renewing one domain)."""
    return renewals.describe(ctx.session, ctx.unit_id, domain_id)


def activate_domain(ctx: ActionContext, domain_id: int, years: int) -> str:
    """Registration succeeded: activate for `years` from today; returns the expiry date."""
    return domain_service.activate(ctx.session, ctx.unit_id, domain_id, years, _today(ctx))


def extend_paid_domains(ctx: ActionContext, charge_ids: list) -> list[dict[str, str]]:
    """Renewal succeeded: extend each charge's domain by its paid years; returns names and new expiry dates."""
    return renewals.extend_paid(ctx.session, ctx.unit_id, [int(c) for c in charge_ids])


def extend_domain(ctx: ActionContext, domain_id: int, years: int) -> str:
    """Renewal succeeded: extend the expiry by `years`; returns the new expiry date (versions renewing one domain)."""
    return renewals.extend_one(ctx.session, ctx.unit_id, domain_id, years)


def create_charge(ctx: ActionContext, domain_id: int, years: int, purpose: str) -> int:
    """Create the unpaid fee (the procedure's tariff in force today × years) for a registration or renewal."""
    fees = ctx.names.get("fee", {})
    return billing.create_charge(ctx.session, ctx.unit_id, ctx.instance_id, domain_id, years, purpose, fees)


def create_charges(ctx: ActionContext, domain_ids: list, years: int, purpose: str) -> dict[str, Any]:
    """One unpaid fee per domain (tariff in force today × years); returns charge_ids and the total amount_yuan."""
    ids = [int(d) for d in domain_ids]
    fees = ctx.names.get("fee", {})
    return billing.create_each(ctx.session, ctx.unit_id, ctx.instance_id, ids, years, purpose, fees)


def collect_charge(ctx: ActionContext, charge_id: int, invoice_no: str, years: int) -> int:
    """Record 编办's 确认收费 with the invoice number; returns the amount in 元."""
    return billing.collect(ctx.session, charge_id, invoice_no, years, ctx.now)


def collect_charges(ctx: ActionContext, charge_ids: list, invoice_no: str, years: int) -> int:
    """Record 编办's one 确认收费 of all the application's fees (one invoice); returns the total in 元."""
    return billing.collect_all(ctx.session, [int(c) for c in charge_ids], invoice_no, years, ctx.now)


def cancel_charges(ctx: ActionContext, charge_ids: list) -> int:
    """The application was withdrawn unpaid: void its fees; returns how many."""
    return billing.cancel(ctx.session, [int(c) for c in charge_ids])


def issue_badge(ctx: ActionContext, site_name: str, domains: list, colour: str, hang_deadline: str) -> dict:
    """Issue the website badge certificate and its 标识代码.

    The certificate page also shows the application's optional 英文域名 (`english_domain`) and, for
    事业单位, its 业务范围 (`business_scope`); optional form fields are read from the application's data
    because a parameter expression cannot name a field the unit left empty.
    """
    fields = {
        "site_name": site_name,
        "domains": domains,
        "colour": colour,
        "hang_deadline": hang_deadline,
        "english_domain": ctx.data.get("english_domain", ""),
        "functions": ctx.data.get("business_scope", ""),
    }
    return badges.issue(ctx.session, ctx.unit_id, ctx.instance_id, fields, ctx.now)


def mark_badge_deadline(ctx: ActionContext, certificate_id: int) -> bool:
    """Record that the hanging deadline of a certificate has passed."""
    return badges.mark_deadline(ctx.session, certificate_id, ctx.now)


def track_placement(ctx: ActionContext, certificate_id: int, location: str, reminder_days: int) -> dict[str, str]:
    """Note where the badge must hang (挂标位置, and the application's english_domain and server_ip);
    returns remind_on, the working day `reminder_days` before the hanging deadline."""
    site = {name: str(ctx.data.get(name) or "") for name in ("english_domain", "server_ip")}
    return placement.track(ctx.session, certificate_id, location, reminder_days, **site)


def check_placement(ctx: ActionContext, certificate_id: int, purpose: str) -> dict[str, Any]:
    """Look for the certificate's badge on the unit's site or red page and keep the evidence; returns found."""
    if purpose not in ("reminder", "deadline"):
        raise ServiceRefusal(f"检查目的“{purpose}”无效，应为 reminder（到期前提醒）或 deadline（期限届满）")
    row = placement.check(ctx.session, certificate_id, purpose, ctx.now, placement.policy_from(ctx.settings))
    return {"found": row.outcome == "found", "outcome": row.outcome, "check_id": row.id, "reason": row.reason}


def record_placement_deadline(ctx: ActionContext, certificate_id: int, compliant: bool) -> str:
    """Record the deadline's verdict: 按时挂标, or 逾期未挂标 (the 编办's overdue list); re-checks follow."""
    recheck = timedelta(hours=float(ctx.settings["PLACEMENT_RECHECK_HOURS"]))
    return placement.record_deadline(ctx.session, certificate_id, compliant, ctx.now, recheck)


def submit_dns_record(ctx: ActionContext, domain: str, host: str, record_type: str, value: str) -> int:
    """Record a DNS record (解析) of one of the unit's domains, pending review; returns its id."""
    line = dns.RecordInput(domain, host, record_type, value)
    record_id = dns.submit(ctx.session, ctx.unit_id, line, ctx.actor, ctx.instance_id)
    _audit_dns(ctx, "dns_submit", record_id)
    return record_id


def approve_dns_record(ctx: ActionContext, record_id: int) -> str:
    """Review passed: the record takes effect, replacing the host's previous record."""
    status = dns.approve(ctx.session, ctx.unit_id, record_id, ctx.now)
    _audit_dns(ctx, "dns_effective", record_id)
    return status


def refuse_dns_record(ctx: ActionContext, record_id: int, reason: str) -> str:
    """Review refused: the record never takes effect; the unit sees the reason."""
    status = dns.refuse(ctx.session, ctx.unit_id, record_id, reason, ctx.now)
    _audit_dns(ctx, "dns_refused", record_id)
    return status


def _audit_dns(ctx: ActionContext, action: str, record_id: int) -> None:
    """A DNS change in the audit trail (DOMAIN.md §7.3), with the values it replaced when it takes effect."""
    record = ctx.session.get(DnsRecord, record_id)
    if record is None:
        return
    replaced = ctx.session.scalars(
        select(DnsRecord.value).where(
            DnsRecord.domain_id == record.domain_id,
            DnsRecord.host == record.host,
            DnsRecord.status == "replaced",
            DnsRecord.decided_at == record.decided_at,
        )
    )
    detail = {"record_id": record.id, "domain": record.domain.name, "host": record.host, "type": record.record_type}
    detail |= {"value": record.value, "replaced": list(replaced) if action == "dns_effective" else []}
    audit.record(ctx.session, Actor(ctx.actor, ctx.role), action, ctx.instance_id, detail=detail)


def send_notification(ctx: ActionContext, mobile: str, email: str, subject: str, body: str) -> int:
    """Queue an SMS and an e-mail; subject and body are Jinja templates over the application data."""
    variables = {**ctx.data, **process_context.with_application_domains(ctx.names, ctx.data)}
    text = notifications.render(body, variables)
    title = notifications.render(subject, variables)
    return notifications.queue(ctx.session, ctx.instance_id, {"sms": mobile, "email": email}, title, text, ctx.now)


def notify_office(ctx: ActionContext, role: str, subject: str, body: str, routing: str = "") -> int:
    """Notify the office of `role` that handles this unit (e.g. a deadline reminder); texts as for notify.send."""
    unit = ctx.session.get(Unit, ctx.unit_id)
    try:
        office = jurisdiction.route(ctx.session, unit, role, routing) if unit is not None else None
    except jurisdiction.RoutingError as missing:
        raise ServiceRefusal(missing.message) from missing
    if not office:
        raise ServiceRefusal(f"“{role}”不是审核机构的角色，不能向其发送提醒")
    variables = {**ctx.data, **process_context.with_application_domains(ctx.names, ctx.data)}
    title, text = notifications.render(subject, variables), notifications.render(body, variables)
    recipient = {notifications.OFFICE_CHANNEL: office}
    return notifications.queue(ctx.session, ctx.instance_id, recipient, title, text, ctx.now)


_OPERATORS = {
    "domain.require_active": require_active_domain,
    "domain.verify_owned": verify_owned_domains,
    "domain.reserve": reserve_domain,
    "domain.check_renewable": check_renewable,
    "domain.describe": describe_domain,
    "domain.activate": activate_domain,
    "domain.extend": extend_domain,
    "domain.extend_paid": extend_paid_domains,
    "dns.submit": submit_dns_record,
    "dns.approve": approve_dns_record,
    "dns.refuse": refuse_dns_record,
    "charge.create": create_charge,
    "charge.create_each": create_charges,
    "charge.collect": collect_charge,
    "charge.collect_all": collect_charges,
    "charge.cancel": cancel_charges,
    "badge.issue": issue_badge,
    "badge.mark_deadline": mark_badge_deadline,
    "placement.track": track_placement,
    "placement.check": check_placement,
    "placement.record_deadline": record_placement_deadline,
    "notify.send": send_notification,
    "notify.office": notify_office,
}
