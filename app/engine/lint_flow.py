"""What each element of a diagram runs and stores, and which elements come before it: the facts the
deploy's gateway and name checks reason over.

An element's pieces are listed in the order SpiffWorkflow runs them: pre-script, then the form (user
task), script (script task), parameters and result (service task), conditions (gateway), timer or
message (event), then the post-script. A piece may read what earlier pieces and upstream elements
stored. "Upstream" follows SpiffWorkflow's own task graph, so a boundary event comes after what
precedes the task it is attached to, and a loop makes later elements upstream as well.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask, MultiInstanceTask
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
from SpiffWorkflow.spiff.specs.defaults import ServiceTask, UserTask

from app.engine.definitions import CompiledDefinition
from app.engine.lint_code import code_names
from app.taskforms.schemas import FormSchemaError

# The values a stored name can take when its form limits it to fixed options; None when not limited.
Values = frozenset[Any] | None
# Operator parameters whose value is a Jinja template over the data (see platform_operators.send_notification).
TEXT_PARAMETERS = {"notify.send": ("subject", "body"), "notify.office": ("subject", "body")}
_BOUNDARY_SPLIT = ".BoundaryEventSplit"


@dataclass(frozen=True)
class Piece:
    """One thing an element runs or stores.

    `mode` says what `source` is: "eval" or "exec" diagram code, "text" a Jinja template, "output" a name
    that must hold a value by now; "" when the piece only stores names (`sets`).
    """

    kind: str  # how a refusal names it: 条件, 脚本, 通知文字, …
    where: str = ""  # which one, when the element has several: 参数 body, 通往“修改申请”的流向
    source: str = ""
    mode: str = ""
    sets: Mapping[str, Values] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.kind}（{self.where}）" if self.where else self.kind


class Flow:
    """The task graph of a compiled diagram with the pieces of every element."""

    def __init__(self, compiled: CompiledDefinition) -> None:
        self.compiled = compiled
        self.complete = True  # False when a form could not be read: its fields are unknown
        processes = [compiled.spec, *compiled.subprocess_specs.values()]
        self.specs = [spec for process in processes for spec in process.task_specs.values()]
        self.inputs: dict[Any, list[Any]] = {spec: list(spec.inputs) for spec in self.specs}
        self._link_subprocesses()
        self._link_loops()
        self.pieces = {spec: list(self._pieces(spec)) for spec in self.specs}
        self._add_loop_instances()
        start_form = compiled.process_properties.get("startFormJsonSchemaFilename")
        if start_form:
            self.pieces[compiled.spec.start].append(self._form("开始表单", start_form))

    def elements(self) -> list[Any]:
        """The task specs that are diagram elements (not SpiffWorkflow's helper tasks)."""
        return [spec for spec in self.specs if getattr(spec, "bpmn_id", None)]

    def name(self, spec: Any) -> str:
        return self.compiled.names.get(spec.bpmn_id, spec.bpmn_id)

    def upstream(self, spec: Any) -> set[Any]:
        """Every task from which `spec` can be reached (itself only when it lies on a loop)."""
        seen: set[Any] = set()
        stack = list(self.inputs.get(spec, []))
        while stack:
            current = stack.pop()
            if current not in seen:
                seen.add(current)
                stack.extend(self.inputs.get(current, []))
        return seen

    def names_upstream(self, spec: Any) -> set[str]:
        return {name for other in self.upstream(spec) for piece in self.pieces[other] for name in piece.sets}

    def values_reaching(self, spec: Any, name: str) -> Values:
        """The values `name` can hold when `spec` runs: what the last element storing it on each path
        allows. None when some path stores an unlimited value, or none stores it at all."""
        values: set[Any] = set()
        seen: set[Any] = set()
        stack = list(self.inputs.get(spec, []))
        while stack:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            stored = _last_stored(self.pieces[current], name)
            if stored is None:
                return None
            if stored is not _NOT_STORED:
                values |= stored
            elif self.inputs.get(current):
                stack.extend(self.inputs[current])
            else:
                return None  # a path from the start on which nothing stores it
        return frozenset(values)

    def _link_subprocesses(self) -> None:
        """A subprocess starts with its caller's data and hands its own back to what follows the caller."""
        for spec in self.specs:
            if isinstance(spec, SubWorkflowTask) and spec.spec in self.compiled.subprocess_specs:
                process = self.compiled.subprocess_specs[spec.spec]
                self.inputs[process.start].append(spec)
                for output in spec.outputs:
                    self.inputs[output].append(process.task_specs["End"])

    def _link_loops(self) -> None:
        """A loop or multi-instance task runs its instance task (whose input is the loop task) once per item;
        without an output collection, what the instances store is merged into the data that goes on."""
        for spec in self.specs:
            if isinstance(spec, LoopTask) and getattr(spec, "data_output", None) is None:
                instance = spec._wf_spec.task_specs[spec.task_spec]
                for output in spec.outputs:
                    self.inputs[output].append(instance)

    def _pieces(self, spec: Any) -> Iterator[Piece]:
        if not getattr(spec, "bpmn_id", None):
            return
        yield from _script("前置脚本", getattr(spec, "prescript", None))
        if isinstance(spec, UserTask):
            form = self.compiled.element_properties(spec.bpmn_id).get("formJsonSchemaFilename")
            if form:
                yield self._form("表单", form)
        yield from _script("脚本", getattr(spec, "script", None))
        if isinstance(spec, ServiceTask):
            yield from _service_task(spec)
        yield from self._conditions(spec)
        yield from self._event(spec)
        if isinstance(spec, MultiInstanceTask):
            yield from _multi_instance(spec)
        yield from _script("后置脚本", getattr(spec, "postscript", None))

    def _add_loop_instances(self) -> None:
        """The instance task of a multi-instance task gets the input item first and must leave the output
        item behind; a completion condition is judged on the instance that finished last (for a loop
        tested before each round, on the loop task)."""
        for spec in self.specs:
            if not isinstance(spec, LoopTask):
                continue
            pieces = self.pieces[spec._wf_spec.task_specs[spec.task_spec]]
            before, after = _items(spec)
            if spec.condition:
                condition = Piece("完成条件", "", spec.condition, "eval")
                (self.pieces[spec] if getattr(spec, "test_before", False) else after).append(condition)
            pieces[:0] = before
            pieces += after

    def _form(self, kind: str, form: str) -> Piece:
        try:
            schema = self.compiled.forms.schema(form)
        except FormSchemaError:  # reported by the form check; what the form would store is unknown
            self.complete = False
            return Piece(kind, form)
        required = set(schema.get("required", []))
        fields = schema.get("properties", {})
        # A field left out of a submission is removed, so only a required one surely holds one of its options.
        return Piece(kind, form, sets={n: _options(f) if n in required else None for n, f in fields.items()})

    def _conditions(self, spec: Any) -> Iterator[Piece]:
        for condition, target in getattr(spec, "cond_task_specs", []):
            if condition is not None:  # SpiffWorkflow wraps the expression as args[0]
                element = target.removesuffix(_BOUNDARY_SPLIT)
                where = f"通往“{self.compiled.names.get(element, element)}”的流向"
                yield Piece("条件", where, condition.args[0], "eval")

    def _event(self, spec: Any) -> Iterator[Piece]:
        event = getattr(spec, "event_definition", None)
        if isinstance(event, TimerEventDefinition):
            yield Piece("计时表达式", "", event.expression, "eval")
        if isinstance(event, MessageEventDefinition):
            key = self.compiled.element_properties(spec.bpmn_id).get("correlationKey")
            if key:
                yield Piece("消息关联键", "correlationKey", key, "eval")
            variable = getattr(event, "message_var", None)  # spiffworkflow:messageVariable holds the payload
            if variable:
                yield Piece("消息", event.name, sets={variable: None})


def gateway_defaults(spec: Any) -> bool:
    """Whether a gateway has a default flow: SpiffWorkflow lists it among its outputs without a condition."""
    return any(condition is None for condition, _target in spec.cond_task_specs)


def _service_task(spec: Any) -> Iterator[Piece]:
    texts = TEXT_PARAMETERS.get(spec.operation_name, ())
    for name, param in spec.operation_params.items():
        yield Piece("服务参数", name, param["value"], "eval")
        literal = _string_literal(param["value"])
        if name in texts and literal is not None:
            yield Piece("通知文字", f"参数 {name}", literal, "text")
    yield Piece("服务结果", spec.operation_name, sets={spec.result_variable: None})


def _multi_instance(spec: Any) -> Iterator[Piece]:
    """What a multi-instance task reads before its instances and stores after them."""
    if spec.cardinality:
        yield Piece("多实例数量", "loopCardinality", spec.cardinality, "eval")
    if spec.data_input is not None:
        yield Piece("多实例输入集合", "loopDataInputRef", spec.data_input.bpmn_id, "eval")
    if spec.data_output is not None:
        yield Piece("多实例输出集合", "loopDataOutputRef", sets={spec.data_output.bpmn_id: None})


def _items(spec: Any) -> tuple[list[Piece], list[Piece]]:
    """The input item an instance starts with, and the output item it must leave behind."""
    item, output = getattr(spec, "input_item", None), getattr(spec, "output_item", None)
    before = [Piece("多实例输入项", sets={item.bpmn_id: None})] if item is not None else []
    after = [Piece("多实例输出项", "outputDataItem", output.bpmn_id, "output")] if output is not None else []
    return before, after


def _script(kind: str, source: str | None) -> Iterator[Piece]:
    if source:
        names = code_names(source, "exec")
        yield Piece(kind, "", source, "exec", sets=dict.fromkeys(names.stores if names else ()))


def _string_literal(expression: str) -> str | None:
    try:
        node = ast.parse(expression.strip(), mode="eval").body
    except SyntaxError:
        return None
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _options(schema: Any) -> Values:
    """The fixed values a form field allows: const, enum, oneOf/anyOf of consts, or a boolean."""
    if not isinstance(schema, dict):
        return None
    choices = schema.get("oneOf") or schema.get("anyOf")
    if "const" in schema:
        values = [schema["const"]]
    elif "enum" in schema:
        values = schema["enum"]
    elif isinstance(choices, list) and choices and all(isinstance(c, dict) and "const" in c for c in choices):
        values = [c["const"] for c in choices]
    elif schema.get("type") == "boolean":
        values = [True, False]
    else:
        return None
    try:
        return frozenset(values)
    except TypeError:  # an object or list option: not something a condition compares with ==
        return None


class _NotStored:
    """Marks that an element does not store a name (distinct from None: stores an unlimited value)."""


_NOT_STORED: Any = _NotStored()


def _last_stored(pieces: list[Piece], name: str) -> Any:
    for piece in reversed(pieces):
        if name in piece.sets:
            return piece.sets[name]
    return _NOT_STORED
