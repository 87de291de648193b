"""Reliability on PostgreSQL at the issue's scale: races, SIGKILLed web and worker processes, repeated actions.

Usage: python bench/reliability.py [--threads 50] [--tasks 200] [--kill-runs 5]

Runs on a fresh database `conac_bench_reliability` on 127.0.0.1:5432 (exits 2 when it does not answer),
with the tests' own diagram tests/diagrams/two_reviews.bpmn and the demo accounts. The machinery is the
reliability tests' (tests/reliability/harness.py); here with the issue's numbers:

- races: `--threads` threads complete the same 初审 at once, for each of `--tasks` applications;
- web kills: `--kill-runs` times a real `flask run` under load from 8 logged-in browsers is SIGKILLed after
  a different number of acknowledged submissions, checked, and restarted; a last server takes the rest;
- worker kills: `--kill-runs` times two `flask worker` processes firing 40 due timers are SIGKILLed
  part-way and one is restarted;
- repeats: one 认款 batch confirmed by `--threads` threads at once and once more afterwards, and
  `--threads` forms each sent by 10 threads at once.

Printed: attempts, doubles, kill runs, inconsistencies, acknowledged actions missing — all but attempts
and runs must be 0; the exit status is 1 otherwise.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask import Flask
from flask_migrate import upgrade

from app import create_app
from app.engine import get_engine
from app.engine.errors import ConflictError, RefusedError
from app.extensions import db
from app.models import User, WorkItem
from app.services import demo
from bench._databases import fresh_postgres_url
from tests.reliability import harness
from tests.test_runner import in_threads

ROOT = Path(__file__).resolve().parent.parent
WEB_CLIENTS, WEB_APPLICATIONS, TIMER_APPLICATIONS, SUBMIT_THREADS = 8, 400, 40, 10


class Tally:
    """The figures printed at the end."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, int]] = []
        self.must_be_zero: list[tuple[str, int]] = []

    def count(self, label: str, value: int) -> None:
        self.rows.append((label, value))

    def zero(self, label: str, value: int) -> None:
        self.must_be_zero.append((label, value))

    def print(self) -> bool:
        width = max(len(label) for label, _ in self.rows + self.must_be_zero)
        for label, value in self.rows:
            print(f"  {label:<{width}}  {value:>7}")
        for label, value in self.must_be_zero:
            print(f"  {label:<{width}}  {value:>7}  {'ok' if value == 0 else 'MUST BE 0'}")
        return all(value == 0 for _, value in self.must_be_zero)


def set_up(url: str) -> tuple[Flask, int]:
    """The app on the database: schema, the test diagram, demo offices and accounts; unit 1's id."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"), revision="heads")
        get_engine().deploy_file(ROOT / "tests" / "diagrams" / "two_reviews.bpmn", "bench", files_root=ROOT / "tests")
        demo.seed(db.session)
        db.session.commit()
        unit_id = db.session.scalar(db.select(User.unit_id).where(User.username == "unit1"))
    return app, int(unit_id or 0)


def races(app: Flask, unit_id: int, threads: int, tasks: int, tally: Tally) -> None:
    started = time.perf_counter()
    instance_ids = harness.at_review(get_engine(), unit_id, tasks, first_number=0)
    figures = harness.RaceFigures()
    for instance_id in instance_ids:
        harness.race_for_task(app, harness.open_task(instance_id).task_id, threads, "编办", harness.APPROVE, figures)
    audited = sum(harness.audit_count(db.session, i, "complete", "review") != 1 for i in instance_ids)
    tally.count(f"race attempts ({threads} threads x {tasks} tasks)", figures.attempts)
    tally.count("race wins", figures.wins)
    tally.zero("race double completions", figures.doubles + audited)
    tally.zero("race errors other than a conflict", len(figures.other_errors))
    print(f"races done in {time.perf_counter() - started:.0f} s")


def open_item(submission: harness.Submission) -> bool:
    return db.session.get(WorkItem, submission.item_id) is not None


def web_kills(url: str, unit_id: int, runs: int, log: Path, tally: Tally) -> None:
    started = time.perf_counter()
    submissions = harness.fill_submissions(get_engine(), unit_id, WEB_APPLICATIONS, first_number=10_000)
    queue = list(reversed(submissions))  # taken from the end: the first prepared go first
    acknowledged: dict[int, str] = {}
    inconsistent = refused = 0
    for run in range(runs):
        with harness.web_server(url, log) as (base_url, process):
            figures = harness.load_and_kill(base_url, process, queue, WEB_CLIENTS, kill_after=10 + 15 * run)
        acknowledged.update(figures.acknowledged)
        refused += len(figures.refused)
        inconsistent += len(harness.inconsistencies(db.session, get_engine()))
        # Still to send: neither acknowledged nor taken by the killed server without an answer (its item is gone).
        queue[:] = [s for s in reversed(submissions) if s.instance_id not in acknowledged and open_item(s)]
    final = harness.LoadFigures()
    with harness.web_server(url, log) as (base_url, _):
        harness.run_clients(base_url, harness.UNIT_LOGIN, queue, WEB_CLIENTS, final)
    acknowledged.update(final.acknowledged)
    submitted_twice = sum(harness.audit_count(db.session, s.instance_id, "complete", "fill") != 1 for s in submissions)
    tally.count("web kill -9 runs", runs)
    tally.count("web submissions acknowledged", len(acknowledged))
    tally.zero("web acknowledged submissions missing", len(harness.missing_acknowledged(db.session, acknowledged)))
    tally.zero("web submissions refused", refused + len(final.refused))
    tally.zero("web applications not submitted exactly once", submitted_twice)
    tally.zero(
        "web inconsistencies (after kills and at the end)",
        inconsistent + len(harness.inconsistencies(db.session, get_engine())),
    )
    print(f"web kills done in {time.perf_counter() - started:.0f} s")


def worker_kills(url: str, unit_id: int, runs: int, log: Path, tally: Tally) -> None:
    started = time.perf_counter()
    not_once = inconsistent = 0
    worker_now = (datetime.now(UTC) + timedelta(days=30)).isoformat()  # after every 认款's working day
    for run in range(runs):
        first = 20_000 + run * TIMER_APPLICATIONS
        instance_ids = harness.awaiting_confirmation(get_engine(), unit_id, TIMER_APPLICATIONS, first_number=first)
        get_engine().runner.confirm_remittance(harness.remittance_of(get_engine(), instance_ids), harness.CONAC)
        already = harness.fired_timers(db.session)
        harness.workers_killed_then_restarted(url, worker_now, already + TIMER_APPLICATIONS, already + 3 + 7 * run, log)
        not_once += harness.timers_not_fired_once(db.session, instance_ids)
        inconsistent += len(harness.inconsistencies(db.session, get_engine()))
    tally.count("worker kill -9 runs", runs)
    tally.count("timers fired", runs * TIMER_APPLICATIONS)
    tally.zero("timers not fired exactly once", not_once)
    tally.zero("worker inconsistencies", inconsistent)
    print(f"worker kills done in {time.perf_counter() - started:.0f} s")


def repeats(app: Flask, unit_id: int, threads: int, tally: Tally) -> None:
    engine = get_engine()
    instance_ids = harness.awaiting_confirmation(engine, unit_id, 10, first_number=30_000)
    remittance_id = harness.remittance_of(engine, instance_ids)
    results = in_threads(app, [lambda: get_engine().runner.confirm_remittance(remittance_id, harness.CONAC)] * threads)
    try:
        engine.runner.confirm_remittance(remittance_id, harness.CONAC)
        results.append([])
    except RefusedError as refusal:
        results.append(refusal)
    confirmations = sum(isinstance(r, list) for r in results)
    delivered_twice = sum(harness.audit_count(db.session, i, "message") != 1 for i in instance_ids)
    tally.count("认款 attempts on one batch", len(results))
    tally.zero("认款 confirmed more than once", confirmations - 1 + delivered_twice)

    doubles = 0
    for instance_id in harness.started(engine, unit_id, threads):
        task_id = harness.open_task(instance_id).task_id
        form = harness.application_form(40_000 + instance_id)
        submits = in_threads(
            app, [lambda t=task_id, f=form: get_engine().runner.complete(t, harness.UNIT, f)] * SUBMIT_THREADS
        )
        wins = sum(not isinstance(r, Exception) for r in submits)
        doubles += (wins != 1) + sum(isinstance(r, Exception) and not isinstance(r, ConflictError) for r in submits)
        doubles += harness.audit_count(db.session, instance_id, "complete", "fill") != 1
    tally.count(f"double-submit attempts ({threads} forms x {SUBMIT_THREADS})", threads * SUBMIT_THREADS)
    tally.zero("forms submitted other than once", doubles)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=50)
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--kill-runs", type=int, default=5)
    args = parser.parse_args()
    url = fresh_postgres_url("conac_bench_reliability")
    if url is None:
        print("PostgreSQL on 127.0.0.1:5432 does not answer: nothing measured")
        raise SystemExit(2)
    app, unit_id = set_up(url)
    tally = Tally()
    with app.app_context(), tempfile.TemporaryDirectory() as folder:
        races(app, unit_id, args.threads, args.tasks, tally)
        web_kills(url, unit_id, args.kill_runs, Path(folder) / "web.log", tally)
        worker_kills(url, unit_id, args.kill_runs, Path(folder) / "worker.log", tally)
        repeats(app, unit_id, args.threads, tally)
        db.session.remove()
        db.engine.dispose()
    print("PostgreSQL:")
    if not tally.print():
        raise SystemExit(1)


if __name__ == "__main__":
    main()
