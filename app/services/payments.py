"""What is due and what was paid, as units, 编办 and CONAC read it: an application's bill, 待缴费, remittances.

Every figure comes from the charge rows (each keeps its own fee), so a page, an export and CONAC's
认款 add up the same amounts. Lists start from the jurisdiction rules and name domains, units and
offices, never their ids.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from app.models import Charge, Domain, Office, ProcessInstance, Remittance, Unit, WorkflowDefinition
from app.services.jurisdiction import RoutingError, fee_office, office_units, visible_units
from app.services.paging import Paged

PURPOSES = {"register": "注册", "renew": "续费"}
STATUS_LABELS = {
    "unpaid": "待缴费",
    "collected": "已收费待汇款",
    "remitted": "已汇款待认款",
    "confirmed": "已认款",
    "cancelled": "已作废",
}


@dataclass(frozen=True)
class BillLine:
    charge_id: int
    domain: str
    purpose: str  # 注册 / 续费
    years: int
    tariff_yuan: int
    amount_yuan: int
    status: str  # a key of STATUS_LABELS
    invoice_no: str


@dataclass(frozen=True)
class Bill:
    """The charges of one application, each domain a line; `total` is their sum."""

    lines: list[BillLine]

    @property
    def total(self) -> int:
        return sum(line.amount_yuan for line in self.lines)

    @property
    def unpaid(self) -> bool:
        return any(line.status == "unpaid" for line in self.lines)

    @property
    def years(self) -> int:
        return self.lines[0].years if self.lines else 0

    @property
    def tariffs(self) -> list[int]:
        return [line.tariff_yuan for line in self.lines]


@dataclass(frozen=True)
class Payee:
    """Whom the unit pays and how (settings PAYEE_*); the 同级编办 collects unless a payee is set."""

    name: str
    bank: str
    account: str
    office: str  # the 编办 that collects the fee and issues the invoice


def bill_of(session: Session, instance_id: int) -> Bill | None:
    """The application's charges (none cancelled), or None if it charges nothing."""
    query = (
        select(Charge, Domain.name)
        .join(Domain, Domain.id == Charge.domain_id)
        .where(Charge.instance_id == instance_id, Charge.status != "cancelled")
        .order_by(Charge.id)
    )
    lines = [_line(charge, name) for charge, name in session.execute(query)]
    return Bill(lines) if lines else None


def _line(charge: Charge, domain: str) -> BillLine:
    return BillLine(
        charge.id,
        domain,
        PURPOSES.get(charge.purpose, charge.purpose),
        charge.years,
        charge.tariff_yuan,
        charge.amount_yuan,
        charge.status,
        charge.invoice_no or "",
    )


def payee(session: Session, unit: Unit, settings: Mapping[str, Any]) -> Payee:
    try:
        office_code = fee_office(session, unit)
    except RoutingError:  # no 编办 set up for the region yet: the page still says whom to pay
        office_code = ""
    office = session.scalar(select(Office.name).where(Office.code == office_code)) or "同级编办"
    return Payee(
        name=str(settings.get("PAYEE_NAME") or office),
        bank=str(settings.get("PAYEE_BANK") or ""),
        account=str(settings.get("PAYEE_ACCOUNT") or ""),
        office=office,
    )


# ---- 待缴费 ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class UnpaidRow:
    """An application waiting for its fee: whose, which domains, how many years, how much."""

    business_key: str
    procedure: str
    unit_name: str
    region_code: str
    domains: str
    years: int
    total: int
    since: datetime


def unpaid(session: Session, user: Any, page: int, page_size: int) -> Paged:
    """Applications of the user's units with fees still unpaid (待缴费), oldest first."""
    total = session.scalar(select(func.count()).select_from(_unpaid_instances(session, user).subquery())) or 0
    page = min(max(page, 1), max(1, -(-total // page_size)))
    return Paged(unpaid_rows(session, user, (page - 1) * page_size, page_size), total, page, page_size)


def unpaid_rows(session: Session, user: Any, offset: int = 0, limit: int | None = None) -> list[UnpaidRow]:
    query = _unpaid_instances(session, user).offset(offset)
    instance_ids = list(session.scalars(query.limit(limit) if limit else query))
    if not instance_ids:
        return []
    facts = session.execute(
        select(ProcessInstance.id, ProcessInstance.business_key, WorkflowDefinition.name, Unit.name, Unit.region_code)
        .join(WorkflowDefinition, WorkflowDefinition.id == ProcessInstance.definition_id)
        .join(Unit, Unit.id == ProcessInstance.unit_id)
        .where(ProcessInstance.id.in_(instance_ids))
    )
    by_id = {row[0]: row[1:] for row in facts}
    charges = session.execute(
        select(Charge, Domain.name)
        .join(Domain, Domain.id == Charge.domain_id)
        .where(Charge.instance_id.in_(instance_ids), Charge.status != "cancelled")
        .order_by(Charge.id)
    )
    bills: dict[int, list[tuple[Charge, str]]] = {}
    for charge, domain in charges:
        bills.setdefault(charge.instance_id, []).append((charge, domain))  # type: ignore[arg-type]
    return [_unpaid_row(*by_id[i], bills[i]) for i in instance_ids]


def _unpaid_row(key: str, procedure: str, unit_name: str, region: str, bill: list[tuple[Charge, str]]) -> UnpaidRow:
    charges = [charge for charge, _ in bill]
    return UnpaidRow(
        business_key=key,
        procedure=procedure,
        unit_name=unit_name,
        region_code=region,
        domains="、".join(domain for _, domain in bill),
        years=charges[0].years,
        total=sum(c.amount_yuan for c in charges),
        since=min(c.created_at for c in charges),
    )


def _unpaid_instances(session: Session, user: Any) -> Select[tuple[int]]:
    return (
        select(Charge.instance_id)
        .where(
            Charge.status == "unpaid",
            Charge.instance_id.is_not(None),
            Charge.unit_id.in_(visible_units(session, user)),
        )
        .group_by(Charge.instance_id)
        .order_by(func.min(Charge.id))
    )


# ---- remittances -------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchLine:
    business_key: str
    unit_name: str
    line: BillLine


@dataclass(frozen=True)
class Batch:
    """A remittance with its office's name and every charge in it; `total` = Σ charges."""

    remittance: Remittance
    office_name: str
    lines: list[BatchLine] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(entry.line.amount_yuan for entry in self.lines)

    @property
    def count(self) -> int:
        return len(self.lines)

    @property
    def domains(self) -> str:
        return "、".join(entry.line.domain for entry in self.lines)


def batches(
    session: Session, office_code: str | None = None, confirmed: bool | None = None, limit: int = 200
) -> list[Batch]:
    """Remittance batches, newest first, of one 编办 or all; pending or confirmed or both."""
    query = select(Remittance, Office.name).join(Office, Office.code == Remittance.office_code, isouter=True)
    if office_code:
        query = query.where(Remittance.office_code == office_code)
    if confirmed is not None:
        query = query.where(Remittance.confirmed_at.is_not(None) if confirmed else Remittance.confirmed_at.is_(None))
    found = session.execute(query.order_by(Remittance.id.desc()).limit(limit)).all()
    lines = _batch_lines(session, [remittance.id for remittance, _ in found])
    return [Batch(r, name or r.office_code, lines.get(r.id, [])) for r, name in found]


def _batch_lines(session: Session, remittance_ids: list[int]) -> dict[int, list[BatchLine]]:
    if not remittance_ids:
        return {}
    query = (
        select(Charge, Domain.name, Unit.name, ProcessInstance.business_key)
        .join(Domain, Domain.id == Charge.domain_id)
        .join(Unit, Unit.id == Charge.unit_id)
        .join(ProcessInstance, ProcessInstance.id == Charge.instance_id, isouter=True)
        .where(Charge.remittance_id.in_(remittance_ids))
        .order_by(Charge.id)
    )
    result: dict[int, list[BatchLine]] = {}
    for charge, domain, unit_name, key in session.execute(query):
        result.setdefault(charge.remittance_id, []).append(BatchLine(key or "", unit_name, _line(charge, domain)))
    return result


@dataclass(frozen=True)
class Collected:
    """An application's collected fees, not yet remitted: one choice on the 汇款 page."""

    business_key: str
    unit_name: str
    lines: list[BillLine]

    @property
    def charge_ids(self) -> str:
        return ",".join(str(line.charge_id) for line in self.lines)

    @property
    def total(self) -> int:
        return sum(line.amount_yuan for line in self.lines)


def collected(session: Session, office_code: str) -> list[Collected]:
    """The 编办's collected, unremitted fees grouped by application (they are remitted together)."""
    query = (
        select(Charge, Domain.name, Unit.name, ProcessInstance.business_key)
        .join(Domain, Domain.id == Charge.domain_id)
        .join(Unit, Unit.id == Charge.unit_id)
        .join(ProcessInstance, ProcessInstance.id == Charge.instance_id, isouter=True)
        .where(Charge.status == "collected", Unit.id.in_(office_units(session, office_code)))
        .order_by(Charge.collected_at, Charge.id)
    )
    groups: dict[Any, Collected] = {}
    for charge, domain, unit_name, key in session.execute(query):
        group_key = charge.instance_id or f"charge-{charge.id}"
        group = groups.setdefault(group_key, Collected(key or "", unit_name, []))
        group.lines.append(_line(charge, domain))
    return list(groups.values())
