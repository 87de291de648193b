"""Operations: request ids and logs, Prometheus metrics; the endpoints are in app/web/ops."""

from __future__ import annotations

from flask import Flask

from app.observability.logs import init_logs
from app.observability.metrics import init_metrics


def init_observability(app: Flask) -> None:
    init_logs(app)
    init_metrics(app)
