"""The script engine handed to SpiffWorkflow: diagram code in the sandbox, service tasks to operators."""

from __future__ import annotations

import json
from collections import ChainMap
from collections.abc import Callable
from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.task import Task

from app.engine.context import CONTEXT_NAMES, ActionContext
from app.engine.errors import EngineError, TaskFailure
from app.engine.operators import OperatorRegistry
from app.engine.sandbox import Limits, ScriptCompileError, ScriptError, compile_expression
from app.engine.sandbox_pool import Sandbox
from app.engine.sandbox_worker import HELPER_NAMES
from app.services import calendar, process_context

__all__ = ["HELPER_NAMES", "PlatformScriptEngine"]


class PlatformScriptEngine(PythonScriptEngine):
    """Evaluates diagram code in the sandbox (worker processes under OS limits) and routes service tasks."""

    def __init__(self, context: ActionContext, operators: OperatorRegistry, limits: Limits) -> None:
        super().__init__(environment=None)
        self.context = context
        self.operators = operators
        self.sandbox = Sandbox(limits, context.now, calendar.admin_overrides)
        # What each service task of this action got, for the step log: a replay reuses it.
        self.service_calls: list[dict[str, Any]] = []

    def now(self) -> datetime:
        return self.context.now

    def validate(self, expression: str) -> None:
        compile_expression(expression)

    def evaluate(self, task: Task, expression: str, external_context: dict[str, Any] | None = None) -> Any:
        data = self._scope(task, external_context)
        return self._guarded(task, lambda: self.sandbox.evaluate(expression, data))

    def execute(self, task: Task, script: str, external_context: dict[str, Any] | None = None) -> bool:
        data = self._scope(task, external_context)
        result = self._guarded(task, lambda: self.sandbox.execute(script, data))
        for name in result.deleted:
            task.data.pop(name, None)
        task.data.update({k: v for k, v in result.variables.items() if k not in CONTEXT_NAMES})
        return True

    def _scope(self, task: Task, external: dict[str, Any] | None) -> ChainMap[str, Any]:
        """The process context over the task's data: a form field never shadows a context name."""
        names = process_context.with_application_domains(self.context.names, task.data)
        return ChainMap(external or {}, names, task.data)

    def call_service(self, task: Task, operation_name: str, operation_params: dict[str, Any]) -> str:
        params = {name: spec["value"] for name, spec in operation_params.items()}
        self.context.data = task.data
        result = self._guarded(task, lambda: self.operators.invoke(operation_name, self.context, params))
        text = json.dumps(result, ensure_ascii=False, default=str)
        element = task.task_spec.bpmn_id
        self.service_calls.append({"element": element, "operator": operation_name, "result": json.loads(text)})
        return text

    def _guarded(self, task: Task, action: Callable[[], Any]) -> Any:
        element = task.task_spec.bpmn_id or task.task_spec.name
        try:
            return action()
        except EngineError:
            raise
        except (ScriptError, ScriptCompileError) as exc:
            raise TaskFailure(element, str(exc)) from exc
        except Exception as exc:  # any fault in diagram code stops this action, never the process
            raise TaskFailure(element, f"{type(exc).__name__}: {exc}") from exc
