"""`flask worker`: one loop that does everything falling due — timers, the outbox, the domain expiry sweep,
placement checks — and folds the 待办 count deltas. Any number of workers may run on PostgreSQL (each task
claims its rows with SKIP LOCKED; the fold is one worker's at a time); on SQLite run one. SIGTERM or Ctrl-C
lets the current timer or outbox batch finish, then the worker exits with status 0.

Each round gives every task one batch of WORKER_BATCH_SIZE items, so a backlog of timers never starves the
outbox or the placement checks. A round that got something done is followed by the next at once; an idle
worker sleeps until the next timer falls due, `--interval` at most (see `sleep_until_due`).
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from types import FrameType

import click
from flask import current_app

from app.engine import get_engine, timer_queue
from app.extensions import db
from app.services import delivery, domain_lifecycle, id_card_copies, inbox_counts, placement
from app.services.calendar import to_beijing_date

logger = logging.getLogger(__name__)
# Longest stretch the idle worker sleeps without looking at a stop request.
_SLEEP_SLICE_SECONDS = 0.2
# How often an idle worker looks for the next due timer: one that an action created during the sleep, or one
# due already that another worker holds. This bounds how late such a timer is picked up.
POLL_SECONDS = 0.5


@dataclass(frozen=True)
class WorkerTask:
    """One kind of due work: `run(now, limit)` handles at most `limit` items, commits, returns how many."""

    name: str
    run: Callable[[datetime, int], int]


def _fire_timers(now: datetime, limit: int, stop: StopRequest) -> int:
    """One batch of due timers; a stop request ends it after the timer at hand. Counts those that fired."""
    batch = timer_queue.fire_due(get_engine().runner, now, limit, lambda: stop.requested)
    for key in batch.fired:
        click.echo(f"定时到期: {key}")
    return len(batch.fired)


def _deliver_outbox(now: datetime, limit: int) -> int:
    report = delivery.run_round(db.session, current_app.config, now, limit)
    db.session.commit()
    if report.handled:
        click.echo(f"消息发送: 已发送 {report.sent}，待重试 {report.retrying}，已放弃 {report.given_up}")
    return report.handled


def _expire_domains(now: datetime, limit: int) -> int:
    """The expiry sweep (DOMAIN_GRACE_DAYS after the expiry date), one transaction per round."""
    grace = int(current_app.config["DOMAIN_GRACE_DAYS"])
    names = domain_lifecycle.expire_overdue(db.session, to_beijing_date(now), grace)
    db.session.commit()
    for name in names:
        click.echo(f"域名已过期: {name}")
    return len(names)


def _warn_expiring(now: datetime, limit: int) -> int:
    """到期提醒 a set number of days before a domain expires (the renewal diagram's properties)."""
    names = domain_lifecycle.warn_expiring(db.session, now, int(current_app.config["DOMAIN_GRACE_DAYS"]), limit)
    db.session.commit()
    for name in names:
        click.echo(f"到期提醒: {name}")
    return len(names)


def _check_placements(now: datetime, limit: int) -> int:
    """Badge placement re-checks; each is claimed and committed in a transaction of its own."""
    checked = placement.run_due_checks(db.session, now, limit)
    db.session.commit()
    if checked:
        click.echo(f"挂标检查: {checked}")
    return checked


def _purge_id_copies(now: datetime, limit: int) -> int:
    """身份证复印件 past their retention (ID_COPY_RETENTION_DAYS after the paper review) are deleted."""
    days = int(current_app.config["ID_COPY_RETENTION_DAYS"])
    deleted = id_card_copies.purge(db.session, now, days, limit)
    db.session.commit()
    if deleted:
        click.echo(f"身份证复印件已删除: {deleted}")
    return deleted


def _compact_inbox_counts(now: datetime, limit: int) -> int:
    """Fold the deltas the triggers appended into the 待办 counts (inbox_counts.compact_inbox_counts). Returns 0:
    upkeep is no reason for another round at once, or a steady flow of actions would keep the worker awake."""
    inbox_counts.compact_inbox_counts(db.session)
    db.session.commit()
    return 0


# Every round runs the timers (`round_tasks`), then these, in order.
OTHER_TASKS = [
    WorkerTask("消息发送", _deliver_outbox),
    WorkerTask("域名过期", _expire_domains),
    WorkerTask("到期提醒", _warn_expiring),
    WorkerTask("挂标检查", _check_placements),
    WorkerTask("复印件删除", _purge_id_copies),
    WorkerTask("待办计数", _compact_inbox_counts),
]


def round_tasks(stop: StopRequest) -> list[WorkerTask]:
    """The tasks of a round; the timers' batch looks at `stop` between timers."""
    return [WorkerTask("定时到期", partial(_fire_timers, stop=stop)), *OTHER_TASKS]


class StopRequest:
    """Set by SIGTERM / SIGINT; the loop looks at it between tasks and while idle."""

    def __init__(self) -> None:
        self.requested = False

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        self.requested = True

    def sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self.requested and (left := deadline - time.monotonic()) > 0:
            time.sleep(min(left, _SLEEP_SLICE_SECONDS))


@contextmanager
def _stop_on_signals() -> Iterator[StopRequest]:
    stop = StopRequest()
    if threading.current_thread() is not threading.main_thread():  # only the main thread may set handlers
        yield stop
        return
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run_round(tasks: list[WorkerTask], now: datetime, limit: int, stop: StopRequest) -> int:
    """Each task once; a stop request ends the round after the task at hand. Returns the items handled."""
    handled = 0
    for task in tasks:
        try:
            handled += task.run(now, limit)
        except Exception as exc:  # one failing task must not stop the others; the next round tries again
            db.session.rollback()
            logger.error("worker task %s failed: %s", task.name, type(exc).__name__)
            click.echo(f"{task.name}失败: {type(exc).__name__}", err=True)
        if stop.requested:
            break
    return handled


def _fixed_now(now_text: str | None) -> datetime | None:
    if not now_text:
        return None
    try:
        moment = datetime.fromisoformat(now_text)
    except ValueError as exc:
        raise click.BadParameter("应为 ISO 8601 时间，如 2026-10-09T09:00:00+08:00", param_hint="--now") from exc
    if moment.tzinfo is None:
        raise click.BadParameter("须注明时区，如 +08:00", param_hint="--now")
    return moment


def pause(next_due: datetime | None, now: datetime, most: float) -> float:
    """Seconds to sleep before looking again: until the next timer falls due, `most` at most, and `most`
    when one is due already (held by another worker, or not firing)."""
    until = (next_due - now).total_seconds() if next_due is not None else most
    return min(most, until) if until > 0 else most


def sleep_until_due(stop: StopRequest, interval: float, clock: Callable[[], datetime]) -> None:
    """An idle worker's sleep: `interval` at most, looking every POLL_SECONDS for the next due timer and
    returning as it falls due, so a timer fires on time even if it was created during the sleep."""
    left = interval
    while left > 0 and not stop.requested:
        next_due, now = timer_queue.next_due(db.session), clock()
        seconds = pause(next_due, now, min(left, POLL_SECONDS))
        stop.sleep(seconds)
        if next_due is not None and (next_due - now).total_seconds() <= seconds:
            return  # due now: a round follows
        left -= seconds


@click.command()
@click.option("--once", is_flag=True, help="处理一轮后退出")
@click.option("--interval", default=5.0, show_default=True, help="无到期事项时最长的休眠时间（秒）")
@click.option("--now", "now_text", help="以此时间（ISO 8601，含时区）为当前时间，用于演示和测试")
def worker(once: bool, interval: float, now_text: str | None) -> None:
    """Fire due timers, deliver the outbox, mark domains past their grace period 已过期, check badge placement.

    A round that got something done is followed by the next at once; an idle one sleeps until a timer falls
    due, `interval` at most (`sleep_until_due`)."""
    fixed = _fixed_now(now_text)
    limit = int(current_app.config["WORKER_BATCH_SIZE"])
    runner = get_engine().runner

    def clock() -> datetime:
        return fixed or runner.clock()

    with _stop_on_signals() as stop:
        tasks = round_tasks(stop)
        while not stop.requested:
            handled = run_round(tasks, clock(), limit, stop)
            if once:
                return
            if not handled:
                sleep_until_due(stop, interval, clock)
    click.echo("已停止")
