"""Renewing several domains in one application from 到期域名查询, by the 编办 for its unit or by the unit.

1. 鄂尔多斯市委编办 finds two expiring domains of a unit, ticks both, chooses two years and submits ONE
   renewal; it lands on the one 确认收费 task, which shows the amount due per domain with the years
   applied for filled in; the clerk changes the years to three there (消费变更) and confirms once.
2. The charges of the application are remitted in one batch (Σ charges = the batch amount), CONAC's
   认款 moves the application on, and one working day later both domains run three years longer.
3. A unit renews its own domain and sees the amount, the payee and what to do next at 待缴费.
4. Refused with a Chinese message next to the field, nothing created: years outside 1–10, no domain
   ticked, domains of two units, a second renewal of a domain whose renewal is open.
5. 撤回 while unpaid (before the 编办 claims 确认收费) ends the application and voids its charges.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, Charge, Domain, ProcessInstance, Remittance, WorkItem
from app.services import billing, payments, tariffs
from app.services.errors import ServiceRefusal
from tests.conftest import add_domain

FIRST, SECOND = "鄂尔多斯市人民政府办公室.政务", "鄂尔多斯市政务服务中心.政务"
OTHER = "鄂尔多斯市第一人民医院.公益"  # unit2's


def text(response: Any) -> str:
    return response.get_data(as_text=True)


def count(model: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def only_instance() -> ProcessInstance:
    db.session.expire_all()
    (instance,) = db.session.scalars(select(ProcessInstance))
    return instance


def charges_of(instance: ProcessInstance) -> list[Charge]:
    db.session.expire_all()
    return list(db.session.scalars(select(Charge).where(Charge.instance_id == instance.id).order_by(Charge.id)))


def expiry(name: str) -> date | None:
    db.session.expire_all()
    return db.session.scalar(select(Domain.expires_on).where(Domain.name == name))


@pytest.fixture
def tariff(engine: Any) -> int:
    """The .政务 fee per year, from the renewal diagram's `tariffs` property."""
    compiled = engine.definitions.compiled(engine.definitions.latest(db.session, "domain_renewal"))
    return tariffs.fees_on(compiled.process_properties, date(2026, 10, 8))["政务"]


@pytest.fixture
def domains(demo: dict[str, Any]) -> dict[str, Domain]:
    unit1, unit2 = demo["unit1"].unit, demo["unit2"].unit
    return {
        FIRST: add_domain(unit1, FIRST, expires_on=date(2026, 11, 30)),
        SECOND: add_domain(unit1, SECOND, expires_on=date(2027, 1, 15)),
        OTHER: add_domain(unit2, OTHER, expires_on=date(2026, 12, 20)),
    }


def test_the_bianban_renews_two_domains_in_one_application_and_confirms_the_fee_once(
    login: Any, domains: dict[str, Domain], clock: Any, engine: Any, tariff: int
) -> None:
    clock.set("2026-10-08 10:00")
    bianban = login("bianban")
    found = text(bianban.get("/domains/?expires_to=2026-12-31"))
    assert FIRST in found and OTHER in found and SECOND not in found  # 2027-01-15 is later than the range
    assert "共 2 个域名" in found

    response = bianban.post("/domains/renew", data={"domains": [FIRST, SECOND], "years": "2"})

    instance = only_instance()
    (item,) = db.session.scalars(select(WorkItem).where(WorkItem.instance_id == instance.id))
    assert response.headers["Location"].endswith(f"/review/tasks/{item.id}")
    assert (instance.stage, instance.created_by, instance.unit.name) == (
        "待缴费",
        "bianban",
        "鄂尔多斯市人民政府办公室",
    )
    assert [(c.years, c.amount_yuan, c.status) for c in charges_of(instance)] == [(2, 2 * tariff, "unpaid")] * 2
    task = text(bianban.get(f"/review/tasks/{item.id}"))
    assert "应收金额" in task and FIRST in task and SECOND in task and f">{4 * tariff}</output>" in task
    assert 'name="years"' in task and 'value="2"' in task  # the years applied for, filled in
    assert f'data-tariffs="{tariff},{tariff}"' in task and 'data-years-field="field-years"' in task
    assert "续费域名 1" not in task

    bianban.post(f"/review/tasks/{item.id}", data={"invoice_no": "FP20261008", "years": "3"})  # 消费变更 to 3 years

    assert only_instance().stage == "待认款"
    collected = charges_of(instance)
    assert [(c.years, c.amount_yuan, c.status, c.invoice_no) for c in collected] == [
        (3, 3 * tariff, "collected", "FP20261008")
    ] * 2
    bianban.post("/billing/remittances", data={"charge_id": ",".join(str(c.id) for c in collected)})
    (batch,) = payments.batches(db.session)
    assert batch.total == sum(c.amount_yuan for c in charges_of(instance)) == 6 * tariff  # Σ charges = batch

    conac = login("conac")
    page = text(conac.get("/billing/"))
    assert "鄂尔多斯市委编办" in page and "编办:150600" not in page and FIRST in page and SECOND in page
    clock.set("2026-10-09 16:00")
    conac.post(f"/billing/remittances/{batch.remittance.id}/confirm")
    assert only_instance().stage == "续费处理中"
    engine.runner.fire_due_timers(clock.set("2026-10-10 00:00"))

    assert (only_instance().stage, only_instance().status) == ("续费成功", "completed")
    assert (expiry(FIRST), expiry(SECOND)) == (date(2029, 11, 30), date(2030, 1, 15))
    assert expiry(OTHER) == date(2026, 12, 20)


def test_a_unit_renews_its_own_domain_and_sees_how_to_pay(
    login: Any, domains: dict[str, Domain], clock: Any, tariff: int
) -> None:
    unit = login("unit1")
    listed = text(unit.get("/domains/"))
    assert FIRST in listed and SECOND in listed and OTHER not in listed

    response = unit.post("/domains/renew", data={"domains": [FIRST], "years": "1"})

    instance = only_instance()
    assert response.headers["Location"].endswith(f"/unit/applications/{instance.business_key}")
    page = text(unit.get(response.headers["Location"]))
    assert "缴费信息" in page and f'id="payment-total">{tariff}</strong>' in page
    assert "收款单位" in page and "鄂尔多斯市委编办" in page and instance.business_key in page
    assert "开户银行和账号请向鄂尔多斯市委编办咨询" in page
    assert FIRST in page and "续费域名 1" not in page


def test_payee_and_bank_details_come_from_the_settings(
    app: Any, login: Any, domains: dict[str, Domain], monkeypatch: Any
) -> None:
    monkeypatch.setitem(app.config, "PAYEE_NAME", "鄂尔多斯市委编办（代收）")
    monkeypatch.setitem(app.config, "PAYEE_BANK", "中国工商银行鄂尔多斯分行")
    monkeypatch.setitem(app.config, "PAYEE_ACCOUNT", "0605 0000 0000 1234")
    unit = login("unit1")

    page = text(unit.get(unit.post("/domains/renew", data={"domains": [FIRST], "years": "1"}).headers["Location"]))

    assert "鄂尔多斯市委编办（代收）" in page and "中国工商银行鄂尔多斯分行" in page and "0605 0000 0000 1234" in page
    assert "咨询" not in page


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"domains": [FIRST], "years": "11"}, "years", "续费年限不能大于 10"),
        ({"domains": [FIRST], "years": "0"}, "years", "续费年限不能小于 1"),
        ({"years": "1"}, "domains", "请至少勾选一个需续费的域名"),
        ({"domains": [FIRST, OTHER], "years": "1"}, "domains", "所选域名属于多个单位"),
        ({"domains": ["东胜区人民政府.政务"], "years": "1"}, "domains", "不是本编办所辖单位的域名"),
    ],
    ids=["years-11", "years-0", "nothing-ticked", "two-units", "not-ours"],
)
def test_bad_renewals_are_refused_next_to_the_field_and_nothing_is_created(
    login: Any, domains: dict[str, Domain], form: dict[str, Any], field: str, message: str
) -> None:
    response = login("bianban").post("/domains/renew", data=form)

    assert response.status_code == 400
    page = text(response)
    assert message in page
    if field == "years":
        start = page.index('id="renew-years-error"')
        assert message in page[start : page.index("</div>", start)]
    assert (count(ProcessInstance), count(Charge)) == (0, 0)


def test_a_second_renewal_of_a_domain_is_refused_while_the_first_is_open(
    login: Any, domains: dict[str, Domain]
) -> None:
    bianban = login("bianban")
    bianban.post("/domains/renew", data={"domains": [FIRST], "years": "1"})
    first = only_instance()
    assert f"续费中：{first.business_key}" in text(bianban.get("/domains/"))

    again = bianban.post("/domains/renew", data={"domains": [FIRST, SECOND], "years": "1"})
    by_unit = login("unit1").post("/domains/renew", data={"domains": [FIRST], "years": "2"})

    for refused in (again, by_unit):
        assert refused.status_code == 400
        assert f"域名 {FIRST} 已有未办结的续费申请 {first.business_key}，不能重复申请" in text(refused)
    assert (count(ProcessInstance), count(Charge)) == (1, 1)


def test_the_unit_withdraws_an_unpaid_renewal_and_may_renew_again(login: Any, domains: dict[str, Domain]) -> None:
    unit = login("unit1")
    unit.post("/domains/renew", data={"domains": [FIRST, SECOND], "years": "1"})
    instance = only_instance()
    page_url = f"/unit/applications/{instance.business_key}"
    assert "撤回申请" in text(unit.get(page_url))

    unit.post(f"{page_url}/withdraw")

    withdrawn = only_instance()
    assert (withdrawn.stage, withdrawn.status) == ("已撤回", "completed")
    assert [c.status for c in charges_of(withdrawn)] == ["cancelled", "cancelled"]
    assert payments.bill_of(db.session, withdrawn.id) is None  # nothing is due any more
    assert count(WorkItem) == 0
    assert unit.post("/domains/renew", data={"domains": [FIRST], "years": "1"}).status_code == 302


def test_withdrawal_is_refused_once_the_bianban_claimed_the_fee_collection(
    login: Any, domains: dict[str, Domain]
) -> None:
    login("unit1").post("/domains/renew", data={"domains": [FIRST], "years": "1"})
    instance = only_instance()
    (item,) = db.session.scalars(select(WorkItem))
    login("bianban").post(f"/review/tasks/{item.id}/claim")

    response = login("unit1").post(f"/unit/applications/{instance.business_key}/withdraw", follow_redirects=True)

    assert "已签收，不能撤回" in text(response)
    assert only_instance().stage == "待缴费"
    assert [c.status for c in charges_of(instance)] == ["unpaid"]


def test_fee_change_outside_collection_changes_the_years_and_what_collection_starts_with(
    login: Any, domains: dict[str, Domain], tariff: int
) -> None:
    bianban = login("bianban")
    bianban.post("/domains/renew", data={"domains": [FIRST, SECOND], "years": "1"})
    instance = only_instance()
    assert instance.business_key in text(bianban.get("/domains/unpaid"))

    refused = bianban.post(f"/domains/unpaid/{instance.business_key}/years", data={"years": "12"})
    assert refused.status_code == 400 and "缴费年限须为1至10年" in text(refused)
    assert [c.years for c in charges_of(instance)] == [1, 1]
    bianban.post(f"/domains/unpaid/{instance.business_key}/years", data={"years": "4"})

    assert [(c.years, c.amount_yuan) for c in charges_of(instance)] == [(4, 4 * tariff)] * 2
    change = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "fee_change"))
    assert (change.actor, change.instance_id, change.detail["years"]) == ("bianban", instance.id, 4)
    (item,) = db.session.scalars(select(WorkItem))
    task = text(bianban.get(f"/review/tasks/{item.id}"))
    assert 'value="4"' in task and f">{8 * tariff}</output>" in task
    assert login("unit1").post(f"/domains/unpaid/{instance.business_key}/years", data={"years": "2"}).status_code == 403
    assert (
        login("dongsheng").post(f"/domains/unpaid/{instance.business_key}/years", data={"years": "2"}).status_code
        == 404
    )


def test_an_applications_charges_are_remitted_together(login: Any, domains: dict[str, Domain], engine: Any) -> None:
    bianban = login("bianban")
    bianban.post("/domains/renew", data={"domains": [FIRST, SECOND], "years": "1"})
    (item,) = db.session.scalars(select(WorkItem))
    bianban.post(f"/review/tasks/{item.id}", data={"invoice_no": "FP-1", "years": "1"})
    first, second = charges_of(only_instance())

    with pytest.raises(ServiceRefusal, match="的费用须全部收齐后一并汇款"):
        billing.create_remittance(db.session, "编办:150600", [first.id], "bianban")
    db.session.rollback()
    page = text(bianban.get("/billing/"))
    assert f'value="{first.id},{second.id}"' in page

    assert count(Remittance) == 0
