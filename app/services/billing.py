"""Fees: charge on approval, 编办's collection with invoice, remittance to CONAC and 认款."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Charge, Domain, ProcessInstance, Remittance, Unit
from app.services import audit
from app.services.audit import Actor
from app.services.errors import ServiceRefusal
from app.services.jurisdiction import fee_office

# The message diagrams wait for after 编办 collected a fee: CONAC confirmed the remittance.
REMITTANCE_CONFIRMED = "认款"
# Years a fee may be collected for (the registration and renewal forms say the same).
MIN_YEARS, MAX_YEARS = 1, 10


def create_charge(
    session: Session,
    unit_id: int,
    instance_id: int | None,
    domain_id: int,
    years: int,
    purpose: str,
    fees: Mapping[str, int],
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
        instance_id=instance_id,
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


def create_each(
    session: Session,
    unit_id: int,
    instance_id: int | None,
    domain_ids: list[int],
    years: int,
    purpose: str,
    fees: Mapping[str, int],
) -> dict[str, Any]:
    """One unpaid charge per domain of an application; returns their ids and the total due."""
    ids = [create_charge(session, unit_id, instance_id, int(d), years, purpose, fees) for d in domain_ids]
    total = session.scalar(select(func.sum(Charge.amount_yuan)).where(Charge.id.in_(ids))) or 0
    return {"charge_ids": ids, "amount_yuan": int(total)}


def collect(session: Session, charge_id: int, invoice_no: str, years: int, now: datetime) -> int:
    """编办 confirms it received the fee (确认收费); years may change here (消费变更)."""
    return collect_all(session, [charge_id], invoice_no, years, now)


def collect_all(session: Session, charge_ids: list[int], invoice_no: str, years: int, now: datetime) -> int:
    """确认收费 of an application's charges at once, against one invoice; the amounts are recomputed from each
    charge's own fee × the years confirmed. Returns the total in 元."""
    charges = _locked(session, charge_ids)
    if not charges or any(c.status != "unpaid" for c in charges):
        raise ServiceRefusal("该费用已确认收取，不能重复收费")
    for charge in charges:
        charge.years, charge.amount_yuan = years, charge.tariff_yuan * years
        charge.invoice_no, charge.collected_at, charge.status = invoice_no, now, "collected"
    session.flush()
    return sum(c.amount_yuan for c in charges)


def cancel(session: Session, charge_ids: list[int]) -> int:
    """The application was withdrawn before payment: its unpaid charges are void. Returns how many."""
    charges = _locked(session, charge_ids)
    if any(c.status != "unpaid" for c in charges):
        raise ServiceRefusal("费用已由编办确认收取，不能撤回")
    for charge in charges:
        charge.status = "cancelled"
    session.flush()
    return len(charges)


def change_years(session: Session, instance_id: int, years: int, actor: Actor) -> int:
    """消费变更 outside 确认收费: the unpaid charges of an application run `years` now; returns the new total."""
    if not MIN_YEARS <= years <= MAX_YEARS:
        raise ServiceRefusal(f"缴费年限须为{MIN_YEARS}至{MAX_YEARS}年", field="years")
    charges = list(
        session.scalars(select(Charge).where(Charge.instance_id == instance_id).order_by(Charge.id).with_for_update())
    )
    unpaid = [c for c in charges if c.status == "unpaid"]
    if not unpaid:
        raise ServiceRefusal("该申请没有待缴费的费用，不能变更年限（已确认收费的请联系CONAC）", field="years")
    before = {c.id: c.years for c in unpaid}
    for charge in unpaid:
        charge.years, charge.amount_yuan = years, charge.tariff_yuan * years
    session.flush()
    total = sum(c.amount_yuan for c in unpaid)
    audit.record(
        session, actor, "fee_change", instance_id, detail={"years_before": before, "years": years, "amount_yuan": total}
    )
    return total


def _locked(session: Session, charge_ids: list[int]) -> list[Charge]:
    query = select(Charge).where(Charge.id.in_([int(c) for c in charge_ids])).order_by(Charge.id)
    return list(session.scalars(query.with_for_update()))


def create_remittance(session: Session, office_code: str, charge_ids: list[int], actor: str) -> Remittance:
    """Group collected charges of one 编办 into a remittance batch for CONAC; an application's charges go together."""
    if not charge_ids:
        raise ServiceRefusal("请至少选择一笔已收取的费用")
    charges = _locked(session, charge_ids)
    if len(charges) != len(set(charge_ids)):
        raise ServiceRefusal("所选费用中有不存在的记录")
    for charge in charges:
        _check_remittable(session, charge, office_code)
    _check_whole_applications(session, charges)
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


def _check_whole_applications(session: Session, charges: list[Charge]) -> None:
    """CONAC's 认款 moves an application on once: every charge of it travels in the same batch."""
    chosen = {c.id for c in charges}
    instance_ids = {c.instance_id for c in charges if c.instance_id is not None}
    if not instance_ids:
        return
    query = (
        select(ProcessInstance.business_key, func.count(Charge.id))
        .join(ProcessInstance, ProcessInstance.id == Charge.instance_id)
        .where(Charge.instance_id.in_(instance_ids), Charge.status != "cancelled", Charge.id.not_in(chosen))
        .group_by(ProcessInstance.business_key)
    )
    left_out = session.execute(query).first()
    if left_out is not None:
        raise ServiceRefusal(f"申请 {left_out[0]} 的费用须全部收齐后一并汇款（还有 {left_out[1]} 笔未选）")


def confirm_remittance(session: Session, remittance_id: int, actor: str, now: datetime) -> list[int]:
    """CONAC's 认款: confirm a batch once; returns the ids of its charges."""
    remittance = session.scalar(select(Remittance).where(Remittance.id == remittance_id).with_for_update())
    if remittance is None:
        raise ServiceRefusal("没有这笔汇款")
    if remittance.confirmed_at is not None:
        raise ServiceRefusal(f"汇款 {remittance_id} 已于 {remittance.confirmed_at:%Y-%m-%d} 认款，不能重复认款")
    remittance.confirmed_at, remittance.confirmed_by = now, actor
    charges = list(session.scalars(select(Charge).where(Charge.remittance_id == remittance_id)))
    _check_whole_applications(session, charges)  # batches are made whole; this keeps 认款 from splitting one
    for charge in charges:
        charge.status = "confirmed"
    session.flush()
    return [c.id for c in charges]
