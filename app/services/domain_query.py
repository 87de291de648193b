"""到期域名查询: registered domains by expiry date range, region, suffix, status and name, counted and paged.

A unit sees its own domains, a 编办 those of the units it answers for (app/services/jurisdiction.py).
Each row says whether a renewal of the domain is under way, so nobody ticks it twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import Session

from app.models import Charge, Domain, ProcessInstance, Unit
from app.models.domain import STATUS_LABELS
from app.services.jurisdiction import region_prefix, visible_units
from app.services.paging import Paged
from app.services.renewals import OPEN_CHARGES, RENEW, RUNNING

SUFFIXES = ("政务", "公益")
# What the query shows unless a status is chosen: every registered domain that is not deleted.
CURRENT = ("active", "expired", "frozen")
QUERY_STATUSES = (*CURRENT, "deleted")


@dataclass(frozen=True)
class DomainFilters:
    """Empty values mean no restriction; dates are inclusive."""

    expires_from: date | None = None
    expires_to: date | None = None
    region: str = ""  # GB/T 2260 code; 150000 matches the whole province
    suffix: str = ""
    status: str = ""
    text: str = ""  # part of the domain or of the unit's name

    def as_dict(self) -> dict[str, str]:
        """The filters as query parameters (and as the audit of an export records them)."""
        values = {
            "expires_from": self.expires_from.isoformat() if self.expires_from else "",
            "expires_to": self.expires_to.isoformat() if self.expires_to else "",
            "region": self.region,
            "suffix": self.suffix,
            "status": self.status,
            "q": self.text,
        }
        return {k: v for k, v in values.items() if v}


@dataclass(frozen=True)
class DomainRow:
    domain: Domain
    unit_name: str
    region_code: str
    renewal: str  # application number of a renewal under way, or ""

    @property
    def renewable(self) -> bool:
        return self.domain.status in ("active", "expired") and not self.renewal


@dataclass(frozen=True)
class DomainPage(Paged):
    by_status: list[tuple[str, str, int]] = field(default_factory=list)  # status, label, count


def query(session: Session, user: Any, filters: DomainFilters, page: int = 1, page_size: int = 20) -> DomainPage:
    """One page of the user's domains under the filters, soonest expiry first, with counts by status."""
    conditions = _conditions(session, user, filters)
    total = session.scalar(_joined(select(func.count(Domain.id))).where(*conditions)) or 0
    page = min(max(page, 1), max(1, -(-total // page_size)))
    rows = rows_for(session, user, filters, (page - 1) * page_size, page_size)
    return DomainPage(rows, total, page, page_size, _by_status(session, user, filters))


def rows_for(
    session: Session, user: Any, filters: DomainFilters, offset: int = 0, limit: int | None = None
) -> list[DomainRow]:
    found_query = (
        _joined(select(Domain, Unit.name, Unit.region_code))
        .where(*_conditions(session, user, filters))
        .order_by(Domain.expires_on, Domain.id)
        .offset(offset)
    )
    found = session.execute(found_query.limit(limit) if limit else found_query).all()
    renewing = _renewals(session, [domain.id for domain, *_ in found])
    return [DomainRow(d, unit, region, renewing.get(d.id, "")) for d, unit, region in found]


def _joined(query: Select[Any]) -> Select[Any]:
    return query.select_from(Domain).join(Unit, Unit.id == Domain.unit_id)


def _conditions(session: Session, user: Any, filters: DomainFilters) -> list[ColumnElement[bool]]:
    statuses = (filters.status,) if filters.status in QUERY_STATUSES else CURRENT
    return [*_scope(session, user, filters), Domain.status.in_(statuses)]


def _scope(session: Session, user: Any, filters: DomainFilters) -> list[ColumnElement[bool]]:
    """Every condition but the status (the counts by status are taken under these)."""
    conditions: list[ColumnElement[bool]] = [Domain.unit_id.in_(visible_units(session, user))]
    if filters.expires_from:
        conditions.append(Domain.expires_on >= filters.expires_from)
    if filters.expires_to:
        conditions.append(Domain.expires_on <= filters.expires_to)
    if filters.region:
        conditions.append(Unit.region_code.startswith(region_prefix(filters.region), autoescape=True))
    if filters.suffix in SUFFIXES:
        conditions.append(Domain.suffix == filters.suffix)
    if filters.text:
        pattern = "%" + filters.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        conditions.append(or_(Domain.name.like(pattern, escape="\\"), Unit.name.like(pattern, escape="\\")))
    return conditions


def _by_status(session: Session, user: Any, filters: DomainFilters) -> list[tuple[str, str, int]]:
    query = (
        _joined(select(Domain.status, func.count(Domain.id)))
        .where(*_scope(session, user, filters), Domain.status.in_(QUERY_STATUSES))
        .group_by(Domain.status)
    )
    counts = dict(session.execute(query).all())
    return [(status, STATUS_LABELS[status], counts.get(status, 0)) for status in QUERY_STATUSES]


def _renewals(session: Session, domain_ids: list[int]) -> dict[int, str]:
    """Domain → application number of its renewal under way (unpaid up to success)."""
    if not domain_ids:
        return {}
    query = (
        select(Charge.domain_id, ProcessInstance.business_key)
        .join(ProcessInstance, ProcessInstance.id == Charge.instance_id)
        .where(
            Charge.domain_id.in_(domain_ids),
            Charge.purpose == RENEW,
            or_(
                Charge.status.in_(OPEN_CHARGES),
                and_(Charge.status != "cancelled", ProcessInstance.status.in_(RUNNING)),
            ),
        )
    )
    return dict(session.execute(query).all())
