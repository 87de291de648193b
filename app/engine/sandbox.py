"""RestrictedPython compilation and limits for scripts, conditions and timer expressions.

Diagram code may only read and write application data and call whitelisted helpers:
no imports, no underscore names, guarded attribute and item access, no str.format,
and a budget of time, memory and sequence size so a bad script cannot hang the process.
"""

from __future__ import annotations

import ast
import builtins
import operator
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import CodeType, FrameType
from typing import Any

from RestrictedPython import RestrictingNodeTransformer, compile_restricted, safe_builtins
from RestrictedPython.Eval import default_guarded_getitem, default_guarded_getiter
from RestrictedPython.Guards import (
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safer_getattr,
)

MAX_SEQUENCE_LENGTH = 100_000
_CHECK_EVERY_LINES = 1_000
_PAGE_SIZE = 4096


class ScriptCompileError(ValueError):
    """Diagram code that is not allowed or does not compile."""


class ScriptLimitError(RuntimeError):
    """A script exceeded its time or memory budget."""


@dataclass(frozen=True)
class Limits:
    timeout_seconds: float = 2.0
    max_memory_mb: int = 64


_BINOPS: dict[type[ast.operator], str] = {ast.Mult: "*", ast.Add: "+", ast.Pow: "**", ast.LShift: "<<"}


class _SizeGuardingTransformer(RestrictingNodeTransformer):
    """Routes size-growing operators through _binop_ so `"a" * 10**10` is refused, not run."""

    def visit_Import(self, node: ast.Import) -> ast.AST:
        self.error(node, "不允许 import")
        return node

    def visit_ImportFrom(self, node: ast.ImportFrom) -> ast.AST:
        self.error(node, "不允许 import")
        return node

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        node = self.node_contents_visit(node)
        symbol = _BINOPS.get(type(node.op))
        if symbol is None:
            return node
        call = ast.Call(
            func=ast.Name("_binop_", ast.Load()),
            args=[ast.Constant(symbol), node.left, node.right],
            keywords=[],
        )
        return ast.fix_missing_locations(ast.copy_location(call, node))


@lru_cache(maxsize=4096)
def compile_expression(source: str) -> CodeType:
    return _compile(source.strip(), "eval")


@lru_cache(maxsize=1024)
def compile_script(source: str) -> CodeType:
    return _compile(source, "exec")


def _compile(source: str, mode: str) -> CodeType:
    try:
        result = compile_restricted(source, "<diagram>", mode, policy=_SizeGuardingTransformer)
    except SyntaxError as exc:
        detail = exc.args[0] if exc.args else exc
        reasons = "；".join(detail) if isinstance(detail, tuple | list) else str(detail)
        raise ScriptCompileError(reasons) from exc
    return result


def _size_of(value: object) -> int | None:
    return len(value) if isinstance(value, str | bytes | list | tuple) else None


def _binop(symbol: str, left: Any, right: Any) -> Any:
    if symbol == "*":
        _check_repeat(left, right)
        _check_repeat(right, left)
        return left * right
    if symbol == "+":
        sizes = (_size_of(left), _size_of(right))
        if None not in sizes and sum(s for s in sizes if s) > MAX_SEQUENCE_LENGTH:
            raise ScriptLimitError("结果过大")
        return left + right
    if symbol == "**":
        if isinstance(right, int) and isinstance(left, int) and abs(right) > 1000:
            raise ScriptLimitError("幂运算指数过大")
        return left**right
    if isinstance(right, int) and right > 1000:
        raise ScriptLimitError("移位过大")
    return left << right


def _check_repeat(sequence: Any, count: Any) -> None:
    size = _size_of(sequence)
    if size is not None and isinstance(count, int) and size * count > MAX_SEQUENCE_LENGTH:
        raise ScriptLimitError("结果过大")


_INPLACE = {
    "+=": operator.add,
    "-=": operator.sub,
    "*=": operator.mul,
    "/=": operator.truediv,
    "//=": operator.floordiv,
    "%=": operator.mod,
    "**=": operator.pow,
}


def _inplacevar(op: str, left: Any, right: Any) -> Any:
    if op in ("+=", "*=", "**="):
        return _binop(op[:-1], left, right)
    if op not in _INPLACE:
        raise ScriptCompileError(f"不支持的运算 {op}")
    return _INPLACE[op](left, right)


def _guarded_range(*args: int) -> range:
    result = range(*args)
    if len(result) > MAX_SEQUENCE_LENGTH:
        raise ScriptLimitError("range 过大")
    return result


def _write_guard(obj: Any) -> Any:
    if isinstance(obj, dict | list):
        return obj
    raise TypeError("只能修改字典和列表")


_SAFE_BUILTIN_NAMES = (
    "len",
    "min",
    "max",
    "sum",
    "sorted",
    "any",
    "all",
    "str",
    "int",
    "float",
    "bool",
    "list",
    "dict",
    "tuple",
    "set",
    "abs",
    "round",
    "enumerate",
    "zip",
    "reversed",
    "isinstance",
    "None",
    "True",
    "False",
)


def restricted_globals(helpers: dict[str, Callable[..., Any]]) -> dict[str, Any]:
    """Globals for eval/exec: safe builtins, RestrictedPython guards and the given helpers."""
    allowed = {name: safe_builtins.get(name, getattr(builtins, name)) for name in _SAFE_BUILTIN_NAMES}
    allowed["range"] = _guarded_range
    return {
        "__builtins__": allowed,
        "_getattr_": safer_getattr,
        "_getitem_": default_guarded_getitem,
        "_getiter_": default_guarded_getiter,
        "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
        "_unpack_sequence_": guarded_unpack_sequence,
        "_write_": _write_guard,
        "_inplacevar_": _inplacevar,
        "_binop_": _binop,
        **helpers,
    }


class Budget:
    """Trace hook that stops diagram code running past its time or memory budget."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._deadline = 0.0
        self._rss_limit = 0
        self._lines = 0

    def run(self, code: CodeType, scope: dict[str, Any]) -> Any:
        self._deadline = time.monotonic() + self.limits.timeout_seconds
        self._rss_limit = _rss_bytes() + self.limits.max_memory_mb * 1024 * 1024
        self._lines = 0
        previous = sys.gettrace()
        sys.settrace(self._trace)
        try:
            return eval(code, scope)
        finally:
            sys.settrace(previous)

    def _trace(self, frame: FrameType, event: str, arg: object) -> Callable[..., Any] | None:
        if frame.f_code.co_filename != "<diagram>":
            return None
        self._lines += 1
        if self._lines % _CHECK_EVERY_LINES == 0:
            self._check()
        return self._trace

    def _check(self) -> None:
        if time.monotonic() > self._deadline:
            raise ScriptLimitError(f"脚本运行超过 {self.limits.timeout_seconds:g} 秒，已被终止")
        if _rss_bytes() > self._rss_limit:
            raise ScriptLimitError(f"脚本占用内存超过 {self.limits.max_memory_mb} MB，已被终止")


def _rss_bytes() -> int:
    statm = Path("/proc/self/statm")
    if not statm.exists():
        return 0
    return int(statm.read_text().split()[1]) * _PAGE_SIZE


def called_names(source: str, mode: str) -> set[str]:
    """Names the code calls directly, e.g. {"open"} for `open("/etc/passwd")`."""
    tree = ast.parse(source.strip() if mode == "eval" else source, mode=mode)
    return {node.func.id for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)}


ALLOWED_CALLABLES = frozenset(_SAFE_BUILTIN_NAMES) | {"range"}
