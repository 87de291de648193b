"""The operators this platform offers to diagrams; each delegates to a service."""

from __future__ import annotations

from datetime import date
from typing import Any

from app.engine.context import ActionContext
from app.engine.operators import OperatorRegistry
from app.services import badges, billing, notifications, process_context
from app.services import domains as domain_service
from app.services.calendar import to_beijing_date


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
) -> int:
    """Hold the applied-for name for this application (a resubmission updates it)."""
    assert ctx.instance_id is not None
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


def describe_domain(ctx: ActionContext, domain_id: int) -> dict[str, Any]:
    """A registered domain of the unit, with its expiry and contact."""
    return domain_service.describe(ctx.session, ctx.unit_id, domain_id)


def activate_domain(ctx: ActionContext, domain_id: int, years: int) -> str:
    """Registration succeeded: activate for `years` from today; returns the expiry date."""
    return domain_service.activate(ctx.session, ctx.unit_id, domain_id, years, _today(ctx))


def extend_domain(ctx: ActionContext, domain_id: int, years: int) -> str:
    """Renewal succeeded: extend the expiry by `years`; returns the new expiry date."""
    return domain_service.extend(ctx.session, ctx.unit_id, domain_id, years)


def create_charge(ctx: ActionContext, domain_id: int, years: int, purpose: str) -> int:
    """Create the unpaid fee (the procedure's tariff in force today × years) for a registration or renewal."""
    return billing.create_charge(ctx.session, ctx.unit_id, domain_id, years, purpose, ctx.names.get("fee", {}))


def collect_charge(ctx: ActionContext, charge_id: int, invoice_no: str, years: int) -> int:
    """Record 编办's 确认收费 with the invoice number; returns the amount in 元."""
    return billing.collect(ctx.session, charge_id, invoice_no, years, ctx.now)


def issue_badge(ctx: ActionContext, site_name: str, domains: list, colour: str, hang_deadline: str) -> dict:
    """Issue the website badge certificate and its 标识代码."""
    fields = {"site_name": site_name, "domains": domains, "colour": colour, "hang_deadline": hang_deadline}
    return badges.issue(ctx.session, ctx.unit_id, ctx.instance_id, fields, ctx.now)


def mark_badge_deadline(ctx: ActionContext, certificate_id: int) -> bool:
    """Record that the hanging deadline of a certificate has passed."""
    return badges.mark_deadline(ctx.session, certificate_id, ctx.now)


def send_notification(ctx: ActionContext, mobile: str, email: str, subject: str, body: str) -> int:
    """Queue an SMS and an e-mail; subject and body are Jinja templates over the application data."""
    variables = {**ctx.data, **process_context.with_application_domains(ctx.names, ctx.data)}
    text = notifications.render(body, variables)
    title = notifications.render(subject, variables)
    return notifications.queue(ctx.session, ctx.instance_id, {"sms": mobile, "email": email}, title, text)


_OPERATORS = {
    "domain.require_active": require_active_domain,
    "domain.verify_owned": verify_owned_domains,
    "domain.reserve": reserve_domain,
    "domain.describe": describe_domain,
    "domain.activate": activate_domain,
    "domain.extend": extend_domain,
    "charge.create": create_charge,
    "charge.collect": collect_charge,
    "badge.issue": issue_badge,
    "badge.mark_deadline": mark_badge_deadline,
    "notify.send": send_notification,
}
