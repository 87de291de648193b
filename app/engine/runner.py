"""Start, complete a task, fire timers, correlate messages: each one locked transaction.

Every action: lock the instance, load the workflow onto the cached spec, act, run engine
steps, cut finished history off the task tree, save the state with a version compare-and-set,
rebuild the read models, audit, commit. The lock reads the instance with its unit and the process
context in one statement (a completion: with the work item too); the save writes the state, the read
models, the step record and the audit event in as few as the database allows (app/engine/saving.py).
Any error rolls all of it back. Any fault other than an answer meant for the user (conflict,
refusal, invalid form, not found) additionally marks the instance as `error` with the failed
action, so an admin can retry: the stored text is Chinese, names the step and an incident number;
the exception and its traceback go to the server log under that number, never into the instance
or the audit trail.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import cache, partial
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import Select, bindparam, delete, select, update
from sqlalchemy.orm import Session, contains_eager
from sqlalchemy.orm.attributes import set_committed_value

from app.engine import duties, events, saving, step_log, subscriptions, timer_queue
from app.engine.business_keys import next_business_key, provisional_key
from app.engine.compaction import PlatformWorkflow, compact
from app.engine.context import ActionContext
from app.engine.definitions import CompiledDefinition, DefinitionStore
from app.engine.errors import ConflictError, EngineError, FormValidationError, NotFoundError, RefusedError, TaskFailure
from app.engine.faults import (
    LOADING,
    OUTCOMES,
    RETRYABLE,
    SAVING,
    UNDONE,
    Step,
    enter_task,
    failure_from,
    fault_reported,
    step,
)
from app.engine.operators import OperatorRegistry
from app.engine.sandbox import Limits
from app.engine.scripting import PlatformScriptEngine
from app.engine.serializer import StateSerializer
from app.engine.worklist import NO_WAITS, Projector, Snapshot, Waits, current_stage
from app.models import Draft, InstanceOffice, MessageSubscription, ProcessInstance, TimerSubscription, Unit, WorkItem
from app.models.account import ADMIN_ROLES, UNIT_ROLE
from app.models.workflow import ABANDONED
from app.services import audit, billing, process_context
from app.services.audit import Actor
from app.services.calendar import to_beijing_date
from app.services.errors import ServiceRefusal
from app.taskforms.schemas import FormLibrary

WORKER = Actor(name="system", role="系统")
# The message a unit's 撤回 sends; a diagram that allows withdrawal catches it (boundary event).
WITHDRAW_MESSAGE = "撤回"

logger = logging.getLogger(__name__)


class _DeliveryFailed(Exception):
    """A message delivery to one instance faulted with `fault`."""

    def __init__(self, instance_id: int, payload: dict[str, Any], fault: Exception) -> None:
        super().__init__(instance_id)
        self.instance_id = instance_id
        self.payload = payload
        self.fault = fault


@dataclass
class Loaded:
    """An instance row with its workflow restored and ready to act on."""

    instance: ProcessInstance
    compiled: CompiledDefinition
    workflow: PlatformWorkflow
    context: ActionContext
    waited_before: Waits | None = NO_WAITS  # the timer and message rows of the last save (None: not known)
    ready_before: set[str] | None = None  # task ids of the work items the last save projected
    submitted: bool = False  # a user task was completed: an application still unnumbered gets its number


@dataclass
class Locked:
    """An instance row read under its lock, with what the process context needs and, for a completion, the work item."""

    instance: ProcessInstance
    context_columns: tuple[Any, ...]  # process_context.columns, as selected
    office_code: str | None = None
    assignee: str | None = None
    ready_at: datetime | None = None  # the work item's created_at


@cache
def _locking_read(dialect: str, by_task: bool) -> Select[Any]:
    """The instance with its unit and process context (and the work item), row-locked on PostgreSQL; on SQLite
    the version counter catches a concurrent writer. Built once: it runs on every action."""
    query = (
        select(ProcessInstance, *process_context.columns(ProcessInstance.id, Unit.region_code))
        .join(ProcessInstance.unit)
        .options(contains_eager(ProcessInstance.unit))
        .execution_options(populate_existing=True)
    )
    if by_task:
        query = query.add_columns(WorkItem.office_code, WorkItem.assignee, WorkItem.created_at)
        query = query.join(WorkItem, WorkItem.instance_id == ProcessInstance.id)
        query = query.where(WorkItem.task_id == bindparam("task_id"))
    else:
        query = query.where(ProcessInstance.id == bindparam("instance_id"))
    return query.with_for_update(of=ProcessInstance) if dialect == "postgresql" else query


class Runner:
    def __init__(
        self,
        session_factory: Callable[[], Session],
        definitions: DefinitionStore,
        operators: OperatorRegistry,
        settings: dict[str, Any],
        clock: Callable[[], datetime],
    ) -> None:
        self._session_factory = session_factory
        self.definitions = definitions
        self.operators = operators
        self.settings = settings
        self.clock = clock
        self.serializer = StateSerializer()
        self.limits = Limits(
            float(settings["SCRIPT_TIMEOUT_SECONDS"]),
            int(settings["SCRIPT_MAX_MEMORY_MB"]),
            int(settings["SCRIPT_WORKERS"]),
        )

    @property
    def session(self) -> Session:
        return self._session_factory()

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

    def fire_due_timers(self, now: datetime | None = None, limit: int = 50) -> list[str]:
        """Fire the timers due at `now` of up to `limit` instances; returns the business keys that moved on."""
        return timer_queue.fire_due_up_to(self, now or self.clock(), limit)

    def fire_claimed(self, instance_id: int, now: datetime) -> str | None:
        """Fire an instance's due timers (claimed by app/engine/timer_queue.py); its business key, or None
        when none is due any more (another worker fired it) or it faulted (marked `error`, logged)."""
        try:
            with self._failure_recorded(instance_id, {"kind": "timers", "at": now.isoformat()}):
                return self._fire_timers(instance_id, now)
        except (TaskFailure, NotFoundError, ConflictError) as exc:  # gone or 放弃 since the claim, or faulted
            logger.info("定时事件未触发（申请 %s）：%s", instance_id, type(exc).__name__)
            return None

    def correlate(
        self, message_name: str, actor: Actor, collect: Callable[[Session, datetime], tuple[list[str], dict[str, Any]]]
    ) -> list[str]:
        """Deliver a message to every instance waiting for it under the keys `collect` returns.

        `collect` runs inside the same transaction (e.g. CONAC confirming a remittance batch),
        so the business change and the deliveries commit together; a refusal or conflict undoes
        all of it. A delivery that faults is left out instead: the whole is redone without it,
        and that instance is marked `error` with the delivery for an admin to retry.
        """
        failed: set[int] = set()
        with fault_reported(UNDONE):
            while True:
                try:
                    return self._correlate_once(message_name, actor, collect, failed)
                except _DeliveryFailed as delivery:
                    failed.add(delivery.instance_id)
                    self._record_delivery_fault(delivery, message_name, actor)

    def _correlate_once(
        self,
        message_name: str,
        actor: Actor,
        collect: Callable[[Session, datetime], tuple[list[str], dict[str, Any]]],
        failed: set[int],
    ) -> list[str]:
        with self._transaction():
            now = self.clock()
            try:
                keys, payload = collect(self.session, now)
            except ServiceRefusal as refusal:
                raise RefusedError(refusal.message) from refusal
            return [
                self._delivered(instance_id, message_name, payload, actor, now)
                for instance_id in subscriptions.subscribers(self.session, message_name, keys)
                if instance_id not in failed
            ]

    def _delivered(
        self, instance_id: int, message_name: str, payload: dict[str, Any], actor: Actor, now: datetime
    ) -> str:
        try:
            return self._deliver(instance_id, message_name, payload, actor, now)
        except OUTCOMES:
            raise
        except Exception as exc:
            raise _DeliveryFailed(instance_id, payload, exc) from exc

    def _record_delivery_fault(self, delivery: _DeliveryFailed, message_name: str, actor: Actor) -> None:
        action = {"kind": "message", "message": message_name, "payload": delivery.payload}
        failure = failure_from(delivery.fault, RETRYABLE)
        self._mark_error(delivery.instance_id, failure, {**action, "actor": actor.name, "role": actor.role})

    def confirm_remittance(self, remittance_id: int, actor: Actor) -> list[str]:
        """CONAC's 认款 of a remittance batch, delivered to every application in the batch."""

        def collect(session: Session, now: datetime) -> tuple[list[str], dict[str, Any]]:
            charge_ids = billing.confirm_remittance(session, remittance_id, actor.name, now)
            detail = {"remittance_id": remittance_id, "charges": charge_ids}
            audit.record(session, actor, "remittance_confirm", detail=detail)  # 认款 itself, beside each delivery
            payload = {"remittance_id": remittance_id, "confirmed_on": to_beijing_date(now).isoformat()}
            return [str(c) for c in charge_ids], payload

        return self.correlate(billing.REMITTANCE_CONFIRMED, actor, collect)

    def withdraw(self, instance_id: int, actor: Actor) -> ProcessInstance:
        """The unit's 撤回: the diagram decides where the message leads; refused once a reviewer claimed."""
        with self._failure_recorded(instance_id, {"kind": "withdraw", "actor": actor.name, "role": actor.role}):
            return self._withdraw(instance_id, actor)

    def _withdraw(self, instance_id: int, actor: Actor) -> ProcessInstance:
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

    def abandon(self, instance_id: int, actor: Actor) -> None:
        """The unit's 放弃 of an application it never submitted: its open tasks, drafts and waits go.

        The instance row stays, marked abandoned and hidden from every list, because the audit
        trail is append-only and its events (立即申请, this 放弃) point at it. It has no number.
        """
        with fault_reported(UNDONE), self._transaction():
            instance = self._lock(instance_id)
            if instance.status == ABANDONED:
                raise RefusedError("该申请已放弃")
            if instance.numbered:
                raise RefusedError(f"申请 {instance.business_key} 已提交，不能放弃")
            self._forget_open_work(instance_id)
            values = {"status": ABANDONED, "stage": "已放弃", "error": None, "failed_action": None}
            table = ProcessInstance.__table__
            saved = self.session.connection().execute(
                update(table)
                .where(table.c.id == instance_id, table.c.version == instance.version)
                .values(**values, updated_at=self.clock(), version=instance.version + 1)
            )
            if saved.rowcount != 1:
                raise ConflictError("申请已被他人同时更新，请刷新后重试")
            audit.record(self.session, actor, "abandon", instance_id, detail={"key": instance.business_key})

    def _forget_open_work(self, instance_id: int) -> None:
        """Drafts of its open tasks, the tasks, waits and offices: nothing of it is left to act on."""
        open_tasks = select(WorkItem.task_id).where(WorkItem.instance_id == instance_id)
        self.session.execute(delete(Draft).where(Draft.task_id.in_(open_tasks)))
        for model in (WorkItem, TimerSubscription, MessageSubscription, InstanceOffice):
            self.session.execute(delete(model).where(model.instance_id == instance_id))

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

    def _fire_timers(self, instance_id: int, now: datetime) -> str | None:
        with self._transaction():
            loaded = self._load(instance_id, WORKER, now)
            step.set(Step(None, "处理到期的定时事件"))
            timer = subscriptions.first_due_timer(self.session, instance_id, now)  # named in the timeline
            if timer is None:  # fired by another worker since this one's claim: nothing to do
                return None
            events.timer_firing.send(self, session=self.session, due=events.earliest_due(loaded.workflow, now))
            loaded.workflow.refresh_timers()
            task = (timer, loaded.compiled.names.get(timer, timer)) if timer else None
            event = audit.event(WORKER, "timer", instance_id, task, detail={"at": now.isoformat()})
            self._advance(loaded, WORKER, event, step_log.fired())
            return loaded.instance.business_key

    def _deliver(
        self, instance_id: int, message_name: str, payload: dict[str, Any], actor: Actor, now: datetime
    ) -> str:
        loaded = self._load(instance_id, actor, now)
        step.set(Step(None, f"接收消息“{message_name}”"))
        event = BpmnEvent(MessageEventDefinition(message_name), payload=payload)
        try:
            loaded.workflow.send_event(event)
        except SpiffWorkflowException as exc:
            raise ConflictError(f"申请 {loaded.instance.business_key} 未在等待“{message_name}”") from exc
        event = audit.event(actor, "message", instance_id, detail={"message": message_name, **payload})
        self._advance(loaded, actor, event, step_log.delivered(message_name, payload))
        return loaded.instance.business_key

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

    # ---- loading, locking, context ---------------------------------------------------

    def _load(
        self, instance_id: int, actor: Actor, now: datetime | None = None, locked: Locked | None = None
    ) -> Loaded:
        step.set(LOADING)
        locked = locked or self._locked(instance_id)
        instance = locked.instance
        if instance.status == ABANDONED:  # e.g. a submission racing the unit's own 放弃
            raise ConflictError("该申请已放弃")
        compiled = self.definitions.compiled_by_id(self.session, instance.definition_id)
        context = self._context(instance, compiled, actor, now or self.clock(), locked.context_columns)
        workflow = self.serializer.load(instance.state, compiled.spec, compiled.subprocess_specs)
        compact(workflow)  # a state saved before compaction existed may be too deep to step through
        workflow.script_engine = self._script_engine(context)
        before = Snapshot.of(workflow)
        ready_before = {str(t.id) for t in before.ready}
        step.set(None)
        return Loaded(instance, compiled, workflow, context, Waits.of(before), ready_before)

    def _lock(self, instance_id: int) -> ProcessInstance:
        return self._locked(instance_id).instance

    def _locked(self, instance_id: int) -> Locked:
        locked = self._read(False, {"instance_id": instance_id})
        if locked is None:
            raise NotFoundError("没有找到该申请")
        return locked

    def _read(self, by_task: bool, key: dict[str, Any]) -> Locked | None:
        query = _locking_read(self.session.get_bind().dialect.name, by_task)
        row = self.session.execute(query, key).one_or_none()
        if row is None:
            return None
        instance, domains, province, city, *work_item = row
        return Locked(instance, (domains, province, city), *work_item)

    def _context(
        self,
        instance: ProcessInstance,
        compiled: CompiledDefinition,
        actor: Actor,
        now: datetime,
        context_columns: tuple[Any, ...] | None = None,
    ) -> ActionContext:
        procedure, today = compiled.process_properties, to_beijing_date(now)
        if context_columns is None:
            names = process_context.values(self.session, instance.unit_id, instance.id, procedure, today)
        else:
            names = process_context.from_columns(instance.unit, context_columns, procedure, today)
        return ActionContext(
            session=self.session,
            unit_id=instance.unit_id,
            actor=actor.name,
            role=actor.role,
            now=now,
            settings=self.settings,
            instance_id=instance.id,
            procedure=procedure,
            names=names,
        )

    def _script_engine(self, context: ActionContext) -> PlatformScriptEngine:
        return PlatformScriptEngine(context, self.operators, self.limits)

    def _unit(self, unit_id: int) -> Unit:
        unit = self.session.get(Unit, unit_id)
        if unit is None:
            raise NotFoundError("没有找到该单位")
        return unit

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

    # ---- transactions ----------------------------------------------------------------

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        try:
            yield
            self.session.commit()
        except BaseException:
            self.session.rollback()
            raise

    def _failure_recorded(self, instance_id: int, action: dict[str, Any]) -> AbstractContextManager[None]:
        """On a fault, keep the instance as it was and mark it `error` with the action to retry."""
        return fault_reported(RETRYABLE, partial(self._mark_error, instance_id, action=action))

    def _mark_error(self, instance_id: int, failure: TaskFailure, action: dict[str, Any]) -> None:
        """In a fresh transaction: the failed one may have left the session broken. Never raises."""
        current, element = step.get(), failure.element_id
        task = (element, current.title if current and current.element == element else element) if element else None
        self.session.rollback()
        try:
            with self._transaction():
                instance = self._lock(instance_id)
                instance.status, instance.error, instance.failed_action = "error", failure.message, action
                audit.record(
                    self.session,
                    WORKER,
                    "error",
                    instance_id,
                    task,
                    detail={"error": failure.message, "action": action.get("kind"), "incident": failure.incident},
                )
        except Exception:
            logger.exception("事件编号 %s：未能将申请 %s 标记为异常", failure.incident, instance_id)

    def _audit_alone(self, actor: Actor, action: str, instance_id: int) -> None:
        with self._transaction():
            audit.record(self.session, actor, action, instance_id)
