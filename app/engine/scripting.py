"""The script engine handed to SpiffWorkflow: restricted code, whitelisted helpers, operators."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime, time
from typing import Any

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.task import Task

from app.engine.context import ActionContext
from app.engine.errors import EngineError, TaskFailure
from app.engine.operators import OperatorRegistry
from app.engine.sandbox import (
    Budget,
    Limits,
    ScriptCompileError,
    ScriptLimitError,
    compile_expression,
    compile_script,
    restricted_globals,
)
from app.services import calendar
from app.services.calendar import BEIJING
from app.services.domains import add_years

_JSON_TYPES = (str, int, float, bool, type(None), list, dict)


def _as_date(day: str | date) -> date:
    return day if isinstance(day, date) else date.fromisoformat(str(day)[:10])


def _at(day: str | date, moment: time) -> str:
    return datetime.combine(_as_date(day), moment, BEIJING).isoformat()


def _format_date(day: str | date) -> str:
    d = _as_date(day)
    return f"{d.year}年{d.month}月{d.day}日"


def build_helpers(now: datetime) -> dict[str, Callable[..., Any]]:
    """Pure helpers diagrams may call; `now` is the action's clock."""
    local_now = now.astimezone(BEIJING)
    return {
        "today": lambda: local_now.date().isoformat(),
        "now": lambda: local_now.isoformat(),
        "add_workdays": lambda day, n: calendar.add_workdays(_as_date(day), int(n)).day.isoformat(),
        "add_years": lambda day, n: add_years(_as_date(day), int(n)).isoformat(),
        "start_of_day": lambda day: _at(day, time(0, 0, 0)),
        "end_of_day": lambda day: _at(day, time(23, 59, 59)),
        "format_date": _format_date,
        "yuan": lambda amount: f"{float(amount):.2f} 元",
    }


HELPER_NAMES = frozenset(build_helpers(datetime.now(BEIJING)))


class PlatformScriptEngine(PythonScriptEngine):
    """Evaluates diagram code under RestrictedPython and routes service tasks to operators."""

    def __init__(self, context: ActionContext, operators: OperatorRegistry, limits: Limits) -> None:
        super().__init__(environment=None)
        self.context = context
        self.operators = operators
        self._globals = restricted_globals(build_helpers(context.now))
        self._budget = Budget(limits)

    def now(self) -> datetime:
        return self.context.now

    def validate(self, expression: str) -> None:
        compile_expression(expression)

    def evaluate(self, task: Task, expression: str, external_context: dict[str, Any] | None = None) -> Any:
        scope = {**self._globals, **task.data, **(external_context or {})}
        return self._guarded(task, lambda: self._budget.run(compile_expression(expression), scope))

    def execute(self, task: Task, script: str, external_context: dict[str, Any] | None = None) -> bool:
        scope = {**self._globals, **task.data, **(external_context or {})}
        self._guarded(task, lambda: self._budget.run(compile_script(script), scope))
        self._store_script_results(task, scope)
        return True

    def call_service(self, task: Task, operation_name: str, operation_params: dict[str, Any]) -> str:
        params = {name: spec["value"] for name, spec in operation_params.items()}
        self.context.data = task.data
        result = self._guarded(task, lambda: self.operators.invoke(operation_name, self.context, params))
        return json.dumps(result, ensure_ascii=False, default=str)

    def _guarded(self, task: Task, action: Callable[[], Any]) -> Any:
        element = task.task_spec.bpmn_id or task.task_spec.name
        try:
            return action()
        except EngineError:
            raise
        except (ScriptLimitError, ScriptCompileError) as exc:
            raise TaskFailure(element, str(exc)) from exc
        except Exception as exc:  # any fault in diagram code stops this action, never the process
            raise TaskFailure(element, f"{type(exc).__name__}: {exc}") from exc

    def _store_script_results(self, task: Task, scope: dict[str, Any]) -> None:
        for name in list(task.data):
            if name not in scope:
                del task.data[name]
        for name, value in scope.items():
            if name in self._globals or name.startswith("_"):
                continue
            if not isinstance(value, _JSON_TYPES):
                raise TaskFailure(task.task_spec.bpmn_id, f"脚本变量 {name} 的值不能保存")
            task.data[name] = value
