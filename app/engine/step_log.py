"""The step log: every runner action appends what it did, in the action's own transaction.

What a replay needs to redo an application on an edited diagram (app/engine/preview.py): the
start data, each completion with its element and the form data as stored, each message with
its payload, each firing of timers, the engine's clock of each, and the results the service
tasks of the action got (so a replay never calls an operator again). And what to compare the
replay with: the elements each action completed, in order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from app.models import StepRecord
from app.services.audit import Actor

if TYPE_CHECKING:
    from app.engine.runner import Loaded

START, COMPLETE, MESSAGE, TIMER = "start", "complete", "message", "timer"
_TABLE = StepRecord.__table__


def started(session: Session, loaded: Loaded, data: dict[str, Any], actor: Actor) -> None:
    _append(session, loaded, actor, kind=START, data=data)


def completed(session: Session, loaded: Loaded, element: str, data: dict[str, Any], actor: Actor) -> None:
    _append(session, loaded, actor, kind=COMPLETE, element=element, data=data)


def delivered(session: Session, loaded: Loaded, message: str, payload: dict[str, Any], actor: Actor) -> None:
    _append(session, loaded, actor, kind=MESSAGE, message=message, data=payload)


def fired(session: Session, loaded: Loaded, actor: Actor) -> None:
    _append(session, loaded, actor, kind=TIMER, data={})


def _append(session: Session, loaded: Loaded, actor: Actor, **values: Any) -> None:
    """Keyed by the version counter the action's save left: one step per saved version."""
    row = {
        "instance_id": loaded.instance.id,
        "seq": loaded.instance.version,
        "element": None,
        "message": None,
        "results": list(getattr(loaded.workflow.script_engine, "service_calls", [])),
        "path": list(loaded.workflow.trail),
        "actor": actor.name,
        "role": actor.role,
        "at": loaded.context.now,
        **values,
    }
    session.connection().execute(_TABLE.insert(), row)  # table-level, like the audit trail: runs on every action
