"""The timer worker keeps up: due timers are claimed in batches of WORKER_BATCH_SIZE, earliest due first, on
PostgreSQL with FOR UPDATE SKIP LOCKED and a per-instance claim that outlives the batch's commits; the worker
goes on at once while timers are due and otherwise sleeps until the next one falls due (`--interval` at most);
each timer fires once, and one that faults is marked `error` while the rest of its batch fires.

Runs on the tests' own diagram tests/diagrams/timed.bpmn: it waits until the start data's `due`, then divides
60 by `divisor` (0 makes the firing fault) and ends.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, text

from app.cli import worker as worker_cli
from app.engine import Engine, timer_queue
from app.extensions import db
from app.models import AuditEvent, ProcessInstance, TimerSubscription, Unit
from tests.conftest import UNIT, Clock, deploy_test_diagram

INTERVAL = 60.0


@pytest.fixture
def timed(engine: Engine) -> str:
    deploy_test_diagram(engine, "timed.bpmn")
    return "timed"


@pytest.fixture
def unit(make_unit: Any) -> Unit:
    return make_unit()  # type: ignore[no-any-return]


def waiting(engine: Engine, unit: Unit, due: datetime, divisor: int = 1) -> int:
    """An application of the timed diagram waiting for `due`; its instance id."""
    instance = engine.runner.start("timed", unit.id, UNIT, {"due": due.isoformat(), "divisor": divisor})
    return instance.id


def due_in_turn(engine: Engine, unit: Unit, clock: Clock, count: int) -> list[int]:
    """`count` applications falling due one second apart from a second after the clock's time."""
    return [waiting(engine, unit, clock.now + timedelta(seconds=n)) for n in range(1, count + 1)]


def fired_timers(instance_id: int | None = None) -> int:
    query = select(AuditEvent.id).where(AuditEvent.action == "timer")
    if instance_id is not None:
        query = query.where(AuditEvent.instance_id == instance_id)
    return len(db.session.scalars(query).all())


def statuses(instance_ids: list[int]) -> list[str]:
    db.session.expire_all()
    return [db.session.get(ProcessInstance, i).status for i in instance_ids]  # type: ignore[union-attr]


pytestmark = pytest.mark.usefixtures("timed")


# ---- claims ---------------------------------------------------------------------------------


def test_a_claim_takes_at_most_the_batch_size_earliest_due_first(
    engine: Engine, unit: Unit, clock: Clock, backend: str
) -> None:
    ids = due_in_turn(engine, unit, clock, 5)
    waiting(engine, unit, clock.now + timedelta(hours=1))
    now = clock.now + timedelta(seconds=10)

    with timer_queue.claimer(db.session) as claim:
        assert claim(now, 2) == ids[:2]
    with timer_queue.claimer(db.session) as claim:
        everything = claim(now, 50)  # the one due in an hour is not due yet
    # PostgreSQL, where several workers run: half of what is due (rounded up), the rest is the others' share
    assert everything == (ids if backend == "sqlite" else ids[:3])


def test_two_claims_on_postgresql_take_disjoint_batches_and_lock_no_more(
    engine: Engine, unit: Unit, clock: Clock, backend: str
) -> None:
    if backend != "postgresql":
        pytest.skip("SQLite runs a single worker")
    ids = due_in_turn(engine, unit, clock, 8)
    now = clock.now + timedelta(seconds=10)

    with timer_queue.claimer(db.session) as first_claim, timer_queue.claimer(db.session) as second_claim:
        first, second = first_claim(now, 3), second_claim(now, 3)
        held = db.session.scalar(
            text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = :space"
                " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            ),
            {"space": timer_queue.LOCK_SPACE},
        )
        db.session.rollback()
        with timer_queue.claimer(db.session) as third_claim:
            third = third_claim(now, 8)

    assert first == ids[:3] and second == ids[3:6] and third == ids[6:]  # each skips what the others hold
    assert held == 6  # the claims lock their instances only, not every row they looked at
    with timer_queue.claimer(db.session) as claim:
        assert claim(now, 8) == ids[:4]  # the claims ended with their blocks (half of the eight due)


def test_a_claim_on_postgresql_skips_timer_rows_another_transaction_has_locked(
    app: Flask, engine: Engine, unit: Unit, clock: Clock, backend: str
) -> None:
    if backend != "postgresql":
        pytest.skip("row locks are PostgreSQL's")
    ids = due_in_turn(engine, unit, clock, 3)
    with db.engine.connect() as other:  # e.g. an action rewriting the instance's timer rows right now
        other.execute(select(TimerSubscription.id).where(TimerSubscription.instance_id == ids[0]).with_for_update())
        with timer_queue.claimer(db.session) as claim:
            assert claim(clock.now + timedelta(seconds=10), 3) == ids[1:]
        other.rollback()


# ---- firing -------------------------------------------------------------------------------


def test_fire_due_timers_fires_up_to_its_limit_batch_after_batch(engine: Engine, unit: Unit, clock: Clock) -> None:
    ids = due_in_turn(engine, unit, clock, 5)
    now = clock.now + timedelta(seconds=10)

    first = engine.runner.fire_due_timers(now, 3)  # on PostgreSQL a claim takes half of what is due: two claims
    assert len(first) == 3 and statuses(ids) == ["completed"] * 3 + ["running"] * 2
    assert len(engine.runner.fire_due_timers(now)) == 2 and statuses(ids) == ["completed"] * 5


def test_a_timer_fired_since_the_claim_is_not_fired_again(engine: Engine, unit: Unit, clock: Clock) -> None:
    (instance_id,) = due_in_turn(engine, unit, clock, 1)
    now = clock.now + timedelta(seconds=10)

    with timer_queue.claimer(db.session) as claim:
        assert claim(now, 1) == [instance_id]
        first = engine.runner.fire_claimed(instance_id, now)  # as another worker that claimed it a moment earlier
        again = engine.runner.fire_claimed(instance_id, now)

    assert first is not None and again is None
    assert fired_timers(instance_id) == 1 and statuses([instance_id]) == ["completed"]


def test_a_faulting_timer_is_marked_error_and_the_rest_of_its_batch_fires(
    engine: Engine, unit: Unit, clock: Clock
) -> None:
    bad = waiting(engine, unit, clock.now + timedelta(milliseconds=500), divisor=0)
    good = due_in_turn(engine, unit, clock, 2)
    now = clock.now + timedelta(seconds=10)

    batch = timer_queue.fire_due(engine.runner, now, 50)
    while timer_queue.fire_due(engine.runner, now, 50).claimed:
        pass

    assert batch.claimed[:2] == [bad, good[0]] and len(batch.fired) == len(batch.claimed) - 1
    assert statuses([bad, *good]) == ["error", "completed", "completed"]
    assert timer_queue.next_due(db.session) is None  # the errored one waits for an admin, not for the worker


def test_a_stop_request_ends_the_batch_after_the_timer_at_hand_and_frees_the_rest(
    engine: Engine, unit: Unit, clock: Clock
) -> None:
    ids = due_in_turn(engine, unit, clock, 3)
    now = clock.now + timedelta(seconds=10)

    stopped = timer_queue.fire_due(engine.runner, now, 3, should_stop=lambda: True)

    assert len(stopped.claimed) > 1 and len(stopped.fired) == 1
    assert statuses(ids) == ["completed", "running", "running"]
    assert timer_queue.fire_due(engine.runner, now, 3).claimed[0] == ids[1]  # freed: claimed again at once


# ---- the worker's loop ----------------------------------------------------------------------


@dataclass
class Loop:
    """What `flask worker` did, in order: ("claim", instances claimed) per timer batch, ("sleep", seconds) per
    sleep. Its sleeps move the test clock instead of waiting; the worker stops once it slept `budget` seconds;
    `during_sleep` runs at each sleep (e.g. an action creating a timer meanwhile)."""

    clock: Clock
    budget: float = INTERVAL
    events: list[tuple[str, float]] = field(default_factory=list)
    during_sleep: Callable[[float], None] = lambda slept: None

    def claims(self) -> list[float]:
        return [value for kind, value in self.events if kind == "claim"]

    def slept_before_claim(self, number: int) -> float:
        """Seconds slept between the claim before claim `number` (0-based) and that claim."""
        claims = [i for i, (kind, _) in enumerate(self.events) if kind == "claim"]
        between = self.events[claims[number - 1] + 1 : claims[number]]
        return sum(value for kind, value in between if kind == "sleep")

    def slept(self) -> float:
        return sum(value for kind, value in self.events if kind == "sleep")


@pytest.fixture
def loop(monkeypatch: pytest.MonkeyPatch, clock: Clock) -> Loop:
    record = Loop(clock)
    fire_due = timer_queue.fire_due

    def recorded_fire_due(*args: Any, **kwargs: Any) -> timer_queue.Batch:
        batch = fire_due(*args, **kwargs)
        record.events.append(("claim", len(batch.claimed)))
        return batch

    def recorded_sleep(stop: worker_cli.StopRequest, seconds: float) -> None:
        record.events.append(("sleep", seconds))
        clock.now += timedelta(seconds=seconds)
        record.during_sleep(record.slept())
        stop.requested = record.slept() >= record.budget

    monkeypatch.setattr(timer_queue, "fire_due", recorded_fire_due)
    monkeypatch.setattr(worker_cli.StopRequest, "sleep", recorded_sleep)
    return record


def run_worker(app: Flask) -> str:
    result = app.test_cli_runner().invoke(args=["worker", "--interval", str(INTERVAL)])
    assert result.exit_code == 0, result.output
    return result.output


def test_the_worker_honours_the_batch_size_and_sleeps_only_once_nothing_is_due(
    app: Flask, engine: Engine, unit: Unit, clock: Clock, loop: Loop, monkeypatch: Any
) -> None:
    monkeypatch.setitem(app.config, "WORKER_BATCH_SIZE", 2)
    ids = due_in_turn(engine, unit, clock, 5)
    waiting(engine, unit, clock.now + timedelta(seconds=30))
    clock.now += timedelta(seconds=10)
    loop.budget = 21

    output = run_worker(app)

    # batches of two, one round after another without sleeping; then nothing due until the sixth timer
    assert loop.claims() == [2, 2, 1, 0, 1, 0]
    assert [kind for kind, _ in loop.events[:4]] == ["claim"] * 4
    assert output.count("定时到期") == 6 and statuses(ids) == ["completed"] * 5
    assert loop.slept_before_claim(4) == 20.0  # woke as the sixth fell due (30 s − 10 s), not at the interval
    assert max(seconds for kind, seconds in loop.events if kind == "sleep") == worker_cli.POLL_SECONDS


def test_a_timer_created_while_the_worker_sleeps_fires_when_it_falls_due(
    app: Flask, engine: Engine, unit: Unit, clock: Clock, loop: Loop
) -> None:
    created: list[int] = []

    def create_at_three_seconds(slept: float) -> None:
        if slept == 3.0:  # an action, three seconds into the worker's sleep, starts a timer due a second later
            created.append(waiting(engine, unit, clock.now + timedelta(seconds=1)))

    loop.during_sleep = create_at_three_seconds

    run_worker(app)

    assert loop.claims()[:2] == [0, 1] and statuses(created) == ["completed"]
    assert loop.slept_before_claim(1) == 4.0  # on time, though the interval is a minute


def test_an_idle_worker_with_no_timer_waiting_sleeps_the_interval(app: Flask, loop: Loop) -> None:
    run_worker(app)

    assert loop.claims() == [0] and loop.slept() == INTERVAL


def test_the_pause_ends_when_the_next_timer_falls_due() -> None:
    now = datetime.fromisoformat("2026-10-09T09:00:00+08:00")
    most = worker_cli.POLL_SECONDS
    pause = worker_cli.pause

    assert pause(None, now, most) == most  # nothing waits: look again after `most`
    assert pause(now + timedelta(milliseconds=300), now, most) == 0.3  # wakes as it falls due
    assert pause(now + timedelta(hours=1), now, most) == most
    assert pause(now - timedelta(seconds=2), now, most) == most  # due, held by another worker: soon again
