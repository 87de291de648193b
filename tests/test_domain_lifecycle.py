"""A registered domain's life after 注册成功: 已过期 after the grace period, and the 编办's 冻结/解冻/删除.

1. `flask worker` marks an active domain 已过期 once its expiry date is more than DOMAIN_GRACE_DAYS
   (default 30) behind, not a day earlier, and audits it; a renewal makes it active again.
2. The 编办 of the unit's jurisdiction freezes, unfreezes and deletes a domain, always with a reason
   (refused next to the field without one); each change is audited with the reason.
3. Renewing a frozen or deleted domain is refused with a Chinese message, nothing created; a domain
   whose renewal is open cannot be deleted.
4. Another region's 编办 gets 404 (audited as a denied access); a unit cannot reach these actions.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, Charge, Domain, ProcessInstance, Unit
from tests.conftest import BIANBAN, add_domain

NAME = "鄂尔多斯市人民政府办公室.政务"


def text(response: Any) -> str:
    return response.get_data(as_text=True)


def status(domain_id: int) -> tuple[str, str]:
    db.session.expire_all()
    domain = db.session.get(Domain, domain_id)
    assert domain is not None
    return domain.status, domain.status_reason


def count(model: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def run_worker(app: Any, now: str) -> str:
    result = app.test_cli_runner().invoke(args=["worker", "--once", "--now", now])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def unit1(demo: dict[str, Any]) -> Unit:
    return demo["unit1"].unit


@pytest.fixture
def domain(unit1: Unit) -> Domain:
    return add_domain(unit1, NAME, expires_on=date(2026, 9, 1))


# ---- expiry ----


def test_the_worker_marks_a_domain_expired_only_after_the_grace_period(app: Any, domain: Domain, unit1: Unit) -> None:
    later = add_domain(unit1, "鄂尔多斯市政务服务中心.政务", expires_on=date(2026, 9, 2))

    assert "域名已过期" not in run_worker(app, "2026-10-01T23:59+08:00")  # 30 days after 09-01: still in grace
    assert status(domain.id)[0] == "active"
    output = run_worker(app, "2026-10-02T00:05+08:00")

    assert f"域名已过期: {NAME}" in output
    assert (status(domain.id)[0], status(later.id)[0]) == ("expired", "active")
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "domain_expired"))
    assert (event.actor, event.detail["domain"], event.detail["grace_days"]) == ("system", NAME, 30)
    assert "域名已过期" not in run_worker(app, "2026-10-02T18:00+08:00")  # once only
    assert "鄂尔多斯市政务服务中心.政务" in run_worker(app, "2026-10-03T00:05+08:00")


def test_the_grace_period_is_a_setting(app: Any, domain: Domain, monkeypatch: Any) -> None:
    monkeypatch.setitem(app.config, "DOMAIN_GRACE_DAYS", 0)

    run_worker(app, "2026-09-02T08:00+08:00")

    assert status(domain.id)[0] == "expired"


def test_renewing_an_expired_domain_makes_it_active_again(
    app: Any, domain: Domain, unit1: Unit, start: Any, clock: Any, engine: Any, remit_and_confirm: Any
) -> None:
    run_worker(app, "2026-10-08T09:00+08:00")
    assert status(domain.id)[0] == "expired"
    clock.set("2026-10-08 10:00")
    renewal = start("domain_renewal", unit1, {"domains": [NAME], "years": 1})
    renewal.complete(BIANBAN, {"invoice_no": "FP-1", "years": 1})
    clock.set("2026-10-09 16:00")
    remit_and_confirm(list(db.session.scalars(select(Charge).where(Charge.instance_id == renewal.instance_id))))
    engine.runner.fire_due_timers(clock.set("2026-10-10 00:00"))

    db.session.expire_all()
    renewed = db.session.get(Domain, domain.id)
    assert (renewed.status, renewed.expires_on) == ("active", date(2027, 9, 1))


# ---- 冻结, 解冻, 删除 ----


def test_the_bianban_freezes_with_a_reason_and_a_frozen_domain_cannot_be_renewed(login: Any, domain: Domain) -> None:
    bianban = login("bianban")
    page = text(bianban.get(f"/domains/{domain.id}"))
    assert "冻结域名" in page and "删除域名" in page

    refused = bianban.post(f"/domains/{domain.id}/freeze", data={"reason": ""})
    assert refused.status_code == 400 and "请填写原因" in text(refused)
    assert status(domain.id) == ("active", "")
    bianban.post(f"/domains/{domain.id}/freeze", data={"reason": "网站内容违规，依通知冻结"})

    assert status(domain.id) == ("frozen", "网站内容违规，依通知冻结")
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "domain_freeze"))
    assert (event.actor, event.role, event.detail["reason"], event.detail["from"]) == (
        "bianban",
        "编办",
        "网站内容违规，依通知冻结",
        "active",
    )
    for client in (login("unit1"), login("bianban")):
        response = client.post("/domains/renew", data={"domains": [NAME], "years": "1"})
        assert response.status_code == 400
        assert f"域名 {NAME} 已被冻结，不能续费（冻结原因：网站内容违规，依通知冻结），请联系同级编办" in text(response)
    assert (count(ProcessInstance), count(Charge)) == (0, 0)


def test_unfreezing_restores_the_domain_or_marks_it_expired_when_its_grace_ran_out(
    login: Any, domain: Domain, clock: Any
) -> None:
    bianban = login("bianban")
    bianban.post(f"/domains/{domain.id}/freeze", data={"reason": "核查中"})
    clock.set("2026-09-20 10:00")
    bianban.post(f"/domains/{domain.id}/unfreeze", data={"reason": "核查完毕"})
    assert status(domain.id) == ("active", "")

    bianban.post(f"/domains/{domain.id}/freeze", data={"reason": "再次核查"})
    clock.set("2026-10-20 10:00")
    bianban.post(f"/domains/{domain.id}/unfreeze", data={"reason": "核查完毕"})

    assert status(domain.id) == ("expired", "")
    events = select(AuditEvent.action).where(AuditEvent.action.like("domain_%")).order_by(AuditEvent.id)
    actions = list(db.session.scalars(events))
    assert actions == ["domain_freeze", "domain_unfreeze", "domain_freeze", "domain_unfreeze"]


def test_a_deleted_domain_cannot_be_renewed_and_an_open_renewal_blocks_deletion(
    login: Any, domain: Domain, unit1: Unit
) -> None:
    other = add_domain(unit1, "鄂尔多斯市政务服务中心.政务")
    bianban = login("bianban")
    bianban.post("/domains/renew", data={"domains": [other.name], "years": "1"})
    key = db.session.scalar(select(ProcessInstance.business_key))

    blocked = bianban.post(f"/domains/{other.id}/delete", data={"reason": "单位撤销"})
    assert blocked.status_code == 400 and f"有未办结的续费申请 {key}，请办结或撤回后再删除" in text(blocked)
    assert status(other.id)[0] == "active"

    bianban.post(f"/domains/{domain.id}/delete", data={"reason": "单位已撤销"}, follow_redirects=True)
    assert status(domain.id) == ("deleted", "单位已撤销")
    assert NAME not in text(bianban.get("/domains/"))  # the query leaves deleted domains out unless asked
    assert NAME in text(bianban.get("/domains/?status=deleted"))
    for client in (login("unit1"), login("bianban")):
        response = client.post("/domains/renew", data={"domains": [NAME], "years": "1"})
        assert response.status_code == 400 and f"域名 {NAME} 已删除，不能续费" in text(response)
    assert count(ProcessInstance) == 1
    assert (
        db.session.scalar(select(AuditEvent.detail).where(AuditEvent.action == "domain_delete"))["reason"]
        == "单位已撤销"
    )


def test_only_the_units_own_bianban_manages_its_domains(login: Any, domain: Domain) -> None:
    assert login("unit1").post(f"/domains/{domain.id}/freeze", data={"reason": "试一试"}).status_code == 403

    dongsheng = login("dongsheng")
    assert dongsheng.get(f"/domains/{domain.id}").status_code == 404
    assert dongsheng.post(f"/domains/{domain.id}/freeze", data={"reason": "越权操作"}).status_code == 404
    assert NAME not in text(dongsheng.get("/domains/"))

    assert status(domain.id) == ("active", "")
    denied = list(
        db.session.scalars(select(AuditEvent).where(AuditEvent.action == "access_denied").order_by(AuditEvent.id))
    )
    assert [(e.actor, e.detail["status"]) for e in denied] == [("unit1", 403), ("dongsheng", 404), ("dongsheng", 404)]
