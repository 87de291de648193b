"""Operations: /healthz, /readyz (healthy, database down, diagram missing), /metrics (named metrics, a counted
completion, who may read it), JSON log lines without names, and the gunicorn settings file."""

from __future__ import annotations

import gc
import io
import json
import logging
import os
import runpy
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from prometheus_client import REGISTRY
from sqlalchemy import text

from app import create_app
from app.engine import Engine, events
from app.extensions import db
from app.observability.logs import install_json_handler
from tests.conftest import DOMAIN_APPLICATION, PROJECT_ROOT, UNIT, Clock, deploy_test_diagram

NAMED_METRICS = (
    "http_request_duration_seconds_bucket",
    "workflow_task_completions_total",
    "workflow_timer_lateness_seconds_bucket",
    "workflow_inbox_open_items",
    "outbox_pending_messages",
)
UNREACHABLE = {
    "sqlite": "sqlite:////nonexistent-folder-for-tests/platform.sqlite3",
    "postgresql": "postgresql+psycopg://postgres@127.0.0.1:1/nowhere",
}


def test_healthz_answers_without_the_database() -> None:
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": UNREACHABLE["sqlite"]})
    response = app.test_client().get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok"}
    assert response.headers["X-Request-ID"]


def test_ready_when_schema_at_head_and_diagrams_deployed(app: Flask, client: Any) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200, response.json
    assert response.json == {"status": "ready"}


@pytest.mark.parametrize("backend", sorted(UNREACHABLE))
def test_not_ready_when_the_database_is_down(backend: str) -> None:
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": UNREACHABLE[backend]})
    with app.app_context():
        response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json == {"status": "unavailable", "reasons": ["database unreachable"]}


def test_not_ready_while_a_diagram_is_not_deployed(app: Flask, client: Any, tmp_path: Path) -> None:
    shipped = (PROJECT_ROOT / "workflows" / "域名解析.bpmn").read_text(encoding="utf-8")
    (tmp_path / "workflows").mkdir()
    (tmp_path / "workflows" / "new.bpmn").write_text(shipped.replace('id="dns_record"', 'id="not_yet"'), "utf-8")
    app.config["PROCEDURES_ROOT"] = str(tmp_path)
    try:
        response = client.get("/readyz")
    finally:
        app.config["PROCEDURES_ROOT"] = str(PROJECT_ROOT)
    assert response.status_code == 503
    assert response.json["reasons"] == ["diagrams not deployed: not_yet"]


def test_metrics_name_each_metric_and_count_a_completion(
    app: Flask, client: Any, make_unit: Any, start: Any, two_reviews: str
) -> None:
    before = _completions(two_reviews)
    start(two_reviews, make_unit()).complete(UNIT, DOMAIN_APPLICATION)  # the unit's form: one completed task
    assert _completions(two_reviews) == before + 1
    text = client.get("/metrics").get_data(as_text=True)
    for name in NAMED_METRICS:
        assert f"\n{name}" in text, name
    assert f'workflow_task_completions_total{{procedure="{two_reviews}"}} {before + 1}' in text
    assert 'workflow_inbox_open_items{role="编办",stage="待审核"} 1.0' in text
    labels = {"endpoint": "ops.healthz", "method": "GET", "status": "200"}
    requests = REGISTRY.get_sample_value("http_request_duration_seconds_count", labels) or 0.0
    client.get("/healthz")
    assert REGISTRY.get_sample_value("http_request_duration_seconds_count", labels) == requests + 1


def test_a_completion_rolled_back_is_not_counted(app: Flask) -> None:
    before = _completions("rolled_back")
    db.session.execute(text("SELECT 1"))  # inside a transaction, as the runner's actions are
    events.task_completed.send(None, session=db.session, procedure="rolled_back")
    db.session.rollback()
    assert _completions("rolled_back") == before
    events.task_completed.send(None, session=db.session, procedure="rolled_back")
    db.session.commit()
    assert _completions("rolled_back") == before + 1


def test_the_worker_observes_how_late_it_fired_a_timer(
    app: Flask, engine: Engine, clock: Clock, make_unit: Any
) -> None:
    deploy_test_diagram(engine, "timed.bpmn")  # waits until the start data's `due`
    due = clock.now + timedelta(minutes=1)
    engine.runner.start("timed", make_unit().id, UNIT, {"due": due.isoformat(), "divisor": 1})
    count, total = (REGISTRY.get_sample_value(f"workflow_timer_lateness_seconds_{s}") for s in ("count", "sum"))
    clock.now = due + timedelta(seconds=90)
    assert len(engine.runner.fire_due_timers(clock.now)) == 1
    assert REGISTRY.get_sample_value("workflow_timer_lateness_seconds_count") == count + 1
    assert REGISTRY.get_sample_value("workflow_timer_lateness_seconds_sum") == pytest.approx(total + 90)


def test_metrics_only_for_allowed_networks_or_the_token(app: Flask, client: Any) -> None:
    outside = {"REMOTE_ADDR": "203.0.113.9"}
    assert client.get("/metrics", environ_base=outside).status_code == 404
    assert client.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1"}).status_code == 404  # via a proxy
    app.config["METRICS_TOKEN"] = "scrape-secret-2026"
    try:
        wrong = client.get("/metrics", environ_base=outside, headers={"Authorization": "Bearer nope"})
        right = client.get("/metrics", environ_base=outside, headers={"Authorization": "Bearer scrape-secret-2026"})
    finally:
        app.config["METRICS_TOKEN"] = ""
    assert wrong.status_code == 404 and right.status_code == 200


def test_json_log_lines_carry_ids_but_no_names(app: Flask, login: Any, demo: dict[str, Any]) -> None:
    client = login("bianban")
    with _json_log() as stream:
        client.get("/review/search?q=鄂尔多斯市人民政府办公室", headers={"X-Request-ID": "probe-123"})
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    (request_line,) = [line for line in lines if line["logger"] == "app.request"]
    assert set(request_line) == {
        "time",
        "level",
        "logger",
        "message",
        "request_id",
        "account_id",
        "method",
        "path",
        "status",
        "duration_ms",
    }
    assert request_line["request_id"] == "probe-123" and request_line["account_id"] == demo["bianban"].id
    assert request_line["path"] == "/review/search" and request_line["status"] == 200
    assert "bianban" not in stream.getvalue() and "鄂尔多斯" not in stream.getvalue()


def test_gunicorn_settings_are_known_to_gunicorn(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gunicorn.config import KNOWN_SETTINGS

    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "metrics"))
    settings = runpy.run_path(str(PROJECT_ROOT / "deploy" / "gunicorn.conf.py"))
    known = {setting.name for setting in KNOWN_SETTINGS}
    ours = {
        name
        for name, value in settings.items()
        if name.islower() and not name.startswith("_") and not isinstance(value, type(os))
    }
    assert ours <= known, ours - known
    assert settings["wsgi_app"] == "app:create_app()" and settings["workers"] >= 1
    settings["on_starting"](None)
    assert (tmp_path / "metrics").is_dir()


def test_a_web_worker_sets_its_startup_objects_aside_from_the_collector(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full collection walking the ~200 000 objects of a loaded application paused a request by over 100 ms:
    each worker freezes them once it has loaded it (post_worker_init), so collections walk only newer ones."""
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "metrics"))
    settings = runpy.run_path(str(PROJECT_ROOT / "deploy" / "gunicorn.conf.py"))
    assert gc.get_freeze_count() == 0
    try:
        settings["post_worker_init"](None)
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


_MULTIPROCESS_PROBE = """
from app import create_app
from app.observability import metrics
app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
app.test_client().get("/healthz")
with app.app_context():
    print(metrics.exposition()[0].decode())
"""


def test_metrics_of_several_processes_are_added_up(tmp_path: Path) -> None:
    """PROMETHEUS_MULTIPROC_DIR (gunicorn): two processes' requests appear in one scrape."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    for _ in range(2):
        output = subprocess.run(
            [sys.executable, "-c", _MULTIPROCESS_PROBE],
            env=env,
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    assert 'http_request_duration_seconds_count{endpoint="ops.healthz",method="GET",status="200"} 2.0' in output


def _completions(procedure: str) -> float:
    return REGISTRY.get_sample_value("workflow_task_completions_total", {"procedure": procedure}) or 0.0


@contextmanager
def _json_log() -> Iterator[io.StringIO]:
    """JSON lines into a string for the duration, as LOG_FORMAT=json sends them to stderr."""
    stream, level = io.StringIO(), logging.getLogger().level
    handler = install_json_handler(stream, "INFO")
    try:
        yield stream
    finally:
        logging.getLogger().removeHandler(handler)
        logging.getLogger().setLevel(level)
