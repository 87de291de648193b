"""The runner: every action is one transaction that either happens whole or not at all.

Two people completing the same task: one wins, the other gets a clear conflict. An operator
failing halfway leaves no trace but the error mark; an admin can retry once the cause is gone.
Workers claim due timers without firing any twice.

Runs on the tests' own procedure (tests/diagrams/two_reviews.bpmn), so a policy edit of a shipped diagram
leaves these tests alone.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.engine import Engine, get_engine
from app.engine.errors import ConflictError, TaskFailure
from app.extensions import db
from app.models import AuditEvent, Charge, ProcessInstance, TimerSubscription, WorkItem
from app.services import billing
from app.services.audit import Actor
from tests.conftest import APPROVE, BIANBAN, CONAC, TEST_APPLICATION, TWO_REVIEWS, UNIT, Application

pytestmark = pytest.mark.usefixtures("two_reviews")


def count(model: Any, *where: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def in_threads(app: Flask, jobs: list[Callable[[], Any]]) -> list[Any]:
    """Run jobs at the same moment, each in its own app context and database session."""
    barrier = threading.Barrier(len(jobs))
    results: list[Any] = [None] * len(jobs)

    def worker(index: int) -> None:
        with app.app_context():
            barrier.wait()
            try:
                results[index] = jobs[index]()
            except Exception as exc:  # collected for the assertions
                results[index] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(jobs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def submitted(make_unit: Any, start: Any) -> Application:
    return start(TWO_REVIEWS, make_unit()).complete(UNIT, TEST_APPLICATION)


def test_a_stale_completion_is_a_conflict_and_changes_nothing(make_unit: Any, start: Any, engine: Engine) -> None:
    application = submitted(make_unit, start)
    review_task_id = application.task().task_id
    engine.runner.complete(review_task_id, BIANBAN, APPROVE)
    version = application.instance.version

    with pytest.raises(ConflictError, match="已办理"):
        engine.runner.complete(review_task_id, BIANBAN, APPROVE)
    assert application.instance.version == version
    assert count(AuditEvent, AuditEvent.action == "complete") == 2


def test_an_outdated_form_is_a_conflict(make_unit: Any, start: Any, engine: Engine) -> None:
    application = submitted(make_unit, start)
    stale_version = application.instance.version - 1
    with pytest.raises(ConflictError, match="已被他人更新"):
        engine.runner.complete(application.task().task_id, BIANBAN, APPROVE, expected_version=stale_version)
    assert application.stage == "待审核"


def test_two_reviewers_completing_one_task_at_once_one_wins(
    app: Flask, backend: str, make_unit: Any, start: Any
) -> None:
    if backend != "postgresql":
        pytest.skip("real concurrent writers need PostgreSQL")
    application = submitted(make_unit, start)
    task_id = application.task().task_id
    decisions = [APPROVE, {"decision": "reject", "reason": "名称不规范"}]
    results = in_threads(
        app,
        [
            lambda i=i, d=d: get_engine().runner.complete(task_id, Actor(f"reviewer{i}", "编办"), d).business_key
            for i, d in enumerate(decisions)
        ],
    )

    winners = [r for r in results if isinstance(r, str)]
    losers = [r for r in results if isinstance(r, ConflictError)]
    assert len(winners) == 1 and len(losers) == 1, results
    assert count(AuditEvent, AuditEvent.action == "complete", AuditEvent.task_name == "review") == 1
    assert application.stage in ("复审中", "审核不通过")


def test_business_keys_stay_unique_and_gap_free_under_concurrent_first_submissions(
    app: Flask, backend: str, make_unit: Any, start: Any
) -> None:
    """立即申请 takes no number; the first submissions, all at once, take one each without a gap."""
    if backend != "postgresql":
        pytest.skip("real concurrent writers need PostgreSQL")
    applications = [start(TWO_REVIEWS, make_unit()) for _ in range(6)]
    assert not any(a.instance.numbered for a in applications)
    task_ids = [a.task().task_id for a in applications]

    def submit(number: int) -> str:
        data = {**TEST_APPLICATION, "domain_name": f"测试单位{number}.政务"}
        return get_engine().runner.complete(task_ids[number], UNIT, data).business_key

    results = in_threads(app, [lambda n=n: submit(n) for n in range(len(task_ids))])
    assert sorted(results) == [f"TR2026{n:06d}" for n in range(1, 7)]


def test_an_operator_failing_midway_rolls_everything_back(
    make_unit: Any, start: Any, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    application = submitted(make_unit, start).complete(BIANBAN, APPROVE)
    before = (application.stage, application.task().task_id)
    real_create = billing.create_charge

    def create_then_fail(*args: Any, **kwargs: Any) -> int:
        real_create(*args, **kwargs)  # the charge row is written, then the operator breaks
        raise RuntimeError("database of invoices unreachable")

    monkeypatch.setattr(billing, "create_charge", create_then_fail)
    with pytest.raises(TaskFailure, match="生成费用"):
        application.complete(CONAC, APPROVE)

    assert count(Charge) == 0
    assert (application.stage, application.task().task_id) == before
    assert application.instance.status == "error"
    assert count(AuditEvent, AuditEvent.action == "complete", AuditEvent.task_name == "recheck") == 0

    monkeypatch.setattr(billing, "create_charge", real_create)
    engine.runner.retry(application.instance_id, Actor("admin", "管理员"))
    assert (application.instance.status, application.stage) == ("running", "待缴费")
    assert count(Charge) == 1
    actions = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.instance_id == application.instance_id).order_by(AuditEvent.id)
    ).all()
    assert actions[-3:] == ["error", "complete", "retry"]


def test_retry_is_refused_when_nothing_failed(make_unit: Any, start: Any, engine: Engine) -> None:
    application = submitted(make_unit, start)
    from app.engine.errors import RefusedError

    with pytest.raises(RefusedError):
        engine.runner.retry(application.instance_id, Actor("admin", "管理员"))


def test_the_state_is_stored_without_the_spec(make_unit: Any, start: Any) -> None:
    application = submitted(make_unit, start)
    state = application.instance.state
    assert "spec" not in state and "subprocess_specs" not in state
    assert application.data()["domain_name"] == TEST_APPLICATION["domain_name"]


def _waiting_for_timer(make_unit: Any, start: Any, remit_and_confirm: Any, clock: Any) -> list[Application]:
    applications = []
    for number in range(4):
        data = {**TEST_APPLICATION, "domain_name": f"测试单位{number}.政务"}
        application = start(TWO_REVIEWS, make_unit()).complete(UNIT, data)
        application.complete(BIANBAN, APPROVE).complete(CONAC, APPROVE)
        application.complete(BIANBAN, {"invoice_no": f"FP{number:04d}", "years": 1})
        applications.append(application)
    clock.set("2026-11-19 10:00")
    remit_and_confirm([a.charge() for a in applications])
    return applications


def test_workers_fire_each_due_timer_exactly_once(
    app: Flask, backend: str, make_unit: Any, start: Any, remit_and_confirm: Any, clock: Any
) -> None:
    applications = _waiting_for_timer(make_unit, start, remit_and_confirm, clock)
    assert count(TimerSubscription) == 4
    moment = clock.set("2026-11-20 00:00")
    if backend == "postgresql":
        fired = in_threads(app, [lambda: get_engine().runner.fire_due_timers(moment) for _ in range(3)])
        keys = [key for batch in fired for key in batch]
    else:
        keys = get_engine().runner.fire_due_timers(moment)
    assert sorted(keys) == sorted(a.instance.business_key for a in applications)
    timers = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "timer")).all()
    assert [(t.task_name, t.task_title) for t in timers] == [("wait_day", "认款后1个工作日")] * 4  # named so
    assert {a.stage for a in applications} == {"已办结"}
    assert count(TimerSubscription) == 0


def test_work_items_are_the_only_thing_lists_read(make_unit: Any, start: Any) -> None:
    application = submitted(make_unit, start)
    item = db.session.scalars(select(WorkItem)).one()
    assert (item.role, item.office_code, item.stage, item.form) == (
        "编办",
        "编办:150600",
        "待审核",
        "decision.schema.json",
    )
    assert item.instance_id == application.instance_id
    assert db.session.get(ProcessInstance, item.instance_id).stage == "待审核"
