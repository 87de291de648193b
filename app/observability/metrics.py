"""Prometheus metrics: request latency, task completions, timer lateness; inbox and outbox read at scrape time.

Counters and histograms live in this process, or, when PROMETHEUS_MULTIPROC_DIR is set before the app is
imported (gunicorn with several workers, and the `flask worker` processes beside it), in files in that
folder which every scrape adds up (prometheus_client's multiprocess mode). The two gauges are not stored:
the process answering the scrape counts them in the database, so every web process reports the same numbers.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import Flask
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import event
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from app.engine import events
from app.extensions import db
from app.services import operations

if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):  # each metric opens its file there when it is created
    Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)

REQUEST_LATENCY = Histogram(
    "http_request_duration_seconds",
    "Time from the request's arrival in Flask to its response, by endpoint, method and status.",
    ["endpoint", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
TASK_COMPLETIONS = Counter(
    "workflow_task_completions", "User tasks completed (committed), by procedure.", ["procedure"]
)
TIMER_LATENESS = Histogram(
    "workflow_timer_lateness_seconds",
    "How long after its due time the worker fired a timer (fired_at - due_at).",
    buckets=(1, 5, 15, 30, 60, 120, 300, 900, 1800, 3600, 4 * 3600, 86400),
)
logger = logging.getLogger(__name__)
# Metric updates an action makes wait here, in its session, until the transaction commits.
_PENDING = "observability.after_commit"


def init_metrics(app: Flask) -> None:
    """Count what the engine reports; the gauges need no set-up (see DatabaseGauges)."""
    events.task_completed.connect(_on_task_completed)
    events.timer_firing.connect(_on_timer_firing)


def exposition() -> tuple[bytes, str]:
    """The text format of every metric, gauges counted now; call inside an app context."""
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        registry.register(_ProcessMetrics())
    registry.register(DatabaseGauges())
    return generate_latest(registry), CONTENT_TYPE_LATEST


class _ProcessMetrics:
    """This process's own registry (one web process: `flask run`, tests)."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


class DatabaseGauges:
    """Open work items by role and stage (bounded) and the outbox backlog, counted at scrape time."""

    def collect(self) -> Iterator[Metric]:
        """Both gauges, or neither when the database does not answer (the process metrics still do)."""
        try:
            rows, pending = operations.open_items_by_stage(db.session), operations.pending_outbox(db.session)
        except SQLAlchemyError as exc:
            logger.warning("metrics: database gauges skipped (%s)", type(exc).__name__)
            return
        finally:
            db.session.rollback()  # reads only: hand the connection back idle
        inbox = GaugeMetricFamily(
            "workflow_inbox_open_items", "Open work items (待办) by role and stage.", labels=["role", "stage"]
        )
        for role, stage, count in rows:
            inbox.add_metric([role, stage], count)
        yield inbox
        yield GaugeMetricFamily("outbox_pending_messages", "Outbox messages waiting for delivery.", value=pending)


def observe_request(endpoint: str, method: str, status: int, seconds: float) -> None:
    REQUEST_LATENCY.labels(endpoint, method, str(status)).observe(seconds)


def _on_task_completed(runner: Any, *, session: Session, procedure: str, **_: Any) -> None:
    _after_commit(session, lambda: TASK_COMPLETIONS.labels(procedure).inc())


def _on_timer_firing(runner: Any, *, session: Session, due: datetime | None, **_: Any) -> None:
    if due is not None:
        lateness = max((runner.clock() - due).total_seconds(), 0.0)  # fired ahead of time (worker --now): 0
        _after_commit(session, lambda: TIMER_LATENESS.observe(lateness))


def _after_commit(session: Session, update: Callable[[], None]) -> None:
    session.info.setdefault(_PENDING, []).append(update)


@event.listens_for(Session, "after_commit")
def _apply_pending(session: Session) -> None:
    for update in session.info.pop(_PENDING, ()):
        update()


@event.listens_for(Session, "after_soft_rollback")
def _drop_pending(session: Session, previous_transaction: Any) -> None:
    """Any rollback (also one with nothing to undo at the database) drops what waited for a commit."""
    session.info.pop(_PENDING, None)
