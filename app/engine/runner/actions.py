"""The action core: starting a procedure for a unit and completing an open user task with form data,
with the checks they make (unit type, start form, lane, office and claim, the form's schema)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from app.engine import duties, events, step_log
from app.engine.business_keys import provisional_key
from app.engine.compaction import PlatformWorkflow
from app.engine.definitions import CompiledDefinition
from app.engine.errors import ConflictError, EngineError, FormValidationError, RefusedError
from app.engine.faults import enter_task, fault_reported
from app.engine.runner.advancing import Advancing
from app.engine.runner.core import Loaded, Locked
from app.models import ProcessInstance, Unit, WorkItem
from app.models.account import ADMIN_ROLES
from app.services import audit
from app.services.audit import Actor
from app.taskforms.schemas import FormLibrary


class Actions(Advancing):
    """Start and complete."""

    # ---- actions ---------------------------------------------------------------------

    def start(self, process_id: str, unit_id: int, actor: Actor, data: dict[str, Any] | None = None) -> ProcessInstance:
        """Start the newest version of a procedure for a unit."""
        # No instance row survives the rollback to be marked: the user is told and the log keeps it.
        with fault_reported("申请未能创建，请稍后重试；如仍出错，请联系管理员"):
            return self._start(process_id, unit_id, actor, dict(data or {}))

    def _start(self, process_id: str, unit_id: int, actor: Actor, data: dict[str, Any]) -> ProcessInstance:
        with self._transaction():
            unit = self._unit(unit_id)
            row = self.definitions.latest(self.session, process_id)
            compiled = self.definitions.compiled(row)
            data = self._check_may_start(compiled, unit, data)
            now = self.clock()
            instance = ProcessInstance(
                business_key=provisional_key(),  # numbered on saving, once sent (see _number_if_sent)
                definition_id=row.id,
                unit=unit,
                state={},
                serializer_version=self.serializer.version,
                created_by=actor.name,
                created_at=now,
                updated_at=now,
            )
            self.session.add(instance)
            self.session.flush()
            workflow = PlatformWorkflow(compiled.spec, compiled.subprocess_specs)
            context = self._context(instance, compiled, actor, now)
            loaded = Loaded(instance, compiled, workflow, context, ready_before=set())  # nothing projected yet
            workflow.script_engine = self._script_engine(loaded.context)
            for task in workflow.get_tasks(state=TaskState.READY):
                task.data.update(data)
            event = audit.event(actor, "start", instance.id, detail={"version": row.version})
            self._advance(loaded, actor, event, step_log.started(data))
            return instance

    def complete(
        self, task_id: str, actor: Actor, data: dict[str, Any], expected_version: int | None = None
    ) -> ProcessInstance:
        """Complete an open user task with form data; a second completion is a conflict.

        The work item is read with the instance under its lock; a refusal here rolls back, releasing it.
        """
        locked = self._read(True, {"task_id": task_id})
        if locked is None:
            self.session.rollback()
            raise ConflictError("该任务已办理或已撤销，请刷新后查看最新状态")
        if actor.role in ADMIN_ROLES:  # 三员 never review, whatever lane a diagram names
            self.session.rollback()
            raise RefusedError(f"{actor.role}不能办理审核任务")
        self._check_office(locked.office_code, locked.assignee, actor)
        action = {"kind": "complete", "task_id": task_id, "data": data, "actor": actor.name, "role": actor.role}
        with self._failure_recorded(locked.instance.id, action):
            return self._complete(locked.instance.id, task_id, actor, data, expected_version, locked)

    # ---- steps -----------------------------------------------------------------------

    def _complete(
        self,
        instance_id: int,
        task_id: str,
        actor: Actor,
        data: dict[str, Any],
        expected_version: int | None,
        locked: Locked | None = None,
    ) -> ProcessInstance:
        with self._transaction():
            loaded = self._load(instance_id, actor, locked=locked)
            if expected_version is not None and loaded.instance.version != expected_version:
                raise ConflictError("申请已被他人更新，请刷新后重试")
            task = loaded.workflow.get_task_from_id(UUID(task_id))
            if task is None or task.state != TaskState.READY or not task.task_spec.manual:
                raise ConflictError("该任务已由他人办理，请刷新后查看最新状态")
            self._check_role(task.task_spec.lane, actor)
            element = task.task_spec.bpmn_id
            duties.check(self.session, loaded.compiled, task, instance_id, actor.name)
            form = loaded.compiled.element_properties(element).get("formJsonSchemaFilename", "")
            data = self._cleaned(loaded.compiled.forms, form, data)
            self._replace_form_fields(task, loaded.compiled.forms.schema(form), data)
            duties.mark(task, actor.name)
            self._run_task(task, loaded.compiled)
            loaded.submitted = True
            waited = self._waited(task_id, loaded.context.now, locked)
            title = loaded.compiled.names.get(element, element)
            event = audit.event(actor, "complete", instance_id, (element, title), data, detail=waited)
            self._advance(loaded, actor, event, step_log.completed(element, data))
            events.task_completed.send(self, session=self.session, procedure=loaded.compiled.process_id)
            return loaded.instance

    @staticmethod
    def _replace_form_fields(task: Any, schema: dict[str, Any], data: dict[str, Any]) -> None:
        """The submitted form replaces its fields: one left out on resubmission is gone, not stale."""
        for field in schema.get("properties", {}):
            if field not in data:
                task.data.pop(field, None)
        task.set_data(**data)

    @staticmethod
    def _run_task(task: Task, compiled: CompiledDefinition) -> None:
        enter_task(task, compiled)
        try:
            task.run()
        except SpiffWorkflowException as exc:
            cause = exc.__cause__ or getattr(exc, "exception", None)
            if isinstance(cause, EngineError):
                raise cause from exc
            raise

    def _check_may_start(self, compiled: CompiledDefinition, unit: Unit, data: dict[str, Any]) -> dict[str, Any]:
        """The start data as it will be stored, once the unit's type and the start form allow it."""
        allowed = [t.strip() for t in compiled.process_properties.get("unitTypes", "").split(",") if t.strip()]
        if unit.unit_type not in allowed:
            raise RefusedError(f"“{compiled.name}”仅适用于{'、'.join(allowed)}")
        start_form = compiled.process_properties.get("startFormJsonSchemaFilename")
        return self._cleaned(compiled.forms, start_form, data) if start_form else data

    @staticmethod
    def _cleaned(forms: FormLibrary, form: str, data: dict[str, Any]) -> dict[str, Any]:
        """The input policy and the form's schema: every problem at once, or the data as it will be stored."""
        cleaned = forms.clean(form, data)
        if cleaned.errors:
            raise FormValidationError(cleaned.errors)
        return cleaned.data

    @staticmethod
    def _check_role(lane: str | None, actor: Actor) -> None:
        if lane and actor.role != lane:
            raise RefusedError(f"该任务须由“{lane}”办理")

    def _waited(self, task_id: str, now: datetime, locked: Locked | None) -> dict[str, int]:
        """Audit detail of a completion: how long its work item waited, on the engine's clock (统计 page).
        Read with the instance (`locked`), or, on a retry, before the save drops the work item."""
        if locked is not None:
            ready_at = locked.ready_at
        else:
            ready_at = self.session.scalar(select(WorkItem.created_at).where(WorkItem.task_id == task_id))
        return {"waited_seconds": round((now - ready_at).total_seconds())} if ready_at else {}

    def _check_office(self, office_code: str | None, assignee: str | None, actor: Actor) -> None:
        """A reviewer acting for an office may only complete that office's items, if unclaimed or theirs."""
        if actor.office_code is not None and office_code is not None and office_code != actor.office_code:
            self.session.rollback()
            raise RefusedError("该任务不属于您所在的机构")
        if assignee is not None and assignee != actor.name:
            self.session.rollback()
            raise ConflictError(f"该任务已由 {assignee} 签收办理")
