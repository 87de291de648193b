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
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.engine.definitions import CompiledDefinition
from app.engine.errors import TaskFailure
from app.engine.timers import due_at
from app.models import ProcessInstance, WorkItem
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


@dataclass(frozen=True)
class Waits:
    """The task ids of the timer and of the message catch events a workflow waits in: its rows of those tables."""

    timers: frozenset[str]
    messages: frozenset[str]

    @classmethod
    def of(cls, snapshot: Snapshot) -> Waits:
        timers, messages = snapshot.waiting_for(TimerEventDefinition), snapshot.waiting_for(MessageEventDefinition)
        return cls(frozenset(str(t.id) for t in timers), frozenset(str(t.id) for t in messages))


NO_WAITS = Waits(frozenset(), frozenset())


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


@dataclass
class Changes:
    """What a save writes to the read models (app/engine/saving.py writes it with the instance row).

    Only rows that change: the work items and timers of tasks that closed go and of tasks that opened come,
    offices new to the application are added (an office it already has stays). A timer's due time is fixed as
    it starts waiting, so a row stays as long as its task waits; the rows of the messages it waits for are all
    written again (a correlation key is evaluated on every save, as it always was). `*_gone` None: the rows
    the instance has are not known (a migration), so all go but those of tasks that wait now.
    """

    instance_id: int
    items_gone: list[str]
    items_new: list[dict[str, Any]]
    offices: list[dict[str, Any]]
    timers_gone: list[str] | None
    timers_new: list[dict[str, Any]]
    messages_gone: list[str] | None
    messages: list[dict[str, Any]]


class Projector:
    """Keeps the work-item, timer and message tables in step with a saved workflow."""

    def __init__(self, session: Session, ready_before: set[str] | None = None) -> None:
        self.session = session
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
        waited_before: Waits | None,
    ) -> Changes:
        """The read-model changes of this save; `waited_before` is what the last save projected (None: unknown)."""
        ready = {str(t.id): t for t in snapshot.ready}
        existing = self._existing_task_ids(instance)
        items_new = [self._work_item_row(instance, t, compiled, now) for i, t in ready.items() if i not in existing]
        codes = sorted({row["office_code"] for row in items_new if row["office_code"]})
        timers, messages = snapshot.waiting_for(TimerEventDefinition), snapshot.waiting_for(MessageEventDefinition)
        waits = Waits.of(snapshot)
        before = waited_before or NO_WAITS
        return Changes(
            instance_id=instance.id,
            items_gone=sorted(existing - set(ready)),
            items_new=items_new,
            offices=[{"instance_id": instance.id, "office_code": code} for code in codes],
            timers_gone=sorted(before.timers - waits.timers) if waited_before is not None else None,
            timers_new=[_timer_row(instance, t) for t in timers if str(t.id) not in before.timers],
            messages_gone=sorted(before.messages - waits.messages) if waited_before is not None else None,
            messages=[_message_row(instance, t, compiled, evaluate) for t in messages],
        )

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
