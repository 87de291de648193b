"""Cost of completing one user task: SpiffWorkflow in memory (the floor) vs. our persisted runner.

Usage: python bench/engine.py [--instances 100] [--steps 5]

Workload: bench/loop.bpmn, a user task whose decision loops back to it (one gateway per step).
Each instance completes `steps` tasks. The floor runs the same spec with SpiffWorkflow's own
script engine and no database. Our figure is `Runner.complete` end to end: lock, load onto the
cached spec, validate the form, run, serialize, project work items, audit, commit. Figures are
measured in one run and reported as µs per task and as a ratio to the floor.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from app import create_app
from app.engine import get_engine
from app.extensions import db
from app.models import AuditEvent, ProcessInstance, Unit, WorkItem
from app.services.audit import Actor
from bench._databases import fresh_postgres_url

DIAGRAM = Path(__file__).resolve().parent / "loop.bpmn"
REJECT, APPROVE = {"decision": "reject", "reason": "再改一次"}, {"decision": "approve"}
UNIT_ACTOR = Actor("bench", "单位")


def decisions(steps: int) -> list[dict[str, str]]:
    return [REJECT] * (steps - 1) + [APPROVE]


def floor_per_task(compiled: Any, instances: int, steps: int) -> float:
    """SpiffWorkflow alone: complete each ready user task and run engine steps, in memory."""
    started = time.perf_counter()
    for _ in range(instances):
        workflow = BpmnWorkflow(compiled.spec, compiled.subprocess_specs, script_engine=PythonScriptEngine())
        workflow.do_engine_steps()
        for data in decisions(steps):
            (task,) = workflow.get_tasks(state=TaskState.READY, manual=True)
            task.set_data(**data)
            task.run()
            workflow.do_engine_steps()
    return (time.perf_counter() - started) / (instances * steps) * 1e6


def serialization_per_task(compiled: Any, instances: int, steps: int) -> float:
    """The floor plus our spec-less serializer round trip (load before, dump after each task)."""
    serializer = get_engine().runner.serializer
    started = time.perf_counter()
    for _ in range(instances):
        workflow = BpmnWorkflow(compiled.spec, compiled.subprocess_specs, script_engine=PythonScriptEngine())
        workflow.do_engine_steps()
        state = serializer.dump(workflow)
        for data in decisions(steps):
            workflow = serializer.load(state, compiled.spec, compiled.subprocess_specs)
            workflow.script_engine = PythonScriptEngine()
            (task,) = workflow.get_tasks(state=TaskState.READY, manual=True)
            task.set_data(**data)
            task.run()
            workflow.do_engine_steps()
            state = serializer.dump(workflow)
    return (time.perf_counter() - started) / (instances * steps) * 1e6


def bare_transaction_per_task(instance_ids: list[int], steps: int) -> float:
    """The database alone: one UPDATE of the instance row, one audit-sized INSERT, COMMIT.

    The inserted rows are placeholders outside the audit chain (no head lock, no hash): a scratch database's.
    """
    started = time.perf_counter()
    for number in range(steps):
        for instance_id in instance_ids:
            db.session.execute(
                db.update(ProcessInstance).where(ProcessInstance.id == instance_id).values(stage=f"bench {number}")
            )
            db.session.execute(
                db.insert(AuditEvent).values(
                    actor="bench",
                    role="单位",
                    action="bench",
                    instance_id=instance_id,
                    detail={},
                    seq=0,
                    prev_hash="0" * 64,
                    row_hash="0" * 64,
                )
            )
            db.session.commit()
    return (time.perf_counter() - started) / (len(instance_ids) * steps) * 1e6


def persisted_per_task(instances: int, steps: int) -> float:
    """Our runner: one locked, persisted transaction per completed task."""
    runner = get_engine().runner
    unit_ids = [_unit(n).id for n in range(instances)]
    instance_ids = [runner.start("bench_loop", unit_id, UNIT_ACTOR).id for unit_id in unit_ids]
    elapsed = 0.0
    for data in decisions(steps):
        for instance_id in instance_ids:
            task_id = db.session.scalar(db.select(WorkItem.task_id).where(WorkItem.instance_id == instance_id))
            started = time.perf_counter()
            runner.complete(task_id, UNIT_ACTOR, data)
            elapsed += time.perf_counter() - started
    return elapsed / (instances * steps) * 1e6


def _unit(number: int) -> Unit:
    unit = Unit(
        name=f"基准单位{number}",
        uscc=uuid.uuid4().hex[:18].upper(),
        unit_type="党政机关",
        region_code="150600",
        level="city",
    )
    db.session.add(unit)
    db.session.commit()
    return unit


def measure(url: str, instances: int, steps: int) -> dict[str, float]:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        from flask_migrate import upgrade

        upgrade(directory=str(Path(__file__).resolve().parent.parent / "migrations"), revision="heads")
        engine = get_engine()
        row, _ = engine.deploy_file(DIAGRAM, "bench")
        compiled = engine.definitions.compiled(row)
        floor_per_task(compiled, 5, steps)  # warm-up
        persisted_per_task(5, steps)
        figures = {
            "floor": statistics.median(floor_per_task(compiled, instances, steps) for _ in range(3)),
            "serialized": serialization_per_task(compiled, instances, steps),
            "persisted": persisted_per_task(instances, steps),
        }
        ids = list(db.session.scalars(db.select(ProcessInstance.id).limit(instances)))
        figures["bare_tx"] = bare_transaction_per_task(ids, steps)
        db.session.remove()
        db.engine.dispose()
    return figures


def report(label: str, run: Callable[[], dict[str, float]]) -> None:
    f = run()
    floor = f["floor"]
    print(f"{label}:")
    print(f"  SpiffWorkflow in memory (floor)        {floor:8.0f} µs/task   1.00×")
    print(f"  + serializer load/dump per task        {f['serialized']:8.0f} µs/task   {f['serialized'] / floor:.2f}×")
    print(f"  bare DB transaction (UPDATE+INSERT)    {f['bare_tx']:8.0f} µs/task   {f['bare_tx'] / floor:.2f}×")
    print(f"  Runner.complete, lock → commit         {f['persisted']:8.0f} µs/task   {f['persisted'] / floor:.2f}×")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instances", type=int, default=100)
    parser.add_argument("--steps", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        sqlite_url = f"sqlite:///{folder}/bench.sqlite3"
        report("SQLite", lambda: measure(sqlite_url, args.instances, args.steps))
    pg_url = fresh_postgres_url("conac_bench")
    if pg_url:
        report("PostgreSQL", lambda: measure(pg_url, args.instances, args.steps))


if __name__ == "__main__":
    main()
