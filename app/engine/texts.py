"""Texts that name the procedure's properties instead of repeating its numbers.

Documentation, instructions, element properties (e.g. `dueInWorkdays`) and the titles and
descriptions of the version's forms may write `{{ procedure.paperCopies | cn }}` or
`{{ fee["政务"] }}`; they are rendered once when the version is compiled, so an edited property
changes every text that names it. Notification texts render the same way when sent, over the
application's data as well. All of it in a Jinja sandbox; `cn` writes counts in Chinese (两份).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from datetime import date
from functools import lru_cache
from typing import Any

from jinja2 import BaseLoader, Environment, StrictUndefined, Template
from jinja2.exceptions import SecurityError, TemplateError, TemplateNotFound, TemplateRuntimeError
from jinja2.runtime import Context
from jinja2.sandbox import SandboxedEnvironment

from app.services import tariffs
from app.services.numerals import chinese_numeral

# A text may build no string or list longer than this with `*`, nor raise to a power above _MAX_EXPONENT:
# `{{ "a" * 10**9 }}` or `{{ 9 ** 9 ** 9 }}` would otherwise hold the web process (the same bounds as scripts).
_MAX_LENGTH = 100_000
_MAX_EXPONENT = 1000


class _NoTemplates(BaseLoader):
    """Texts stand alone: `{% include %}`, `{% import %}` and `{% extends %}` name nothing they may read."""

    def get_source(self, environment: Environment, template: str) -> tuple[str, str | None, None]:
        raise TemplateNotFound(template, f"文字中不能引用其他模板（{template}）")


class TextSandbox(SandboxedEnvironment):
    """The Jinja sandbox of every text a diagram or policy staff write (texts, notifications, print templates,
    studio previews): no other templates, and `*` and `**` refuse a huge result before building it."""

    intercepted_binops = frozenset({"*", "**"})

    def __init__(self, **options: Any) -> None:
        super().__init__(loader=_NoTemplates(), **options)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, int) and abs(right) > _MAX_EXPONENT:
            raise SecurityError(f"幂运算的指数过大（超过 {_MAX_EXPONENT}）")
        if operator == "*" and _repeated_length(left, right) > _MAX_LENGTH:
            raise SecurityError(f"文字中生成的值过长（超过 {_MAX_LENGTH} 项）")
        return super().call_binop(context, operator, left, right)

    def handle_exception(self, source: str | None = None) -> Any:
        """A text that fails in Python (`{{ 1 / 0 }}`, `{{ "%d" | format("x") }}`) fails as a template error, so
        every caller's `except TemplateError` turns it into a Chinese message instead of a crash."""
        error = sys.exc_info()[1]
        if isinstance(error, Exception) and not isinstance(error, TemplateError):
            raise TemplateRuntimeError(f"{type(error).__name__}: {error}") from error
        return super().handle_exception(source)


def _repeated_length(left: Any, right: Any) -> int:
    """Length of `left * right` when one side is a sequence and the other a count; 0 otherwise."""
    for sequence, count in ((left, right), (right, left)):
        if isinstance(sequence, str | list | tuple) and isinstance(count, int):
            return len(sequence) * count
    return 0


_JINJA = TextSandbox(autoescape=False, undefined=StrictUndefined)
_JINJA.filters["cn"] = chinese_numeral
# Element properties that are data for the engine, not texts: left exactly as written.
LITERAL_PROPERTIES = frozenset({"formJsonSchemaFilename", "formUiSchemaFilename", "correlationKey"})


class TextError(ValueError):
    """A text that does not render; the message is Chinese and names the problem."""


@lru_cache(maxsize=4096)
def _template(source: str) -> Template:
    return _JINJA.from_string(source)


def render(source: str, variables: Mapping[str, Any]) -> str:
    """The text with its `{{ … }}` filled in; TextError for a syntax error or an unknown name."""
    if "{" not in source:
        return source
    try:
        return _template(source).render(**variables)
    except TemplateError as exc:
        raise TextError(f"文字模板有误：{exc}") from exc


def procedure_variables(properties: Mapping[str, str], today: date) -> dict[str, Any]:
    """What a version's texts may name: its process properties and the fees in force today."""
    return {"procedure": dict(properties), "fee": tariffs.fees_on(properties, today)}
