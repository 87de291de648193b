"""到期域名查询: registered domains by expiry date range, region, suffix, status and name, counted and paged.

A unit sees its own domains, a 编办 those of the units it answers for (app/services/jurisdiction.py).
Each row says whether a renewal of the domain is under way, so nobody ticks it twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, literal, or_, select, true, union_all
from sqlalchemy.orm import Session

from app.models import Charge, Domain, ProcessInstance
from app.models.account import BIANBAN_ROLE, UNIT_ROLE
from app.models.domain import STATUS_LABELS
from app.services import query_planning, text_match
from app.services.jurisdiction import office_region_cut, region_prefix
from app.services.paging import Paged
from app.services.renewals import OPEN_CHARGES, RENEW, RUNNING

SUFFIXES = ("政务", "公益")
# What the query shows unless a status is chosen: every registered domain that is not deleted.
CURRENT = ("active", "expired", "frozen")
QUERY_STATUSES = (*CURRENT, "deleted")
COUNT_CAP = 1000  # counted this far per status, then shown as "more than"


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
    more: bool = False  # `total` is a lower bound: a status shown has more than COUNT_CAP domains
    over: tuple[str, ...] = ()  # statuses counted only up to COUNT_CAP


def query(session: Session, user: Any, filters: DomainFilters, page: int = 1, page_size: int = 20) -> DomainPage:
    """One page of the user's domains under the filters, soonest expiry first, with counts by status.

    Each status is counted up to COUNT_CAP (`more` then says the figures are lower bounds), so a large
    jurisdiction costs no more than a small one; the total is the sum over the statuses shown.
    """
    query_planning.plan_per_value(session)
    parts, filtered = _jurisdiction(session, user), _filtered(session, filters)  # for the counts and the page
    counted = _counted(session, parts, filtered)
    read = [(s, STATUS_LABELS[s], sum(n for (status, _), n in counted.items() if status == s)) for s in QUERY_STATUSES]
    over = tuple(status for status, _label, count in read if count > COUNT_CAP)
    by_status = [(status, label, min(count, COUNT_CAP)) for status, label, count in read]
    shown = _statuses(filters)
    total = sum(count for status, _label, count in by_status if status in shown)
    more = any(status in over for status in shown)
    page = max(page, 1) if more else min(max(page, 1), max(1, -(-total // page_size)))
    conditions = [*filtered, Domain.status.in_(shown)]
    rows = _rows(session, _reading(counted, parts, shown), conditions, (page - 1) * page_size, page_size)
    return DomainPage(rows, total, page, page_size, by_status, more, over)


def rows_for(
    session: Session, user: Any, filters: DomainFilters, offset: int = 0, limit: int | None = None
) -> list[DomainRow]:
    query_planning.plan_per_value(session)
    parts, filtered, shown = _jurisdiction(session, user), _filtered(session, filters), _statuses(filters)
    reading = _reading(_counted(session, parts, filtered), parts, shown)
    return _rows(session, reading, [*filtered, Domain.status.in_(shown)], offset, limit)


def _rows(
    session: Session,
    reading: list[tuple[ColumnElement[bool], bool]],
    conditions: list[ColumnElement[bool]],
    offset: int,
    limit: int | None,
) -> list[DomainRow]:
    """The domains under `conditions` in the parts of the jurisdiction `reading` gives, soonest expiry first.

    A page is cut in each part first, each planned on its own. A part the counts found few domains in is
    read whole off its region range and sorted: left to the planner, a narrow range it guesses well filled
    (an office with no domains of its own, at a million) was sought along the whole country's expiry dates,
    0.7 s to find nothing. The pieces are few, so their union is sorted, not read by date."""
    if not reading:
        return []

    def soonest(whole: bool) -> tuple[Any, Any]:
        return (query_planning.unindexed(Domain.expires_on) if whole else Domain.expires_on), Domain.id

    if limit and len(reading) > 1:
        firsts = [
            select(Domain.id).where(part, *conditions).order_by(*soonest(few)).limit(offset + limit).subquery()
            for part, few in reading
        ]
        conditions, order = [Domain.id.in_(union_all(*(select(first.c.id) for first in firsts)))], soonest(True)
    else:
        parts = [part for part, _few in reading]
        conditions, order = [_either(parts), *conditions], soonest(all(few for _part, few in reading))
    found_query = (
        select(Domain, Domain.unit_name, Domain.region_code)  # the unit's, copied onto the domain
        .where(*conditions)
        .order_by(*order)
        .offset(offset)
    )
    found = session.execute(found_query.limit(limit) if limit else found_query).all()
    renewing = _renewals(session, [domain.id for domain, *_ in found])
    return [DomainRow(d, unit or "", region or "", renewing.get(d.id, "")) for d, unit, region in found]


def _reading(
    counted: dict[tuple[str, int], int], parts: list[ColumnElement[bool]], shown: tuple[str, ...]
) -> list[tuple[ColumnElement[bool], bool]]:
    """The parts of the jurisdiction holding any domain of the statuses shown, each with whether it holds few
    (at most COUNT_CAP of each): a part the counts found empty is not read again for the rows."""
    reading = []
    for number, part in enumerate(parts):
        counts = [counted.get((status, number), 0) for status in shown]
        if any(counts):
            reading.append((part, all(count <= COUNT_CAP for count in counts)))
    return reading


def _statuses(filters: DomainFilters) -> tuple[str, ...]:
    return (filters.status,) if filters.status in QUERY_STATUSES else CURRENT


def _filtered(session: Session, filters: DomainFilters) -> list[ColumnElement[bool]]:
    """The filters but the status (the counts by status are taken under these)."""
    conditions = []
    if filters.expires_from:
        conditions.append(Domain.expires_on >= filters.expires_from)
    if filters.expires_to:
        conditions.append(Domain.expires_on <= filters.expires_to)
    if filters.region:
        prefix = region_prefix(filters.region)  # a range of six-digit codes: read off the index
        conditions.append(Domain.region_code.between(prefix.ljust(6, "0"), prefix.ljust(6, "9")))
    if filters.suffix in SUFFIXES:
        conditions.append(Domain.suffix == filters.suffix)
    if filters.text:
        # The unit's name is copied onto the domain (migration fi13a0000005): the filter, like the others,
        # is tested on the domain's own index (PostgreSQL) without visiting the units.
        text, dialect = filters.text, session.get_bind().dialect.name
        conditions.append(
            or_(text_match.contains(Domain.name, text, dialect), text_match.contains(Domain.unit_name, text, dialect))
        )
    return conditions


def _jurisdiction(session: Session, user: Any) -> list[ColumnElement[bool]]:
    """The domains the user sees (app/services/jurisdiction.py visible_units), as parts whose OR it is, each
    read off an index on its own: a unit its own; a 编办 each range of region codes it answers for, read off
    the region copied onto each domain, without visiting the units or stepping over nearer offices' rows."""
    if user.role == UNIT_ROLE:
        return [Domain.unit_id == user.unit_id]
    if user.role != BIANBAN_ROLE:
        return [false()]
    regions = office_region_cut(session, user.office_code)
    if regions is None:  # a national office
        return [true()]
    return regions.range_conditions(Domain.region_code) or [false()]


def _either(parts: list[ColumnElement[bool]]) -> ColumnElement[bool]:
    return parts[0] if len(parts) == 1 else or_(*parts)


def _counted(
    session: Session, parts: list[ColumnElement[bool]], filtered: list[ColumnElement[bool]]
) -> dict[tuple[str, int], int]:
    """(status, part number) → domains, each counted up to COUNT_CAP + 1 (a reading above the cap means
    "more"), in one statement: the counts by status, and which parts hold few domains."""
    capped = [
        select(literal(status), literal(number), func.count()).select_from(
            select(Domain.id).where(part, *filtered, Domain.status == status).limit(COUNT_CAP + 1).subquery()
        )
        for status in QUERY_STATUSES
        for number, part in enumerate(parts)
    ]
    return {(status, number): n for status, number, n in session.execute(union_all(*capped))}


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
