"""Service-task operators: the mechanisms a diagram may call, each with typed parameters.

A diagram names an operator (`spiffworkflow:serviceTaskOperator id="domain.activate"`) and
passes parameters as expressions; the registry checks names and types at deploy and at run.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, get_type_hints

from app.engine.context import ActionContext
from app.engine.errors import FormValidationError, RefusedError, TaskFailure
from app.services.errors import ServiceRefusal

OperatorFunc = Callable[..., Any]


@dataclass(frozen=True)
class Operator:
    name: str
    func: OperatorFunc
    params: dict[str, type]
    optional: frozenset[str]
    summary: str

    def coerce(self, name: str, value: Any) -> Any:
        expected = self.params[name]
        if expected is int and isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return int(value)
        if expected is not Any and not isinstance(value, expected):
            raise TypeError(f"参数 {name} 应为 {expected.__name__}，实际为 {type(value).__name__}")
        return value


class OperatorRegistry:
    """Name → operator. Operators receive the ActionContext and their declared parameters."""

    def __init__(self) -> None:
        self._operators: dict[str, Operator] = {}

    def register(self, name: str) -> Callable[[OperatorFunc], OperatorFunc]:
        def decorator(func: OperatorFunc) -> OperatorFunc:
            hints = get_type_hints(func)
            signature = inspect.signature(func)
            names = list(signature.parameters)[1:]  # first parameter is the context
            self._operators[name] = Operator(
                name=name,
                func=func,
                params={n: hints.get(n, Any) for n in names},
                optional=frozenset(n for n in names if signature.parameters[n].default is not inspect.Parameter.empty),
                summary=(func.__doc__ or "").strip().splitlines()[0] if func.__doc__ else "",
            )
            return func

        return decorator

    def __contains__(self, name: str) -> bool:
        return name in self._operators

    def all(self) -> list[Operator]:
        return sorted(self._operators.values(), key=lambda op: op.name)

    def parameter_problems(self, name: str, given: set[str]) -> list[str]:
        """What is wrong with the parameters a diagram passes to an operator."""
        operator = self._operators[name]
        problems = [f"操作 {name} 没有参数 {p}" for p in sorted(given - set(operator.params))]
        missing = set(operator.params) - operator.optional - given
        problems += [f"操作 {name} 缺少参数 {p}" for p in sorted(missing)]
        return problems

    def invoke(self, name: str, context: ActionContext, params: dict[str, Any]) -> Any:
        operator = self._operators.get(name)
        if operator is None:
            raise TaskFailure(name, f"未注册的操作 {name}")
        problems = self.parameter_problems(name, set(params))
        if problems:
            raise TaskFailure(name, "；".join(problems))
        args = {key: operator.coerce(key, value) for key, value in params.items()}
        try:
            return operator.func(context, **args)
        except ServiceRefusal as refusal:
            if refusal.field:
                raise FormValidationError({refusal.field: refusal.message}) from refusal
            raise RefusedError(refusal.message) from refusal
