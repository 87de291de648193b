"""The command line drives every procedure from a terminal: deploy, demo data, tasks, remittances, worker.

Tasks are driven on the tests' own procedure (tests/diagrams/two_reviews.bpmn); export and deploy use a
shipped one, since what they read and write is the procedure files as policy staff keep them.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models import Charge, Domain, ProcessInstance, Remittance, Unit, WorkItem
from tests.conftest import TEST_APPLICATION


def run(app: Flask, *args: str) -> Any:
    result = app.test_cli_runner().invoke(args=list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_deploy_reports_unchanged_diagrams_and_refusals(app: Flask, tmp_path: Any) -> None:
    assert "内容未变，沿用" in run(app, "deploy")
    broken = tmp_path / "broken.bpmn"
    broken.write_text("<!DOCTYPE x><x/>", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["deploy", str(broken)])
    assert result.exit_code == 1 and "不允许 DOCTYPE" in result.output


def test_demo_seeds_accounts_and_paid_domains_idempotently(app: Flask) -> None:
    first = run(app, "demo")
    assert "unit1" in first and "bianban" in first and "conac" in first and "demo2026pw" in first
    assert "unit3" in first and "conac2" in first and "zhongxin" in first and "中央编办电子政务中心" in first
    run(app, "demo")
    assert len(db.session.scalars(select(Domain).where(Domain.status == "active")).all()) == 3


def test_an_application_is_driven_from_the_terminal(app: Flask, clock: Any, two_reviews: str) -> None:
    run(app, "demo")
    unit = db.session.scalar(select(Unit).where(Unit.name == "鄂尔多斯市人民政府办公室"))
    started = run(app, "instances", "start", two_reviews, "--unit", str(unit.id), "--as", "unit1", "--role", "单位")
    assert "填报中" in started and "TR2026" not in started  # numbered on its first submission

    def complete(role: str, data: dict[str, Any]) -> str:
        item = db.session.scalars(select(WorkItem).order_by(WorkItem.id.desc())).first()
        return run(
            app,
            "tasks",
            "complete",
            str(item.id),
            "--as",
            "someone",
            "--role",
            role,
            "--data",
            json.dumps(data, ensure_ascii=False),
        )

    assert "TR2026000001  待审核" in complete("单位", TEST_APPLICATION)
    assert "初审" in run(app, "tasks", "list", "--role", "编办", "--office", "编办:150600")
    assert "复审中" in complete("编办", {"decision": "approve"})
    assert "待缴费" in complete("CONAC", {"decision": "approve"})
    assert "待认款" in complete("编办", {"invoice_no": "FP0001", "years": 1})
    charge = str(db.session.scalar(select(Charge.id)))
    created = run(app, "remittances", "create", "--office", "编办:150600", "--charges", charge, "--as", "bb")
    batch = str(db.session.scalar(select(Remittance.id)))
    assert f"汇款批次 {batch}" in created
    assert "已认款" in run(app, "remittances", "confirm", batch, "--as", "conac")
    assert "定时到期" in run(app, "worker", "--once", "--now", "2026-09-30T00:00:00+08:00")
    key = db.session.scalar(select(ProcessInstance.business_key))
    shown = run(app, "instances", "show", key)
    assert "已办结" in shown and "message" in shown


def test_a_refused_completion_prints_the_fields_and_exits_1(app: Flask, two_reviews: str) -> None:
    run(app, "demo")
    unit = db.session.scalar(select(Unit).where(Unit.name == "鄂尔多斯市人民政府办公室"))
    run(app, "instances", "start", two_reviews, "--unit", str(unit.id), "--as", "u", "--role", "单位")
    item = db.session.scalars(select(WorkItem)).one()
    result = app.test_cli_runner().invoke(
        args=["tasks", "complete", str(item.id), "--as", "u", "--role", "单位", "--data", '{"domain_name": "x.com"}']
    )
    assert result.exit_code == 1 and "domain_name" in result.output


def test_export_writes_a_version_back_to_files_that_deploy_again_unchanged(app: Flask, tmp_path: Any) -> None:
    output = run(app, "export", "party_site_review", "--to", str(tmp_path))
    assert "workflows/党政机关开办审核.bpmn" in output and "documents/letter.md" in output
    assert (tmp_path / "forms" / "site-application.schema.json").is_file()
    again = run(app, "deploy", str(tmp_path / "workflows" / "党政机关开办审核.bpmn"), "--root", str(tmp_path))
    assert "party_site_review v1 (内容未变，沿用)" in again
