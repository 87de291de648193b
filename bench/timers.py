"""Timer worker on PostgreSQL: how fast `flask worker` processes clear timers all due at once, and how late
timers falling due under steady load fire.

Usage: python bench/timers.py [--timers 10000] [--workers 2] [--batch 50] [--seconds 20]

Runs on a fresh database `conac_bench_timers` on 127.0.0.1:5432 (exits 2 when it does not answer) with the
tests' diagram tests/diagrams/timed.bpmn (start → timer on the start data's `due` → a script → end). One
application is started through the runner; the others are copies of it (fresh task ids, their own `due`),
written straight to the tables, so setting up 10 000 takes seconds and fires nothing.

1. Backlog: `--timers` timers due at once, cleared by `--workers` real `flask worker` processes with
   WORKER_BATCH_SIZE=`--batch`. Printed: seconds from the first firing to the last (the workers' Python
   start-up left out), timers/s, and the check that each fired exactly once and every application ended.
2. Lateness: for `--seconds`, a timer falls due every 100 ms, and every second a burst of `--burst` more
   falls due at one moment (work that keeps a worker busy); all are created while the workers sleep.
   Lateness = when the firing was audited − when it was due, over the 100 ms stream. Printed p50/p95/max,
   for the worker of today and for the loop it replaced (a batch of 50, then a full `--interval` of 5 s
   asleep whenever a round found nothing; run here by `--old-loop`, the same claim and firing code).
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import orjson
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import func, insert, select, text

from app import create_app
from app.engine import get_engine
from app.extensions import db
from app.models import AuditEvent, ProcessInstance, TimerSubscription, Unit
from app.services.audit import Actor
from bench._databases import fresh_postgres_url

ROOT = Path(__file__).resolve().parent.parent
DATABASE = "conac_bench_timers"
FLASK = str(ROOT / ".venv" / "bin" / "flask")
UUID_TEXT = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
STREAM_STEP, OLD_INTERVAL, OLD_BATCH = 0.1, 5.0, 50
INSERT_CHUNK = 1000
OTHER_CONNECTIONS = text(
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
)


# ---- set-up ---------------------------------------------------------------------------------


def make_app(url: str) -> Flask:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"), revision="heads")
        get_engine().deploy_file(ROOT / "tests" / "diagrams" / "timed.bpmn", "bench", files_root=ROOT / "tests")
        db.session.add(
            Unit(name="基准单位", uscc="BENCH0000000000001", unit_type="党政机关", region_code="150600", level="city")
        )
        db.session.commit()
    return app


def template(due: datetime) -> tuple[ProcessInstance, TimerSubscription]:
    """One application started through the runner, waiting for `due`: what the copies copy."""
    unit_id = db.session.scalar(select(Unit.id))
    instance = get_engine().runner.start(
        "timed", unit_id, Actor("bench", "单位"), {"due": due.isoformat(), "divisor": 1}
    )
    timer = db.session.scalars(select(TimerSubscription).where(TimerSubscription.instance_id == instance.id)).one()
    return instance, timer


def copies(dues: list[datetime]) -> list[int]:
    """Applications waiting for the given due times, copied from a fresh template; their ids."""
    source, timer = template(datetime.now(UTC) + timedelta(days=1))
    state = orjson.dumps(source.state)
    old_due = timer.due_at.isoformat().encode()
    assert old_due in state, "the template's state names its due time"
    ids: list[int] = []
    for start in range(0, len(dues), INSERT_CHUNK):
        ids += _insert_copies(source, timer, state, old_due, dues[start : start + INSERT_CHUNK])
    return ids  # the template waits a day: no worker touches it here


def _insert_copies(
    source: ProcessInstance, timer: TimerSubscription, state: bytes, old_due: bytes, dues: list[datetime]
) -> list[int]:
    instances, timers = [], []
    for due in dues:
        copied, renamed = _copy_of(state, old_due, due)
        instances.append(_instance_row(source, orjson.loads(copied)))
        timers.append(
            {"task_id": renamed[timer.task_id.encode()].decode(), "task_name": timer.task_name, "due_at": due}
        )
    table = ProcessInstance.__table__
    ids = list(db.session.scalars(insert(table).returning(table.c.id, sort_by_parameter_order=True), instances))
    db.session.execute(insert(TimerSubscription), [{**t, "instance_id": i} for t, i in zip(timers, ids, strict=True)])
    db.session.commit()
    return ids


def _copy_of(state: bytes, old_due: bytes, due: datetime) -> tuple[bytes, dict[bytes, bytes]]:
    """The template's state with fresh task ids and `due` for its due time; the task ids renamed."""
    renamed = {found: str(uuid.uuid4()).encode() for found in set(UUID_TEXT.findall(state))}
    copied = UUID_TEXT.sub(lambda match: renamed[match.group()], state)
    return copied.replace(old_due, due.isoformat().encode()), renamed


def _instance_row(source: ProcessInstance, state: dict[str, Any]) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "business_key": f"DB{uuid.uuid4().hex[:16]}",
        "definition_id": source.definition_id,
        "unit_id": source.unit_id,
        "stage": source.stage,
        "status": "running",
        "state": state,
        "serializer_version": source.serializer_version,
        "version": source.version,
        "created_by": source.created_by,
        "created_at": now,
        "updated_at": now,
    }


# ---- workers ------------------------------------------------------------------------------


def start_workers(url: str, count: int, batch: int, old: bool) -> list[subprocess.Popen[bytes]]:
    """`count` worker processes; returns once each has connected (a Python start-up takes seconds here)."""
    env = {**os.environ, "FLASK_APP": "app", "DATABASE_URL": url, "WORKER_BATCH_SIZE": str(batch)}
    command = [sys.executable, __file__, "--old-loop"] if old else [FLASK, "worker", "--interval", "5"]
    workers = [subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL) for _ in range(count)]
    while (db.session.scalar(OTHER_CONNECTIONS) or 0) < count:
        db.session.rollback()
        time.sleep(0.2)
    db.session.rollback()
    return workers


def stop_workers(workers: list[subprocess.Popen[bytes]]) -> None:
    for worker in workers:
        worker.send_signal(signal.SIGTERM)
    for worker in workers:
        worker.wait(timeout=120)


def old_loop() -> None:
    """The loop before issue 13: batches of 50, and a full interval asleep after any round that found nothing."""
    app = create_app()
    stop: list[int] = []
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.append(signum))
    with app.app_context():
        runner = get_engine().runner
        while not stop:
            if not runner.fire_due_timers(runner.clock(), OLD_BATCH):
                time.sleep(OLD_INTERVAL)


def ended(ids: list[int]) -> int:
    db.session.rollback()
    query = select(func.count()).where(ProcessInstance.id.in_(ids), ProcessInstance.status != "running")
    return db.session.scalar(query) or 0


def fired_twice() -> int:
    query = select(AuditEvent.instance_id).where(AuditEvent.action == "timer").group_by(AuditEvent.instance_id)
    return len(db.session.scalars(query.having(func.count() > 1)).all())


# ---- the two measurements ------------------------------------------------------------------


def backlog(url: str, args: argparse.Namespace) -> None:
    """The timers fall due while no worker runs; the workers start, and the clock runs from the first firing."""
    made = time.perf_counter()
    ids = copies([datetime.now(UTC)] * args.timers)
    print(f"set-up: {args.timers} applications waiting for the same moment in {time.perf_counter() - made:.1f} s")
    workers = start_workers(url, args.workers, args.batch, old=False)
    try:
        while ended(ids) < len(ids):
            time.sleep(0.2)
    finally:
        stop_workers(workers)
    first, last = db.session.execute(
        select(func.min(AuditEvent.at), func.max(AuditEvent.at)).where(AuditEvent.action == "timer")
    ).one()
    seconds = (last - first).total_seconds()
    completed = db.session.scalar(select(func.count()).where(ProcessInstance.status == "completed"))
    print(f"backlog: {args.timers} timers due at once, cleared by {args.workers} workers (batch {args.batch})")
    print(f"  {seconds:.1f} s from the first firing to the last, {args.timers / seconds:.0f} timers/s")
    print(f"  fired more than once: {fired_twice()}; applications ended: {completed} of {args.timers}")


def lateness(url: str, args: argparse.Namespace, old: bool) -> list[float]:
    """Seconds each 100 ms-stream timer fired after it fell due, with bursts of other timers in between."""
    workers = start_workers(url, args.workers, args.batch if not old else OLD_BATCH, old)
    first = datetime.now(UTC) + timedelta(seconds=5)  # after the set-up below, while the workers sleep
    steps = int(args.seconds / STREAM_STEP)
    stream = [first + timedelta(seconds=n * STREAM_STEP) for n in range(steps)]
    bursts = [first + timedelta(seconds=s + 0.05) for s in range(int(args.seconds)) for _ in range(args.burst)]
    stream_ids = copies(stream)
    burst_ids = copies(bursts)
    try:
        while ended(stream_ids + burst_ids) < len(stream_ids) + len(burst_ids):
            time.sleep(0.5)
    finally:
        stop_workers(workers)
    fired_at = dict(
        db.session.execute(
            select(AuditEvent.instance_id, AuditEvent.at).where(
                AuditEvent.action == "timer", AuditEvent.instance_id.in_(stream_ids)
            )
        ).all()
    )
    return [(fired_at[i] - due).total_seconds() for i, due in zip(stream_ids, stream, strict=True)]


def report(label: str, late: list[float]) -> None:
    ordered = sorted(late)
    p95 = ordered[int(0.95 * (len(ordered) - 1))]
    print(f"  {label}: p50 {statistics.median(ordered):.2f} s, p95 {p95:.2f} s, max {ordered[-1]:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--timers", type=int, default=10000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--burst", type=int, default=10)
    parser.add_argument("--old-loop", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.old_loop:
        return old_loop()
    url = fresh_postgres_url(DATABASE)
    if url is None:
        print("PostgreSQL does not answer on 127.0.0.1:5432", file=sys.stderr)
        sys.exit(2)
    with make_app(url).app_context():
        backlog(url, args)
        print(f"lateness: a timer due every 100 ms and {args.burst} more at once each second, {args.seconds:.0f} s")
        report("this worker", lateness(url, args, old=False))
        report(f"the loop before ({OLD_INTERVAL:.0f} s asleep when idle)", lateness(url, args, old=True))
        print("before, as issue 13 measured it: 1 000 timers due at once cleared after ~110 s (~9 timers/s)")
        print(f"load average of the machine (1, 5, 15 min): {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
        db.engine.dispose()


if __name__ == "__main__":
    main()
