"""An application's stored state stays bounded however many rounds it goes through.

SpiffWorkflow keeps every task it ran; the runner cuts finished rounds off the task tree on every
save (the history is in the audit table). In tests/diagrams/rounds.bpmn a round is 审核 beside an
automatic 登记 (a parallel section), then 不通过 back into the split; 审核 carries the 撤回
boundary message event the shipped diagrams have, leading to the unit's 撤回后修改 and back.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select, update

from app.engine import Engine
from app.engine.compaction import PlatformWorkflow, compact
from app.engine.definitions import CompiledDefinition
from app.extensions import db
from app.models import ProcessInstance, WorkItem
from app.services.audit import Actor
from tests.conftest import APPROVE, BIANBAN, CONAC, DOMAIN_APPLICATION, UNIT, Application, deploy_test_diagram, reject

DIAGRAMS = Path(__file__).parent / "diagrams"
ROUNDS = 1000
WITHDRAW_EVERY = 100  # every 100th round the unit first withdraws (撤回) and resubmits


def deploy(engine: Engine, name: str) -> CompiledDefinition:
    return engine.definitions.compiled(deploy_test_diagram(engine, name))


def state_size(application: Application) -> int:
    return len(json.dumps(application.instance.state, ensure_ascii=False))


def complete(engine: Engine, application: Application, task_name: str, actor: Actor, data: dict[str, Any]) -> None:
    """Complete the open task, which must be `task_name` (one query: this runs thousands of times)."""
    query = select(WorkItem.task_id, WorkItem.task_name).where(WorkItem.instance_id == application.instance_id)
    ((task_id, open_task),) = db.session.execute(query).all()
    assert open_task == task_name
    engine.runner.complete(task_id, actor, data)


def one_round(engine: Engine, application: Application, number: int) -> None:
    """编办 rejects (不通过) and 审核 opens again; every 100th round the unit first withdraws and resubmits."""
    if number % WITHDRAW_EVERY == 0:
        engine.runner.withdraw(application.instance_id, UNIT)
        resubmission = {**DOMAIN_APPLICATION, "years": number // WITHDRAW_EVERY}
        complete(engine, application, "withdrawn", UNIT, resubmission)
    complete(engine, application, "review", BIANBAN, reject(f"第{number}轮退回"))


def test_a_thousand_rounds_keep_the_state_small_and_the_application_whole(
    engine: Engine, make_unit: Any, start: Any
) -> None:
    deploy(engine, "rounds.bpmn")
    application = start("rounds", make_unit(), {"rejections": 0})

    one_round(engine, application, 1)
    after_first = state_size(application)
    for number in range(2, ROUNDS + 1):
        one_round(engine, application, number)

    assert state_size(application) <= 2 * after_first
    assert (application.stage, application.task().task_name) == ("待审核", "review")
    data = application.data()
    assert (data["rejections"], data["years"], data["registered"]) == (ROUNDS, ROUNDS // WITHDRAW_EVERY, True)
    passed, current = engine.reader.progress(application.instance_id)
    assert {"start", "fork", "tally", "decision", "count", "withdraw_request", "withdrawn"} <= set(passed)
    assert current == ["merge", "review"]  # 登记 has arrived at the join: it waits for 审核

    complete(engine, application, "review", BIANBAN, APPROVE)
    finished = application.instance
    assert (finished.status, finished.stage, application.tasks) == ("completed", "已通过", [])
    assert "done" in engine.reader.progress(application.instance_id)[0]


@pytest.mark.parametrize("process_id", ["parallel_rounds", "inclusive_rounds"])
def test_a_join_in_a_loop_waits_for_both_branches_whichever_comes_first(
    engine: Engine, make_unit: Any, start: Any, process_id: str
) -> None:
    """Uncut, SpiffWorkflow takes an earlier round's join task for an arrived branch and fires early.

    In parallel_rounds the split is also where the loop comes back in: SpiffWorkflow then walks up
    past the split, back to the start event, to see that the loop-back input is not awaited.
    """
    deploy(engine, f"{process_id}.bpmn")
    application = start(process_id, make_unit())
    branches = {"legal_review": BIANBAN, "tech_review": CONAC}

    def decide(task_name: str, decision: dict[str, str]) -> None:
        (item,) = [i for i in application.tasks if i.task_name == task_name]
        engine.runner.complete(item.task_id, branches[task_name], decision)

    for number in range(4):
        first, second = sorted(branches, reverse=number % 2 == 1)
        decide(first, reject("需补充"))
        assert [i.task_name for i in application.tasks] == [second]
        decide(second, reject("需补充"))
        assert sorted(i.task_name for i in application.tasks) == sorted(branches)
    decide("tech_review", APPROVE)
    decide("legal_review", APPROVE)
    assert application.instance.status == "completed"


class Driver:
    """One workflow driven in memory, either kept whole or cut and restored from its state each step."""

    def __init__(self, engine: Engine, compiled: CompiledDefinition, cut: bool) -> None:
        self.serializer, self.compiled, self.cut = engine.runner.serializer, compiled, cut
        self.workflow = PlatformWorkflow(compiled.spec, compiled.subprocess_specs, script_engine=PythonScriptEngine())
        self.workflow.task_tree.data["rejections"] = 0
        self.settle()

    def settle(self) -> None:
        self.workflow.do_engine_steps()
        if self.cut:
            compact(self.workflow)
            state = json.loads(json.dumps(self.serializer.dump(self.workflow)))
            self.workflow = self.serializer.load(state, self.compiled.spec, self.compiled.subprocess_specs)
            self.workflow.script_engine = PythonScriptEngine()

    def act(self, step: tuple[str, dict[str, Any]]) -> None:
        element, data = step
        if element == "撤回":
            self.workflow.send_event(BpmnEvent(MessageEventDefinition("撤回"), payload={}))
        else:
            (task,) = [t for t in self.workflow.get_tasks(state=TaskState.READY, manual=True)]
            assert task.task_spec.bpmn_id == element
            task.set_data(**copy.deepcopy(data))
            task.run()
        self.settle()

    def seen(self) -> tuple[list[str], list[str], dict[str, Any], bool]:
        open_now = self.workflow.get_tasks(state=TaskState.READY | TaskState.WAITING)
        ready = sorted(t.task_spec.bpmn_id for t in open_now if t.state == TaskState.READY)
        waiting = sorted(t.task_spec.bpmn_id for t in open_now if t.state == TaskState.WAITING)
        return ready, waiting, dict(self.workflow.last_task.data), self.workflow.completed


REJECT_ROUND = [("review", reject("退回"))]
WITHDRAW_ROUND = [("撤回", {}), ("withdrawn", {**DOMAIN_APPLICATION, "years": 5}), *REJECT_ROUND]


@pytest.mark.parametrize("rounds_before", [1, 20])
def test_a_workflow_restored_from_a_compacted_state_takes_the_same_next_steps(
    engine: Engine, rounds_before: int
) -> None:
    compiled = deploy(engine, "rounds.bpmn")
    whole, cut = Driver(engine, compiled, cut=False), Driver(engine, compiled, cut=True)
    steps = REJECT_ROUND * rounds_before + WITHDRAW_ROUND + REJECT_ROUND + [("review", APPROVE)]
    for step in steps:
        whole.act(step)
        cut.act(step)
        assert cut.seen() == whole.seen(), step
    assert cut.workflow.completed and len(cut.workflow.tasks) < len(whole.workflow.tasks)


def legacy_state(state: dict[str, Any], depth: int) -> dict[str, Any]:
    """`state` as version 1 left it after many rounds: a long chain of finished tasks under the root."""
    tasks = state["tasks"]
    root = tasks[state["root"]]
    (first,) = root["children"]
    chain: dict[str, dict[str, Any]] = {}
    parent = {**root}
    for number in range(depth):
        task = {**tasks[first], "id": str(uuid4()), "parent": parent["id"], "state": TaskState.COMPLETED}
        spec = LEGACY_CHAIN[number % len(LEGACY_CHAIN)] if number else "start"
        task.update(task_spec=spec, delta={"updates": {}, "deletions": []})
        parent["children"] = [task["id"]]
        chain[parent["id"]] = parent
        parent = task
    parent["children"] = [first]
    chain[parent["id"]] = parent
    rest = {task_id: task for task_id, task in tasks.items() if task_id not in chain}
    rest[first] = {**tasks[first], "parent": parent["id"]}
    old = {key: value for key, value in state.items() if key != "passed"}
    return {**old, "tasks": {**chain, **rest}, "typename": "BpmnWorkflow"}


LEGACY_CHAIN = ["fork", "review.BoundaryEventSplit", "review", "merge", "decision", "count", "tally"]


def test_a_state_saved_before_compaction_existed_is_cut_on_load_and_goes_on(
    engine: Engine, make_unit: Any, start: Any
) -> None:
    """Past 1 000 levels SpiffWorkflow's task iterator no longer sees the open tasks (nor do its recursive walks)."""
    deploy(engine, "rounds.bpmn")
    application = start("rounds", make_unit(), {"rejections": 0})
    state = legacy_state(application.instance.state, depth=1500)
    db.session.execute(
        update(ProcessInstance)
        .where(ProcessInstance.id == application.instance_id)
        .values(state=state, serializer_version="spiff-3.2/1")
    )
    db.session.commit()

    complete(engine, application, "review", BIANBAN, reject("再改"))
    complete(engine, application, "review", BIANBAN, reject("再改"))

    assert (application.task().task_name, application.data()["rejections"]) == ("review", 2)
    instance = application.instance
    assert (instance.serializer_version, len(instance.state["tasks"]) < 50) == (engine.runner.serializer.version, True)
    assert {"start", "count"} <= set(engine.reader.progress(application.instance_id)[0])
