"""Texts that name the procedure's properties instead of repeating its numbers.

Documentation, instructions, element properties (e.g. `dueInWorkdays`) and the titles and
descriptions of the version's forms may write `{{ procedure.paperCopies | cn }}` or
`{{ fee["政务"] }}`; they are rendered once when the version is compiled, so an edited property
changes every text that names it. Notification texts render the same way when sent, over the
application's data as well. All of it in a Jinja sandbox; `cn` writes counts in Chinese (两份).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, Template
from jinja2.exceptions import TemplateError
from jinja2.sandbox import SandboxedEnvironment

from app.services import tariffs
from app.services.numerals import chinese_numeral

_JINJA = SandboxedEnvironment(autoescape=False, undefined=StrictUndefined)
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
