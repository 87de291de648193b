"""The 编办's 到期域名查询 → one renewal of two domains → 确认收费, walked in a real browser.

1. 鄂尔多斯市委编办 opens 域名查询 and narrows it to the domains expiring within 60 days: the two of
   鄂尔多斯市人民政府办公室 show, the hospital's domain expiring later does not.
2. It ticks both and asks for 11 years: refused next to the years field, nothing submitted.
3. With two years it submits one renewal and lands on its 确认收费 task: 应收金额 per domain and in
   total, the years applied for filled in.
4. It changes the years to three (消费变更): the amount is recomputed on the page as it types; it
   enters the invoice number and confirms, and both charges are collected for three years.
   Before step 4, on the 确认收费 page: 大字版 (适老化) in the header enlarges the text without breaking the
   layout; the choice holds after a reload and the same button undoes it.

Screenshots go to tests/browser/screenshots/ (renewal-01-…).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import select

from app.engine import get_engine
from app.extensions import db
from app.models import Charge, Domain, ProcessInstance, Unit
from app.services import tariffs
from app.taskforms.formats import to_ascii_domain
from tests.browser.test_site_review_journey import log_in  # the second factor included

FIRST, SECOND = "鄂尔多斯市人民政府办公室网站.政务", "鄂尔多斯市政府信息公开.政务"
LATER = "鄂尔多斯市第一人民医院网站.公益"
WAIT_MS = 10_000


def give_domain(live_app: Flask, unit_name: str, name: str, expires_on: date) -> None:
    """A registered domain of a demo unit, straight into the database (registration has its own tests)."""
    with live_app.app_context():
        unit = db.session.scalar(select(Unit).where(Unit.name == unit_name))
        assert unit is not None
        db.session.add(
            Domain(
                unit_id=unit.id,
                name=name,
                ascii_name=to_ascii_domain(name),
                suffix=name.rpartition(".")[2],
                status="active",
                years=1,
                host_mode="none",
                registered_on=expires_on - timedelta(days=365),
                expires_on=expires_on,
            )
        )
        db.session.commit()


def tariff_of(live_app: Flask) -> int:
    """The .政务 fee per year of the deployed renewal procedure (its `tariffs` property)."""
    with live_app.app_context():
        definitions = get_engine().definitions
        compiled = definitions.compiled(definitions.latest(db.session, "domain_renewal"))
        return tariffs.fees_on(compiled.process_properties, date.today())["政务"]


def test_bianban_renews_two_domains_of_a_unit_and_confirms_the_fee(live_app: Flask, new_page: Any, shot: Any) -> None:
    today = date.today()
    give_domain(live_app, "鄂尔多斯市人民政府办公室", FIRST, today + timedelta(days=20))
    give_domain(live_app, "鄂尔多斯市人民政府办公室", SECOND, today + timedelta(days=45))
    give_domain(live_app, "鄂尔多斯市第一人民医院", LATER, today + timedelta(days=200))
    tariff = tariff_of(live_app)
    page: Page = new_page()
    log_in(page, "bianban")

    page.get_by_role("link", name="域名查询").click()
    page.get_by_label("截止日期").fill((today + timedelta(days=60)).isoformat())
    page.get_by_role("button", name="查询", exact=True).click()
    expect(page.get_by_text(FIRST, exact=True)).to_be_visible()
    expect(page.get_by_text(SECOND, exact=True)).to_be_visible()
    expect(page.get_by_text(LATER, exact=True)).to_have_count(0)
    shot(page, "renewal-01-expiring-domains")

    page.get_by_role("checkbox", name=f"选择 {FIRST}").check()
    page.get_by_role("checkbox", name=f"选择 {SECOND}").check()
    page.get_by_label("续费年限").fill("11")
    page.get_by_role("button", name="提交续费申请").click()
    expect(page.locator("#renew-years-error")).to_have_text("续费年限不能大于 10")
    expect(page.get_by_role("checkbox", name=f"选择 {FIRST}")).to_be_checked()  # the ticks are kept
    shot(page, "renewal-02-years-refused")
    assert _renewals(live_app) == []  # nothing was submitted

    page.get_by_label("续费年限").fill("2")
    page.get_by_role("button", name="提交续费申请").click()
    expect(page.get_by_role("heading", level=1, name="确认收费")).to_be_visible(timeout=WAIT_MS)
    bill = page.locator("#bill")
    expect(bill).to_contain_text(FIRST)
    expect(bill).to_contain_text(SECOND)
    expect(page.locator("#bill-total")).to_have_text(str(4 * tariff))
    expect(page.locator("#field-years")).to_have_value("2")
    shot(page, "renewal-03-fee-collection")
    read_in_large_text(page, shot)

    page.locator("#field-years").fill("3")
    expect(page.locator("#bill-total")).to_have_text(str(6 * tariff))
    expect(bill.locator(".bill-amount").first).to_have_text(str(3 * tariff))
    page.locator("#field-invoice_no").fill("FP2026120801")
    shot(page, "renewal-04-fee-change")
    page.get_by_role("button", name="提交", exact=True).click()
    expect(page.get_by_text("已提交：确认收费")).to_be_visible(timeout=WAIT_MS)
    shot(page, "renewal-05-confirmed")

    (renewal,) = _renewals(live_app)
    with live_app.app_context():
        charges = list(db.session.scalars(select(Charge).where(Charge.instance_id == renewal[0])))
        assert (
            sorted((c.years, c.amount_yuan, c.status, c.invoice_no) for c in charges)
            == [(3, 3 * tariff, "collected", "FP2026120801")] * 2
        )
    assert renewal[1] == "待认款"


def read_in_large_text(page: Page, shot: Any) -> None:
    """大字版: the root font grows by a quarter, nothing runs off the side, and the choice is remembered."""
    toggle = page.get_by_role("button", name="大字版")
    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "true")
    expect(page.locator("html")).to_have_css("font-size", "20px")
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    shot(page, "renewal-03-fee-collection-large-text")
    page.reload()
    expect(page.locator("html.large-text")).to_be_attached()
    expect(toggle).to_have_attribute("aria-pressed", "true")
    toggle.click()
    expect(page.locator("html")).to_have_css("font-size", "16px")
    expect(toggle).to_have_attribute("aria-pressed", "false")


def _renewals(live_app: Flask) -> list[tuple[int, str]]:
    """(id, stage) of the renewals of this test's domains."""
    with live_app.app_context():
        query = (
            select(ProcessInstance.id, ProcessInstance.stage)
            .join(Charge, Charge.instance_id == ProcessInstance.id)
            .join(Domain, Domain.id == Charge.domain_id)
            .where(Domain.name == FIRST)
        )
        return [tuple(row) for row in db.session.execute(query)]  # type: ignore[misc]
