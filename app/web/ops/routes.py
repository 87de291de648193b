"""Operations endpoints for load balancers and Prometheus: /healthz, /readyz, /metrics. No login, no pages.

/healthz answers without touching the database (is the process serving?); /readyz says whether this process
should receive traffic; /metrics is for the monitoring network only (METRICS_ALLOWED_NETWORKS, METRICS_TOKEN).
"""

from __future__ import annotations

import hmac
from functools import cache
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network
from pathlib import Path

from flask import Blueprint, abort, current_app, jsonify, request
from werkzeug.wrappers import Response

from app.config import PROJECT_ROOT
from app.extensions import csrf, db
from app.observability import metrics
from app.services import operations

blueprint = Blueprint("ops", __name__)
csrf.exempt(blueprint)  # GET only; nothing here changes state
MIGRATIONS = PROJECT_ROOT / "migrations"


@blueprint.get("/healthz")
def healthz() -> Response:
    return _no_store(jsonify(status="ok"))


@blueprint.get("/readyz")
def readyz() -> tuple[Response, int]:
    root = Path(current_app.config["PROCEDURES_ROOT"])
    problems = operations.readiness_problems(db.session, MIGRATIONS, root)
    if problems:
        return _no_store(jsonify(status="unavailable", reasons=problems)), 503
    return _no_store(jsonify(status="ready")), 200


@blueprint.get("/metrics")
def metrics_text() -> Response:
    if not _may_read_metrics():
        abort(404)  # the same answer as an address that does not exist: nothing to probe
    body, content_type = metrics.exposition()
    return _no_store(Response(body, content_type=content_type))


def _may_read_metrics() -> bool:
    """A bearer token equal to METRICS_TOKEN, or a direct client in METRICS_ALLOWED_NETWORKS. A request that
    came through a proxy (X-Forwarded-For) is judged by its token only: the peer address is then the proxy's."""
    token = str(current_app.config["METRICS_TOKEN"])
    offered = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if token and hmac.compare_digest(offered.encode(), token.encode()):
        return True
    if "X-Forwarded-For" in request.headers or not request.remote_addr:
        return False
    address = ip_address(request.remote_addr)
    return any(address in network for network in _networks(str(current_app.config["METRICS_ALLOWED_NETWORKS"])))


@cache
def _networks(setting: str) -> tuple[IPv4Network | IPv6Network, ...]:
    return tuple(ip_network(part.strip()) for part in setting.split(",") if part.strip())


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response
