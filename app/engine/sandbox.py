"""RestrictedPython compilation, guards and code analysis for scripts, conditions and timer expressions.

Diagram code may only read and write application data and call whitelisted helpers: no imports,
no underscore names, guarded attribute and item access, no str.format, and guards that refuse
an obviously huge value before it is built. The guards are the first line; the hard limits on
memory and time are the OS limits of the worker process the code runs in (sandbox_pool.py).
"""

from __future__ import annotations

import ast
import builtins
import operator
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from types import CodeType
from typing import Any

from RestrictedPython import RestrictingNodeTransformer, compile_restricted, safe_builtins
from RestrictedPython.Eval import default_guarded_getitem, default_guarded_getiter
from RestrictedPython.Guards import (
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safer_getattr,
)

MAX_SEQUENCE_LENGTH = 100_000
_MAX_EXPONENT = 1000
_TOO_LONG = f"脚本生成的值过长（超过 {MAX_SEQUENCE_LENGTH} 项），已被终止"
# Longest string constant an expression may hold and still count as bounded (see is_bounded).
_MAX_FAST_CONSTANT = 10_000


class ScriptCompileError(ValueError):
    """Diagram code that is not allowed or does not compile."""


class ScriptError(RuntimeError):
    """Diagram code failed while running; the message is fit for the instance's error text."""


class ScriptLimitError(ScriptError):
    """Diagram code hit a limit (memory, time, size) and was stopped."""


class ScriptRuntimeError(ScriptError):
    """Diagram code raised an error of its own, e.g. a NameError for missing data."""


@dataclass(frozen=True)
class Limits:
    """Per-evaluation limits, and how many worker processes one web process may run."""

    timeout_seconds: float = 2.0
    max_memory_mb: int = 64
    workers: int = 2

    def __post_init__(self) -> None:
        if self.timeout_seconds <= 0 or self.max_memory_mb < 1 or self.workers < 1:
            raise ValueError(f"脚本限制须为正数：{self}")

    def memory_exceeded(self) -> str:
        return f"脚本占用内存超过 {self.max_memory_mb} MB，已被终止"

    def time_exceeded(self) -> str:
        return f"脚本运行超过 {self.timeout_seconds:g} 秒，已被终止"


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
            raise ScriptLimitError(_TOO_LONG)
        return left + right
    if symbol == "**":
        if isinstance(right, int) and isinstance(left, int) and abs(right) > _MAX_EXPONENT:
            raise ScriptLimitError(f"幂运算的指数过大（超过 {_MAX_EXPONENT}），已被终止")
        return left**right
    if isinstance(right, int) and right > _MAX_EXPONENT:
        raise ScriptLimitError(f"移位的位数过大（超过 {_MAX_EXPONENT}），已被终止")
    return left << right


def _check_repeat(sequence: Any, count: Any) -> None:
    size = _size_of(sequence)
    if size is not None and isinstance(count, int) and size * count > MAX_SEQUENCE_LENGTH:
        raise ScriptLimitError(_TOO_LONG)


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
        raise ScriptLimitError(f"range 的范围过大（超过 {MAX_SEQUENCE_LENGTH} 项），已被终止")
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


def called_names(source: str, mode: str) -> set[str]:
    """Names the code calls directly, e.g. {"open"} for `open("/etc/passwd")`."""
    tree = ast.parse(source.strip() if mode == "eval" else source, mode=mode)
    return {node.func.id for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)}


@dataclass(frozen=True)
class CodeFacts:
    """What the source text alone tells about a piece of diagram code that compiles."""

    names: frozenset[str]  # every name it mentions: the only data and helpers it can reach
    bounded: bool  # an expression that is_bounded: safe to evaluate in the web process


@lru_cache(maxsize=4096)
def code_facts(source: str, mode: str) -> CodeFacts:
    """Names and boundedness of code.

    Restricted code reaches a variable only by its name (no globals(), vars() or underscore
    attributes), so `names` covers all the data it can read or change.
    """
    tree = ast.parse(source.strip() if mode == "eval" else source, mode=mode)
    names = frozenset(node.id for node in ast.walk(tree) if isinstance(node, ast.Name))
    return CodeFacts(names, mode == "eval" and is_bounded(tree))


# ast.walk yields operator nodes too: listing ast.Not and ast.USub (not ast.unaryop) keeps out
# ~x and +x. Calls, arithmetic, attributes, comprehensions, lambdas and f-strings have no entry.
_BOUNDED_NODES = (
    ast.Expression,
    ast.Name,
    ast.Load,
    ast.Constant,
    ast.Compare,
    ast.cmpop,
    ast.BoolOp,
    ast.boolop,
    ast.UnaryOp,
    ast.Not,
    ast.USub,
    ast.IfExp,
    ast.Subscript,
    ast.Tuple,
    ast.List,
)


def is_bounded(tree: ast.AST) -> bool:
    """Whether an expression provably runs in time linear in the data and allocates O(1).

    It may hold names, small constants, comparisons, and/or/not, unary minus, `a if c else b`,
    subscripts with a constant index, and tuples or lists of constants; nothing else. Without
    calls, arithmetic or loops nothing in it can build a value larger than a constant of the
    source, and the only work beyond a fixed number of steps is a comparison walking the data.
    Such an expression, e.g. the gateway condition `decision == "reject"`, needs no worker
    process: the sandbox evaluates it in the web process and saves the round trip.
    """
    return all(_bounded_node(node) for node in ast.walk(tree))


def _bounded_node(node: ast.AST) -> bool:
    if not isinstance(node, _BOUNDED_NODES):
        return False
    if isinstance(node, ast.Constant):
        return not isinstance(node.value, str | bytes) or len(node.value) <= _MAX_FAST_CONSTANT
    if isinstance(node, ast.Subscript):
        return isinstance(node.slice, ast.Constant)
    if isinstance(node, ast.Tuple | ast.List):
        return all(isinstance(element, ast.Constant) for element in node.elts)
    return True


ALLOWED_CALLABLES = frozenset(_SAFE_BUILTIN_NAMES) | {"range"}
