"""What a piece of diagram code reads and stores, for the deploy's name checks.

Names are followed in the order Python runs the code: `n = n + 1` reads `n` before it assigns it, so
`n` must come from upstream; `total = 1` followed by `x = total` reads nothing from outside.
Comprehension variables, lambda and function arguments stay local to their expression.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import lru_cache

from app.engine.sandbox import ScriptCompileError, compile_expression, compile_script


@dataclass(frozen=True)
class CodeNames:
    reads: tuple[str, ...]  # names read before the code assigns them, in order of first reading
    stores: frozenset[str]  # names the code leaves behind in the application data
    called: frozenset[str]  # names called as functions (the compile check judges those)


@lru_cache(maxsize=2048)
def code_names(source: str, mode: str) -> CodeNames | None:
    """The names of code that compiles in the sandbox; None otherwise (the compile check reports it)."""
    try:
        (compile_expression if mode == "eval" else compile_script)(source)
        tree = ast.parse(source.strip() if mode == "eval" else source, mode=mode)
    except (ScriptCompileError, SyntaxError):
        return None
    visitor = _Visitor()
    visitor.visit(tree)
    return CodeNames(tuple(visitor.reads), frozenset(visitor.stores), frozenset(visitor.called))


class _Visitor(ast.NodeVisitor):
    """Walks the tree in evaluation order, keeping what is bound so far."""

    def __init__(self) -> None:
        self.bound: set[str] = set()
        self.reads: dict[str, None] = {}  # ordered set
        self.stores: set[str] = set()
        self.called: set[str] = set()
        self.depth = 0  # inside a comprehension, lambda or function: what it binds does not leave it

    def bind(self, name: str) -> None:
        self.bound.add(name)
        if self.depth == 0:
            self.stores.add(name)

    def read(self, name: str) -> None:
        if name not in self.bound:
            self.reads.setdefault(name)

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            self.read(node.id)
        elif isinstance(node.ctx, ast.Store):
            self.bind(node.id)

    def visit_Call(self, node: ast.Call) -> None:
        if isinstance(node.func, ast.Name):
            self.called.add(node.func.id)
        self.generic_visit(node)

    def visit_Assign(self, node: ast.Assign) -> None:
        self.visit(node.value)
        for target in node.targets:
            self.visit(target)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.visit(node.value)
        self.visit(node.target)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self.visit(node.value)
        if isinstance(node.target, ast.Name):  # `n += 1` reads n first
            self.read(node.target.id)
        self.visit(node.target)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self.visit(node.value)
        self.visit(node.target)

    def visit_For(self, node: ast.For) -> None:
        self.visit(node.iter)
        self.visit(node.target)
        for statement in [*node.body, *node.orelse]:
            self.visit(statement)

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.type is not None:
            self.visit(node.type)
        if node.name:
            self.bind(node.name)
        for statement in node.body:
            self.visit(statement)

    def visit_ListComp(self, node: ast.ListComp) -> None:
        self._comprehension(node.generators, [node.elt])

    def visit_SetComp(self, node: ast.SetComp) -> None:
        self._comprehension(node.generators, [node.elt])

    def visit_GeneratorExp(self, node: ast.GeneratorExp) -> None:
        self._comprehension(node.generators, [node.elt])

    def visit_DictComp(self, node: ast.DictComp) -> None:
        self._comprehension(node.generators, [node.key, node.value])

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self._defaults(node.args)
        self._local(_arguments(node.args), [node.body])

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        for decorator in node.decorator_list:
            self.visit(decorator)
        self._defaults(node.args)
        self.bind(node.name)
        self._local(_arguments(node.args), node.body)

    def _defaults(self, args: ast.arguments) -> None:
        for default in [*args.defaults, *(d for d in args.kw_defaults if d is not None)]:
            self.visit(default)

    def _local(self, names: list[str], body: list[ast.AST]) -> None:
        saved = set(self.bound)
        self.depth += 1
        self.bound |= set(names)
        for node in body:
            self.visit(node)
        self.depth -= 1
        self.bound = saved

    def _comprehension(self, generators: list[ast.comprehension], results: list[ast.expr]) -> None:
        saved = set(self.bound)
        self.depth += 1
        for generator in generators:
            self.visit(generator.iter)
            self.visit(generator.target)
            for condition in generator.ifs:
                self.visit(condition)
        for result in results:
            self.visit(result)
        self.depth -= 1
        self.bound = saved


def _arguments(args: ast.arguments) -> list[str]:
    every = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
    return [a.arg for a in every if a is not None]
