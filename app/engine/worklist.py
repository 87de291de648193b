"""Read models rebuilt on every save: work items, waiting timers and message subscriptions, stage."""

from __future__ import annotations

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
from app.engine.scripting import BEIJING
from app.engine.timers import due_at
from app.models import MessageSubscription, ProcessInstance, TimerSubscription, Unit, WorkItem
from app.services import calendar
from app.services.jurisdiction import office_code_for


def ready_user_tasks(workflow: BpmnWorkflow) -> list[Task]:
    return workflow.get_tasks(state=TaskState.READY, manual=True)


def _waiting(workflow: BpmnWorkflow, kind: type) -> list[Task]:
    return [
        t
        for t in workflow.get_tasks(state=TaskState.WAITING)
        if isinstance(getattr(t.task_spec, "event_definition", None), kind)
    ]


def current_stage(workflow: BpmnWorkflow, compiled: CompiledDefinition, previous: str) -> str:
    """The status a unit sees, read from `stage` properties in the diagram."""
    if workflow.completed:
        ends = [t for t in workflow.get_tasks(state=TaskState.COMPLETED) if isinstance(t.task_spec, EndEvent)]
        ends.sort(key=lambda t: t.last_state_change)
        stages = [compiled.element_properties(t.task_spec.bpmn_id).get("stage") for t in ends]
        return next((s for s in reversed(stages) if s), previous)
    for tasks in (ready_user_tasks(workflow), workflow.get_tasks(state=TaskState.WAITING)):
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


class Projector:
    """Keeps the work-item, timer and message tables in step with a saved workflow."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def project(
        self,
        instance: ProcessInstance,
        workflow: BpmnWorkflow,
        compiled: CompiledDefinition,
        now: datetime,
        evaluate: Any,
    ) -> None:
        unit = self.session.get(Unit, instance.unit_id)
        assert unit is not None
        self._work_items(instance, workflow, compiled, unit, now)
        self._timers(instance, workflow)
        self._messages(instance, workflow, compiled, evaluate)

    def _work_items(
        self, instance: ProcessInstance, workflow: BpmnWorkflow, compiled: CompiledDefinition, unit: Unit, now: datetime
    ) -> None:
        ready = {str(t.id): t for t in ready_user_tasks(workflow)}
        existing = {
            w.task_id: w for w in self.session.scalars(select(WorkItem).where(WorkItem.instance_id == instance.id))
        }
        for task_id, item in existing.items():
            if task_id not in ready:
                self.session.delete(item)
        for task_id, task in ready.items():
            if task_id not in existing:
                self.session.add(self._new_item(instance, task, compiled, unit, now))

    def _new_item(
        self, instance: ProcessInstance, task: Task, compiled: CompiledDefinition, unit: Unit, now: datetime
    ) -> WorkItem:
        element = task.task_spec.bpmn_id
        props = compiled.element_properties(element)
        role = task.task_spec.lane or ""
        return WorkItem(
            instance_id=instance.id,
            task_id=str(task.id),
            task_name=element,
            title=compiled.names.get(element, element),
            role=role,
            office_code=office_code_for(unit, role),
            unit_id=unit.id,
            form=props.get("formJsonSchemaFilename"),
            stage=props.get("stage", ""),
            properties=props,
            created_at=now,
            due_at=_deadline(now, props.get("dueInWorkdays")),
        )

    def _timers(self, instance: ProcessInstance, workflow: BpmnWorkflow) -> None:
        self.session.execute(delete(TimerSubscription).where(TimerSubscription.instance_id == instance.id))
        for task in _waiting(workflow, TimerEventDefinition):
            when = due_at(task)
            if when is None:
                continue
            self.session.add(
                TimerSubscription(
                    instance_id=instance.id,
                    task_id=str(task.id),
                    task_name=task.task_spec.bpmn_id,
                    due_at=when,
                    estimated=calendar.is_estimated(when.astimezone(BEIJING).date()),
                )
            )

    def _messages(
        self, instance: ProcessInstance, workflow: BpmnWorkflow, compiled: CompiledDefinition, evaluate: Any
    ) -> None:
        self.session.execute(delete(MessageSubscription).where(MessageSubscription.instance_id == instance.id))
        for task in _waiting(workflow, MessageEventDefinition):
            key_expression = compiled.element_properties(task.task_spec.bpmn_id).get("correlationKey")
            key = evaluate(task, key_expression) if key_expression else ""
            self.session.add(
                MessageSubscription(
                    instance_id=instance.id,
                    task_id=str(task.id),
                    message_name=task.task_spec.event_definition.name,
                    correlation_key=str(key),
                )
            )
