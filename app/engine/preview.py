"""Replaying an application's recorded steps in memory, on the version it ran on or on an edited diagram.

A replay starts the diagram afresh with the recorded start data and applies the step log in
order (app/engine/step_log.py): each completion to the ready task of the recorded element with
the recorded form data, each message with its payload, each firing of timers. The engine's clock
is the recorded time of each step, so a timer falls due at the step it did (or, with an edited
deadline, at another one). Diagram code runs in the normal sandbox; service tasks get the results
they got then instead of calling their operators (which write to business tables): a service task
with no recorded result is new in the edited diagram, and the replay goes on with an empty result
and says so. The history is cut after every step as the runner's save does, so loops behave alike.

The path is every element completed, in order, as PlatformWorkflow.trail has it: the same list
the runner records with each step, so the replayed path compares with the recorded one.
Nothing here touches the database.
"""

from __future__ import annotations

import copy
import json
import logging
from collections import defaultdict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState
from sqlalchemy.orm import Session

from app.engine.compaction import PlatformWorkflow, compact
from app.engine.context import ActionContext
from app.engine.definitions import CompiledDefinition
from app.engine.edits import FormCheck, MissingData
from app.engine.errors import EngineError, TaskFailure
from app.engine.faults import enter_task
from app.engine.operators import OperatorRegistry
from app.engine.sandbox import Limits
from app.engine.sandbox_pool import Sandbox
from app.engine.scripting import PlatformScriptEngine
from app.engine.step_log import COMPLETE, MESSAGE, START, TIMER
from app.services import process_context
from app.services.calendar import to_beijing_date

logger = logging.getLogger(__name__)
# An engine-only loop in an edited diagram would never hand back; no real step completes this many.
MAX_COMPLETIONS_PER_STEP = 5_000


@dataclass(frozen=True)
class RecordedStep:
    kind: str  # start / complete / message / timer
    element: str | None
    message: str | None
    data: dict[str, Any]
    results: list[dict[str, Any]]  # service tasks' results: element, operator, result
    path: list[str]  # the elements the action completed
    at: datetime


@dataclass(frozen=True)
class Recording:
    """One application's step log, the process context its code saw, and the names of the version it ran on."""

    steps: list[RecordedStep]
    names: dict[str, Any]  # the application's process context; the version's and the day's part is added per step
    titles: dict[str, str]  # element id → name in the version the application ran on

    @property
    def path(self) -> list[str]:
        """The elements the application completed, in order, as the runner recorded them."""
        return [element for step in self.steps for element in step.path]


@dataclass(frozen=True)
class Halt:
    """Where a replay could not go on: the step (index in the log), its element and why (Chinese)."""

    step: int
    element: str | None
    reason: str


@dataclass
class Replay:
    path: list[str] = field(default_factory=list)
    halt: Halt | None = None
    missing: list[MissingData] = field(default_factory=list)
    unknown_services: list[str] = field(default_factory=list)  # elements run without a recorded result


class _RunawayError(Exception):
    """An edited diagram loops through engine steps without end."""


class ReplayScriptEngine(PlatformScriptEngine):
    """The platform's script engine, with service tasks answered from the step log."""

    def __init__(self, context: ActionContext, limits: Limits, workdays: Callable[[], Mapping[date, bool]],
                 results: _Results) -> None:
        super().__init__(context, OperatorRegistry(), limits)
        self.sandbox = Sandbox(limits, context.now, workdays)
        self.results = results

    def call_service(self, task: Task, operation_name: str, operation_params: dict[str, Any]) -> str:
        return json.dumps(self.results.take(task.task_spec.bpmn_id, operation_name), ensure_ascii=False)


class _Results:
    """Recorded service results by element and operator, handed out in the order they were recorded."""

    def __init__(self, steps: list[RecordedStep]) -> None:
        self._queues: dict[tuple[str, str], deque[Any]] = defaultdict(deque)
        for step in steps:
            for call in step.results:
                self._queues[(call["element"], call["operator"])].append(call["result"])
        self.unknown: list[str] = []

    def take(self, element: str, operator: str) -> Any:
        queue = self._queues.get((element, operator))
        if queue:
            return queue.popleft()
        self.unknown.append(element)
        return None


class Replayer:
    """Replays recordings on compiled versions; `session` only fills the script context, never written."""

    def __init__(self, session: Session, limits: Limits, workdays: Callable[[], Mapping[date, bool]]) -> None:
        self.session = session
        self.limits = limits
        self.workdays = workdays
        self.forms = FormCheck()
        self._procedure_values: dict[tuple[str, date], dict[str, Any]] = {}

    def procedure_values(self, compiled: CompiledDefinition, day: date) -> dict[str, Any]:
        """The process context a version's properties give on a day; the same for every application."""
        key = (compiled.sha256, day)
        if key not in self._procedure_values:
            self._procedure_values[key] = process_context.procedure_values(compiled.process_properties, day)
        return copy.deepcopy(self._procedure_values[key])  # diagram code gets its own, as in every runner action

    def replay(self, compiled: CompiledDefinition, recording: Recording) -> Replay:
        run = _Run(self, compiled, recording)
        run.go()
        return run.result


class _Run:
    """One replay of one recording on one version."""

    def __init__(self, replayer: Replayer, compiled: CompiledDefinition, recording: Recording) -> None:
        self.replayer = replayer
        self.compiled = compiled
        self.recording = recording
        self.results = _Results(recording.steps)
        self.workflow = PlatformWorkflow(compiled.spec, compiled.subprocess_specs)
        self.result = Replay(path=self.workflow.trail)  # the elements completed, as the runner's step log has them
        self.budget = MAX_COMPLETIONS_PER_STEP

    def go(self) -> None:
        for index, step in enumerate(self.recording.steps):
            self.budget = len(self.workflow.trail) + MAX_COMPLETIONS_PER_STEP
            self.workflow.script_engine = self._engine(step.at)
            reason, element = self._step_halts(step)
            if reason is not None:
                self.result.halt = Halt(index, element, reason)
                break
        self.result.unknown_services = list(dict.fromkeys(self.results.unknown))

    def _step_halts(self, step: RecordedStep) -> tuple[str | None, str | None]:
        """Apply one step and run the engine on; (why not, element) when it cannot be applied."""
        try:
            reason = self._apply(step)
            if reason is None:
                self._advance()
        except _RunawayError as runaway:
            return f"新版本在“{self._title(str(runaway))}”处循环不止", str(runaway)
        except TaskFailure as failure:
            return f"运行“{self._title(failure.element_id)}”时出错：{failure.detail}", failure.element_id
        except EngineError as refusal:
            return f"{self._title(step.element)}：{refusal.message}", step.element
        except Exception as exc:  # an edited diagram SpiffWorkflow cannot run: a finding, not a crash of the preview
            logger.warning("预演第 %s 步时出错", step.kind, exc_info=exc)
            return f"预演“{self._title(step.element)}”时出错：{type(exc).__name__}", step.element
        return reason, step.element

    def _apply(self, step: RecordedStep) -> str | None:
        if step.kind == START:
            return self._start(step.data)
        if step.kind == COMPLETE:
            return self._complete(str(step.element), step.data)
        if step.kind == MESSAGE:
            return self._message(str(step.message), step.data)
        if step.kind == TIMER:
            self.workflow.refresh_timers()
        return None

    def _start(self, data: dict[str, Any]) -> str | None:
        allowed = [t.strip() for t in self.compiled.process_properties.get("unitTypes", "").split(",") if t.strip()]
        unit_type = self.recording.names.get("unit_type")
        if unit_type not in allowed:
            return f"流程不适用于{unit_type or '该类'}单位（仅适用于{'、'.join(allowed)}）"
        self._check_form("", data)
        for task in self.workflow.get_tasks(state=TaskState.READY):
            task.data.update(data)
        return None

    def _complete(self, element: str, data: dict[str, Any]) -> str | None:
        ready = self.workflow.get_tasks(state=TaskState.READY, manual=True)
        task = next((t for t in ready if t.task_spec.bpmn_id == element), None)
        if task is None:
            if element not in self.compiled.names:
                return f"“{self._title(element)}”在新版本中已删除"
            return f"此时尚未到达“{self._title(element)}”"
        self._check_form(element, data)
        form = self.compiled.element_properties(element).get("formJsonSchemaFilename")
        if form:
            for name in self.compiled.forms.schema(form).get("properties", {}):
                if name not in data:
                    task.data.pop(name, None)  # as the runner does: the submitted form replaces its fields
        task.set_data(**data)
        enter_task(task, self.compiled)
        self._run(task)
        return None

    def _message(self, name: str, payload: dict[str, Any]) -> str | None:
        try:
            self.workflow.send_event(BpmnEvent(MessageEventDefinition(name), payload=payload))
        except SpiffWorkflowException:
            return f"此时不在等待消息“{name}”"
        return None

    def _check_form(self, element: str, data: dict[str, Any]) -> None:
        missing = self.replayer.forms.missing(self.compiled, element, data)
        if missing is not None:
            self.result.missing.append(missing)

    def _advance(self) -> None:
        """As the runner's: engine steps until only user tasks and waits remain, then the history cut."""
        self._engine_steps()
        while self.workflow.get_tasks(state=TaskState.READY, manual=False):
            self._engine_steps()
        compact(self.workflow)

    def _engine_steps(self) -> None:
        try:
            self.workflow.do_engine_steps(will_complete_task=self._entering)
        except SpiffWorkflowException as exc:
            raise _cause(exc) from exc

    def _entering(self, task: Task) -> None:
        if len(self.workflow.trail) > self.budget:
            raise _RunawayError(task.task_spec.bpmn_id or task.task_spec.name)
        enter_task(task, self.compiled)

    def _run(self, task: Task) -> None:
        try:
            task.run()
        except SpiffWorkflowException as exc:
            raise _cause(exc) from exc

    def _engine(self, now: datetime) -> ReplayScriptEngine:
        procedure = self.compiled.process_properties
        names = {**self.recording.names, **self.replayer.procedure_values(self.compiled, to_beijing_date(now))}
        context = ActionContext(
            session=self.replayer.session,
            unit_id=0,
            actor="preview",
            role="预演",
            now=now,
            settings={},
            procedure=procedure,
            names=names,
        )
        return ReplayScriptEngine(context, self.replayer.limits, self.replayer.workdays, self.results)

    def _title(self, element: str | None) -> str:
        if not element:
            return "流程"
        return self.compiled.names.get(element) or self.recording.titles.get(element) or element


def _cause(exc: SpiffWorkflowException) -> Exception:
    """The platform's own error inside SpiffWorkflow's wrapper, or the wrapper as a TaskFailure."""
    cause = exc.__cause__ or getattr(exc, "exception", None)
    if isinstance(cause, (EngineError, _RunawayError)):
        return cause
    task = getattr(exc, "task", None)
    element = task.task_spec.bpmn_id if task is not None else None
    return TaskFailure(element, str(exc).splitlines()[0] if str(exc) else type(exc).__name__)


def first_divergence(before: list[str], now: list[str]) -> tuple[int, str | None, str | None] | None:
    """The first position where two paths differ: (index, element before, element now); None if equal."""
    for index in range(max(len(before), len(now))):
        was = before[index] if index < len(before) else None
        is_now = now[index] if index < len(now) else None
        if was != is_now:
            return index, was, is_now
    return None
