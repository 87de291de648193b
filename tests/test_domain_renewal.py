"""域名续费 (domain_renewal): how a registered “.政务” / “.公益” name is kept.

1. The unit, or the 编办 of its region on its behalf, names one or more of the unit's registered
   domains and the years (1–10) and submits the renewal; a reserved or another unit's domain is
   refused and nothing is created.
2. A fee of the tariff × years is charged per domain at once and the domain's contact is told to
   pay the 编办 (待缴费). The 编办 collects them against one invoice and may change the years
   there (消费变更).
3. The 编办 remits collected fees to CONAC in batches; CONAC's 认款 moves every renewal in
   the batch on (待认款 → 续费处理中).
4. One working day after 认款, at 00:00 Beijing time, the expiry date is extended by the paid
   years from the old expiry date (not from today) and the contact is told (续费成功).
5. 到期提醒: the worker tells the contact of an active domain to renew once, the diagram's
   expiryWarningDays before its expiry date; a renewed expiry date is warned about in its turn.

The fee per year is read from the diagram's `tariffs` property (fixture `tariff`).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, NamedTuple

import pytest
from sqlalchemy import func, select

from app.engine.errors import FormValidationError
from app.extensions import db
from app.models import AuditEvent, Charge, Contact, Domain, InAppMessage, OutboxMessage, ProcessInstance
from app.services import domain_lifecycle, tariffs
from app.services.audit import Actor
from app.taskforms.formats import to_ascii_domain
from tests.conftest import APPROVE, BIANBAN, CONAC, DOMAIN_APPLICATION, UNIT, Application, add_domain, at

NAME = "鄂尔多斯市人民政府.政务"


def charges(renewal: Application) -> list[Charge]:
    """The renewal's charges, one per domain, in the order of its domains."""
    ids = renewal.data()["bill"]["charge_ids"]
    return [db.session.get(Charge, charge_id) for charge_id in ids]  # type: ignore[misc]


def renew(names: list[str] | str, years: int) -> dict[str, Any]:
    return {"domains": [names] if isinstance(names, str) else names, "years": years}


def registered(unit: Any, name: str = NAME, expires_on: date = date(2026, 11, 30), status: str = "active") -> Domain:
    """A domain row as 域名注册 leaves it (or, with status="reserved", while it is still being applied for)."""
    active = status == "active"
    domain = Domain(unit_id=unit.id, name=name, ascii_name=to_ascii_domain(name), suffix="政务", status=status)
    domain.years, domain.host_mode = 1, "none"
    domain.contact_name, domain.contact_mobile, domain.contact_email = "张经办", "13800138000", "zhang@example.cn"
    domain.registered_on, domain.expires_on = (date(2025, 11, 30), expires_on) if active else (None, None)
    db.session.add(domain)
    db.session.commit()
    return domain


def collect_fee(years: int) -> dict[str, Any]:
    return {"invoice_no": "FP20261009", "years": years}


def expiry(domain_id: int) -> date | None:
    db.session.expire_all()
    return db.session.get(Domain, domain_id).expires_on  # type: ignore[union-attr]


def count(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model))  # type: ignore[return-value]


def form_errors(action: Any) -> dict[str, str]:
    """The field → message map of the FormValidationError the action raises ({} if it raises none)."""
    try:
        action()
    except FormValidationError as refused:
        return refused.errors
    return {}


@pytest.fixture
def unit(make_unit: Any) -> Any:
    return make_unit()


@pytest.fixture
def tariff(engine: Any) -> int:
    """The .政务 fee per year in force, from the renewal diagram's `tariffs` property."""
    compiled = engine.definitions.compiled(engine.definitions.latest(db.session, "domain_renewal"))
    return tariffs.fees_on(compiled.process_properties, date(2026, 10, 8))["政务"]


# ---- the whole procedure, as data ----


class Case(NamedTuple):
    starter: Actor  # who submits the renewal
    years: int  # years applied for
    paid_years: int  # years 编办 collects for (消费变更 when different)
    old_expiry: date
    new_expiry: date


RENEWALS = [
    pytest.param(Case(UNIT, 1, 1, date(2026, 11, 30), date(2027, 11, 30)), id="unit-renews-one-year"),
    pytest.param(Case(BIANBAN, 2, 2, date(2026, 11, 30), date(2028, 11, 30)), id="bianban-renews-for-the-unit"),
    pytest.param(Case(UNIT, 1, 3, date(2026, 11, 30), date(2029, 11, 30)), id="fee-change-to-three-years"),
    pytest.param(Case(UNIT, 1, 1, date(2026, 9, 30), date(2027, 9, 30)), id="expired-counts-from-old-expiry"),
    pytest.param(Case(UNIT, 1, 1, date(2028, 2, 29), date(2029, 2, 28)), id="leap-day-expiry"),
]


@pytest.mark.parametrize("case", RENEWALS)
def test_every_renewal_extends_the_old_expiry_by_the_paid_years_one_working_day_after_renkuan(
    case: Case, unit: Any, start: Any, clock: Any, engine: Any, remit_and_confirm: Any, tariff: int
) -> None:
    domain_id = registered(unit, expires_on=case.old_expiry).id
    clock.set("2026-10-08 10:00")
    renewal = start("domain_renewal", unit, renew(NAME, case.years), actor=case.starter)
    assert renewal.stage == "待缴费"

    renewal.complete(BIANBAN, collect_fee(case.paid_years))
    assert renewal.stage == "待认款"
    (charge,) = charges(renewal)
    assert (charge.purpose, charge.amount_yuan) == ("renew", tariff * case.paid_years)

    clock.set("2026-10-09 16:00")  # Friday
    remit_and_confirm(charges(renewal))
    assert renewal.stage == "续费处理中"
    assert engine.runner.fire_due_timers(clock.set("2026-10-09 23:59")) == []
    assert expiry(domain_id) == case.old_expiry
    engine.runner.fire_due_timers(clock.set("2026-10-10 00:00"))  # 调休 Saturday, a working day

    assert (renewal.stage, renewal.instance.status) == ("续费成功", "completed")
    assert expiry(domain_id) == case.new_expiry


# ---- step by step ----


def test_the_unit_submits_the_renewal_and_the_regional_bianban_collects_the_fee(
    unit: Any, start: Any, tariff: int
) -> None:
    domain = registered(unit)

    renewal = start("domain_renewal", unit, renew(NAME, 2))

    item = renewal.task()
    assert (item.task_name, item.role, item.office_code) == ("collect_fee", "编办", "编办:150600")
    (charge,) = charges(renewal)
    assert (charge.domain_id, charge.instance_id, charge.purpose, charge.status) == (
        domain.id,
        renewal.instance_id,
        "renew",
        "unpaid",
    )
    assert (charge.years, charge.tariff_yuan, charge.amount_yuan) == (2, tariff, 2 * tariff)
    assert renewal.instance.business_key.startswith("XF2026")


def test_the_contact_of_the_domain_is_told_to_pay_with_the_current_expiry(unit: Any, start: Any, tariff: int) -> None:
    registered(unit)

    renewal = start("domain_renewal", unit, renew(NAME, 2))

    messages = renewal.outbox()
    assert [(m.channel, m.recipient) for m in messages] == [("sms", "13800138000"), ("email", "zhang@example.cn")]
    assert messages[0].subject == "域名续费申请已提交，请缴纳续费"
    assert f"“{NAME}”（当前到期日 2026-11-30）" in messages[0].body
    assert f"续费年限 2 年，应缴金额合计 {2 * tariff} 元" in messages[0].body


def test_bianban_may_start_the_renewal_on_behalf_of_the_unit(unit: Any, start: Any) -> None:
    registered(unit)

    renewal = start("domain_renewal", unit, renew(NAME, 1), actor=BIANBAN)

    assert (renewal.instance.unit_id, renewal.instance.created_by) == (unit.id, "bianban-user")
    (started,) = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "start"))
    assert (started.instance_id, started.role) == (renewal.instance_id, "编办")


def test_success_tells_the_contact_the_new_expiry(
    unit: Any, start: Any, clock: Any, engine: Any, remit_and_confirm: Any, tariff: int
) -> None:
    registered(unit)
    renewal = start("domain_renewal", unit, renew(NAME, 2))
    renewal.complete(BIANBAN, collect_fee(2))
    clock.set("2026-10-09 16:00")
    remit_and_confirm(charges(renewal))
    engine.runner.fire_due_timers(clock.set("2026-10-10 00:00"))

    notice = renewal.outbox()[-1]
    assert (notice.recipient, notice.subject) == ("zhang@example.cn", "域名续费成功")
    assert f"已缴费 {2 * tariff} 元：“{NAME}”有效期延至 2028-11-30" in notice.body


def test_two_renewals_in_one_remittance_batch_both_succeed(
    unit: Any, start: Any, clock: Any, engine: Any, remit_and_confirm: Any
) -> None:
    first = registered(unit, "鄂尔多斯市人民政府.政务", date(2026, 11, 30)).id
    second = registered(unit, "鄂尔多斯市政府.政务", date(2027, 3, 15)).id
    renewals = [
        start("domain_renewal", unit, renew(name, 1)) for name in ("鄂尔多斯市人民政府.政务", "鄂尔多斯市政府.政务")
    ]
    for renewal in renewals:
        renewal.complete(BIANBAN, collect_fee(1))

    clock.set("2026-10-09 16:00")
    moved = remit_and_confirm([c for r in renewals for c in charges(r)])
    engine.runner.fire_due_timers(clock.set("2026-10-10 00:00"))

    assert sorted(moved) == sorted(r.instance.business_key for r in renewals)
    assert [r.stage for r in renewals] == ["续费成功", "续费成功"]
    assert (expiry(first), expiry(second)) == (date(2027, 11, 30), date(2028, 3, 15))


# ---- refusals: nothing is created ----

INVALID_STARTS = [
    pytest.param(renew(NAME, 0), {"years": "续费年限不能小于 1"}, id="years-0"),
    pytest.param(renew(NAME, 11), {"years": "续费年限不能大于 10"}, id="years-11"),
    pytest.param({"years": 1}, {"domains": "请填写续费域名"}, id="no-domain"),
    pytest.param({"domains": NAME, "years": 1}, {"domains": "续费域名填写的类型不正确"}, id="domains-as-text"),
]


@pytest.mark.parametrize(("data", "errors"), INVALID_STARTS)
def test_start_data_is_validated_in_chinese_and_nothing_is_created(
    data: dict[str, Any], errors: dict[str, str], unit: Any, start: Any
) -> None:
    registered(unit)

    assert form_errors(lambda: start("domain_renewal", unit, data)) == errors
    assert (count(ProcessInstance), count(Charge)) == (0, 0)


def test_a_domain_of_another_unit_cannot_be_renewed(make_unit: Any, unit: Any, start: Any) -> None:
    others = registered(make_unit()).id

    errors = form_errors(lambda: start("domain_renewal", unit, renew(NAME, 1)))

    assert errors == {"domains": f"域名 {NAME} 不是本单位的域名"}
    assert (count(ProcessInstance), count(Charge)) == (0, 0)
    assert expiry(others) == date(2026, 11, 30)


def test_a_domain_still_under_registration_cannot_be_renewed(unit: Any, start: Any) -> None:
    registered(unit, status="reserved")

    errors = form_errors(lambda: start("domain_renewal", unit, renew(NAME, 1), actor=BIANBAN))

    assert errors == {"domains": f"域名 {NAME} 尚未注册成功，不能续费"}
    assert (count(ProcessInstance), count(Charge)) == (0, 0)


# ---- a domain registered through 域名注册, then renewed ----


def test_renewing_a_domain_registered_on_the_platform_notifies_the_contact_of_its_application(
    unit: Any, start: Any, clock: Any, engine: Any, remit_and_confirm: Any
) -> None:
    registration = start("domain_registration", unit)
    for actor, data in [(UNIT, DOMAIN_APPLICATION), (BIANBAN, APPROVE), (CONAC, APPROVE), (BIANBAN, collect_fee(1))]:
        registration.complete(actor, data)
    clock.set("2026-10-09 16:00")
    remit_and_confirm([registration.charge()])
    engine.runner.fire_due_timers(clock.set("2026-10-10 00:00"))
    domain_id = registration.data()["domain_id"]
    assert (registration.stage, expiry(domain_id)) == ("注册成功", date(2027, 10, 10))

    renewal = start("domain_renewal", unit, renew(DOMAIN_APPLICATION["domain_name"], 1))

    assert renewal.stage == "待缴费"
    assert [(m.channel, m.recipient) for m in renewal.outbox()] == [
        ("sms", "13800138000"),
        ("email", "zhang@example.cn"),
    ], "DIAGRAM BUG: 域名注册.bpmn reserve_domain does not pass the contact, so the domain has none to notify"


# ---- 到期提醒: before the expiry date the contact is told to renew ----


@pytest.fixture
def warning(engine: Any) -> dict[str, str]:
    """The renewal diagram's 到期提醒 properties: days ahead, subject and text."""
    compiled = engine.definitions.compiled(engine.definitions.latest(db.session, "domain_renewal"))
    return {k: v for k, v in compiled.process_properties.items() if k.startswith("expiryWarning")}


def warned(now: str, grace_days: int = 30) -> list[str]:
    names = domain_lifecycle.warn_expiring(db.session, at(now), grace_days)
    db.session.commit()
    return names


def test_the_contact_is_warned_once_the_procedures_days_before_the_expiry_date(
    unit: Any, warning: dict[str, str]
) -> None:
    domain = registered(unit, expires_on=date(2027, 1, 5))
    days = int(warning["expiryWarningDays"])
    first_day = date(2027, 1, 5) - timedelta(days=days)

    assert warned(f"{first_day - timedelta(days=1)} 23:59") == []
    assert warned(f"{first_day} 00:00") == [NAME]
    assert warned(f"{first_day} 00:05") == []  # once per expiry date, however often the worker runs
    assert warned("2027-01-05 09:00") == []

    messages = list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
    assert [(m.channel, m.recipient) for m in messages] == [("sms", "13800138000"), ("email", "zhang@example.cn")]
    assert messages[0].subject == warning["expiryWarningSubject"]
    assert messages[0].body == (
        f"您单位的域名“{NAME}”将于 2027-01-05 到期（还有{days}天）。"
        "请登录平台，在“到期域名”中勾选该域名并提交续费申请，向同级编办缴纳续费；已提交续费申请的，请尽快缴费。"
        "到期30天后仍未续费的，域名将被标记为已过期，停止解析。"
    )
    in_app = db.session.scalars(select(InAppMessage)).one()  # also in the unit's 消息中心
    assert (in_app.unit_id, in_app.subject) == (domain.unit_id, warning["expiryWarningSubject"])
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "domain_expiry_warning")).one()
    assert (event.actor, event.detail["domain"], event.detail["expires_on"]) == ("system", NAME, "2027-01-05")

    domain.expires_on = date(2028, 1, 5)  # renewed: the new expiry date is warned about in its turn
    db.session.commit()
    assert warned("2027-06-01 10:00") == []
    assert warned(f"{date(2028, 1, 5) - timedelta(days=days)} 08:00") == [NAME]


@pytest.mark.parametrize("status", ["reserved", "frozen", "expired", "deleted"])
def test_only_active_domains_are_warned(unit: Any, status: str) -> None:
    domain = registered(unit, expires_on=date(2027, 1, 5))
    domain.status = status
    db.session.commit()

    assert warned("2027-01-01 10:00") == []
    assert count(OutboxMessage) == 0


def test_a_domain_past_its_expiry_date_is_not_warned_any_more(unit: Any) -> None:
    registered(unit, expires_on=date(2026, 12, 31))

    assert warned("2027-01-01 10:00") == []


def test_without_a_contact_on_the_domain_the_units_contact_is_warned(make_unit: Any) -> None:
    organ = make_unit()
    contact = Contact(unit_id=organ.id, name="李联系", mobile="13900139000", email="li@example.cn")
    db.session.add(contact)
    add_domain(organ, NAME)  # a domain recorded without a contact of its own

    assert warned("2027-01-01 10:00") == [NAME]

    assert {m.recipient for m in db.session.scalars(select(OutboxMessage))} == {contact.mobile, contact.email}
