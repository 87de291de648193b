"""Workers killed with SIGKILL while firing timers: after a restart every timer has fired exactly once.

Two `flask worker` processes fire the same due timers (each claims its rows with SKIP LOCKED); both are
killed mid-run, with no chance to finish a transaction, then one worker is started again and runs until
nothing is due.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from app.engine import Engine
from app.extensions import db
from app.models import ProcessInstance, TimerSubscription
from tests.conftest import Clock
from tests.reliability.harness import (
    CONAC,
    awaiting_confirmation,
    fired_timers,
    inconsistencies,
    remittance_of,
    timers_not_fired_once,
    workers_killed_then_restarted,
)

pytestmark = pytest.mark.usefixtures("two_reviews")
APPLICATIONS, KILL_AFTER_FIRED = 30, 5
WORKER_NOW = "2026-11-25T09:00:00+08:00"  # after the working day every 认款 below waits for


def test_workers_killed_while_firing_timers_fire_each_exactly_once_after_a_restart(
    engine: Engine, make_unit: Any, clock: Clock, tmp_path: Path
) -> None:
    instance_ids = awaiting_confirmation(engine, make_unit().id, APPLICATIONS)
    clock.set("2026-11-19 10:00")
    engine.runner.confirm_remittance(remittance_of(engine, instance_ids), CONAC)
    url = db.engine.url.render_as_string(hide_password=False)

    fired_at_kill = workers_killed_then_restarted(url, WORKER_NOW, APPLICATIONS, KILL_AFTER_FIRED, tmp_path / "w.log")

    assert KILL_AFTER_FIRED <= fired_at_kill < APPLICATIONS, "the kill came after the work"
    assert fired_timers(db.session) == APPLICATIONS
    assert timers_not_fired_once(db.session, instance_ids) == 0
    assert {db.session.get(ProcessInstance, i).stage for i in instance_ids} == {"已办结"}  # type: ignore[union-attr]
    assert db.session.scalar(select(func.count()).select_from(TimerSubscription)) == 0
    assert inconsistencies(db.session, engine) == []
