"""Many people completing the same task at the same moment: it is completed once, every other attempt is
a conflict, and nothing else goes wrong.

The issue's 50 threads × 200 tasks take minutes: bench/reliability.py runs them and prints the figures.
Here 50 threads race for each of a few tasks.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from app.engine import Engine
from app.extensions import db
from app.models import ProcessInstance
from tests.reliability.harness import (
    APPROVE,
    RaceFigures,
    at_review,
    audit_count,
    inconsistencies,
    open_task,
    race_for_task,
)

pytestmark = pytest.mark.usefixtures("two_reviews")
THREADS, TASKS = 50, 4


def test_fifty_threads_completing_the_same_task_complete_it_exactly_once(
    app: Flask, engine: Engine, make_unit: Any
) -> None:
    instance_ids = at_review(engine, make_unit().id, TASKS)
    figures = RaceFigures()
    for instance_id in instance_ids:
        race_for_task(app, open_task(instance_id).task_id, THREADS, "编办", APPROVE, figures)

    assert (figures.attempts, figures.wins, figures.doubles) == (THREADS * TASKS, TASKS, 0)
    assert figures.conflicts == THREADS * TASKS - TASKS
    assert figures.other_errors == []
    db.session.expire_all()
    for instance_id in instance_ids:
        assert audit_count(db.session, instance_id, "complete", "review") == 1
        assert db.session.get(ProcessInstance, instance_id).stage == "复审中"  # type: ignore[union-attr]
        assert open_task(instance_id).role == "CONAC"  # the next task, once
    assert inconsistencies(db.session, engine) == []
