"""Stored state size and completion time of one application over many reject/resubmit rounds.

Usage: python bench/rounds.py [--rounds 1000] [--window 20]

Workload: tests/diagrams/rounds.bpmn, a loop of 审核 (carrying the 撤回 boundary event) beside
an automatic 登记 in a parallel section, and 不通过 back into the split. One round is 编办
rejecting once: one `Runner.complete`, a whole locked transaction (load, run, cut the history,
serialize, project, audit, commit). Reported around rounds 1, 100 and `--rounds`: the stored
state in bytes (as JSON) after that round, and the mean time of a completion over the `--window`
rounds around it (rounds 1-20, 91-110 and 981-1000 by default), on SQLite and on PostgreSQL when
127.0.0.1:5432 answers, measured in one run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app import create_app
from app.engine import get_engine
from app.extensions import db
from app.models import ProcessInstance, Unit, WorkItem
from app.services.audit import Actor
from bench._databases import ensure_office, fresh_postgres_url

DIAGRAM = Path(__file__).resolve().parent.parent / "tests" / "diagrams" / "rounds.bpmn"
UNIT, BIANBAN = Actor("bench-unit", "单位"), Actor("bench-bianban", "编办")
REJECT = {"decision": "reject", "reason": "材料不全，请补充"}


def complete(instance_id: int, actor: Actor, data: dict[str, object]) -> float:
    """One completion of the instance's open task; returns its duration in seconds."""
    task_id = db.session.scalar(db.select(WorkItem.task_id).where(WorkItem.instance_id == instance_id))
    started = time.perf_counter()
    get_engine().runner.complete(task_id, actor, data)
    return time.perf_counter() - started


def state_bytes(instance_id: int) -> int:
    db.session.expire_all()
    state = db.session.get(ProcessInstance, instance_id).state  # type: ignore[union-attr]
    return len(json.dumps(state, ensure_ascii=False).encode())


def window_around(number: int, rounds: int, window: int) -> range:
    first = max(1, min(number - window // 2 + 1, rounds - window + 1))
    return range(first, min(first + window, rounds + 1))


def new_instance() -> int:
    unit = Unit(
        name="基准单位", uscc=uuid.uuid4().hex[:18].upper(), unit_type="党政机关", region_code="150600", level="city"
    )
    db.session.add(unit)
    db.session.commit()
    return get_engine().runner.start("rounds", unit.id, UNIT, {"rejections": 0}).id


def run_rounds(instance_id: int, rounds: int, marks: set[int]) -> tuple[dict[int, float], dict[int, int]]:
    """Seconds of each round's completion, and the state size after each marked round."""
    per_round: dict[int, float] = {}
    sizes: dict[int, int] = {}
    for number in range(1, rounds + 1):
        per_round[number] = complete(instance_id, BIANBAN, REJECT)
        if number in marks:
            sizes[number] = state_bytes(instance_id)
    return per_round, sizes


def measure(url: str, rounds: int, window: int) -> list[tuple[int, int, float]]:
    """(round, state bytes after it, mean ms per completion over the rounds around it)."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        from flask_migrate import upgrade

        upgrade(directory=str(Path(__file__).resolve().parent.parent / "migrations"), revision="heads")
        get_engine().deploy_file(DIAGRAM, "bench", files_root=DIAGRAM.parent.parent)
        ensure_office("编办", "150600", "鄂尔多斯市委编办")
        run_rounds(new_instance(), 5, set())  # warm-up: caches, connections, script workers
        marks = {1, min(100, rounds), rounds}
        per_round, sizes = run_rounds(new_instance(), rounds, marks)
        db.session.remove()
        db.engine.dispose()
    figures = []
    for number in sorted(marks):
        around = [per_round[n] for n in window_around(number, rounds, window)]
        figures.append((number, sizes[number], statistics.mean(around) * 1000))
    return figures


def report(label: str, figures: list[tuple[int, int, float]], window: int) -> None:
    print(f"{label}:")
    print(f"  {'round':>6}  {'state (bytes)':>14}  {'ms per completion':>18}  (mean of the {window} rounds around)")
    for number, size, millis in figures:
        print(f"  {number:>6}  {size:>14,}  {millis:>18.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=1000)
    parser.add_argument("--window", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        report("SQLite", measure(f"sqlite:///{folder}/bench.sqlite3", args.rounds, args.window), args.window)
    pg_url = fresh_postgres_url("conac_bench_rounds")
    if pg_url:
        report("PostgreSQL", measure(pg_url, args.rounds, args.window), args.window)


if __name__ == "__main__":
    main()
