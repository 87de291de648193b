"""Form schemas of a procedure version: loading, checking, validating with Chinese errors."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError, ValidationError

from app.taskforms.formats import FORMAT_CHECKER, NORMALISERS, format_message
from app.taskforms.render import is_multiline
from app.taskforms.text import TextRefused, clean_text

_FILE_NAME = re.compile(r"[A-Za-z0-9_.-]+\.schema\.json")


class FormSchemaError(ValueError):
    """A form file is missing, unreadable or not a valid JSON Schema."""


# Formats whose normalisation changes what the user sees (a domain's dots, case, A-label), so pages show it.
SHOWN_NORMALISATIONS = frozenset({"cn-domain", "hostname"})


@dataclass(frozen=True)
class Cleaned:
    """Submitted data after the input policy: what may be stored (refused values left out), every problem,
    and visible rewrites."""

    data: dict[str, Any]
    errors: dict[str, str]
    rewritten: dict[str, tuple[str, str]] = field(default_factory=dict)  # field → (as typed, as stored)


class FormLibrary:
    """The JSON Schema files of one procedure version (file name → JSON text), validated once and cached."""

    def __init__(self, sources: Mapping[str, str], text: Callable[[str], str] | None = None) -> None:
        self.sources = dict(sources)
        self._text = text  # renders titles and descriptions that name the procedure's properties
        self._validators: dict[str, Draft202012Validator] = {}

    def with_texts(self, text: Callable[[str], str]) -> FormLibrary:
        """The same forms with their titles and descriptions rendered by `text`."""
        return FormLibrary(self.sources, text)

    @classmethod
    def from_folder(cls, folder: str | Path) -> FormLibrary:
        """Every form file of a folder (the repository's forms/, for checks outside a version)."""
        return cls({p.name: p.read_text(encoding="utf-8") for p in sorted(Path(folder).glob("*.schema.json"))})

    def schema(self, name: str) -> dict[str, Any]:
        return self._validator(name).schema  # type: ignore[no-any-return]

    def check(self, name: str) -> None:
        """Raise FormSchemaError unless `name` is a usable form file."""
        self._validator(name)

    def errors(self, name: str, data: dict[str, Any]) -> dict[str, str]:
        """Field → Chinese message for every problem; empty when the data is valid."""
        validator = self._validator(name)
        problems: dict[str, str] = {}
        for error in sorted(validator.iter_errors(data), key=_field_then_format_first):
            for field_name, message in _explain(error, validator.schema):
                problems.setdefault(field_name, message)
        return problems

    def clean(self, name: str, data: dict[str, Any]) -> Cleaned:
        """The input policy on every text of the form, then the schema: all problems at once."""
        properties = self.schema(name).get("properties", {})
        cleaned, refused, rewritten = dict(data), {}, {}
        for key, value in data.items():
            prop = properties.get(key, {})
            try:
                cleaned[key] = _clean_value(prop, value)
            except TextRefused as refusal:
                refused[key] = f"{_title(self.schema(name), key)}{refusal.message}"
                continue
            if _shows_rewrite(prop) and _typed(value) != _typed(cleaned[key]):
                rewritten[key] = (_typed(value), _typed(cleaned[key]))
        kept = {k: v for k, v in cleaned.items() if k not in refused}  # a refused value is never stored
        errors = {**{k: m for k, m in self.errors(name, kept).items() if k not in refused}, **refused}
        return Cleaned(kept, errors, rewritten)

    def _validator(self, name: str) -> Draft202012Validator:
        cached = self._validators.get(name)
        if cached is None:
            cached = self._load(name)
            self._validators[name] = cached
        return cached

    def _load(self, name: str) -> Draft202012Validator:
        if not _FILE_NAME.fullmatch(name):
            raise FormSchemaError(f"表单文件名 {name} 不合法（须为 xxx.schema.json，不含路径）")
        if name not in self.sources:
            raise FormSchemaError(f"表单文件 {name} 不存在")
        try:
            schema = json.loads(self.sources[name])
            Draft202012Validator.check_schema(schema)
        except (json.JSONDecodeError, SchemaError) as exc:
            raise FormSchemaError(f"表单文件 {name} 不是有效的 JSON Schema: {exc}") from exc
        if self._text is not None:
            try:
                schema = _render_texts(schema, self._text)
            except ValueError as exc:
                raise FormSchemaError(f"表单文件 {name} 的文字有误：{exc}") from exc
        return Draft202012Validator(schema, format_checker=FORMAT_CHECKER)


def _render_texts(node: Any, text: Callable[[str], str]) -> Any:
    """Every `title` and `description` in the schema, rendered (options' titles included)."""
    if isinstance(node, dict):
        return {
            k: text(v) if k in ("title", "description") and isinstance(v, str) else _render_texts(v, text)
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_render_texts(item, text) for item in node]
    return node


def _clean_value(prop: dict[str, Any], value: Any) -> Any:
    if isinstance(value, list):
        items = prop.get("items", {})
        return [_clean_value(items, item) for item in value]
    if not isinstance(value, str):
        return value
    normalise = NORMALISERS.get(str(prop.get("format")))
    # A normalised value is measured by the schema after normalising (an A-label is longer than its U-label).
    limit = None if normalise else prop.get("maxLength")
    text = clean_text(value, multiline=is_multiline(prop), max_length=limit)
    return normalise(text) if normalise and text else text


def _shows_rewrite(prop: dict[str, Any]) -> bool:
    source = prop.get("items", {}) if prop.get("type") == "array" else prop
    return source.get("format") in SHOWN_NORMALISATIONS


def _typed(value: Any) -> str:
    return "、".join(str(v).strip() for v in value) if isinstance(value, list) else str(value).strip()


def _title(schema: dict[str, Any], field: str) -> str:
    prop = schema.get("properties", {}).get(field, {})
    return str(prop.get("title") or field)


def _field_then_format_first(error: ValidationError) -> tuple[list[Any], bool]:
    """By field; within a field a format's own message first, as it names the exact cause (e.g. too long)."""
    return [str(p) for p in error.absolute_path], error.validator != "format"


def _explain(error: ValidationError, root: dict[str, Any]) -> list[tuple[str, str]]:
    """(field, Chinese message) pairs: a `required` error names every missing field at once."""
    if error.validator == "required":
        missing = [str(f) for f in error.validator_value if f not in (error.instance or {})]
        return [(field, f"请填写{_title(root, field)}") for field in missing]
    field = str(error.absolute_path[0]) if error.absolute_path else ""
    title = _title(root, field) if field else "表单"
    return [(field, _message(error, title))]


def _message(error: ValidationError, title: str) -> str:
    value = error.validator_value
    messages = {
        "format": format_message(str(value), error.instance) or f"{title}格式不正确",
        "maxLength": f"{title}不能超过 {value} 个字符",
        "minLength": f"请填写{title}" if value == 1 else f"{title}至少 {value} 个字符",
        "pattern": f"{title}格式不正确（不能包含 < > 等字符）" if "<>" in str(value) else f"{title}格式不正确",
        "type": f"{title}填写的类型不正确",
        "minimum": f"{title}不能小于 {value}",
        "maximum": f"{title}不能大于 {value}",
        "minItems": f"{title}至少选择 {value} 项",
        "maxItems": f"{title}最多 {value} 项",
        "uniqueItems": f"{title}不能重复",
        "additionalProperties": "表单包含不允许的字段",
    }
    return messages.get(str(error.validator), f"请从选项中正确选择{title}")
