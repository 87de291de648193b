"""What one completion sends to the database, and what it costs next to its parts, on SQLite and PostgreSQL.

Usage: python bench/completion.py [--instances 60] [--steps 5] [--repeats 3]

Workload: bench/loop.bpmn (a user task whose decision loops back to it), as bench/engine.py, whose
measurements this reuses. Printed per database, all measured in the same run:

- statements and round trips of one `Runner.complete` (tests/round_trips.py: cursor executions, plus
  BEGIN and COMMIT);
- ms per completion of SpiffWorkflow alone, of SpiffWorkflow plus the state round trip (serializer load
  and dump), of a bare transaction (UPDATE + INSERT + COMMIT) and of `Runner.complete` from a fresh
  transaction to its commit;
- the ratio Runner.complete / (state round trip + bare transaction): what the runner adds over the least
  a persisted completion needs. Each time is the median of `--repeats` rounds taken in turn, so a busy
  machine slows all of them alike.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow

from app import create_app
from app.engine import get_engine
from app.extensions import db
from app.models import ProcessInstance, WorkItem
from bench._databases import fresh_postgres_url
from bench.engine import (
    DIAGRAM,
    REJECT,
    UNIT_ACTOR,
    _unit,
    bare_transaction_per_task,
    decisions,
    floor_per_task,
    serialization_per_task,
)
from tests.round_trips import Sent, counted


def completion_per_task(instances: int, steps: int) -> float:
    """µs per `Runner.complete`, each from a fresh transaction (the task id is read before, untimed)."""
    runner = get_engine().runner
    instance_ids = [runner.start("bench_loop", _unit(n).id, UNIT_ACTOR).id for n in range(instances)]
    elapsed = 0.0
    for data in decisions(steps):
        for instance_id in instance_ids:
            task_id = db.session.scalar(db.select(WorkItem.task_id).where(WorkItem.instance_id == instance_id))
            db.session.rollback()
            started = time.perf_counter()
            runner.complete(task_id, UNIT_ACTOR, data)
            elapsed += time.perf_counter() - started
    return elapsed / (instances * steps) * 1e6


def one_completion_sent() -> Sent:
    """What a completion in the middle of an application (a reject round: a new task replaces it) sends."""
    runner = get_engine().runner
    instance_id = runner.start("bench_loop", _unit(10_000).id, UNIT_ACTOR).id
    for round_number in range(3):
        task_id = db.session.scalar(db.select(WorkItem.task_id).where(WorkItem.instance_id == instance_id))
        db.session.rollback()
        with counted(db.engine) as sent:
            runner.complete(task_id, UNIT_ACTOR, REJECT)
        if round_number == 2:
            return sent
    raise AssertionError("unreachable")


def measure(url: str, instances: int, steps: int, repeats: int) -> tuple[Sent, dict[str, float]]:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        from flask_migrate import upgrade

        upgrade(directory=str(Path(__file__).resolve().parent.parent / "migrations"), revision="heads")
        engine = get_engine()
        row, _ = engine.deploy_file(DIAGRAM, "bench")
        compiled = engine.definitions.compiled(row)
        sent = one_completion_sent()
        floor_per_task(compiled, 5, steps)  # warm-up
        completion_per_task(5, steps)
        ids = list(db.session.scalars(db.select(ProcessInstance.id).limit(instances)))
        rounds: dict[str, list[float]] = {"floor": [], "serialized": [], "bare_tx": [], "complete": [], "sealing": []}
        for _ in range(repeats):
            rounds["sealing"].append(sealing_per_task(compiled))
            rounds["floor"].append(floor_per_task(compiled, instances, steps))
            rounds["serialized"].append(serialization_per_task(compiled, instances, steps))
            rounds["bare_tx"].append(bare_transaction_per_task(ids, steps))
            rounds["complete"].append(completion_per_task(instances, steps))
        db.session.remove()
        db.engine.dispose()
    return sent, {name: statistics.median(values) / 1000 for name, values in rounds.items()}


def sealing_per_task(compiled: Any, repeats: int = 200) -> float:
    """Opening and sealing the state as the column stores it (JSON + the personal-data cipher), once each per
    completion: the part of the floor issue 12's encryption at rest adds."""
    workflow = BpmnWorkflow(compiled.spec, compiled.subprocess_specs, script_engine=PythonScriptEngine())
    workflow.do_engine_steps()
    state, column = get_engine().runner.serializer.dump(workflow), ProcessInstance.__table__.c.state.type
    started = time.perf_counter()
    for _ in range(repeats):
        column.process_result_value(column.process_bind_param(state, None), None)
    return (time.perf_counter() - started) / repeats * 1e6


def report(label: str, run: Callable[[], tuple[Sent, dict[str, float]]], show_statements: bool) -> None:
    sent, f = run()
    least = f["serialized"] + f["bare_tx"]
    print(f"{label}:")
    print(f"  statements per completion              {len(sent.statements):8d}")
    print(f"  round trips per completion             {sent.round_trips:8d}")
    print(f"  SpiffWorkflow in memory                {f['floor']:8.2f} ms")
    print(f"  SpiffWorkflow + state round trip       {f['serialized']:8.2f} ms")
    print(f"  bare transaction (UPDATE+INSERT)       {f['bare_tx']:8.2f} ms")
    print(f"  Runner.complete                        {f['complete']:8.2f} ms")
    print(f"  ratio complete / (state + bare tx)     {f['complete'] / least:8.2f}")
    print(f"  state sealed at rest (open + seal)     {f['sealing']:8.2f} ms")
    print(f"  ratio with the sealing in the floor    {f['complete'] / (least + f['sealing']):8.2f}")
    if show_statements:
        for number, statement in enumerate(sent.statements, 1):
            print(f"    {number:2d}. {statement[:110]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instances", type=int, default=60)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--statements", action="store_true", help="list the statements of one completion")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench.sqlite3"
        report("SQLite", lambda: measure(url, args.instances, args.steps, args.repeats), args.statements)
    pg_url = fresh_postgres_url("conac_bench_completion")
    if pg_url:
        report("PostgreSQL", lambda: measure(pg_url, args.instances, args.steps, args.repeats), args.statements)


if __name__ == "__main__":
    main()
