"""Deploy, validate and version procedure bundles (diagram + forms + print templates); parsed specs are
cached by the bundle's content hash."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.mixins.events.end_event import EndEvent
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.engine.bundles import Bundle
from app.engine.errors import DeployError, NotFoundError
from app.engine.texts import LITERAL_PROPERTIES, TextError, procedure_variables, render
from app.engine.timers import use_engine_clock
from app.models import WorkflowDefinition
from app.services import tariffs
from app.services.calendar import BEIJING
from app.taskforms.schemas import FormLibrary

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
}
MAX_ELEMENTS = 20_000
MAX_DEPTH = 64
# What the progress view draws of a process: its flow nodes (tasks, events, gateways, subprocesses) and
# sequence flows.
_FLOW_NODE_SUFFIXES = ("task", "Task", "Event", "Gateway")
_OTHER_FLOW_ELEMENTS = frozenset({"callActivity", "subProcess", "transaction", "sequenceFlow"})


@dataclass
class CompiledDefinition:
    """A parsed diagram plus what we read from its XML (properties, texts, lanes)."""

    sha256: str
    process_id: str
    name: str
    spec: BpmnProcessSpec
    subprocess_specs: dict[str, BpmnProcessSpec]
    documentation: str
    forms: FormLibrary
    documents: dict[str, tuple[str, str]]  # print template name → (suffix, text), from the bundle
    properties: dict[str, dict[str, str]] = field(default_factory=dict)
    instructions: dict[str, str] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    stages: list[str] = field(default_factory=list)
    lanes: dict[str, dict[str, str]] = field(default_factory=dict)  # lane (role) name → its properties
    lane_ids: dict[str, str] = field(default_factory=dict)  # lane (role) name → element id
    element_docs: dict[str, str] = field(default_factory=dict)  # element id → its documentation, rendered
    texts_until: date | None = None  # a fee named in the texts changes then: compile again
    flow_elements: list[str] = field(default_factory=list)  # ids of flow nodes and sequence flows, in file order
    drawn: frozenset[str] = frozenset()  # ids of the elements the layout (bpmndi) has a shape or edge for

    @property
    def process_properties(self) -> dict[str, str]:
        return self.properties.get(self.process_id, {})

    def element_properties(self, element_id: str) -> dict[str, str]:
        return self.properties.get(element_id, {})

    def end_events(self) -> set[str]:
        """The process's own end events (a subprocess's end is not how the application ended)."""
        return {s.bpmn_id for s in self.spec.task_specs.values() if isinstance(s, EndEvent) and s.bpmn_id}

    def routing(self, lane: str) -> str:
        """Which office of the lane's role gets its tasks (see services/jurisdiction.py)."""
        return self.lanes.get(lane, {}).get("routing", "")


def parse_xml_safely(data: bytes, max_bytes: int) -> etree._Element:
    """Parse untrusted XML: no DTD, no entities, no network, bounded size and depth."""
    if len(data) > max_bytes:
        raise DeployError([("definitions", f"文件大小 {len(data)} 字节，超过上限 {max_bytes} 字节")])
    upper = data.upper()
    if b"<!DOCTYPE" in upper or b"<!ENTITY" in upper:
        raise DeployError([("definitions", "不允许 DOCTYPE 或实体声明")])
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_pis=True,
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise DeployError([("definitions", f"XML 格式错误: {exc}")]) from exc
    if root.getroottree().docinfo.internalDTD is not None:
        raise DeployError([("definitions", "不允许 DOCTYPE 或实体声明")])
    _check_size(root)
    return root


def _check_size(root: etree._Element) -> None:
    for count, _element in enumerate(root.iter(), start=1):
        if count > MAX_ELEMENTS:
            raise DeployError([("definitions", f"元素超过 {MAX_ELEMENTS} 个")])
    if max((len(list(e.iterancestors())) for e in root.iter()), default=0) > MAX_DEPTH:
        raise DeployError([("definitions", f"嵌套超过 {MAX_DEPTH} 层")])


def compile_bundle(bundle: Bundle, max_bytes: int) -> CompiledDefinition:
    """Parse and compile a bundle: its diagram, with its forms and print templates attached."""
    root = parse_xml_safely(bundle.diagram, max_bytes)
    return compile_definition(root, bundle, bundle.sha256)


def compile_definition(root: etree._Element, bundle: Bundle, sha256: str) -> CompiledDefinition:
    """Validate against the BPMN schema and let SpiffWorkflow parse the one executable process."""
    processes = root.xpath("bpmn:process[@isExecutable='true']", namespaces=NS)
    if len(processes) != 1:
        raise DeployError([("definitions", "每个文件须有且只有一个可执行流程 (isExecutable=true)")])
    process = processes[0]
    parser = SpiffBpmnParser(validator=VALIDATOR)
    try:
        parser.add_bpmn_xml(root.getroottree(), filename=bundle.file_name)
        spec = parser.get_spec(process.get("id"))
        subprocess_specs = parser.get_subprocess_specs(process.get("id"))
    except ValidationException as exc:
        raise DeployError([(exc.id or exc.tag or "definitions", str(exc).splitlines()[0])]) from exc
    except Exception as exc:  # the XSD validator reports schema errors as plain exceptions
        raise DeployError([("definitions", f"BPMN 校验失败: {exc}")]) from exc
    for task_spec in all_task_specs(spec, subprocess_specs):
        if hasattr(task_spec, "event_definition"):
            use_engine_clock(task_spec.event_definition)
        if isinstance(task_spec, LoopTask):
            _merge_copies(task_spec)
    compiled = _describe(root, process, spec, subprocess_specs, sha256, bundle)
    _render_texts(compiled, datetime.now(BEIJING).date())
    return compiled


def _render_texts(compiled: CompiledDefinition, today: date) -> None:
    """Fill in the texts that name the procedure's properties (see texts.py), once per version."""
    variables = procedure_variables(compiled.process_properties, today)

    def text(element: str, source: str) -> str:
        try:
            return render(source, variables)
        except TextError as exc:
            raise DeployError([(element, str(exc))]) from exc

    compiled.documentation = text(compiled.process_id, compiled.documentation)
    compiled.instructions = {e: text(e, t) for e, t in compiled.instructions.items()}
    for element, props in compiled.properties.items():
        if element != compiled.process_id:
            compiled.properties[element] = {
                k: v if k in LITERAL_PROPERTIES else text(element, v) for k, v in props.items()
            }
    specs = all_task_specs(compiled.spec, compiled.subprocess_specs)
    compiled.element_docs = {s.bpmn_id: text(s.bpmn_id, s.documentation) for s in specs if s.documentation}
    compiled.forms = compiled.forms.with_texts(lambda source: render(source, variables))
    compiled.texts_until = tariffs.next_change(compiled.process_properties, today)


def _merge_copies(loop: LoopTask) -> None:
    """Wire a multi-instance task's copies to it now. SpiffWorkflow does it as it creates a copy, on the spec
    object: in a process that parsed the spec afresh (a restart, another worker, a moved application) an
    open copy would complete without its task ever hearing of it."""
    copy = loop._wf_spec.task_specs[loop.task_spec]
    if not copy.completed_event.is_connected(loop.merge_child):
        copy.completed_event.connect(loop.merge_child)


def all_task_specs(spec: BpmnProcessSpec, subprocess_specs: dict[str, BpmnProcessSpec]) -> list[Any]:
    specs = [spec, *subprocess_specs.values()]
    return [ts for s in specs for ts in s.task_specs.values() if getattr(ts, "bpmn_id", None)]


def _describe(
    root: etree._Element,
    process: etree._Element,
    spec: BpmnProcessSpec,
    subprocess_specs: dict[str, BpmnProcessSpec],
    sha256: str,
    bundle: Bundle,
) -> CompiledDefinition:
    compiled = CompiledDefinition(
        sha256=sha256,
        process_id=process.get("id"),
        name=process.get("name") or process.get("id"),
        spec=spec,
        subprocess_specs=subprocess_specs,
        documentation=_text(process.find("bpmn:documentation", NS)),
        forms=FormLibrary(bundle.forms()),
        documents=bundle.documents(),
        drawn=frozenset(root.xpath("//bpmndi:BPMNShape/@bpmnElement | //bpmndi:BPMNEdge/@bpmnElement", namespaces=NS)),
    )
    for element in process.iter():
        element_id = element.get("id")
        if not element_id:
            continue
        if _is_flow_element(element.tag):
            compiled.flow_elements.append(element_id)
        compiled.names[element_id] = element.get("name") or element_id
        props = {
            p.get("name"): p.get("value") or ""
            for p in element.xpath(
                "bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", namespaces=NS
            )
        }
        if props:
            compiled.properties[element_id] = props
            stage = props.get("stage")
            if stage and stage not in compiled.stages:
                compiled.stages.append(stage)
        if element.tag == f"{{{NS['bpmn']}}}lane":
            compiled.lanes[element.get("name") or element_id] = props
            compiled.lane_ids[element.get("name") or element_id] = element_id
        instructions = element.find("bpmn:extensionElements/spiffworkflow:instructionsForEndUser", NS)
        if instructions is not None:
            compiled.instructions[element_id] = _text(instructions)
    return compiled


def _is_flow_element(tag: str) -> bool:
    namespace, _, name = tag.partition("}")
    return namespace == f"{{{NS['bpmn']}" and (name.endswith(_FLOW_NODE_SUFFIXES) or name in _OTHER_FLOW_ELEMENTS)


def _text(element: etree._Element | None) -> str:
    return (element.text or "").strip() if element is not None else ""


class DefinitionStore:
    """Deployed versions in the database; compiled specs in memory, keyed by sha256."""

    def __init__(self, linter: Any, max_bytes: int) -> None:
        self._linter = linter
        self.max_bytes = max_bytes
        self._cache: dict[str, CompiledDefinition] = {}
        # Stored versions never change; only emptying the table (tests, a restore) reuses ids: forget_versions().
        self._sha_by_id: dict[int, str] = {}

    def check(self, bundle: Bundle, session: Session) -> CompiledDefinition:
        """Compile and lint a bundle without storing it; DeployError lists every problem."""
        sha = bundle.sha256
        compiled = self._cache.get(sha) or compile_bundle(bundle, self.max_bytes)
        problems = self._linter(compiled, session)
        if problems:
            raise DeployError(problems)
        return compiled

    def deploy(
        self, session: Session, bundle: Bundle, deployed_by: str, comment: str = "", base_version: int | None = None
    ) -> tuple[WorkflowDefinition, bool]:
        """Store a new version unless the newest version has the same content; returns (row, created).

        With `base_version` (the version an edit started from), a newer version deployed meanwhile
        refuses this one: two editors never overwrite each other unseen.
        """
        compiled = self.check(bundle, session)
        latest = self._latest_row(session, compiled.process_id)
        if base_version is not None and latest is not None and latest.version != base_version:
            stale = f"本流程已有人部署了新版本 v{latest.version}，请基于最新版本修改后再部署"
            raise DeployError([(compiled.process_id, stale)])
        if latest is not None and latest.sha256 == compiled.sha256:  # reverting to older content is a new version
            return latest, False
        row = WorkflowDefinition(
            process_id=compiled.process_id,
            name=compiled.name,
            version=(latest.version if latest else 0) + 1,
            sha256=compiled.sha256,
            file_name=Path(bundle.file_name).name,
            xml=bundle.diagram.decode("utf-8"),
            files=dict(bundle.files),
            comment=comment,
            deployed_by=deployed_by,
        )
        session.add(row)
        session.flush()
        self._cache[compiled.sha256] = compiled
        return row, True

    @staticmethod
    def _latest_row(session: Session, process_id: str) -> WorkflowDefinition | None:
        return session.scalar(
            select(WorkflowDefinition)
            .where(WorkflowDefinition.process_id == process_id)
            .order_by(WorkflowDefinition.version.desc())
            .limit(1)
        )

    def forget_versions(self) -> None:
        """After the definition table was emptied or replaced, ids may name other versions."""
        self._sha_by_id.clear()

    def latest(self, session: Session, process_id: str) -> WorkflowDefinition:
        row = self._latest_row(session, process_id)
        if row is None:
            raise NotFoundError(f"流程 {process_id} 尚未部署")
        return row

    def compiled_by_id(self, session: Session, definition_id: int) -> CompiledDefinition:
        sha = self._sha_by_id.get(definition_id)
        if sha is not None and sha in self._cache and _current(self._cache[sha]):
            return self._cache[sha]
        row = session.get(WorkflowDefinition, definition_id)
        if row is None:
            raise NotFoundError(f"流程版本 {definition_id} 不存在")
        return self.compiled(row)

    def compiled(self, row: WorkflowDefinition) -> CompiledDefinition:
        """The parsed spec of a stored version; parsed once per process and content."""
        cached = self._cache.get(row.sha256)
        if cached is None or not _current(cached):
            bundle = bundle_of(row)
            cached = compile_bundle(bundle, max(self.max_bytes, len(bundle.diagram)))
            self._cache[row.sha256] = cached
        self._sha_by_id[row.id] = row.sha256
        return cached


def _current(compiled: CompiledDefinition) -> bool:
    """False once a fee its texts name has changed since it was compiled."""
    return compiled.texts_until is None or datetime.now(BEIJING).date() < compiled.texts_until


def bundle_of(row: WorkflowDefinition) -> Bundle:
    """The stored bundle of a version, exactly as it was deployed."""
    return Bundle(row.file_name, row.xml.encode("utf-8"), dict(row.files or {}))
