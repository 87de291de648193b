"""Our own checks of a diagram after SpiffWorkflow parsed it; each problem names the element.

Besides what this module checks, lint_layout.py, lint_gateways.py and lint_names.py stop what would
otherwise fail or hide at run time (docs/deploy-checks.md explains them to policy staff).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from SpiffWorkflow.spiff.specs.defaults import ServiceTask, UserTask
from sqlalchemy.orm import Session

from app.engine import duties
from app.engine.bundles import DOCUMENTS_PROPERTY
from app.engine.definitions import CompiledDefinition, all_task_specs
from app.engine.lint_flow import Flow
from app.engine.lint_gateways import gateway_problems
from app.engine.lint_layout import layout_problems
from app.engine.lint_names import TextNames, name_problems
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
        self,
        operators: OperatorRegistry,
        helper_names: frozenset[str],
        text_names: TextNames,
        checks: Sequence[Check] = (),
    ) -> None:
        self.operators = operators
        self.callables = ALLOWED_CALLABLES | helper_names
        self.text_names = text_names  # how notification texts are parsed (services/notifications.py)
        self.checks = list(checks)  # checks of what services own (print templates, texts)

    def __call__(self, compiled: CompiledDefinition, session: Session) -> list[Problem]:
        problems = list(self._process_problems(compiled))
        for check in self.checks:
            problems += check(compiled, session)
        flow = Flow(compiled)
        for task_spec in flow.elements():
            problems += self._task_problems(compiled, flow, task_spec)
        problems += layout_problems(compiled)
        if flow.complete:  # with a form unreadable (refused above), what its fields feed is judged once it is fixed
            problems += gateway_problems(flow) + name_problems(flow, self.callables, self.text_names)
        return problems

    def _process_problems(self, compiled: CompiledDefinition) -> Iterator[Problem]:
        props, pid = compiled.process_properties, compiled.process_id
        if not _PREFIX.fullmatch(props.get("businessKeyPrefix", "")):
            yield pid, "流程须有属性 businessKeyPrefix（两个大写字母，如 KB）"
        if not props.get("unitTypes"):
            yield pid, "流程须有属性 unitTypes（可申请的单位类型）"
        if props.get("startFormJsonSchemaFilename"):
            yield from self._form_problems(compiled.forms, pid, props["startFormJsonSchemaFilename"])
        for element, name in compiled.names.items():
            if "{{" in name or "{%" in name:
                yield element, f"元素名称“{name}”显示在流程图上，不能引用属性；期限等数字请写在说明或办理说明中"
        for name in (d.strip() for d in props.get(DOCUMENTS_PROPERTY, "").split(",")):
            if name and name not in compiled.documents:
                yield pid, f"打印文书模板 {name} 不存在（documents/{name}.md 或 .json）"

    def _task_problems(self, compiled: CompiledDefinition, flow: Flow, task_spec: Any) -> list[Problem]:
        element = task_spec.bpmn_id
        problems: list[Problem] = []
        if isinstance(task_spec, UserTask):
            problems += self._user_task_problems(compiled, task_spec)
        if isinstance(task_spec, ServiceTask):
            problems += self._service_task_problems(task_spec)
        for piece in flow.pieces[task_spec]:
            if piece.mode in ("eval", "exec"):
                problems += [(element, reason) for reason in self._code_problems(piece.source, piece.mode)]
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
        user_tasks = {t.bpmn_id for t in all_task_specs(compiled.spec, compiled.subprocess_specs) if t.manual}
        for other in (e.strip() for e in props.get(duties.PROPERTY, "").split(",")):
            if other and other not in user_tasks:
                problems.append((element, f"{duties.PROPERTY} 中的 {other} 不是本流程的用户任务"))
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

    def _code_problems(self, source: str, mode: str) -> list[str]:
        try:
            (compile_expression if mode == "eval" else compile_script)(source)
        except ScriptCompileError as exc:
            return [f"代码不能编译或不被允许: {exc}"]
        forbidden = sorted(called_names(source, mode) - self.callables)
        return [f"调用了不允许的函数 {', '.join(forbidden)}"] if forbidden else []
