"""Fees after 确认收费: 编办 groups collected fees into a remittance; CONAC's 认款 moves every application on.

The fees come from the tests' own procedure (tests/diagrams/two_reviews.bpmn, 120 元 a year), so a change of
a shipped procedure's fee leaves these tests alone.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.models import Remittance, Unit
from tests.conftest import APPROVE, BIANBAN, CONAC, TEST_APPLICATION, TWO_REVIEWS, UNIT


def awaiting_remittance(start: Any, demo: dict[str, Any], name: str) -> Any:
    unit = db.session.scalar(select(Unit).where(Unit.name == "鄂尔多斯市人民政府办公室"))
    application = start(TWO_REVIEWS, unit).complete(UNIT, {**TEST_APPLICATION, "domain_name": name})
    application.complete(BIANBAN, APPROVE).complete(CONAC, APPROVE)
    return application.complete(BIANBAN, {"invoice_no": "FP-2026-1", "years": 2})


def test_bianban_remits_and_conac_confirms(
    two_reviews: str, login: Any, start: Any, demo: dict[str, Any], clock: Any
) -> None:
    first = awaiting_remittance(start, demo, "第一测试.政务")
    second = awaiting_remittance(start, demo, "第二测试.政务")

    page = login("bianban").get("/billing/").get_data(as_text=True)
    assert "第一测试.政务" in page and "第二测试.政务" in page and "240" in page  # 2 years at 120 元
    response = login("bianban").post(
        "/billing/remittances", data={"charge_id": [first.charge().id, second.charge().id]}
    )
    assert response.status_code == 302
    remittance = db.session.scalars(select(Remittance)).one()

    assert "第一测试.政务" not in login("dongsheng").get("/billing/").get_data(as_text=True)
    conac = login("conac")
    page = conac.get("/billing/").get_data(as_text=True)
    assert f">{remittance.id}<" in page and f'data-confirm="确认已收到批次 {remittance.id} 的汇款共 480 元吗' in page
    conac.post(f"/billing/remittances/{remittance.id}/confirm")
    assert (first.stage, second.stage) == ("处理中", "处理中")

    again = conac.post(f"/billing/remittances/{remittance.id}/confirm", follow_redirects=True)
    assert "不能重复认款" in again.get_data(as_text=True)


def test_only_reviewers_reach_billing_and_each_only_their_action(login: Any) -> None:
    assert login("unit1").get("/billing/").status_code == 403
    assert login("conac").post("/billing/remittances", data={"charge_id": ["1"]}).status_code == 403
    assert login("bianban").post("/billing/remittances/1/confirm").status_code == 403


def test_remitting_nothing_is_refused_with_a_message(login: Any) -> None:
    page = login("bianban").post("/billing/remittances", data={}, follow_redirects=True).get_data(as_text=True)
    assert "请至少选择一笔已收取的费用" in page
