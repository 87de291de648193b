"""Start, complete a task, fire timers, correlate messages: each one locked transaction.

Every action: lock the instance, load the workflow onto the cached spec, act, run engine
steps, save the state with a version compare-and-set, rebuild the read models, audit,
commit. Any error rolls all of it back. A technical fault (a script or operator failing)
additionally marks the instance as `error` with the failed action, so an admin can retry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from app.engine import subscriptions
from app.engine.business_keys import next_business_key
from app.engine.context import ActionContext
from app.engine.definitions import CompiledDefinition, DefinitionStore
from app.engine.errors import (
    ConflictError,
    EngineError,
    FormValidationError,
    NotFoundError,
    RefusedError,
    TaskFailure,
)
from app.engine.operators import OperatorRegistry
from app.engine.sandbox import Limits
from app.engine.scripting import PlatformScriptEngine
from app.engine.serializer import StateSerializer
from app.engine.worklist import Projector, Snapshot, current_stage
from app.models import ProcessInstance, Unit, WorkItem
from app.services import audit, billing
from app.services.audit import Actor
from app.services.calendar import to_beijing_date
from app.services.errors import ServiceRefusal
from app.taskforms.schemas import FormLibrary

WORKER = Actor(name="system", role="系统")
# The message a unit's 撤回 sends; a diagram that allows withdrawal catches it (boundary event).
WITHDRAW_MESSAGE = "撤回"


@dataclass
class Loaded:
    """An instance row with its workflow restored and ready to act on."""

    instance: ProcessInstance
    compiled: CompiledDefinition
    workflow: BpmnWorkflow
    context: ActionContext
    waited_before: bool = False  # timer or message rows may exist from the last save
    ready_before: set[str] | None = None  # task ids of the work items the last save projected


class Runner:
    def __init__(
        self,
        session_factory: Callable[[], Session],
        definitions: DefinitionStore,
        operators: OperatorRegistry,
        forms: FormLibrary,
        settings: dict[str, Any],
        clock: Callable[[], datetime],
    ) -> None:
        self._session_factory = session_factory
        self.definitions = definitions
        self.operators = operators
        self.forms = forms
        self.settings = settings
        self.clock = clock
        self.serializer = StateSerializer()
        self.limits = Limits(float(settings["SCRIPT_TIMEOUT_SECONDS"]), int(settings["SCRIPT_MAX_MEMORY_MB"]))

    @property
    def session(self) -> Session:
        return self._session_factory()

    # ---- actions ---------------------------------------------------------------------

    def start(self, process_id: str, unit_id: int, actor: Actor, data: dict[str, Any] | None = None) -> ProcessInstance:
        """Start the newest version of a procedure for a unit."""
        data = dict(data or {})
        with self._transaction():
            unit = self._unit(unit_id)
            row = self.definitions.latest(self.session, process_id)
            compiled = self.definitions.compiled(row)
            self._check_may_start(compiled, unit, data)
            now = self.clock()
            instance = ProcessInstance(
                business_key=next_business_key(self.session, compiled.process_properties["businessKeyPrefix"], now),
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
            workflow = BpmnWorkflow(compiled.spec, compiled.subprocess_specs)
            loaded = Loaded(instance, compiled, workflow, self._context(instance, compiled, actor, now))
            workflow.script_engine = self._script_engine(loaded.context)
            for task in workflow.get_tasks(state=TaskState.READY):
                task.data.update(data)
            self._advance(loaded)
            audit.record(self.session, actor, "start", instance.id, detail={"version": row.version})
            return instance

    def complete(
        self, task_id: str, actor: Actor, data: dict[str, Any], expected_version: int | None = None
    ) -> ProcessInstance:
        """Complete an open user task with form data; a second completion is a conflict."""
        item = self.session.execute(
            select(WorkItem.instance_id, WorkItem.office_code, WorkItem.assignee).where(WorkItem.task_id == task_id)
        ).one_or_none()
        if item is None:
            self.session.rollback()
            raise ConflictError("该任务已办理或已撤销，请刷新后查看最新状态")
        instance_id, office_code, assignee = item
        self._check_office(office_code, assignee, actor)
        action = {"kind": "complete", "task_id": task_id, "data": data, "actor": actor.name, "role": actor.role}
        with self._failure_recorded(instance_id, action):
            return self._complete(instance_id, task_id, actor, data, expected_version)

    def fire_due_timers(self, now: datetime | None = None, limit: int = 50) -> list[str]:
        """Fire every timer due at `now`; returns the business keys that moved on."""
        moment = now or self.clock()
        fired: list[str] = []
        for _ in range(limit):
            instance_id = subscriptions.claim_due_timer(self.session, moment)
            if instance_id is None:
                break
            with self._failure_recorded(instance_id, {"kind": "timers", "at": moment.isoformat()}):
                fired.append(self._fire_timers(instance_id, moment))
        return fired

    def correlate(
        self, message_name: str, actor: Actor, collect: Callable[[Session, datetime], tuple[list[str], dict[str, Any]]]
    ) -> list[str]:
        """Deliver a message to every instance waiting for it under the keys `collect` returns.

        `collect` runs inside the same transaction (e.g. CONAC confirming a remittance batch),
        so the business change and every delivery commit together or not at all.
        """
        with self._transaction():
            now = self.clock()
            try:
                keys, payload = collect(self.session, now)
            except ServiceRefusal as refusal:
                raise RefusedError(refusal.message) from refusal
            return [
                self._deliver(instance_id, message_name, payload, actor, now)
                for instance_id in subscriptions.subscribers(self.session, message_name, keys)
            ]

    def confirm_remittance(self, remittance_id: int, actor: Actor) -> list[str]:
        """CONAC's 认款 of a remittance batch, delivered to every application in the batch."""

        def collect(session: Session, now: datetime) -> tuple[list[str], dict[str, Any]]:
            charge_ids = billing.confirm_remittance(session, remittance_id, actor.name, now)
            payload = {"remittance_id": remittance_id, "confirmed_on": to_beijing_date(now).isoformat()}
            return [str(c) for c in charge_ids], payload

        return self.correlate(billing.REMITTANCE_CONFIRMED, actor, collect)

    def withdraw(self, instance_id: int, actor: Actor) -> ProcessInstance:
        """The unit's 撤回: the diagram decides where the message leads; refused once a reviewer claimed."""
        with self._transaction():
            claimed = self.session.scalar(
                select(WorkItem.assignee)
                .where(WorkItem.instance_id == instance_id, WorkItem.assignee.is_not(None))
                .limit(1)
            )
            if claimed:
                raise RefusedError(f"审核人员 {claimed} 已签收，不能撤回")
            try:
                self._deliver(instance_id, WITHDRAW_MESSAGE, {}, actor, self.clock())
            except ConflictError as exc:
                raise RefusedError("当前阶段不能撤回") from exc
            return self.session.get(ProcessInstance, instance_id)  # type: ignore[return-value]

    def retry(self, instance_id: int, actor: Actor) -> ProcessInstance:
        """Replay the action that failed on an instance in error state."""
        instance = self.session.get(ProcessInstance, instance_id)
        if instance is None or instance.status != "error" or not instance.failed_action:
            self.session.rollback()
            raise RefusedError("该申请没有可重试的失败操作")
        action = dict(instance.failed_action)
        self.session.rollback()
        if action["kind"] == "timers":
            return self._retry_timers(instance_id, actor, action)
        replay = Actor(name=str(action["actor"]), role=str(action["role"]))
        with self._failure_recorded(instance_id, action):
            result = self._complete(instance_id, str(action["task_id"]), replay, dict(action["data"]), None)
        self._audit_alone(actor, "retry", instance_id)
        return result

    # ---- steps -----------------------------------------------------------------------

    def _complete(
        self, instance_id: int, task_id: str, actor: Actor, data: dict[str, Any], expected_version: int | None
    ) -> ProcessInstance:
        with self._transaction():
            loaded = self._load(instance_id, actor)
            if expected_version is not None and loaded.instance.version != expected_version:
                raise ConflictError("申请已被他人更新，请刷新后重试")
            task = loaded.workflow.get_task_from_id(UUID(task_id))
            if task is None or task.state != TaskState.READY or not task.task_spec.manual:
                raise ConflictError("该任务已由他人办理，请刷新后查看最新状态")
            self._check_role(task.task_spec.lane, actor)
            element = task.task_spec.bpmn_id
            form = loaded.compiled.element_properties(element).get("formJsonSchemaFilename", "")
            errors = self.forms.errors(form, data)
            if errors:
                raise FormValidationError(errors)
            self._replace_form_fields(task, form, data)
            self._run_task(task)
            self._advance(loaded)
            title = loaded.compiled.names.get(element, element)
            audit.record(self.session, actor, "complete", instance_id, (element, title), data)
            return loaded.instance

    def _fire_timers(self, instance_id: int, now: datetime) -> str:
        with self._transaction():
            loaded = self._load(instance_id, WORKER, now)
            loaded.workflow.refresh_timers()
            self._advance(loaded)
            audit.record(self.session, WORKER, "timer", instance_id, detail={"at": now.isoformat()})
            return loaded.instance.business_key

    def _retry_timers(self, instance_id: int, actor: Actor, action: dict[str, Any]) -> ProcessInstance:
        moment = max(self.clock(), datetime.fromisoformat(str(action["at"])))
        with self._failure_recorded(instance_id, action):
            self._fire_timers(instance_id, moment)
        self._audit_alone(actor, "retry", instance_id)
        return self.session.get(ProcessInstance, instance_id)  # type: ignore[return-value]

    def _deliver(
        self, instance_id: int, message_name: str, payload: dict[str, Any], actor: Actor, now: datetime
    ) -> str:
        loaded = self._load(instance_id, actor, now)
        event = BpmnEvent(MessageEventDefinition(message_name), payload=payload)
        try:
            loaded.workflow.send_event(event)
        except SpiffWorkflowException as exc:
            raise ConflictError(f"申请 {loaded.instance.business_key} 未在等待“{message_name}”") from exc
        self._advance(loaded)
        audit.record(self.session, actor, "message", instance_id, detail={"message": message_name, **payload})
        return loaded.instance.business_key

    def _advance(self, loaded: Loaded) -> None:
        """Run engine steps (timers included) until only user tasks or waits remain, then save."""
        workflow = loaded.workflow
        workflow.do_engine_steps()
        while workflow.get_tasks(state=TaskState.READY, manual=False):
            workflow.do_engine_steps()
        self._save(loaded)

    def _save(self, loaded: Loaded) -> None:
        """Compare-and-set on the version counter; a Core UPDATE, as this runs on every action."""
        instance, workflow = loaded.instance, loaded.workflow
        snapshot = Snapshot.of(workflow)
        values = {
            "state": self.serializer.dump(workflow),
            "stage": current_stage(workflow, snapshot, loaded.compiled, instance.stage),
            "status": "completed" if workflow.completed else "running",
            "error": None,
            "failed_action": None,
            "updated_at": loaded.context.now,
            "version": instance.version + 1,
        }
        table = ProcessInstance.__table__
        saved = self.session.connection().execute(
            update(table).where(table.c.id == instance.id, table.c.version == instance.version).values(values)
        )
        if saved.rowcount != 1:
            raise ConflictError("申请已被他人同时更新，请刷新后重试")
        for key, value in values.items():
            set_committed_value(instance, key, value)
        evaluate = workflow.script_engine.evaluate
        Projector(self.session, loaded.ready_before).project(
            instance, snapshot, loaded.compiled, loaded.context.now, evaluate, loaded.waited_before
        )

    def _replace_form_fields(self, task: Any, form: str, data: dict[str, Any]) -> None:
        """The submitted form replaces its fields: one left out on resubmission is gone, not stale."""
        for field in self.forms.schema(form).get("properties", {}):
            if field not in data:
                task.data.pop(field, None)
        task.set_data(**data)

    @staticmethod
    def _run_task(task: Any) -> None:
        try:
            task.run()
        except SpiffWorkflowException as exc:
            cause = exc.__cause__ or getattr(exc, "exception", None)
            if isinstance(cause, EngineError):
                raise cause from exc
            raise TaskFailure(task.task_spec.bpmn_id or task.task_spec.name, str(exc)) from exc

    # ---- loading, locking, context ---------------------------------------------------

    def _load(self, instance_id: int, actor: Actor, now: datetime | None = None) -> Loaded:
        instance = self._lock(instance_id)
        compiled = self.definitions.compiled_by_id(self.session, instance.definition_id)
        context = self._context(instance, compiled, actor, now or self.clock())
        workflow = self.serializer.load(instance.state, compiled.spec, compiled.subprocess_specs)
        workflow.script_engine = self._script_engine(context)
        before = Snapshot.of(workflow)
        ready_before = {str(t.id) for t in before.ready}
        return Loaded(instance, compiled, workflow, context, bool(before.waiting), ready_before)

    def _lock(self, instance_id: int) -> ProcessInstance:
        """Row lock on PostgreSQL; on SQLite the version counter catches a concurrent writer."""
        query = select(ProcessInstance).where(ProcessInstance.id == instance_id)
        if self.session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(of=ProcessInstance)
        instance = self.session.scalar(query.execution_options(populate_existing=True))
        if instance is None:
            raise NotFoundError("没有找到该申请")
        return instance

    def _context(
        self, instance: ProcessInstance, compiled: CompiledDefinition, actor: Actor, now: datetime
    ) -> ActionContext:
        return ActionContext(
            session=self.session,
            unit_id=instance.unit_id,
            actor=actor.name,
            role=actor.role,
            now=now,
            settings=self.settings,
            instance_id=instance.id,
            procedure=compiled.process_properties,
        )

    def _script_engine(self, context: ActionContext) -> PlatformScriptEngine:
        return PlatformScriptEngine(context, self.operators, self.limits)

    def _unit(self, unit_id: int) -> Unit:
        unit = self.session.get(Unit, unit_id)
        if unit is None:
            raise NotFoundError("没有找到该单位")
        return unit

    def _check_may_start(self, compiled: CompiledDefinition, unit: Unit, data: dict[str, Any]) -> None:
        allowed = [t.strip() for t in compiled.process_properties.get("unitTypes", "").split(",") if t.strip()]
        if unit.unit_type not in allowed:
            raise RefusedError(f"“{compiled.name}”仅适用于{'、'.join(allowed)}")
        start_form = compiled.process_properties.get("startFormJsonSchemaFilename")
        if start_form:
            errors = self.forms.errors(start_form, data)
            if errors:
                raise FormValidationError(errors)

    @staticmethod
    def _check_role(lane: str | None, actor: Actor) -> None:
        if lane and actor.role != lane:
            raise RefusedError(f"该任务须由“{lane}”办理")

    def _check_office(self, office_code: str | None, assignee: str | None, actor: Actor) -> None:
        """A reviewer acting for an office may only complete that office's items, if unclaimed or theirs."""
        if actor.office_code is not None and office_code is not None and office_code != actor.office_code:
            self.session.rollback()
            raise RefusedError("该任务不属于您所在的机构")
        if assignee is not None and assignee != actor.name:
            self.session.rollback()
            raise ConflictError(f"该任务已由 {assignee} 签收办理")

    # ---- transactions ----------------------------------------------------------------

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        try:
            yield
            self.session.commit()
        except BaseException:
            self.session.rollback()
            raise

    @contextmanager
    def _failure_recorded(self, instance_id: int, action: dict[str, Any]) -> Iterator[None]:
        """On a technical fault, keep the instance as it was and mark it `error` with the action."""
        try:
            yield
        except TaskFailure as failure:
            self._mark_error(instance_id, failure, action)
            raise

    def _mark_error(self, instance_id: int, failure: TaskFailure, action: dict[str, Any]) -> None:
        with self._transaction():
            instance = self._lock(instance_id)
            instance.status, instance.error, instance.failed_action = "error", failure.message, action
            audit.record(
                self.session,
                WORKER,
                "error",
                instance_id,
                (failure.element_id, failure.element_id),
                detail={"error": failure.message, "action": action.get("kind")},
            )

    def _audit_alone(self, actor: Actor, action: str, instance_id: int) -> None:
        with self._transaction():
            audit.record(self.session, actor, action, instance_id)
