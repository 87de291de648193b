"""Our own checks of a diagram after SpiffWorkflow parsed it; each problem names the element."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.spiff.specs.defaults import ServiceTask, UserTask
from sqlalchemy.orm import Session

from app.engine.bundles import DOCUMENTS_PROPERTY
from app.engine.definitions import CompiledDefinition, all_task_specs
from app.engine.operators import OperatorRegistry
from app.engine.sandbox import (
    ALLOWED_CALLABLES,
    ScriptCompileError,
    called_names,
    compile_expression,
    compile_script,
)
from app.taskforms.schemas import FormLibrary, FormSchemaError

Problem = tuple[str, str]
# A check of what services own (print templates, lanes as roles and offices): they need the database.
Check = Callable[[CompiledDefinition, Session], list[Problem]]
_PREFIX = re.compile(r"[A-Z]{2}")


class Linter:
    """Callable check run by every deploy."""

    def __init__(
        self, operators: OperatorRegistry, helper_names: frozenset[str], checks: Sequence[Check] = ()
    ) -> None:
        self.operators = operators
        self.callables = ALLOWED_CALLABLES | helper_names
        self.checks = list(checks)  # checks of what services own (print templates, texts)

    def __call__(self, compiled: CompiledDefinition, session: Session) -> list[Problem]:
        problems = list(self._process_problems(compiled))
        for check in self.checks:
            problems += check(compiled, session)
        for task_spec in all_task_specs(compiled.spec, compiled.subprocess_specs):
            problems += self._task_problems(compiled, task_spec)
        return problems

    def _process_problems(self, compiled: CompiledDefinition) -> Iterator[Problem]:
        props, pid = compiled.process_properties, compiled.process_id
        if not _PREFIX.fullmatch(props.get("businessKeyPrefix", "")):
            yield pid, "流程须有属性 businessKeyPrefix（两个大写字母，如 KB）"
        if not props.get("unitTypes"):
            yield pid, "流程须有属性 unitTypes（可申请的单位类型）"
        if props.get("startFormJsonSchemaFilename"):
            yield from self._form_problems(compiled.forms, pid, props["startFormJsonSchemaFilename"])
        for name in (d.strip() for d in props.get(DOCUMENTS_PROPERTY, "").split(",")):
            if name and name not in compiled.documents:
                yield pid, f"打印文书模板 {name} 不存在（documents/{name}.md 或 .json）"

    def _task_problems(self, compiled: CompiledDefinition, task_spec: Any) -> list[Problem]:
        element = task_spec.bpmn_id
        problems: list[Problem] = []
        if isinstance(task_spec, UserTask):
            problems += self._user_task_problems(compiled, task_spec)
        if isinstance(task_spec, ServiceTask):
            problems += self._service_task_problems(task_spec)
        for source, mode in self._code_of(compiled, task_spec):
            problems += [(element, reason) for reason in self._code_problems(source, mode)]
        return problems

    def _user_task_problems(self, compiled: CompiledDefinition, task_spec: Any) -> list[Problem]:
        element = task_spec.bpmn_id
        problems: list[Problem] = []
        if not task_spec.lane:
            problems.append((element, "用户任务须位于角色泳道中（泳道名即办理角色，如 单位、编办、CONAC）"))
        props = compiled.element_properties(element)
        form = props.get("formJsonSchemaFilename")
        if not form:
            problems.append((element, "用户任务须指定表单 formJsonSchemaFilename"))
        else:
            problems += self._form_problems(compiled.forms, element, form)
        due = props.get("dueInWorkdays")
        if due is not None and not due.isdigit():
            problems.append((element, f"dueInWorkdays 须为整数，当前为 {due}"))
        return problems

    @staticmethod
    def _form_problems(forms: FormLibrary, element: str, form: str) -> list[Problem]:
        try:
            forms.check(form)
        except FormSchemaError as exc:
            return [(element, str(exc))]
        return []

    def _service_task_problems(self, task_spec: Any) -> list[Problem]:
        element, name = task_spec.bpmn_id, task_spec.operation_name
        if name not in self.operators:
            return [(element, f"未注册的服务操作 {name}")]
        given = set(task_spec.operation_params)
        return [(element, reason) for reason in self.operators.parameter_problems(name, given)]

    def _code_of(self, compiled: CompiledDefinition, task_spec: Any) -> Iterator[tuple[str, str]]:
        """Every piece of diagram code attached to this element, with its compile mode."""
        for attr in ("script", "prescript", "postscript"):
            if getattr(task_spec, attr, None):
                yield getattr(task_spec, attr), "exec"
        for condition, _target in getattr(task_spec, "cond_task_specs", []):
            if condition is not None:  # SpiffWorkflow wraps the expression as args[0]
                yield condition.args[0], "eval"
        for param in getattr(task_spec, "operation_params", {}).values():
            yield param["value"], "eval"
        event = getattr(task_spec, "event_definition", None)
        if isinstance(event, TimerEventDefinition):
            yield event.expression, "eval"
        if isinstance(event, MessageEventDefinition):
            key = compiled.element_properties(task_spec.bpmn_id).get("correlationKey")
            yield (key or "None"), "eval"

    def _code_problems(self, source: str, mode: str) -> list[str]:
        try:
            (compile_expression if mode == "eval" else compile_script)(source)
        except ScriptCompileError as exc:
            return [f"代码不能编译或不被允许: {exc}"]
        forbidden = sorted(called_names(source, mode) - self.callables)
        return [f"调用了不允许的函数 {', '.join(forbidden)}"] if forbidden else []
