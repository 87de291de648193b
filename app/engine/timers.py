"""Timer events that read the engine's clock instead of the wall clock.

SpiffWorkflow compares timers with datetime.now(); ours ask the script engine, so the worker
and the tests decide what "now" is and a deadline fires on the right working day.
"""

from __future__ import annotations

from datetime import datetime

from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.task import Task


class ClockTimeDate(TimeDateEventDefinition):
    def has_fired(self, my_task: Task) -> bool:
        value = my_task._get_internal_data("event_value")
        if value is None:
            value = my_task.workflow.script_engine.evaluate(my_task, self.expression)
            my_task._set_internal_data(event_value=value)
        if TimerEventDefinition.parse_time_or_duration(value) <= my_task.workflow.script_engine.now():
            my_task._set_internal_data(event_fired=True)
        return bool(my_task._get_internal_data("event_fired", False))


class ClockDuration(DurationTimerEventDefinition):
    def has_fired(self, my_task: Task) -> bool:
        now = my_task.workflow.script_engine.now()
        value = my_task._get_internal_data("event_value")
        if value is None:
            expression = my_task.workflow.script_engine.evaluate(my_task, self.expression)
            duration = TimerEventDefinition.parse_iso_duration(expression)
            value = (now + TimerEventDefinition.get_timedelta_from_start(duration, now)).isoformat()
            my_task._set_internal_data(event_value=value)
        if TimerEventDefinition.get_datetime(value) <= now:
            my_task._set_internal_data(event_fired=True)
        return bool(my_task._get_internal_data("event_fired", False))


_REPLACEMENTS: dict[type, type] = {TimeDateEventDefinition: ClockTimeDate, DurationTimerEventDefinition: ClockDuration}


def use_engine_clock(event_definition: object) -> None:
    """Swap a parsed timer definition for its clock-aware twin (same attributes)."""
    replacement = _REPLACEMENTS.get(type(event_definition))
    if replacement is not None:
        event_definition.__class__ = replacement


def due_at(task: Task) -> datetime | None:
    """When a waiting timer task falls due, once the engine has evaluated its expression."""
    value = task._get_internal_data("event_value")
    if value is None:
        return None
    return TimerEventDefinition.get_datetime(value)
