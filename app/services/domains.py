"""Chinese domain names: reservation on application, activation (renewal: services/renewals.py)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Domain
from app.models.domain import HELD_STATUSES
from app.services.calendar import add_years
from app.services.errors import ServiceRefusal
from app.taskforms.formats import domain_suffix, to_ascii_domain


def active_domains(session: Session, unit_id: int, suffix: str, today: date) -> list[Domain]:
    """The unit's paid domains with this suffix that have not expired."""
    query = select(Domain).where(
        Domain.unit_id == unit_id,
        Domain.suffix == suffix,
        Domain.status == "active",
        Domain.expires_on >= today,
    )
    return list(session.scalars(query.order_by(Domain.id)))


def require_active(session: Session, unit_id: int, suffix: str, today: date, message: str) -> list[dict]:
    """Refuse with the diagram's message unless the unit holds an active domain with this suffix."""
    domains = active_domains(session, unit_id, suffix, today)
    if not domains:
        raise ServiceRefusal(message)
    return [{"id": d.id, "name": d.name, "expires_on": d.expires_on.isoformat()} for d in domains]


def verify_owned(session: Session, unit_id: int, names: list[str], today: date, suffix: str = "") -> list[int]:
    """Ids of the named domains; refuse any that is not the unit's active domain (with this suffix)."""
    ids = []
    for name in names:
        domain = session.scalar(
            select(Domain).where(
                Domain.unit_id == unit_id,
                Domain.name == name,
                Domain.status == "active",
                Domain.expires_on >= today,
            )
        )
        if domain is None:
            raise ServiceRefusal(f"域名 {name} 不是本单位已注册且在有效期内的域名", field="domains")
        if suffix and domain.suffix != suffix:
            raise ServiceRefusal(f"域名 {name} 不是 .{suffix} 域名，不能用于本申请", field="domains")
        ids.append(domain.id)
    return ids


def reserve(session: Session, unit_id: int, instance_id: int, fields: dict[str, object]) -> int:
    """Hold the requested name for this application; a resubmission updates the same record."""
    name = str(fields["name"])
    taken = session.scalar(
        select(Domain.id).where(
            Domain.name == name,
            Domain.status.in_(HELD_STATUSES),
            Domain.instance_id.is_distinct_from(instance_id),  # rows without an application count too
        )
    )
    if taken is not None:
        raise ServiceRefusal(f"域名 {name} 已被注册或正在申请中", field="domain_name")
    domain = session.scalar(select(Domain).where(Domain.instance_id == instance_id))
    if domain is None:
        domain = Domain(unit_id=unit_id, instance_id=instance_id, status="reserved")
        session.add(domain)
    domain.name, domain.ascii_name, domain.suffix = name, to_ascii_domain(name), domain_suffix(name)
    for key in ("years", "host_mode", "host_ip", "host_url", "contact_name", "contact_mobile", "contact_email"):
        setattr(domain, key, fields.get(key) or ("" if key != "years" else 1))
    session.flush()
    return domain.id


def _owned(session: Session, unit_id: int, domain_id: int) -> Domain:
    domain = session.get(Domain, domain_id)
    if domain is None or domain.unit_id != unit_id:
        raise ServiceRefusal("没有找到本单位的这个域名", field="domain_id")
    return domain


def activate(session: Session, unit_id: int, domain_id: int, years: int, today: date) -> str:
    """Registration succeeded: the domain runs `years` from today."""
    domain = _owned(session, unit_id, domain_id)
    domain.status, domain.years = "active", years
    domain.registered_on, domain.expires_on = today, add_years(today, years)
    session.flush()
    return domain.expires_on.isoformat()
