"""`flask worker`: one loop that does everything falling due — timers, the outbox, the domain expiry sweep,
placement checks. Any number of workers may run on PostgreSQL (each task claims its rows with SKIP LOCKED);
on SQLite run one. SIGTERM or Ctrl-C lets the current batch finish, then the worker exits with status 0.
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
from types import FrameType

import click
from flask import current_app

from app.engine import get_engine
from app.engine.errors import NotFoundError
from app.extensions import db
from app.services import delivery, domain_lifecycle, placement
from app.services.calendar import to_beijing_date

logger = logging.getLogger(__name__)
# Longest stretch the idle worker sleeps without looking at a stop request.
_SLEEP_SLICE_SECONDS = 0.2


@dataclass(frozen=True)
class WorkerTask:
    """One kind of due work: `run(now, limit)` handles at most `limit` items, commits, returns how many."""

    name: str
    run: Callable[[datetime, int], int]


def _fire_timers(now: datetime, limit: int) -> int:
    try:
        fired = get_engine().runner.fire_due_timers(now, limit)
    except NotFoundError as exc:
        click.echo(exc.message, err=True)
        return 0
    for key in fired:
        click.echo(f"定时到期: {key}")
    return len(fired)


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


# Every round runs these in order.
ROUND_TASKS = [
    WorkerTask("定时到期", _fire_timers),
    WorkerTask("消息发送", _deliver_outbox),
    WorkerTask("域名过期", _expire_domains),
    WorkerTask("到期提醒", _warn_expiring),
    WorkerTask("挂标检查", _check_placements),
]


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


@click.command()
@click.option("--once", is_flag=True, help="处理一轮后退出")
@click.option("--interval", default=5.0, show_default=True, help="无到期事项时的轮询间隔（秒）")
@click.option("--now", "now_text", help="以此时间（ISO 8601，含时区）为当前时间，用于演示和测试")
def worker(once: bool, interval: float, now_text: str | None) -> None:
    """Fire due timers, deliver the outbox, mark domains past their grace period 已过期, check badge placement.

    A round that found work is followed by the next at once; only an idle round sleeps `interval`."""
    fixed = _fixed_now(now_text)
    limit = int(current_app.config["WORKER_BATCH_SIZE"])
    with _stop_on_signals() as stop:
        while not stop.requested:
            handled = run_round(ROUND_TASKS, fixed or get_engine().runner.clock(), limit, stop)
            if once:
                return
            if not handled:
                stop.sleep(interval)
    click.echo("已停止")
