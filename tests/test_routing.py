"""Routing is data: which office gets a task follows from the lane's role and its `routing` property,
roles and offices are rows an administrator adds, and a missing office is an error state to retry.

tests/diagrams/routing.bpmn: the unit fills in, then a reviewing lane (its name and routing filled in
by each test) reviews.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app.engine import Engine
from app.engine.errors import DeployError, TaskFailure
from app.extensions import db
from app.models import AuditEvent, Office, ProcessInstance, Role
from app.services import regions
from app.services.audit import Actor
from tests.conftest import DIAGRAMS, TESTS_ROOT, UNIT, Application, deploy_xml, ensure_office
from tests.second_factor_login import log_in

ENTRY = {"domain_name": "测试", "years": 1}
ADMIN = Actor("admin-user", "管理员")


def deploy_routing(engine: Engine, role: str, routing: str = "") -> None:
    xml = (DIAGRAMS / "routing.bpmn").read_text(encoding="utf-8")
    xml = xml.replace('name="REVIEWER"', f'name="{role}"').replace('value="ROUTING"', f'value="{routing}"')
    deploy_xml(engine, xml, "routing.bpmn", TESTS_ROOT)


def submitted(start: Any, unit: Any) -> Application:
    return start("routing", unit).complete(UNIT, ENTRY)


@pytest.mark.parametrize(
    ("routing", "expected"),
    [("", "编办:150602"), ("own", "编办:150602"), ("province", "编办:150000"), ("office:编办:150600", "编办:150600")],
)
def test_the_lane_routing_property_chooses_the_office(
    engine: Engine, make_unit: Any, start: Any, routing: str, expected: str
) -> None:
    ensure_office("编办", "150000")
    ensure_office("编办", "150600")
    deploy_routing(engine, "编办", routing)
    application = submitted(start, make_unit(region_code="150602"))
    assert application.task().office_code == expected


def test_without_an_own_office_the_nearest_office_above_handles_it(engine: Engine, make_unit: Any, start: Any) -> None:
    unit = make_unit(region_code="150602")
    db.session.delete(db.session.scalar(select(Office).where(Office.code == "编办:150602")))
    db.session.commit()
    ensure_office("编办", "150600")
    deploy_routing(engine, "编办")
    assert submitted(start, unit).task().office_code == "编办:150600"


def test_a_missing_office_is_an_error_state_an_administrator_retries(
    engine: Engine, make_unit: Any, start: Any
) -> None:
    unit = make_unit(region_code="150602")
    ensure_office("编办", "150600")
    deploy_routing(engine, "编办", "office:编办:150600")
    application = start("routing", unit)
    db.session.delete(db.session.scalar(select(Office).where(Office.code == "编办:150600")))
    db.session.commit()
    with pytest.raises(TaskFailure) as failed:
        application.complete(UNIT, ENTRY)
    assert "指定的机构 编办:150600 不存在" in failed.value.message
    assert application.instance.status == "error"
    ensure_office("编办", "150600")
    engine.runner.retry(application.instance_id, ADMIN)
    assert application.task().office_code == "编办:150600"


def test_a_lane_routing_to_an_unknown_office_is_refused_at_deploy(engine: Engine) -> None:
    with pytest.raises(DeployError) as refused:
        deploy_routing(engine, "编办", "office:编办:999999")
    assert any("编办:999999 不存在" in reason for _element, reason in refused.value.problems)


def test_a_new_role_and_its_office_added_in_the_admin_pages_work_without_code(
    app: Flask, engine: Engine, make_unit: Any, start: Any, login: Any
) -> None:
    regions.load(db.session)
    db.session.commit()
    admin = login("admin")
    role = {"name": "省级编办", "audience": "reviewer", "scope": "regional", "description": "省级复核"}
    added = admin.post("/admin/roles", data=role)
    assert added.status_code == 302 and db.session.get(Role, "省级编办") is not None
    office = {"kind": "省级编办", "name": "内蒙古自治区党委编办", "province": "150000", "city": "", "county": ""}
    assert admin.post("/admin/offices", data=office).status_code == 302
    account = {
        "username": "nmbb", "display_name": "自治区编办 审核员", "role": "省级编办",
        "office": "省级编办:150000", "password": "Kq7p2026xz", "confirm": "Kq7p2026xz",
    }
    created = admin.post("/admin/users/new", data=account)
    assert created.status_code == 302, created.get_data(as_text=True)[-3000:]
    assert {e.action for e in db.session.scalars(select(AuditEvent))} >= {"add_role", "add_office", "create_user"}

    deploy_routing(engine, "省级编办")  # a lane named after the new role deploys
    application = submitted(start, make_unit(region_code="150602"))
    assert application.task().office_code == "省级编办:150000"  # the nearest office above the unit's region
    admin.post("/logout")
    reviewer = admin
    assert log_in(reviewer, "nmbb", "Kq7p2026xz").status_code == 200  # second factor enrolled: recovery codes
    own = {"current": "Kq7p2026xz", "password": "Steppe-own-2026", "confirm": "Steppe-own-2026"}  # first login
    assert reviewer.post("/account/password", data=own).status_code == 302
    page = reviewer.get("/review/").get_data(as_text=True)
    assert application.instance.business_key in page
    item = application.task()
    assert reviewer.post(f"/review/tasks/{item.id}", data={"decision": "approve"}).status_code == 302
    assert db.session.get(ProcessInstance, application.instance_id).stage == "已办结"


def test_a_role_or_office_that_breaks_the_rules_is_refused_in_chinese(login: Any) -> None:
    admin = login("admin")
    duplicate = admin.post("/admin/roles", data={"name": "编办", "audience": "reviewer", "scope": "regional"})
    assert duplicate.status_code == 400 and "角色“编办”已存在" in duplicate.get_data(as_text=True)
    second_conac = admin.post("/admin/offices", data={"kind": "CONAC", "name": "又一个"})
    assert second_conac.status_code == 400 and "已经设立" in second_conac.get_data(as_text=True)
    no_region = admin.post("/admin/offices", data={"kind": "编办", "name": "某编办", "province": ""})
    assert no_region.status_code == 400 and "请选择机构所在地区" in no_region.get_data(as_text=True)
