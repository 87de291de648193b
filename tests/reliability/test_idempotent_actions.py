"""Doing the same thing twice does it once: 认款 of a batch confirmed again or at the same moment, and the
unit's form sent twice (a double click, two tabs) — in the engine and over HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app.engine import Engine, get_engine
from app.engine.errors import ConflictError, RefusedError
from app.extensions import db
from app.models import ProcessInstance, TimerSubscription
from tests.reliability.harness import (
    CONAC,
    UNIT,
    application_form,
    audit_count,
    awaiting_confirmation,
    charges_confirmed,
    fill_submissions,
    inconsistencies,
    open_task,
    remittance_of,
    started,
)
from tests.test_runner import in_threads

pytestmark = pytest.mark.usefixtures("two_reviews")
THREADS = 10


def test_a_remittance_confirmed_by_many_at_once_and_again_later_is_confirmed_once(
    app: Flask, engine: Engine, make_unit: Any
) -> None:
    instance_ids = awaiting_confirmation(engine, make_unit().id, 3)
    remittance_id = remittance_of(engine, instance_ids)

    results = in_threads(app, [lambda: get_engine().runner.confirm_remittance(remittance_id, CONAC)] * THREADS)

    confirmed = [r for r in results if isinstance(r, list)]
    assert len(confirmed) == 1 and len(confirmed[0]) == 3, results
    assert all(isinstance(r, RefusedError) and "不能重复认款" in r.message for r in results if r not in confirmed)
    with pytest.raises(RefusedError, match="不能重复认款"):
        engine.runner.confirm_remittance(remittance_id, CONAC)
    assert charges_confirmed(instance_ids) == 3
    for instance_id in instance_ids:
        assert audit_count(db.session, instance_id, "message") == 1
        timers = db.session.scalars(select(TimerSubscription).where(TimerSubscription.instance_id == instance_id))
        assert len(timers.all()) == 1
    assert inconsistencies(db.session, engine) == []


def test_a_form_sent_many_times_at_once_is_submitted_once_and_numbered_once(
    app: Flask, engine: Engine, make_unit: Any
) -> None:
    unit_id = make_unit().id
    (instance_id,) = started(engine, unit_id, 1)
    task_id = open_task(instance_id).task_id

    results = in_threads(
        app, [lambda: get_engine().runner.complete(task_id, UNIT, application_form(0)).business_key] * THREADS
    )

    keys = [r for r in results if isinstance(r, str)]
    assert len(keys) == 1 and all(isinstance(r, ConflictError) for r in results if r not in keys), results
    assert audit_count(db.session, instance_id, "complete", "fill") == 1
    (later,) = started(engine, unit_id, 1)
    engine.runner.complete(open_task(later).task_id, UNIT, application_form(1))
    db.session.expire_all()
    later_key = db.session.get(ProcessInstance, later).business_key  # type: ignore[union-attr]
    assert int(later_key[-6:]) == int(keys[0][-6:]) + 1  # the losers took no number
    assert inconsistencies(db.session, engine) == []


def test_a_double_click_on_submit_submits_once(app: Flask, engine: Engine, demo: dict[str, Any], login: Any) -> None:
    (submission,) = fill_submissions(engine, demo["unit1"].unit_id, 1)
    client = login("unit1")

    first = client.post(f"/unit/tasks/{submission.item_id}", data=submission.fields)
    second = client.post(f"/unit/tasks/{submission.item_id}", data=submission.fields)

    assert first.status_code == 302 and "/unit/applications/TR" in first.headers["Location"]
    assert second.status_code == 404  # the task is done: nothing left to submit
    assert audit_count(db.session, submission.instance_id, "complete", "fill") == 1
    assert db.session.get(ProcessInstance, submission.instance_id).stage == "待审核"  # type: ignore[union-attr]
    assert inconsistencies(db.session, engine) == []
