"""Retrying the action that failed on an instance in `error` state (a completion, timers, a message or
a withdrawal), as its original actor, and moving an instance to another version (app/services/migration.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.engine.compaction import PlatformWorkflow
from app.engine.definitions import CompiledDefinition
from app.engine.errors import RefusedError
from app.engine.runner.actions import Actions
from app.engine.runner.core import Loaded
from app.engine.runner.timers import Timers
from app.engine.runner.withdrawal import Withdrawal
from app.engine.scripting import PlatformScriptEngine
from app.models import ProcessInstance
from app.services.audit import Actor


class Retrying(Actions, Timers, Withdrawal):
    """Retrying a failed action; moving an instance to another version."""

    def retry(self, instance_id: int, actor: Actor) -> ProcessInstance:
        """Replay the action that failed on an instance in error state."""
        instance = self.session.get(ProcessInstance, instance_id)
        if instance is None or instance.status != "error" or not instance.failed_action:
            self.session.rollback()
            raise RefusedError("该申请没有可重试的失败操作")
        action = dict(instance.failed_action)
        self.session.rollback()
        with self._failure_recorded(instance_id, action):
            self._replay(instance_id, action)
        self._audit_alone(actor, "retry", instance_id)
        return self.session.get(ProcessInstance, instance_id)  # type: ignore[return-value]

    def _replay(self, instance_id: int, action: dict[str, Any]) -> None:
        kind = action["kind"]
        if kind == "timers":
            self._fire_timers(instance_id, max(self.clock(), datetime.fromisoformat(str(action["at"]))))
            return
        original = Actor(name=str(action["actor"]), role=str(action["role"]))
        if kind == "withdraw":
            self._withdraw(instance_id, original)
        elif kind == "message":
            with self._transaction():
                self._deliver(instance_id, str(action["message"]), dict(action["payload"]), original, self.clock())
        else:
            self._complete(instance_id, str(action["task_id"]), original, dict(action["data"]), None)

    # ---- moving to another version (app/services/migration.py) ------------------------

    def lock(self, instance_id: int) -> ProcessInstance:
        """Lock an instance, as every action does, for a change made in the caller's transaction."""
        return self._lock(instance_id)

    def save_moved(
        self, instance: ProcessInstance, compiled: CompiledDefinition, workflow: PlatformWorkflow, actor: Actor
    ) -> None:
        """Save a locked instance's workflow that now runs on `compiled` (a migration or its undo).

        No engine step runs. The caller has deleted the instance's work items: every ready task is
        projected afresh from `compiled` (same task ids, new titles, forms, routing).
        """
        workflow.script_engine = self.script_engine_for(instance, compiled, actor)
        context = workflow.script_engine.context
        self._save(Loaded(instance, compiled, workflow, context, waited_before=None, ready_before=set()), actor)

    def script_engine_for(
        self, instance: ProcessInstance, compiled: CompiledDefinition, actor: Actor
    ) -> PlatformScriptEngine:
        """The script engine an action on `instance` under `compiled` gets now (a move re-evaluates timers)."""
        return self._script_engine(self._context(instance, compiled, actor, self.clock()))
