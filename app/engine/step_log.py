"""The step log: every runner action appends what it did, in the action's own transaction.

What a replay needs to redo an application on an edited diagram (app/engine/preview.py): the
start data, each completion with its element and the form data as stored, each message with
its payload, each firing of timers, the engine's clock of each, and the results the service
tasks of the action got (so a replay never calls an operator again). And what to compare the
replay with: the elements each action completed, in order. The runner writes the record with its
save (app/engine/saving.py): one step per saved version.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from app.models import StepRecord
from app.services.audit import Actor

if TYPE_CHECKING:
    from app.engine.runner import Loaded

START, COMPLETE, MESSAGE, TIMER = "start", "complete", "message", "timer"
TABLE = StepRecord.__table__


def started(data: dict[str, Any]) -> dict[str, Any]:
    return {"kind": START, "data": data}


def completed(element: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"kind": COMPLETE, "element": element, "data": data}


def delivered(message: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {"kind": MESSAGE, "message": message, "data": payload}


def fired() -> dict[str, Any]:
    return {"kind": TIMER, "data": {}}


def row(loaded: Loaded, actor: Actor, step: dict[str, Any], seq: int) -> dict[str, Any]:
    """The record of `step` (one of the above), written with the save that gives the instance version `seq`."""
    return {
        "instance_id": loaded.instance.id,
        "seq": seq,
        "element": None,
        "message": None,
        "results": list(getattr(loaded.workflow.script_engine, "service_calls", [])),
        "path": list(loaded.workflow.trail),
        "actor": actor.name,
        "role": actor.role,
        "at": loaded.context.now,
        **step,
    }
