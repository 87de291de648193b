"""Signals the runner sends for observers outside the engine (metrics): the engine knows none of them.

Both are sent inside the action's transaction, before it commits: a receiver that counts must wait for the
commit (app/observability/metrics.py does), since the action may still be rolled back.
"""

from __future__ import annotations

from datetime import datetime

from blinker import Namespace
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from app.engine.timers import due_at

_signals = Namespace()
# A user task was completed. Sender: the Runner; keyword arguments: session, procedure (the process id).
task_completed = _signals.signal("task-completed")
# The worker is about to fire an instance's due timers. Sender: the Runner; session, due (earliest_due's answer).
timer_firing = _signals.signal("timer-firing")


def earliest_due(workflow: BpmnWorkflow, now: datetime) -> datetime | None:
    """When the earliest of the workflow's waiting timers due at `now` fell due; read from the loaded state, so
    observing it costs the database nothing."""
    times = [moment for task in workflow.get_tasks(state=TaskState.WAITING) if (moment := due_at(task)) is not None]
    return min((moment for moment in times if moment.tzinfo is not None and moment <= now), default=None)
