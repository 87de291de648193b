"""Deploy check: a gateway without a default flow must provably send every application somewhere.

Otherwise an application whose data matches no condition stops at run time ("No conditions satisfied")
and stays stuck. Without a default, the conditions must each test one and the same field with `==` or
`in` against constants (several such tests may be joined with `or`), the field must be stored last
on every path into the gateway by a form that requires it and limits it to fixed options (`enum`,
`oneOf` of `const`, `boolean`), and the constants together must cover those options.
"""

from __future__ import annotations

import ast
import json
from typing import Any

from SpiffWorkflow.bpmn.specs.mixins.exclusive_gateway import ExclusiveGateway
from SpiffWorkflow.bpmn.specs.mixins.inclusive_gateway import InclusiveGateway

from app.engine.context import CONTEXT_NAMES
from app.engine.lint_code import code_names
from app.engine.lint_flow import Flow, gateway_defaults

Problem = tuple[str, str]
Test = tuple[str, frozenset[Any]]  # a field and the values for which a condition holds
_KINDS = ((ExclusiveGateway, "排他网关"), (InclusiveGateway, "包容网关"))
_SET_DEFAULT = "请设置默认流向"
_LITERALS = (ast.Tuple, ast.List, ast.Set)


def gateway_problems(flow: Flow) -> list[Problem]:
    problems = []
    for spec in flow.elements():
        kind = next((k for cls, k in _KINDS if isinstance(spec, cls)), None)
        if kind is None or len(spec.cond_task_specs) < 2 or gateway_defaults(spec):
            continue
        reason = _uncovered(flow, spec)
        if reason:
            problems.append((spec.bpmn_id, f"{kind}“{flow.name(spec)}”没有默认流向，且{reason}"))
    return problems


def _uncovered(flow: Flow, spec: Any) -> str | None:
    """Why the conditions may all be false, or None when they cover every case."""
    sources = [condition.args[0] for condition, _target in spec.cond_task_specs]
    if any(code_names(source, "eval") is None for source in sources):
        return None  # a condition that does not compile is refused by the compile check, with its reason
    tests = []
    for source in sources:
        test = _test_of(source)
        if test is None:
            unclear = source.strip()
            return f"无法判断条件是否覆盖所有情况（条件“{unclear}”不是对一个字段的 == 或 in 判断），{_SET_DEFAULT}"
        tests.append(test)
    fields = {name for name, _values in tests}
    if len(fields) != 1:
        return f"无法判断条件是否覆盖所有情况（各条件判断的不是同一个字段），{_SET_DEFAULT}"
    (name,) = fields
    options = None if name in CONTEXT_NAMES else flow.values_reaching(spec, name)
    if options is None:
        why = f"{name} 不是上游表单中必填且只有固定选项的字段"
        return f"无法判断条件是否覆盖所有情况（{why}），{_SET_DEFAULT}"
    covered = frozenset().union(*(values for _name, values in tests))
    missing = sorted(options - covered, key=str)
    if missing:
        shown = "、".join(_literal(value) for value in missing)
        return f"条件未覆盖所有情况（缺少：{name} 为 {shown}），请补上条件或设置默认流向"
    return None


def _literal(value: Any) -> str:
    """A value as a condition would write it: "reject", 3, False."""
    return json.dumps(value, ensure_ascii=False) if isinstance(value, str) else repr(value)


def _test_of(source: str) -> Test | None:
    try:
        node = ast.parse(source.strip(), mode="eval").body
    except SyntaxError:
        return None
    return _test(node)


def _test(node: ast.expr) -> Test | None:
    if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or):
        parts = [_test(value) for value in node.values]
        tested = [part for part in parts if part is not None]
        names = {name for name, _values in tested}
        if len(tested) != len(parts) or len(names) != 1:
            return None
        return names.pop(), frozenset().union(*(values for _name, values in tested))
    return _comparison(node) if isinstance(node, ast.Compare) and len(node.ops) == 1 else None


def _comparison(node: ast.Compare) -> Test | None:
    """`field == constant`, `constant == field` or `field in (constants)`."""
    left, operator, right = node.left, node.ops[0], node.comparators[0]
    if isinstance(operator, ast.Eq):
        if isinstance(left, ast.Name) and isinstance(right, ast.Constant):
            return left.id, frozenset([right.value])
        if isinstance(right, ast.Name) and isinstance(left, ast.Constant):
            return right.id, frozenset([left.value])
    if isinstance(operator, ast.In) and isinstance(left, ast.Name) and isinstance(right, _LITERALS):
        constants = [e.value for e in right.elts if isinstance(e, ast.Constant)]
        return (left.id, frozenset(constants)) if len(constants) == len(right.elts) else None
    return None
