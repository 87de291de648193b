"""Excel exports (openpyxl), read back: 待办, 待缴费, 到期域名, remittance batches with their charges, units.

Each export holds the rows of the list under its filters, writes every cell as text, keeps a value
that looks like a formula a plain string Excel will not evaluate (quote prefix, no <f> element in
the sheet), says who exported what under which filters, and is audited. The remittance export
reconciles: each batch's amount is the sum of its charges.
"""

from __future__ import annotations

import io
import zipfile
from datetime import date
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, Charge, ProcessInstance, WorkItem
from app.services.exports import XLSX
from tests.conftest import add_domain

FIRST, SECOND = "鄂尔多斯市人民政府办公室.政务", "鄂尔多斯市政务服务中心.政务"
HOSPITAL = "鄂尔多斯市第一人民医院.公益"
FORMULA = '=HYPERLINK("http://example.com/x","点我")'


def workbook(response: Any) -> Any:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == XLSX
    return load_workbook(io.BytesIO(response.data))


def values(sheet: Any) -> list[list[str]]:
    return [[cell.value or "" for cell in row] for row in sheet.iter_rows()]


def about(book: Any) -> dict[str, str]:
    return {row[0]: row[1] for row in values(book["导出说明"])[1:]}


def exports_audited() -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == "export").order_by(AuditEvent.id)))


@pytest.fixture
def domains(demo: dict[str, Any]) -> None:
    add_domain(demo["unit1"].unit, FIRST, expires_on=date(2026, 11, 30))
    add_domain(demo["unit1"].unit, SECOND, expires_on=date(2027, 6, 30))
    add_domain(demo["unit2"].unit, HOSPITAL, expires_on=date(2026, 12, 20))


def test_the_unit_list_export_applies_the_filters_and_keeps_a_formula_as_text(login: Any, demo: dict[str, Any]) -> None:
    hospital = demo["unit2"].unit
    hospital.address = FORMULA
    db.session.commit()
    bianban = login("bianban")

    book = workbook(bianban.get("/units/export.xlsx?q=医院"))

    rows = values(book["申报单位"])
    assert rows[0][:3] == ["单位名称", "统一社会信用代码", "用户类型"]
    assert [row[0] for row in rows[1:]] == ["鄂尔多斯市第一人民医院"]  # the filter is applied
    cell = book["申报单位"]["G2"]  # 单位地址
    assert (cell.value, cell.data_type, cell.quotePrefix) == (FORMULA, "s", True)
    assert all(c.data_type == "s" for row in book["申报单位"].iter_rows() for c in row if c.value is not None)
    sheet_xml = zipfile.ZipFile(io.BytesIO(bianban.get("/units/export.xlsx?q=医院").data)).read(
        "xl/worksheets/sheet1.xml"
    )
    assert b"<f>" not in sheet_xml and b"HYPERLINK" in sheet_xml
    assert about(book)["筛选条件"] == "q=医院" and about(book)["导出人"] == "bianban（编办）"
    event = exports_audited()[0]
    assert (event.actor, event.detail["list"], event.detail["filters"], event.detail["rows"]) == (
        "bianban",
        "申报单位",
        {"q": "医院"},
        {"申报单位": 1},
    )


def test_the_domain_export_holds_the_queried_domains_only(login: Any, domains: None) -> None:
    bianban = login("bianban")

    book = workbook(bianban.get("/domains/export.xlsx?expires_to=2026-12-31&suffix=政务"))

    rows = values(book["域名"])
    assert [(r[0], r[2], r[4], r[6]) for r in rows[1:]] == [(FIRST, "鄂尔多斯市人民政府办公室", "正常", "2026-11-30")]
    assert about(book)["筛选条件"] == "expires_to=2026-12-31；suffix=政务"
    unit_book = workbook(login("unit2").get("/domains/export.xlsx"))
    assert [r[0] for r in values(unit_book["域名"])[1:]] == [HOSPITAL]  # a unit exports its own domains
    assert [e.actor for e in exports_audited()] == ["bianban", "unit2"]


def test_the_unpaid_and_inbox_exports_follow_the_lists(login: Any, domains: None) -> None:
    bianban = login("bianban")
    bianban.post("/domains/renew", data={"domains": [FIRST, SECOND], "years": "2"})
    (charge, _) = db.session.scalars(select(Charge).order_by(Charge.id))

    unpaid = values(workbook(bianban.get("/domains/unpaid/export.xlsx"))["待缴费"])
    assert unpaid[1][2:7] == [
        "鄂尔多斯市人民政府办公室",
        "150600",
        f"{FIRST}、{SECOND}",
        "2",
        str(4 * charge.tariff_yuan),
    ]

    renewals = values(workbook(bianban.get("/review/export.xlsx?procedure=domain_renewal"))["待办"])
    nothing = values(workbook(bianban.get("/review/export.xlsx?procedure=domain_registration"))["待办"])
    key = db.session.scalar(select(ProcessInstance.business_key))
    assert [r[0] for r in renewals[1:]] == [key]
    assert renewals[1][4] == f"{FIRST}、{SECOND}" and renewals[1][5] == "确认收费"
    assert len(nothing) == 1  # the header only
    assert [e.detail["filters"] for e in exports_audited()][1:] == [
        {"procedure": "domain_renewal"},
        {"procedure": "domain_registration"},
    ]


def test_the_remittance_export_reconciles_each_batch_with_its_charges(login: Any, domains: None) -> None:
    bianban = login("bianban")
    for names in ([FIRST, SECOND], [HOSPITAL]):
        bianban.post("/domains/renew", data={"domains": names, "years": "3"})
    for item in list(db.session.scalars(select(WorkItem).order_by(WorkItem.id))):
        bianban.post(f"/review/tasks/{item.id}", data={"invoice_no": f"FP-{item.id}", "years": "3"})
    charges = list(db.session.scalars(select(Charge).order_by(Charge.id)))
    bianban.post("/billing/remittances", data={"charge_id": [f"{charges[0].id},{charges[1].id}", str(charges[2].id)]})

    book = workbook(bianban.get("/billing/remittances.xlsx"))

    batches, lines = values(book["汇款批次"]), values(book["费用明细"])
    assert len(batches) == 2 and len(lines) == 4
    batch_id, office, number, total = batches[1][:4]
    assert (office, number) == ("鄂尔多斯市委编办", "3")
    amounts = [int(line[7]) for line in lines[1:] if line[0] == batch_id]
    assert int(total) == sum(amounts) == sum(c.amount_yuan for c in charges) == 9 * charges[0].tariff_yuan
    assert {line[3] for line in lines[1:]} == {FIRST, SECOND, HOSPITAL}
    conac = workbook(login("conac").get("/billing/remittances.xlsx?status=pending"))
    assert values(conac["汇款批次"])[1][:4] == batches[1][:4]
    assert values(workbook(login("conac").get("/billing/remittances.xlsx?status=confirmed"))["汇款批次"]) == [
        values(conac["汇款批次"])[0]
    ]


def test_exports_stay_within_the_jurisdiction(login: Any, domains: None) -> None:
    book = workbook(login("dongsheng").get("/units/export.xlsx"))
    assert values(book["申报单位"])[1:] == []
    assert values(workbook(login("dongsheng").get("/domains/export.xlsx"))["域名"])[1:] == []
    assert login("unit1").get("/units/export.xlsx").status_code == 403
    assert login("unit1").get("/review/export.xlsx").status_code == 403
