"""The runner's shared parts: the records an action works on and the base class every part builds on.

Here: the locked read of an instance (with its unit and process context, and for a completion its work item),
loading its workflow onto the cached spec, the action context and script engine, the transaction every action
runs in, and marking an instance `error` with the action that failed (for an admin to retry).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import cache, partial
from typing import Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session, contains_eager

from app.engine.compaction import PlatformWorkflow, compact
from app.engine.context import ActionContext
from app.engine.definitions import CompiledDefinition, DefinitionStore
from app.engine.errors import ConflictError, NotFoundError, TaskFailure
from app.engine.faults import LOADING, RETRYABLE, fault_reported, step
from app.engine.operators import OperatorRegistry
from app.engine.sandbox import Limits
from app.engine.scripting import PlatformScriptEngine
from app.engine.serializer import StateSerializer
from app.engine.worklist import NO_WAITS, Snapshot, Waits
from app.models import ProcessInstance, Unit, WorkItem
from app.models.workflow import ABANDONED
from app.services import audit, process_context
from app.services.audit import Actor
from app.services.calendar import to_beijing_date

WORKER = Actor(name="system", role="系统")
# The message a unit's 撤回 sends; a diagram that allows withdrawal catches it (boundary event).
WITHDRAW_MESSAGE = "撤回"

logger = logging.getLogger(__package__)  # "app.engine.runner", as when the runner was one module


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


class RunnerCore:
    """What every action shares: settings, session, locking and loading, the transaction, error marking."""

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
