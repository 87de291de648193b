"""Running engine steps after an action and saving the result: the version compare-and-set, the read models,
the step record and the audit event (app/engine/saving.py), and numbering an application once it is sent."""

from __future__ import annotations

from functools import partial
from typing import Any

from SpiffWorkflow.util.task import TaskState
from sqlalchemy.orm.attributes import set_committed_value

from app.engine import saving, step_log
from app.engine.business_keys import next_business_key
from app.engine.compaction import compact
from app.engine.faults import SAVING, enter_task, step
from app.engine.runner.core import Loaded, RunnerCore
from app.engine.worklist import Projector, Snapshot, current_stage
from app.models.account import UNIT_ROLE
from app.services.audit import Actor


class Advancing(RunnerCore):
    """Engine steps after an action, then the save."""

    def _advance(self, loaded: Loaded, actor: Actor, event: dict[str, Any], logged: dict[str, Any]) -> None:
        """Run engine steps (timers included) until only user tasks or waits remain, then save with the
        action's audit event and step record."""
        workflow = loaded.workflow
        entering = partial(enter_task, compiled=loaded.compiled)
        workflow.do_engine_steps(will_complete_task=entering)
        while workflow.get_tasks(state=TaskState.READY, manual=False):
            workflow.do_engine_steps(will_complete_task=entering)
        step.set(SAVING)
        self._save(loaded, actor, event, logged)

    def _save(
        self,
        loaded: Loaded,
        actor: Actor,
        event: dict[str, Any] | None = None,
        logged: dict[str, Any] | None = None,
    ) -> None:
        """Compare-and-set on the version counter, the read models' changes, the step record and the event."""
        instance, workflow = loaded.instance, loaded.workflow
        snapshot = Snapshot.of(workflow)
        stage = current_stage(workflow, snapshot, loaded.compiled, instance.stage)  # may read end events
        compact(workflow)
        values = {
            "business_key": self._number_if_sent(loaded, snapshot) or instance.business_key,
            "state": self.serializer.dump(workflow),
            "serializer_version": self.serializer.version,
            "stage": stage,
            "status": "completed" if workflow.completed else "running",
            "error": None,
            "failed_action": None,
            "updated_at": loaded.context.now,
            "version": instance.version + 1,
        }
        evaluate = workflow.script_engine.evaluate
        changes = Projector(self.session, loaded.ready_before).project(
            instance, snapshot, loaded.compiled, loaded.context.now, evaluate, loaded.waited_before
        )
        record = step_log.row(loaded, actor, logged, values["version"]) if logged is not None else None
        save = saving.Save(instance.id, instance.version, values, changes, record, event)
        saving.write(self.session.connection(), save)
        for key, value in values.items():
            set_committed_value(instance, key, value)

    def _number_if_sent(self, loaded: Loaded, snapshot: Snapshot) -> str | None:
        """The application's number, taken in this transaction, when it is sent without one yet.

        It is sent once the unit submits a form, or as soon as anyone but the unit has something
        to do with it (a procedure whose start form is the submission, e.g. 域名解析). Until then,
        after 立即申请 it waits for the unit's first form only and keeps its provisional key.
        """
        instance, workflow = loaded.instance, loaded.workflow
        if instance.numbered:
            return None
        waits_for_unit = not workflow.completed and bool(snapshot.ready)
        if not loaded.submitted and waits_for_unit and all(t.task_spec.lane == UNIT_ROLE for t in snapshot.ready):
            return None
        prefix = loaded.compiled.process_properties["businessKeyPrefix"]
        return next_business_key(self.session, prefix, loaded.context.now)
