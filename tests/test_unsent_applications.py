"""An application before the unit first submits it: no number, the unit's own, and the unit may give it up.

1. 立即申请 takes no application number: until the unit submits its first form the application
   is 未提交 in 我的申请, reached under a provisional key, and no reviewer can find it.
2. The first submission takes the next number of the sequence, in the order of submission; an
   application that never waits for the unit (its start form is the submission) is numbered at once.
3. 放弃 removes an unsent application with its drafts and open tasks from everything the unit sees;
   the instance stays, marked abandoned, so that the append-only audit trail still points at it.
   Another unit cannot abandon it (404), and a submitted application cannot be abandoned.

Runs on the tests' own diagrams (two_reviews.bpmn; parallel_rounds.bpmn starts with reviewers' tasks).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import func, select

from app.engine import Engine
from app.engine.errors import ConflictError, RefusedError
from app.extensions import db
from app.models import AuditEvent, BusinessKeySequence, Draft, ProcessInstance, WorkItem
from app.models.workflow import ABANDONED
from tests.conftest import TEST_APPLICATION, UNIT, deploy_test_diagram

pytestmark = pytest.mark.usefixtures("two_reviews")

NUMBER = re.compile(r"TR2026\d{6}")


def text(response: Any) -> str:
    return response.get_data(as_text=True)


def count(model: Any, *where: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def start_as_unit(client: Any) -> ProcessInstance:
    """立即申请 on the web; the application it created."""
    response = client.post("/unit/start/two_reviews")
    assert response.status_code == 302
    db.session.expire_all()
    return db.session.scalars(select(ProcessInstance).order_by(ProcessInstance.id.desc())).first()  # type: ignore[return-value]


def first_task_url(instance: ProcessInstance) -> str:
    item = db.session.scalars(select(WorkItem).where(WorkItem.instance_id == instance.id)).one()
    return f"/unit/tasks/{item.id}"


def submit_first_form(client: Any, instance: ProcessInstance, domain_name: str) -> ProcessInstance:
    data = {**TEST_APPLICATION, "domain_name": domain_name, "action": "submit"}
    response = client.post(first_task_url(instance), data=data)
    assert response.status_code == 302
    db.session.expire_all()
    return db.session.get(ProcessInstance, instance.id)  # type: ignore[return-value]


def numbers_taken() -> int:
    return db.session.scalar(select(func.coalesce(func.sum(BusinessKeySequence.last), 0))) or 0


def test_starting_takes_no_number_and_the_first_submission_takes_the_next(login: Any) -> None:
    client = login("unit1")
    first, second, third = (start_as_unit(client) for _ in range(3))

    assert not any(a.numbered for a in (first, second, third)) and numbers_taken() == 0
    listing = text(client.get("/unit/applications"))
    assert not NUMBER.search(listing) and listing.count(">未提交<") == 3
    assert f'href="/unit/applications/{second.business_key}"' in listing  # its page, under the provisional key
    page = text(client.get(f"/unit/applications/{second.business_key}"))
    assert "申请编号 提交后分配" in page and "填写申请表" in page
    assert "申请编号 提交后分配" in text(client.get(first_task_url(second)))

    third = submit_first_form(client, third, "测试单位三.政务")  # submitted in another order than started
    first = submit_first_form(client, first, "测试单位一.政务")

    assert (third.business_key, first.business_key) == ("TR2026000001", "TR2026000002")
    assert numbers_taken() == 2 and not db.session.get(ProcessInstance, second.id).numbered  # type: ignore[union-attr]
    listing = text(client.get("/unit/applications"))
    assert ">TR2026000001<" in listing and ">TR2026000002<" in listing and listing.count(">未提交<") == 1


def test_the_first_submission_leads_to_the_page_under_the_new_number(login: Any) -> None:
    client = login("unit1")
    instance = start_as_unit(client)
    provisional = instance.business_key

    response = client.post(first_task_url(instance), data={**TEST_APPLICATION, "action": "submit"})

    assert response.headers["Location"].endswith("/unit/applications/TR2026000001")
    assert client.get(f"/unit/applications/{provisional}").status_code == 404  # gone with the numbering


def test_a_procedure_sent_by_its_start_is_numbered_at_once(engine: Engine, make_unit: Any, start: Any) -> None:
    deploy_test_diagram(engine, "parallel_rounds.bpmn")  # its first tasks are the reviewers'
    application = start("parallel_rounds", make_unit())
    assert application.instance.business_key == "PR2026000001"


def test_no_reviewer_sees_an_unsent_application(login: Any) -> None:
    instance = start_as_unit(login("unit1"))
    for reviewer in ("bianban", "conac"):  # the unit's own region, and the national office
        client = login(reviewer)
        assert client.get(f"/applications/{instance.business_key}/diagram.xml").status_code == 404
        assert instance.business_key not in text(client.get("/review/search", query_string={"q": "鄂尔多斯"}))
        assert instance.business_key not in text(client.get("/review/"))


def test_abandoning_removes_it_and_keeps_an_audit_event(login: Any) -> None:
    client = login("unit1")
    instance = start_as_unit(client)
    task_url = first_task_url(instance)
    client.post(task_url, data={"domain_name": "草稿名称", "action": "save"})
    assert count(Draft) == 1
    page_url = f"/unit/applications/{instance.business_key}"
    abandon_url = f"{page_url}/abandon"
    for shown in (text(client.get(task_url)), text(client.get(page_url))):  # offered on both, asking first
        assert f'action="{abandon_url}"' in shown and 'data-confirm="确定放弃本申请吗' in shown

    response = client.post(abandon_url)

    assert response.headers["Location"].endswith("/unit/applications")
    assert "已放弃该申请" in text(client.get(response.headers["Location"]))
    assert instance.business_key not in text(client.get("/unit/applications"))
    assert client.get(page_url).status_code == 404 and client.get(task_url).status_code == 404
    assert (count(Draft), count(WorkItem)) == (0, 0) and numbers_taken() == 0
    db.session.expire_all()
    assert (instance.status, instance.numbered) == (ABANDONED, False)
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.instance_id == instance.id).order_by(AuditEvent.id))
    assert [(e.action, e.role) for e in events] == [("start", "单位"), ("abandon", "单位")]


def test_another_unit_cannot_abandon_it(login: Any) -> None:
    instance = start_as_unit(login("unit1"))
    assert login("unit2").post(f"/unit/applications/{instance.business_key}/abandon").status_code == 404
    db.session.expire_all()
    assert instance.status == "running" and count(WorkItem) == 1


def test_a_submitted_application_cannot_be_abandoned(login: Any, engine: Engine) -> None:
    client = login("unit1")
    instance = submit_first_form(client, start_as_unit(client), "测试单位.政务")
    page_url = f"/unit/applications/{instance.business_key}"
    assert "/abandon" not in text(client.get(page_url))

    response = client.post(f"{page_url}/abandon", follow_redirects=True)

    assert "申请 TR2026000001 已提交，不能放弃" in text(response)
    with pytest.raises(RefusedError, match="已提交，不能放弃"):
        engine.runner.abandon(instance.id, UNIT)
    db.session.expire_all()
    assert (instance.status, instance.stage) == ("running", "待审核")
    assert count(AuditEvent, AuditEvent.action == "abandon") == 0


def test_an_abandoned_application_takes_no_submission(login: Any, engine: Engine) -> None:
    client = login("unit1")
    instance = start_as_unit(client)
    task_id = db.session.scalars(select(WorkItem.task_id)).one()
    engine.runner.abandon(instance.id, UNIT)

    with pytest.raises(ConflictError):
        engine.runner.complete(task_id, UNIT, TEST_APPLICATION)
    with pytest.raises(ConflictError, match="该申请已放弃"):  # a submission that read the task before the 放弃
        engine.runner._complete(instance.id, task_id, UNIT, TEST_APPLICATION, None)
    db.session.expire_all()
    assert (instance.status, instance.numbered, count(WorkItem)) == (ABANDONED, False, 0)
