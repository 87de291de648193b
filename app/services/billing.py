"""Fees: charge on approval, 编办's collection with invoice, remittance to CONAC and 认款."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Charge, Domain, Remittance, Unit
from app.services.errors import ServiceRefusal
from app.services.jurisdiction import fee_office

# The message diagrams wait for after 编办 collected a fee: CONAC confirmed the remittance.
REMITTANCE_CONFIRMED = "认款"


def create_charge(
    session: Session, unit_id: int, domain_id: int, years: int, purpose: str, fees: Mapping[str, int]
) -> int:
    """An unpaid fee of the domain suffix's fee × years; the charge keeps that fee whatever changes later."""
    domain = session.get(Domain, domain_id)
    if domain is None or domain.unit_id != unit_id:
        raise ServiceRefusal("没有找到本单位的这个域名")
    tariff = fees.get(domain.suffix)
    if tariff is None:
        raise ServiceRefusal(f"本流程没有 .{domain.suffix} 域名的现行收费标准（流程属性 tariffs），请联系政策制定人员")
    charge = Charge(
        unit_id=unit_id,
        domain_id=domain_id,
        purpose=purpose,
        years=years,
        tariff_yuan=tariff,
        amount_yuan=tariff * years,
        status="unpaid",
    )
    session.add(charge)
    session.flush()
    return charge.id


def collect(session: Session, charge_id: int, invoice_no: str, years: int, now: datetime) -> int:
    """编办 confirms it received the fee (确认收费); years may change here (消费变更)."""
    charge = session.get(Charge, charge_id)
    if charge is None or charge.status != "unpaid":
        raise ServiceRefusal("该费用已确认收取，不能重复收费")
    charge.years, charge.amount_yuan = years, charge.tariff_yuan * years
    charge.invoice_no, charge.collected_at, charge.status = invoice_no, now, "collected"
    session.flush()
    return charge.amount_yuan


def create_remittance(session: Session, office_code: str, charge_ids: list[int], actor: str) -> Remittance:
    """Group collected charges of one 编办 into a remittance batch for CONAC."""
    if not charge_ids:
        raise ServiceRefusal("请至少选择一笔已收取的费用")
    charges = list(session.scalars(select(Charge).where(Charge.id.in_(charge_ids)).with_for_update()))
    if len(charges) != len(set(charge_ids)):
        raise ServiceRefusal("所选费用中有不存在的记录")
    for charge in charges:
        _check_remittable(session, charge, office_code)
    remittance = Remittance(office_code=office_code, created_by=actor)
    session.add(remittance)
    session.flush()
    for charge in charges:
        charge.remittance_id, charge.status = remittance.id, "remitted"
    session.flush()
    return remittance


def _check_remittable(session: Session, charge: Charge, office_code: str) -> None:
    if charge.status != "collected":
        raise ServiceRefusal(f"费用 {charge.id} 尚未确认收取或已汇款")
    unit = session.get(Unit, charge.unit_id)
    if unit is None or fee_office(session, unit) != office_code:
        raise ServiceRefusal(f"费用 {charge.id} 不属于本编办")


def confirm_remittance(session: Session, remittance_id: int, actor: str, now: datetime) -> list[int]:
    """CONAC's 认款: confirm a batch once; returns the ids of its charges."""
    remittance = session.scalar(select(Remittance).where(Remittance.id == remittance_id).with_for_update())
    if remittance is None:
        raise ServiceRefusal("没有这笔汇款")
    if remittance.confirmed_at is not None:
        raise ServiceRefusal(f"汇款 {remittance_id} 已于 {remittance.confirmed_at:%Y-%m-%d} 认款，不能重复认款")
    remittance.confirmed_at, remittance.confirmed_by = now, actor
    charges = list(session.scalars(select(Charge).where(Charge.remittance_id == remittance_id)))
    for charge in charges:
        charge.status = "confirmed"
    session.flush()
    return [c.id for c in charges]


def collected_charges(session: Session, office_code: str) -> list[tuple[Charge, Domain, Unit]]:
    """Fees this 编办 collected and has not remitted yet, oldest first."""
    region = office_code.split(":", 1)[-1]
    query = (
        select(Charge, Domain, Unit)
        .join(Domain, Domain.id == Charge.domain_id)
        .join(Unit, Unit.id == Charge.unit_id)
        .where(Charge.status == "collected", Unit.region_code == region)
        .order_by(Charge.collected_at, Charge.id)
    )
    return [tuple(row) for row in session.execute(query)]  # type: ignore[misc]


def remittances(
    session: Session, office_code: str | None = None, confirmed: bool | None = None
) -> list[tuple[Remittance, int, int]]:
    """Remittance batches with their number of charges and total amount, newest first."""
    query = (
        select(Remittance, func.count(Charge.id), func.coalesce(func.sum(Charge.amount_yuan), 0))
        .join(Charge, Charge.remittance_id == Remittance.id, isouter=True)
        .group_by(Remittance.id)
        .order_by(Remittance.id.desc())
    )
    if office_code:
        query = query.where(Remittance.office_code == office_code)
    if confirmed is not None:
        query = query.where(Remittance.confirmed_at.is_not(None) if confirmed else Remittance.confirmed_at.is_(None))
    return [tuple(row) for row in session.execute(query)]  # type: ignore[misc]
