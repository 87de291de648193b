"""Renewing several domains of one unit in one application (域名续费), and what a renewal may not touch.

A renewal names its domains; each must be the unit's registered domain, neither frozen nor deleted,
and without another renewal still open. The domain rows are locked while this is checked, so two
renewals of the same domain submitted at once cannot both pass. Success extends each domain by the
years of its own (collected, confirmed) charge.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from app.models import Charge, Domain, ProcessInstance
from app.services.calendar import add_years
from app.services.errors import ServiceRefusal

RENEW = "renew"
FIELD = "domains"  # the renewal form's field the refusals stand next to
OPEN_CHARGES = ("unpaid", "collected", "remitted")
RUNNING = ("running", "error")


def check_renewable(session: Session, unit_id: int, names: Iterable[str]) -> dict[str, Any]:
    """The named domains as the renewal works on them; every problem refused at once, next to the field."""
    wanted = list(dict.fromkeys(str(n) for n in names))
    if not wanted:
        raise ServiceRefusal("请至少选择一个需续费的域名", field=FIELD)
    rows = _lock_owned(session, unit_id, wanted)
    problems = [_problem(session, name, rows.get(name)) for name in wanted]
    problems = [p for p in problems if p]
    if problems:
        raise ServiceRefusal("；".join(problems), field=FIELD)
    domains = [rows[name] for name in wanted]
    contact = next((d for d in domains if d.contact_mobile or d.contact_email), domains[0])
    return {
        "domain_ids": [d.id for d in domains],
        "names": "、".join(d.name for d in domains),
        "lines": [{"name": d.name, "expires_on": _iso(d.expires_on)} for d in domains],
        "contact_mobile": contact.contact_mobile,
        "contact_email": contact.contact_email,
    }


def _lock_owned(session: Session, unit_id: int, names: list[str]) -> dict[str, Domain]:
    """The unit's record of each name (a deleted one only if nothing newer holds the name), row-locked."""
    query = select(Domain).where(Domain.unit_id == unit_id, Domain.name.in_(names)).order_by(Domain.id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=Domain)
    found: dict[str, Domain] = {}
    for domain in session.scalars(query.execution_options(populate_existing=True)):
        if domain.name not in found or domain.status != "deleted":
            found[domain.name] = domain
    return found


def _problem(session: Session, name: str, domain: Domain | None) -> str:
    if domain is None:
        return f"域名 {name} 不是本单位的域名"
    if domain.status == "reserved" or domain.expires_on is None:
        return f"域名 {name} 尚未注册成功，不能续费"
    if domain.status == "frozen":
        reason = f"（冻结原因：{domain.status_reason}）" if domain.status_reason else ""
        return f"域名 {name} 已被冻结，不能续费{reason}，请联系同级编办"
    if domain.status == "deleted":
        return f"域名 {name} 已删除，不能续费"
    key = open_renewal(session, domain.id)
    if key:
        return f"域名 {name} 已有未办结的续费申请 {key}，不能重复申请"
    return ""


def open_renewal(session: Session, domain_id: int) -> str | None:
    """The application number of the domain's renewal still under way (unpaid up to its success), if any."""
    query = (
        select(Charge.id, ProcessInstance.business_key)
        .join(ProcessInstance, ProcessInstance.id == Charge.instance_id, isouter=True)
        .where(
            Charge.domain_id == domain_id,
            Charge.purpose == RENEW,
            or_(
                Charge.status.in_(OPEN_CHARGES),
                and_(Charge.status != "cancelled", ProcessInstance.status.in_(RUNNING)),
            ),
        )
        .order_by(Charge.id.desc())
        .limit(1)
    )
    found = session.execute(query).first()
    if found is None:
        return None
    return found.business_key or f"（费用 {found.id}）"  # a renewal from before charges named their application


def extend_paid(session: Session, unit_id: int, charge_ids: Iterable[int]) -> list[dict[str, str]]:
    """Renewal succeeded: each charge's domain runs its paid years longer from its old expiry date."""
    charges = list(session.scalars(select(Charge).where(Charge.id.in_(list(charge_ids))).order_by(Charge.id)))
    renewed = []
    for charge in charges:
        domain = session.get(Domain, charge.domain_id)
        if charge.status != "confirmed" or domain is None or domain.unit_id != unit_id:
            raise ServiceRefusal(f"费用 {charge.id} 尚未认款或不属于本单位，不能续费")
        renewed.append({"name": domain.name, "expires_on": extend(domain, charge.years)})
    session.flush()
    return renewed


def describe(session: Session, unit_id: int, domain_id: int) -> dict[str, Any]:
    """One registered domain of the unit, as versions of 域名续费 before several domains per application read it
    (their running applications finish on their own version)."""
    domain = session.get(Domain, domain_id)
    if domain is None or domain.unit_id != unit_id:
        raise ServiceRefusal("没有找到本单位的这个域名", field="domain_id")
    problem = _problem(session, domain.name, domain)
    if problem:
        raise ServiceRefusal(problem, field="domain_id")
    return {
        "id": domain.id,
        "name": domain.name,
        "status": domain.status,
        "expires_on": _iso(domain.expires_on),
        "contact_name": domain.contact_name,
        "contact_mobile": domain.contact_mobile,
        "contact_email": domain.contact_email,
    }


def extend_one(session: Session, unit_id: int, domain_id: int, years: int) -> str:
    """Renewal succeeded, for versions of 域名续费 that renew one domain by its id."""
    domain = session.get(Domain, domain_id)
    if domain is None or domain.unit_id != unit_id:
        raise ServiceRefusal("没有找到本单位的这个域名")
    expires_on = extend(domain, years)
    session.flush()
    return expires_on


def extend(domain: Domain, years: int) -> str:
    """Extend from the current expiry date. An expired domain is published again; a domain the 编办 froze
    after the renewal was submitted keeps its paid years but stays frozen."""
    if domain.expires_on is None or domain.status in ("reserved", "deleted"):
        raise ServiceRefusal(f"域名 {domain.name} 当前状态为{domain.status_label}，不能续费")
    domain.expires_on = add_years(domain.expires_on, years)
    domain.years += years
    if domain.status == "expired":
        domain.status = "active"
    return domain.expires_on.isoformat()


def _iso(day: date | None) -> str:
    return day.isoformat() if day else ""
