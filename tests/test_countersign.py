"""会签 and 或签: a review step done by several reviewers at once, with separation of duties.

A multi-instance user task in the diagram opens one work item per copy; its completion rule (the
diagram's completionCondition) decides when the step is done; the task's `separateDuties`
property says who may not do it: another copy's reviewer (会签 needs different people) or whoever
did a named earlier step. Everything here is diagram data: tests/diagrams/countersign.bpmn and
anysign.bpmn.
"""

from __future__ import annotations

from typing import Any

import pytest

from app.engine import Engine
from app.engine.errors import RefusedError
from app.services.audit import Actor
from tests.conftest import APPROVE, UNIT, Application, deploy_test_diagram, reject

FIRST = Actor("bianban-user", "编办")
REVIEWERS = [Actor(f"conac-{n}", "CONAC") for n in (1, 2, 3)]
ENTRY = {"domain_name": "测试", "years": 1}


@pytest.fixture
def countersign(engine: Engine, make_unit: Any, start: Any) -> Application:
    deploy_test_diagram(engine, "countersign.bpmn")
    return start("countersign", make_unit()).complete(UNIT, ENTRY).complete(FIRST, APPROVE)


def sign(application: Application, actor: Actor, data: dict[str, str], copy: int = 0) -> None:
    items = sorted(application.tasks, key=lambda i: i.id)
    application.engine.runner.complete(items[copy].task_id, actor, data)


def test_a_countersign_opens_one_work_item_per_reviewer(countersign: Application) -> None:
    items = countersign.tasks
    assert len(items) == 2 and {i.task_name for i in items} == {"sign"} and {i.role for i in items} == {"CONAC"}
    assert countersign.stage == "会签中"


def test_the_same_reviewer_cannot_sign_both_copies(countersign: Application) -> None:
    sign(countersign, REVIEWERS[0], APPROVE)
    with pytest.raises(RefusedError, match="须由不同人员分别办理"):
        sign(countersign, REVIEWERS[0], APPROVE)
    assert len(countersign.tasks) == 1  # the second copy is still open for a colleague
    sign(countersign, REVIEWERS[1], APPROVE)
    assert countersign.stage == "已通过"


def test_the_first_reviewer_cannot_countersign(engine: Engine, make_unit: Any, start: Any) -> None:
    deploy_test_diagram(engine, "countersign.bpmn")
    application = start("countersign", make_unit()).complete(UNIT, ENTRY).complete(Actor("both", "编办"), APPROVE)
    with pytest.raises(RefusedError, match="不得由办理“初审”的同一人办理"):
        sign(application, Actor("both", "CONAC"), APPROVE)


def test_one_rejection_in_a_countersign_sends_it_back_and_the_next_round_needs_two_again(
    countersign: Application,
) -> None:
    sign(countersign, REVIEWERS[0], APPROVE)
    sign(countersign, REVIEWERS[1], reject("名称不规范"))
    assert countersign.stage == "填报"
    countersign.complete(UNIT, ENTRY).complete(FIRST, APPROVE)
    sign(countersign, REVIEWERS[0], APPROVE)  # a new round: the same people may sign again, once each
    with pytest.raises(RefusedError):
        sign(countersign, REVIEWERS[0], APPROVE)
    sign(countersign, REVIEWERS[2], APPROVE)
    assert countersign.stage == "已通过"


def test_an_any_sign_ends_with_the_first_approval(engine: Engine, make_unit: Any, start: Any) -> None:
    deploy_test_diagram(engine, "anysign.bpmn")
    application = start("anysign", make_unit()).complete(UNIT, ENTRY).complete(FIRST, APPROVE)
    assert len(application.tasks) == 2
    sign(application, REVIEWERS[0], APPROVE)
    assert application.stage == "已通过" and application.tasks == []


def test_an_any_sign_goes_back_only_when_every_copy_rejects(engine: Engine, make_unit: Any, start: Any) -> None:
    deploy_test_diagram(engine, "anysign.bpmn")
    application = start("anysign", make_unit()).complete(UNIT, ENTRY).complete(FIRST, APPROVE)
    sign(application, REVIEWERS[0], reject("不规范"))
    assert application.stage == "或签中"
    sign(application, REVIEWERS[1], reject("不规范"))
    assert application.stage == "填报"
