"""Due timers as a work queue: claiming them in batches, firing each claim, and when the next one falls due.

Firing a timer is one transaction per instance (runner.Runner.fire_claimed): it appends to the audit chain,
whose head stays locked until the commit, so a batch cannot be one long transaction without stalling every
other writer. A claim therefore has to outlive the commits of its batch:

- PostgreSQL: one statement on a connection of the claimer's own picks the earliest due timer rows with
  `FOR UPDATE SKIP LOCKED` (two claims running at once never take the same rows), passing over instances
  another worker claimed earlier, and takes a session-level advisory lock on each instance it picked. The
  row locks end with the claim's commit; the advisory locks are held until the batch is fired, and vanish
  with the connection if the worker dies, so a killed worker's claims are free again at once. A claim takes
  at most half of what is due, so that workers waking together for a burst share it.
- SQLite: a single worker; the claim is the plain ordered query.

Either way the firing transaction locks the instance and looks again whether a timer is due, so a timer
that another worker fired between that worker's commit and this claim is not fired twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Select, func, select, text
from sqlalchemy.orm import Session

from app.models import ProcessInstance, TimerSubscription

if TYPE_CHECKING:
    from app.engine.runner import Runner

# First key of the advisory locks that claim an instance's timers (the second is the instance id).
LOCK_SPACE = 0x54494D52  # "TIMR"
RUNNING = "running"


@dataclass
class Batch:
    """What one batch did: the instances claimed, and the business keys of those whose timers fired."""

    claimed: list[int] = field(default_factory=list)
    fired: list[str] = field(default_factory=list)


def fire_due(runner: Runner, now: datetime, limit: int, should_stop: Callable[[], bool] = lambda: False) -> Batch:
    """Claim up to `limit` instances with due timers and fire each; `should_stop` is asked between items."""
    batch = Batch()
    with claimer(runner.session) as claim:
        batch.claimed = claim(now, limit)
        for instance_id in batch.claimed:
            key = runner.fire_claimed(instance_id, now)
            if key is not None:
                batch.fired.append(key)
            if should_stop():
                break
    return batch


def fire_due_up_to(runner: Runner, now: datetime, limit: int) -> list[str]:
    """Batch after batch until `limit` instances were claimed or none is due: all that one caller may fire
    (a PostgreSQL claim takes half of what is due). Returns the business keys that moved on."""
    fired: list[str] = []
    claimed = 0
    while claimed < limit and (batch := fire_due(runner, now, limit - claimed)).claimed:
        claimed += len(batch.claimed)
        fired += batch.fired
    return fired


@contextmanager
def claimer(session: Session) -> Iterator[Callable[[datetime, int], list[int]]]:
    """A `claim(now, limit)` function whose claims hold until the block ends."""
    if session.get_bind().dialect.name != "postgresql":
        yield lambda now, limit: _claim_in_order(session, now, limit)
        return
    connection = session.get_bind().connect()
    try:
        yield lambda now, limit: _claim_skipping_locked(connection, now, limit)
        connection.exec_driver_sql("SELECT pg_advisory_unlock_all()")
        connection.commit()
        connection.close()
    except BaseException:
        connection.invalidate()  # closing the connection ends its advisory locks; never back to the pool
        raise


def _due(now: datetime) -> Select[tuple[int]]:
    """Instance ids of due timer rows of running instances (an instance in `error` waits for an admin)."""
    return (
        select(TimerSubscription.instance_id)
        .join(ProcessInstance, ProcessInstance.id == TimerSubscription.instance_id)
        .where(TimerSubscription.due_at <= now, ProcessInstance.status == RUNNING)
    )


def _claim_in_order(session: Session, now: datetime, limit: int) -> list[int]:
    """SQLite: the instances with the earliest due timers; one worker, so nothing to skip."""
    earliest = func.min(TimerSubscription.due_at)
    query = _due(now).group_by(TimerSubscription.instance_id).order_by(earliest, TimerSubscription.instance_id)
    query = query.limit(limit)
    instance_ids = list(session.scalars(query))
    session.commit()  # end the read, which would keep other processes from writing to the file
    return instance_ids


def _claim_skipping_locked(connection: Connection, now: datetime, limit: int) -> list[int]:
    """PostgreSQL: up to `limit` instances no other worker holds, earliest due first, advisory-locked."""
    rows = connection.execute(_CLAIM, {"now": now, "limit": limit, "space": LOCK_SPACE}).scalars().all()
    connection.commit()
    return list(dict.fromkeys(rows))  # an instance with two due timers is claimed once


# `held`: instances other workers claimed and have not fired yet. `candidate`: the earliest due rows of the
# others, row-locked with SKIP LOCKED so that a claim running at the same moment takes the next rows; at most
# half of what is due, so that workers waking together for a burst share it instead of one taking it all.
_CLAIM = text(
    """
    WITH due AS MATERIALIZED (
        SELECT t.id FROM timer_subscription t JOIN process_instance p ON p.id = t.instance_id
        WHERE t.due_at <= :now AND p.status = 'running'
    ), held AS (
        SELECT l.objid::integer AS instance_id FROM pg_locks l
        WHERE l.locktype = 'advisory' AND l.classid = CAST(:space AS integer)::oid AND l.objsubid = 2
          AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
    ), candidate AS MATERIALIZED (
        SELECT t.instance_id FROM timer_subscription t
        WHERE t.id IN (SELECT id FROM due) AND t.instance_id NOT IN (SELECT instance_id FROM held)
        ORDER BY t.due_at, t.id
        LIMIT least(CAST(:limit AS bigint), (SELECT CAST(ceil(count(*) / 2.0) AS bigint) FROM due))
        FOR UPDATE OF t SKIP LOCKED
    )
    SELECT instance_id FROM candidate WHERE pg_try_advisory_lock(CAST(:space AS integer), instance_id)
    """
)


def next_due(session: Session) -> datetime | None:
    """When the earliest timer of a running instance falls (or fell) due; None when none waits."""
    query = (
        select(func.min(TimerSubscription.due_at))
        .join(ProcessInstance, ProcessInstance.id == TimerSubscription.instance_id)
        .where(ProcessInstance.status == RUNNING)
    )
    moment = session.scalar(query)
    session.rollback()
    return moment
