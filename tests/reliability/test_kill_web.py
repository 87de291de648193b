"""The web process killed with SIGKILL in the middle of steady load.

A real `flask run` serves the platform on PostgreSQL; logged-in unit users submit their applications'
forms over HTTP, and the client records every submission the server acknowledged (302 to the application,
now numbered). The server is killed mid-load. Afterwards every application is consistent (state, stage,
work items and audit agree) and every acknowledged submission is there; a restarted server takes the rest,
and each application ends up submitted exactly once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app.engine import Engine
from app.extensions import db
from app.models import WorkItem
from tests.reliability.harness import (
    UNIT_LOGIN,
    LoadFigures,
    audit_count,
    fill_submissions,
    inconsistencies,
    load_and_kill,
    missing_acknowledged,
    run_clients,
    web_server,
)

pytestmark = pytest.mark.usefixtures("two_reviews")
APPLICATIONS, CLIENTS, KILL_AFTER_ACKNOWLEDGED = 80, 4, 15


def test_every_acknowledged_submission_survives_a_sigkill_of_the_web_process(
    engine: Engine, demo: dict[str, Any], tmp_path: Path
) -> None:
    submissions = fill_submissions(engine, demo["unit1"].unit_id, APPLICATIONS)
    url = db.engine.url.render_as_string(hide_password=False)

    with web_server(url, tmp_path / "web.log") as (base_url, process):
        figures = load_and_kill(base_url, process, list(submissions), CLIENTS, KILL_AFTER_ACKNOWLEDGED)

    assert figures.refused == []
    assert KILL_AFTER_ACKNOWLEDGED <= len(figures.acknowledged) < APPLICATIONS, "the kill came after the load"
    assert inconsistencies(db.session, engine) == []
    assert missing_acknowledged(db.session, figures.acknowledged) == []

    # The rest after a restart; a form the killed server took without answering is gone (404), not doubled.
    rest = [s for s in submissions if s.instance_id not in figures.acknowledged and db.session.get(WorkItem, s.item_id)]
    after_restart = LoadFigures()
    with web_server(url, tmp_path / "web.log") as (base_url, _):
        run_clients(base_url, UNIT_LOGIN, list(rest), CLIENTS, after_restart)
    assert after_restart.refused == [] and after_restart.unanswered == 0
    assert len(after_restart.acknowledged) == len(rest)
    assert missing_acknowledged(db.session, {**figures.acknowledged, **after_restart.acknowledged}) == []
    assert [audit_count(db.session, s.instance_id, "complete", "fill") for s in submissions] == [1] * APPLICATIONS
    assert inconsistencies(db.session, engine) == []
