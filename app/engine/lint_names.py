"""Deploy check: diagram code and texts use only names that exist when they run.

A condition, script, timer expression, correlation key or service parameter may use the script
helpers and allowed builtins, the process context (CONTEXT_NAMES), names it assigned itself earlier,
and what upstream elements store: form fields (the start form's too), service results
(`resultVariable`), names scripts assign and message payloads (`spiffworkflow:messageVariable`).
A notification's subject and body (Jinja texts) see the data and the context. A misspelt field would
otherwise fail at run time, in English, with the application stuck. (Documentation, instructions and
properties are rendered when the version is compiled, over the procedure's properties only: texts.py
refuses theirs.)
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable

from jinja2.exceptions import TemplateError, TemplateSyntaxError

from app.engine.context import CONTEXT_NAMES
from app.engine.lint_code import code_names
from app.engine.lint_flow import Flow, Piece

Problem = tuple[str, str]
# The names a Jinja text reads; raises TemplateError if it would not compile.
TextNames = Callable[[str], frozenset[str]]
_CONSTANTS = frozenset({"True", "False", "None"})
_CONTEXT = frozenset(CONTEXT_NAMES)
# SpiffWorkflow collects a multi-instance output item by the id of bpmn:outputDataItem, not by its name.
_OUTPUT_UNSET = (
    "多实例输出项 {name}（outputDataItem 的 id）在每份办理完成时没有值，运行时会出错；"
    "请让表单字段或后置脚本给 {name} 赋值，或把 outputDataItem 的 id 改为赋值的名称"
)
_UNKNOWN_FILTER = re.compile(r"No (filter|test) named '([^']+)'")


def name_problems(flow: Flow, callables: frozenset[str], text_names: TextNames) -> list[Problem]:
    known_to_code = callables | _CONSTANTS | _CONTEXT
    problems: list[Problem] = []
    for spec in flow.elements():
        available = flow.names_upstream(spec)
        for piece in flow.pieces[spec]:
            if piece.mode in ("eval", "exec"):
                problems += [(spec.bpmn_id, r) for r in _code_reasons(piece, available, known_to_code)]
            elif piece.mode == "text":
                problems += [(spec.bpmn_id, r) for r in _text_reasons(piece, available, text_names)]
            elif piece.mode == "output" and piece.source not in available:
                problems.append((spec.bpmn_id, _OUTPUT_UNSET.format(name=piece.source)))
            available |= set(piece.sets)
    return list(dict.fromkeys(problems))


def _code_reasons(piece: Piece, available: set[str], known: frozenset[str]) -> list[str]:
    names = code_names(piece.source, piece.mode)
    if names is None:  # does not compile: the compile check says why
        return []
    # A call of a name that is not allowed is refused by the compile check already, with its own reason.
    unknown = [n for n in names.reads if n not in available and n not in known and n not in names.called]
    reasons = [_unknown(piece, name, available | known) for name in unknown]
    assigned = sorted(names.stores & _CONTEXT) if piece.mode == "exec" else []
    reasons += [f"{piece.label}中不能给流程上下文名称 {name} 赋值（流程上下文只能读取）" for name in assigned]
    return reasons


def _text_reasons(piece: Piece, available: set[str], text_names: TextNames) -> list[str]:
    try:
        read = text_names(piece.source)
    except TemplateError as exc:
        return [f"{piece.kind}模板有误：{piece.where + ' ' if piece.where else ''}{_jinja_problem(exc)}"]
    known = available | _CONTEXT
    return [_unknown(piece, name, known) for name in sorted(read - known)]


def _unknown(piece: Piece, name: str, candidates: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, sorted(candidates), n=1, cutoff=0.75)
    hint = f"，是否应为 {close[0]}？" if close else ""
    return f"{piece.label}中使用了未定义的名称 {name}（上游表单和流程上下文中都没有）{hint}"


def _jinja_problem(exc: TemplateError) -> str:
    message = exc.message or type(exc).__name__
    unknown = _UNKNOWN_FILTER.search(message)
    if unknown:
        what = "过滤器" if unknown.group(1) == "filter" else "测试"
        message = f"没有名为 {unknown.group(2)} 的{what}"
    line = f"第 {exc.lineno} 行：" if isinstance(exc, TemplateSyntaxError) and exc.lineno else ""
    return f"{line}{message}"
