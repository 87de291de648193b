"""Read models rebuilt on every save: work items, waiting timers and message subscriptions, stage."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

from SpiffWorkflow.bpmn.specs.defaults import EndEvent
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.engine.definitions import CompiledDefinition
from app.engine.errors import TaskFailure
from app.engine.timers import due_at
from app.models import InstanceOffice, MessageSubscription, ProcessInstance, TimerSubscription, WorkItem
from app.services import calendar
from app.services.calendar import BEIJING
from app.services.jurisdiction import RoutingError, route


def ready_user_tasks(workflow: BpmnWorkflow) -> list[Task]:
    return workflow.get_tasks(state=TaskState.READY, manual=True)


@dataclass(frozen=True)
class Snapshot:
    """Where a workflow stands after an action, read in one pass over its tasks."""

    ready: list[Task]  # open user tasks
    waiting: list[Task]  # timer and message catch events, among other waits

    @classmethod
    def of(cls, workflow: BpmnWorkflow) -> Snapshot:
        tasks = workflow.get_tasks(state=TaskState.READY | TaskState.WAITING)
        ready = [t for t in tasks if t.state == TaskState.READY and t.task_spec.manual]
        return cls(ready=ready, waiting=[t for t in tasks if t.state == TaskState.WAITING])

    def waiting_for(self, kind: type) -> list[Task]:
        return [t for t in self.waiting if isinstance(getattr(t.task_spec, "event_definition", None), kind)]


def current_stage(workflow: BpmnWorkflow, snapshot: Snapshot, compiled: CompiledDefinition, previous: str) -> str:
    """The status a unit sees, read from `stage` properties in the diagram."""
    if workflow.completed:
        ends = [t for t in workflow.get_tasks(state=TaskState.COMPLETED) if isinstance(t.task_spec, EndEvent)]
        ends.sort(key=lambda t: t.last_state_change)
        stages = [compiled.element_properties(t.task_spec.bpmn_id).get("stage") for t in ends]
        return next((s for s in reversed(stages) if s), previous)
    for tasks in (snapshot.ready, snapshot.waiting):
        stages = [compiled.element_properties(t.task_spec.bpmn_id).get("stage") for t in tasks]
        found = list(dict.fromkeys(s for s in stages if s))
        if found:
            return "、".join(found)
    return previous


def _deadline(now: datetime, workdays: str | None) -> datetime | None:
    if not workdays:
        return None
    day = calendar.add_workdays(calendar.to_beijing_date(now), int(workdays)).day
    return datetime.combine(day, time(23, 59, 59), BEIJING)


_WORK_ITEMS, _TIMERS, _MESSAGES = WorkItem.__table__, TimerSubscription.__table__, MessageSubscription.__table__
_OFFICES = InstanceOffice.__table__


class Projector:
    """Keeps the work-item, timer and message tables in step with a saved workflow (Core statements)."""

    def __init__(self, session: Session, ready_before: set[str] | None = None) -> None:
        self.session = session
        self.conn = session.connection()  # table-level statements: this runs on every action
        self.ready_before = ready_before  # work items mirror the ready tasks of the last save

    def _existing_task_ids(self, instance: ProcessInstance) -> set[str]:
        if self.ready_before is not None:
            return self.ready_before
        return set(self.session.scalars(select(WorkItem.task_id).where(WorkItem.instance_id == instance.id)))

    def project(
        self,
        instance: ProcessInstance,
        snapshot: Snapshot,
        compiled: CompiledDefinition,
        now: datetime,
        evaluate: Any,
        waited_before: bool,
    ) -> None:
        """Rebuild the read models; `waited_before` says whether timer/message rows may exist."""
        self._work_items(instance, snapshot, compiled, now)
        timers = snapshot.waiting_for(TimerEventDefinition)
        messages = snapshot.waiting_for(MessageEventDefinition)
        if waited_before:
            self.conn.execute(delete(_TIMERS).where(_TIMERS.c.instance_id == instance.id))
            self.conn.execute(delete(_MESSAGES).where(_MESSAGES.c.instance_id == instance.id))
        if timers:
            self.conn.execute(_TIMERS.insert(), [_timer_row(instance, t) for t in timers])
        if messages:
            rows = [_message_row(instance, t, compiled, evaluate) for t in messages]
            self.conn.execute(_MESSAGES.insert(), rows)

    def _work_items(
        self, instance: ProcessInstance, snapshot: Snapshot, compiled: CompiledDefinition, now: datetime
    ) -> None:
        ready = {str(t.id): t for t in snapshot.ready}
        existing = self._existing_task_ids(instance)
        gone = existing - set(ready)
        if gone:
            self.conn.execute(delete(_WORK_ITEMS).where(_WORK_ITEMS.c.task_id.in_(gone)))
        new = [task for task_id, task in ready.items() if task_id not in existing]
        if new:
            rows = [self._work_item_row(instance, t, compiled, now) for t in new]
            self.conn.execute(_WORK_ITEMS.insert(), rows)
            self._remember_offices(instance, {r["office_code"] for r in rows if r["office_code"]})

    def _work_item_row(
        self, instance: ProcessInstance, task: Task, compiled: CompiledDefinition, now: datetime
    ) -> dict[str, Any]:
        element = task.task_spec.bpmn_id
        props = compiled.element_properties(element)
        role = task.task_spec.lane or ""
        return {
            "instance_id": instance.id,
            "task_id": str(task.id),
            "task_name": element,
            "title": compiled.names.get(element, element),
            "role": role,
            "office_code": self._office(instance, role, compiled, element),
            "unit_id": instance.unit_id,
            "assignee": None,
            "form": props.get("formJsonSchemaFilename"),
            "stage": props.get("stage", ""),
            "properties": props,
            "created_at": now,
            "due_at": _deadline(now, props.get("dueInWorkdays")),
        }

    def _office(self, instance: ProcessInstance, role: str, compiled: CompiledDefinition, element: str) -> str | None:
        try:
            return route(self.session, instance.unit, role, compiled.routing(role))
        except RoutingError as missing:  # set-up, not a bug: the administrator adds the office and retries
            raise TaskFailure(element, missing.message) from None

    def _remember_offices(self, instance: ProcessInstance, codes: set[str]) -> None:
        """Offices that get a task of the application may open it from now on (jurisdiction)."""
        known = set(
            self.session.scalars(select(InstanceOffice.office_code).where(InstanceOffice.instance_id == instance.id))
        )
        fresh = [{"instance_id": instance.id, "office_code": c} for c in sorted(codes - known)]
        if fresh:
            self.conn.execute(_OFFICES.insert(), fresh)


def _timer_row(instance: ProcessInstance, task: Task) -> dict[str, Any]:
    when = due_at(task)
    if when is None:  # SpiffWorkflow evaluates the expression as the task starts waiting
        raise ValueError(f"timer {task.task_spec.bpmn_id} has no due time")
    return {
        "instance_id": instance.id,
        "task_id": str(task.id),
        "task_name": task.task_spec.bpmn_id,
        "due_at": when,
        "estimated": calendar.is_estimated(when.astimezone(BEIJING).date()),
    }


def _message_row(instance: ProcessInstance, task: Task, compiled: CompiledDefinition, evaluate: Any) -> dict[str, Any]:
    key_expression = compiled.element_properties(task.task_spec.bpmn_id).get("correlationKey")
    key = evaluate(task, key_expression) if key_expression else ""
    return {
        "instance_id": instance.id,
        "task_id": str(task.id),
        "message_name": task.task_spec.event_definition.name,
        "correlation_key": str(key),
    }
