"""What an edit of a procedure changes, seen from the applications recorded on the version it edits.

`edit_scope`: which elements' specs the edit changed, so a preview replays only the applications
whose run could have read one of them. A run reads the specs of the elements it completed and of
those that could come next: the outputs of what it completed, through the helper specs that are
passed on their own (a boundary event's split and join, the start and end helpers), and a
multi-instance task's inner task. If none of these changed (SpiffWorkflow's SpecDiff compares
their serialized form: flows, conditions, scripts, timer and message definitions, lanes,
properties) and the procedure's properties are the same, a replay would run the same code on the
same data, service results and clock: it takes the recorded path again. Forms do not steer the
path; `FormCheck` compares recorded submissions with the edited forms either way.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from jsonschema import Draft202012Validator

from app.engine.definitions import CompiledDefinition
from app.engine.migration import spec_diff
from app.engine.step_log import COMPLETE, START

if TYPE_CHECKING:
    from app.engine.preview import RecordedStep


@dataclass(frozen=True)
class MissingData:
    """A form of the edited version requires fields the recorded submission lacks."""

    element: str
    fields: list[str]  # field names
    titles: list[str]  # their titles in the form


@dataclass(frozen=True)
class EditScope:
    everything: bool  # the procedure's properties or subprocesses changed: every run may differ
    changed: frozenset[str]  # names of the specs changed or removed
    reach: dict[str, frozenset[str]]  # element id → names of the specs a run that completed it read

    def touches(self, path: Iterable[str]) -> bool:
        """Whether a run that completed these elements read a spec the edit changed."""
        if self.everything:
            return True
        for element in set(path):
            read = self.reach.get(element)
            if read is None or read & self.changed:  # an element this version lacks: moved from another version
                return True
        return False


def edit_scope(original: CompiledDefinition, edited: CompiledDefinition) -> EditScope:
    if original.sha256 == edited.sha256:
        return EditScope(False, frozenset(), _reach(original.spec))
    if original.process_properties != edited.process_properties or original.subprocess_specs or edited.subprocess_specs:
        return EditScope(True, frozenset(), {})
    diff = spec_diff(original.spec, edited.spec)
    changed = frozenset(spec.name for spec in (*diff.removed, *diff.changed))
    return EditScope(False, changed, _reach(original.spec))


def _reach(spec: Any) -> dict[str, frozenset[str]]:
    reach: dict[str, set[str]] = {}
    for task_spec in spec.task_specs.values():
        if task_spec.bpmn_id:
            reach.setdefault(task_spec.bpmn_id, set()).update(_read_after(task_spec, spec.task_specs))
    return {element: frozenset(names) for element, names in reach.items()}


def _read_after(task_spec: Any, specs: dict[str, Any]) -> set[str]:
    names = {task_spec.name}
    waiting = [*task_spec.outputs, *_inner(task_spec, specs)]
    while waiting:
        following = waiting.pop()
        if following.name in names:
            continue
        names.add(following.name)
        if not following.bpmn_id:  # a helper is passed on its own: what follows it may be reached too
            waiting += [*following.outputs, *_inner(following, specs)]
    return names


def _inner(task_spec: Any, specs: dict[str, Any]) -> list[Any]:
    """A multi-instance task's inner task, which is no output of anything."""
    inner = getattr(task_spec, "task_spec", None)
    return [specs[inner]] if isinstance(inner, str) and inner in specs else []


class FormCheck:
    """Which fields the forms of a version require that recorded data lacks (formats are not checked)."""

    def __init__(self) -> None:
        self._validators: dict[tuple[str, str], tuple[Draft202012Validator, set[str]]] = {}

    def of_steps(self, compiled: CompiledDefinition, steps: Iterable[RecordedStep]) -> list[MissingData]:
        """Every recorded submission (start data, completions) against the form `compiled` has for it."""
        submitted = [step for step in steps if step.kind in (START, COMPLETE)]
        found = [self.missing(compiled, step.element or "", step.data) for step in submitted]
        return [m for m in found if m is not None]

    def missing(self, compiled: CompiledDefinition, element: str, data: dict[str, Any]) -> MissingData | None:
        """What the form of `element` (no element: the start form) requires that `data` lacks."""
        if element:
            form = compiled.element_properties(element).get("formJsonSchemaFilename")
        else:
            element, form = compiled.process_id, compiled.process_properties.get("startFormJsonSchemaFilename")
        if not form:
            return None
        validator, named = self._validator(compiled, form)
        if named <= data.keys():
            return None  # every field any rule of the form can require is there: no validation needed
        fields = [
            name
            for error in validator.iter_errors(data)
            if error.validator == "required" and not error.absolute_path
            for name in error.validator_value
            if name not in data
        ]
        if not fields:
            return None
        fields = list(dict.fromkeys(fields))
        properties = validator.schema.get("properties", {})
        return MissingData(element, fields, [str(properties.get(name, {}).get("title") or name) for name in fields])

    def _validator(self, compiled: CompiledDefinition, form: str) -> tuple[Draft202012Validator, set[str]]:
        key = (compiled.sha256, form)
        if key not in self._validators:
            schema = compiled.forms.schema(form)
            self._validators[key] = (Draft202012Validator(schema), _required_anywhere(schema))
        return self._validators[key]


_CONDITIONAL = ("if", "then", "else", "not")
_COMBINED = ("allOf", "anyOf", "oneOf")


def _required_anywhere(schema: Any) -> set[str]:
    """The top-level fields any part of a form's rules may require (plain, conditional or combined)."""
    if not isinstance(schema, dict):
        return set()
    names = {str(n) for n in schema.get("required", [])}
    for fields in schema.get("dependentRequired", {}).values():
        names.update(str(n) for n in fields)
    for key in _CONDITIONAL:
        names |= _required_anywhere(schema.get(key))
    for key in _COMBINED:
        for part in schema.get(key, []):
            names |= _required_anywhere(part)
    return names
