"""Server-side rendering model of a JSON Schema task form, and parsing of the posted form back.

The page renders the same schema the engine validates with: `fields` turns each property into a
`FieldView` (widget, value, required flag, error) for `partials/jsonform.html`; `parse` turns the
posted `MultiDict` into the data the engine receives. Only properties of the schema are read, so
unknown posted fields never reach the engine.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft202012Validator
from werkzeug.datastructures import MultiDict

Choices = Mapping[str, Iterable[Any]]

MAX_RADIO_OPTIONS = 3  # up to this many options show as radio buttons, more as a drop-down list
TEXTAREA_FROM_LENGTH = 100  # free text longer than this gets a multi-line box
_PROSE_SAMPLE = "文字 text,\n第二行"
_TRUE = {"y", "yes", "on", "true", "1"}
_SIMPLE_KINDS = {"boolean": "checkbox", "integer": "number", "number": "number"}


@dataclass(frozen=True)
class Option:
    value: str
    label: str


@dataclass
class FieldView:
    """One form field as the template draws it."""

    name: str
    title: str
    description: str
    kind: str  # text / textarea / number / email / select / radio / checkboxes / lines / checkbox
    value: Any  # str for single values, list[str] for checkboxes and lines, bool for a checkbox
    required: bool = False
    error: str | None = None
    note: str | None = None  # e.g. how a domain name was normalised, for the user to confirm
    options: list[Option] = field(default_factory=list)
    attrs: dict[str, Any] = field(default_factory=dict)  # maxlength, min, max, step, inputmode

    @property
    def id(self) -> str:
        return f"field-{self.name}"

    def is_selected(self, option: Option) -> bool:
        if isinstance(self.value, list):
            return option.value in self.value
        return option.value == self.value


def fields(
    schema: Mapping[str, Any],
    data: Mapping[str, Any] | None,
    errors: Mapping[str, str] | None,
    choices: Choices | None = None,
    notes: Mapping[str, str] | None = None,
) -> list[FieldView]:
    """One FieldView per schema property, in schema order, filled from `data`, `errors` and `notes`."""
    data, errors, choices, notes = data or {}, errors or {}, choices or {}, notes or {}
    required, overrides = _active_requirements(schema, data)
    views = []
    for name, prop in schema.get("properties", {}).items():
        merged = {**prop, **overrides.get(name, {})}
        options = _options(merged, choices.get(name))
        views.append(
            FieldView(
                name=name,
                title=str(merged.get("title") or name),
                description=str(merged.get("description") or ""),
                kind=_kind(merged, options),
                value=_value(merged, data[name] if name in data else merged.get("default")),
                required=name in required,
                error=errors.get(name),
                note=notes.get(name),
                options=options,
                attrs=_attrs(merged),
            )
        )
    return views


def parse(schema: Mapping[str, Any], form: MultiDict[str, str]) -> dict[str, Any]:
    """The posted form as task data: coerced numbers, lists via getlist, empty optional values left out."""
    data: dict[str, Any] = {}
    for name, prop in schema.get("properties", {}).items():
        kind = prop.get("type")
        if kind == "array":
            items = [_coerce(prop.get("items", {}), v) for v in _list_values(form.getlist(name))]
            if items:
                data[name] = items
        elif kind == "boolean":
            data[name] = form.get(name, "").strip().lower() in _TRUE
        else:
            raw = form.get(name, "").strip()
            if raw:
                data[name] = _coerce(prop, raw)
    return data


# ---- requirements ------------------------------------------------------------------------


def _active_requirements(schema: Mapping[str, Any], data: Mapping[str, Any]) -> tuple[set[str], dict[str, dict]]:
    """Required fields given the data so far: `required` plus every `then` whose `if` holds."""
    required = set(schema.get("required", []))
    overrides: dict[str, dict] = {}
    for part in [schema, *schema.get("allOf", [])]:
        condition, then = part.get("if"), part.get("then")
        if condition is None or then is None or not _holds(condition, data):
            continue
        required.update(then.get("required", []))
        for name, extra in then.get("properties", {}).items():
            overrides.setdefault(name, {}).update(extra)
    return required, overrides


def _holds(condition: Mapping[str, Any], data: Mapping[str, Any]) -> bool:
    return Draft202012Validator(condition).is_valid(dict(data))


# ---- widgets -----------------------------------------------------------------------------


def _options(prop: Mapping[str, Any], given: Iterable[Any] | None) -> list[Option]:
    if given is not None:
        return [_option(choice) for choice in given]
    source = prop.get("items", {}) if prop.get("type") == "array" else prop
    if "oneOf" in source:
        return [Option(str(o["const"]), str(o.get("title", o["const"]))) for o in source["oneOf"] if "const" in o]
    return [Option(str(v), str(v)) for v in source.get("enum", [])]


def _option(choice: Any) -> Option:
    if isinstance(choice, Option):
        return choice
    if isinstance(choice, Sequence) and not isinstance(choice, str):
        value, label = choice
        return Option(str(value), str(label))
    return Option(str(choice), str(choice))


def _kind(prop: Mapping[str, Any], options: list[Option]) -> str:
    kind = prop.get("type")
    if kind == "array":
        return "checkboxes" if options else "lines"
    if options:
        return "radio" if len(options) <= MAX_RADIO_OPTIONS else "select"
    if kind in _SIMPLE_KINDS:
        return _SIMPLE_KINDS[kind]
    if prop.get("format") == "email":
        return "email"
    return "textarea" if is_multiline(prop) else "text"


def is_multiline(prop: Mapping[str, Any]) -> bool:
    """Long free text gets a multi-line box, and only there may a value contain line breaks."""
    return prop.get("maxLength", 0) > TEXTAREA_FROM_LENGTH and _allows_prose(prop)


def _allows_prose(prop: Mapping[str, Any]) -> bool:
    """Long free text, not a long token such as a URL (whose pattern or format refuses spaces)."""
    if "format" in prop:
        return False
    pattern = prop.get("pattern")
    return pattern is None or re.search(pattern, _PROSE_SAMPLE) is not None


def _value(prop: Mapping[str, Any], value: Any) -> Any:
    if prop.get("type") == "array":
        return [str(v) for v in value] if isinstance(value, list) else []
    if prop.get("type") == "boolean":
        return bool(value)
    return "" if value is None else str(value)


def _attrs(prop: Mapping[str, Any]) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    if "maxLength" in prop:
        attrs["maxlength"] = prop["maxLength"]
    if prop.get("type") in ("integer", "number"):
        attrs["step"] = "1" if prop["type"] == "integer" else "any"
        for key, html in (("minimum", "min"), ("maximum", "max")):
            if key in prop:
                attrs[html] = prop[key]
    if prop.get("format") == "cn-mobile":
        attrs["inputmode"] = "numeric"
    return attrs


# ---- parsing -----------------------------------------------------------------------------


def _list_values(posted: list[str]) -> list[str]:
    """Checkbox values, or the lines of a one-item-per-line text box."""
    values = [line.strip() for raw in posted for line in raw.splitlines()]
    return list(dict.fromkeys(v for v in values if v))


def _coerce(prop: Mapping[str, Any], raw: str) -> Any:
    """Numbers as numbers; anything that does not parse stays text so validation names the field."""
    try:
        if prop.get("type") == "integer":
            return int(raw)
        if prop.get("type") == "number":
            number = float(raw)
            return int(number) if number.is_integer() else number
    except ValueError:
        return raw
    return raw
